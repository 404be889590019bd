// The HTTP layer's series in the process's metrics registry.
#pragma once

#include <cstddef>
#include <string>

#include "metrics/registry.h"

namespace ledgerflow::api {

struct HttpMetrics {
  metrics::Family<metrics::Counter>& requests;
  metrics::Family<metrics::Histogram>& duration;
  metrics::Counter& bytes_in;
  metrics::Counter& bytes_out;
  metrics::Gauge& open_connections;
  metrics::Gauge& open_streams;
};

HttpMetrics& Http();

// Counts one answered request: `route` is its pattern ("" when none matched).
void RecordRequest(const std::string& route, const std::string& method, int status,
                   double seconds, size_t bytes_in, size_t bytes_out);

}  // namespace ledgerflow::api
