// Runs end to end: the real server (with its engine) over a real RocksDB directory,
// HTTP steps against a local target that records what it receives.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/time_format.h"
#include "tests/api/workflow_http_helpers.h"
#include "tests/support/http_target.h"
#include "tests/support/kv_dump.h"
#include "tests/support/run_queries.h"

namespace ledgerflow::testing {
namespace {

using ::testing::HasSubstr;

class RunsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    client_ = server_->Client();
  }

  // Creates a workflow from a definition's JSON; returns its id.
  std::string Create(const std::string& definition, const std::string& extra = "") {
    auto r = client_->Post("/api/workflows", R"({"definition":)" + definition + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(ParseJson(r), "id");
  }

  HttpResponse Dispatch(const std::string& workflow_id, const std::string& body = "{}",
                        std::vector<std::string> headers = {}) {
    return client_->Send("POST", "/api/workflows/" + workflow_id + "/runs", body, headers);
  }

  std::string DispatchOk(const std::string& workflow_id, const std::string& body = "{}") {
    auto r = Dispatch(workflow_id, body);
    EXPECT_EQ(r.status, 202) << r.body;
    auto doc = ParseJson(r);
    EXPECT_EQ(Str(doc, "status"), "pending");
    return Str(doc, "run_id");
  }

  json::Document GetRun(const std::string& run_id) { return ReadRun(*client_, run_id); }

  // Polls the run until it is completed, failed or cancelled (or `timeout_ms` passes).
  json::Document WaitForEnd(const std::string& run_id, int timeout_ms = 10000) {
    return PollRunToEnd(*client_, run_id, std::chrono::milliseconds(timeout_ms));
  }

  static const json::Value& Step(const json::Value& run, const std::string& id) {
    static const json::Value kNull;
    for (const json::Value& s : run["step_runs"].GetArray()) {
      if (Str(s, "step_id") == id) return s;
    }
    ADD_FAILURE() << "no step " << id;
    return kNull;
  }

  HttpTarget target_;
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(RunsHttpTest, HttpConditionAndWaitStepsRunInOrderWithTemplatedConfig) {
  target_.set_handler([](const TargetRequest&) {
    return TargetAnswer{.status = 200, .body = R"({"count": 3, "name": "x"})"};
  });
  std::string wf = Create(R"({"name": "tour", "steps": [
    {"id": "fetch", "type": "http_request",
     "config": {"url": ")" + target_.url() + R"(/items/{{input.item}}", "method": "POST",
                "headers": {"X-Run": "{{input.item}}"}, "body": {"want": "{{input.count}}"}}},
    {"id": "check", "type": "condition", "depends_on": ["fetch"],
     "config": {"expression": "steps.fetch.output.body.count >= 3", "if_true": ["pause"], "if_false": ["never"]}},
    {"id": "pause", "type": "wait", "config": {"seconds": 0}},
    {"id": "never", "type": "http_request", "config": {"url": ")" + target_.url() + R"(/never"}},
    {"id": "after", "type": "webhook", "depends_on": ["pause", "never"],
     "config": {"url": ")" + target_.url() + R"(/hook", "body": {"seen": "{{steps.fetch.output.body.name}}"}}}]})");
  std::string run_id = DispatchOk(wf, R"({"input_data": {"item": "a1", "count": 7}, "reason": "tour"})");
  json::Document run = WaitForEnd(run_id);
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  EXPECT_EQ(Int(run, "workflow_version"), 1);
  EXPECT_EQ(Str(run, "reason"), "tour");
  EXPECT_EQ(Str(Step(run, "fetch"), "status"), "completed");
  EXPECT_EQ(Step(run, "fetch")["output"]["status_code"].GetInt(), 200);
  EXPECT_EQ(Step(run, "fetch")["output"]["body"]["count"].GetInt(), 3);
  EXPECT_EQ(Str(Step(run, "fetch")["output"]["headers"], "x-target"), "yes");
  EXPECT_TRUE(Step(run, "check")["output"]["result"].GetBool());
  EXPECT_EQ(Str(Step(run, "never"), "status"), "skipped");
  EXPECT_THAT(Str(Step(run, "never"), "error"), HasSubstr("branch not taken"));
  EXPECT_EQ(Str(Step(run, "after"), "status"), "completed");
  EXPECT_EQ(Int(Step(run, "after"), "attempt"), 1);

