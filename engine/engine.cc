#include "engine/engine.h"

#include <chrono>
#include <deque>

#include "core/templating.h"
#include "core/time_format.h"
#include "engine/engine_metrics.h"
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

constexpr int64_t kDefaultScriptTimeoutMs = 60'000;

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
  events::Position seen = 0;   // the last position of the groups observed

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
  // HTTP steps (or loop items) recorded as started in the append in flight: launched
  // once it commits.
  struct Launch {
    std::string step_id;
    int index = -1;
    HttpCall call;
    std::shared_ptr<const json::Document> config;  // rendered: expect_status
  };
  std::vector<Launch> to_launch;
  struct ScriptLaunch {
    std::string step_id;
    std::string command;
    int64_t timeout_ms = 0;
  };
  std::vector<ScriptLaunch> scripts_to_launch;
  std::map<std::string, uint64_t> scripts;  // step id -> script running
  std::map<std::string, uint64_t> calls;  // step id -> HTTP call in flight
  std::vector<StepResult> results;        // finished attempts not yet recorded
  std::vector<core::PendingEvent> pending;  // decided in this Advance
  // Counted once the append in flight commits (a refused append counts nothing).
  std::vector<std::function<void()>> on_commit;
  int64_t not_before_ms = 0;                // after a failed append: back off
  bool reload_after_append = false;         // another writer's event came meanwhile
};

Engine::Engine(events::EventStore& store, projections::ProjectionRunner& runner,
               const projections::WorkflowProjection& workflows,
               const projections::RunProjection& runs, service::RunService& commands,
               EngineOptions options)
    : store_(store), runner_(runner), workflows_(workflows), runs_(runs), commands_(commands),
      options_(options), inbox_(std::make_shared<Inbox>()), http_(std::make_unique<HttpCalls>()),
      scripts_(std::make_unique<ScriptRuns>()) {
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
  if (queue.empty()) waiting_.erase(key);
  ++running;
  run.holds_slot = true;
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
  const core::PlannedStep* planned = run.plan->Find(result.step_id);
  std::string type(StepTypeLabel(planned->type));
  auto count = [&run, type](const char* outcome, double seconds) {
    run.on_commit.push_back([type, outcome, seconds] {
      EngineMetrics& m = EngineMetrics::Get();
      m.step_attempts.With({{"type", type}, {"outcome", outcome}}).Add();
      if (seconds >= 0) m.step_seconds.With({{"type", type}}).Observe(seconds);
    });
  };
  if (result.ok) {
    count("completed", static_cast<double>(now_ms - s->started_at_ms) / 1000.0);
    auto output = json::Parse(result.output.empty() ? "null" : result.output);
    json::Value value;
    if (output.ok()) value.CopyFrom(*output, a);
    d.AddMember("output", value, a);
    return Emit(run, core::kStepCompleted, std::move(d), now_ms);
  }
  d.AddMember("error", json::String(result.error, a), a);
  core::RetryDecision retry = core::DecideRetry(planned->retry, result.attempt);
  count(retry.retry ? "retrying" : "failed", -1);
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
    EndAttempt(run, {planned.id, attempt, -1, false, "", std::move(error)}, now_ms);
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
      return EndAttempt(run, {planned.id, attempt, -1, true, *output, ""}, now_ms);
    }
    case StepKind::kWait: {
      auto deadline = WaitDeadline(*rendered, now_ms);
      if (!deadline.ok()) return fail(deadline.status().message());
      json::Document d = StepData(planned.id, attempt);
      std::string until = core::FormatRfc3339Millis(*deadline);
      if (*deadline <= now_ms) {
        Emit(run, core::kStepStarted, std::move(d), now_ms);
        return EndAttempt(run, {planned.id, attempt, -1, true,
                                R"({"waited_until":")" + until + "\"}", ""},
                          now_ms);
      }
      d.AddMember("wake_at", json::String(until, d.GetAllocator()), d.GetAllocator());
      return Emit(run, core::kStepStarted, std::move(d), now_ms);
    }
    case StepKind::kHttp: {
      auto call = HttpCallOf(planned.type, *rendered, planned.timeout_ms);
      if (!call.ok()) return fail(call.status().message());
      Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
      run.to_launch.push_back({planned.id, -1, std::move(*call),
                               std::make_shared<const json::Document>(std::move(*rendered))});
      return;
    }
    case StepKind::kScript: {
      if (!options_.allow_scripts) return fail("script steps need a server started with --allow-scripts");
      auto command = json::GetString(*rendered, "command");
      if (!command || command->empty()) return fail("the script step has no command");
      int64_t timeout_ms = planned.timeout_ms > 0 ? planned.timeout_ms : kDefaultScriptTimeoutMs;
      Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
      run.scripts_to_launch.push_back({planned.id, *command, timeout_ms});
      return;
    }
    case StepKind::kLoop:
      Emit(run, core::kStepStarted, StepData(planned.id, attempt), now_ms);
      return NextIteration(run, step_index, now_ms);
    case StepKind::kExternal:
      return;
  }
}

