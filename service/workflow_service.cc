#include "service/workflow_service.h"

#include <chrono>

#include "core/json_diff.h"
#include "core/workflow_codec.h"
#include "events/chain.h"
#include "service/crypto.h"

namespace ledgerflow::service {
namespace {

// A command on an existing workflow decides on the state it loaded; when another
// command's events reach the log first, it decides again on the new state. Each
// round commits at least one of the contending commands, so this bounds how many
// concurrent writers of one workflow are all answered (with their own result) rather
// than with a conflict.
constexpr int kConflictRetries = 64;
// After the 12 hex digits of the creation time: 48 random bits per millisecond.
constexpr size_t kWorkflowIdRandomBytes = 6;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status WorkflowNotFound(std::string_view id) {
  return NotFound("Workflow '" + std::string(id) + "' not found").WithReason("not_found");
}

}  // namespace

StatusOr<core::WorkflowState> WorkflowService::LoadForCommand(const Caller& caller,
                                                              const std::string& id,
                                                              bool* from_log) const {
  auto loaded = workflows_.Get(caller.org, id);
  if (!loaded.ok()) return loaded.status();
  core::WorkflowState state = loaded->value_or(core::WorkflowState{});
  const std::string stream = core::WorkflowStream(id);
  auto logged = store_.StreamVersion(stream);
  if (!logged.ok()) return logged.status();
  if (*logged <= state.stream_version) return state;
  if (!loaded->has_value()) {
    // No record although the stream exists: another org's id, a deleted workflow, or
    // one the read model missed. The first and last events tell, without reading a
    // history that can be long.
    auto first = store_.ReadStream(stream, 1, 1);
    if (!first.ok()) return first.status();
    if (first->empty() || first->front().org != caller.org) return core::WorkflowState{};
    auto last = store_.ReadStream(stream, *logged, 1);
    if (!last.ok()) return last.status();
    if (last->empty() || last->front().type == core::kWorkflowDeleted) {
      return core::WorkflowState{};
    }
  }
  *from_log = true;
  return projections::WorkflowCaughtUp(store_, caller.org, id, std::move(state));
}

void WorkflowService::Execute(Caller caller, std::string id, std::shared_ptr<Decision> decide,
                              WorkflowReply reply, int attempts_left, bool is_new) {
  core::WorkflowState state;
  bool from_log = false;
  if (!is_new) {
    auto loaded = LoadForCommand(caller, id, &from_log);
    if (!loaded.ok()) return reply(loaded.status());
    state = std::move(*loaded);
  }
  if (state.id.empty()) state.id = id;

  auto decided = (*decide)(state);
  if (!decided.ok()) return reply(decided.status());
  if (decided->empty()) {  // nothing changed
    if (!from_log) return reply(GetView(caller, id));
    return reply(projections::WorkflowView{id, state.version, core::RenderWorkflowObject(state),
                                           state.stream_version});
  }

  events::AppendRequest request;
  request.stream = core::WorkflowStream(id);
  request.expected_version = state.stream_version;  // 0 == kNoStream for a creation
  request.org = caller.org;
  request.actor = caller.actor;
  request.request_id = caller.request_id;
  // core writes event data with json::Serialize from parsed documents. The projection
  // folds the document (core's, else parsed here, on the caller's thread) so that it
  // does not parse on the store's writer thread.
  for (auto& e : *decided) {
    std::shared_ptr<const json::Document> parsed = std::move(e.parsed);
    if (!parsed) {
      auto doc = json::Parse(e.data);
      if (!doc.ok()) {
        return reply(Internal("decided event data does not parse: " + doc.status().message()));
      }
      parsed = std::make_shared<const json::Document>(std::move(*doc));
    }
    request.events.push_back(
        {std::move(e.type), 1, std::move(e.data), {}, true, std::move(parsed)});
  }

  // The stream version this command's events end at: the view must be exactly that.
  const uint64_t own_stream_version = state.stream_version + request.events.size();
  store_.AppendAsync(std::move(request), [this, caller, id, decide, reply, attempts_left,
                                          own_stream_version](StatusOr<events::AppendResult> r) {
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kConflict) {
        if (attempts_left > 0) {
          // Off the writer thread (this callback's): see RetryWorker.
          const bool queued = retries_.Post([this, caller, id, decide, reply, attempts_left] {
            Execute(caller, id, decide, reply, attempts_left - 1);
          });
          if (!queued) reply(Status(StatusCode::kUnavailable, "The server is stopping"));
          return;
        }
        // The store's message names its stream version, which clients never see.
        return reply(Conflict("Workflow '" + id + "' kept changing under " +
                              std::to_string(kConflictRetries + 1) +
                              " attempts of this request (too many concurrent writers); retry")
                         .WithReason("version_conflict"));
      }
      return reply(r.status());
    }
    // The commit listener has applied the projection: read our own write, already
    // rendered, unless a later write in the same group moved it on.
    auto view = workflows_.GetView(caller.org, id);
    if (!view.ok()) return reply(view.status());
    if (view->has_value() && (*view)->stream_version == own_stream_version) {
      return reply(std::move(**view));
    }
    auto exact = projections::WorkflowAtPosition(store_, caller.org, id, r->last_position);
    if (!exact.ok()) return reply(exact.status());
    if (!exact->exists()) return reply(projections::WorkflowView{id, 0, "", 0});  // deleted
    reply(projections::WorkflowView{id, exact->version, core::RenderWorkflowObject(*exact),
                                    exact->stream_version});
  });
}

