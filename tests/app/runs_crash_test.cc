// Runs across a crash of the real binary: `ledgerflow serve` is killed with SIGKILL (no
// shutdown code runs) while runs wait on a timer, on an HTTP answer or for a slot of
// their workflow, then started again on the same data directory. What must hold: a
// wait keeps its deadline, an attempt in flight counts as failed and is retried under
// its policy (and only then), pending runs start in dispatch order within the limit,
// and no step's completion is recorded twice; a script left running by the killed
// process is killed before its step is retried.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/json.h"
#include "core/time_format.h"
#include "tests/app/serve_process.h"
#include "tests/support/http_client.h"
#include "tests/support/http_target.h"
#include "tests/support/run_queries.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kInterrupted[] = "the server stopped while this attempt was in flight";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Str(const json::Value& v, const char* key) {
  return json::GetString(v, key).value_or("<missing>");
}

int64_t Int(const json::Value& v, const char* key) { return json::GetInt(v, key).value_or(-1); }

// An RFC 3339 member as milliseconds since the epoch (-1 when missing or malformed).
int64_t TimeMs(const json::Value& v, const char* key) {
  auto text = json::GetString(v, key);
  if (!text) return -1;
  auto ms = core::ParseRfc3339(*text);
  return ms.ok() ? *ms : -1;
}

