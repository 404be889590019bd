// Reads of runs over the API, shared by the tests of runs: one run's record, and
// polling it until it is terminal.
#pragma once

#include <chrono>
#include <string>

#include "core/json.h"
#include "tests/support/http_client.h"

namespace ledgerflow::testing {

// The "run" member of GET /api/workflows/runs/{id} (an empty object, and a test
// failure, unless the answer is 200).
json::Document ReadRun(HttpClient& client, const std::string& run_id);

// Reads the run every `every` until it is completed, failed or cancelled, or `timeout`
// passes; the last read.
json::Document PollRunToEnd(HttpClient& client, const std::string& run_id,
                            std::chrono::milliseconds timeout,
                            std::chrono::milliseconds every = std::chrono::milliseconds(10));

}  // namespace ledgerflow::testing
