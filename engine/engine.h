// The run engine: a reactor driven by the log. It learns of dispatched runs and of run
// events from committed groups (the projection runner's observer), asks core/ what
// follows (DecideNext), performs the effects (HTTP calls through libcurl's multi
// interface, durable timers) and records their results through the RunService with the
// run stream's expected version, so that two executions of one step can never both be
// recorded. One thread for every run: a waiting step is a timer entry or a socket.
// After a restart it resumes every unfinished run from the read model: completed steps
// are not run again, an attempt that was in flight counts as failed and is retried under
// its policy, timers keep their deadlines, pending runs start in dispatch order.
// Start and Stop from one thread; the rest is internal.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/run_plan.h"
#include "engine/http_calls.h"
#include "engine/script_runs.h"
#include "events/event_store.h"
#include "projections/projection_runner.h"
#include "projections/run_projection.h"
#include "projections/workflow_projection.h"
#include "service/run_service.h"

namespace ledgerflow::engine {

struct EngineOptions {
  int default_max_concurrent_runs = 10;  // WORKFLOW_MAX_CONCURRENT_RUNS
  bool allow_scripts = false;
  // Where running scripts are tracked, so that a start after a crash kills those the
  // crashed process left running (engine/script_runs.h); empty: not tracked.
  std::string script_state_dir;
};

class Engine {
 public:
  Engine(events::EventStore& store, projections::ProjectionRunner& runner,
         const projections::WorkflowProjection& workflows,
         const projections::RunProjection& runs, service::RunService& commands,
         EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Kills what scripts a crashed process left running, observes the log, loads the
  // unfinished runs and starts the loop thread.
  Status Start();
  // How many processes of such scripts Start killed.
  size_t orphan_processes_killed() const { return orphans_killed_; }
  // Stops the loop; HTTP calls in flight are abandoned (a restart retries them under
  // their policy). Idempotent.
  void Stop();

 private:
  struct Inbox;
  struct ActiveRun;
  struct StepResult {
    std::string step_id;
    int attempt = 0;
    int index = -1;  // a loop's item, or -1 for the step itself
    bool ok = false;
    std::string output;  // compact JSON when ok
    std::string error;
  };
  struct Timer {
    int64_t at_ms;
    std::string run_id;
    bool operator>(const Timer& other) const { return at_ms > other.at_ms; }
  };

  void Loop();
  void Drain();
  void OnCommitted(const events::Event& event);
  void OnAppended(const std::string& run_id, const StatusOr<events::AppendResult>& result);
  void FireTimers(int64_t now_ms);
  void AdvanceDirty();
  void PublishGauges();
  void Advance(ActiveRun& run);
  // Records the start of the step's next attempt and, for the steps the engine
  // completes at once (conditions, waits already due), its end.
  void StartAttempt(ActiveRun& run, size_t step_index, int64_t now_ms);
  void EndAttempt(ActiveRun& run, const StepResult& result, int64_t now_ms);
  // Runs a loop step's next items: those that end at once now, an HTTP item once the
  // append in flight commits; the step completes after its last item.
  void NextIteration(ActiveRun& run, size_t step_index, int64_t now_ms);
  void EndIteration(ActiveRun& run, const StepResult& result, int64_t now_ms);
  void Emit(ActiveRun& run, std::string_view type, json::Document data, int64_t now_ms);
  void AfterCommit(ActiveRun& run);
  void Arm(const std::string& run_id, int64_t at_ms);
  bool TakeSlot(ActiveRun& run);
  void ReleaseSlot(ActiveRun& run);
  Status Reload(ActiveRun& run);
  StatusOr<std::shared_ptr<const core::RunPlan>> PlanOf(const core::RunState& state);
  ActiveRun* Adopt(core::RunState state, bool recovered);

  events::EventStore& store_;
  projections::ProjectionRunner& runner_;
  const projections::WorkflowProjection& workflows_;
  const projections::RunProjection& runs_;
  service::RunService& commands_;
  EngineOptions options_;

  std::shared_ptr<Inbox> inbox_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  size_t orphans_killed_ = 0;

  // Loop thread only from here on.
  std::unique_ptr<HttpCalls> http_;
  std::unique_ptr<ScriptRuns> scripts_;
  std::unordered_map<std::string, std::unique_ptr<ActiveRun>> runs_active_;
  std::vector<std::string> dirty_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  // Per workflow ("<org>/<workflow id>"): runs executing, and pending runs waiting for
  // a slot by dispatch position.
  std::unordered_map<std::string, int> running_;
  std::unordered_map<std::string, std::map<uint64_t, std::string>> waiting_;
  std::unordered_map<std::string, std::shared_ptr<const core::RunPlan>> plans_;
  events::Position processed_position_ = 0;  // the log as far as the engine has seen it
};

}  // namespace ledgerflow::engine
