#include "api/request_parsing.h"

#include <algorithm>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "events/chain.h"
#include <charconv>

namespace ledgerflow::api {
namespace {

Status BadField(const char* field, const char* expected, const json::Value& got) {
  return InvalidArgument(std::string("'") + field + "' must be " + expected + ", got " +
                         json::TypeName(got))
      .WithReason("invalid_field");
}

}  // namespace

StatusOr<json::Document> ParseObjectBody(const ApiRequest& request) {
  if (request.body().empty()) {
    return InvalidArgument("The request body must be a JSON object").WithReason("invalid_body");
  }
  // I-JSON (RFC 7493): what a JavaScript client reads back must be what was stored and
  // hashed.
  if (auto pointer = json::FindNonInteroperableNumber(request.body())) {
    return InvalidArgument("The number at " + *pointer +
                           " is out of range: integers must be within +-(2^53-1) and "
                           "numbers within a double's range (RFC 7493)")
        .WithReason("number_out_of_range");
  }
  auto doc = json::Parse(request.body());
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) {
    return InvalidArgument(std::string("The request body must be a JSON object, got ") +
                           json::TypeName(*doc))
        .WithReason("invalid_body");
  }
  if (auto duplicate = json::FindDuplicateKey(*doc)) {
    return InvalidArgument("The body has the member '" + duplicate->name + "' twice in " +
                           (duplicate->object_pointer.empty()
                                ? std::string("its top-level object")
                                : "the object at " + duplicate->object_pointer))
        .WithReason("invalid_body");
  }
  return doc;
}

Status RefuseUnknownFields(const json::Value& body,
                           std::initializer_list<std::string_view> known) {
  for (const auto& m : body.GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return InvalidArgument("Unknown field '" + std::string(name) + "'")
          .WithReason("invalid_body");
    }
  }
  return Status::Ok();
}

StatusOr<std::optional<std::string>> OptionalString(const json::Value& body, const char* field) {
  const json::Value* v = json::Find(body, field);
  if (v == nullptr || v->IsNull()) return std::optional<std::string>();
  if (!v->IsString()) return BadField(field, "a string", *v);
  return std::optional<std::string>(std::string(v->GetString(), v->GetStringLength()));
}

StatusOr<std::optional<int64_t>> OptionalInt(const json::Value& body, const char* field) {
  const json::Value* v = json::Find(body, field);
  if (v == nullptr || v->IsNull()) return std::optional<int64_t>();
  if (!v->IsInt64()) return BadField(field, "an integer", *v);
  return std::optional<int64_t>(v->GetInt64());
}

StatusOr<std::optional<std::vector<std::string>>> OptionalStringArray(const json::Value& body,
                                                                      const char* field) {
  const json::Value* v = json::Find(body, field);
  if (v == nullptr || v->IsNull()) return std::optional<std::vector<std::string>>();
  if (!v->IsArray()) return BadField(field, "an array of strings", *v);
  std::vector<std::string> out;
  for (const auto& e : v->GetArray()) {
    if (!e.IsString()) return BadField(field, "an array of strings", *v);
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

StatusOr<int64_t> ParseInt(std::string_view text, const char* what, int64_t min, int64_t max) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min || value > max) {
    return InvalidArgument(std::string("'") + what + "' must be an integer from " +
                           std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                           std::string(text.substr(0, 64)) + "'")
        .WithReason("invalid_parameter");
  }
  return value;
}

StatusOr<int64_t> QueryInt(const ApiRequest& request, const char* name, int64_t fallback,
                           int64_t min, int64_t max) {
  auto v = request.query(name);
  if (!v) return fallback;
  return ParseInt(*v, name, min, max);
}

StatusOr<int64_t> RequiredQueryInt(const ApiRequest& request, const char* name, int64_t min,
                                   int64_t max) {
  auto v = request.query(name);
  if (!v) {
    return InvalidArgument(std::string("Query parameter '") + name + "' is required")
        .WithReason("invalid_parameter");
  }
  return ParseInt(*v, name, min, max);
}

StatusOr<std::optional<int64_t>> IfMatchVersion(const ApiRequest& request) {
  auto h = request.header("If-Match");
  if (!h) return std::optional<int64_t>();
  std::string_view v = *h;
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v == "*") return std::optional<int64_t>();
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto n = ParseInt(v, "If-Match", 1, INT64_MAX);
  if (!n.ok()) {
    return InvalidArgument("If-Match must be a workflow version ETag such as \"3\"")
        .WithReason("invalid_parameter");
  }
  return std::optional<int64_t>(*n);
}

StatusOr<std::optional<int64_t>> ExpectedVersion(const ApiRequest& request,
                                                 const json::Value* body) {
  auto header = IfMatchVersion(request);
  if (!header.ok()) return header.status();
  std::optional<int64_t> in_body;
  if (body != nullptr) {
    auto v = OptionalInt(*body, "expected_version");
    if (!v.ok()) return v.status();
    if (*v && **v < 1) {
      return InvalidArgument("'expected_version' must be a workflow version (1 or more), got " +
                             std::to_string(**v))
          .WithReason("invalid_field");
    }
    in_body = *v;
  }
  if (*header && in_body && **header != *in_body) {
    return InvalidArgument("If-Match and expected_version disagree").WithReason("invalid_body");
  }
  return *header ? *header : in_body;
}

namespace {

void WriteSorted(const json::Value& v, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  if (v.IsObject()) {
    std::vector<const json::Value::Member*> members;
    for (const auto& m : v.GetObject()) members.push_back(&m);
    std::sort(members.begin(), members.end(), [](const auto* x, const auto* y) {
      return std::string_view(x->name.GetString(), x->name.GetStringLength()) <
             std::string_view(y->name.GetString(), y->name.GetStringLength());
    });
    w.StartObject();
    for (const auto* m : members) {
      w.String(m->name.GetString(), m->name.GetStringLength());
      WriteSorted(m->value, w);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& item : v.GetArray()) WriteSorted(item, w);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

}  // namespace

std::string Fingerprint(const json::Value& v) {
  rapidjson::StringBuffer b;
  rapidjson::Writer<rapidjson::StringBuffer> w(b);
  WriteSorted(v, w);
  return events::Sha256Hex(std::string_view(b.GetString(), b.GetSize()));
}

bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag) {
  auto opaque = [](std::string_view tag) {
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  const std::string_view want = opaque(etag);
  while (!if_none_match.empty()) {
    size_t comma = if_none_match.find(',');
    std::string_view tag = opaque(if_none_match.substr(0, comma));
    if (tag == "*" || (!tag.empty() && tag == want)) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

StatusOr<std::optional<std::string>> IdempotencyKeyHeader(const ApiRequest& request) {
  auto key = request.header("Idempotency-Key");
  if (!key) return std::optional<std::string>();
  bool visible = !key->empty() && key->size() <= 255 &&
                 std::all_of(key->begin(), key->end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!visible) {
    return InvalidArgument("'Idempotency-Key' must be 1 to 255 visible ASCII characters")
        .WithReason("invalid_header");
  }
  return key;
}

}  // namespace ledgerflow::api
