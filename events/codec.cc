#include "events/codec.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.h"
#include "core/time_format.h"

namespace ledgerflow::events {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag;

// Refuses to write invalid UTF-8 (e.g. a lone low surrogate "\udc00", which the
// parser decodes to bytes that it would itself reject on the next parse).
using CanonicalWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;
using PlainWriter = rapidjson::Writer<rapidjson::StringBuffer>;

Status Malformed(std::string what) {
  return InvalidArgument(std::move(what)).WithReason("malformed_json");
}

// Serializes a parsed value canonically; false on invalid UTF-8 or excessive depth.
StatusOr<std::string> WriteCanonical(const rapidjson::Value& value) {
  if (json::Depth(value) > json::kMaxDepth) {
    return Malformed("JSON nested deeper than " + std::to_string(json::kMaxDepth) +
                     " levels");
  }
  rapidjson::StringBuffer buffer;
  CanonicalWriter writer(buffer);
  if (!value.Accept(writer)) return Malformed("JSON string is not valid UTF-8");
  return std::string(buffer.GetString(), buffer.GetSize());
}

void Str(PlainWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Writes every field up to and including prev_hash, leaving the object open.
void WriteEnvelope(PlainWriter& w, const Event& e) {
  w.StartObject();
  w.Key("position");
  w.Uint64(e.position);
  w.Key("stream");
  Str(w, e.stream);
  w.Key("stream_version");
  w.Uint64(e.stream_version);
  w.Key("type");
  Str(w, e.type);
  w.Key("schema_version");
  w.Int(e.schema_version);
  w.Key("org");
  Str(w, e.org);
  w.Key("actor");
  Str(w, e.actor);
  w.Key("at");
  Str(w, core::FormatRfc3339Millis(e.at_ms));
  w.Key("request_id");
  Str(w, e.request_id);
  if (e.causation.has_value()) {
    w.Key("causation");
    w.Uint64(*e.causation);
  }
  w.Key("data");
  if (e.data.empty()) {
    w.RawValue("{}", 2, rapidjson::kObjectType);
  } else {
    w.RawValue(e.data.data(), e.data.size(), rapidjson::kObjectType);
  }
  w.Key("prev_hash");
  Str(w, e.prev_hash);
}

Status Field(std::string_view name, const char* expected) {
  return InvalidArgument("event field '" + std::string(name) + "' is missing or not " +
                         expected);
}

}  // namespace

StatusOr<std::string> CanonicalizeJson(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return Malformed("Malformed JSON at offset " + std::to_string(doc.GetErrorOffset()) +
                     ": " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return WriteCanonical(doc);
}

std::string CanonicalBytes(const Event& event) {
  rapidjson::StringBuffer buffer;
  PlainWriter w(buffer);
  WriteEnvelope(w, event);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string EncodeEvent(const Event& event) {
  rapidjson::StringBuffer buffer;
  PlainWriter w(buffer);
  WriteEnvelope(w, event);
  w.Key("hash");
  Str(w, event.hash);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string EncodeWithHash(std::string_view canonical, std::string_view hash) {
  // canonical ends with the '}' closing the envelope; the hash goes before it. A hex
  // hash needs no escaping.
  std::string line;
  line.reserve(canonical.size() + hash.size() + 12);
  line.append(canonical.substr(0, canonical.empty() ? 0 : canonical.size() - 1));
  line.append(",\"hash\":\"");
  line.append(hash);
  line.append("\"}");
  return line;
}

StatusOr<Event> DecodeEvent(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse<kParseFlags>(line.data(), line.size());
  if (doc.HasParseError()) {
    return InvalidArgument("event is not valid JSON at offset " +
                           std::to_string(doc.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return InvalidArgument("event is not a JSON object");

  Event e;
  auto get_u64 = [&](const char* name, uint64_t* out) -> Status {
    const json::Value* v = json::Find(doc, name);
    if (!v || !v->IsUint64()) return Field(name, "an unsigned integer");
    *out = v->GetUint64();
    return Status::Ok();
  };
  auto get_str = [&](const char* name, std::string* out) -> Status {
    const json::Value* v = json::Find(doc, name);
    if (!v || !v->IsString()) return Field(name, "a string");
    out->assign(v->GetString(), v->GetStringLength());
    return Status::Ok();
  };
  LF_RETURN_IF_ERROR(get_u64("position", &e.position));
  LF_RETURN_IF_ERROR(get_str("stream", &e.stream));
  LF_RETURN_IF_ERROR(get_u64("stream_version", &e.stream_version));
  LF_RETURN_IF_ERROR(get_str("type", &e.type));
  const json::Value* schema = json::Find(doc, "schema_version");
  if (!schema || !schema->IsInt()) return Field("schema_version", "an integer");
  e.schema_version = schema->GetInt();
  LF_RETURN_IF_ERROR(get_str("org", &e.org));
  LF_RETURN_IF_ERROR(get_str("actor", &e.actor));
  std::string at;
  LF_RETURN_IF_ERROR(get_str("at", &at));
  StatusOr<int64_t> at_ms = core::ParseRfc3339(at);
  if (!at_ms.ok()) return InvalidArgument("event field 'at': " + at_ms.status().message());
  e.at_ms = *at_ms;
  LF_RETURN_IF_ERROR(get_str("request_id", &e.request_id));
  if (const json::Value* c = json::Find(doc, "causation"); c && !c->IsNull()) {
    if (!c->IsUint64()) return Field("causation", "an unsigned integer");
    e.causation = c->GetUint64();
  }
  const json::Value* data = json::Find(doc, "data");
  if (!data || !data->IsObject()) return Field("data", "an object");
  StatusOr<std::string> canonical = WriteCanonical(*data);
  if (!canonical.ok()) return InvalidArgument("event field 'data': " + canonical.status().message());
  e.data = std::move(canonical).value();
  LF_RETURN_IF_ERROR(get_str("prev_hash", &e.prev_hash));
  LF_RETURN_IF_ERROR(get_str("hash", &e.hash));
  return e;
}

}  // namespace ledgerflow::events