  auto requests = target_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/items/a1");
  EXPECT_EQ(requests[0].headers["x-run"], "a1");
  EXPECT_EQ(requests[0].body, R"({"want":7})");
  EXPECT_EQ(requests[1].path, "/hook");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].body, R"({"seen":"x"})");
  EXPECT_EQ(target_.Count("/never"), 0u);
}

TEST_F(RunsHttpTest, AFailingStatusIsRetriedWithBackoffUntilItSucceeds) {
  std::atomic<int> calls{0};
  target_.set_handler([&](const TargetRequest&) {
    return ++calls < 3 ? TargetAnswer{.status = 503, .body = "busy"} : TargetAnswer{};
  });
  std::string wf = Create(R"({"name": "retry", "steps": [{"id": "call", "type": "http_request",
    "config": {"url": ")" + target_.url() + R"(/flaky"},
    "retry": {"max_attempts": 3, "backoff_seconds": 0.2, "backoff_multiplier": 2}}]})");
  auto started = std::chrono::steady_clock::now();
  json::Document run = WaitForEnd(DispatchOk(wf));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  EXPECT_EQ(Int(Step(run, "call"), "attempt"), 3);
  EXPECT_EQ(target_.Count("/flaky"), 3u);
  // 0.2 s then 0.4 s of backoff.
  EXPECT_GE(elapsed, 0.6);
}

TEST_F(RunsHttpTest, AttemptsRunOutAndTheRunFailsNamingTheStep) {
  target_.set_handler([](const TargetRequest&) { return TargetAnswer{.status = 500, .body = "no"}; });
  std::string wf = Create(R"({"name": "fail", "steps": [
    {"id": "call", "type": "http_request", "config": {"url": ")" + target_.url() + R"(/down"},
     "retry": {"max_attempts": 2, "backoff_seconds": 0}},
    {"id": "next", "type": "http_request", "depends_on": ["call"], "config": {"url": ")" + target_.url() + R"(/next"}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf));
  ASSERT_EQ(Str(run, "status"), "failed");
  EXPECT_EQ(Str(run, "error"), "Step 'call' failed: HTTP 500 is outside 2xx");
  EXPECT_EQ(Int(Step(run, "call"), "attempt"), 2);
  EXPECT_EQ(Str(Step(run, "next"), "status"), "pending");
  EXPECT_EQ(target_.Count("/next"), 0u);
}

TEST_F(RunsHttpTest, AnAttemptLongerThanItsTimeoutFails) {
  target_.set_handler([](const TargetRequest&) { return TargetAnswer{.delay_ms = 1500}; });
  std::string wf = Create(R"({"name": "slow", "steps": [{"id": "call", "type": "http_request",
    "timeout_seconds": 0.3, "config": {"url": ")" + target_.url() + R"(/slow"}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf));
  ASSERT_EQ(Str(run, "status"), "failed");
  EXPECT_THAT(Str(Step(run, "call"), "error"), HasSubstr("timed out after 300 ms"));
}

TEST_F(RunsHttpTest, ExpectStatusDecidesWhatSucceeds) {
  target_.set_handler([](const TargetRequest&) { return TargetAnswer{.status = 404, .body = "{}"}; });
  std::string wf = Create(R"({"name": "expect", "steps": [{"id": "call", "type": "http_request",
    "config": {"url": ")" + target_.url() + R"(/gone", "expect_status": [404]}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf));
  EXPECT_EQ(Str(run, "status"), "completed");
  EXPECT_EQ(Step(run, "call")["output"]["status_code"].GetInt(), 404);
}