json::Document Parse(const HttpResponse& r) {
  auto doc = json::Parse(r.body);
  EXPECT_TRUE(doc.ok()) << "not JSON (" << r.status << "): " << r.body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

// Blocks the target's answers to chosen requests until Release (or 30 s, so that a
// failing test still ends). Counts the requests its handler is answering at once.
class Gate {
 public:
  void Hold() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 30s, [&] { return released_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

class Concurrency {
 public:
  void Enter() {
    int now = ++active_;
    int seen = most_.load();
    while (now > seen && !most_.compare_exchange_weak(seen, now)) {
    }
  }
  void Leave() { --active_; }
  int most() const { return most_.load(); }
  // Waits until no handler is answering (the answer to a killed server's request has
  // been given up on too).
  bool WaitIdle() const {
    for (int i = 0; i < 3000 && active_.load() > 0; ++i) std::this_thread::sleep_for(10ms);
    return active_.load() == 0;
  }

 private:
  std::atomic<int> active_{0};
  std::atomic<int> most_{0};
};

class RunsCrashTest : public ::testing::Test {
 protected:
  void SetUp() override { data_ = (dir_.path() / "db").string(); }

  // Starts the binary on the data directory (the first start keeps the owner key).
  void Start() {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> flags = {"--log-level", "warn"};
    flags.insert(flags.end(), extra_flags_.begin(), extra_flags_.end());
    serve_ = std::make_unique<ServeProcess>(data_, flags);
    // EXPECT, not ASSERT: the helpers go on with a client that fails every request.
    EXPECT_FALSE(serve_->url().empty()) << "the server did not start";
    if (key_.empty()) key_ = serve_->key();
    EXPECT_FALSE(key_.empty());
    client_ = std::make_unique<HttpClient>(serve_->url());
    client_->set_token(key_);
    last_start_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
  }

  // SIGKILL, then a new process on the same directory. Returns the wall time at which
  // the new process listened.
  int64_t KillAndRestart() {
    serve_->Kill();
    client_.reset();
    Start();
    return WallMs();
  }

  std::string Create(const std::string& definition) {
    auto r = client_->Post("/api/workflows", R"({"definition":)" + definition + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(Parse(r), "id");
  }

  std::string Dispatch(const std::string& workflow_id, const std::string& body = "{}") {
    auto r = client_->Post("/api/workflows/" + workflow_id + "/runs", body);
    EXPECT_EQ(r.status, 202) << r.body;
    return Str(Parse(r), "run_id");
  }

  json::Document GetRun(const std::string& run_id) { return ReadRun(*client_, run_id); }

  // Polls until the run is terminal (generous: CI is a noisy 2-core machine; nothing
  // here measures speed).
  json::Document WaitForEnd(const std::string& run_id) {
    return PollRunToEnd(*client_, run_id, std::chrono::seconds(60), std::chrono::milliseconds(20));
  }

  // Polls until the step's status is `status`; its step_runs entry.
  json::Document WaitForStep(const std::string& run_id, const std::string& step_id,
                             const std::string& status) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
      json::Document run = GetRun(run_id);
      json::Document step;
      step.CopyFrom(StepOf(run, step_id), step.GetAllocator());
      if (Str(step, "status") == status || std::chrono::steady_clock::now() > deadline) {
        return step;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  static const json::Value& StepOf(const json::Value& run, const std::string& id) {
    static const json::Value kNull;
    if (const json::Value* steps = json::Find(run, "step_runs"); steps && steps->IsArray()) {
      for (const json::Value& s : steps->GetArray()) {
        if (Str(s, "step_id") == id) return s;
      }
    }
    ADD_FAILURE() << "no step " << id << " in " << json::Serialize(run);
    return kNull;
  }

  // Every event of the run's stream, in log order, from the audit API (page by page).
  struct RunEvent {
    std::string type;
    std::string step_id;
    int64_t attempt = 0;
    std::string error;
    int64_t at_ms = -1;
    int64_t wake_at_ms = -1;  // a wait's deadline, in its run.step_started
  };
  std::vector<RunEvent> RunEvents(const std::string& run_id) {
    std::vector<RunEvent> out;
    std::string after = "0";
    for (int page = 0; page < 100; ++page) {
      auto r = client_->Get("/api/audit/events?stream=run-" + run_id + "&limit=100&after=" + after);
      EXPECT_EQ(r.status, 200) << r.body;
      auto doc = Parse(r);
      const json::Value* events = json::Find(doc, "events");
      if (events == nullptr || !events->IsArray()) break;
      for (const json::Value& e : events->GetArray()) {
        RunEvent event;
        event.type = Str(e, "type");
        event.at_ms = TimeMs(e, "at");
        if (const json::Value* data = json::Find(e, "data")) {
          event.step_id = json::GetString(*data, "step_id").value_or("");
          event.attempt = json::GetInt(*data, "attempt").value_or(0);
          event.error = json::GetString(*data, "error").value_or("");
          event.wake_at_ms = TimeMs(*data, "wake_at");
        }
        out.push_back(std::move(event));
      }
      const json::Value* next = json::Find(doc, "next_after");
      if (next == nullptr || !next->IsUint64() || events->Empty()) break;
      after = std::to_string(next->GetUint64());
    }
    return out;
  }

  static size_t CountOf(const std::vector<RunEvent>& events, std::string_view type,
                        const std::string& step_id = "") {
    return static_cast<size_t>(std::count_if(events.begin(), events.end(), [&](const RunEvent& e) {
      return e.type == type && (step_id.empty() || e.step_id == step_id);
    }));
  }

  // Each completed step of the run has exactly one run.step_completed in the log, and
  // no other step has one; exactly one terminal run event.
  void ExpectOneCompletionPerCompletedStep(const std::string& run_id, const json::Value& run) {
    const auto events = RunEvents(run_id);
    ASSERT_FALSE(events.empty()) << "no events for " << run_id;
    for (const json::Value& s : run["step_runs"].GetArray()) {
      const std::string id = Str(s, "step_id");
      const size_t completions = CountOf(events, "run.step_completed", id);
      if (Str(s, "status") == "completed") {
        EXPECT_EQ(completions, 1u) << run_id << " step " << id;
      } else {
        EXPECT_EQ(completions, 0u) << run_id << " step " << id;
      }
    }
    EXPECT_EQ(CountOf(events, "run.completed") + CountOf(events, "run.failed"), 1u) << run_id;
    EXPECT_EQ(CountOf(events, "run.started"), 1u) << run_id;
  }

  TempDir dir_;
  std::string data_;
  std::vector<std::string> extra_flags_;  // of every start
  std::string key_;
  std::unique_ptr<ServeProcess> serve_;
  std::unique_ptr<HttpClient> client_;
  int64_t last_start_ms_ = 0;
};

TEST_F(RunsCrashTest, AWaitKeepsItsDeadlineAcrossAKillAndNoStepRunsTwice) {
  HttpTarget target;
  Start();
  const std::string wf = Create(R"({"name": "wait-crash", "steps": [
    {"id": "before", "type": "http_request", "config": {"url": ")" + target.url() + R"(/before"}},
    {"id": "w", "type": "wait", "depends_on": ["before"], "config": {"seconds": 3}},
    {"id": "after", "type": "http_request", "depends_on": ["w"], "config": {"url": ")" + target.url() + R"(/after"}}]})");
  const int64_t dispatched_ms = WallMs();
  const std::string run_id = Dispatch(wf);
  ASSERT_EQ(target.WaitFor("/before", 1, 30000), 1u);
  json::Document w = WaitForStep(run_id, "w", "running");
  ASSERT_EQ(Str(w, "status"), "running");
  // The deadline is the one the wait's start recorded: its start time by the engine's
  // clock + 3 s (the step's started_at is the commit time of that event, a little later).
  int64_t deadline_ms = -1;
  for (const RunEvent& e : RunEvents(run_id)) {
    if (e.type == "run.step_started" && e.step_id == "w") deadline_ms = e.wake_at_ms;
  }
  ASSERT_GE(deadline_ms, dispatched_ms + 3000);
  ASSERT_LE(deadline_ms, TimeMs(w, "started_at") + 3000);
  // Half way through the wait, so that a timer started again at recovery would end
  // visibly later than the original deadline.
  std::this_thread::sleep_until(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(deadline_ms - 1500)));
  ASSERT_EQ(target.Count("/after"), 0u);
  const int64_t listening_ms = KillAndRestart();

  json::Document run = WaitForEnd(run_id);
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  const json::Value& waited = StepOf(run, "w");
  EXPECT_EQ(Int(waited, "attempt"), 1);
  const int64_t woke_ms = TimeMs(waited, "completed_at");
  const int64_t completed_ms = TimeMs(run, "completed_at");
  // Not before its deadline, and not on a timer started again when the server came
  // back (which would end at listening + 3 s or later).
  EXPECT_GE(woke_ms, deadline_ms) << "woke " << (deadline_ms - woke_ms) << " ms early";
  EXPECT_GE(completed_ms, dispatched_ms + 3000);
  EXPECT_LT(woke_ms, listening_ms + 3000)
      << "the wait ended " << (woke_ms - deadline_ms) << " ms after its deadline; the restart took "
      << last_start_ms_ << " ms";
  EXPECT_EQ(target.Count("/before"), 1u);
  EXPECT_EQ(target.Count("/after"), 1u);
  EXPECT_EQ(Int(StepOf(run, "before"), "attempt"), 1);
  EXPECT_EQ(Int(StepOf(run, "after"), "attempt"), 1);
  ExpectOneCompletionPerCompletedStep(run_id, run);
}

// An HTTP step whose first request the target holds until the server was killed.
class InFlightCrashTest : public RunsCrashTest {
 protected:
  std::string DefinitionWith(const std::string& retry) {
    return R"({"name": "in-flight", "steps": [{"id": "call", "type": "http_request", )" + retry +
           R"("config": {"url": ")" + target_.url() + R"(/call"}},
      {"id": "next", "type": "wait", "depends_on": ["call"], "config": {"seconds": 0}}]})";
  }

  // Dispatches, kills the server while the first request is unanswered, lets the target
  // give up on that request, restarts; returns the run id.
  std::string DispatchAndKillInFlight(const std::string& definition) {
    target_.set_handler([this](const TargetRequest&) {
      concurrency_.Enter();
      if (++requests_ == 1) gate_.Hold();
      concurrency_.Leave();
      return TargetAnswer{};
    });
    Start();
    const std::string wf = Create(definition);
    const std::string run_id = Dispatch(wf);
    EXPECT_EQ(target_.WaitFor("/call", 1, 30000), 1u);
    EXPECT_EQ(Str(WaitForStep(run_id, "call", "running"), "status"), "running");
    serve_->Kill();
    gate_.Release();
    EXPECT_TRUE(concurrency_.WaitIdle());
    Start();
    return run_id;
  }

  Gate gate_;
  Concurrency concurrency_;
  std::atomic<int> requests_{0};
  HttpTarget target_;  // last: its threads are joined before the gate goes
};

