// The OpenAPI document as clients and tooling read it, and the validator that holds
// every answer of the HTTP suites to it.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "api/openapi.h"
#include "core/json.h"
#include "tests/api/workflow_http_helpers.h"
#include "tests/support/openapi_validator.h"

namespace ledgerflow::testing {
namespace {

using OpenApiTest = WorkflowsHttpTest;

json::Document ServedDocument(const TestServer& server) {
  HttpClient anonymous(server.url());
  auto r = anonymous.Get("/api/openapi.json");
  EXPECT_EQ(r.status, 200);
  return ParseJson(r);
}

// Every $ref in `v` names something in `doc`.
void ExpectRefsResolve(const json::Value& doc, const json::Value& v, const std::string& at) {
  if (v.IsArray()) {
    for (const auto& item : v.GetArray()) ExpectRefsResolve(doc, item, at);
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (std::string(m.name.GetString()) == "$ref" && m.value.IsString()) {
        std::string ref = m.value.GetString();
        EXPECT_EQ(ref.rfind("#/", 0), 0u) << ref;
        EXPECT_NE(rapidjson::Pointer(ref.substr(1).c_str()).Get(doc), nullptr)
            << at << ": " << ref << " does not resolve";
      } else {
        ExpectRefsResolve(doc, m.value, at + "/" + m.name.GetString());
      }
    }
  }
}

TEST_F(OpenApiTest, EveryOperationIsNamedTaggedAndAnswersItsErrors) {
  json::Document doc = ServedDocument(*server_);
  ASSERT_TRUE(doc.HasMember("servers"));
  ASSERT_TRUE(doc["info"].HasMember("license"));
  std::set<std::string> tags;
  for (const auto& t : doc["tags"].GetArray()) tags.insert(Str(t, "name"));
  std::set<std::string> operation_ids;
  size_t operations = 0;
  for (const auto& path : doc["paths"].GetObject()) {
    for (const auto& method : path.value.GetObject()) {
      const json::Value& op = method.value;
      std::string where = std::string(method.name.GetString()) + " " + path.name.GetString();
      ++operations;
      std::string id = Str(op, "operationId");
      EXPECT_FALSE(id.empty()) << where;
      EXPECT_TRUE(operation_ids.insert(id).second) << "operationId " << id << " twice";
      EXPECT_FALSE(Str(op, "summary").empty()) << where;
      ASSERT_TRUE(op["tags"].IsArray() && op["tags"].Size() == 1) << where;
      EXPECT_TRUE(tags.count(op["tags"][0].GetString())) << where << ": undeclared tag";
      const json::Value& responses = op["responses"];
      bool has_success = false;
      for (const auto& r : responses.GetObject()) {
        std::string status = r.name.GetString();
        if (status[0] == '2') {
          has_success = true;
          EXPECT_TRUE(r.value.HasMember("content")) << where << " " << status << ": no body";
          EXPECT_TRUE(r.value["headers"].HasMember("X-Request-Id")) << where;
        }
      }
      EXPECT_TRUE(has_success) << where;
      EXPECT_TRUE(responses.HasMember("400")) << where;
      bool authed = op["security"].Size() > 0;
      EXPECT_EQ(responses.HasMember("401"), authed) << where;
      EXPECT_EQ(responses.HasMember("403"), authed) << where;
      if (std::string(path.name.GetString()).find('{') != std::string::npos) {
        EXPECT_TRUE(responses.HasMember("404")) << where;
      }
      if (op.HasMember("requestBody")) {
        EXPECT_TRUE(responses.HasMember("413")) << where;
      }
    }
  }
  EXPECT_GE(operations, 21u);
  ExpectRefsResolve(doc, doc, "#");
  // Content types that are not JSON are declared as what they are.
  EXPECT_TRUE(doc["paths"]["/api/audit/events"]["get"]["responses"]["200"]["content"].HasMember(
      "application/x-ndjson"));
  EXPECT_TRUE(doc["paths"]["/api/events/stream"]["get"]["responses"]["200"]["content"].HasMember(
      "text/event-stream"));
  EXPECT_TRUE(doc["paths"]["/api/workflows/{id}"]["patch"]["requestBody"]["content"].HasMember(
      "application/merge-patch+json"));
}

// A small document: the validator must refuse what differs from it.
constexpr const char* kDocument = R"({
  "openapi": "3.0.3",
  "paths": {
    "/things/{id}": {"get": {"responses": {
      "200": {"description": "ok",
              "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
      "404": {"$ref": "#/components/responses/NotFound"}}}},
    "/things/special": {"get": {"responses": {"204": {"description": "none"}}}}
  },
  "components": {
    "headers": {"ETag": {"required": true, "schema": {"type": "string"}}},
    "schemas": {
      "Thing": {"type": "object", "required": ["id", "next"], "additionalProperties": false,
                "properties": {"id": {"type": "string"},
                               "next": {"type": "integer", "nullable": true},
                               "state": {"type": "string", "enum": ["on", "off"]}}},
      "Error": {"type": "object", "required": ["error"]}},
    "responses": {"NotFound": {"description": "absent",
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}
  }
})";

TEST(OpenApiValidatorTest, RefusesAnswersThatDifferFromTheDocument) {
  OpenApiValidator v(kDocument);
  ASSERT_TRUE(v.ok()) << v.parse_error();
  const std::map<std::string, std::string> json_etag = {{"content-type", "application/json"},
                                                        {"etag", "\"1\""}};
  EXPECT_EQ(v.Check("GET", "/things/a?x=1", 200, json_etag, R"({"id":"a","next":null})"), "");
  EXPECT_EQ(v.Check("GET", "/things/a", 200, json_etag, R"({"id":"a","next":3,"state":"on"})"), "");
  EXPECT_NE(v.Check("GET", "/things/a", 200, json_etag, R"({"id":"a"})"), "");  // required
  EXPECT_NE(v.Check("GET", "/things/a", 200, json_etag, R"({"id":"a","next":"3"})"), "");
  EXPECT_NE(v.Check("GET", "/things/a", 200, json_etag, R"({"id":"a","next":1,"x":1})"), "");
  EXPECT_NE(v.Check("GET", "/things/a", 200, json_etag, R"({"id":"a","next":1,"state":"up"})"),
            "");
  EXPECT_NE(v.Check("GET", "/things/a", 200, {{"content-type", "application/json"}},
                    R"({"id":"a","next":1})"),
            "");  // no ETag
  EXPECT_NE(v.Check("GET", "/things/a", 200, {{"content-type", "text/plain"}, {"etag", "1"}},
                    R"({"id":"a","next":1})"),
            "");  // undocumented media type
  EXPECT_NE(v.Check("GET", "/things/a", 409, json_etag, R"({"error":{}})"), "");  // status
  EXPECT_EQ(v.Check("GET", "/things/a", 404, json_etag, R"({"error":{}})"), "");
  EXPECT_NE(v.Check("GET", "/things/a", 404, json_etag, R"({"nope":1})"), "");
  EXPECT_NE(v.Check("POST", "/things/a", 200, json_etag, "{}"), "");  // undocumented method
  EXPECT_NE(v.Check("GET", "/elsewhere", 200, json_etag, "{}"), "");   // undocumented path
  // The static path wins over the template.
  EXPECT_EQ(v.Check("GET", "/things/special", 204, {}, ""), "");
  EXPECT_NE(v.Check("GET", "/things/special", 204, {}, "body"), "");
}

}  // namespace
}  // namespace ledgerflow::testing