TEST_F(RunsHttpTest, AWaitStepEndsAtItsDeadline) {
  std::string wf = Create(R"({"name": "wait", "steps": [{"id": "w", "type": "wait", "config": {"seconds": 0.4}}]})");
  auto started = std::chrono::steady_clock::now();
  std::string run_id = DispatchOk(wf);
  json::Document waiting = GetRun(run_id);
  json::Document run = WaitForEnd(run_id);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(Str(run, "status"), "completed");
  EXPECT_GE(elapsed, 0.4);
  EXPECT_THAT(json::Serialize(Step(run, "w")["output"]), HasSubstr("waited_until"));
}

TEST_F(RunsHttpTest, ALoopRunsItsStepPerItemInOrderAndOutputsTheList) {
  target_.set_handler([](const TargetRequest& r) {
    return TargetAnswer{.body = R"({"path": ")" + r.path + R"("})"};
  });
  std::string wf = Create(R"({"name": "loop", "steps": [
    {"id": "each", "type": "loop", "config": {"items": "{{input.names}}",
     "step": {"type": "http_request", "config": {"url": ")" + target_.url() + R"(/item/{{index}}/{{item}}"}}}},
    {"id": "flags", "type": "loop", "config": {"items": [1, 5, 9],
     "step": {"type": "condition", "config": {"expression": "input.limit > 4"}}}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf, R"({"input_data": {"names": ["ann", "bob", "cy"], "limit": 3}})"));
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  const json::Value& out = Step(run, "each")["output"];
  ASSERT_TRUE(out.IsArray());
  ASSERT_EQ(out.Size(), 3u);
  EXPECT_EQ(Str(out[0]["body"], "path"), "/item/0/ann");
  EXPECT_EQ(Str(out[2]["body"], "path"), "/item/2/cy");
  auto requests = target_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].path, "/item/1/bob");
  EXPECT_EQ(json::Serialize(Step(run, "flags")["output"]),
            R"([{"result":false},{"result":false},{"result":false}])");
}

TEST_F(RunsHttpTest, ARetriedLoopGoesOnFromTheItemThatFailed) {
  std::atomic<int> calls_b{0};
  target_.set_handler([&](const TargetRequest& r) {
    if (r.path == "/b" && ++calls_b == 1) return TargetAnswer{.status = 500};
    return TargetAnswer{};
  });
  std::string wf = Create(R"({"name": "loop-retry", "steps": [
    {"id": "each", "type": "loop", "retry": {"max_attempts": 2, "backoff_seconds": 0},
     "config": {"items": ["a", "b", "c"],
     "step": {"type": "http_request", "config": {"url": ")" + target_.url() + R"(/{{item}}"}}}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf));
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  EXPECT_EQ(Int(Step(run, "each"), "attempt"), 2);
  EXPECT_EQ(target_.Count("/a"), 1u);
  EXPECT_EQ(target_.Count("/b"), 2u);
  EXPECT_EQ(target_.Count("/c"), 1u);
  EXPECT_EQ(Step(run, "each")["output"].Size(), 3u);
}

TEST_F(RunsHttpTest, ALoopOverSomethingElseThanAListFailsClearly) {
  std::string wf = Create(R"({"name": "loop-bad", "steps": [
    {"id": "each", "type": "loop", "config": {"items": "{{input.n}}",
     "step": {"type": "condition", "config": {"expression": "true"}}}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf, R"({"input_data": {"n": 3}})"));
  ASSERT_EQ(Str(run, "status"), "failed");
  EXPECT_THAT(Str(Step(run, "each"), "error"), HasSubstr("'items' must be a list, got number"));
}

class ScriptRunsHttpTest : public RunsHttpTest {
 protected:
  void SetUp() override {
    RunsHttpTest::SetUp();
    server_->ledger_options().allow_scripts = true;
    server_->engine_options().allow_scripts = true;
    server_->Restart();
    client_ = server_->Client();
  }
};

