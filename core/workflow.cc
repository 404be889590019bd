#include "core/workflow.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_patch.h"

namespace ledgerflow::core {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagLength = 64;
constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxDescriptionLength = 4000;
constexpr size_t kMaxChangeSummaryLength = 1000;

void Key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void Str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void StrField(Writer& w, std::string_view k, std::string_view v) { Key(w, k); Str(w, v); }
void Tags(Writer& w, const std::vector<std::string>& tags) {
  w.StartArray();
  for (const auto& t : tags) Str(w, t);
  w.EndArray();
}
// Embeds already-serialized JSON text.
void RawJson(Writer& w, std::string_view json_text) {
  w.RawValue(json_text.data(), json_text.size(), rapidjson::kObjectType);
}
std::string Done(rapidjson::StringBuffer& b) { return std::string(b.GetString(), b.GetSize()); }

std::string ToString(const json::Value& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

std::vector<std::string> StringArray(const json::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  for (const auto& e : v.GetArray()) out.push_back(ToString(e));
  return out;
}

Status CheckTags(const json::Value& tags, std::vector<std::string>* out) {
  if (!tags.IsArray()) return InvalidArgument("'tags' must be an array of strings");
  if (tags.Size() > kMaxTags) {
    return InvalidArgument("'tags' holds at most " + std::to_string(kMaxTags) + " tags");
  }
  out->clear();
  for (const auto& t : tags.GetArray()) {
    if (!t.IsString() || t.GetStringLength() == 0 || t.GetStringLength() > kMaxTagLength) {
      return InvalidArgument("each tag must be a non-empty string of at most " +
                             std::to_string(kMaxTagLength) + " characters");
    }
    out->push_back(ToString(t));
  }
  return Status::Ok();
}

Status CheckText(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) {
    return InvalidArgument("'" + std::string(field) + "' is longer than " +
                           std::to_string(max) + " characters");
  }
  return Status::Ok();
}

Status RequireDefinition(const json::Value* definition, const ValidationOptions& options) {
  if (definition == nullptr) return InvalidArgument("'definition' is required");
  return CheckDefinition(*definition, options);
}

Status CheckExpected(const WorkflowState& state, std::optional<int64_t> expected) {
  if (expected && *expected != state.version) {
    return Conflict("Workflow " + state.id + " is at version " +
                    std::to_string(state.version) + ", not " + std::to_string(*expected))
        .WithReason("version_conflict");
  }
  return Status::Ok();
}

Status CheckExists(const WorkflowState& state) {
  if (!state.exists()) return NotFound("Workflow not found").WithReason("not_found");
  return Status::Ok();
}

PendingEvent VersionCreated(int64_t version, const json::Value& definition,
                            std::string_view change_summary,
                            std::optional<int64_t> rollback_of) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  Key(w, "version");
  w.Int64(version);
  Key(w, "definition");
  definition.Accept(w);
  StrField(w, "change_summary", change_summary);
  if (rollback_of) {
    Key(w, "rollback_of");
    w.Int64(*rollback_of);
  }
  w.EndObject();
  return {std::string(kWorkflowVersionCreated), Done(b)};
}

bool SameDefinition(const WorkflowState& state, const json::Value& definition) {
  auto current = json::Parse(state.definition);
  return current.ok() && *current == definition;
}

}  // namespace

std::string WorkflowStream(std::string_view workflow_id) {
  return "workflow-" + std::string(workflow_id);
}

bool IsWorkflowStatus(std::string_view s) {
  return s == "draft" || s == "active" || s == "paused" || s == "archived";
}

bool IsTriggerType(std::string_view t) {
  return t == "manual" || t == "schedule" || t == "webhook";
}

