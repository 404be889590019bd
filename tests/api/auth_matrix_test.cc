// Every endpoint × every kind of caller: the status and the error envelope of each
// cell. A route added to the server without a row here fails the coverage check.
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/openapi.h"
#include "core/json.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

enum class Caller { kNone, kMalformed, kRevoked, kViewer, kEditor, kAdmin, kOwner, kOtherOrg };

const char* Name(Caller c) {
  switch (c) {
    case Caller::kNone: return "none";
    case Caller::kMalformed: return "malformed";
    case Caller::kRevoked: return "revoked";
    case Caller::kViewer: return "viewer";
    case Caller::kEditor: return "editor";
    case Caller::kAdmin: return "admin";
    case Caller::kOwner: return "owner";
    case Caller::kOtherOrg: return "owner of another org";
  }
  return "?";
}

// What a row needs: a fresh workflow and key of org "acme" to act on.
struct Fixture {
  std::string workflow_id;
  std::string key_id;
  std::string run_id;
};

struct Row {
  std::string method;
  std::string pattern;  // the route, as registered
  std::function<std::string(const Fixture&)> path;
  std::string body;
  std::optional<core::Role> min_role;  // nullopt: public
  long success;
  bool scoped_to_resource;  // another org gets 404 (else it acts on its own org)
  bool streaming = false;
};

std::vector<Row> Rows() {
  auto wf = [](const std::string& suffix) {
    return [suffix](const Fixture& f) { return "/api/workflows/" + f.workflow_id + suffix; };
  };
  auto fixed = [](const std::string& p) { return [p](const Fixture&) { return p; }; };
  std::string def = R"({"definition":{"name":"m","steps":[{"id":"a","type":"agent_task"}]}})";
  using core::Role;
  return {
      {"GET", "/healthz", fixed("/healthz"), "", std::nullopt, 200, false},
      {"GET", "/api/openapi.json", fixed("/api/openapi.json"), "", std::nullopt, 200, false},
      {"GET", "/metrics", fixed("/metrics"), "", std::nullopt, 200, false},
      {"GET", "/healthz/ready", fixed("/healthz/ready"), "", std::nullopt, 200, false},
      {"GET", "/api/workflows", fixed("/api/workflows"), "", Role::kViewer, 200, false},
      {"POST", "/api/workflows", fixed("/api/workflows"), def, Role::kEditor, 201, false},
      {"POST", "/api/workflows/validate", fixed("/api/workflows/validate"), def, Role::kViewer,
       200, false},
      {"GET", "/api/workflows/:id", wf(""), "", Role::kViewer, 200, true},
      {"PUT", "/api/workflows/:id", wf(""),
       R"({"definition":{"name":"m2","steps":[{"id":"a","type":"agent_task"}]}})", Role::kEditor,
       200, true},
      {"PATCH", "/api/workflows/:id", wf(""), R"({"tags":["p"]})", Role::kEditor, 200, true},
      {"DELETE", "/api/workflows/:id", wf(""), "", Role::kEditor, 200, true},
      {"PATCH", "/api/workflows/:id/status", wf("/status"), R"({"status":"paused"})",
       Role::kEditor, 200, true},
      {"GET", "/api/workflows/:id/metadata", wf("/metadata"), "", Role::kViewer, 200, true},
      {"GET", "/api/workflows/:id/versions", wf("/versions"), "", Role::kViewer, 200, true},
      {"GET", "/api/workflows/:id/versions/:version", wf("/versions/1"), "", Role::kViewer, 200,
       true},
      {"GET", "/api/workflows/:id/diff", wf("/diff?v1=1&v2=1"), "", Role::kViewer, 200, true},
      {"POST", "/api/workflows/:id/rollback", wf("/rollback"), R"({"version":1})", Role::kEditor,
       200, true},
      {"POST", "/api/workflows/:id/runs", wf("/runs"), R"({"reason":"m"})", Role::kEditor, 202,
       true},
      {"POST", "/api/workflows/:id/run", wf("/run"), "", Role::kEditor, 202, true},
      {"GET", "/api/workflows/:id/runs", wf("/runs"), "", Role::kViewer, 200, true},
      {"GET", "/api/workflows/runs", fixed("/api/workflows/runs?status=running"), "", Role::kViewer,
       200, false},
      {"GET", "/api/workflows/runs/:run_id",
       [](const Fixture& f) { return "/api/workflows/runs/" + f.run_id; }, "", Role::kViewer, 200,
       true},
      {"POST", "/api/keys", fixed("/api/keys"), R"({"name":"k","role":"viewer"})", Role::kAdmin,
       201, false},
      {"GET", "/api/keys", fixed("/api/keys"), "", Role::kAdmin, 200, false},
      {"DELETE", "/api/keys/:id",
       [](const Fixture& f) { return "/api/keys/" + f.key_id; }, "", Role::kAdmin, 200, true},
      {"GET", "/api/audit/events", fixed("/api/audit/events"), "", Role::kViewer, 200, false},
      {"GET", "/api/audit/verify", fixed("/api/audit/verify"), "", Role::kViewer, 200, false},
      {"GET", "/api/events/stream", fixed("/api/events/stream"), "", Role::kViewer, 200, false,
       true},
  };
}

