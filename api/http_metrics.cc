#include "api/http_metrics.h"

namespace ledgerflow::api {
namespace {

// Methods are a label: only the ones the server knows, so a client cannot add series.
std::string MethodLabel(const std::string& method) {
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == known) return method;
  }
  return "other";
}

}  // namespace

HttpMetrics& Http() {
  static HttpMetrics m{
      metrics::Default().AddCounter("ledgerflow_http_requests_total",
                                    "HTTP requests answered, by route pattern, method and status"),
      metrics::Default().AddHistogram("ledgerflow_http_request_duration_seconds",
                                      "Time from a request's arrival in full to its answer",
                                      metrics::LatencyBuckets()),
      metrics::Default()
          .AddCounter("ledgerflow_http_request_body_bytes_total", "Request body bytes received")
          .With(),
      metrics::Default()
          .AddCounter("ledgerflow_http_response_bytes_total", "Response bytes written")
          .With(),
      metrics::Default().AddGauge("ledgerflow_http_open_connections", "Open client connections").With(),
      metrics::Default()
          .AddGauge("ledgerflow_http_open_streams", "Open long-lived streams (feed, exports)")
          .With(),
  };
  return m;
}

void RecordRequest(const std::string& route, const std::string& method, int status,
                   double seconds, size_t bytes_in, size_t bytes_out) {
  HttpMetrics& m = Http();
  const std::string route_label = route.empty() ? "unmatched" : route;
  const std::string method_label = MethodLabel(method);
  m.requests.With({{"route", route_label}, {"method", method_label},
                   {"status", std::to_string(status)}})
      .Add();
  m.duration.With({{"route", route_label}, {"method", method_label}}).Observe(seconds);
  m.bytes_in.Add(bytes_in);
  m.bytes_out.Add(bytes_out);
}

}  // namespace ledgerflow::api
