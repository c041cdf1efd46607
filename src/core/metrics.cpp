#include "ivr/core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ivr {
namespace {

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  std::ostringstream out;
  out.precision(12);
  out << v;
  return out.str();
}

// Labels plus one more (for histogram "le").
std::string labels_with(const std::string& base, const std::string& key, const std::string& value) {
  const std::string extra = key + "=\"" + value + "\"";
  if (base.empty()) return "{" + extra + "}";
  return base.substr(0, base.size() - 1) + "," + extra + "}";
}

}  // namespace

void Gauge::add(double d) noexcept {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()))
    throw std::invalid_argument("histogram bounds unsorted");
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double current = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

std::string format_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  out += "}";
  return out;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& type,
                                                 const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::logic_error("metric " + name + " registered as " + it->second.type + " and " + type);
  }
  return it->second;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, "counter", help).counters[format_labels(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, "gauge", help).gauges[format_labels(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                                      const std::vector<double>& bounds) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, "histogram", help).histograms[format_labels(labels)];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help, const Labels& labels,
                                     std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, "gauge", help).callbacks[format_labels(labels)] = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  for (const auto& [name, f] : families_) {
    out << "# HELP " << name << " " << f.help << "\n# TYPE " << name << " " << f.type << "\n";
    for (const auto& [labels, c] : f.counters) out << name << labels << " " << c->value() << "\n";
    for (const auto& [labels, g] : f.gauges)
      out << name << labels << " " << format_number(g->value()) << "\n";
    for (const auto& [labels, read] : f.callbacks)
      out << name << labels << " " << format_number(read()) << "\n";
    for (const auto& [labels, h] : f.histograms) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h->bounds().size(); ++i) {
        cumulative += h->bucket_count(i);
        out << name << "_bucket" << labels_with(labels, "le", format_number(h->bounds()[i])) << " "
            << cumulative << "\n";
      }
      cumulative += h->bucket_count(h->bounds().size());
      out << name << "_bucket" << labels_with(labels, "le", "+Inf") << " " << cumulative << "\n";
      out << name << "_sum" << labels << " " << format_number(h->sum()) << "\n";
      out << name << "_count" << labels << " " << h->count() << "\n";
    }
  }
  return out.str();
}

const std::vector<double>& MetricsRegistry::latency_buckets_seconds() {
  // Fine below 5 ms, where the API's own latency targets sit (p99 of a /chat turn, a realtime frame).
  static const std::vector<double> buckets = {0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1,      2.5,   5,     10};
  return buckets;
}

}  // namespace ivr
