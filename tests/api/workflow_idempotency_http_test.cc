// POST /api/workflows with Idempotency-Key: a retry answers the workflow the first
// request created, never a second one, across restarts and concurrent first attempts.
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/request_parsing.h"
#include "events/chain.h"
#include "tests/api/workflow_http_helpers.h"

namespace ledgerflow::testing {
namespace {

using WorkflowIdempotencyHttpTest = WorkflowsHttpTest;

HttpResponse CreateWith(HttpClient& c, const std::string& body, const std::string& key) {
  return c.Send("POST", "/api/workflows", body, {"Idempotency-Key: " + key});
}

size_t WorkflowCount(HttpClient& c) {
  auto r = c.Get("/api/workflows?limit=200");
  EXPECT_EQ(r.status, 200);
  return static_cast<size_t>(ParseJson(r)["total"].GetInt());
}

TEST_F(WorkflowIdempotencyHttpTest, ARetryAnswersTheWorkflowAsTheFirstRequestCreatedIt) {
  const std::string body = CreateBody("idem");
  auto first = CreateWith(*client_, body, "nightly-1");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  const std::string id = Str(ParseJson(first), "id");
  // Changed since: the retry still answers the create's own answer (version 1).
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("idem2") + "}").status, 200);
  auto retry = CreateWith(*client_, body, "nightly-1");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.header("location"), "/api/workflows/" + id);
  EXPECT_EQ(retry.header("etag"), "\"1\"");
  auto doc = ParseJson(retry);
  EXPECT_EQ(Str(doc, "id"), id);
  EXPECT_EQ(doc["workflow"]["version"].GetInt(), 1);
  EXPECT_EQ(WorkflowCount(*client_), 1u);

  // Member order and white space do not make another request.
  std::string reordered = R"({"tags":)" + json::Serialize(json::Parse(body).value()["tags"]) +
                          R"(, "trigger_type":"manual", "definition":)" + Definition("idem") + "}";
  auto again = CreateWith(*client_, reordered, "nightly-1");
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Str(ParseJson(again), "id"), id);
  EXPECT_EQ(WorkflowCount(*client_), 1u);
}

TEST_F(WorkflowIdempotencyHttpTest, AnotherBodyUnderTheSameKeyIsRefusedAndStoresNothing) {
  ASSERT_EQ(CreateWith(*client_, CreateBody("one"), "k").status, 201);
  auto reused = CreateWith(*client_, CreateBody("two"), "k");
  EXPECT_EQ(reused.status, 409);
  EXPECT_EQ(Str(ParseJson(reused)["error"], "code"), "idempotency_key_reused");
  EXPECT_EQ(WorkflowCount(*client_), 1u);
  // The key is the organisation's: another key is another workflow.
  EXPECT_EQ(CreateWith(*client_, CreateBody("two"), "k2").status, 201);
  EXPECT_EQ(WorkflowCount(*client_), 2u);
  EXPECT_EQ(CreateWith(*client_, CreateBody("bad"), std::string(300, 'x')).status, 400);
  EXPECT_EQ(WorkflowCount(*client_), 2u);
}

TEST_F(WorkflowIdempotencyHttpTest, RetriesSurviveARestartAndDoNotReviveADeletedWorkflow) {
  auto first = CreateWith(*client_, CreateBody("durable"), "restart");
  ASSERT_EQ(first.status, 201);
  const std::string id = Str(ParseJson(first), "id");
  server_->Restart();
  client_ = server_->Client();
  auto retry = CreateWith(*client_, CreateBody("durable"), "restart");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(Str(ParseJson(retry), "id"), id);
  EXPECT_EQ(WorkflowCount(*client_), 1u);

  ASSERT_EQ(client_->Send("DELETE", "/api/workflows/" + id).status, 200);
  auto revived = CreateWith(*client_, CreateBody("durable"), "restart");
  EXPECT_EQ(revived.status, 409);
  EXPECT_NE(revived.body.find("deleted"), std::string::npos) << revived.body;
  EXPECT_EQ(WorkflowCount(*client_), 0u);
}

TEST_F(WorkflowIdempotencyHttpTest, ARetryFinishesACreateWhoseServerDiedAfterTheClaim) {
  // The log of a server that died after claiming the key, before appending the create.
  const std::string body = CreateBody("orphan");
  const std::string id = "wf_0000000000000000000000aa";
  std::string scope = "workflows";
  scope.push_back('\0');
  scope += "acme";
  scope.push_back('\0');
  scope += "orphan-key";
  events::AppendRequest claim;
  claim.stream = "idempotency-" + events::Sha256Hex(scope).substr(0, 32);
  claim.expected_version = events::kNoStream;
  claim.org = "acme";
  claim.actor = "system";
  claim.request_id = "died";
  claim.events.push_back({"idempotency.claimed", 1,
                          R"({"idempotency_key":"orphan-key","request_fingerprint":")" +
                              api::Fingerprint(json::Parse(body).value()) +
                              R"(","workflow_id":")" + id + R"("})",
                          std::nullopt});
  ASSERT_TRUE(server_->ledger().store().Append(std::move(claim)).ok());
  EXPECT_EQ(WorkflowCount(*client_), 0u);

  auto retry = CreateWith(*client_, body, "orphan-key");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(Str(ParseJson(retry), "id"), id);
  EXPECT_EQ(WorkflowCount(*client_), 1u);
  EXPECT_EQ(Str(ParseJson(CreateWith(*client_, body, "orphan-key")), "id"), id);
  EXPECT_EQ(WorkflowCount(*client_), 1u);
}

TEST_F(WorkflowIdempotencyHttpTest, ConcurrentFirstAttemptsCreateOneWorkflow) {
  std::vector<std::thread> threads;
  std::vector<HttpResponse> answers(8);
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      answers[i] = CreateWith(*c, CreateBody("race"), "race");
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  int replayed = 0;
  for (const auto& a : answers) {
    ASSERT_EQ(a.status, 201) << a.body;
    ids.insert(Str(ParseJson(a), "id"));
    replayed += a.header("idempotent-replayed") == "true";
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(replayed, 7);
  EXPECT_EQ(WorkflowCount(*client_), 1u);
}

}  // namespace
}  // namespace ledgerflow::testing
