// /metrics after real traffic, checked by Prometheus' own promtool, and /healthz/ready.
#include <cstdio>
#include <fstream>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "metrics/registry.h"
#include "tests/api/workflow_http_helpers.h"

namespace ledgerflow::testing {
namespace {

// promtool's verdict on `text`: its exit status and what it printed.
std::pair<int, std::string> PromtoolCheck(const std::string& text) {
  TempDir dir;
  const auto file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  const std::string command = "promtool check metrics < '" + file.string() + "' 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (!p) return {-1, "cannot run promtool"};
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

using MetricsHttpTest = WorkflowsHttpTest;

TEST_F(MetricsHttpTest, PromtoolAcceptsTheMetricsAfterTraffic) {
  std::string id = Create("measured");
  EXPECT_EQ(client_->Get("/api/workflows/" + id).status, 200);
  EXPECT_EQ(client_->Get("/api/workflows/wf_absent").status, 404);
  HttpClient anonymous(server_->url());
  EXPECT_EQ(anonymous.Get("/api/workflows").status, 401);
  // A run that completes (a condition) and one that fails (a wait with a bad `until`).
  auto runnable = client_->Post("/api/workflows", R"({"definition": {"name": "measured-run", "steps": [
      {"id": "c", "type": "condition", "config": {"expression": "true"}},
      {"id": "w", "type": "wait", "depends_on": ["c"], "config": {"until": "{{input.when}}"}}]}})");
  ASSERT_EQ(runnable.status, 201) << runnable.body;
  std::string run_wf = Str(ParseJson(runnable), "id");
  auto ok = ParseJson(client_->Post("/api/workflows/" + run_wf + "/runs",
                                    R"({"input_data": {"when": "2020-01-01T00:00:00Z"}})"));
  auto bad = ParseJson(client_->Post("/api/workflows/" + run_wf + "/runs",
                                     R"({"input_data": {"when": "not a time"}})"));
  for (const std::string& run_id : {Str(ok, "run_id"), Str(bad, "run_id")}) {
    for (int i = 0; i < 500; ++i) {
      std::string status = Str(ParseJson(client_->Get("/api/workflows/runs/" + run_id))["run"], "status");
      if (status == "completed" || status == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  auto r = anonymous.Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = r.body;
  auto [status, output] = PromtoolCheck(text);
  ASSERT_NE(status, 127) << "promtool is not installed (scripts/dev installs prometheus)";
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "") << output;  // no lint complaint either

  auto has = [&](const std::string& needle) { return text.find(needle) != std::string::npos; };
  EXPECT_TRUE(has(R"(ledgerflow_http_requests_total{route="/api/workflows",method="POST",status="201"})"))
      << text;
  EXPECT_TRUE(has(R"(ledgerflow_http_requests_total{route="/api/workflows/:id",method="GET",status="404"})"));
  EXPECT_TRUE(has(R"(ledgerflow_http_requests_total{route="/api/workflows",method="GET",status="401"})"));
  EXPECT_TRUE(has("ledgerflow_http_request_duration_seconds_bucket{route=\"/api/workflows/:id\",method=\"GET\",le=\"+Inf\"}"));
  EXPECT_TRUE(has("ledgerflow_event_store_fsync_seconds_count "));
  EXPECT_FALSE(has("ledgerflow_event_store_fsync_seconds_count 0\n"));
  EXPECT_TRUE(has("ledgerflow_projection_lag_events{projection=\"workflows\"} "));
  EXPECT_TRUE(has("ledgerflow_event_store_head_position "));
  EXPECT_TRUE(has("ledgerflow_rocksdb_memtable_bytes "));
  EXPECT_TRUE(has("ledgerflow_http_open_connections "));
  EXPECT_TRUE(has("ledgerflow_runs_dispatched_total "));
  EXPECT_TRUE(has("ledgerflow_runs_started_total "));
  EXPECT_TRUE(has(R"(ledgerflow_runs_finished_total{status="completed"})")) << text;
  EXPECT_TRUE(has(R"(ledgerflow_runs_finished_total{status="failed"})"));
  EXPECT_TRUE(has(R"(ledgerflow_step_attempts_total{type="condition",outcome="completed"})")) << text;
  EXPECT_TRUE(has(R"(ledgerflow_step_attempts_total{type="wait",outcome="failed"})"));
  EXPECT_TRUE(has("ledgerflow_step_duration_seconds_bucket{type=\"condition\",le=\"+Inf\"}"));
  EXPECT_TRUE(has("ledgerflow_runs_running "));
  EXPECT_TRUE(has("ledgerflow_runs_pending "));
  EXPECT_TRUE(has("ledgerflow_engine_timers_armed "));
  EXPECT_TRUE(has("ledgerflow_engine_http_steps_in_flight "));
  EXPECT_TRUE(has("ledgerflow_engine_lag_events "));
  // No series is labelled with an id.
  EXPECT_FALSE(has(id)) << "a workflow id in a label";
  EXPECT_FALSE(has(run_wf)) << "a workflow id in a label";
  EXPECT_FALSE(has("run_0")) << "a run id in a label";
}

TEST_F(MetricsHttpTest, ReadyOnceTheReadModelsHaveCaughtUp) {
  HttpClient anonymous(server_->url());
  auto r = anonymous.Get("/healthz/ready");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"ready":true})");
}

TEST(MetricsRegistryTest, TextFormatEscapesAndAccumulatesBuckets) {
  metrics::Registry registry;
  registry.AddCounter("t_requests_total", "Requests, with \\ and\nnew line")
      .With({{"path", "a\"b\\c\nd"}})
      .Add(3);
  auto& h = registry.AddHistogram("t_seconds", "Latency", {0.1, 1}).With();
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  registry.AddGauge("t_open", "Open").With().Set(2);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("# HELP t_requests_total Requests, with \\\\ and\\nnew line\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("t_requests_total{path=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_sum 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_seconds_count 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE t_open gauge\nt_open 2\n"), std::string::npos) << text;
  auto [status, output] = PromtoolCheck(text);
  EXPECT_EQ(status, 0) << output;
}

}  // namespace
}  // namespace ledgerflow::testing
