#include "api/run_routes.h"

#include <chrono>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/request_parsing.h"
#include "core/time_format.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;
using core::Role;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kMaxLimit = 200;
constexpr int64_t kMaxOffset = 1'000'000'000;
constexpr size_t kMaxTextField = 1000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Text(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}
void TextOrNull(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  if (value.empty()) {
    w.Null();
  } else {
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
}
void TimeOrNull(Writer& w, const char* key, int64_t ms) {
  w.Key(key);
  if (ms == 0) {
    w.Null();
  } else {
    std::string t = core::FormatRfc3339Millis(ms);
    w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
  }
}
void SecondsOrNull(Writer& w, const char* key, int64_t from_ms, int64_t to_ms) {
  w.Key(key);
  if (from_ms == 0 || to_ms == 0) {
    w.Null();
  } else {
    w.Double(static_cast<double>(to_ms - from_ms) / 1000.0);
  }
}
void RawOrNull(Writer& w, const char* key, const std::string& json) {
  w.Key(key);
  if (json.empty()) {
    w.Null();
  } else {
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }
}

void WriteSummaryFields(Writer& w, const core::RunState& r) {
  Text(w, "id", r.id);
  Text(w, "workflow_id", r.workflow_id);
  w.Key("workflow_version");
  w.Int64(r.workflow_version);
  Text(w, "status", core::RunStatusName(r.status));
  Text(w, "trigger", r.trigger);
  Text(w, "reason", r.reason);
  TimeOrNull(w, "created_at", r.created_at_ms);
  TimeOrNull(w, "started_at", r.started_at_ms);
  TimeOrNull(w, "completed_at", r.completed_at_ms);
  SecondsOrNull(w, "duration_seconds", r.started_at_ms, r.completed_at_ms);
}

std::string RenderRun(const core::RunState& r) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("run");
  w.StartObject();
  WriteSummaryFields(w, r);
  Text(w, "actor", r.actor);
  RawOrNull(w, "input_data", r.input_data);
  TextOrNull(w, "baseline_run_id", r.baseline_run_id);
  w.Key("schedule");
  w.Null();
  TextOrNull(w, "error", r.error);
  w.Key("lineage");
  w.StartArray();
  w.EndArray();
  w.Key("step_runs");
  w.StartArray();
  for (const core::StepRun& s : r.steps) {
    w.StartObject();
    Text(w, "step_id", s.step_id);
    Text(w, "status", core::StepStatusName(s.status));
    w.Key("attempt");
    w.Int(s.attempt);
    RawOrNull(w, "output", s.output);
    TextOrNull(w, "error", s.status == core::StepStatus::kSkipped ? s.skip_reason : s.error);
    TimeOrNull(w, "started_at", s.started_at_ms);
    TimeOrNull(w, "completed_at", s.completed_at_ms);
    SecondsOrNull(w, "duration_seconds", s.started_at_ms, s.completed_at_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

std::string RenderList(const projections::RunList& list, int64_t limit, int64_t offset) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  w.Key("runs");
  w.StartArray();
  for (const core::RunState& r : list.runs) {
    w.StartObject();
    WriteSummaryFields(w, r);
    w.EndObject();
  }
  w.EndArray();
  w.Key("total");
  w.Uint64(list.total);
  w.Key("limit");
  w.Int64(limit);
  w.Key("offset");
  w.Int64(offset);
  w.EndObject();
  return std::string(b.GetString(), b.GetSize());
}

StatusOr<std::optional<std::string>> BoundedString(const json::Value& body, const char* field) {
  auto value = OptionalString(body, field);
  if (!value.ok() || !value->has_value()) return value;
  if ((*value)->size() > kMaxTextField) {
    return InvalidArgument("'" + std::string(field) + "' must be at most " +
                           std::to_string(kMaxTextField) + " bytes")
        .WithReason("invalid_field");
  }
  return value;
}

StatusOr<service::DispatchInput> ReadDispatch(const ApiRequest& req) {
  service::DispatchInput input;
  json::Document body(rapidjson::kObjectType);
  if (!req.body().empty()) {
    auto parsed = ParseObjectBody(req);
    if (!parsed.ok()) return parsed.status();
    body = std::move(*parsed);
  }
  LF_RETURN_IF_ERROR(RefuseUnknownFields(body, {"input_data", "trigger", "reason",
                                                "idempotency_key", "force_new_run",
                                                "baseline_run_id"}));
  if (const json::Value* data = json::Find(body, "input_data"); data && !data->IsNull()) {
    if (!data->IsObject()) {
      return InvalidArgument(std::string("'input_data' must be an object, got ") +
                             json::TypeName(*data))
          .WithReason("invalid_field");
    }
    input.input_data.CopyFrom(*data, input.input_data.GetAllocator());
  }
  auto trigger = BoundedString(body, "trigger");
  if (!trigger.ok()) return trigger.status();
  input.trigger = trigger->value_or("manual");
  auto reason = BoundedString(body, "reason");
  if (!reason.ok()) return reason.status();
  input.reason = reason->value_or("");
  auto baseline = BoundedString(body, "baseline_run_id");
  if (!baseline.ok()) return baseline.status();
  input.baseline_run_id = baseline->value_or("");
  if (const json::Value* force = json::Find(body, "force_new_run"); force && !force->IsNull()) {
    if (!force->IsBool()) {
      return InvalidArgument("'force_new_run' must be a boolean").WithReason("invalid_field");
    }
    input.force_new_run = force->GetBool();
  }
  auto body_key = OptionalString(body, "idempotency_key");
  if (!body_key.ok()) return body_key.status();
  auto header_key = IdempotencyKeyHeader(req);
  if (!header_key.ok()) return header_key.status();
  if (body_key->has_value()) {
    const std::string& k = **body_key;
    if (k.empty() || k.size() > 255) {
      return InvalidArgument("'idempotency_key' must be 1 to 255 characters")
          .WithReason("invalid_field");
    }
    if (header_key->has_value() && **header_key != k) {
      return InvalidArgument("The Idempotency-Key header and the body's idempotency_key differ")
          .WithReason("invalid_field");
    }
    input.idempotency_key = k;
  } else if (header_key->has_value()) {
    input.idempotency_key = **header_key;
  }
  // The key remembers the request it was used for, without the key and force_new_run.
  body.RemoveMember("idempotency_key");
  body.RemoveMember("force_new_run");
  input.fingerprint = Fingerprint(body);
  return input;
}

void Dispatch(service::RunService& runs, ApiRequest& req, ResponderPtr out) {
  auto input = ReadDispatch(req);
  if (!input.ok()) return out->SendError(input.status());
  runs.Dispatch(req.caller, req.param("id"), std::move(*input),
                [out](StatusOr<service::DispatchResult> result) {
                  if (!result.ok()) return out->SendError(result.status());
                  json::Document doc(rapidjson::kObjectType);
                  auto& a = doc.GetAllocator();
                  doc.AddMember("run_id", json::String(result->run_id, a), a);
                  doc.AddMember("status", json::String(result->status, a), a);
                  if (result->deduplicated) doc.AddMember("deduplicated", true, a);
                  out->AddHeader("Location", "/api/workflows/runs/" + result->run_id);
                  out->SendJson(result->deduplicated ? Code::Ok : Code::Accepted, doc);
                });
}

StatusOr<std::optional<core::RunStatus>> StatusParam(const ApiRequest& req) {
  auto text = req.query("status");
  if (!text) return std::optional<core::RunStatus>();
  auto status = core::ParseRunStatus(*text);
  if (!status) {
    return InvalidArgument(
               "'status' must be one of pending, running, paused, completed, failed, cancelled")
        .WithReason("invalid_parameter");
  }
  return std::optional<core::RunStatus>(*status);
}

// limit, offset and status, which every run list takes.
StatusOr<projections::RunQuery> PagedQuery(const ApiRequest& req) {
  auto limit = QueryInt(req, "limit", 50, 1, kMaxLimit);
  if (!limit.ok()) return limit.status();
  auto offset = QueryInt(req, "offset", 0, 0, kMaxOffset);
  if (!offset.ok()) return offset.status();
  auto status = StatusParam(req);
  if (!status.ok()) return status.status();
  projections::RunQuery q;
  q.status = *status;
  q.limit = static_cast<size_t>(*limit);
  q.offset = static_cast<size_t>(*offset);
  return q;
}

void SendList(service::RunService& runs, ApiRequest& req, const projections::RunQuery& q,
              ResponderPtr out) {
  auto list = runs.List(req.caller, q);
  if (!list.ok()) return out->SendError(list.status());
  out->SendJsonText(Code::Ok, RenderList(*list, static_cast<int64_t>(q.limit),
                                         static_cast<int64_t>(q.offset)));
}

void ListWorkflowRuns(service::RunService& runs, ApiRequest& req, ResponderPtr out) {
  auto q = PagedQuery(req);
  if (!q.ok()) return out->SendError(q.status());
  if (Status s = runs.CheckWorkflow(req.caller, req.param("id")); !s.ok()) {
    return out->SendError(s);
  }
  q->workflow_id = req.param("id");
  SendList(runs, req, *q, out);
}

StatusOr<std::optional<int64_t>> TimeParam(const ApiRequest& req, const char* name) {
  auto text = req.query(name);
  if (!text) return std::optional<int64_t>();
  auto at = core::ParseRfc3339(*text);
  if (!at.ok()) {
    return InvalidArgument("'" + std::string(name) +
                           "' must be an RFC 3339 timestamp such as 2026-11-23T20:00:00Z")
        .WithReason("invalid_parameter");
  }
  return std::optional<int64_t>(*at);
}

void SearchRuns(service::RunService& runs, ApiRequest& req, ResponderPtr out) {
  auto paged = PagedQuery(req);
  if (!paged.ok()) return out->SendError(paged.status());
  projections::RunQuery& q = *paged;
  auto since = TimeParam(req, "since");
  if (!since.ok()) return out->SendError(since.status());
  auto until = TimeParam(req, "until");
  if (!until.ok()) return out->SendError(until.status());
  q.workflow_id = req.query("workflow_id");
  q.since_ms = *since;
  q.until_ms = *until;
  q.q = req.query("q");
  if (auto range = req.query("range")) {
    int64_t hours = *range == "24h" ? 24 : *range == "7d" ? 24 * 7 : *range == "30d" ? 24 * 30 : 0;
    if (hours == 0) {
      return out->SendError(InvalidArgument("'range' must be one of 24h, 7d, 30d")
                                .WithReason("invalid_parameter"));
    }
    int64_t from = NowMs() - hours * 3600 * 1000;
    q.since_ms = q.since_ms ? std::max(*q.since_ms, from) : from;
  }
  if (auto sort = req.query("sort")) {
    if (*sort == "-started_at") {
      q.sort = projections::RunSort::kNewest;
    } else if (*sort == "started_at") {
      q.sort = projections::RunSort::kOldest;
    } else if (*sort == "-duration") {
      q.sort = projections::RunSort::kLongest;
    } else if (*sort == "duration") {
      q.sort = projections::RunSort::kShortest;
    } else {
      return out->SendError(
          InvalidArgument("'sort' must be one of started_at, -started_at, duration, -duration")
              .WithReason("invalid_parameter"));
    }
  }
  SendList(runs, req, q, out);
}

void GetRun(service::RunService& runs, ApiRequest& req, ResponderPtr out) {
  auto run = runs.Get(req.caller, req.param("run_id"));
  if (!run.ok()) return out->SendError(run.status());
  out->SendJsonText(Code::Ok, RenderRun(*run));
}

}  // namespace

void AddRunRoutes(Router& router, service::RunService& runs) {
  auto bind = [&runs](void (*handler)(service::RunService&, ApiRequest&, ResponderPtr)) {
    return [&runs, handler](ApiRequest& req, ResponderPtr out) { handler(runs, req, out); };
  };
  const std::string base = "/api/workflows";
  const std::vector<ResponseDoc> dispatched = {
      {.status = 202, .content = {{.schema = "DispatchedRun"}}, .headers = {"Location"},
       .description = "The run is recorded as pending; the engine starts it."},
      {.status = 200, .content = {{.schema = "DispatchedRun"}}, .headers = {"Location"},
       .description = "A retry under the same idempotency key: the run it made."}};
  const std::string dispatch_description =
      "Dispatches a run of the workflow's current version (the run keeps that version). "
      "input_data is checked against definition.inputs (JSON Schema). An idempotency key "
      "(the body's idempotency_key or the Idempotency-Key header, per workflow, kept for "
      "good) answers the run it made to a retry with the same body (200, deduplicated), "
      "and 409 idempotency_key_reused to another body; force_new_run skips both and the "
      "key names the new run. Paused or archived workflows answer 409 "
      "workflow_not_runnable.";
  for (const auto& [path, operation] :
       {std::pair{base + "/:id/runs", "dispatchRun"}, std::pair{base + "/:id/run", "dispatchRunShort"}}) {
    router.Add({Method::Post, path, Role::kEditor, bind(Dispatch),
                {.summary = path.ends_with("/run") ? "Dispatch a run (same as POST .../runs)"
                                                   : "Dispatch a run",
                 .tag = "Runs",
                 .operation_id = operation,
                 .parameters = {"IdempotencyKey"},
                 .request = {{.schema = "DispatchRequest"}},
                 .responses = dispatched,
                 .errors = {409},
                 .description = dispatch_description}});
  }
  router.Add({Method::Get, base + "/:id/runs", Role::kViewer, bind(ListWorkflowRuns),
              {.summary = "List a workflow's runs",
               .tag = "Runs",
               .operation_id = "listWorkflowRuns",
               .parameters = {"RunStatusFilter", "Limit", "Offset"},
               .responses = {{.content = {{.schema = "RunList"}}}},
               .description = "Newest dispatched first."}});
  router.Add({Method::Get, base + "/runs", Role::kViewer, bind(SearchRuns),
              {.summary = "Search the organisation's runs",
               .tag = "Runs",
               .operation_id = "searchRuns",
               .parameters = {"WorkflowIdFilter", "RunStatusFilter", "RunRange", "RunSince",
                              "RunUntil", "RunTextQuery", "RunSort", "Limit", "Offset"},
               .responses = {{.content = {{.schema = "RunList"}}}},
               .description = "since/until and range filter on the dispatch time. sort "
                              "-started_at (default) and started_at order by dispatch, "
                              "which is the order runs of a workflow start in."}});
  router.Add({Method::Get, base + "/runs/:run_id", Role::kViewer, bind(GetRun),
              {.summary = "Get a run with its steps",
               .tag = "Runs",
               .operation_id = "getRun",
               .responses = {{.content = {{.schema = "RunDetail"}}}}}});
}

}  // namespace ledgerflow::api
