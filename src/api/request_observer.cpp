#include "ivr/api/request_observer.hpp"

#include "ivr/core/logging.hpp"

namespace ivr::api {

AccessObserver::AccessObserver(MetricsRegistry& metrics, bool access_log)
    : metrics_(metrics),
      access_log_(access_log),
      log_(module_logger("access")),
      connections_(metrics.gauge("ivr_http_open_connections", "Open HTTP/WebSocket connections")) {}

void AccessObserver::on_request(const net::HttpRequest& request, const net::HttpResponse& response,
                                std::chrono::nanoseconds elapsed) {
  // Unmatched paths share one label so scanners cannot explode the series count.
  const std::string route = request.route_pattern.empty() ? "unmatched" : request.route_pattern;
  const double seconds = std::chrono::duration<double>(elapsed).count();
  metrics_
      .counter("ivr_http_requests_total", "HTTP requests by route, method and status",
               {{"route", route}, {"method", request.method}, {"status", std::to_string(response.status)}})
      .inc();
  metrics_
      .histogram("ivr_http_request_duration_seconds", "HTTP request latency by route", {{"route", route}},
                 MetricsRegistry::latency_buckets_seconds())
      .observe(seconds);
  if (access_log_) {
    const auto domain = request.headers.get("x-domain-uuid").value_or("-");
    log_->info("{} {} {} {} {}B {:.2f}ms peer={} domain={}", LogContext{request.request_id, {}, {}},
               request.method, request.path, response.status, response.body.size(), seconds * 1000.0,
               request.remote_address, domain.size() <= 36 ? domain : std::string_view("<invalid>"));
  }
}

void AccessObserver::on_connection_count(std::size_t open) {
  connections_.set(static_cast<double>(open));
}

net::Handler count_in_flight(MetricsRegistry& metrics, net::Handler handler) {
  Gauge& in_flight = metrics.gauge("ivr_http_requests_in_flight", "HTTP requests being handled");
  return [&in_flight, handler = std::move(handler)](
             net::HttpRequest& request) -> boost::asio::awaitable<net::HttpResponse> {
    in_flight.add(1);
    struct Done {
      Gauge& g;
      ~Done() { g.add(-1); }
    } done{in_flight};
    co_return co_await handler(request);
  };
}

}  // namespace ivr::api
