// The run aggregate: a run's state folded from the events of its stream (`run-<id>`).
// Every transition is an event; EvolveRun applies one. Pure: times and ids arrive in
// the events. Plain values, not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "core/workflow.h"

namespace ledgerflow::core {

// Stored event type names: written to disk and never changed.
inline constexpr std::string_view kRunDispatched = "run.dispatched";
inline constexpr std::string_view kRunStarted = "run.started";
inline constexpr std::string_view kStepStarted = "run.step_started";
inline constexpr std::string_view kStepCompleted = "run.step_completed";
inline constexpr std::string_view kStepRetrying = "run.step_retrying";
inline constexpr std::string_view kStepFailed = "run.step_failed";
inline constexpr std::string_view kStepSkipped = "run.step_skipped";
// One item of a loop step done: {step_id, attempt, index, output}.
inline constexpr std::string_view kLoopIterationCompleted = "run.loop_iteration_completed";
inline constexpr std::string_view kRunCompleted = "run.completed";
inline constexpr std::string_view kRunFailed = "run.failed";

inline constexpr std::string_view kRunIdPrefix = "run_";

// "run-<id>", the stream of one run.
std::string RunStream(std::string_view run_id);
// The run id of a run stream's name; empty when `stream` is not one.
std::string_view RunIdOfStream(std::string_view stream);

enum class RunStatus { kPending, kRunning, kPaused, kCompleted, kFailed, kCancelled };
enum class StepStatus { kPending, kRunning, kCompleted, kFailed, kSkipped, kCancelled };

const char* RunStatusName(RunStatus status);
const char* StepStatusName(StepStatus status);
std::optional<RunStatus> ParseRunStatus(std::string_view name);
std::optional<StepStatus> ParseStepStatus(std::string_view name);
bool IsTerminal(RunStatus status);

struct StepRun {
  std::string step_id;
  StepStatus status = StepStatus::kPending;
  int attempt = 0;             // attempts started so far
  std::string output;          // compact JSON; empty when none
  std::string error;
  std::string skip_reason;
  int64_t started_at_ms = 0;   // first attempt's start
  int64_t completed_at_ms = 0;
  int64_t wake_at_ms = 0;      // a running wait step's deadline (0: none)
  int64_t retry_at_ms = 0;     // a running step between attempts: when the next starts
  // A loop step's outputs of the items done so far, in order (compact JSON each). Kept
  // across attempts: a retried loop goes on from the item that failed.
  std::vector<std::string> iterations;
};

struct RunState {
  std::string id;
  std::string org;
  std::string workflow_id;
  int64_t workflow_version = 0;
  RunStatus status = RunStatus::kPending;
  std::string trigger;
  std::string reason;
  std::string actor;
  std::string input_data = "{}";  // compact JSON object
  std::string baseline_run_id;
  std::string idempotency_key;
  std::string request_fingerprint;
  std::string error;
  uint64_t stream_version = 0;
  uint64_t dispatched_position = 0;
  uint64_t last_position = 0;  // the run's newest event in the log
  int64_t created_at_ms = 0;
  int64_t started_at_ms = 0;
  int64_t completed_at_ms = 0;
  std::vector<StepRun> steps;  // the pinned definition's steps, in document order

  bool exists() const { return stream_version > 0; }
  StepRun* FindStep(std::string_view step_id);
  const StepRun* FindStep(std::string_view step_id) const;
  // Seconds from start to completion; nullopt until both are known.
  std::optional<double> duration_seconds() const;
};

// What a dispatch records; `steps` are the ids of the pinned version's steps.
struct RunDispatch {
  std::string workflow_id;
  int64_t workflow_version = 0;
  const json::Value* input_data = nullptr;  // an object; nullptr for {}
  std::string trigger = "manual";
  std::string reason;
  std::string baseline_run_id;
  std::string idempotency_key;
  std::string request_fingerprint;
  std::vector<std::string> steps;
};

// The run.dispatched event of a new run.
PendingEvent DispatchedEvent(const RunDispatch& dispatch);

// Applies one event of a run stream to `state` (unknown types are ignored, so that old
// code folds newer logs). `org` and the run id come from the envelope.
void EvolveRun(RunState& state, std::string_view type, const json::Value& data,
               const EventMeta& meta, std::string_view org, std::string_view run_id);

// The whole state as JSON, and back: how the run read model stores it.
std::string EncodeRunState(const RunState& state);
StatusOr<RunState> DecodeRunState(std::string_view text);

}  // namespace ledgerflow::core