TEST_F(ScriptRunsHttpTest, AScriptsOutputIsItsExitCodeStdoutAndStderr) {
  std::string wf = Create(R"({"name": "sh", "steps": [{"id": "say", "type": "script",
    "config": {"command": "echo \"hi {{input.who}} $LEDGERFLOW_STEP_ID\"; echo warn >&2"}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf, R"({"input_data": {"who": "ann"}})"));
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  const json::Value& out = Step(run, "say")["output"];
  EXPECT_EQ(Int(out, "exit_code"), 0);
  EXPECT_EQ(Str(out, "stdout"), "hi ann say\n");
  EXPECT_EQ(Str(out, "stderr"), "warn\n");
}

TEST_F(ScriptRunsHttpTest, ANonZeroExitFailsTheAttemptWithItsStderr) {
  std::string wf = Create(R"({"name": "sh-fail", "steps": [{"id": "bad", "type": "script",
    "config": {"command": "echo broken >&2; exit 3"}}]})");
  json::Document run = WaitForEnd(DispatchOk(wf));
  ASSERT_EQ(Str(run, "status"), "failed");
  EXPECT_EQ(Str(Step(run, "bad"), "error"), "the script exited with code 3: broken\n");
}

TEST_F(ScriptRunsHttpTest, AScriptPastItsTimeoutIsKilledWithItsProcessGroup) {
  TempDir dir;
  std::string pid_file = (dir.path() / "child.pid").string();
  std::string wf = Create(R"({"name": "sh-slow", "steps": [{"id": "slow", "type": "script",
    "timeout_seconds": 0.5, "config": {"command": "sleep 30 & echo $! > )" + pid_file + R"(; wait"}}]})");
  auto started = std::chrono::steady_clock::now();
  json::Document run = WaitForEnd(DispatchOk(wf));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(Str(run, "status"), "failed");
  EXPECT_THAT(Str(Step(run, "slow"), "error"), HasSubstr("killed with its process group"));
  EXPECT_LT(elapsed, 10.0);
  std::ifstream in(pid_file);
  pid_t child = 0;
  ASSERT_TRUE(in >> child);
  // The background child went with the group (dead, or a zombie where nothing reaps
  // orphans, as in some containers).
  auto dead = [](pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_text, comm, state;
    stat >> pid_text >> comm >> state;
    return state == "Z" || state == "X";
  };
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = dead(child);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(gone) << "process " << child << " outlived its script's timeout";
}

