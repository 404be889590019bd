// The one place where workflow commands are decided: load the state from the read
// model, decide (core/), append with the expected stream version, answer once the
// projection has applied the events. Commands answer asynchronously on the store's
// writer thread (so an HTTP worker never blocks on a sync); queries are synchronous.
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "core/definition.h"
#include "core/workflow.h"
#include "events/event_store.h"
#include "projections/run_stats_projection.h"
#include "projections/workflow_projection.h"
#include "service/caller.h"
#include "service/retry_worker.h"

namespace ledgerflow::service {

// The workflow as the API shows it after a command (empty json after a delete).
using WorkflowReply = std::function<void(StatusOr<projections::WorkflowView>)>;

struct CreateWorkflowInput {
  json::Document definition;
  std::optional<std::string> name;
  std::string description;
  std::string project_id;
  std::string trigger_type = "manual";
  std::vector<std::string> tags;
  std::string status = "active";
  std::string change_summary;
};

// An Idempotency-Key on a create, with the fingerprint of the request's body.
struct IdempotentRequest {
  std::string key;
  std::string fingerprint;
};

// A create's answer, and whether it is a retry's (the workflow an earlier request made).
using CreateReply = std::function<void(StatusOr<projections::WorkflowView>, bool replayed)>;

// What GET /api/workflows/{id}/metadata answers: the version history in numbers and
// the runs' statistics.
struct WorkflowMetadata {
  std::string workflow_id;
  int64_t current_version = 0;
  size_t version_count = 0;
  int64_t rollback_count = 0;
  std::set<std::string> authors;  // key ids that wrote a version
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> last_version_at_ms;
  projections::WorkflowRunStats runs;
};

struct DiffResult {
  json::Document diff;  // RFC 6902 ops
  std::string summary;
  int64_t v1 = 0;
  int64_t v2 = 0;
};

class WorkflowService {
 public:
  WorkflowService(events::EventStore& store, const projections::WorkflowProjection& workflows,
                  const projections::RunStatsProjection& run_stats,
                  core::ValidationOptions validation)
      : store_(store), workflows_(workflows), run_stats_(run_stats), validation_(validation) {}

  const core::ValidationOptions& validation() const { return validation_; }

  // Ends the retries of commands: call before the event store stops. A retry asked
  // for afterwards is answered with Unavailable.
  void StopRetries() { retries_.Stop(); }

  // Commands. `reply` gets the workflow as it stands after the command, on the
  // store's writer thread (or at once on the caller's when nothing was appended).
  void Create(const Caller& caller, CreateWorkflowInput input, WorkflowReply reply);
  // A create under an Idempotency-Key (per organisation, kept for good): the first
  // request claims the key for a new workflow id (an event of its own stream), then
  // creates it; a retry with the same fingerprint answers that workflow as it was
  // created (finishing the creation if the first request died in between), another
  // fingerprint is Conflict "idempotency_key_reused", and so is a retry once the
  // workflow has been deleted. Claiming waits for one group commit on the caller's
  // thread.
  void CreateIdempotent(const Caller& caller, CreateWorkflowInput input,
                        IdempotentRequest idempotency, CreateReply reply);
  void Update(const Caller& caller, std::string id, json::Document definition,
              std::string change_summary, std::optional<int64_t> expected_version,
              WorkflowReply reply);
  void Patch(const Caller& caller, std::string id, json::Document merge_patch,
             std::optional<int64_t> expected_version, WorkflowReply reply);
  void SetStatus(const Caller& caller, std::string id, std::string status,
                 std::optional<int64_t> expected_version, WorkflowReply reply);
  void Delete(const Caller& caller, std::string id, std::optional<int64_t> expected_version,
              WorkflowReply reply);
  void Rollback(const Caller& caller, std::string id, int64_t version,
                std::string change_summary, std::optional<int64_t> expected_version,
                WorkflowReply reply);

  // Queries. NotFound for absent, deleted and other orgs' workflows.
  StatusOr<core::WorkflowState> Get(const Caller& caller, std::string_view id) const;
  StatusOr<projections::WorkflowView> GetView(const Caller& caller, std::string_view id) const;
  StatusOr<projections::WorkflowView> GetAsOf(const Caller& caller, std::string_view id,
                                              int64_t at_ms) const;
  StatusOr<projections::WorkflowList> List(const Caller& caller,
                                           const projections::WorkflowListQuery& query) const;
  StatusOr<projections::VersionList> Versions(const Caller& caller, std::string_view id,
                                              size_t limit, size_t offset) const;
  StatusOr<core::VersionRecord> Version(const Caller& caller, std::string_view id,
                                        int64_t version) const;
  StatusOr<DiffResult> Diff(const Caller& caller, std::string_view id, int64_t v1,
                            int64_t v2) const;
  // The version history in numbers (from every version's record, without definitions)
  // and the runs' statistics as the run_stats read model keeps them: no run is read.
  StatusOr<WorkflowMetadata> Metadata(const Caller& caller, std::string_view id) const;

 private:
  using Decision = std::function<StatusOr<std::vector<core::PendingEvent>>(
      const core::WorkflowState&)>;

  // Creates workflow `id`, or answers it when it exists already (a claimed key's).
  void FinishClaimed(const Caller& caller, std::string id,
                     std::shared_ptr<CreateWorkflowInput> input, CreateReply reply);
  // The key was claimed before: the same body answers the workflow created under it,
  // another body is 409 idempotency_key_reused.
  void AnswerClaimedBefore(const Caller& caller, const std::string& claim_stream,
                           const std::string& fingerprint,
                           std::shared_ptr<CreateWorkflowInput> shared_input, CreateReply reply);
  void CreateWithId(const Caller& caller, std::string id,
                    std::shared_ptr<CreateWorkflowInput> input, WorkflowReply reply);
  // Loads, decides, appends; on a concurrent change of the stream, decides again
  // against the new state (up to a few times): an If-Match check inside the decision
  // then answers 409 by itself.
  // `is_new`: the id was just generated, so there is no state to load.
  void Execute(Caller caller, std::string id, std::shared_ptr<Decision> decide,
               WorkflowReply reply, int attempts_left, bool is_new = false);

  // The state a command decides on: the read model's, or the workflow folded from the
  // log when the log holds events of it that the read model has not applied yet (a
  // group committed a moment ago, or one whose read-model write failed), so that no
  // command decides, or checks If-Match, against a stale state. Sets `*from_log`.
  StatusOr<core::WorkflowState> LoadForCommand(const Caller& caller, const std::string& id,
                                               bool* from_log) const;

  events::EventStore& store_;
  const projections::WorkflowProjection& workflows_;
  const projections::RunStatsProjection& run_stats_;
  core::ValidationOptions validation_;
  RetryWorker retries_;
};

}  // namespace ledgerflow::service