TEST_F(InFlightCrashTest, WithTwoAttemptsTheInterruptedAttemptFailsAndTheSecondCompletes) {
  const std::string run_id = DispatchAndKillInFlight(DefinitionWith(
      R"("retry": {"max_attempts": 2, "backoff_seconds": 0.2, "backoff_multiplier": 1}, )"));
  json::Document run = WaitForEnd(run_id);
  ASSERT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  EXPECT_EQ(Int(StepOf(run, "call"), "attempt"), 2);
  EXPECT_EQ(Str(StepOf(run, "call"), "status"), "completed");
  EXPECT_EQ(Str(StepOf(run, "next"), "status"), "completed");
  EXPECT_EQ(target_.Count("/call"), 2u);

  const auto events = RunEvents(run_id);
  ASSERT_EQ(CountOf(events, "run.step_started", "call"), 2u);
  ASSERT_EQ(CountOf(events, "run.step_retrying", "call"), 1u);
  EXPECT_EQ(CountOf(events, "run.step_failed", "call"), 0u);
  for (const auto& e : events) {
    if (e.type != "run.step_retrying") continue;
    EXPECT_EQ(e.attempt, 1);
    EXPECT_EQ(e.error, kInterrupted);
  }
  ExpectOneCompletionPerCompletedStep(run_id, run);
}