TEST_F(RunsHttpTest, RebuildingTheReadModelsGivesTheSameRunsAsTheEngineMade) {
  std::atomic<int> calls{0};
  target_.set_handler([&](const TargetRequest&) {
    return ++calls % 2 == 1 ? TargetAnswer{.status = 500} : TargetAnswer{};
  });
  std::string wf = Create(R"({"name": "mixed", "steps": [
    {"id": "call", "type": "http_request", "config": {"url": ")" + target_.url() + R"(/x"},
     "retry": {"max_attempts": 2, "backoff_seconds": 0}},
    {"id": "check", "type": "condition", "depends_on": ["call"],
     "config": {"expression": "input.go", "if_true": ["each"], "if_false": ["worker"]}},
    {"id": "each", "type": "loop", "config": {"items": [1, 2], "step": {"type": "condition",
     "config": {"expression": "true"}}}},
    {"id": "worker", "type": "agent_task"}]})");
  std::vector<std::string> runs;
  for (const char* go : {"true", "false", "true"}) {
    runs.push_back(DispatchOk(wf, std::string(R"({"input_data": {"go": )") + go + "}}"));
  }
  for (const std::string& id : runs) {
    for (int i = 0; i < 500; ++i) {
      json::Document run = GetRun(id);
      std::string status = Str(run, "status");
      if (status == "completed" || status == "failed" ||
          Str(Step(run, "worker"), "status") == "running") {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // As `ledgerflow rebuild` does it: offline, with no writer.
  server_->Stop();
  {
    auto ledger = service::Ledger::Open(server_->ledger_options());
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto& kv = (*ledger)->read_models();
    auto incremental = DumpKv(kv);
    ASSERT_TRUE((*ledger)->runner().Rebuild().ok());
    auto rebuilt = DumpKv(kv);
    for (const auto& [key, value] : incremental) {
      auto it = rebuilt.find(key);
      EXPECT_TRUE(it != rebuilt.end() && it->second == value)
          << "key " << key << ": " << value << " vs " << (it == rebuilt.end() ? "(none)" : it->second);
    }
    EXPECT_EQ(rebuilt.size(), incremental.size());
  }
  server_->Start();
  client_ = server_->Client();
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/runs")), "total"), 3);
}

TEST_F(RunsHttpTest, TheSameIdempotencyKeyGivesOneRunAndAnotherBodyIs409) {
  std::string wf = Create(R"({"name": "idem", "steps": [{"id": "a", "type": "agent_task"}]})");
  auto first = Dispatch(wf, R"({"idempotency_key": "k1", "input_data": {"x": 1}})");
  ASSERT_EQ(first.status, 202) << first.body;
  std::string run_id = Str(ParseJson(first), "run_id");
  // The header is the same key; member order does not matter.
  auto again = Dispatch(wf, R"({"input_data": {"x": 1}})", {"Idempotency-Key: k1"});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Str(ParseJson(again), "run_id"), run_id);
  EXPECT_TRUE(ParseJson(again)["deduplicated"].GetBool());
  auto other = Dispatch(wf, R"({"idempotency_key": "k1", "input_data": {"x": 2}})");
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(ErrorCode(other), "idempotency_key_reused");
  auto forced = Dispatch(wf, R"({"idempotency_key": "k1", "force_new_run": true, "input_data": {"x": 2}})");
  ASSERT_EQ(forced.status, 202) << forced.body;
  std::string newer = Str(ParseJson(forced), "run_id");
  EXPECT_NE(newer, run_id);
  // From then on the key names the newest run.
  auto after = Dispatch(wf, R"({"idempotency_key": "k1", "input_data": {"x": 2}})");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(Str(ParseJson(after), "run_id"), newer);
  // Keys are per workflow.
  std::string wf2 = Create(R"({"name": "idem2", "steps": [{"id": "a", "type": "agent_task"}]})");
  EXPECT_EQ(Dispatch(wf2, R"({"idempotency_key": "k1", "input_data": {"x": 1}})").status, 202);
  auto list = ParseJson(client_->Get("/api/workflows/" + wf + "/runs"));
  EXPECT_EQ(Int(list, "total"), 2);
}

TEST_F(RunsHttpTest, ConcurrentFirstAttemptsUnderOneKeyMakeOneRun) {
  std::string wf = Create(R"({"name": "race", "steps": [{"id": "a", "type": "agent_task"}]})");
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<std::string> ids;
  std::vector<long> statuses;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      HttpClient c(server_->url());
      c.set_token(server_->owner_token());
      auto r = c.Send("POST", "/api/workflows/" + wf + "/runs", "{}", {"Idempotency-Key: same"});
      std::lock_guard<std::mutex> lock(mu);
      statuses.push_back(r.status);
      ids.insert(Str(ParseJson(r), "run_id"));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), 1);
  EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 7);
}

TEST_F(RunsHttpTest, IdempotencyKeysSurviveARestart) {
  std::string wf = Create(R"({"name": "durable", "steps": [{"id": "a", "type": "agent_task"}]})");
  auto first = Dispatch(wf, R"({"reason": "r"})", {"Idempotency-Key: kept"});
  ASSERT_EQ(first.status, 202);
  server_->Restart();
  client_ = server_->Client();
  auto again = Dispatch(wf, R"({"reason": "r"})", {"Idempotency-Key: kept"});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Str(ParseJson(again), "run_id"), Str(ParseJson(first), "run_id"));
  EXPECT_EQ(Dispatch(wf, R"({"reason": "other"})", {"Idempotency-Key: kept"}).status, 409);
}

