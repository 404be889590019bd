// What the Workflows HTTP tests share: a fixture with the real server and an owner
// client, definitions and bodies, and readers of JSON answers and error envelopes.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/json.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {

inline json::Document ParseJson(const HttpResponse& r) {
  auto doc = json::Parse(r.body);
  EXPECT_TRUE(doc.ok()) << "not JSON: " << r.body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

inline std::string Str(const json::Value& v, const char* key) {
  return json::GetString(v, key).value_or("<missing>");
}
inline int64_t Int(const json::Value& v, const char* key) {
  return json::GetInt(v, key).value_or(-1);
}

inline std::string Definition(const std::string& name, const std::string& extra_step = "") {
  std::string steps =
      R"({"id":"fetch","type":"http_request","config":{"url":"https://example.com","method":"GET"}},)"
      R"({"id":"notify","type":"webhook","config":{"url":"https://hooks.example.com"},"depends_on":["fetch"]})";
  if (!extra_step.empty()) steps += "," + extra_step;
  return R"({"name":")" + name + R"(","steps":[)" + steps + "]}";
}

inline std::string CreateBody(const std::string& name, const std::string& tags = R"(["etl"])") {
  return R"({"definition":)" + Definition(name) + R"(,"trigger_type":"manual","tags":)" + tags +
         "}";
}

// Asserts the error envelope and returns its code.
inline std::string ErrorCode(const HttpResponse& r) {
  auto doc = ParseJson(r);
  const json::Value* error = json::Find(doc, "error");
  EXPECT_NE(error, nullptr) << r.body;
  if (error == nullptr) return "";
  EXPECT_TRUE(json::GetString(*error, "message").has_value()) << r.body;
  EXPECT_NE(json::Find(*error, "details"), nullptr) << r.body;
  return Str(*error, "code");
}

// The error envelope's message.
inline std::string ErrorMessage(const HttpResponse& r) {
  auto doc = ParseJson(r);
  const json::Value* error = json::Find(doc, "error");
  return error ? json::GetString(*error, "message").value_or("") : "";
}

class WorkflowsHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    client_ = server_->Client();
  }

  std::string Create(const std::string& name) {
    auto r = client_->Post("/api/workflows", CreateBody(name));
    EXPECT_EQ(r.status, 201) << r.body;
    return Str(ParseJson(r), "id");
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace ledgerflow::testing
