// Preconditions and concurrent writers of one workflow, over real HTTP: If-Match and
// expected_version on every command, racing conditional and unconditional writes.
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/api/workflow_http_helpers.h"

namespace ledgerflow::testing {
namespace {

class WorkflowPreconditionsHttpTest : public WorkflowsHttpTest {};

TEST_F(WorkflowPreconditionsHttpTest, StaleIfMatchIs409AndNothingChanges) {
  std::string id = Create("wf");
  std::string body = R"({"definition":)" + Definition("wf2") + "}";
  auto ok = client_->Send("PUT", "/api/workflows/" + id, body, {"If-Match: \"1\""});
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto stale = client_->Send("PUT", "/api/workflows/" + id,
                             R"({"definition":)" + Definition("wf3") + "}", {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(ErrorCode(stale), "version_conflict");
  auto body_stale = client_->Send(
      "PUT", "/api/workflows/" + id,
      R"({"definition":)" + Definition("wf3") + R"(,"expected_version":1})");
  EXPECT_EQ(body_stale.status, 409);
  auto current = ParseJson(client_->Get("/api/workflows/" + id));
  EXPECT_EQ(Int(current, "version"), 2);
  EXPECT_EQ(Str(current["definition"], "name"), "wf2");
}


TEST_F(WorkflowPreconditionsHttpTest, SixteenRacingPutsWithSameIfMatchHaveOneWinner) {
  std::string id = Create("wf");
  std::vector<long> statuses(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      statuses[i] = c->Send("PUT", "/api/workflows/" + id,
                            R"({"definition":)" + Definition("racer-" + std::to_string(i)) + "}",
                            {"If-Match: \"1\""})
                        .status;
    });
  }
  for (auto& t : threads) t.join();
  int wins = 0;
  int conflicts = 0;
  for (long s : statuses) {
    wins += s == 200;
    conflicts += s == 409;
  }
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(conflicts, 15);
  auto versions = ParseJson(client_->Get("/api/workflows/" + id + "/versions"));
  EXPECT_EQ(Int(versions, "total"), 2);
}


TEST_F(WorkflowPreconditionsHttpTest, UnconditionalConcurrentPutsAllLandEachAnsweredWithItsOwnVersion) {
  std::string id = Create("wf");
  std::vector<std::thread> threads;
  std::vector<HttpResponse> responses(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      responses[i] = c->Send("PUT", "/api/workflows/" + id,
                             R"({"definition":)" + Definition("v-" + std::to_string(i)) + "}");
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> versions;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(responses[i].status, 200) << responses[i].body;
    auto doc = ParseJson(responses[i]);
    // Each answer is the workflow right after that request's own write.
    EXPECT_EQ(Str(doc["definition"], "name"), "v-" + std::to_string(i));
    EXPECT_EQ(responses[i].header("etag"), "\"" + std::to_string(Int(doc, "version")) + "\"");
    versions.insert(Int(doc, "version"));
  }
  EXPECT_EQ(versions, (std::set<int64_t>{2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/" + id)), "version"), 9);
}

TEST_F(WorkflowPreconditionsHttpTest, DeleteAndStatusChangesHonourIfMatch) {
  std::string id = Create("wf");
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("wf2") + "}").status, 200);
  const std::string path = "/api/workflows/" + id;

  auto stale_delete = client_->Send("DELETE", path, "", {"If-Match: \"1\""});
  EXPECT_EQ(stale_delete.status, 409);
  EXPECT_EQ(ErrorCode(stale_delete), "version_conflict");
  auto stale_status =
      client_->Send("PATCH", path + "/status", R"({"status":"paused"})", {"If-Match: \"1\""});
  EXPECT_EQ(stale_status.status, 409);
  EXPECT_EQ(ErrorCode(stale_status), "version_conflict");
  auto stale_in_body =
      client_->Send("PATCH", path + "/status", R"({"status":"paused","expected_version":1})");
  EXPECT_EQ(stale_in_body.status, 409);
  auto current = ParseJson(client_->Get(path));
  EXPECT_EQ(Str(current, "status"), "active");
  EXPECT_EQ(Int(current, "version"), 2);

  auto paused =
      client_->Send("PATCH", path + "/status", R"({"status":"paused"})", {"If-Match: \"2\""});
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(Str(ParseJson(paused), "status"), "paused");
  EXPECT_EQ(client_->Send("DELETE", path, "", {"If-Match: \"2\""}).status, 200);
  EXPECT_EQ(client_->Get(path).status, 404);
}

TEST_F(WorkflowPreconditionsHttpTest, MalformedPreconditionsAre400) {
  std::string id = Create("wf");
  const std::string path = "/api/workflows/" + id;
  for (const char* expected : {"0", "-1"}) {
    auto r = client_->Send("PUT", path,
                           R"({"definition":)" + Definition("wf2") +
                               R"(,"expected_version":)" + expected + "}");
    EXPECT_EQ(r.status, 400) << expected;
    EXPECT_EQ(ErrorCode(r), "invalid_field");
  }
  auto unknown = client_->Send("PATCH", path + "/status", R"({"status":"paused","bogus":1})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(ErrorMessage(unknown), "Unknown field 'bogus'");
  auto bad_etag = client_->Send("DELETE", path, "", {"If-Match: \"one\""});
  EXPECT_EQ(bad_etag.status, 400);
  auto current = ParseJson(client_->Get(path));
  EXPECT_EQ(Int(current, "version"), 1);
  EXPECT_EQ(Str(current, "status"), "active");
}

TEST_F(WorkflowPreconditionsHttpTest, RollbackValidatesTheRestoredDefinitionUnderTodaysRules) {
  server_ = std::make_unique<TestServer>(service::LedgerOptions{.allow_scripts = true});
  client_ = server_->Client();
  auto created = client_->Post(
      "/api/workflows", R"({"definition":{"name":"x","steps":[)"
                        R"({"id":"s","type":"script","config":{"command":"echo hi"}}]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string path = "/api/workflows/" + Str(ParseJson(created), "id");
  ASSERT_EQ(client_->Send("PUT", path, R"({"definition":)" + Definition("x") + "}").status, 200);

  server_->Stop();
  server_->ledger_options().allow_scripts = false;
  server_->Start();
  client_ = server_->Client();
  auto refused = client_->Post(path + "/rollback", R"({"version":1})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(ErrorCode(refused), "validation_failed");
  auto current = ParseJson(client_->Get(path));
  EXPECT_EQ(Int(current, "version"), 2);
  EXPECT_EQ(Str(current["definition"]["steps"][0], "type"), "http_request");
  EXPECT_EQ(Int(ParseJson(client_->Get(path + "/versions")), "total"), 2);
}

TEST_F(WorkflowPreconditionsHttpTest, ThirtyTwoUnconditionalPatchesOfOneWorkflowAllLand) {
  // Each decides on the state it loaded; whoever loses a race decides again on the
  // new state instead of answering 409 to a request that asked for no precondition.
  std::string id = Create("wf");
  std::vector<std::thread> threads;
  std::vector<HttpResponse> responses(32);
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      responses[i] = c->Send("PATCH", "/api/workflows/" + id,
                             R"({"tags":["t)" + std::to_string(i) + R"("]})");
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> tags;
  for (int i = 0; i < 32; ++i) {
    ASSERT_EQ(responses[i].status, 200) << i << ": " << responses[i].body;
    auto doc = ParseJson(responses[i]);
    ASSERT_EQ(doc["tags"].Size(), 1u);
    EXPECT_EQ(std::string(doc["tags"][0].GetString()), "t" + std::to_string(i));
    tags.insert(doc["tags"][0].GetString());
  }
  EXPECT_EQ(tags.size(), 32u);
  auto current = ParseJson(client_->Get("/api/workflows/" + id));
  EXPECT_EQ(Int(current, "version"), 1);
  EXPECT_EQ(current["tags"].Size(), 1u);
}

}  // namespace
}  // namespace ledgerflow::testing