TEST_F(RunsHttpTest, InputIsCheckedAgainstTheDefinitionsSchema) {
  std::string wf = Create(R"({"name": "typed", "inputs": {"type": "object", "required": ["count"],
    "properties": {"count": {"type": "integer", "minimum": 1}}},
    "steps": [{"id": "a", "type": "agent_task"}]})");
  auto low = Dispatch(wf, R"({"input_data": {"count": 0}})");
  EXPECT_EQ(low.status, 400);
  EXPECT_EQ(ErrorCode(low), "invalid_input");
  EXPECT_THAT(ErrorMessage(low), HasSubstr("input_data/count"));
  auto missing = Dispatch(wf, "{}");
  EXPECT_EQ(missing.status, 400);
  EXPECT_THAT(ErrorMessage(missing), HasSubstr("required"));
  EXPECT_EQ(Dispatch(wf, R"({"input_data": {"count": 2}})").status, 202);
  EXPECT_EQ(Dispatch(wf, R"({"input_data": [1]})").status, 400);
  EXPECT_EQ(Dispatch(wf, R"({"surprise": 1})").status, 400);
  EXPECT_EQ(Dispatch(wf, "{not json").status, 400);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/" + wf + "/runs")), "total"), 1);
}

TEST_F(RunsHttpTest, PausedArchivedDeletedAndOtherOrgsWorkflowsAreRefused) {
  std::string wf = Create(R"({"name": "p", "steps": [{"id": "a", "type": "agent_task"}]})");
  ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + wf + "/status", R"({"status":"paused"})").status, 200);
  auto paused = Dispatch(wf);
  EXPECT_EQ(paused.status, 409);
  EXPECT_EQ(ErrorCode(paused), "workflow_not_runnable");
  ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + wf + "/status", R"({"status":"archived"})").status, 200);
  EXPECT_EQ(Dispatch(wf).status, 409);
  std::string draft = Create(R"({"name": "d", "steps": [{"id": "a", "type": "agent_task"}]})",
                             R"(,"status":"draft")");
  EXPECT_EQ(Dispatch(draft).status, 202);
  std::string gone = Create(R"({"name": "g", "steps": [{"id": "a", "type": "agent_task"}]})");
  ASSERT_EQ(client_->Send("DELETE", "/api/workflows/" + gone).status, 200);
  EXPECT_EQ(Dispatch(gone).status, 404);
  EXPECT_EQ(Dispatch("wf_unknown").status, 404);
  std::string run_id = DispatchOk(draft);
  HttpClient other(server_->url());
  other.set_token(server_->CreateKey("globex", core::Role::kOwner));
  EXPECT_EQ(other.Send("POST", "/api/workflows/" + draft + "/runs", "{}").status, 404);
  EXPECT_EQ(other.Get("/api/workflows/runs/" + run_id).status, 404);
  EXPECT_EQ(other.Get("/api/workflows/" + draft + "/runs").status, 404);
  EXPECT_EQ(Int(ParseJson(other.Get("/api/workflows/runs")), "total"), 0);
  EXPECT_EQ(client_->Get("/api/workflows/runs/run_nope").status, 404);
}