TEST_F(InFlightCrashTest, WithOneAttemptTheRunFailsWithoutASecondRequest) {
  const std::string run_id = DispatchAndKillInFlight(DefinitionWith(""));
  json::Document run = WaitForEnd(run_id);
  ASSERT_EQ(Str(run, "status"), "failed") << json::Serialize(run);
  EXPECT_THAT(Str(run, "error"), HasSubstr(kInterrupted));
  EXPECT_THAT(Str(run, "error"), HasSubstr("'call'"));
  const json::Value& call = StepOf(run, "call");
  EXPECT_EQ(Str(call, "status"), "failed");
  EXPECT_EQ(Str(call, "error"), kInterrupted);
  EXPECT_EQ(Int(call, "attempt"), 1);
  EXPECT_EQ(Str(StepOf(run, "next"), "status"), "pending");

  const auto events = RunEvents(run_id);
  EXPECT_EQ(CountOf(events, "run.step_started", "call"), 1u);
  EXPECT_EQ(CountOf(events, "run.step_failed", "call"), 1u);
  EXPECT_EQ(CountOf(events, "run.step_retrying"), 0u);
  ExpectOneCompletionPerCompletedStep(run_id, run);
  // The run is over: nothing is sent later either (a new run of another workflow
  // going through shows the engine is past its recovery).
  const std::string probe = Dispatch(
      Create(R"({"name": "probe", "steps": [{"id": "p", "type": "http_request", "config": {"url": ")" +
             target_.url() + R"(/probe"}}]})"));
  EXPECT_EQ(Str(WaitForEnd(probe), "status"), "completed");
  EXPECT_EQ(target_.Count("/call"), 1u);
}

TEST_F(RunsCrashTest, PendingRunsBeyondTheLimitSurviveAKillAndStartInDispatchOrder) {
  constexpr int kRuns = 6;
  Gate gate;
  Concurrency concurrency;
  std::atomic<int> requests{0};
  std::mutex order_mu;
  std::vector<int> order;  // the run number of each request, as the target received them
  HttpTarget target([&](const TargetRequest& r) {
    concurrency.Enter();
    const int n = ++requests;
    {
      std::lock_guard<std::mutex> lock(order_mu);
      auto it = r.headers.find("x-run");
      order.push_back(it == r.headers.end() ? -1 : std::stoi(it->second));
    }
    if (n == 2) {
      gate.Hold();  // the second run's request is in flight when the server dies
    } else if (n <= 3) {
      std::this_thread::sleep_for(200ms);  // the first runs are slow
    }
    concurrency.Leave();
    return TargetAnswer{};
  });
  Start();
  const std::string wf = Create(R"({"name": "one-at-a-time", "max_concurrent_runs": 1, "steps": [
    {"id": "call", "type": "http_request", "retry": {"max_attempts": 2, "backoff_seconds": 0},
     "config": {"url": ")" + target.url() + R"(/c", "headers": {"X-Run": "{{input.n}}"}}},
    {"id": "done", "type": "wait", "depends_on": ["call"], "config": {"seconds": 0}}]})");
  std::vector<std::string> runs;
  for (int i = 0; i < kRuns; ++i) {
    runs.push_back(Dispatch(wf, R"({"input_data": {"n": )" + std::to_string(i) + "}}"));
  }
  ASSERT_EQ(target.WaitFor("/c", 2, 30000), 2u);
  serve_->Kill();
  // Run 1's request was never answered, so runs 2 to 5 were still pending.
  EXPECT_EQ(target.Count("/c"), 2u);
  gate.Release();
  ASSERT_TRUE(concurrency.WaitIdle());
  Start();

  std::vector<int64_t> started;
  for (int i = 0; i < kRuns; ++i) {
    json::Document run = WaitForEnd(runs[static_cast<size_t>(i)]);
    ASSERT_EQ(Str(run, "status"), "completed") << "run " << i << ": " << json::Serialize(run);
    EXPECT_EQ(Int(StepOf(run, "call"), "attempt"), i == 1 ? 2 : 1) << "run " << i;
    started.push_back(TimeMs(run, "started_at"));
    ExpectOneCompletionPerCompletedStep(runs[static_cast<size_t>(i)], run);
  }
  EXPECT_TRUE(std::is_sorted(started.begin(), started.end()));
  EXPECT_EQ(concurrency.most(), 1);
  std::lock_guard<std::mutex> lock(order_mu);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 1, 2, 3, 4, 5}));
}

