#pragma once
// Access log and HTTP metrics for every finished request (the server's RequestObserver).

#include <memory>

#include "ivr/core/metrics.hpp"
#include "ivr/net/http_server.hpp"

namespace spdlog {
class logger;
}

namespace ivr::api {

class AccessObserver final : public net::RequestObserver {
 public:
  AccessObserver(MetricsRegistry& metrics, bool access_log);
  void on_request(const net::HttpRequest& request, const net::HttpResponse& response,
                  std::chrono::nanoseconds elapsed) override;
  void on_connection_count(std::size_t open) override;
  void set_access_log(bool enabled) { access_log_ = enabled; }

 private:
  MetricsRegistry& metrics_;
  bool access_log_;
  std::shared_ptr<spdlog::logger> log_;
  Gauge& connections_;
};

// Wraps a handler so the in-flight gauge counts it while it runs.
net::Handler count_in_flight(MetricsRegistry& metrics, net::Handler handler);

}  // namespace ivr::api
