// The run statistics of GET /api/workflows/{id}/metadata end to end: runs executed by
// the engine (wait steps that complete, HTTP steps against a local target answering
// 500 that fail) on two versions, counted overall and per version, the same after
// the read models are rebuilt from the log.
#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "tests/api/workflow_http_helpers.h"
#include "tests/support/http_target.h"

namespace ledgerflow::testing {
namespace {

class RunStatsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    client_ = server_->Client();
    target_.set_handler([](const TargetRequest& r) {
      return r.path == "/fail" ? TargetAnswer{.status = 500, .body = "down"} : TargetAnswer{};
    });
  }

  std::string Create(const std::string& definition) {
    auto r = client_->Post("/api/workflows", R"({"definition":)" + definition + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(ParseJson(r), "id");
  }

  void Update(const std::string& wf, const std::string& definition) {
    auto r = client_->Send("PUT", "/api/workflows/" + wf, R"({"definition":)" + definition + "}");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  std::string Dispatch(const std::string& wf, const std::string& body = "{}") {
    auto r = client_->Post("/api/workflows/" + wf + "/runs", body);
    EXPECT_EQ(r.status, 202) << r.body;
    return Str(ParseJson(r), "run_id");
  }

  // Polls the run until it is terminal; returns it.
  json::Document WaitForEnd(const std::string& run_id) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto doc = ParseJson(client_->Get("/api/workflows/runs/" + run_id));
      json::Document run;
      if (const json::Value* v = json::Find(doc, "run")) run.CopyFrom(*v, run.GetAllocator());
      std::string status = Str(run, "status");
      if (status == "completed" || status == "failed" || status == "cancelled" ||
          std::chrono::steady_clock::now() > deadline) {
        return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  HttpResponse MetadataResponse(const std::string& wf) {
    return client_->Get("/api/workflows/" + wf + "/metadata");
  }
  json::Document Metadata(const std::string& wf) {
    auto r = MetadataResponse(wf);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r);
  }

  std::string WaitDefinition(double seconds) {
    return R"({"name": "stats", "steps": [{"id": "w", "type": "wait", "config": {"seconds": )" +
           std::to_string(seconds) + "}}]}";
  }
  // A call to the target at /<input.outcome>: "ok" completes, "fail" fails.
  std::string CallDefinition() {
    return R"({"name": "stats", "steps": [{"id": "call", "type": "http_request",
      "config": {"url": ")" + target_.url() + R"(/{{input.outcome}}"}}]})";
  }

  static int64_t Count(const json::Value& stats, const char* status) {
    return Int(stats["by_status"], status);
  }

  HttpTarget target_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(RunStatsHttpTest, AWorkflowWithoutRunsHasZeroCountsAndNulls) {
  std::string wf = Create(WaitDefinition(0));
  auto doc = Metadata(wf);
  EXPECT_EQ(Str(doc, "workflow_id"), wf);
  EXPECT_EQ(Int(doc, "version_count"), 1);
  const json::Value& runs = doc["runs"];
  EXPECT_EQ(Int(runs, "total"), 0);
  for (const char* s : {"pending", "running", "paused", "completed", "failed", "cancelled"}) {
    EXPECT_EQ(Count(runs, s), 0) << s;
  }
  for (const char* member : {"last_run_at", "success_rate", "mean_duration_seconds",
                             "p95_duration_seconds"}) {
    EXPECT_TRUE(runs[member].IsNull()) << member;
  }
  EXPECT_TRUE(doc["by_version"].IsArray());
  EXPECT_EQ(doc["by_version"].Size(), 0u);
}