// Alive, and not a zombie (nothing may reap the orphans of a killed server here).
bool ProcessAlive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  const char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

TEST_F(RunsCrashTest, AScriptLeftRunningByAKillIsKilledBeforeItsStepIsRetried) {
  extra_flags_ = {"--allow-scripts"};
  Start();
  const std::string d = dir_.path().string();
  // The first attempt records its shell's pid and its child's, then waits; the retry
  // finds the marker and ends at once.
  const std::string command = "if [ -e " + d + "/first ]; then echo retried; exit 0; fi; touch " +
                              d + "/first; sleep 120 & echo $$ $! > " + d + "/pids.tmp; mv " + d +
                              "/pids.tmp " + d + "/pids; wait";
  const std::string wf = Create(R"({"name": "script-crash", "steps": [
    {"id": "s", "type": "script", "config": {"command": ")" + command + R"(", "timeout_seconds": 300},
     "retry": {"max_attempts": 2, "backoff_seconds": 0}}]})");
  const std::string run_id = Dispatch(wf);
  pid_t shell = 0, child = 0;
  for (int i = 0; i < 3000 && shell == 0; ++i) {
    std::ifstream pids(d + "/pids");
    if (!(pids >> shell >> child)) shell = 0;
    if (shell == 0) std::this_thread::sleep_for(10ms);
  }
  ASSERT_GT(shell, 0) << "the script did not start";
  serve_->Kill();
  // The crash left both running: what the restart must deal with.
  EXPECT_TRUE(ProcessAlive(shell));
  EXPECT_TRUE(ProcessAlive(child));
  client_.reset();
  Start();
  // Killed by the engine's start, before the step's retry.
  for (int i = 0; i < 500 && (ProcessAlive(shell) || ProcessAlive(child)); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(ProcessAlive(shell)) << "the first attempt's shell outlived the restart";
  EXPECT_FALSE(ProcessAlive(child)) << "the process the first attempt started outlived the restart";
  json::Document run = WaitForEnd(run_id);
  EXPECT_EQ(Str(run, "status"), "completed") << json::Serialize(run);
  const json::Value& step = StepOf(run, "s");
  EXPECT_EQ(Int(step, "attempt"), 2);
  EXPECT_EQ(json::GetString(step["output"], "stdout").value_or(""), "retried\n");
  const auto events = RunEvents(run_id);
  ASSERT_EQ(CountOf(events, "run.step_retrying", "s"), 1u);
  for (const RunEvent& e : events) {
    if (e.type == "run.step_retrying") {
      EXPECT_THAT(e.error, HasSubstr(kInterrupted));
    }
  }
  ExpectOneCompletionPerCompletedStep(run_id, run);
  // No script runs: nothing is tracked any more.
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(data_ + "/running-scripts", ec)) << ec.message();
}

}  // namespace
}  // namespace ledgerflow::testing
