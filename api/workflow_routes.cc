#include "api/workflow_routes.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "api/request_parsing.h"
#include "api/workflow_metadata.h"
#include "core/definition.h"
#include "core/workflow_codec.h"
#include "core/time_format.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;
using core::Role;

constexpr int64_t kMaxLimit = 200;
constexpr int64_t kMaxOffset = 1'000'000'000;

std::string ETag(int64_t version) { return "\"" + std::to_string(version) + "\""; }

// Answers with the workflow object and its ETag, or the error.
service::WorkflowReply ReplyWorkflow(ResponderPtr responder, Code code = Code::Ok) {
  return [responder, code](StatusOr<projections::WorkflowView> result) {
    if (!result.ok()) return responder->SendError(result.status());
    responder->AddHeader("ETag", ETag(result->version));
    responder->SendJsonText(code, result->json);
  };
}

// Checks that the body has a "definition" object.
Status CheckDefinitionMember(const json::Value& body) {
  const json::Value* def = json::Find(body, "definition");
  if (def == nullptr) {
    return InvalidArgument("'definition' is required").WithReason("invalid_body");
  }
  if (!def->IsObject()) {
    return InvalidArgument(std::string("'definition' must be an object, got ") +
                           json::TypeName(*def))
        .WithReason("invalid_body");
  }
  return Status::Ok();
}

// Reads the body's "definition" object, refusing anything else.
StatusOr<json::Document> DefinitionOf(const json::Value& body) {
  LF_RETURN_IF_ERROR(CheckDefinitionMember(body));
  return json::Clone(*json::Find(body, "definition"));
}

void CreateWorkflow(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  Status known = RefuseUnknownFields(*body, {"definition", "trigger_type", "tags", "status",
                                             "project_id", "description", "name",
                                             "change_summary"});
  if (!known.ok()) return out->SendError(known);
  Status has_definition = CheckDefinitionMember(*body);
  if (!has_definition.ok()) return out->SendError(has_definition);
  auto idempotency_key = IdempotencyKeyHeader(req);
  if (!idempotency_key.ok()) return out->SendError(idempotency_key.status());
  // Before the body is taken apart below.
  const std::string fingerprint = idempotency_key->has_value() ? Fingerprint(*body) : "";
  service::CreateWorkflowInput input;
  auto name = OptionalString(*body, "name");
  auto trigger = OptionalString(*body, "trigger_type");
  auto status = OptionalString(*body, "status");
  auto project = OptionalString(*body, "project_id");
  auto description = OptionalString(*body, "description");
  auto summary = OptionalString(*body, "change_summary");
  auto tags = OptionalStringArray(*body, "tags");
  for (const Status* s : {&name.status(), &trigger.status(), &status.status(),
                          &project.status(), &description.status(), &summary.status(),
                          &tags.status()}) {
    if (!s->ok()) return out->SendError(*s);
  }
  input.name = *name;
  // Last: the other fields are read from the body, which this consumes.
  input.definition = json::TakeMember(std::move(*body), "definition");
  input.trigger_type = trigger->value_or("manual");
  input.status = status->value_or("active");
  input.project_id = project->value_or("");
  input.description = description->value_or(
      json::GetString(input.definition, "description").value_or(""));
  input.change_summary = summary->value_or("");
  input.tags = tags->value_or(std::vector<std::string>{});
  auto answer = [out](StatusOr<projections::WorkflowView> result, bool replayed) {
    if (!result.ok()) return out->SendError(result.status());
    // Ids are [a-z0-9_]: safe to splice into JSON.
    out->AddHeader("ETag", ETag(result->version));
    out->AddHeader("Location", "/api/workflows/" + result->id);
    if (replayed) out->AddHeader("Idempotent-Replayed", "true");
    out->SendJsonText(Code::Created,
                      "{\"id\":\"" + result->id + "\",\"workflow\":" + result->json + "}");
  };
  if (idempotency_key->has_value()) {
    return service.CreateIdempotent(req.caller, std::move(input),
                                    {std::move(**idempotency_key), fingerprint},
                                    std::move(answer));
  }
  service.Create(req.caller, std::move(input),
                 [answer](StatusOr<projections::WorkflowView> result) {
                   answer(std::move(result), false);
                 });
}