std::optional<VersionRecord> EvolveWorkflow(WorkflowState& state, std::string_view type,
                                            const json::Value& data, const EventMeta& meta) {
  state.stream_version = meta.stream_version;
  state.updated_at_ms = meta.at_ms;
  state.updated_by = std::string(meta.actor);
  std::optional<VersionRecord> record;
  auto definition_of = [&]() {
    const json::Value* d = json::Find(data, "definition");
    return d ? json::Serialize(*d) : std::string("{}");
  };

  if (type == kWorkflowCreated) {
    state.id = json::GetString(data, "id").value_or("");
    state.name = json::GetString(data, "name").value_or("");
    state.description = json::GetString(data, "description").value_or("");
    state.project_id = json::GetString(data, "project_id").value_or("");
    state.trigger_type = json::GetString(data, "trigger_type").value_or("manual");
    state.status = json::GetString(data, "status").value_or("active");
    if (const auto* tags = json::Find(data, "tags")) state.tags = StringArray(*tags);
    state.definition = definition_of();
    state.version = 1;
    state.created_position = meta.position;
    state.created_at_ms = meta.at_ms;
    state.created_by = std::string(meta.actor);
    state.deleted = false;
    record = VersionRecord{1, state.definition,
                           json::GetString(data, "change_summary").value_or("Created"),
                           meta.at_ms, std::string(meta.actor), std::nullopt};
  } else if (type == kWorkflowVersionCreated) {
    state.definition = definition_of();
    state.version = json::GetInt(data, "version").value_or(state.version + 1);
    record = VersionRecord{state.version, state.definition,
                           json::GetString(data, "change_summary").value_or(""), meta.at_ms,
                           std::string(meta.actor), json::GetInt(data, "rollback_of")};
  } else if (type == kWorkflowDetailsChanged) {
    if (auto v = json::GetString(data, "name")) state.name = *v;
    if (auto v = json::GetString(data, "description")) state.description = *v;
    if (auto v = json::GetString(data, "project_id")) state.project_id = *v;
    if (auto v = json::GetString(data, "trigger_type")) state.trigger_type = *v;
    if (const auto* tags = json::Find(data, "tags")) state.tags = StringArray(*tags);
  } else if (type == kWorkflowStatusChanged) {
    if (auto v = json::GetString(data, "to")) state.status = *v;
  } else if (type == kWorkflowDeleted) {
    state.deleted = true;
  }
  return record;
}

StatusOr<std::vector<PendingEvent>> DecideCreate(const CreateWorkflow& c,
                                                 const ValidationOptions& options) {
  LF_RETURN_IF_ERROR(RequireDefinition(c.definition, options));
  std::string name = c.name.value_or(json::GetString(*c.definition, "name").value_or(""));
  if (name.empty()) return InvalidArgument("'name' must be a non-empty string");
  LF_RETURN_IF_ERROR(CheckText("name", name, kMaxNameLength));
  LF_RETURN_IF_ERROR(CheckText("description", c.description, kMaxDescriptionLength));
  LF_RETURN_IF_ERROR(CheckText("change_summary", c.change_summary, kMaxChangeSummaryLength));
  if (!IsTriggerType(c.trigger_type)) {
    return InvalidArgument("'trigger_type' must be one of manual, schedule, webhook");
  }
  if (c.status != "draft" && c.status != "active") {
    return InvalidArgument("'status' at creation must be draft or active");
  }
  if (c.tags.size() > kMaxTags) return InvalidArgument("too many tags");

  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  StrField(w, "id", c.id);
  StrField(w, "name", name);
  StrField(w, "description", c.description);
  StrField(w, "project_id", c.project_id);
  StrField(w, "trigger_type", c.trigger_type);
  Key(w, "tags");
  Tags(w, c.tags);
  StrField(w, "status", c.status);
  Key(w, "definition");
  c.definition->Accept(w);
  StrField(w, "change_summary", c.change_summary.empty() ? "Created" : c.change_summary);
  w.EndObject();
  return std::vector<PendingEvent>{{std::string(kWorkflowCreated), Done(b)}};
}

