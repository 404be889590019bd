// How one run moves on: decisions from core/, step attempts, loop items, and the
// events that record them.
#include "engine/engine.h"

#include "core/templating.h"
#include "core/time_format.h"
#include "engine/engine_metrics.h"
#include "engine/engine_state.h"
#include "engine/step_execution.h"

namespace ledgerflow::engine {

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