void ListWorkflows(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto limit = QueryInt(req, "limit", 50, 1, kMaxLimit);
  if (!limit.ok()) return out->SendError(limit.status());
  auto offset = QueryInt(req, "offset", 0, 0, kMaxOffset);
  if (!offset.ok()) return out->SendError(offset.status());
  projections::WorkflowListQuery q;
  q.status = req.query("status");
  q.trigger_type = req.query("trigger_type");
  q.tag = req.query("tag");
  q.project_id = req.query("project_id");
  q.q = req.query("q");
  if (q.status && !core::IsWorkflowStatus(*q.status)) {
    return out->SendError(
        InvalidArgument("'status' must be one of draft, active, paused, archived")
            .WithReason("invalid_parameter"));
  }
  if (q.trigger_type && !core::IsTriggerType(*q.trigger_type)) {
    return out->SendError(InvalidArgument("'trigger_type' must be one of manual, schedule, webhook")
                              .WithReason("invalid_parameter"));
  }
  q.limit = static_cast<size_t>(*limit);
  q.offset = static_cast<size_t>(*offset);
  auto list = service.List(req.caller, q);
  if (!list.ok()) return out->SendError(list.status());
  std::string body = "{\"workflows\":[";
  for (size_t i = 0; i < list->workflows.size(); ++i) {
    if (i) body += ',';
    body += core::RenderWorkflowSummary(list->workflows[i]);
  }
  body += "],\"total\":" + std::to_string(list->total) + ",\"limit\":" +
          std::to_string(*limit) + ",\"offset\":" + std::to_string(*offset) + "}";
  out->SendJsonText(Code::Ok, body);
}

void GetWorkflow(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  StatusOr<projections::WorkflowView> view = Status(StatusCode::kInternal, "unset");
  if (auto as_of = req.query("as_of")) {
    auto at = core::ParseRfc3339(*as_of);
    if (!at.ok()) {
      return out->SendError(InvalidArgument("'as_of' must be an RFC 3339 timestamp such as "
                                            "2026-11-23T20:00:00Z")
                                .WithReason("invalid_parameter"));
    }
    view = service.GetAsOf(req.caller, req.param("id"), *at);
  } else {
    view = service.GetView(req.caller, req.param("id"));
  }
  if (auto tags = req.header("If-None-Match"); tags && view.ok() &&
                                               IfNoneMatchHits(*tags, ETag(view->version))) {
    out->AddHeader("ETag", ETag(view->version));
    return out->SendNotModified();
  }
  ReplyWorkflow(out)(std::move(view));
}

void PutWorkflow(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  Status known = RefuseUnknownFields(*body, {"definition", "change_summary", "expected_version"});
  if (!known.ok()) return out->SendError(known);
  auto definition = DefinitionOf(*body);
  if (!definition.ok()) return out->SendError(definition.status());
  auto summary = OptionalString(*body, "change_summary");
  if (!summary.ok()) return out->SendError(summary.status());
  auto expected = ExpectedVersion(req, &*body);
  if (!expected.ok()) return out->SendError(expected.status());
  service.Update(req.caller, req.param("id"), std::move(*definition), summary->value_or(""),
                 *expected, ReplyWorkflow(out));
}

void PatchWorkflow(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  auto expected = ExpectedVersion(req, &*body);
  if (!expected.ok()) return out->SendError(expected.status());
  body->RemoveMember("expected_version");
  service.Patch(req.caller, req.param("id"), std::move(*body), *expected, ReplyWorkflow(out));
}

