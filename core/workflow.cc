#include "core/workflow.h"

#include <algorithm>
#include <array>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json_patch.h"
#include "core/utf8.h"

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

Status CheckTagList(const std::vector<std::string>& tags) {
  if (tags.size() > kMaxTags) {
    return InvalidArgument("'tags' holds at most " + std::to_string(kMaxTags) + " tags");
  }
  for (const std::string& t : tags) {
    if (t.empty() || (t.size() > kMaxTagLength && utf8::CodePoints(t) > kMaxTagLength)) {
      return InvalidArgument("each tag must be a non-empty string of at most " +
                             std::to_string(kMaxTagLength) + " characters");
    }
  }
  return Status::Ok();
}

Status CheckTags(const json::Value& tags, std::vector<std::string>* out) {
  if (!tags.IsArray()) return InvalidArgument("'tags' must be an array of strings");
  out->clear();
  for (const auto& t : tags.GetArray()) {
    if (!t.IsString()) return InvalidArgument("'tags' must be an array of strings");
    out->push_back(ToString(t));
  }
  return CheckTagList(*out);
}

Status CheckText(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max && utf8::CodePoints(value) > max) {
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
  LF_RETURN_IF_ERROR(CheckText("project_id", c.project_id, kMaxNameLength));
  LF_RETURN_IF_ERROR(CheckTagList(c.tags));

  // Built as a document, then written: the projection folds the document rather
  // than parsing the text again.
  auto doc = std::make_shared<json::Document>();
  doc->SetObject();
  auto& alloc = doc->GetAllocator();
  auto text = [&](std::string_view s) {
    return json::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
  };
  auto add = [&](const char* key, json::Value value) {
    doc->AddMember(rapidjson::StringRef(key), value, alloc);
  };
  add("id", text(c.id));
  add("name", text(name));
  add("description", text(c.description));
  add("project_id", text(c.project_id));
  add("trigger_type", text(c.trigger_type));
  json::Value tags(rapidjson::kArrayType);
  for (const auto& t : c.tags) tags.PushBack(text(t), alloc);
  add("tags", std::move(tags));
  add("status", text(c.status));
  add("definition", json::Value(*c.definition, alloc));
  add("change_summary", text(c.change_summary.empty() ? "Created" : c.change_summary));
  std::string data = json::Serialize(*doc);
  std::vector<PendingEvent> out;
  out.push_back({std::string(kWorkflowCreated), std::move(data), std::move(doc)});
  return out;
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

  std::string summary;
  if (const json::Value* v = json::Find(patch, "change_summary"); v && !v->IsNull()) {
    if (!v->IsString()) return InvalidArgument("'change_summary' must be a string");
    summary = ToString(*v);
    LF_RETURN_IF_ERROR(CheckText("change_summary", summary, kMaxChangeSummaryLength));
  }
  if (const json::Value* d = json::Find(patch, "definition")) {
    // Merge the patch into the current definition (RFC 7396).
    auto current = json::Parse(state.definition);
    if (!current.ok()) return current.status();
    json::Document merged = std::move(*current);
    LF_RETURN_IF_ERROR(ApplyMergePatch(merged, *d));
    LF_RETURN_IF_ERROR(CheckDefinition(merged, options));
    if (!SameDefinition(state, merged)) {
      out.push_back(VersionCreated(state.version + 1, merged, summary, std::nullopt));
    }
  }
  return out;
}

StatusOr<std::vector<PendingEvent>> DecideStatus(const WorkflowState& state,
                                                 std::string_view new_status,
                                                 std::optional<int64_t> expected_version) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, expected_version));
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

StatusOr<std::vector<PendingEvent>> DecideDelete(const WorkflowState& state,
                                                 std::optional<int64_t> expected_version) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, expected_version));
  return std::vector<PendingEvent>{{std::string(kWorkflowDeleted), "{}"}};
}

StatusOr<std::vector<PendingEvent>> DecideRollback(const WorkflowState& state,
                                                   const VersionRecord& target,
                                                   std::string change_summary,
                                                   std::optional<int64_t> expected_version,
                                                   const ValidationOptions& options) {
  LF_RETURN_IF_ERROR(CheckExists(state));
  LF_RETURN_IF_ERROR(CheckExpected(state, expected_version));
  LF_RETURN_IF_ERROR(CheckText("change_summary", change_summary, kMaxChangeSummaryLength));
  auto definition = json::Parse(target.definition);
  if (!definition.ok()) return DataLoss("Stored definition of version " +
                                        std::to_string(target.version) + " is unreadable");
  LF_RETURN_IF_ERROR(CheckDefinition(*definition, options));
  if (SameDefinition(state, *definition)) return std::vector<PendingEvent>{};
  if (change_summary.empty()) {
    change_summary = "Rollback to version " + std::to_string(target.version);
  }
  return std::vector<PendingEvent>{
      VersionCreated(state.version + 1, *definition, change_summary, target.version)};
}

}  // namespace ledgerflow::core