TEST_F(RunStatsHttpTest, RunsAreCountedOverallAndPerVersion) {
  std::string wf = Create(WaitDefinition(0.2));
  std::vector<double> v1_durations;
  for (int i = 0; i < 2; ++i) {
    json::Document run = WaitForEnd(Dispatch(wf));
    ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
    v1_durations.push_back(run["duration_seconds"].GetDouble());
  }
  Update(wf, CallDefinition());
  json::Document ok = WaitForEnd(Dispatch(wf, R"({"input_data": {"outcome": "ok"}})"));
  ASSERT_EQ(Str(ok, "status"), "completed") << json::Serialize(ok);
  ASSERT_EQ(Str(WaitForEnd(Dispatch(wf, R"({"input_data": {"outcome": "fail"}})")), "status"),
            "failed");
  json::Document last = WaitForEnd(Dispatch(wf, R"({"input_data": {"outcome": "fail"}})"));
  ASSERT_EQ(Str(last, "status"), "failed");

  auto doc = Metadata(wf);
  EXPECT_EQ(Int(doc, "current_version"), 2);
  EXPECT_EQ(Int(doc, "version_count"), 2);
  const json::Value& runs = doc["runs"];
  EXPECT_EQ(Int(runs, "total"), 5);
  EXPECT_EQ(Count(runs, "completed"), 3);
  EXPECT_EQ(Count(runs, "failed"), 2);
  EXPECT_EQ(Count(runs, "pending") + Count(runs, "running"), 0);
  EXPECT_DOUBLE_EQ(runs["success_rate"].GetDouble(), 0.6);
  EXPECT_EQ(Str(runs, "last_run_at"), Str(last, "created_at"));
  double ok_duration = ok["duration_seconds"].GetDouble();
  EXPECT_NEAR(runs["mean_duration_seconds"].GetDouble(),
              (v1_durations[0] + v1_durations[1] + ok_duration) / 3, 1e-9);
  // The 95th of three is the longest: a 0.2 s wait.
  double longest = std::max({v1_durations[0], v1_durations[1], ok_duration});
  EXPECT_GE(longest, 0.2);
  EXPECT_NEAR(runs["p95_duration_seconds"].GetDouble(), longest, longest * 0.025);

  const json::Value& by_version = doc["by_version"];
  ASSERT_EQ(by_version.Size(), 2u);
  const json::Value& v2 = by_version[0];
  EXPECT_EQ(Int(v2, "version"), 2);
  EXPECT_EQ(Int(v2, "total"), 3);
  EXPECT_EQ(Count(v2, "completed"), 1);
  EXPECT_EQ(Count(v2, "failed"), 2);
  EXPECT_NEAR(v2["success_rate"].GetDouble(), 1.0 / 3, 1e-12);
  EXPECT_NEAR(v2["mean_duration_seconds"].GetDouble(), ok_duration, 1e-9);
  EXPECT_EQ(Str(v2, "last_run_at"), Str(last, "created_at"));
  const json::Value& v1 = by_version[1];
  EXPECT_EQ(Int(v1, "version"), 1);
  EXPECT_EQ(Int(v1, "total"), 2);
  EXPECT_EQ(Count(v1, "completed"), 2);
  EXPECT_EQ(Count(v1, "failed"), 0);
  EXPECT_DOUBLE_EQ(v1["success_rate"].GetDouble(), 1.0);
  EXPECT_NEAR(v1["mean_duration_seconds"].GetDouble(), (v1_durations[0] + v1_durations[1]) / 2,
              1e-9);
  double v1_longest = std::max(v1_durations[0], v1_durations[1]);
  EXPECT_NEAR(v1["p95_duration_seconds"].GetDouble(), v1_longest, v1_longest * 0.025);
  EXPECT_LT(Str(v1, "last_run_at"), Str(v2, "last_run_at"));
}

TEST_F(RunStatsHttpTest, ARunInFlightCountsUntilItEndsAndThenAsItEnded) {
  std::string wf = Create(WaitDefinition(0.5));
  std::string run_id = Dispatch(wf);
  auto during = Metadata(wf);
  const json::Value& runs = during["runs"];
  EXPECT_EQ(Int(runs, "total"), 1);
  EXPECT_EQ(Count(runs, "pending") + Count(runs, "running"), 1);
  EXPECT_TRUE(runs["success_rate"].IsNull());
  EXPECT_TRUE(runs["mean_duration_seconds"].IsNull());
  EXPECT_FALSE(runs["last_run_at"].IsNull());
  ASSERT_EQ(Str(WaitForEnd(run_id), "status"), "completed");
  auto after = Metadata(wf);
  EXPECT_EQ(Int(after["runs"], "total"), 1);
  EXPECT_EQ(Count(after["runs"], "completed"), 1);
  EXPECT_EQ(Count(after["runs"], "pending") + Count(after["runs"], "running"), 0);
  EXPECT_DOUBLE_EQ(after["runs"]["success_rate"].GetDouble(), 1.0);
}

TEST_F(RunStatsHttpTest, TheStatisticsRebuiltFromTheLogAreTheSame) {
  std::string wf = Create(WaitDefinition(0));
  ASSERT_EQ(Str(WaitForEnd(Dispatch(wf)), "status"), "completed");
  Update(wf, CallDefinition());
  ASSERT_EQ(Str(WaitForEnd(Dispatch(wf, R"({"input_data": {"outcome": "fail"}})")), "status"),
            "failed");
  std::string before = MetadataResponse(wf).body;

  server_->Stop();
  {
    auto ledger = service::Ledger::Open(server_->ledger_options());
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ASSERT_TRUE((*ledger)->runner().Rebuild().ok());
  }
  server_->Start();
  client_ = server_->Client();
  EXPECT_EQ(MetadataResponse(wf).body, before);
}

}  // namespace
}  // namespace ledgerflow::testing