void DeleteWorkflow(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto expected = ExpectedVersion(req, nullptr);
  if (!expected.ok()) return out->SendError(expected.status());
  service.Delete(req.caller, req.param("id"), *expected,
                 [out](StatusOr<projections::WorkflowView> result) {
                   if (!result.ok()) return out->SendError(result.status());
                   out->SendJsonText(Code::Ok, R"({"ok":true})");
                 });
}

void SetStatus(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  Status known = RefuseUnknownFields(*body, {"status", "expected_version"});
  if (!known.ok()) return out->SendError(known);
  auto status = OptionalString(*body, "status");
  if (!status.ok()) return out->SendError(status.status());
  if (!status->has_value()) {
    return out->SendError(InvalidArgument("'status' is required").WithReason("invalid_body"));
  }
  auto expected = ExpectedVersion(req, &*body);
  if (!expected.ok()) return out->SendError(expected.status());
  service.SetStatus(req.caller, req.param("id"), **status, *expected, ReplyWorkflow(out));
}

void Validate(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  auto definition = DefinitionOf(*body);
  if (!definition.ok()) return out->SendError(definition.status());
  std::vector<std::string> errors = core::ValidateDefinition(*definition, service.validation());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("valid", errors.empty(), a);
  json::Value list(rapidjson::kArrayType);
  for (const auto& e : errors) list.PushBack(json::String(e, a), a);
  doc.AddMember("errors", list, a);
  out->SendJson(Code::Ok, doc);
}

void Metadata(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto metadata = service.Metadata(req.caller, req.param("id"));
  if (!metadata.ok()) return out->SendError(metadata.status());
  out->SendJson(Code::Ok, WorkflowMetadataJson(*metadata));
}

void ListVersions(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto limit = QueryInt(req, "limit", 50, 1, kMaxLimit);
  if (!limit.ok()) return out->SendError(limit.status());
  auto offset = QueryInt(req, "offset", 0, 0, kMaxOffset);
  if (!offset.ok()) return out->SendError(offset.status());
  auto list = service.Versions(req.caller, req.param("id"), static_cast<size_t>(*limit),
                               static_cast<size_t>(*offset));
  if (!list.ok()) return out->SendError(list.status());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::Value items(rapidjson::kArrayType);
  for (const auto& v : list->versions) {
    json::Value item;
    item.CopyFrom(core::VersionObject(v, false), a);
    items.PushBack(item, a);
  }
  doc.AddMember("versions", items, a);
  doc.AddMember("total", json::Value(static_cast<uint64_t>(list->total)), a);
  doc.AddMember("limit", json::Value(*limit), a);
  doc.AddMember("offset", json::Value(*offset), a);
  out->SendJson(Code::Ok, doc);
}

void GetVersion(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto version = ParseInt(req.param("version"), "version", 1, INT32_MAX);
  if (!version.ok()) return out->SendError(version.status());
  auto record = service.Version(req.caller, req.param("id"), *version);
  if (!record.ok()) return out->SendError(record.status());
  out->SendJson(Code::Ok, core::VersionObject(*record, true));
}

void DiffVersions(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto v1 = RequiredQueryInt(req, "v1", 1, INT32_MAX);
  if (!v1.ok()) return out->SendError(v1.status());
  auto v2 = RequiredQueryInt(req, "v2", 1, INT32_MAX);
  if (!v2.ok()) return out->SendError(v2.status());
  auto diff = service.Diff(req.caller, req.param("id"), *v1, *v2);
  if (!diff.ok()) return out->SendError(diff.status());
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::Value ops;
  ops.CopyFrom(diff->diff, a);
  doc.AddMember("diff", ops, a);
  doc.AddMember("summary", json::String(diff->summary, a), a);
  doc.AddMember("v1", json::Value(diff->v1), a);
  doc.AddMember("v2", json::Value(diff->v2), a);
  out->SendJson(Code::Ok, doc);
}

