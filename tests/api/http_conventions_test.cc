// HTTP conventions clients and caches rely on: conditional GETs and the Bearer challenge.
#include <string>

#include <gtest/gtest.h>

#include "api/request_parsing.h"
#include "tests/api/workflow_http_helpers.h"

namespace ledgerflow::testing {
namespace {

TEST(IfNoneMatchTest, ComparesEntityTagsWeakly) {
  EXPECT_TRUE(api::IfNoneMatchHits("\"3\"", "\"3\""));
  EXPECT_TRUE(api::IfNoneMatchHits("W/\"3\"", "\"3\""));
  EXPECT_TRUE(api::IfNoneMatchHits("\"1\", W/\"3\" ,\"9\"", "\"3\""));
  EXPECT_TRUE(api::IfNoneMatchHits("*", "\"3\""));
  EXPECT_FALSE(api::IfNoneMatchHits("\"2\"", "\"3\""));
  EXPECT_FALSE(api::IfNoneMatchHits("3", "\"3\""));
  EXPECT_FALSE(api::IfNoneMatchHits("\"33\"", "\"3\""));
  EXPECT_FALSE(api::IfNoneMatchHits("", "\"3\""));
  EXPECT_FALSE(api::IfNoneMatchHits(" , ", "\"3\""));
}

using HttpConventionsTest = WorkflowsHttpTest;

TEST_F(HttpConventionsTest, ACurrentETagInIfNoneMatchIs304WithoutABody) {
  std::string id = Create("cached");
  const std::string path = "/api/workflows/" + id;
  for (const char* tags : {"\"1\"", "W/\"1\"", "\"7\", \"1\"", "*"}) {
    auto r = client_->Send("GET", path, "", {std::string("If-None-Match: ") + tags});
    EXPECT_EQ(r.status, 304) << tags;
    EXPECT_EQ(r.body, "") << tags;
    EXPECT_EQ(r.header("etag"), "\"1\"") << tags;
    EXPECT_FALSE(r.header("x-request-id").empty());
  }
  ASSERT_EQ(client_->Send("PUT", path, R"({"definition":)" + Definition("cached2") + "}").status,
            200);
  auto stale = client_->Send("GET", path, "", {"If-None-Match: \"1\""});
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.header("etag"), "\"2\"");
  EXPECT_NE(stale.body.find("cached2"), std::string::npos);
  // The connection still frames the next answer right after a 304.
  EXPECT_EQ(client_->Send("GET", path, "", {"If-None-Match: \"2\""}).status, 304);
  EXPECT_EQ(client_->Get(path).status, 200);
  // Unknown workflows are still 404, whatever the tag.
  EXPECT_EQ(client_->Send("GET", "/api/workflows/wf_nope", "", {"If-None-Match: *"}).status,
            404);
}

TEST_F(HttpConventionsTest, A401SaysBearerAndWhetherTheTokenWasRefused) {
  HttpClient anonymous(server_->url());
  auto missing = anonymous.Get("/api/workflows");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.header("www-authenticate"), "Bearer realm=\"ledgerflow\"");
  anonymous.set_token("lf_key_0000000000000000_nope");
  auto bad = anonymous.Get("/api/workflows");
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.header("www-authenticate"), "Bearer realm=\"ledgerflow\", error=\"invalid_token\"");
  // Answers that are not 401 do not challenge.
  EXPECT_EQ(client_->Get("/api/workflows").header("www-authenticate"), "");
}

}  // namespace
}  // namespace ledgerflow::testing