StatusOr<std::vector<PendingEvent>> DecideUpdate(const WorkflowState& state,
                                                 const UpdateDefinition& c,
                                                 const ValidationOptions& options) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, c.expected_version));
  LF_RETURN_IF_ERROR(RequireDefinition(c.definition, options));
  LF_RETURN_IF_ERROR(CheckText("change_summary", c.change_summary, kMaxChangeSummaryLength));
  if (SameDefinition(state, *c.definition)) return std::vector<PendingEvent>{};
  return std::vector<PendingEvent>{
      VersionCreated(state.version + 1, *c.definition, c.change_summary, std::nullopt)};
}

StatusOr<std::vector<PendingEvent>> DecidePatch(const WorkflowState& state,
                                                const json::Value& patch,
                                                std::optional<int64_t> expected_version,
                                                const ValidationOptions& options) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, expected_version));
  if (!patch.IsObject()) return InvalidArgument("A merge patch must be a JSON object");
  static constexpr std::array<std::string_view, 7> kPatchable = {
      "name", "description", "tags", "trigger_type", "project_id", "definition",
      "change_summary"};
  for (const auto& m : patch.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    if (std::find(kPatchable.begin(), kPatchable.end(), key) == kPatchable.end()) {
      return InvalidArgument("'" + std::string(key) +
                             "' cannot be patched here (patchable: name, description, tags, "
                             "trigger_type, project_id, definition; status has its own route)");
    }
  }

  std::vector<PendingEvent> out;
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  bool details_changed = false;
  auto text_field = [&](std::string_view field, const std::string& current, size_t max,
                        bool allow_empty) -> Status {
    const json::Value* v = json::Find(patch, field);
    if (v == nullptr) return Status::Ok();
    std::string next = v->IsNull() ? std::string() : ToString(*v);
    if (!v->IsNull() && !v->IsString()) {
      return InvalidArgument("'" + std::string(field) + "' must be a string");
    }
    if (!allow_empty && next.empty()) {
      return InvalidArgument("'" + std::string(field) + "' must be a non-empty string");
    }
    LF_RETURN_IF_ERROR(CheckText(field, next, max));
    if (next != current) {
      StrField(w, field, next);
      details_changed = true;
    }
    return Status::Ok();
  };
  LF_RETURN_IF_ERROR(text_field("name", state.name, kMaxNameLength, false));
  LF_RETURN_IF_ERROR(text_field("description", state.description, kMaxDescriptionLength, true));
  LF_RETURN_IF_ERROR(text_field("project_id", state.project_id, kMaxNameLength, true));
  if (const json::Value* t = json::Find(patch, "trigger_type")) {
    if (!t->IsString() || !IsTriggerType(ToString(*t))) {
      return InvalidArgument("'trigger_type' must be one of manual, schedule, webhook");
    }
    if (ToString(*t) != state.trigger_type) {
      StrField(w, "trigger_type", ToString(*t));
      details_changed = true;
    }
  }
  if (const json::Value* t = json::Find(patch, "tags")) {
    std::vector<std::string> tags;
    if (!t->IsNull()) LF_RETURN_IF_ERROR(CheckTags(*t, &tags));
    if (tags != state.tags) {
      Key(w, "tags");
      Tags(w, tags);
      details_changed = true;
    }
  }
  w.EndObject();
  if (details_changed) out.push_back({std::string(kWorkflowDetailsChanged), Done(b)});

  if (const json::Value* d = json::Find(patch, "definition")) {
    // Merge the patch into the current definition (RFC 7396).
    auto current = json::Parse(state.definition);
    if (!current.ok()) return current.status();
    json::Document merged = std::move(*current);
    LF_RETURN_IF_ERROR(ApplyMergePatch(merged, *d));
    LF_RETURN_IF_ERROR(CheckDefinition(merged, options));
    if (!SameDefinition(state, merged)) {
      std::string summary = json::GetString(patch, "change_summary").value_or("");
      out.push_back(VersionCreated(state.version + 1, merged, summary, std::nullopt));
    }
  }
  return out;
}

