#include "service/run_service.h"

#include <chrono>

#include "core/definition.h"
#include "core/input_schema.h"
#include "events/chain.h"
#include "service/crypto.h"

namespace ledgerflow::service {
namespace {

constexpr size_t kRunIdRandomBytes = 6;  // after 12 hex digits of the dispatch time

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status RunNotFound(std::string_view id) {
  return NotFound("Run '" + std::string(id) + "' not found").WithReason("not_found");
}

Status WorkflowNotFound(std::string_view id) {
  return NotFound("Workflow '" + std::string(id) + "' not found").WithReason("not_found");
}

// A keyed dispatch's run id follows from the key, so that the log's expected-version
// check on the run stream lets exactly one of concurrent first attempts create it.
std::string DerivedRunId(std::string_view org, std::string_view workflow_id,
                         std::string_view key) {
  std::string material = "runs";
  for (std::string_view part : {org, workflow_id, key}) {
    material.push_back('\0');
    material.append(part);
  }
  return std::string(core::kRunIdPrefix) + events::Sha256Hex(material).substr(0, 24);
}

std::vector<events::NewEvent> ToNewEvents(std::vector<core::PendingEvent> decided,
                                          std::optional<events::Position> causation) {
  std::vector<events::NewEvent> out;
  out.reserve(decided.size());
  for (core::PendingEvent& e : decided) {
    out.push_back({std::move(e.type), 1, std::move(e.data), causation, e.parsed != nullptr,
                   std::move(e.parsed)});
  }
  return out;
}

}  // namespace

Status RunService::CheckWorkflow(const Caller& caller, std::string_view workflow_id) const {
  auto state = workflows_.Get(caller.org, workflow_id);
  if (!state.ok()) return state.status();
  if (!state->has_value()) return WorkflowNotFound(workflow_id);
  return Status::Ok();
}

void RunService::Dispatch(const Caller& caller, const std::string& workflow_id,
                          DispatchInput input, DispatchReply reply) {
  auto loaded = workflows_.Get(caller.org, workflow_id);
  if (!loaded.ok()) return reply(loaded.status());
  if (!loaded->has_value()) return reply(WorkflowNotFound(workflow_id));
  const core::WorkflowState& workflow = **loaded;
  if (workflow.status == "paused" || workflow.status == "archived") {
    return reply(Conflict("Workflow '" + workflow_id + "' is " + workflow.status +
                          ": it accepts no dispatch")
                     .WithReason("workflow_not_runnable"));
  }
  auto definition = json::Parse(workflow.definition);
  if (!definition.ok()) return reply(Internal("stored definition does not parse"));
  if (Status valid = core::ValidateRunInput(json::Find(*definition, "inputs"), input.input_data);
      !valid.ok()) {
    return reply(valid);
  }

  std::string run_id;
  bool derived = false;
  if (!input.idempotency_key.empty() && !input.force_new_run) {
    auto named = runs_.FindByIdempotencyKey(caller.org, workflow_id, input.idempotency_key);
    if (!named.ok()) return reply(named.status());
    if (named->has_value()) return reply(Deduplicate(caller, **named, input.fingerprint));
    run_id = DerivedRunId(caller.org, workflow_id, input.idempotency_key);
    derived = true;
  } else {
    run_id = std::string(core::kRunIdPrefix) + TimeOrderedHex(NowMs(), kRunIdRandomBytes);
  }

  core::RunDispatch dispatch;
  dispatch.workflow_id = workflow_id;
  dispatch.workflow_version = workflow.version;
  dispatch.input_data = &input.input_data;
  dispatch.trigger = input.trigger;
  dispatch.reason = input.reason;
  dispatch.baseline_run_id = input.baseline_run_id;
  dispatch.idempotency_key = input.idempotency_key;
  dispatch.request_fingerprint = input.fingerprint;
  for (const core::StepRef& step : core::ViewDefinition(*definition).steps) {
    dispatch.steps.push_back(step.id);
  }
  Append(caller, std::move(run_id), derived, std::move(dispatch), std::move(reply));
}

void RunService::Append(const Caller& caller, std::string run_id, bool derived_id,
                        core::RunDispatch dispatch, DispatchReply reply) {
  events::AppendRequest request;
  request.stream = core::RunStream(run_id);
  request.expected_version = events::kNoStream;
  request.org = caller.org;
  request.actor = caller.actor;
  request.request_id = caller.request_id;
  std::vector<core::PendingEvent> decided;
  decided.push_back(core::DispatchedEvent(dispatch));
  request.events = ToNewEvents(std::move(decided), std::nullopt);
  store_.AppendAsync(std::move(request), [this, caller, run_id, derived_id,
                                          fingerprint = dispatch.request_fingerprint,
                                          reply](StatusOr<events::AppendResult> r) {
    if (r.ok()) return reply(DispatchResult{run_id, "pending", false});
    if (r.status().code() == StatusCode::kConflict && derived_id) {
      // A concurrent first attempt under the same key created the run.
      return reply(Deduplicate(caller, run_id, fingerprint));
    }
    reply(r.status());
  });
}

StatusOr<DispatchResult> RunService::Deduplicate(const Caller& caller, const std::string& run_id,
                                                 const std::string& fingerprint) const {
  auto run = runs_.Get(caller.org, run_id);
  if (!run.ok()) return run.status();
  if (!run->has_value()) {
    return Conflict("The idempotency key names a run of another organisation")
        .WithReason("idempotency_key_reused");
  }
  if ((*run)->request_fingerprint != fingerprint) {
    return Conflict("The idempotency key was used for another request body (run '" + run_id +
                    "'); use a new key, or force_new_run")
        .WithReason("idempotency_key_reused");
  }
  return DispatchResult{run_id, core::RunStatusName((*run)->status), true};
}

StatusOr<core::RunState> RunService::Get(const Caller& caller, std::string_view run_id) const {
  auto run = runs_.Get(caller.org, run_id);
  if (!run.ok()) return run.status();
  if (!run->has_value()) return RunNotFound(run_id);
  return std::move(**run);
}

StatusOr<projections::RunList> RunService::List(const Caller& caller,
                                                const projections::RunQuery& query) const {
  return runs_.List(caller.org, query);
}

void RunService::AppendRunEvents(const std::string& org, const std::string& run_id,
                                 uint64_t expected_version, std::vector<core::PendingEvent> events,
                                 std::optional<events::Position> causation,
                                 events::AppendCallback done) {
  events::AppendRequest request;
  request.stream = core::RunStream(run_id);
  request.expected_version = expected_version;
  request.org = org;
  request.actor = "system";
  request.request_id = "engine";
  request.events = ToNewEvents(std::move(events), causation);
  store_.AppendAsync(std::move(request), std::move(done));
}

}  // namespace ledgerflow::service