TEST_F(RunsHttpTest, ARunKeepsTheVersionItWasDispatchedOn) {
  std::string wf = Create(R"({"name": "pin", "steps": [
    {"id": "w", "type": "wait", "config": {"seconds": 0.5}},
    {"id": "call", "type": "http_request", "depends_on": ["w"], "config": {"url": ")" + target_.url() + R"(/v1"}}]})");
  std::string run_id = DispatchOk(wf);
  auto updated = client_->Send("PUT", "/api/workflows/" + wf, R"({"definition": {"name": "pin", "steps": [
    {"id": "w", "type": "wait", "config": {"seconds": 0}},
    {"id": "call", "type": "http_request", "depends_on": ["w"], "config": {"url": ")" + target_.url() + R"(/v2"}}]}})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  json::Document run = WaitForEnd(run_id);
  ASSERT_EQ(Str(run, "status"), "completed");
  EXPECT_EQ(Int(run, "workflow_version"), 1);
  EXPECT_EQ(target_.Count("/v1"), 1u);
  EXPECT_EQ(target_.Count("/v2"), 0u);
  json::Document next = WaitForEnd(DispatchOk(wf));
  EXPECT_EQ(Int(next, "workflow_version"), 2);
  EXPECT_EQ(target_.Count("/v2"), 1u);
}

TEST_F(RunsHttpTest, TheWorkflowLimitHoldsWhileOtherWorkflowsProceed) {
  target_.set_handler([](const TargetRequest& r) {
    return TargetAnswer{.delay_ms = r.path == "/slow" ? 150 : 0};
  });
  std::string limited = Create(R"({"name": "one", "max_concurrent_runs": 2, "steps": [{"id": "call",
    "type": "http_request", "config": {"url": ")" + target_.url() + R"(/slow"}}]})");
  std::string free = Create(R"({"name": "free", "steps": [{"id": "call",
    "type": "http_request", "config": {"url": ")" + target_.url() + R"(/free"}}]})");
  std::vector<std::string> runs;
  for (int i = 0; i < 6; ++i) runs.push_back(DispatchOk(limited, R"({"reason": ")" + std::to_string(i) + "\"}"));
  std::string other = DispatchOk(free);
  json::Document quick = WaitForEnd(other);
  EXPECT_EQ(Str(quick, "status"), "completed");
  std::vector<std::string> started;
  for (const std::string& id : runs) {
    json::Document run = WaitForEnd(id);
    EXPECT_EQ(Str(run, "status"), "completed");
    started.push_back(Str(run, "started_at"));
  }
  EXPECT_EQ(target_.MaxConcurrent("/slow"), 2);
  // Pending runs start in dispatch order.
  EXPECT_TRUE(std::is_sorted(started.begin(), started.end()));
}

TEST_F(RunsHttpTest, SlotsFreedTogetherAreAllTakenByPendingRuns) {
  // Two runs hold the workflow's two slots and end at the same instant; two more wait
  // for a slot. Both must start then, not one now and the other when it ends.
  std::string wf = Create(R"({"name": "slots", "max_concurrent_runs": 2, "steps": [
    {"id": "w", "type": "wait", "config": {"until": "{{input.until}}"}}]})");
  auto at = [](int64_t ms) {
    return R"({"input_data": {"until": ")" + core::FormatRfc3339Millis(ms) + "\"}}";
  };
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string first = DispatchOk(wf, at(now + 1000));
  std::string second = DispatchOk(wf, at(now + 1000));
  std::string third = DispatchOk(wf, at(now + 60000));
  std::string fourth = DispatchOk(wf, at(now + 60000));
  ASSERT_EQ(Str(WaitForEnd(first), "status"), "completed");
  ASSERT_EQ(Str(WaitForEnd(second), "status"), "completed");
  for (int i = 0; i < 500 && (Str(GetRun(third), "status") != "running" ||
                              Str(GetRun(fourth), "status") != "running"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Str(GetRun(third), "status"), "running");
  EXPECT_EQ(Str(GetRun(fourth), "status"), "running");
}

