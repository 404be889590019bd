// The reactor: the inbox, the loop, commits and appends, timers, slots and launches.
#include "engine/engine.h"

#include <pthread.h>

#include "engine/engine_metrics.h"
#include "engine/engine_state.h"
#include "engine/step_execution.h"

namespace ledgerflow::engine {

Engine::Engine(events::EventStore& store, projections::ProjectionRunner& runner,
               const projections::WorkflowProjection& workflows,
               const projections::RunProjection& runs, service::RunService& commands,
               EngineOptions options)
    : store_(store), runner_(runner), workflows_(workflows), runs_(runs), commands_(commands),
      options_(options), inbox_(std::make_shared<Inbox>()), http_(std::make_unique<HttpCalls>()),
      scripts_(std::make_unique<ScriptRuns>(options_.script_state_dir)) {
  inbox_->waker = http_.get();
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  // Before any run is adopted: a script step in flight at the crash is retried only
  // once the process of its earlier attempt is gone.
  orphans_killed_ = scripts_->KillOrphans();
  std::weak_ptr<Inbox> weak = inbox_;
  runner_.Observe([weak](std::span<const events::Event> events) {
    auto inbox = weak.lock();
    if (!inbox) return;
    std::lock_guard<std::mutex> lock(inbox->mu);
    bool any = false;
    if (!events.empty()) inbox->seen = events.back().position;
    for (const events::Event& e : events) {
      if (core::RunIdOfStream(e.stream).empty()) continue;
      events::Event copy = e;
      copy.parsed_data = nullptr;
      inbox->committed.push_back(std::move(copy));
      any = true;
    }
    if (any) inbox->Wake();
  });
  std::vector<RunState> unfinished;
  LF_RETURN_IF_ERROR(runs_.ForEachUnfinished([&](const RunState& run) {
    unfinished.push_back(run);
    return true;
  }));
  for (RunState& state : unfinished) Adopt(std::move(state), /*recovered=*/true);
  thread_ = std::thread([this] { Loop(); });
  (void)pthread_setname_np(thread_.native_handle(), "lf-engine");
  return Status::Ok();
}

void Engine::Stop() {
  if (!started_ || stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    inbox_->Wake();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(inbox_->mu);
  inbox_->waker = nullptr;
}

void Engine::Loop() {
  while (!stopping_.load()) {
    int64_t now = NowMs();
    int timeout = 1000;
    if (!timers_.empty()) {
      timeout = static_cast<int>(std::clamp<int64_t>(timers_.top().at_ms - now, 0, 1000));
    }
    if (scripts_->running() > 0) {
      timeout = static_cast<int>(std::clamp<int64_t>(scripts_->next_deadline() - now, 0, timeout));
    }
    if (!dirty_.empty()) timeout = 0;
    http_->Poll(timeout, scripts_->fds());  // runs the callbacks of finished HTTP calls
    scripts_->Collect(NowMs());
    Drain();
    FireTimers(NowMs());
    AdvanceDirty();
    PublishGauges();
  }
}

void Engine::PublishGauges() {
  EngineMetrics& m = EngineMetrics::Get();
  double running = 0, pending = 0;
  for (const auto& [key, n] : running_) running += n;
  for (const auto& [key, queue] : waiting_) pending += static_cast<double>(queue.size());
  m.runs_running.Set(running);
  m.runs_pending.Set(pending);
  m.timers_armed.Set(static_cast<double>(timers_.size()));
  m.http_in_flight.Set(static_cast<double>(http_->in_flight()));
  const events::Position head = store_.HeadPosition();
  m.lag_events.Set(head > processed_position_ ? static_cast<double>(head - processed_position_) : 0);
}

void Engine::Drain() {
  std::deque<events::Event> committed;
  std::deque<std::pair<std::string, StatusOr<events::AppendResult>>> appended;
  {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    committed.swap(inbox_->committed);
    appended.swap(inbox_->appended);
    processed_position_ = inbox_->seen;
  }
  for (const events::Event& e : committed) OnCommitted(e);
  for (const auto& [run_id, result] : appended) OnAppended(run_id, result);
}

Engine::ActiveRun* Engine::Adopt(RunState state, bool recovered) {
  auto run = std::make_unique<ActiveRun>();
  run->committed_version = state.stream_version;
  // The newest event of the run: what the engine's next append is caused by.
  run->last_position = std::max(state.last_position, state.dispatched_position);
  run->state = std::move(state);
  auto plan = PlanOf(run->state);
  if (plan.ok()) run->plan = *plan;
  if (run->state.status == RunStatus::kRunning) {
    ++running_[WorkflowKey(run->state)];
    run->holds_slot = true;
  }
  if (recovered && run->plan) {
    for (const StepRun& step : run->state.steps) {
      if (step.status != StepStatus::kRunning) continue;
      const core::PlannedStep* planned = run->plan->Find(step.step_id);
      if (planned == nullptr) continue;
      if (step.retry_at_ms > 0) {
        Arm(run->state.id, step.retry_at_ms);
      } else if (KindOf(planned->type) == StepKind::kWait) {
        Arm(run->state.id, step.wake_at_ms);
      } else if (KindOf(planned->type) == StepKind::kHttp ||
                 KindOf(planned->type) == StepKind::kScript ||
                 KindOf(planned->type) == StepKind::kLoop) {
        run->results.push_back({step.step_id, step.attempt, -1, false, "", kInterrupted});
      }
    }
  }
  ActiveRun* raw = run.get();
  run->dirty = true;
  dirty_.push_back(run->state.id);
  runs_active_[raw->state.id] = std::move(run);
  return raw;
}

StatusOr<std::shared_ptr<const core::RunPlan>> Engine::PlanOf(const RunState& state) {
  std::string key = state.org + "/" + state.workflow_id + "/" + std::to_string(state.workflow_version);
  if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  auto version = workflows_.GetVersion(state.org, state.workflow_id, state.workflow_version);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    return NotFound("version " + std::to_string(state.workflow_version) + " of workflow '" +
                    state.workflow_id + "' is not readable");
  }
  auto definition = json::Parse((*version)->definition);
  if (!definition.ok()) return definition.status();
  auto plan = core::MakeRunPlan(*definition);
  if (!plan.ok()) return plan.status();
  if (plans_.size() >= 4096) plans_.clear();  // a bound, not an LRU: plans are cheap to read
  plans_[key] = *plan;
  return *plan;
}

void Engine::OnCommitted(const events::Event& e) {
  std::string run_id(core::RunIdOfStream(e.stream));
  auto it = runs_active_.find(run_id);
  if (it == runs_active_.end()) {
    if (e.type != core::kRunDispatched || e.stream_version != 1) return;
    auto data = json::Parse(e.data);
    if (!data.ok()) return;
    RunState state;
    core::EvolveRun(state, e.type, *data,
                    core::EventMeta{e.position, e.stream_version, e.at_ms, e.actor}, e.org, run_id);
    Adopt(std::move(state), /*recovered=*/false);
    EngineMetrics::Get().runs_dispatched.Add();
    return;
  }
  ActiveRun& run = *it->second;
  if (e.stream_version <= run.state.stream_version) {
    if (e.stream_version <= run.committed_version) return;
    run.last_position = std::max(run.last_position, e.position);
    return;  // this engine's own event, already folded
  }
  if (run.appending) {
    // Another writer's event: the append in flight conflicts with it, or it came after
    // the append committed; either way the run is read again from the log.
    run.reload_after_append = true;
    return;
  }
  if (e.stream_version != run.state.stream_version + 1) {
    (void)Reload(run);
  } else {
    auto data = json::Parse(e.data);
    if (!data.ok()) return;
    core::EvolveRun(run.state, e.type, *data,
                    core::EventMeta{e.position, e.stream_version, e.at_ms, e.actor}, e.org, run_id);
    run.committed_version = e.stream_version;
    run.last_position = e.position;
  }
  if (!run.dirty) {
    run.dirty = true;
    dirty_.push_back(run_id);
  }
}

void Engine::OnAppended(const std::string& run_id, const StatusOr<events::AppendResult>& result) {
  auto it = runs_active_.find(run_id);
  if (it == runs_active_.end()) return;
  ActiveRun& run = *it->second;
  run.appending = false;
  if (result.ok()) {
    run.committed_version = result->stream_version;
    run.last_position = result->last_position;
    for (const auto& count : run.on_commit) count();
    run.on_commit.clear();
    AfterCommit(run);
    if (run.reload_after_append) {
      run.reload_after_append = false;
      (void)Reload(run);
    }
    if (core::IsTerminal(run.state.status)) {
      ReleaseSlot(run);
      for (auto& [step, call] : run.calls) http_->Cancel(call);
      for (auto& [step, script] : run.scripts) scripts_->Cancel(script);
      runs_active_.erase(it);
      return;
    }
  } else {
    // Someone else wrote to the run (or the write failed): start again from the log.
    run.to_launch.clear();
    run.scripts_to_launch.clear();
    run.on_commit.clear();
    if (result.status().code() != StatusCode::kConflict) {
      run.not_before_ms = NowMs() + 1000;
      Arm(run_id, run.not_before_ms);
    }
    run.reload_after_append = false;
    (void)Reload(run);
  }
  if (!run.dirty) {
    run.dirty = true;
    dirty_.push_back(run_id);
  }
}

Status Engine::Reload(ActiveRun& run) {
  auto events = store_.ReadStream(core::RunStream(run.state.id));
  if (!events.ok()) return events.status();
  RunState fresh;
  for (const events::Event& e : *events) {
    auto data = json::Parse(e.data);
    if (!data.ok()) return data.status();
    core::EvolveRun(fresh, e.type, *data,
                    core::EventMeta{e.position, e.stream_version, e.at_ms, e.actor}, e.org,
                    run.state.id);
    run.last_position = e.position;
  }
  run.state = std::move(fresh);
  run.committed_version = run.state.stream_version;
  // Results of attempts the log no longer shows running are stale.
  std::erase_if(run.results, [&](const StepResult& r) {
    const StepRun* s = run.state.FindStep(r.step_id);
    return s == nullptr || s->status != StepStatus::kRunning || s->attempt != r.attempt;
  });
  AfterCommit(run);
  return Status::Ok();
}

void Engine::AfterCommit(ActiveRun& run) {
  for (ActiveRun::Launch& launch : run.to_launch) {
    const StepRun* s = run.state.FindStep(launch.step_id);
    if (s == nullptr) continue;
    int attempt = s->attempt;
    std::string run_id = run.state.id;
    std::string id = launch.step_id;
    int index = launch.index;
    std::shared_ptr<const json::Document> config = launch.config;
    run.calls[id] = http_->Start(launch.call, [this, run_id, id, index, attempt, config](HttpOutcome o) {
      auto it = runs_active_.find(run_id);
      if (it == runs_active_.end()) return;
      ActiveRun& r = *it->second;
      r.calls.erase(id);
      HttpResult result = HttpResultOf(*config, o);
      r.results.push_back({id, attempt, index, result.ok, std::move(result.output), std::move(result.error)});
      if (!r.dirty) {
        r.dirty = true;
        dirty_.push_back(run_id);
      }
    });
  }
  run.to_launch.clear();
  for (ActiveRun::ScriptLaunch& launch : run.scripts_to_launch) {
    const StepRun* s = run.state.FindStep(launch.step_id);
    if (s == nullptr) continue;
    int attempt = s->attempt;
    std::string run_id = run.state.id;
    std::string id = launch.step_id;
    std::vector<std::string> env = {"LEDGERFLOW_RUN_ID=" + run_id, "LEDGERFLOW_STEP_ID=" + id,
                                    "LEDGERFLOW_INPUT=" + run.state.input_data};
    int64_t timeout_ms = launch.timeout_ms;
    run.scripts[id] = scripts_->Start(
        launch.command, env, NowMs() + timeout_ms,
        [this, run_id, id, attempt, timeout_ms](ScriptOutcome o) {
          auto it = runs_active_.find(run_id);
          if (it == runs_active_.end()) return;
          ActiveRun& r = *it->second;
          r.scripts.erase(id);
          ScriptResult result = ScriptResultOf(o, timeout_ms);
          r.results.push_back({id, attempt, -1, result.ok, std::move(result.output),
                               std::move(result.error)});
          if (!r.dirty) {
            r.dirty = true;
            dirty_.push_back(run_id);
          }
        });
  }
  run.scripts_to_launch.clear();
  for (const StepRun& s : run.state.steps) {
    if (s.status != StepStatus::kRunning) continue;
    if (s.retry_at_ms > 0) Arm(run.state.id, s.retry_at_ms);
    if (s.wake_at_ms > 0) Arm(run.state.id, s.wake_at_ms);
  }
}

void Engine::Arm(const std::string& run_id, int64_t at_ms) { timers_.push({at_ms, run_id}); }

void Engine::FireTimers(int64_t now_ms) {
  while (!timers_.empty() && timers_.top().at_ms <= now_ms) {
    std::string run_id = timers_.top().run_id;
    timers_.pop();
    auto it = runs_active_.find(run_id);
    if (it == runs_active_.end() || it->second->dirty) continue;
    it->second->dirty = true;
    dirty_.push_back(run_id);
  }
}

void Engine::AdvanceDirty() {
  std::vector<std::string> dirty;
  dirty.swap(dirty_);
  for (const std::string& id : dirty) {
    auto it = runs_active_.find(id);
    if (it == runs_active_.end()) continue;
    it->second->dirty = false;
    Advance(*it->second);
  }
}

bool Engine::TakeSlot(ActiveRun& run) {
  if (run.holds_slot) return true;
  const std::string key = WorkflowKey(run.state);
  int limit = run.plan && run.plan->max_concurrent_runs > 0 ? run.plan->max_concurrent_runs
                                                              : options_.default_max_concurrent_runs;
  auto& queue = waiting_[key];
  queue.emplace(run.state.dispatched_position, run.state.id);
  int& running = running_[key];
  if (running >= limit || queue.begin()->first != run.state.dispatched_position) return false;
  queue.erase(queue.begin());
  ++running;
  run.holds_slot = true;
  if (queue.empty()) {
    waiting_.erase(key);
  } else if (running < limit) {
    // Several slots can free up in one pass (runs that ended together), and each
    // release wakes only the first waiting run: the run that takes a slot wakes the
    // next one while slots are left.
    auto next = runs_active_.find(queue.begin()->second);
    if (next != runs_active_.end() && !next->second->dirty) {
      next->second->dirty = true;
      dirty_.push_back(next->first);
    }
  }
  return true;
}

void Engine::ReleaseSlot(ActiveRun& run) {
  if (!run.holds_slot) return;
  run.holds_slot = false;
  const std::string key = WorkflowKey(run.state);
  if (--running_[key] <= 0) running_.erase(key);
  auto waiting = waiting_.find(key);
  if (waiting == waiting_.end() || waiting->second.empty()) return;
  const std::string& next = waiting->second.begin()->second;
  auto it = runs_active_.find(next);
  if (it != runs_active_.end() && !it->second->dirty) {
    it->second->dirty = true;
    dirty_.push_back(next);
  }
}

}  // namespace ledgerflow::engine
