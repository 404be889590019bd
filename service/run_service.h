// The run commands and queries: dispatch (with idempotency keys and input checks) for
// the API, and the append of run events for the engine, both through the log's
// expected-version check on the run's stream. Queries read the run read model.
// Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/run.h"
#include "events/event_store.h"
#include "projections/run_projection.h"
#include "projections/workflow_projection.h"
#include "service/caller.h"

namespace ledgerflow::service {

struct DispatchInput {
  json::Document input_data{rapidjson::kObjectType};
  std::string trigger = "manual";
  std::string reason;
  std::string baseline_run_id;
  std::string idempotency_key;  // empty: none
  bool force_new_run = false;
  std::string fingerprint;      // of the request body, for the key
};

struct DispatchResult {
  std::string run_id;
  std::string status;       // the run's status now ("pending" for a new run)
  bool deduplicated = false;
};

using DispatchReply = std::function<void(StatusOr<DispatchResult>)>;

class RunService {
 public:
  RunService(events::EventStore& store, const projections::WorkflowProjection& workflows,
             const projections::RunProjection& runs)
      : store_(store), workflows_(workflows), runs_(runs) {}

  // Dispatches a run of the workflow's current version. NotFound for a missing,
  // deleted or another org's workflow; Conflict "workflow_not_runnable" when it is
  // paused or archived; InvalidArgument "invalid_input" when input_data fails
  // definition.inputs. Under an idempotency key (per workflow, kept for good) a retry
  // with the same fingerprint answers the existing run (deduplicated), another
  // fingerprint is Conflict "idempotency_key_reused"; force_new_run skips both and the
  // key names the new run from then on. `reply` runs once the read model shows the run.
  void Dispatch(const Caller& caller, const std::string& workflow_id, DispatchInput input,
                DispatchReply reply);

  // The run of the caller's org; NotFound otherwise.
  StatusOr<core::RunState> Get(const Caller& caller, std::string_view run_id) const;
  StatusOr<projections::RunList> List(const Caller& caller,
                                      const projections::RunQuery& query) const;
  // NotFound unless the workflow is live in the caller's org.
  Status CheckWorkflow(const Caller& caller, std::string_view workflow_id) const;

  // The engine's writes: `events` appended to the run's stream iff it is at
  // `expected_version`, as actor "system", caused by `causation`.
  void AppendRunEvents(const std::string& org, const std::string& run_id,
                       uint64_t expected_version, std::vector<core::PendingEvent> events,
                       std::optional<events::Position> causation, events::AppendCallback done);

 private:
  void Append(const Caller& caller, std::string run_id, bool derived_id,
              core::RunDispatch dispatch, DispatchReply reply);
  // The answer to a keyed dispatch whose key already names `run_id`.
  StatusOr<DispatchResult> Deduplicate(const Caller& caller, const std::string& run_id,
                                       const std::string& fingerprint) const;

  events::EventStore& store_;
  const projections::WorkflowProjection& workflows_;
  const projections::RunProjection& runs_;
};

}  // namespace ledgerflow::service
