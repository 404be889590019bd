#include "api/openapi.h"

#include <algorithm>
#include <map>
#include <set>

#include "api/openapi_components.h"
#include "core/json.h"

namespace ledgerflow::api {
namespace {

std::string LowerMethod(Pistache::Http::Method m) {
  std::string s = Pistache::Http::methodString(m);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json::Value Ref(const std::string& kind, const std::string& name, json::Allocator& a) {
  json::Value v(rapidjson::kObjectType);
  v.AddMember("$ref", json::String("#/components/" + kind + "/" + name, a), a);
  return v;
}

json::Value PathParameter(const std::string& name, json::Allocator& a) {
  json::Value p(rapidjson::kObjectType);
  p.AddMember("name", json::String(name, a), a);
  p.AddMember("in", "path", a);
  p.AddMember("required", true, a);
  json::Value schema(rapidjson::kObjectType);
  if (name == "version") {
    schema.AddMember("type", "integer", a);
    schema.AddMember("minimum", 1, a);
    p.AddMember("description", "A version number of the workflow.", a);
  } else {
    schema.AddMember("type", "string", a);
    p.AddMember("description", "The id of the resource (wf_..., key_...).", a);
  }
  p.AddMember("schema", schema, a);
  return p;
}

json::Value Content(const std::vector<MediaDoc>& media, json::Allocator& a) {
  json::Value content(rapidjson::kObjectType);
  for (const MediaDoc& m : media) {
    json::Value item(rapidjson::kObjectType);
    item.AddMember("schema", Ref("schemas", m.schema, a), a);
    content.AddMember(json::String(m.type, a), item, a);
  }
  return content;
}

const char* ErrorResponseName(int status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 413: return "PayloadTooLarge";
    case 503: return "ServiceUnavailable";
  }
  return "InternalError";
}

const char* StatusDescription(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified: the If-None-Match tag is current";
  }
  return "Success";
}

json::Value Operation(const Route& r, const std::string& path, json::Allocator& a) {
  const RouteDoc& doc = r.doc;
  json::Value op(rapidjson::kObjectType);
  op.AddMember("operationId", json::String(doc.operation_id, a), a);
  op.AddMember("summary", json::String(doc.summary, a), a);
  if (!doc.description.empty()) op.AddMember("description", json::String(doc.description, a), a);
  json::Value tags(rapidjson::kArrayType);
  tags.PushBack(json::String(doc.tag.empty() ? "System" : doc.tag, a), a);
  op.AddMember("tags", tags, a);

  json::Value params(rapidjson::kArrayType);
  bool names_resource = false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] != '{') continue;
    size_t j = path.find('}', i);
    params.PushBack(PathParameter(path.substr(i + 1, j - i - 1), a), a);
    names_resource = true;
  }
  for (const auto& name : doc.parameters) params.PushBack(Ref("parameters", name, a), a);
  params.PushBack(Ref("parameters", "RequestId", a), a);
  op.AddMember("parameters", params, a);

  if (!doc.request.empty()) {
    json::Value body(rapidjson::kObjectType);
    body.AddMember("required", true, a);
    body.AddMember("content", Content(doc.request, a), a);
    op.AddMember("requestBody", body, a);
  }

  json::Value responses(rapidjson::kObjectType);
  std::vector<ResponseDoc> successes = doc.responses;
  if (successes.empty()) successes.push_back({});
  for (const ResponseDoc& ok : successes) {
    json::Value resp(rapidjson::kObjectType);
    resp.AddMember("description",
                   json::String(ok.description.empty() ? StatusDescription(ok.status)
                                                       : ok.description,
                                a),
                   a);
    json::Value headers(rapidjson::kObjectType);
    headers.AddMember("X-Request-Id", Ref("headers", "X-Request-Id", a), a);
    for (const auto& h : ok.headers) headers.AddMember(json::String(h, a), Ref("headers", h, a), a);
    resp.AddMember("headers", headers, a);
    if (!ok.content.empty()) resp.AddMember("content", Content(ok.content, a), a);
    responses.AddMember(json::String(std::to_string(ok.status), a), resp, a);
  }
  std::set<int> errors(doc.errors.begin(), doc.errors.end());
  errors.insert(400);
  if (r.min_role) errors.insert({401, 403});
  if (names_resource) errors.insert(404);
  if (!doc.request.empty()) errors.insert(413);
  for (int status : errors) {
    responses.AddMember(json::String(std::to_string(status), a),
                        Ref("responses", ErrorResponseName(status), a), a);
  }
  responses.AddMember("default", Ref("responses", "InternalError", a), a);
  op.AddMember("responses", responses, a);

  json::Value security(rapidjson::kArrayType);
  if (r.min_role) {
    json::Value req(rapidjson::kObjectType);
    req.AddMember("bearer", json::Value(rapidjson::kArrayType), a);
    security.PushBack(req, a);
    op.AddMember("x-min-role", rapidjson::StringRef(core::RoleName(*r.min_role)), a);
  }
  op.AddMember("security", security, a);
  return op;
}