void WorkflowService::Create(const Caller& caller, CreateWorkflowInput input,
                             WorkflowReply reply) {
  std::string id = std::string(core::kWorkflowIdPrefix) + TimeOrderedHex(NowMs(), kWorkflowIdRandomBytes);
  CreateWithId(caller, std::move(id), std::make_shared<CreateWorkflowInput>(std::move(input)),
               std::move(reply));
}

void WorkflowService::CreateWithId(const Caller& caller, std::string id,
                                   std::shared_ptr<CreateWorkflowInput> shared_input,
                                   WorkflowReply reply) {
  auto decide = std::make_shared<Decision>(
      [this, id, shared_input](const core::WorkflowState& state)
          -> StatusOr<std::vector<core::PendingEvent>> {
        if (state.stream_version > 0) {
          return Conflict("workflow id collision").WithReason("workflow_exists");
        }
        core::CreateWorkflow c;
        c.id = id;
        c.definition = &shared_input->definition;
        c.name = shared_input->name;
        c.description = shared_input->description;
        c.project_id = shared_input->project_id;
        c.trigger_type = shared_input->trigger_type;
        c.tags = shared_input->tags;
        c.status = shared_input->status;
        c.change_summary = shared_input->change_summary;
        return core::DecideCreate(c, validation_);
      });
  // A creation never retries: its stream is new (the append checks it), so a
  // conflict is an id collision, answered as an error.
  Execute(caller, std::move(id), std::move(decide), std::move(reply), 0, /*is_new=*/true);
}

void WorkflowService::CreateIdempotent(const Caller& caller, CreateWorkflowInput input,
                                       IdempotentRequest idempotency, CreateReply reply) {
  auto shared_input = std::make_shared<CreateWorkflowInput>(std::move(input));
  std::string scope = "workflows";
  scope.push_back('\0');
  scope += caller.org;
  scope.push_back('\0');
  scope += idempotency.key;
  const std::string claim_stream = "idempotency-" + events::Sha256Hex(scope).substr(0, 32);
  std::string id = std::string(core::kWorkflowIdPrefix) + TimeOrderedHex(NowMs(), kWorkflowIdRandomBytes);

  json::Document data(rapidjson::kObjectType);
  auto& a = data.GetAllocator();
  data.AddMember("idempotency_key", json::String(idempotency.key, a), a);
  data.AddMember("request_fingerprint", json::String(idempotency.fingerprint, a), a);
  data.AddMember("workflow_id", json::String(id, a), a);
  events::AppendRequest claim;
  claim.stream = claim_stream;
  claim.expected_version = events::kNoStream;
  claim.org = caller.org;
  claim.actor = caller.actor;
  claim.request_id = caller.request_id;
  claim.events.push_back({std::string(core::kIdempotencyClaimed), 1, json::Serialize(data),
                          std::nullopt});
  // The claim's commit is waited for by no thread. What follows it (validation, a
  // replay's fold of the workflow's stream) runs off the writer thread that calls
  // back: see RetryWorker.
  store_.AppendAsync(std::move(claim), [this, caller, id, claim_stream, shared_input,
                                        fingerprint = idempotency.fingerprint,
                                        reply](StatusOr<events::AppendResult> claimed) {
    if (!claimed.ok() && claimed.status().code() != StatusCode::kConflict) {
      return reply(claimed.status(), false);
    }
    const bool first = claimed.ok();
    const bool queued = retries_.Post([this, caller, id, claim_stream, shared_input,
                                       fingerprint, reply, first] {
      if (first) return FinishClaimed(caller, id, shared_input, reply);
      AnswerClaimedBefore(caller, claim_stream, fingerprint, shared_input, reply);
    });
    if (!queued) reply(Status(StatusCode::kUnavailable, "The server is stopping"), false);
  });
}

