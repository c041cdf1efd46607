#include "ivr/core/metrics.hpp"

#include <gtest/gtest.h>

namespace ivr {
namespace {

TEST(Metrics, CountersGaugesAndCallbacksRender) {
  MetricsRegistry m;
  m.counter("ivr_x_total", "X things", {{"route", "/a"}}).inc(3);
  m.counter("ivr_x_total", "X things", {{"route", "/a"}}).inc();
  m.counter("ivr_x_total", "X things", {{"route", "/b\"q"}}).inc();
  m.gauge("ivr_g", "G").set(2.5);
  m.gauge_callback("ivr_cb", "CB", {}, [] { return 7.0; });
  const std::string text = m.render();
  EXPECT_NE(text.find("# TYPE ivr_x_total counter"), std::string::npos);
  EXPECT_NE(text.find("ivr_x_total{route=\"/a\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ivr_x_total{route=\"/b\\\"q\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ivr_g 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("ivr_cb 7\n"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  MetricsRegistry m;
  auto& h = m.histogram("ivr_lat_seconds", "L", {{"route", "/r"}}, {0.01, 0.1, 1});
  h.observe(0.005);
  h.observe(0.01);  // le is inclusive
  h.observe(0.5);
  h.observe(3);
  const std::string text = m.render();
  EXPECT_NE(text.find("ivr_lat_seconds_bucket{route=\"/r\",le=\"0.01\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ivr_lat_seconds_bucket{route=\"/r\",le=\"0.1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("ivr_lat_seconds_bucket{route=\"/r\",le=\"1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("ivr_lat_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("ivr_lat_seconds_count{route=\"/r\"} 4\n"), std::string::npos);
}

TEST(Metrics, ATypeClashIsAProgrammingError) {
  MetricsRegistry m;
  m.counter("ivr_same", "c");
  EXPECT_THROW(m.gauge("ivr_same", "g"), std::logic_error);
}

}  // namespace
}  // namespace ivr