StatusOr<std::vector<PendingEvent>> DecideStatus(const WorkflowState& state,
                                                 std::string_view new_status) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  if (!IsWorkflowStatus(new_status)) {
    return InvalidArgument("'status' must be one of draft, active, paused, archived");
  }
  if (new_status == state.status) return std::vector<PendingEvent>{};
  if (state.status == "archived" && new_status == "draft") {
    return Conflict("An archived workflow cannot go back to draft")
        .WithReason("invalid_transition");
  }
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  StrField(w, "from", state.status);
  StrField(w, "to", new_status);
  w.EndObject();
  return std::vector<PendingEvent>{{std::string(kWorkflowStatusChanged), Done(b)}};
}

StatusOr<std::vector<PendingEvent>> DecideDelete(const WorkflowState& state) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  return std::vector<PendingEvent>{{std::string(kWorkflowDeleted), "{}"}};
}

StatusOr<std::vector<PendingEvent>> DecideRollback(const WorkflowState& state,
                                                   const VersionRecord& target,
                                                   std::string change_summary,
                                                   std::optional<int64_t> expected_version) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, expected_version));
  LF_RETURN_IF_ERROR(CheckText("change_summary", change_summary, kMaxChangeSummaryLength));
  auto definition = json::Parse(target.definition);
  if (!definition.ok()) return DataLoss("Stored definition of version " +
                                        std::to_string(target.version) + " is unreadable");
  if (SameDefinition(state, *definition)) return std::vector<PendingEvent>{};
  if (change_summary.empty()) {
    change_summary = "Rollback to version " + std::to_string(target.version);
  }
  return std::vector<PendingEvent>{
      VersionCreated(state.version + 1, *definition, change_summary, target.version)};
}

std::string EncodeWorkflowState(const WorkflowState& s) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  StrField(w, "id", s.id);
  StrField(w, "name", s.name);
  StrField(w, "description", s.description);
  StrField(w, "project_id", s.project_id);
  StrField(w, "trigger_type", s.trigger_type);
  StrField(w, "status", s.status);
  Key(w, "tags");
  Tags(w, s.tags);
  Key(w, "definition");
  RawJson(w, s.definition.empty() ? "{}" : s.definition);
  Key(w, "version");
  w.Int64(s.version);
  Key(w, "stream_version");
  w.Uint64(s.stream_version);
  Key(w, "created_position");
  w.Uint64(s.created_position);
  Key(w, "created_at_ms");
  w.Int64(s.created_at_ms);
  Key(w, "updated_at_ms");
  w.Int64(s.updated_at_ms);
  StrField(w, "created_by", s.created_by);
  StrField(w, "updated_by", s.updated_by);
  Key(w, "deleted");
  w.Bool(s.deleted);
  w.EndObject();
  return Done(b);
}

StatusOr<WorkflowState> DecodeWorkflowState(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return DataLoss("unreadable workflow state: " + doc.status().message());
  const json::Value& d = *doc;
  WorkflowState s;
  s.id = json::GetString(d, "id").value_or("");
  s.name = json::GetString(d, "name").value_or("");
  s.description = json::GetString(d, "description").value_or("");
  s.project_id = json::GetString(d, "project_id").value_or("");
  s.trigger_type = json::GetString(d, "trigger_type").value_or("manual");
  s.status = json::GetString(d, "status").value_or("active");
  if (const auto* tags = json::Find(d, "tags")) s.tags = StringArray(*tags);
  if (const auto* def = json::Find(d, "definition")) s.definition = json::Serialize(*def);
  s.version = json::GetInt(d, "version").value_or(0);
  s.stream_version = static_cast<uint64_t>(json::GetInt(d, "stream_version").value_or(0));
  s.created_position = static_cast<uint64_t>(json::GetInt(d, "created_position").value_or(0));
  s.created_at_ms = json::GetInt(d, "created_at_ms").value_or(0);
  s.updated_at_ms = json::GetInt(d, "updated_at_ms").value_or(0);
  s.created_by = json::GetString(d, "created_by").value_or("");
  s.updated_by = json::GetString(d, "updated_by").value_or("");
  s.deleted = json::GetBool(d, "deleted").value_or(false);
  return s;
}