TEST_F(RunsHttpTest, SearchFiltersByStatusWorkflowAndTextWithPaging) {
  std::string a = Create(R"({"name": "a", "steps": [{"id": "s", "type": "wait", "config": {"seconds": 0}}]})");
  std::string b = Create(R"({"name": "b", "steps": [{"id": "s", "type": "agent_task"}]})");
  std::vector<std::string> done;
  for (int i = 0; i < 3; ++i) done.push_back(DispatchOk(a, R"({"reason": "nightly )" + std::to_string(i) + "\"}"));
  for (const auto& id : done) ASSERT_EQ(Str(WaitForEnd(id), "status"), "completed");
  std::string waiting = DispatchOk(b, R"({"reason": "manual check", "trigger": "api"})");
  // b's step waits for a worker: the run stays running.
  for (int i = 0; i < 200 && Str(GetRun(waiting), "status") != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto all = ParseJson(client_->Get("/api/workflows/runs"));
  EXPECT_EQ(Int(all, "total"), 4);
  EXPECT_EQ(Str(all["runs"][0], "id"), waiting);  // newest first
  auto completed = ParseJson(client_->Get("/api/workflows/runs?status=completed&limit=2"));
  EXPECT_EQ(Int(completed, "total"), 3);
  ASSERT_EQ(completed["runs"].Size(), 2u);
  EXPECT_EQ(Str(completed["runs"][0], "id"), done[2]);
  auto page2 = ParseJson(client_->Get("/api/workflows/runs?status=completed&limit=2&offset=2"));
  ASSERT_EQ(page2["runs"].Size(), 1u);
  EXPECT_EQ(Str(page2["runs"][0], "id"), done[0]);
  auto oldest = ParseJson(client_->Get("/api/workflows/runs?sort=started_at&limit=1"));
  EXPECT_EQ(Str(oldest["runs"][0], "id"), done[0]);
  auto of_b = ParseJson(client_->Get("/api/workflows/runs?workflow_id=" + b));
  EXPECT_EQ(Int(of_b, "total"), 1);
  auto text = ParseJson(client_->Get("/api/workflows/runs?q=NIGHTLY%201"));
  ASSERT_EQ(Int(text, "total"), 1);
  EXPECT_EQ(Str(text["runs"][0], "id"), done[1]);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/runs?range=24h")), "total"), 4);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/runs?since=2999-01-01T00:00:00Z")), "total"), 0);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/runs?status=running")), "total"), 1);
  auto running_b = ParseJson(client_->Get("/api/workflows/" + b + "/runs?status=running"));
  EXPECT_EQ(Int(running_b, "total"), 1);
  EXPECT_EQ(client_->Get("/api/workflows/runs?status=bogus").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows/runs?range=1y").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows/runs?sort=name").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows/runs?since=yesterday").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows/runs?limit=0").status, 400);
}

TEST_F(RunsHttpTest, AWaitingRunFinishesOnTimeAfterARestartWithoutRepeatingASteps) {
  std::string wf = Create(R"({"name": "survive", "steps": [
    {"id": "before", "type": "http_request", "config": {"url": ")" + target_.url() + R"(/before"}},
    {"id": "w", "type": "wait", "depends_on": ["before"], "config": {"seconds": 1.2}},
    {"id": "after", "type": "http_request", "depends_on": ["w"], "config": {"url": ")" + target_.url() + R"(/after"}}]})");
  auto started = std::chrono::steady_clock::now();
  std::string run_id = DispatchOk(wf);
  ASSERT_EQ(target_.WaitFor("/before", 1), 1u);
  for (int i = 0; i < 200 && Str(Step(GetRun(run_id), "w"), "status") != "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_->Restart();
  client_ = server_->Client();
  json::Document run = WaitForEnd(run_id);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  EXPECT_GE(elapsed, 1.2);
  EXPECT_LT(elapsed, 5.0);
  EXPECT_EQ(target_.Count("/before"), 1u);
  EXPECT_EQ(target_.Count("/after"), 1u);
  EXPECT_EQ(Int(Step(run, "w"), "attempt"), 1);
}

}  // namespace
}  // namespace ledgerflow::testing