long Expected(const Row& row, Caller caller) {
  if (!row.min_role) return row.success;
  switch (caller) {
    case Caller::kNone:
    case Caller::kMalformed:
    case Caller::kRevoked: return 401;
    case Caller::kOtherOrg: return row.scoped_to_resource ? 404 : row.success;
    default: break;
  }
  core::Role role = caller == Caller::kViewer   ? core::Role::kViewer
                    : caller == Caller::kEditor ? core::Role::kEditor
                    : caller == Caller::kAdmin  ? core::Role::kAdmin
                                                : core::Role::kOwner;
  return role >= *row.min_role ? row.success : 403;
}

class AuthMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    owner_ = server_->Client();
    tokens_[Caller::kMalformed] = "lf_this-is-not-a-key";
    tokens_[Caller::kViewer] = server_->CreateKey("acme", core::Role::kViewer);
    tokens_[Caller::kEditor] = server_->CreateKey("acme", core::Role::kEditor);
    tokens_[Caller::kAdmin] = server_->CreateKey("acme", core::Role::kAdmin);
    tokens_[Caller::kOwner] = server_->CreateKey("acme", core::Role::kOwner);
    tokens_[Caller::kOtherOrg] = server_->CreateKey("globex", core::Role::kOwner);
    // A revoked key: valid format, once real.
    auto created = owner_->Post("/api/keys", R"({"name":"gone","role":"owner"})");
    auto doc = json::Parse(created.body);
    tokens_[Caller::kRevoked] = (*doc)["secret"].GetString();
    owner_->Send("DELETE", std::string("/api/keys/") + (*doc)["key"]["id"].GetString());
  }

  Fixture NewFixture() {
    Fixture f;
    auto wf = owner_->Post("/api/workflows",
                           R"({"definition":{"name":"m","steps":[{"id":"a","type":"agent_task"}]}})");
    f.workflow_id = (*json::Parse(wf.body))["id"].GetString();
    auto key = owner_->Post("/api/keys", R"({"name":"victim","role":"viewer"})");
    f.key_id = (*json::Parse(key.body))["key"]["id"].GetString();
    auto run = owner_->Post("/api/workflows/" + f.workflow_id + "/runs", "{}");
    f.run_id = (*json::Parse(run.body))["run_id"].GetString();
    return f;
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> owner_;
  std::map<Caller, std::string> tokens_;
};

TEST_F(AuthMatrixTest, EveryEndpointForEveryCaller) {
  for (const Row& row : Rows()) {
    for (Caller caller : {Caller::kNone, Caller::kMalformed, Caller::kRevoked, Caller::kViewer,
                          Caller::kEditor, Caller::kAdmin, Caller::kOwner, Caller::kOtherOrg}) {
      SCOPED_TRACE(row.method + " " + row.pattern + " as " + Name(caller));
      Fixture f = NewFixture();
      HttpClient client(server_->url());
      if (tokens_.count(caller)) client.set_token(tokens_[caller]);
      HttpResponse r;
      if (row.streaming) {
        r = client.StreamUntil(row.path(f), {}, [](const std::string& b) { return !b.empty(); });
      } else {
        r = client.Send(row.method, row.path(f), row.body);
      }
      long expected = Expected(row, caller);
      EXPECT_EQ(r.status, expected) << r.body;
      if (expected >= 400) {
        auto doc = json::Parse(r.body);
        ASSERT_TRUE(doc.ok()) << r.body;
        ASSERT_TRUE(doc->HasMember("error")) << r.body;
        const auto& error = (*doc)["error"];
        EXPECT_TRUE(error["code"].IsString());
        EXPECT_TRUE(error["message"].IsString());
        EXPECT_TRUE(error["details"].IsArray());
        std::string code = error["code"].GetString();
        const std::map<long, std::string> codes = {
            {401, "unauthenticated"}, {403, "forbidden"}, {404, "not_found"}};
        EXPECT_EQ(code, codes.at(expected));
      }
    }
  }
}

TEST_F(AuthMatrixTest, EveryRegisteredRouteHasARow) {
  std::set<std::string> rows;
  for (const Row& row : Rows()) rows.insert(row.method + " " + row.pattern);
  api::StreamWorkers streams(1);
  auto router = api::BuildRouter(server_->ledger(), streams);
  for (const auto& route : router->routes()) {
    std::string key = std::string(Pistache::Http::methodString(route.method)) + " " + route.pattern;
    EXPECT_TRUE(rows.count(key)) << "no auth row for " << key;
  }
  EXPECT_EQ(rows.size(), router->routes().size());
}

}  // namespace
}  // namespace ledgerflow::testing