void Rollback(service::WorkflowService& service, ApiRequest& req, ResponderPtr out) {
  auto body = ParseObjectBody(req);
  if (!body.ok()) return out->SendError(body.status());
  Status known = RefuseUnknownFields(*body, {"version", "change_summary", "expected_version"});
  if (!known.ok()) return out->SendError(known);
  auto version = OptionalInt(*body, "version");
  if (!version.ok()) return out->SendError(version.status());
  if (!version->has_value() || **version < 1) {
    return out->SendError(
        InvalidArgument("'version' (a positive integer) is required").WithReason("invalid_body"));
  }
  auto summary = OptionalString(*body, "change_summary");
  if (!summary.ok()) return out->SendError(summary.status());
  auto expected = ExpectedVersion(req, &*body);
  if (!expected.ok()) return out->SendError(expected.status());
  service.Rollback(req.caller, req.param("id"), **version, summary->value_or(""), *expected,
                   ReplyWorkflow(out));
}

}  // namespace

void AddWorkflowRoutes(Router& router, service::WorkflowService& s) {
  auto bind = [&s](void (*fn)(service::WorkflowService&, ApiRequest&, ResponderPtr)) {
    return [&s, fn](ApiRequest& req, ResponderPtr out) { fn(s, req, std::move(out)); };
  };
  const std::string base = "/api/workflows";
  const std::vector<MediaDoc> workflow = {{.schema = "Workflow"}};
  const std::vector<std::string> etag = {"ETag"};
  router.Add({Method::Get, base, Role::kViewer, bind(ListWorkflows),
              {.summary = "List workflows",
               .tag = "Workflows",
               .operation_id = "listWorkflows",
               .parameters = {"WorkflowStatusFilter", "TriggerTypeFilter", "TagFilter",
                              "ProjectFilter", "TextQuery", "Limit", "Offset"},
               .responses = {{.content = {{.schema = "WorkflowList"}}}},
               .description = "Summaries of the organisation's workflows, newest first; "
                              "deleted ones never appear."}});
  router.Add({Method::Post, base, Role::kEditor, bind(CreateWorkflow),
              {.summary = "Create a workflow (version 1)",
               .tag = "Workflows",
               .operation_id = "createWorkflow",
               .parameters = {"IdempotencyKey"},
               .request = {{.schema = "CreateWorkflowRequest"}},
               .responses = {{.status = 201,
                              .content = {{.schema = "CreatedWorkflow"}},
                              .headers = {"ETag", "Location", "Idempotent-Replayed"}}},
               .errors = {409},
               .description = "An invalid definition answers 400 with every validation "
                              "error in details. With an Idempotency-Key, a retry with "
                              "the same body (member order aside) answers the workflow "
                              "the first request created, as it was created "
                              "(Idempotent-Replayed: true); another body, or a retry "
                              "after that workflow was deleted, is 409 "
                              "idempotency_key_reused."}});
  router.Add({Method::Post, base + "/validate", Role::kViewer, bind(Validate),
              {.summary = "Validate a definition without storing it",
               .tag = "Workflows",
               .operation_id = "validateDefinition",
               .request = {{.schema = "ValidateRequest"}},
               .responses = {{.content = {{.schema = "ValidationResult"}}}}}});
  router.Add({Method::Get, base + "/:id", Role::kViewer, bind(GetWorkflow),
              {.summary = "Get a workflow",
               .tag = "Workflows",
               .operation_id = "getWorkflow",
               .parameters = {"AsOf", "IfNoneMatch"},
               .responses = {{.content = workflow, .headers = etag},
                             {.status = 304, .headers = etag}},
               .description = "The workflow object itself; its ETag is its version. With "
                              "?as_of= it is read from the log as it stood then."}});
  router.Add({Method::Put, base + "/:id", Role::kEditor, bind(PutWorkflow),
              {.summary = "Replace the definition",
               .tag = "Workflows",
               .operation_id = "replaceWorkflow",
               .parameters = {"IfMatch"},
               .request = {{.schema = "UpdateWorkflowRequest"}},
               .responses = {{.content = workflow, .headers = etag}},
               .errors = {409},
               .description = "A new version, unless the definition equals the current "
                              "one. A stale If-Match answers 409 version_conflict."}});
  router.Add({Method::Patch, base + "/:id", Role::kEditor, bind(PatchWorkflow),
              {.summary = "Merge-patch a workflow",
               .tag = "Workflows",
               .operation_id = "patchWorkflow",
               .parameters = {"IfMatch"},
               .request = {{.type = "application/merge-patch+json",
                            .schema = "WorkflowMergePatch"},
                           {.schema = "WorkflowMergePatch"}},
               .responses = {{.content = workflow, .headers = etag}},
               .errors = {409},
               .description = "JSON Merge Patch (RFC 7396) of name, description, tags, "
                              "trigger_type, project_id and definition; a changed "
                              "definition writes a new version."}});
  router.Add({Method::Delete, base + "/:id", Role::kEditor, bind(DeleteWorkflow),
              {.summary = "Delete a workflow",
               .tag = "Workflows",
               .operation_id = "deleteWorkflow",
               .parameters = {"IfMatch"},
               .responses = {{.content = {{.schema = "Ok"}}}},
               .errors = {409},
               .description = "A tombstone: the workflow leaves every read; its history "
                              "stays in the log and the audit API."}});
  router.Add({Method::Patch, base + "/:id/status", Role::kEditor, bind(SetStatus),
              {.summary = "Change a workflow's status",
               .tag = "Workflows",
               .operation_id = "setWorkflowStatus",
               .parameters = {"IfMatch"},
               .request = {{.schema = "SetStatusRequest"}},
               .responses = {{.content = workflow, .headers = etag}},
               .errors = {409}}});
  router.Add({Method::Get, base + "/:id/metadata", Role::kViewer, bind(Metadata),
              {.summary = "Version and run statistics of a workflow",
               .tag = "Workflows",
               .operation_id = "getWorkflowMetadata",
               .responses = {{.content = {{.schema = "WorkflowMetadata"}}}},
               .description = "The version history in numbers, and the runs' statistics "
                              "overall and per version (the version a run is on), kept "
                              "up to date as runs change status: runs by status, the "
                              "latest dispatch, the success rate over terminal runs, "
                              "and the mean and 95th percentile duration of completed "
                              "runs (the percentile from a histogram of buckets at most "
                              "5% wide: within 2.5%)."}});
  router.Add({Method::Get, base + "/:id/versions", Role::kViewer, bind(ListVersions),
              {.summary = "Version history, newest first",
               .tag = "Versions",
               .operation_id = "listVersions",
               .parameters = {"Limit", "Offset"},
               .responses = {{.content = {{.schema = "VersionList"}}}}}});
  router.Add({Method::Get, base + "/:id/versions/:version", Role::kViewer, bind(GetVersion),
              {.summary = "One version with its definition",
               .tag = "Versions",
               .operation_id = "getVersion",
               .responses = {{.content = {{.schema = "Version"}}}}}});
  router.Add({Method::Get, base + "/:id/diff", Role::kViewer, bind(DiffVersions),
              {.summary = "Diff two versions",
               .tag = "Versions",
               .operation_id = "diffVersions",
               .parameters = {"DiffFrom", "DiffTo"},
               .responses = {{.content = {{.schema = "VersionDiff"}}}},
               .description = "RFC 6902 operations that turn v1's definition into v2's "
                              "(either order), steps matched by id, with a summary."}});
  router.Add({Method::Post, base + "/:id/rollback", Role::kEditor, bind(Rollback),
              {.summary = "Roll back to an earlier version",
               .tag = "Versions",
               .operation_id = "rollbackWorkflow",
               .parameters = {"IfMatch"},
               .request = {{.schema = "RollbackRequest"}},
               .responses = {{.content = workflow, .headers = etag}},
               .errors = {409},
               .description = "A new version whose definition equals the one given."}});
}

}  // namespace ledgerflow::api