void Engine::NextIteration(ActiveRun& run, size_t step_index, int64_t now_ms) {
  const core::PlannedStep& planned = run.plan->steps[step_index];
  StepRun* s = run.state.FindStep(planned.id);
  if (s == nullptr) return;
  const int attempt = s->attempt;
  auto fail = [&](const std::string& error) {
    EndAttempt(run, {planned.id, attempt, -1, false, "", error}, now_ms);
  };
  json::Document context = RunContext(run.state);
  auto& a = context.GetAllocator();
  // The items, typed: "{{input.list}}" renders to the list itself.
  json::Document holder(rapidjson::kObjectType);
  json::Value items_spec;
  if (const json::Value* items = json::Find(*planned.config, "items")) {
    items_spec.CopyFrom(*items, holder.GetAllocator());
  }
  holder.AddMember("items", items_spec, holder.GetAllocator());
  auto rendered_items = core::RenderTemplates(holder, context);
  if (!rendered_items.ok()) return fail(rendered_items.status().message());
  const json::Value& items = (*rendered_items)["items"];
  if (!items.IsArray()) {
    return fail(std::string("'items' must be a list, got ") + json::TypeName(items));
  }
  const json::Value* inner = json::Find(*planned.config, "step");
  std::string type = inner ? json::GetString(*inner, "type").value_or("") : "";
  const json::Value* inner_config = inner ? json::Find(*inner, "config") : nullptr;
  static const json::Value kEmpty(rapidjson::kObjectType);
  const StepKind kind = KindOf(type);
  context.AddMember("item", json::Value(), a);
  context.AddMember("index", 0, a);
  while (s->iterations.size() < items.Size()) {
    const size_t index = s->iterations.size();
    context["item"].CopyFrom(items[static_cast<rapidjson::SizeType>(index)], a);
    context["index"].SetInt64(static_cast<int64_t>(index));
    auto rendered = core::RenderTemplates(inner_config ? *inner_config : kEmpty, context);
    const std::string where = "item " + std::to_string(index) + ": ";
    if (!rendered.ok()) return fail(where + rendered.status().message());
    if (kind == StepKind::kCondition) {
      auto output = EvaluateCondition(*rendered, context);
      if (!output.ok()) return fail(where + output.status().message());
      EndIteration(run, {planned.id, attempt, static_cast<int>(index), true, *output, ""}, now_ms);
      return;  // EndIteration goes on with the next item
    }
    if (kind != StepKind::kHttp) {
      return fail("a loop runs http_request, webhook or condition steps, not '" + type + "'");
    }
    auto call = HttpCallOf(type, *rendered, planned.timeout_ms);
    if (!call.ok()) return fail(where + call.status().message());
    run.to_launch.push_back({planned.id, static_cast<int>(index), std::move(*call),
                             std::make_shared<const json::Document>(std::move(*rendered))});
    return;
  }
  std::string output = "[";
  for (size_t i = 0; i < s->iterations.size(); ++i) {
    if (i > 0) output += ",";
    output += s->iterations[i];
  }
  output += "]";
  EndAttempt(run, {planned.id, attempt, -1, true, output, ""}, now_ms);
}

void Engine::EndIteration(ActiveRun& run, const StepResult& result, int64_t now_ms) {
  const StepRun* s = run.state.FindStep(result.step_id);
  if (s == nullptr || s->status != StepStatus::kRunning || s->attempt != result.attempt ||
      static_cast<size_t>(result.index) != s->iterations.size()) {
    return;  // stale: another attempt, or an item already recorded
  }
  if (!result.ok) {
    return EndAttempt(run, {result.step_id, result.attempt, -1, false, "",
                            "item " + std::to_string(result.index) + ": " + result.error},
                      now_ms);
  }
  json::Document d = StepData(result.step_id, result.attempt);
  auto& a = d.GetAllocator();
  d.AddMember("index", result.index, a);
  auto output = json::Parse(result.output.empty() ? "null" : result.output);
  json::Value value;
  if (output.ok()) value.CopyFrom(*output, a);
  d.AddMember("output", value, a);
  Emit(run, core::kLoopIterationCompleted, std::move(d), now_ms);
  auto it = run.plan->index.find(result.step_id);
  if (it != run.plan->index.end()) NextIteration(run, it->second, now_ms);
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
      run.on_commit.push_back(
          [] { EngineMetrics::Get().runs_finished.With({{"status", "failed"}}).Add(); });
    } else {
      run.plan = *plan;
    }
  }
  if (run.plan) {
    // Finished attempts first, then due timers.
    std::vector<StepResult> results;
    results.swap(run.results);
    for (const StepResult& r : results) {
      if (r.index >= 0) {
        EndIteration(run, r, now);
      } else {
        EndAttempt(run, r, now);
      }
    }
    for (size_t i = 0; i < run.plan->steps.size(); ++i) {
      const StepRun* s = run.state.FindStep(run.plan->steps[i].id);
      if (s == nullptr || s->status != StepStatus::kRunning) continue;
      if (s->retry_at_ms > 0 && s->retry_at_ms <= now) {
        StartAttempt(run, i, now);
      } else if (s->wake_at_ms > 0 && s->wake_at_ms <= now) {
        EndAttempt(run, {s->step_id, s->attempt, -1, true,
                         R"({"waited_until":")" + core::FormatRfc3339Millis(s->wake_at_ms) + "\"}", ""},
                   now);
      }
    }
    if (run.state.status == RunStatus::kPending) {
      if (TakeSlot(run)) {
        Emit(run, core::kRunStarted, json::Document(rapidjson::kObjectType), now);
        run.on_commit.push_back([] { EngineMetrics::Get().runs_started.Add(); });
      }
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
        run.on_commit.push_back([status = d.status] {
          EngineMetrics::Get().runs_finished.With({{"status", core::RunStatusName(status)}}).Add();
        });
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
