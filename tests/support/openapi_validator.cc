#include "tests/support/openapi_validator.h"

#include <gtest/gtest.h>

#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <sstream>
#include <vector>

#include "tests/support/http_client.h"

namespace ledgerflow::testing {
namespace {

std::vector<std::string> Segments(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

// OpenAPI 3.0's `nullable: true` is a "null" member of the type in JSON Schema.
void ToJsonSchema(json::Value& v, json::Allocator& a) {
  if (v.IsArray()) {
    for (auto& item : v.GetArray()) ToJsonSchema(item, a);
    return;
  }
  if (!v.IsObject()) return;
  const json::Value* nullable = json::Find(v, "nullable");
  if (nullable && nullable->IsBool() && nullable->GetBool()) {
    json::Value* type = nullptr;
    if (auto it = v.FindMember("type"); it != v.MemberEnd()) type = &it->value;
    if (type && type->IsString()) {
      json::Value types(rapidjson::kArrayType);
      types.PushBack(json::Value(*type, a), a);
      types.PushBack("null", a);
      *type = std::move(types);
    }
  }
  v.RemoveMember("nullable");
  for (auto& m : v.GetObject()) ToJsonSchema(m.value, a);
}

std::string MediaType(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("content-type");
  if (it == headers.end()) return "";
  std::string t = it->second.substr(0, it->second.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

}  // namespace

OpenApiValidator::OpenApiValidator(const std::string& document) {
  auto parsed = json::Parse(document);
  if (!parsed.ok()) {
    parse_error_ = "the OpenAPI document does not parse: " + parsed.status().message();
    return;
  }
  doc_ = std::move(*parsed);
  components_.SetObject();
  const json::Value* components = json::Find(doc_, "components");
  if (!components) {
    parse_error_ = "the OpenAPI document has no components";
    return;
  }
  json::Value copy(*components, components_.GetAllocator());
  ToJsonSchema(copy, components_.GetAllocator());
  components_.AddMember("components", copy, components_.GetAllocator());
}

std::string OpenApiValidator::FindPath(const std::string& path) const {
  const json::Value* paths = json::Find(doc_, "paths");
  if (!paths) return "";
  std::vector<std::string> want = Segments(path);
  std::string best;
  int best_static = -1;
  for (const auto& m : paths->GetObject()) {
    std::string templ = m.name.GetString();
    std::vector<std::string> have = Segments(templ);
    if (have.size() != want.size()) continue;
    int statics = 0;
    bool match = true;
    for (size_t i = 0; i < have.size() && match; ++i) {
      if (!have[i].empty() && have[i].front() == '{') continue;
      if (have[i] != want[i]) match = false;
      ++statics;
    }
    if (match && statics > best_static) {
      best = templ;
      best_static = statics;
    }
  }
  return best;
}

const json::Value* OpenApiValidator::Resolve(const json::Value& v) const {
  const json::Value* ref = json::Find(v, "$ref");
  if (!ref || !ref->IsString()) return &v;
  std::string pointer = ref->GetString();
  if (pointer.rfind("#", 0) != 0) return nullptr;
  return rapidjson::Pointer(pointer.substr(1).c_str()).Get(doc_);
}

std::string OpenApiValidator::CheckBody(const std::string& key, const json::Value& schema,
                                        const std::string& body, bool lines) const {
  const rapidjson::SchemaDocument* compiled = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = compiled_[key];
    if (!slot) {
      json::Document root(rapidjson::kObjectType);
      auto& a = root.GetAllocator();
      json::Value s(schema, a);
      ToJsonSchema(s, a);
      json::Value all(rapidjson::kArrayType);
      all.PushBack(s, a);
      root.AddMember("allOf", all, a);
      root.AddMember("components", json::Value(components_["components"], a), a);
      slot = std::make_unique<rapidjson::SchemaDocument>(root);
    }
    compiled = slot.get();
  }
  std::vector<std::string> items;
  if (lines) {
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) items.push_back(line);
    }
  } else {
    items.push_back(body);
  }
  std::lock_guard<std::mutex> validating(validate_mu_);
  for (const std::string& item : items) {
    auto value = json::Parse(item);
    if (!value.ok()) return "the body is not JSON: " + value.status().message();
    rapidjson::SchemaValidator validator(*compiled);
    if (!value->Accept(validator)) {
      rapidjson::StringBuffer where, what;
      validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
      validator.GetInvalidDocumentPointer().StringifyUriFragment(what);
      return std::string("the body breaks its schema: ") + validator.GetInvalidSchemaKeyword() +
             " at schema " + where.GetString() + ", body " + what.GetString() + " (" +
             item.substr(0, 300) + ")";
    }
  }
  return "";
}

std::string OpenApiValidator::Check(const std::string& method, const std::string& target,
                                    long status,
                                    const std::map<std::string, std::string>& headers,
                                    const std::string& body) const {
  if (!ok()) return parse_error_;
  std::string path = target.substr(0, target.find('?'));
  std::string templ = FindPath(path);
  const json::Value* error_schema =
      rapidjson::Pointer("/components/schemas/Error").Get(doc_);
  auto check_error = [&]() -> std::string {
    if (MediaType(headers) != "application/json") return "an error answer is not JSON";
    return CheckBody("Error", *error_schema, body, false);
  };
  if (templ.empty()) {
    if (status != 404) return "no documented path, yet status " + std::to_string(status);
    return check_error();
  }
  // HEAD is answered as GET is, without the body.
  std::string lower = method == "HEAD" ? "GET" : method;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const json::Value* op = json::Find(doc_["paths"][templ.c_str()], lower);
  if (!op) {
    if (status != 405) {
      return method + " " + templ + " is not documented, yet status " + std::to_string(status);
    }
    if (headers.find("allow") == headers.end()) return "a 405 without Allow";
    return method == "HEAD" ? "" : check_error();
  }
  const std::string where = method + " " + templ + " " + std::to_string(status) + ": ";
  const json::Value& responses = (*op)["responses"];
  const json::Value* response = json::Find(responses, std::to_string(status));
  if (!response) {
    if (status < 500) return where + "the status is not documented";
    response = json::Find(responses, "default");
    if (!response) return where + "no default response";
  }
  response = Resolve(*response);
  if (!response) return where + "a $ref that does not resolve";
  if (const json::Value* hs = json::Find(*response, "headers")) {
    for (const auto& h : hs->GetObject()) {
      const json::Value* header = Resolve(h.value);
      const json::Value* required = header ? json::Find(*header, "required") : nullptr;
      if (!required || !required->IsBool() || !required->GetBool()) continue;
      std::string name = h.name.GetString();
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (headers.find(name) == headers.end()) return where + "no " + h.name.GetString() + " header";
    }
  }
  const json::Value* content = json::Find(*response, "content");
  if (!content) {
    if (!body.empty() && method != "HEAD") return where + "a body where none is documented";
    return "";
  }
  if (method == "HEAD") return "";
  std::string media = MediaType(headers);
  const json::Value* entry = json::Find(*content, media);
  if (!entry) return where + "media type '" + media + "' is not documented";
  const json::Value* schema = json::Find(*entry, "schema");
  if (!schema) return "";
  if (media == "application/json") return CheckBody(where, *schema, body, false);
  if (media == "application/x-ndjson") return CheckBody(where + "ndjson", *schema, body, true);
  return "";  // text/event-stream: read by the stream tests themselves
}

void ValidateAnswersAgainstOpenApi(const std::string& base_url) {
  static std::once_flag once;
  std::call_once(once, [&base_url] {
    HttpClient client(base_url);
    HttpResponse r = client.Get("/api/openapi.json");
    auto validator = std::make_shared<OpenApiValidator>(r.body);
    if (r.status != 200 || !validator->ok()) {
      ADD_FAILURE() << "cannot read the OpenAPI document: " << r.status << " "
                    << validator->parse_error();
      return;
    }
    HttpClient::SetAnswerObserver([validator](const std::string& method,
                                              const std::string& target,
                                              const HttpResponse& answer) {
      if (answer.status == 0) return;
      std::string problem =
          validator->Check(method, target, answer.status, answer.headers, answer.body);
      if (!problem.empty()) {
        ADD_FAILURE() << "answer of " << method << " " << target
                      << " differs from the OpenAPI document: " << problem;
      }
    });
  });
}

}  // namespace ledgerflow::testing
