// The access log of the real binary: one line per request, in text or JSON, carrying the
// request id the client sent, which is also in the events the request wrote.
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "tests/app/serve_process.h"
#include "tests/support/http_client.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

std::vector<std::string> Lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

constexpr const char* kCreate =
    R"({"definition":{"name":"logged","steps":[{"id":"a","type":"agent_task"}]}})";

TEST(AccessLogTest, JsonLinesCarryTheClientsRequestIdsAndTheEventsDoToo) {
  TempDir dir;
  const auto log_path = dir.path() / "server.log";
  std::string key;
  {
    ServeProcess serve((dir.path() / "db").string(), {"--log-format", "json"}, 0,
                       log_path.string());
    ASSERT_FALSE(serve.url().empty());
    key = serve.key();
    HttpClient client(serve.url());
    client.set_token(key);
    auto created = client.Send("POST", "/api/workflows", kCreate, {"X-Request-Id: trace-create"});
    ASSERT_EQ(created.status, 201);
    EXPECT_EQ(created.header("x-request-id"), "trace-create");
    EXPECT_EQ(client.Send("GET", "/api/workflows/wf_absent", "", {"X-Request-Id: trace-404"}).status,
              404);
    HttpClient anonymous(serve.url());
    EXPECT_EQ(anonymous.Send("GET", "/api/keys", "", {"X-Request-Id: trace-401"}).status, 401);
    auto events = client.Send("GET", "/api/audit/events?type=workflow.created", "",
                              {"X-Request-Id: trace-audit"});
    ASSERT_EQ(events.status, 200);
    // The request id reaches the event the request wrote.
    EXPECT_NE(events.body.find(R"("request_id":"trace-create")"), std::string::npos);
    EXPECT_EQ(serve.Stop(), 0);
  }
  std::map<std::string, json::Document> access;
  for (const std::string& line : Lines(log_path)) {
    auto doc = json::Parse(line);
    ASSERT_TRUE(doc.ok()) << "not one JSON object: " << line;
    ASSERT_TRUE(doc->IsObject()) << line;
    ASSERT_TRUE(doc->HasMember("time") && doc->HasMember("level")) << line;
    if (std::string((*doc)["event"].GetString()) != "access") continue;
    access[(*doc)["request_id"].GetString()] = std::move(*doc);
  }
  ASSERT_EQ(access.count("trace-create"), 1u);
  const json::Value& create = access["trace-create"];
  EXPECT_EQ(std::string(create["method"].GetString()), "POST");
  EXPECT_EQ(std::string(create["route"].GetString()), "/api/workflows");
  EXPECT_EQ(std::string(create["path"].GetString()), "/api/workflows");
  EXPECT_EQ(create["status"].GetInt(), 201);
  EXPECT_EQ(create["bytes_in"].GetInt(), static_cast<int>(std::string(kCreate).size()));
  EXPECT_GT(create["bytes_out"].GetInt(), 100);
  EXPECT_TRUE(create["duration_ms"].IsNumber());
  EXPECT_EQ(std::string(create["org"].GetString()), "default");
  EXPECT_TRUE(key.starts_with(std::string("lf_") + create["key_id"].GetString() + "_"));
  ASSERT_EQ(access.count("trace-404"), 1u);
  EXPECT_EQ(std::string(access["trace-404"]["route"].GetString()), "/api/workflows/:id");
  EXPECT_EQ(std::string(access["trace-404"]["path"].GetString()), "/api/workflows/wf_absent");
  EXPECT_EQ(access["trace-404"]["status"].GetInt(), 404);
  ASSERT_EQ(access.count("trace-401"), 1u);
  EXPECT_EQ(access["trace-401"]["status"].GetInt(), 401);
  EXPECT_EQ(std::string(access["trace-401"]["key_id"].GetString()), "");
  EXPECT_EQ(access.count("trace-audit"), 1u);
}

TEST(AccessLogTest, TextLinesAndLevels) {
  TempDir dir;
  const auto text_log = dir.path() / "text.log";
  {
    ServeProcess serve((dir.path() / "db").string(), {"--log-format", "text"}, 0,
                       text_log.string());
    HttpClient client(serve.url());
    EXPECT_EQ(client.Send("GET", "/healthz", "", {"X-Request-Id: text-1"}).status, 200);
    EXPECT_EQ(serve.Stop(), 0);
  }
  std::regex line_re(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO access request_id=text-1 method=GET )"
      R"(route=/healthz path=/healthz status=200 duration_ms=[0-9.]+ bytes_in=0 bytes_out=\d+ )"
      R"(key_id="" org=""$)");
  int matched = 0;
  for (const std::string& line : Lines(text_log)) matched += std::regex_match(line, line_re);
  EXPECT_EQ(matched, 1);

  // At warn, requests leave no line.
  const auto quiet_log = dir.path() / "quiet.log";
  {
    ServeProcess serve((dir.path() / "db").string(), {"--log-level", "warn"}, 0,
                       quiet_log.string());
    HttpClient client(serve.url());
    EXPECT_EQ(client.Send("GET", "/healthz", "", {"X-Request-Id: quiet-1"}).status, 200);
    EXPECT_EQ(serve.Stop(), 0);
  }
  for (const std::string& line : Lines(quiet_log)) {
    EXPECT_EQ(line.find("quiet-1"), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace ledgerflow::testing
