#include "engine/engine.h"

#include <pthread.h>

#include <chrono>
#include <deque>

#include "core/templating.h"
#include "core/time_format.h"
#include "engine/step_execution.h"

namespace ledgerflow::engine {
namespace {

using core::RunState;
using core::RunStatus;
using core::StepRun;
using core::StepStatus;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string WorkflowKey(const RunState& s) { return s.org + "/" + s.workflow_id; }

constexpr const char* kInterrupted =
    "the server stopped while this attempt was in flight";

}  // namespace

// What other threads hand the loop: committed run events and append outcomes. Shared
// with the store's callbacks, which may outlive the engine.
struct Engine::Inbox {
  std::mutex mu;
  std::deque<events::Event> committed;
  std::deque<std::pair<std::string, StatusOr<events::AppendResult>>> appended;
  HttpCalls* waker = nullptr;  // null once the engine stopped

  void Wake() {
    if (waker != nullptr) waker->Wakeup();
  }
};

struct Engine::ActiveRun {
  RunState state;               // the log's events, then this engine's unconfirmed ones
  uint64_t committed_version = 0;
  events::Position last_position = 0;  // the newest event of the run known committed
  std::shared_ptr<const core::RunPlan> plan;
  bool appending = false;
  bool dirty = false;
  bool holds_slot = false;
  // HTTP steps recorded as started in the append in flight: launched once it commits.
  std::vector<std::pair<std::string, HttpCall>> to_launch;
  std::map<std::string, uint64_t> calls;  // step id -> HTTP call in flight
  std::vector<StepResult> results;        // finished attempts not yet recorded
  std::vector<core::PendingEvent> pending;  // decided in this Advance
  int64_t not_before_ms = 0;                // after a failed append: back off
};

Engine::Engine(events::EventStore& store, projections::ProjectionRunner& runner,
               const projections::WorkflowProjection& workflows,
               const projections::RunProjection& runs, service::RunService& commands,
               EngineOptions options)
    : store_(store), runner_(runner), workflows_(workflows), runs_(runs), commands_(commands),
      options_(options), inbox_(std::make_shared<Inbox>()), http_(std::make_unique<HttpCalls>()) {
  inbox_->waker = http_.get();
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  if (started_) return Status::Ok();
  started_ = true;
  std::weak_ptr<Inbox> weak = inbox_;
  runner_.Observe([weak](std::span<const events::Event> events) {
    auto inbox = weak.lock();
    if (!inbox) return;
    std::lock_guard<std::mutex> lock(inbox->mu);
    bool any = false;
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
    if (!dirty_.empty()) timeout = 0;
    http_->Poll(timeout);  // runs the callbacks of finished HTTP calls
    Drain();
    FireTimers(NowMs());
    AdvanceDirty();
  }
}

void Engine::Drain() {
  std::deque<events::Event> committed;
  std::deque<std::pair<std::string, StatusOr<events::AppendResult>>> appended;
  {
    std::lock_guard<std::mutex> lock(inbox_->mu);
    committed.swap(inbox_->committed);
    appended.swap(inbox_->appended);
  }
  for (const events::Event& e : committed) OnCommitted(e);
  for (const auto& [run_id, result] : appended) OnAppended(run_id, result);
}

Engine::ActiveRun* Engine::Adopt(RunState state, bool recovered) {
  auto run = std::make_unique<ActiveRun>();
  run->committed_version = state.stream_version;
  run->last_position = state.dispatched_position;
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
                 KindOf(planned->type) == StepKind::kScript) {
        run->results.push_back({step.step_id, step.attempt, false, "", kInterrupted});
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
    return;
  }
  ActiveRun& run = *it->second;
  if (e.stream_version <= run.state.stream_version) {
    if (e.stream_version <= run.committed_version) return;
    run.last_position = std::max(run.last_position, e.position);
    return;  // this engine's own event, already folded
  }
  if (run.appending) return;  // the append in flight conflicts and reloads
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
    AfterCommit(run);
    if (core::IsTerminal(run.state.status)) {
      ReleaseSlot(run);
      for (auto& [step, call] : run.calls) http_->Cancel(call);
      runs_active_.erase(it);
      return;
    }
  } else {
    // Someone else wrote to the run (or the write failed): start again from the log.
    run.to_launch.clear();
    if (result.status().code() != StatusCode::kConflict) {
      run.not_before_ms = NowMs() + 1000;
      Arm(run_id, run.not_before_ms);
    }
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
  for (auto& [step_id, call] : run.to_launch) {
    const StepRun* s = run.state.FindStep(step_id);
    if (s == nullptr) continue;
    int attempt = s->attempt;
    std::string run_id = run.state.id;
    std::string id = step_id;
    std::shared_ptr<const json::Document> config;
    if (const core::PlannedStep* p = run.plan ? run.plan->Find(step_id) : nullptr) config = p->config;
    run.calls[step_id] = http_->Start(call, [this, run_id, id, attempt, config](HttpOutcome o) {
      auto it = runs_active_.find(run_id);
      if (it == runs_active_.end()) return;
      ActiveRun& r = *it->second;
      r.calls.erase(id);
      static const json::Value kNoConfig(rapidjson::kObjectType);
      HttpResult result = HttpResultOf(config ? static_cast<const json::Value&>(*config) : kNoConfig, o);
      r.results.push_back({id, attempt, result.ok, std::move(result.output), std::move(result.error)});
      if (!r.dirty) {
        r.dirty = true;
        dirty_.push_back(run_id);
      }
    });
  }
  run.to_launch.clear();
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

void Engine::Emit(ActiveRun& run, std::string_view type, json::Document data, int64_t now_ms) {
  core::EvolveRun(run.state, type, data,
                  core::EventMeta{0, run.state.stream_version + 1, now_ms, "system"},
                  run.state.org, run.state.id);
  core::PendingEvent e;
  e.type = std::string(type);
  e.data = json::Serialize(data);
  e.parsed = std::make_shared<const json::Document>(std::move(data));
  run.pending.push_back(std::move(e));
}

namespace {

json::Document StepData(const std::string& step_id, int attempt) {
  json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("step_id", json::String(step_id, a), a);
  d.AddMember("attempt", attempt, a);
  return d;
}

}  // namespace

void Engine::EndAttempt(ActiveRun& run, const StepResult& result, int64_t now_ms) {
  const StepRun* s = run.state.FindStep(result.step_id);
  if (s == nullptr || s->status != StepStatus::kRunning || s->attempt != result.attempt) return;
  json::Document d = StepData(result.step_id, result.attempt);
  auto& a = d.GetAllocator();
  if (result.ok) {
    auto output = json::Parse(result.output.empty() ? "null" : result.output);
    json::Value value;
    if (output.ok()) value.CopyFrom(*output, a);
    d.AddMember("output", value, a);
    return Emit(run, core::kStepCompleted, std::move(d), now_ms);
  }
  d.AddMember("error", json::String(result.error, a), a);
  const core::PlannedStep* planned = run.plan->Find(result.step_id);
  core::RetryDecision retry = core::DecideRetry(planned->retry, result.attempt);
  if (!retry.retry) return Emit(run, core::kStepFailed, std::move(d), now_ms);
  d.AddMember("retry_at", json::String(core::FormatRfc3339Millis(now_ms + retry.delay_ms), a), a);
  Emit(run, core::kStepRetrying, std::move(d), now_ms);
}

void Engine::StartAttempt(ActiveRun& run, size_t step_index, int64_t now_ms) {
  const core::PlannedStep& planned = run.plan->steps[step_index];
  const StepRun* s = run.state.FindStep(planned.id);
  if (s == nullptr) return;
  const int attempt = s->attempt + 1;
  auto fail = [&](std::string error) {
    Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
    EndAttempt(run, {planned.id, attempt, false, "", std::move(error)}, now_ms);
  };
  json::Document context = RunContext(run.state);
  const StepKind kind = KindOf(planned.type);
  if (kind == StepKind::kExternal) {
    // Waits for an external worker.
    return Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
  }
  auto rendered = core::RenderTemplates(*planned.config, context);
  if (!rendered.ok()) return fail(rendered.status().message());
  switch (kind) {
    case StepKind::kCondition: {
      auto output = EvaluateCondition(*rendered, context);
      if (!output.ok()) return fail(output.status().message());
      Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
      return EndAttempt(run, {planned.id, attempt, true, *output, ""}, now_ms);
    }
    case StepKind::kWait: {
      auto deadline = WaitDeadline(*rendered, now_ms);
      if (!deadline.ok()) return fail(deadline.status().message());
      json::Document d = StepData(planned.id, attempt);
      std::string until = core::FormatRfc3339Millis(*deadline);
      if (*deadline <= now_ms) {
        Emit(run, core::kStepStarted, std::move(d), now_ms);
        return EndAttempt(run, {planned.id, attempt, true, R"({"waited_until":")" + until + "\"}", ""},
                          now_ms);
      }
      d.AddMember("wake_at", json::String(until, d.GetAllocator()), d.GetAllocator());
      return Emit(run, core::kStepStarted, std::move(d), now_ms);
    }
    case StepKind::kHttp: {
      auto call = HttpCallOf(planned.type, *rendered, planned.timeout_ms);
      if (!call.ok()) return fail(call.status().message());
      Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
      run.to_launch.emplace_back(planned.id, std::move(*call));
      return;
    }
    case StepKind::kScript:
      return fail(options_.allow_scripts
                      ? "script steps are not executed by this version of the engine"
                      : "script steps need a server started with --allow-scripts");
    case StepKind::kLoop:
      return fail("loop steps are not executed by this version of the engine");
    case StepKind::kExternal:
      return;
  }
}

void Engine::Advance(ActiveRun& run) {
  if (run.appending || core::IsTerminal(run.state.status)) return;
  const int64_t now = NowMs();
  if (now < run.not_before_ms) return;
  if (!run.plan) {
    auto plan = PlanOf(run.state);
    if (!plan.ok()) {
      json::Document d(rapidjson::kObjectType);
      d.AddMember("error", json::String("the run's workflow version cannot be read: " +
                                            plan.status().message(), d.GetAllocator()),
                  d.GetAllocator());
      Emit(run, core::kRunFailed, std::move(d), now);
    } else {
      run.plan = *plan;
    }
  }
  if (run.plan) {
    // Finished attempts first, then due timers.
    std::vector<StepResult> results;
    results.swap(run.results);
    for (const StepResult& r : results) EndAttempt(run, r, now);
    for (size_t i = 0; i < run.plan->steps.size(); ++i) {
      const StepRun* s = run.state.FindStep(run.plan->steps[i].id);
      if (s == nullptr || s->status != StepStatus::kRunning) continue;
      if (s->retry_at_ms > 0 && s->retry_at_ms <= now) {
        StartAttempt(run, i, now);
      } else if (s->wake_at_ms > 0 && s->wake_at_ms <= now) {
        EndAttempt(run, {s->step_id, s->attempt, true,
                         R"({"waited_until":")" + core::FormatRfc3339Millis(s->wake_at_ms) + "\"}", ""},
                   now);
      }
    }
    if (run.state.status == RunStatus::kPending) {
      if (TakeSlot(run)) Emit(run, core::kRunStarted, json::Document(rapidjson::kObjectType), now);
    }
    // Decisions that follow from one another without waiting go out in one append.
    for (size_t round = 0; round <= run.plan->steps.size() + 1; ++round) {
      if (run.state.status != RunStatus::kRunning) break;
      core::RunDecision d = core::DecideNext(*run.plan, run.state);
      for (const core::SkipDecision& skip : d.skip) {
        json::Document data(rapidjson::kObjectType);
        auto& a = data.GetAllocator();
        data.AddMember("step_id", json::String(run.plan->steps[skip.step].id, a), a);
        data.AddMember("reason", json::String(skip.reason, a), a);
        Emit(run, core::kStepSkipped, std::move(data), now);
      }
      const size_t before = run.pending.size();
      for (size_t i : d.start) StartAttempt(run, i, now);
      if (d.finish) {
        json::Document data(rapidjson::kObjectType);
        if (d.status == RunStatus::kFailed) {
          data.AddMember("error", json::String(d.error, data.GetAllocator()), data.GetAllocator());
        }
        Emit(run, d.status == RunStatus::kFailed ? core::kRunFailed : core::kRunCompleted,
             std::move(data), now);
        break;
      }
      // Another round only when a step ended at once (a condition, a wait already due).
      bool ended_at_once = false;
      for (size_t i = before; i < run.pending.size(); ++i) {
        const std::string& type = run.pending[i].type;
        if (type != core::kStepStarted) ended_at_once = true;
      }
      if (!ended_at_once && d.skip.empty()) break;
    }
  }
  if (run.pending.empty()) return;
  run.appending = true;
  std::weak_ptr<Inbox> weak = inbox_;
  std::string run_id = run.state.id;
  commands_.AppendRunEvents(
      run.state.org, run_id, run.committed_version, std::move(run.pending),
      run.last_position > 0 ? std::optional<events::Position>(run.last_position) : std::nullopt,
      [weak, run_id](StatusOr<events::AppendResult> result) {
        auto inbox = weak.lock();
        if (!inbox) return;
        std::lock_guard<std::mutex> lock(inbox->mu);
        inbox->appended.emplace_back(run_id, std::move(result));
        inbox->Wake();
      });
  run.pending.clear();
}

}  // namespace ledgerflow::engine