void WorkflowService::AnswerClaimedBefore(const Caller& caller, const std::string& claim_stream,
                                          const std::string& fingerprint,
                                          std::shared_ptr<CreateWorkflowInput> shared_input,
                                          CreateReply reply) {
  // Claimed before: by this request's first attempt, or by another request.
  auto history = store_.ReadStream(claim_stream, 1, 1);
  if (!history.ok()) return reply(history.status(), false);
  if (history->empty() || history->front().org != caller.org) {
    return reply(Internal("idempotency claim " + claim_stream + " is not this organisation's"),
                 false);
  }
  auto first = json::Parse(history->front().data);
  if (!first.ok()) return reply(DataLoss("idempotency claim is unreadable"), false);
  if (json::GetString(*first, "request_fingerprint").value_or("") != fingerprint) {
    return reply(Conflict("This Idempotency-Key was used for a create with another body")
                     .WithReason("idempotency_key_reused"),
                 false);
  }
  FinishClaimed(caller, json::GetString(*first, "workflow_id").value_or(""), shared_input,
                [reply](StatusOr<projections::WorkflowView> view, bool) {
                  reply(std::move(view), true);
                });
}

void WorkflowService::FinishClaimed(const Caller& caller, std::string id,
                                    std::shared_ptr<CreateWorkflowInput> input,
                                    CreateReply reply) {
  auto as_created = [this, caller, id]() -> StatusOr<projections::WorkflowView> {
    auto state = Get(caller, id);
    if (!state.ok()) {
      if (state.status().code() != StatusCode::kNotFound) return state.status();
      return Conflict("The workflow created under this Idempotency-Key has been deleted")
          .WithReason("idempotency_key_reused");
    }
    // The workflow as its creating event left it (not "as of" its creation time: a
    // change in the same millisecond would be included).
    auto first = store_.ReadStream(core::WorkflowStream(id), 1, 1);
    if (!first.ok()) return first.status();
    if (first->empty()) return DataLoss("workflow " + id + " has no creating event");
    auto created = projections::WorkflowAtPosition(store_, caller.org, id, first->front().position);
    if (!created.ok()) return created.status();
    return projections::WorkflowView{id, created->version, core::RenderWorkflowObject(*created),
                                     created->stream_version};
  };
  // The request that claimed the key is the one that creates, even when a concurrent
  // retry (which saw the claim) finished the creation first: it is never a replay.
  if (auto existing = GetView(caller, id); existing.ok()) {
    return reply(as_created(), false);
  }
  CreateWithId(caller, id, std::move(input),
               [reply, as_created](StatusOr<projections::WorkflowView> created) {
                 // Created by a concurrent retry, or deleted since: answer what stands.
                 if (!created.ok() && created.status().code() == StatusCode::kConflict) {
                   return reply(as_created(), false);
                 }
                 reply(std::move(created), false);
               });
}

void WorkflowService::Update(const Caller& caller, std::string id, json::Document definition,
                             std::string change_summary,
                             std::optional<int64_t> expected_version, WorkflowReply reply) {
  auto def = std::make_shared<json::Document>(std::move(definition));
  auto decide = std::make_shared<Decision>(
      [this, def, change_summary, expected_version](const core::WorkflowState& state) {
        return core::DecideUpdate(state, {def.get(), change_summary, expected_version},
                                  validation_);
      });
  Execute(caller, std::move(id), std::move(decide), std::move(reply), kConflictRetries);
}

void WorkflowService::Patch(const Caller& caller, std::string id, json::Document merge_patch,
                            std::optional<int64_t> expected_version, WorkflowReply reply) {
  auto patch = std::make_shared<json::Document>(std::move(merge_patch));
  auto decide = std::make_shared<Decision>(
      [this, patch, expected_version](const core::WorkflowState& state) {
        return core::DecidePatch(state, *patch, expected_version, validation_);
      });
  Execute(caller, std::move(id), std::move(decide), std::move(reply), kConflictRetries);
}

void WorkflowService::SetStatus(const Caller& caller, std::string id, std::string status,
                                std::optional<int64_t> expected_version, WorkflowReply reply) {
  auto decide = std::make_shared<Decision>(
      [status, expected_version](const core::WorkflowState& state) {
        return core::DecideStatus(state, status, expected_version);
      });
  Execute(caller, std::move(id), std::move(decide), std::move(reply), kConflictRetries);
}

void WorkflowService::Delete(const Caller& caller, std::string id,
                             std::optional<int64_t> expected_version, WorkflowReply reply) {
  auto decide = std::make_shared<Decision>([expected_version](const core::WorkflowState& state) {
    return core::DecideDelete(state, expected_version);
  });
  Execute(caller, std::move(id), std::move(decide), std::move(reply), kConflictRetries);
}

