#include "api/openapi.h"

#include <map>

#include "core/json.h"

namespace ledgerflow::api {
namespace {

std::string LowerMethod(Pistache::Http::Method m) {
  std::string s = Pistache::Http::methodString(m);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parameters that the handlers read as integers (request_parsing.h); the rest are text.
bool IsIntegerParameter(std::string_view name) {
  for (std::string_view n : {"limit", "offset", "version", "v1", "v2", "after"}) {
    if (name == n) return true;
  }
  return false;
}

json::Value Parameter(const std::string& name, const char* in, bool required,
                      json::Allocator& a) {
  json::Value p(rapidjson::kObjectType);
  p.AddMember("name", json::String(name, a), a);
  p.AddMember("in", rapidjson::StringRef(in), a);
  p.AddMember("required", required, a);
  json::Value schema(rapidjson::kObjectType);
  schema.AddMember("type", rapidjson::StringRef(IsIntegerParameter(name) ? "integer" : "string"),
                   a);
  p.AddMember("schema", schema, a);
  return p;
}

json::Value IfMatchParameter(json::Allocator& a) {
  json::Value p = Parameter("If-Match", "header", false, a);
  p.AddMember("description",
              "The workflow version the change is based on, as its ETag (\"3\"); a stale "
              "one answers 409 version_conflict. Or expected_version in the body.",
              a);
  return p;
}

json::Value JsonContent(const char* ref, json::Allocator& a) {
  json::Value schema(rapidjson::kObjectType);
  if (ref) {
    schema.AddMember("$ref", rapidjson::StringRef(ref), a);
  } else {
    schema.AddMember("type", "object", a);
  }
  json::Value media(rapidjson::kObjectType);
  media.AddMember("schema", schema, a);
  json::Value content(rapidjson::kObjectType);
  content.AddMember("application/json", media, a);
  return content;
}

}  // namespace

std::string OpenApiPath(std::string_view pattern) {
  std::string out;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':') {
      size_t j = pattern.find('/', i);
      if (j == std::string_view::npos) j = pattern.size();
      out += "{" + std::string(pattern.substr(i + 1, j - i - 1)) + "}";
      i = j;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

std::string OpenApiDocument(const Router& router) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("openapi", "3.0.3", a);
  json::Value info(rapidjson::kObjectType);
  info.AddMember("title", "Ledgerflow API", a);
  info.AddMember("version", "0.1.0", a);
  info.AddMember("description",
                 "Event-sourced workflow backend with versioned definitions. Every write is an "
                 "event in a hash-chained log; reads come from projections of it.",
                 a);
  doc.AddMember("info", info, a);

  // Ordered map so the document is stable.
  std::map<std::string, std::vector<const Route*>> by_path;
  for (const Route& r : router.routes()) by_path[OpenApiPath(r.pattern)].push_back(&r);

  json::Value paths(rapidjson::kObjectType);
  for (const auto& [path, routes] : by_path) {
    json::Value item(rapidjson::kObjectType);
    for (const Route* r : routes) {
      json::Value op(rapidjson::kObjectType);
      op.AddMember("summary", json::String(r->doc.summary, a), a);
      json::Value tags(rapidjson::kArrayType);
      tags.PushBack(json::String(r->doc.tag.empty() ? "System" : r->doc.tag, a), a);
      op.AddMember("tags", tags, a);
      json::Value params(rapidjson::kArrayType);
      for (size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '{') continue;
        size_t j = path.find('}', i);
        params.PushBack(Parameter(path.substr(i + 1, j - i - 1), "path", true, a), a);
      }
      for (const auto& q : r->doc.query_params) params.PushBack(Parameter(q, "query", false, a), a);
      if (r->doc.takes_if_match) params.PushBack(IfMatchParameter(a), a);
      op.AddMember("parameters", params, a);
      if (r->doc.has_body) {
        json::Value body(rapidjson::kObjectType);
        body.AddMember("required", true, a);
        body.AddMember("content", JsonContent(nullptr, a), a);
        op.AddMember("requestBody", body, a);
      }
      json::Value responses(rapidjson::kObjectType);
      json::Value ok(rapidjson::kObjectType);
      ok.AddMember("description", "Success", a);
      ok.AddMember("content", JsonContent(nullptr, a), a);
      responses.AddMember(json::String(std::to_string(r->doc.success_code), a), ok, a);
      json::Value err(rapidjson::kObjectType);
      err.AddMember("description", "Error envelope", a);
      err.AddMember("content", JsonContent("#/components/schemas/Error", a), a);
      responses.AddMember("default", err, a);
      op.AddMember("responses", responses, a);
      if (r->min_role) {
        json::Value security(rapidjson::kArrayType);
        json::Value req(rapidjson::kObjectType);
        req.AddMember("bearer", json::Value(rapidjson::kArrayType), a);
        security.PushBack(req, a);
        op.AddMember("security", security, a);
        op.AddMember("x-min-role", rapidjson::StringRef(core::RoleName(*r->min_role)), a);
      } else {
        op.AddMember("security", json::Value(rapidjson::kArrayType), a);
      }
      item.AddMember(json::String(LowerMethod(r->method), a), op, a);
    }
    paths.AddMember(json::String(path, a), item, a);
  }
  doc.AddMember("paths", paths, a);

  auto components = json::Parse(R"({
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                   "description": "lf_<key_id>_<secret>"}},
    "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "object",
      "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                     "details": {"type": "array", "items": {"type": "string"}},
                     "request_id": {"type": "string"}}}}}}})");
  json::Value c;
  c.CopyFrom(*components, a);
  doc.AddMember("components", c, a);
  return json::Serialize(doc);
}

}  // namespace ledgerflow::api
