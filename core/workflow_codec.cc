#include "core/workflow_codec.h"

#include "core/time_format.h"


#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ledgerflow::core {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Key(Writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}
void StrField(Writer& w, std::string_view k, std::string_view v) {
  Key(w, k);
  w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
}
void Tags(Writer& w, const std::vector<std::string>& tags) {
  w.StartArray();
  for (const auto& t : tags) w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
  w.EndArray();
}
// Embeds already-serialized JSON text.
void RawJson(Writer& w, std::string_view json_text) {
  w.RawValue(json_text.data(), json_text.size(), rapidjson::kObjectType);
}
std::string Done(rapidjson::StringBuffer& b) { return std::string(b.GetString(), b.GetSize()); }

std::vector<std::string> StringArray(const json::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  for (const auto& e : v.GetArray()) {
    out.push_back(e.IsString() ? std::string(e.GetString(), e.GetStringLength()) : "");
  }
  return out;
}

}  // namespace

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
  AddString(doc, key, FormatRfc3339Millis(ms));
}

}  // namespace

namespace {

// The summary fields, shared by the list and the full object.
void WriteSummaryFields(Writer& w, const WorkflowState& s) {
  StrField(w, "id", s.id);
  StrField(w, "name", s.name);
  Key(w, "version");
  w.Int64(s.version);
  StrField(w, "status", s.status);
  StrField(w, "trigger_type", s.trigger_type);
  Key(w, "tags");
  Tags(w, s.tags);
  StrField(w, "project_id", s.project_id);
  StrField(w, "description", s.description);
  StrField(w, "created_at", FormatRfc3339Millis(s.created_at_ms));
  StrField(w, "updated_at", FormatRfc3339Millis(s.updated_at_ms));
}

}  // namespace

std::string RenderWorkflowSummary(const WorkflowState& s) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  WriteSummaryFields(w, s);
  w.EndObject();
  return Done(b);
}

std::string RenderWorkflowObject(const WorkflowState& s) {
  rapidjson::StringBuffer b;
  Writer w(b);
  w.StartObject();
  WriteSummaryFields(w, s);
  Key(w, "definition");
  RawJson(w, s.definition.empty() ? "{}" : s.definition);
  StrField(w, "created_by", s.created_by);
  StrField(w, "updated_by", s.updated_by);
  w.EndObject();
  return Done(b);
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

}  // namespace ledgerflow::core