json::Value Tags(json::Allocator& a) {
  static const std::pair<const char*, const char*> kTags[] = {
      {"Workflows", "Workflow definitions: create, read, change, delete; every change is a "
                    "new version and an event."},
      {"Versions", "The version history of a workflow: each version, diffs between any two, "
                   "and rollback."},
      {"Runs", "Runs of workflows: dispatch (idempotent), each run with its steps, and "
               "search."},
      {"Keys", "API keys of the organisation and their roles."},
      {"Audit", "The organisation's event log with its hash chain: pages, export, "
                "verification and the live feed."},
      {"System", "Health, readiness, metrics and this document."},
  };
  json::Value tags(rapidjson::kArrayType);
  for (const auto& [name, description] : kTags) {
    json::Value t(rapidjson::kObjectType);
    t.AddMember("name", rapidjson::StringRef(name), a);
    t.AddMember("description", rapidjson::StringRef(description), a);
    tags.PushBack(t, a);
  }
  return tags;
}

constexpr const char* kDescription =
    "Event-sourced workflow backend with versioned definitions. Every write is an event in "
    "a hash-chained log; reads come from projections of it.\n\n"
    "Errors always answer the `Error` envelope with a stable `code`. Lists page with "
    "`limit` and `offset` (and a `total`); the audit log pages with a cursor: pass a "
    "page's `next_after` as `?after=` until it is null. Writes to a workflow take "
    "`If-Match: \"<version>\"` (its ETag) for optimistic concurrency.\n\n"
    "Each organisation's events form a hash chain: `prev_hash` is the `hash` of the "
    "organisation's previous event (\"\" for its first), and `hash` is the lowercase hex "
    "SHA-256 of the UTF-8 bytes of `prev_hash` followed by, for events with `\"chain\": 2` "
    "(every event written now), the RFC 8785 (JCS) canonical form of the event's JSON "
    "object as the audit API shows it, without its `hash` member; for events without "
    "`chain` (written by earlier versions), the event's NDJSON export line without its "
    "`,\"hash\":\"...\"` member, byte for byte. Request bodies refuse numbers outside "
    "I-JSON (RFC 7493): integers beyond +-(2^53-1) and numbers beyond a double's range "
    "are 400 `number_out_of_range`.";

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
  info.AddMember("version", rapidjson::StringRef(kApiVersion), a);
  info.AddMember("description", rapidjson::StringRef(kDescription), a);
  json::Value contact(rapidjson::kObjectType);
  contact.AddMember("name", "Ledgerflow", a);
  info.AddMember("contact", contact, a);
  json::Value license(rapidjson::kObjectType);
  license.AddMember("name", "Apache-2.0", a);
  license.AddMember("url", "https://www.apache.org/licenses/LICENSE-2.0", a);
  info.AddMember("license", license, a);
  doc.AddMember("info", info, a);

  auto servers = json::Parse(R"json([{"url": "http://{host}:{port}",
    "description": "A Ledgerflow server (ledgerflow serve)",
    "variables": {"host": {"default": "127.0.0.1"}, "port": {"default": "8080"}}}])json");
  json::Value s;
  s.CopyFrom(*servers, a);
  doc.AddMember("servers", s, a);
  doc.AddMember("tags", Tags(a), a);

  // Ordered map so the document is stable.
  std::map<std::string, std::vector<const Route*>> by_path;
  for (const Route& r : router.routes()) by_path[OpenApiPath(r.pattern)].push_back(&r);

  json::Value paths(rapidjson::kObjectType);
  for (const auto& [path, routes] : by_path) {
    json::Value item(rapidjson::kObjectType);
    for (const Route* r : routes) {
      item.AddMember(json::String(LowerMethod(r->method), a), Operation(*r, path, a), a);
    }
    paths.AddMember(json::String(path, a), item, a);
  }
  doc.AddMember("paths", paths, a);

  auto components = json::Parse(kOpenApiComponents);
  json::Value c;
  c.CopyFrom(*components, a);
  doc.AddMember("components", c, a);
  return json::Serialize(doc);
}

}  // namespace ledgerflow::api
