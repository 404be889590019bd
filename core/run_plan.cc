#include "core/run_plan.h"

#include <algorithm>
#include <cmath>

#include "core/definition.h"

namespace ledgerflow::core {
namespace {

RetryPolicy ReadRetry(const json::Value* step) {
  RetryPolicy policy;
  const json::Value* retry = step ? json::Find(*step, "retry") : nullptr;
  if (retry == nullptr || !retry->IsObject()) return policy;
  if (auto n = json::GetInt(*retry, "max_attempts")) policy.max_attempts = static_cast<int>(*n);
  if (const json::Value* v = json::Find(*retry, "backoff_seconds"); v && v->IsNumber()) {
    policy.backoff_seconds = v->GetDouble();
  }
  if (const json::Value* v = json::Find(*retry, "backoff_multiplier"); v && v->IsNumber()) {
    policy.backoff_multiplier = v->GetDouble();
  }
  return policy;
}

int64_t ReadTimeoutMs(const json::Value* step, const json::Value* config) {
  for (const json::Value* holder : {step, config}) {
    const json::Value* v = holder ? json::Find(*holder, "timeout_seconds") : nullptr;
    if (v && v->IsNumber() && v->GetDouble() > 0) {
      return static_cast<int64_t>(std::ceil(v->GetDouble() * 1000));
    }
  }
  return 0;
}

void AddUnique(std::vector<size_t>& list, size_t value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

}  // namespace

const PlannedStep* RunPlan::Find(std::string_view id) const {
  auto it = index.find(std::string(id));
  return it == index.end() ? nullptr : &steps[it->second];
}

StatusOr<std::shared_ptr<const RunPlan>> MakeRunPlan(const json::Value& definition) {
  auto plan = std::make_shared<RunPlan>();
  DefinitionView view = ViewDefinition(definition);
  plan->steps.reserve(view.steps.size());
  for (const StepRef& ref : view.steps) {
    if (!plan->index.emplace(ref.id, plan->steps.size()).second) {
      return InvalidArgument("step '" + ref.id + "' appears twice");
    }
    PlannedStep step;
    step.id = ref.id;
    step.type = ref.type;
    auto config = std::make_shared<json::Document>(rapidjson::kObjectType);
    if (ref.config != nullptr) config->CopyFrom(*ref.config, config->GetAllocator());
    step.config = std::move(config);
    step.retry = ReadRetry(ref.step);
    step.timeout_ms = ReadTimeoutMs(ref.step, ref.config);
    plan->steps.push_back(std::move(step));
  }
  for (size_t i = 0; i < view.steps.size(); ++i) {
    const StepRef& ref = view.steps[i];
    for (const auto* list : {&ref.depends_on, &ref.implicit_depends_on}) {
      for (const std::string& dep : *list) {
        auto it = plan->index.find(dep);
        if (it == plan->index.end()) {
          return InvalidArgument("step '" + ref.id + "' depends on unknown step '" + dep + "'");
        }
        AddUnique(plan->steps[i].depends_on, it->second);
      }
    }
    if (ref.type != "condition" || ref.config == nullptr) continue;
    for (auto [branch, when] : {std::pair{"if_true", true}, std::pair{"if_false", false}}) {
      const json::Value* targets = json::Find(*ref.config, branch);
      if (targets == nullptr || !targets->IsArray()) continue;
      for (const json::Value& target : targets->GetArray()) {
        if (!target.IsString()) continue;
        auto it = plan->index.find(target.GetString());
        if (it == plan->index.end()) {
          return InvalidArgument("condition '" + ref.id + "' names unknown step '" +
                                 target.GetString() + "'");
        }
        plan->steps[it->second].gates.push_back(BranchGate{i, when});
        AddUnique(plan->steps[it->second].depends_on, i);
      }
    }
  }
  // Kahn's algorithm, taking ready steps in document order.
  std::vector<size_t> waiting(plan->steps.size());
  std::vector<std::vector<size_t>> dependents(plan->steps.size());
  for (size_t i = 0; i < plan->steps.size(); ++i) {
    waiting[i] = plan->steps[i].depends_on.size();
    for (size_t dep : plan->steps[i].depends_on) dependents[dep].push_back(i);
  }
  std::vector<size_t> ready;
  for (size_t i = 0; i < waiting.size(); ++i) {
    if (waiting[i] == 0) ready.push_back(i);
  }
  for (size_t next = 0; next < ready.size(); ++next) {
    plan->order.push_back(ready[next]);
    for (size_t d : dependents[ready[next]]) {
      if (--waiting[d] == 0) ready.push_back(d);
    }
  }
  if (plan->order.size() != plan->steps.size()) {
    return InvalidArgument("the definition's steps form a cycle");
  }
  if (auto limit = json::GetInt(definition, "max_concurrent_runs"); limit && *limit >= 1) {
    plan->max_concurrent_runs = static_cast<int>(std::min<int64_t>(*limit, 1000));
  }
  return std::shared_ptr<const RunPlan>(std::move(plan));
}

bool ConditionResult(const StepRun& step) {
  if (step.status != StepStatus::kCompleted) return false;
  if (step.output == R"({"result":true})") return true;
  if (step.output == R"({"result":false})") return false;
  auto doc = json::Parse(step.output);
  return doc.ok() && doc->IsObject() && json::GetBool(*doc, "result").value_or(false);
}

RunDecision DecideNext(const RunPlan& plan, const RunState& state) {
  RunDecision decision;
  if (IsTerminal(state.status)) return decision;
  std::vector<StepStatus> status(plan.steps.size(), StepStatus::kPending);
  std::vector<const StepRun*> runs(plan.steps.size(), nullptr);
  for (const StepRun& s : state.steps) {
    auto it = plan.index.find(s.step_id);
    if (it == plan.index.end()) continue;
    status[it->second] = s.status;
    runs[it->second] = &s;
  }
  bool running = false;
  const StepRun* failed = nullptr;
  for (size_t i = 0; i < status.size(); ++i) {
    if (status[i] == StepStatus::kRunning) running = true;
    if (status[i] == StepStatus::kFailed && failed == nullptr) failed = runs[i];
  }
  if (failed != nullptr) {
    if (!running) {
      decision.finish = true;
      decision.status = RunStatus::kFailed;
      decision.error = "Step '" + failed->step_id + "' failed: " + failed->error;
    }
    return decision;
  }
  for (size_t i : plan.order) {
    if (status[i] != StepStatus::kPending) continue;
    const PlannedStep& step = plan.steps[i];
    bool all_done = true;
    bool any_ran = false;
    for (size_t dep : step.depends_on) {
      if (status[dep] == StepStatus::kCompleted) {
        any_ran = true;
      } else if (status[dep] != StepStatus::kSkipped) {
        all_done = false;
        break;
      }
    }
    if (!all_done) continue;
    std::string reason;
    for (const BranchGate& gate : step.gates) {
      if (status[gate.condition] == StepStatus::kCompleted && runs[gate.condition] != nullptr &&
          ConditionResult(*runs[gate.condition]) != gate.when) {
        reason = "branch not taken by condition '" + plan.steps[gate.condition].id + "'";
        break;
      }
    }
    if (reason.empty() && !step.depends_on.empty() && !any_ran) {
      reason = "every dependency was skipped";
    }
    if (!reason.empty()) {
      status[i] = StepStatus::kSkipped;
      decision.skip.push_back({i, std::move(reason)});
    } else {
      decision.start.push_back(i);
    }
  }
  if (decision.start.empty() && !running) {
    bool all_ended = std::all_of(status.begin(), status.end(), [](StepStatus s) {
      return s == StepStatus::kCompleted || s == StepStatus::kSkipped;
    });
    if (all_ended) {
      decision.finish = true;
      decision.status = RunStatus::kCompleted;
    }
  }
  return decision;
}

RetryDecision DecideRetry(const RetryPolicy& policy, int attempt) {
  RetryDecision decision;
  if (attempt >= policy.max_attempts) return decision;
  decision.retry = true;
  double seconds =
      policy.backoff_seconds * std::pow(policy.backoff_multiplier, std::max(0, attempt - 1));
  // Bounded so that a hostile multiplier cannot overflow: a day at most.
  seconds = std::min(seconds, 86400.0);
  decision.delay_ms = static_cast<int64_t>(std::llround(seconds * 1000));
  return decision;
}

}  // namespace ledgerflow::core
