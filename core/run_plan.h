// What a run of one definition version must do, and the pure scheduling decisions
// over it: which steps are ready, which are skipped, when the run is finished and how,
// and what a step's retry policy says after a failed attempt. Immutable once made:
// a RunPlan is shared between threads read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/run.h"
#include "core/status.h"

namespace ledgerflow::core {

struct RetryPolicy {
  int max_attempts = 1;
  double backoff_seconds = 1;
  double backoff_multiplier = 2;
};

// A condition's branch that a step belongs to: it runs only if `condition` (an index
// into RunPlan::steps) produced `when`.
struct BranchGate {
  size_t condition = 0;
  bool when = true;
};

struct PlannedStep {
  std::string id;
  std::string type;
  std::shared_ptr<const json::Document> config;  // {} when the step has none
  // Indices of the steps it waits for: depends_on, the previous stage (staged form),
  // and the conditions whose branches name it.
  std::vector<size_t> depends_on;
  std::vector<BranchGate> gates;
  RetryPolicy retry;
  int64_t timeout_ms = 0;  // per attempt; 0: the type's default
};

struct RunPlan {
  std::vector<PlannedStep> steps;  // document order (as RunState::steps)
  std::vector<size_t> order;       // a topological order of `steps`
  int max_concurrent_runs = 0;     // the definition's; 0: the server's default
  std::unordered_map<std::string, size_t> index;

  const PlannedStep* Find(std::string_view id) const;
};

// The plan of a definition that passed ValidateDefinition. InvalidArgument when it
// has a cycle or names unknown steps (a definition that did not validate).
StatusOr<std::shared_ptr<const RunPlan>> MakeRunPlan(const json::Value& definition);

struct SkipDecision {
  size_t step = 0;
  std::string reason;
};

struct RunDecision {
  std::vector<size_t> start;         // pending steps whose dependencies are met
  std::vector<SkipDecision> skip;    // pending steps that will never run
  bool finish = false;               // the run is over: record `status`
  RunStatus status = RunStatus::kCompleted;
  std::string error;                 // for a failed run
};

// The next decisions for a running run (nothing for a finished one). Skips are decided in topological order, so a
// skip that makes later steps skippable is followed in the same decision; `start`
// holds no step that `skip` holds. Once a step has failed for good no step starts,
// and the run finishes failed when nothing is running any more.
RunDecision DecideNext(const RunPlan& plan, const RunState& state);

struct RetryDecision {
  bool retry = false;
  int64_t delay_ms = 0;  // before the next attempt
};

// After attempt `attempt` (1-based) failed: whether another is allowed, and when.
// The n-th retry waits backoff_seconds * backoff_multiplier^(n-1).
RetryDecision DecideRetry(const RetryPolicy& policy, int attempt);

// The boolean a completed condition step recorded ({"result": bool}); false otherwise.
bool ConditionResult(const StepRun& step);

}  // namespace ledgerflow::core
