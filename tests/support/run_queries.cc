#include "tests/support/run_queries.h"

#include <thread>

#include <gtest/gtest.h>

namespace ledgerflow::testing {

json::Document ReadRun(HttpClient& client, const std::string& run_id) {
  auto r = client.Get("/api/workflows/runs/" + run_id);
  EXPECT_EQ(r.status, 200) << r.body;
  json::Document run(rapidjson::kObjectType);
  auto doc = json::Parse(r.body);
  if (doc.ok()) {
    if (const json::Value* v = json::Find(*doc, "run")) run.CopyFrom(*v, run.GetAllocator());
  }
  return run;
}

json::Document PollRunToEnd(HttpClient& client, const std::string& run_id,
                            std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    json::Document run = ReadRun(client, run_id);
    const std::string status = json::GetString(run, "status").value_or("");
    if (status == "completed" || status == "failed" || status == "cancelled" ||
        std::chrono::steady_clock::now() > deadline) {
      return run;
    }
    std::this_thread::sleep_for(every);
  }
}

}  // namespace ledgerflow::testing