std::string EncodeVersionRecord(const VersionRecord& r) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  Key(w, "version");
  w.Int64(r.version);
  Key(w, "definition");
  RawJson(w, r.definition.empty() ? "{}" : r.definition);
  StrField(w, "change_summary", r.change_summary);
  Key(w, "created_at_ms");
  w.Int64(r.created_at_ms);
  StrField(w, "created_by", r.created_by);
  if (r.rollback_of) {
    Key(w, "rollback_of");
    w.Int64(*r.rollback_of);
  }
  w.EndObject();
  return Done(b);
}

StatusOr<VersionRecord> DecodeVersionRecord(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return DataLoss("unreadable version record: " + doc.status().message());
  const json::Value& d = *doc;
  VersionRecord r;
  r.version = json::GetInt(d, "version").value_or(0);
  if (const auto* def = json::Find(d, "definition")) r.definition = json::Serialize(*def);
  r.change_summary = json::GetString(d, "change_summary").value_or("");
  r.created_at_ms = json::GetInt(d, "created_at_ms").value_or(0);
  r.created_by = json::GetString(d, "created_by").value_or("");
  r.rollback_of = json::GetInt(d, "rollback_of");
  return r;
}

namespace {

void AddString(json::Document& doc, const char* key, std::string_view value) {
  doc.AddMember(rapidjson::StringRef(key), json::String(value, doc.GetAllocator()),
                doc.GetAllocator());
}

void AddTimestamp(json::Document& doc, const char* key, int64_t ms) {
  AddString(doc, key, FormatTimestamp(ms));
}

}  // namespace

json::Document WorkflowSummary(const WorkflowState& s) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  AddString(doc, "id", s.id);
  AddString(doc, "name", s.name);
  doc.AddMember("version", json::Value(s.version), a);
  AddString(doc, "status", s.status);
  AddString(doc, "trigger_type", s.trigger_type);
  json::Value tags(rapidjson::kArrayType);
  for (const auto& t : s.tags) tags.PushBack(json::String(t, a), a);
  doc.AddMember("tags", tags, a);
  AddString(doc, "project_id", s.project_id);
  AddString(doc, "description", s.description);
  AddTimestamp(doc, "created_at", s.created_at_ms);
  AddTimestamp(doc, "updated_at", s.updated_at_ms);
  return doc;
}

json::Document WorkflowObject(const WorkflowState& s, bool with_definition) {
  json::Document doc = WorkflowSummary(s);
  auto& a = doc.GetAllocator();
  if (with_definition) {
    auto def = json::Parse(s.definition.empty() ? "{}" : s.definition);
    json::Value v;
    if (def.ok()) v.CopyFrom(*def, a);
    doc.AddMember("definition", v, a);
  }
  AddString(doc, "created_by", s.created_by);
  AddString(doc, "updated_by", s.updated_by);
  return doc;
}

json::Document VersionObject(const VersionRecord& r, bool with_definition) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("version", json::Value(r.version), a);
  if (with_definition) {
    auto def = json::Parse(r.definition.empty() ? "{}" : r.definition);
    json::Value v;
    if (def.ok()) v.CopyFrom(*def, a);
    doc.AddMember("definition", v, a);
  }
  AddString(doc, "change_summary", r.change_summary);
  AddTimestamp(doc, "created_at", r.created_at_ms);
  AddString(doc, "created_by", r.created_by);
  if (r.rollback_of) doc.AddMember("rollback_of", json::Value(*r.rollback_of), a);
  return doc;
}

std::string FormatTimestamp(int64_t ms) {
  // Howard Hinnant's civil_from_days: exact for the proleptic Gregorian calendar.
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03dZ",
                static_cast<long long>(y), static_cast<long long>(m),
                static_cast<long long>(d), static_cast<long long>(rem / 3600),
                static_cast<long long>((rem % 3600) / 60), static_cast<long long>(rem % 60),
                millis);
  return buf;
}

}  // namespace ledgerflow::core