void WorkflowService::Rollback(const Caller& caller, std::string id, int64_t version,
                               std::string change_summary,
                               std::optional<int64_t> expected_version, WorkflowReply reply) {
  auto target = Version(caller, id, version);
  if (!target.ok()) return reply(target.status());
  auto record = std::make_shared<core::VersionRecord>(std::move(*target));
  auto decide = std::make_shared<Decision>(
      [this, record, change_summary, expected_version](const core::WorkflowState& state) {
        return core::DecideRollback(state, *record, change_summary, expected_version,
                                    validation_);
      });
  Execute(caller, std::move(id), std::move(decide), std::move(reply), kConflictRetries);
}

StatusOr<core::WorkflowState> WorkflowService::Get(const Caller& caller,
                                                   std::string_view id) const {
  auto state = workflows_.Get(caller.org, id);
  if (!state.ok()) return state.status();
  if (!state->has_value() || !(*state)->exists()) return WorkflowNotFound(id);
  return std::move(**state);
}

StatusOr<projections::WorkflowView> WorkflowService::GetView(const Caller& caller,
                                                            std::string_view id) const {
  auto view = workflows_.GetView(caller.org, id);
  if (!view.ok()) return view.status();
  if (!view->has_value()) return WorkflowNotFound(id);
  return std::move(**view);
}

StatusOr<projections::WorkflowView> WorkflowService::GetAsOf(const Caller& caller,
                                                             std::string_view id,
                                                             int64_t at_ms) const {
  auto state = projections::WorkflowAsOf(store_, caller.org, id, at_ms);
  if (!state.ok()) return state.status();
  return projections::WorkflowView{state->id, state->version,
                                   core::RenderWorkflowObject(*state), state->stream_version};
}

StatusOr<projections::WorkflowList> WorkflowService::List(
    const Caller& caller, const projections::WorkflowListQuery& query) const {
  return workflows_.List(caller.org, query);
}

StatusOr<projections::VersionList> WorkflowService::Versions(const Caller& caller,
                                                             std::string_view id, size_t limit,
                                                             size_t offset) const {
  auto state = Get(caller, id);
  if (!state.ok()) return state.status();
  return workflows_.ListVersions(caller.org, id, limit, offset);
}

StatusOr<core::VersionRecord> WorkflowService::Version(const Caller& caller,
                                                       std::string_view id,
                                                       int64_t version) const {
  auto state = Get(caller, id);
  if (!state.ok()) return state.status();
  auto record = workflows_.GetVersion(caller.org, id, version);
  if (!record.ok()) return record.status();
  if (!record->has_value()) {
    return NotFound("Workflow '" + std::string(id) + "' has no version " +
                    std::to_string(version) + " (latest is " + std::to_string(state->version) +
                    ")")
        .WithReason("not_found");
  }
  return std::move(**record);
}

StatusOr<DiffResult> WorkflowService::Diff(const Caller& caller, std::string_view id,
                                           int64_t v1, int64_t v2) const {
  auto a = Version(caller, id, v1);
  if (!a.ok()) return a.status();
  auto b = Version(caller, id, v2);
  if (!b.ok()) return b.status();
  auto from = json::Parse(a->definition);
  auto to = json::Parse(b->definition);
  if (!from.ok() || !to.ok()) return DataLoss("stored definition is unreadable");
  DiffResult out;
  out.diff = ledgerflow::Diff(*from, *to);
  out.summary = ledgerflow::SummarizeDefinitionChange(*from, *to);
  out.v1 = v1;
  out.v2 = v2;
  return out;
}

StatusOr<WorkflowMetadata> WorkflowService::Metadata(const Caller& caller,
                                                    std::string_view id) const {
  auto state = Get(caller, id);
  if (!state.ok()) return state.status();
  auto versions = workflows_.ListVersions(caller.org, id, static_cast<size_t>(state->version), 0);
  if (!versions.ok()) return versions.status();
  auto runs = run_stats_.Get(caller.org, id);
  if (!runs.ok()) return runs.status();
  WorkflowMetadata out;
  out.workflow_id = std::string(id);
  out.current_version = state->version;
  out.version_count = versions->total;
  for (const core::VersionRecord& v : versions->versions) {
    out.authors.insert(v.created_by);
    if (v.rollback_of) ++out.rollback_count;
  }
  out.created_at_ms = state->created_at_ms;
  out.updated_at_ms = state->updated_at_ms;
  if (!versions->versions.empty()) {
    out.last_version_at_ms = versions->versions.front().created_at_ms;
  }
  out.runs = std::move(runs).value();
  return out;
}

}  // namespace ledgerflow::service
