// POST /api/keys with Idempotency-Key: a retry that lost its answer gets the same key,
// never a second one, across restarts and concurrent first attempts.
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

json::Document ParseJson(const std::string& body) {
  auto doc = json::Parse(body);
  EXPECT_TRUE(doc.ok()) << "not JSON: " << body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

class KeyIdempotencyHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    client_ = server_->Client();
  }

  HttpResponse CreateKey(const std::string& body, const std::string& idempotency_key) {
    return client_->Send("POST", "/api/keys", body, {"Idempotency-Key: " + idempotency_key});
  }

  size_t KeyCount() {
    auto list = client_->Get("/api/keys");
    EXPECT_EQ(list.status, 200);
    return ParseJson(list.body)["keys"].Size();
  }

  // The status a request authenticated with `token` gets.
  long StatusWith(const std::string& token) {
    HttpClient c(server_->url());
    c.set_token(token);
    return c.Get("/api/workflows").status;
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(KeyIdempotencyHttpTest, ARetryAnswersTheSameKeyWithTheSecretThatNowWorks) {
  const size_t before = KeyCount();
  auto first = CreateKey(R"({"name":"ci","role":"editor"})", "create-ci-1");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  auto first_doc = ParseJson(first.body);
  const std::string id = first_doc["key"]["id"].GetString();
  const std::string first_secret = first_doc["secret"].GetString();

  // The body's members in another order are the same request.
  auto retry = CreateKey(R"({"role":"editor","name":"ci"})", "create-ci-1");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.header("idempotent-replayed"), "true");
  EXPECT_EQ(retry.header("location"), "/api/keys/" + id);
  auto retry_doc = ParseJson(retry.body);
  EXPECT_EQ(std::string(retry_doc["key"]["id"].GetString()), id);
  const std::string retry_secret = retry_doc["secret"].GetString();
  EXPECT_NE(retry_secret, first_secret);
  EXPECT_EQ(KeyCount(), before + 1);
  // The retry's secret is the one that works; the first answer's no longer does.
  EXPECT_EQ(StatusWith(retry_secret), 200);
  EXPECT_EQ(StatusWith(first_secret), 401);

  // Another key is another key.
  auto other = CreateKey(R"({"name":"ci","role":"editor"})", "create-ci-2");
  ASSERT_EQ(other.status, 201);
  EXPECT_NE(std::string(ParseJson(other.body)["key"]["id"].GetString()), id);
  EXPECT_EQ(KeyCount(), before + 2);
}

TEST_F(KeyIdempotencyHttpTest, TheSameKeyWithAnotherBodyIsRefusedAndChangesNothing) {
  auto first = CreateKey(R"({"name":"ci","role":"editor"})", "k");
  ASSERT_EQ(first.status, 201);
  const std::string secret = ParseJson(first.body)["secret"].GetString();
  const size_t count = KeyCount();
  for (const char* body : {R"({"name":"ci","role":"viewer"})", R"({"name":"cd","role":"editor"})"}) {
    auto reused = CreateKey(body, "k");
    EXPECT_EQ(reused.status, 409) << body;
    EXPECT_EQ(std::string(ParseJson(reused.body)["error"]["code"].GetString()),
              "idempotency_key_reused");
  }
  EXPECT_EQ(KeyCount(), count);
  EXPECT_EQ(StatusWith(secret), 200);
}

TEST_F(KeyIdempotencyHttpTest, KeysSurviveARestartAndARevokedKeyIsNotRevived) {
  auto first = CreateKey(R"({"name":"ci","role":"viewer"})", "restart-me");
  ASSERT_EQ(first.status, 201);
  const std::string id = ParseJson(first.body)["key"]["id"].GetString();
  server_->Restart();
  client_ = server_->Client();
  auto retry = CreateKey(R"({"name":"ci","role":"viewer"})", "restart-me");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(std::string(ParseJson(retry.body)["key"]["id"].GetString()), id);
  EXPECT_EQ(StatusWith(ParseJson(retry.body)["secret"].GetString()), 200);

  ASSERT_EQ(client_->Send("DELETE", "/api/keys/" + id).status, 200);
  auto revived = CreateKey(R"({"name":"ci","role":"viewer"})", "restart-me");
  EXPECT_EQ(revived.status, 409);
  EXPECT_NE(revived.body.find("revoked"), std::string::npos) << revived.body;
}

TEST_F(KeyIdempotencyHttpTest, ConcurrentFirstAttemptsCreateOneKey) {
  const size_t before = KeyCount();
  std::vector<std::thread> threads;
  std::vector<HttpResponse> answers(8);
  for (size_t i = 0; i < answers.size(); ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      answers[i] = c->Send("POST", "/api/keys", R"({"name":"race","role":"viewer"})",
                           {"Idempotency-Key: race"});
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> ids;
  for (const auto& a : answers) {
    // A retry racing another retry may be told to try again; none creates a key.
    ASSERT_TRUE(a.status == 201 || a.status == 409) << a.status << " " << a.body;
    if (a.status == 201) ids.insert(ParseJson(a.body)["key"]["id"].GetString());
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(KeyCount(), before + 1);
}

TEST_F(KeyIdempotencyHttpTest, AMalformedIdempotencyKeyIs400) {
  const size_t before = KeyCount();
  for (const std::string& bad : {std::string(256, 'a'), std::string("has space")}) {
    auto r = CreateKey(R"({"name":"ci","role":"viewer"})", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(std::string(ParseJson(r.body)["error"]["code"].GetString()), "invalid_header");
  }
  EXPECT_EQ(KeyCount(), before);
}

}  // namespace
}  // namespace ledgerflow::testing
