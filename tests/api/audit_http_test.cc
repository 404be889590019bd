// Keys, the audit trail and the live feed over real HTTP.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <rocksdb/db.h>

#include "core/json.h"
#include "events/chain.h"
#include "events/codec.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

json::Document ParseJson(const std::string& body) {
  auto doc = json::Parse(body);
  EXPECT_TRUE(doc.ok()) << "not JSON: " << body;
  return doc.ok() ? std::move(*doc) : json::Document();
}

std::string CreateBody(const std::string& name) {
  return R"({"definition":{"name":")" + name +
         R"(","steps":[{"id":"a","type":"agent_task"}]}})";
}

class AuditHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>();
    client_ = server_->Client();
  }

  std::string Create(HttpClient& c, const std::string& name) {
    auto r = c.Post("/api/workflows", CreateBody(name));
    EXPECT_EQ(r.status, 201) << r.body;
    return ParseJson(r.body)["id"].GetString();
  }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(AuditHttpTest, KeySecretIsShownOnceAndRevocationIsImmediate) {
  auto created = client_->Post("/api/keys", R"({"name":"ci","role":"editor"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto doc = ParseJson(created.body);
  std::string secret = doc["secret"].GetString();
  std::string id = doc["key"]["id"].GetString();
  EXPECT_TRUE(secret.starts_with("lf_" + id + "_")) << secret;
  EXPECT_EQ(std::string(doc["key"]["role"].GetString()), "editor");

  auto list = client_->Get("/api/keys");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(secret.substr(secret.rfind('_') + 1)), std::string::npos);
  EXPECT_EQ(list.body.find("secret"), std::string::npos);
  EXPECT_NE(list.body.find(id), std::string::npos);

  HttpClient ci(server_->url());
  ci.set_token(secret);
  EXPECT_EQ(ci.Post("/api/workflows", CreateBody("by-ci")).status, 201);
  ASSERT_EQ(client_->Send("DELETE", "/api/keys/" + id).status, 200);
  auto revoked = ci.Get("/api/workflows");
  EXPECT_EQ(revoked.status, 401);
  EXPECT_NE(revoked.body.find("revoked"), std::string::npos);
  auto listed = ParseJson(client_->Get("/api/keys").body);
  bool seen_revoked = false;
  for (const auto& k : listed["keys"].GetArray()) {
    if (std::string(k["id"].GetString()) == id) seen_revoked = k["revoked"].GetBool();
  }
  EXPECT_TRUE(seen_revoked);
}

TEST_F(AuditHttpTest, NoKeyCreatesAHigherRole) {
  HttpClient admin(server_->url());
  admin.set_token(server_->CreateKey("acme", core::Role::kAdmin));
  EXPECT_EQ(admin.Post("/api/keys", R"({"name":"x","role":"editor"})").status, 201);
  EXPECT_EQ(admin.Post("/api/keys", R"({"name":"x","role":"admin"})").status, 403);
  EXPECT_EQ(admin.Post("/api/keys", R"({"name":"x","role":"owner"})").status, 403);
  EXPECT_EQ(client_->Post("/api/keys", R"({"name":"x","role":"owner"})").status, 201);
  EXPECT_EQ(client_->Post("/api/keys", R"({"name":"x","role":"god"})").status, 400);
  EXPECT_EQ(client_->Post("/api/keys", R"({"name":"x"})").status, 400);
  EXPECT_EQ(client_->Post("/api/keys", R"({"role":"viewer"})").status, 400);
  HttpClient editor(server_->url());
  editor.set_token(server_->CreateKey("acme", core::Role::kEditor));
  EXPECT_EQ(editor.Post("/api/keys", R"({"name":"x","role":"viewer"})").status, 403);
}

TEST_F(AuditHttpTest, OnlyOwnersRevokeAdminAndOwnerKeysAndTheLastOwnerKeyStays) {
  auto key_id = [&](const std::string& role) {
    auto created = client_->Post("/api/keys", R"({"name":"k","role":")" + role + R"("})");
    EXPECT_EQ(created.status, 201) << created.body;
    return std::string(ParseJson(created.body)["key"]["id"].GetString());
  };
  const std::string second_owner = key_id("owner");
  const std::string other_admin = key_id("admin");
  const std::string editor = key_id("editor");
  HttpClient admin(server_->url());
  admin.set_token(server_->CreateKey("acme", core::Role::kAdmin));
  for (const std::string& id : {second_owner, other_admin}) {
    auto denied = admin.Send("DELETE", "/api/keys/" + id);
    EXPECT_EQ(denied.status, 403) << id;
    EXPECT_NE(denied.body.find("forbidden"), std::string::npos) << denied.body;
  }
  EXPECT_EQ(admin.Send("DELETE", "/api/keys/" + editor).status, 200);

  // The fixture's owner key revokes the other owner key, then cannot revoke itself.
  EXPECT_EQ(client_->Send("DELETE", "/api/keys/" + second_owner).status, 200);
  std::string own_id;
  const auto keys = ParseJson(client_->Get("/api/keys").body);
  for (const auto& k : keys["keys"].GetArray()) {
    if (std::string(k["role"].GetString()) == "owner" && !k["revoked"].GetBool()) {
      own_id = k["id"].GetString();
    }
  }
  ASSERT_FALSE(own_id.empty());
  auto last = client_->Send("DELETE", "/api/keys/" + own_id);
  EXPECT_EQ(last.status, 409);
  EXPECT_NE(last.body.find("last_owner_key"), std::string::npos) << last.body;
  EXPECT_EQ(client_->Get("/api/keys").status, 200);  // still works
}

TEST_F(AuditHttpTest, KeyNamesAreKeptWholeAndCountedInCharacters) {
  auto nul = client_->Post("/api/keys", R"({"name":"a\u0000b","role":"viewer"})");
  ASSERT_EQ(nul.status, 201) << nul.body;
  auto doc = ParseJson(nul.body);
  EXPECT_EQ(std::string(doc["key"]["name"].GetString(), doc["key"]["name"].GetStringLength()),
            std::string("a\0b", 3));
  std::string accented;
  for (int i = 0; i < 150; ++i) accented += "\xC3\xA9";  // 150 characters, 300 bytes
  EXPECT_EQ(client_->Post("/api/keys", R"({"name":")" + accented + R"(","role":"viewer"})")
                .status,
            201);
  std::string too_long;
  for (int i = 0; i < 201; ++i) too_long += "\xC3\xA9";
  EXPECT_EQ(client_->Post("/api/keys", R"({"name":")" + too_long + R"(","role":"viewer"})")
                .status,
            400);
}

TEST_F(AuditHttpTest, KeyBodiesAndFeedParametersAreCheckedLikeEveryOtherInput) {
  auto unknown = client_->Post("/api/keys", R"({"name":"k","role":"viewer","org":"globex"})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("Unknown field 'org'"), std::string::npos) << unknown.body;
  auto blank = client_->Post("/api/keys", R"({"name":"   ","role":"viewer"})");
  EXPECT_EQ(blank.status, 400);
  EXPECT_NE(blank.body.find("'name' (a label for the key) is required"), std::string::npos)
      << blank.body;
  auto after = client_->Get("/api/events/stream?after=x");
  EXPECT_EQ(after.status, 400);
  EXPECT_NE(after.body.find("'after' must be an integer"), std::string::npos) << after.body;
}

TEST_F(AuditHttpTest, AnotherOrgsKeyCannotBeRevoked) {
  auto created = ParseJson(client_->Post("/api/keys", R"({"name":"ci","role":"viewer"})").body);
  std::string id = created["key"]["id"].GetString();
  HttpClient outsider(server_->url());
  outsider.set_token(server_->CreateKey("globex", core::Role::kOwner));
  EXPECT_EQ(outsider.Send("DELETE", "/api/keys/" + id).status, 404);
  EXPECT_EQ(outsider.Get("/api/keys").body.find(id), std::string::npos);
}

TEST_F(AuditHttpTest, AuditEventsCarryHashesAndLinkPerOrg) {
  std::string wf = Create(*client_, "wf");
  ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + wf, R"({"tags":["x"]})",
                          {"X-Request-Id: audit-trace-1"}).status, 200);
  auto r = client_->Get("/api/audit/events?limit=1000");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r.body);
  const auto& events = doc["events"];
  ASSERT_GE(events.Size(), 4u);  // org, key, workflow created, details changed
  std::string prev;
  for (const auto& e : events.GetArray()) {
    EXPECT_EQ(std::string(e["org"].GetString()), "acme");
    EXPECT_EQ(std::string(e["prev_hash"].GetString()), prev);
    // The hash covers exactly what the API shows.
    auto decoded = events::DecodeEvent(json::Serialize(e));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(events::ComputeHash(prev, *decoded), e["hash"].GetString());
    prev = e["hash"].GetString();
  }
  const auto& last = events[events.Size() - 1];
  EXPECT_EQ(std::string(last["type"].GetString()), "workflow.details_changed");
  EXPECT_EQ(std::string(last["request_id"].GetString()), "audit-trace-1");
  EXPECT_TRUE(std::string(last["actor"].GetString()).starts_with("key_"));
  EXPECT_TRUE(doc["next_after"].IsNull());
}

TEST_F(AuditHttpTest, AuditFiltersAndCursorPaging) {
  std::string a = Create(*client_, "a");
  Create(*client_, "b");
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + a, CreateBody("a2")).status, 200);

  auto by_stream = ParseJson(client_->Get("/api/audit/events?stream=workflow-" + a).body);
  EXPECT_EQ(by_stream["events"].Size(), 2u);
  auto by_type = ParseJson(client_->Get("/api/audit/events?type=workflow.created").body);
  EXPECT_EQ(by_type["events"].Size(), 2u);
  std::string actor = by_type["events"][0]["actor"].GetString();
  auto by_actor = ParseJson(client_->Get("/api/audit/events?actor=" + actor).body);
  EXPECT_EQ(by_actor["events"].Size(), 3u);
  EXPECT_EQ(ParseJson(client_->Get("/api/audit/events?until=2000-01-01T00:00:00Z").body)
                ["events"].Size(), 0u);
  EXPECT_EQ(ParseJson(client_->Get("/api/audit/events?since=2999-01-01T00:00:00Z").body)
                ["events"].Size(), 0u);

  // Page through everything two at a time: nothing missed or repeated.
  std::vector<uint64_t> positions;
  std::string after = "0";
  for (int guard = 0; guard < 20; ++guard) {
    auto page = ParseJson(client_->Get("/api/audit/events?limit=2&after=" + after).body);
    for (const auto& e : page["events"].GetArray()) positions.push_back(e["position"].GetUint64());
    if (page["next_after"].IsNull()) break;
    after = std::to_string(page["next_after"].GetUint64());
  }
  auto all = ParseJson(client_->Get("/api/audit/events?limit=1000").body);
  ASSERT_EQ(positions.size(), all["events"].Size());
  for (size_t i = 1; i < positions.size(); ++i) EXPECT_LT(positions[i - 1], positions[i]);

  EXPECT_EQ(client_->Get("/api/audit/events?limit=0").status, 400);
  EXPECT_EQ(client_->Get("/api/audit/events?since=yesterday").status, 400);
  EXPECT_EQ(client_->Get("/api/audit/events?format=xml").status, 400);
}

// A stream is read through the store's stream index: more versions than one page of
// it, the cursor, the other filters, the NDJSON form, and another org's stream.
TEST_F(AuditHttpTest, AStreamsEventsArePagedFromItsOwnIndex) {
  const std::string a = Create(*client_, "a");
  Create(*client_, "b");
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + a,
                            R"({"description":"v)" + std::to_string(i) + R"("})",
                            {"Content-Type: application/merge-patch+json"})
                  .status,
              200);
    if (i == 150) Create(*client_, "between");
  }
  std::vector<uint64_t> versions;
  std::string after = "0";
  for (int guard = 0; guard < 100; ++guard) {
    auto page = ParseJson(
        client_->Get("/api/audit/events?limit=40&stream=workflow-" + a + "&after=" + after).body);
    for (const auto& e : page["events"].GetArray()) {
      EXPECT_EQ(std::string(e["stream"].GetString()), "workflow-" + a);
      versions.push_back(e["stream_version"].GetUint64());
    }
    if (page["next_after"].IsNull()) break;
    after = std::to_string(page["next_after"].GetUint64());
  }
  ASSERT_EQ(versions.size(), 301u);
  for (size_t i = 0; i < versions.size(); ++i) EXPECT_EQ(versions[i], i + 1);
  auto created = ParseJson(
      client_->Get("/api/audit/events?stream=workflow-" + a + "&type=workflow.created").body);
  EXPECT_EQ(created["events"].Size(), 1u);
  const std::string ndjson =
      client_->Get("/api/audit/events?format=ndjson&stream=workflow-" + a).body;
  EXPECT_EQ(std::count(ndjson.begin(), ndjson.end(), '\n'), 301);
  // Another organisation sees nothing of it: the same answer as an unknown stream.
  HttpClient globex(server_->url());
  globex.set_token(server_->CreateKey("globex", core::Role::kOwner));
  auto theirs = globex.Get("/api/audit/events?stream=workflow-" + a);
  EXPECT_EQ(theirs.status, 200);
  EXPECT_EQ(ParseJson(theirs.body)["events"].Size(), 0u);
  EXPECT_EQ(ParseJson(globex.Get("/api/audit/events?stream=workflow-wf_nope").body)["events"].Size(),
            0u);
}

TEST_F(AuditHttpTest, NdjsonExportStreamsTheWholeOrgHistory) {
  for (int i = 0; i < 30; ++i) Create(*client_, "wf-" + std::to_string(i));
  auto r = client_->Get("/api/audit/events?format=ndjson");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  std::istringstream lines(r.body);
  std::string line;
  events::ChainVerifier verifier;
  int count = 0;
  while (std::getline(lines, line)) {
    auto e = events::DecodeEvent(line);
    ASSERT_TRUE(e.ok()) << line;
    ASSERT_TRUE(verifier.Feed(*e).ok());
    ++count;
  }
  EXPECT_EQ(count, 32);  // org + key + 30 workflows
}

TEST_F(AuditHttpTest, VerifyReportsTheOrgChainHead) {
  Create(*client_, "wf");
  auto r = client_->Get("/api/audit/verify");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r.body);
  EXPECT_TRUE(doc["ok"].GetBool());
  EXPECT_EQ(doc["checked"].GetUint64(), 3u);
  auto all = ParseJson(client_->Get("/api/audit/events").body);
  const auto& last = all["events"][all["events"].Size() - 1];
  EXPECT_EQ(doc["head_position"].GetUint64(), last["position"].GetUint64());
  EXPECT_EQ(std::string(doc["head_hash"].GetString()), last["hash"].GetString());
}

TEST_F(AuditHttpTest, OrgsNeverSeeEachOthersEvents) {
  Create(*client_, "acme-wf");
  HttpClient globex(server_->url());
  globex.set_token(server_->CreateKey("globex", core::Role::kOwner));
  Create(globex, "globex-wf");
  auto mine = client_->Get("/api/audit/events?limit=1000").body;
  auto theirs = globex.Get("/api/audit/events?limit=1000").body;
  EXPECT_EQ(mine.find("globex"), std::string::npos);
  EXPECT_EQ(theirs.find("acme"), std::string::npos);
  EXPECT_EQ(globex.Get("/api/audit/events?format=ndjson").body.find("acme"), std::string::npos);
  auto verify = ParseJson(globex.Get("/api/audit/verify").body);
  EXPECT_EQ(verify["checked"].GetUint64(), 3u);
  // Globex's chain starts from "" although acme's events came first.
  auto theirs_doc = ParseJson(theirs);
  EXPECT_EQ(std::string(theirs_doc["events"][0]["prev_hash"].GetString()), "");
}

TEST_F(AuditHttpTest, VerifyDetectsAnEventCorruptedOnDisk) {
  std::string wf = Create(*client_, "wf");
  std::string globex_token = server_->CreateKey("globex", core::Role::kOwner);
  {
    HttpClient globex(server_->url());
    globex.set_token(globex_token);
    Create(globex, "theirs");
  }
  server_->Stop();
  {
    // Edit event 3 (acme's workflow.created) behind the store's back.
    rocksdb::DB* db = nullptr;
    std::vector<std::string> families;
    std::string dir = (server_->data_dir() / "data").string();
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir, &families).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir, descriptors, &handles, &db).ok());
    rocksdb::ColumnFamilyHandle* cf = nullptr;
    for (size_t i = 0; i < families.size(); ++i) {
      if (families[i] == "events") cf = handles[i];
    }
    std::string key(8, '\0');
    key[7] = 3;
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), cf, key, &value).ok());
    auto at = value.find("\"name\":\"wf\"");
    ASSERT_NE(at, std::string::npos) << value;
    value.replace(at, 11, "\"name\":\"WF\"");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf, key, value).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  server_->Start();
  client_ = server_->Client();
  auto r = client_->Get("/api/audit/verify");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r.body);
  EXPECT_FALSE(doc["ok"].GetBool());
  EXPECT_NE(std::string(doc["error"].GetString()).find("position 3"), std::string::npos)
      << r.body;
  // Another org's chain is untouched and still verifies.
  HttpClient globex(server_->url());
  globex.set_token(globex_token);
  auto theirs = ParseJson(globex.Get("/api/audit/verify").body);
  EXPECT_TRUE(theirs["ok"].GetBool());
}

// Positions of the "id:" lines of an SSE body.
std::vector<uint64_t> EventIds(const std::string& body) {
  std::vector<uint64_t> ids;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("id: ")) ids.push_back(std::stoull(line.substr(4)));
  }
  return ids;
}

TEST_F(AuditHttpTest, LiveFeedReplaysThenFollowsAndResumes) {
  Create(*client_, "before");  // positions 1-2 are the org and key; 3 this
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto c = server_->Client();
    Create(*c, "live-1");
    Create(*c, "live-2");
  });
  HttpClient feed(server_->url());
  feed.set_token(server_->owner_token());
  auto r = feed.StreamUntil("/api/events/stream", {},
                            [](const std::string& body) { return EventIds(body).size() >= 5; });
  writer.join();
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto ids = EventIds(r.body);
  ASSERT_EQ(ids.size(), 5u) << r.body;
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], i + 1);
  EXPECT_NE(r.body.find("event: workflow.created"), std::string::npos);

  // Resume after id 3: exactly 4 and 5 follow.
  auto resumed = feed.StreamUntil("/api/events/stream", {"Last-Event-ID: 3"},
                                  [](const std::string& body) { return EventIds(body).size() >= 2; });
  EXPECT_EQ(EventIds(resumed.body), (std::vector<uint64_t>{4, 5}));
}

TEST_F(AuditHttpTest, LiveFeedIsOrgScoped) {
  HttpClient globex(server_->url());
  globex.set_token(server_->CreateKey("globex", core::Role::kOwner));
  Create(*client_, "acme-1");
  Create(globex, "globex-1");
  HttpClient feed(server_->url());
  feed.set_token(server_->owner_token());
  auto r = feed.StreamUntil("/api/events/stream", {},
                            [](const std::string& body) { return EventIds(body).size() >= 3; },
                            3000);
  EXPECT_EQ(r.body.find("globex"), std::string::npos);
  EXPECT_EQ(EventIds(r.body).size(), 3u);
}

TEST_F(AuditHttpTest, LiveFeedEndsWhenItsKeyIsRevoked) {
  auto created = ParseJson(client_->Post("/api/keys", R"({"name":"feed","role":"viewer"})").body);
  const std::string id = created["key"]["id"].GetString();
  HttpClient feed(server_->url());
  feed.set_token(created["secret"].GetString());
  std::atomic<bool> open{false};
  std::thread revoker([&] {
    // Once the feed is open (authenticated), revoke its key and write after that.
    for (int i = 0; i < 1000 && !open; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto c = server_->Client();
    EXPECT_EQ(c->Send("DELETE", "/api/keys/" + id).status, 200);
    Create(*c, "after-revocation");
  });
  // Read until the server ends the feed (or 10 s pass).
  auto r = feed.StreamUntil(
      "/api/events/stream", {},
      [&](const std::string& body) {
        if (body.find(": ledgerflow event feed") != std::string::npos) open = true;
        return false;
      },
      10000);
  revoker.join();
  EXPECT_TRUE(r.error.empty()) << "the feed did not end: " << r.error;
  EXPECT_NE(r.body.find("event: error\ndata: the API key of this feed was revoked"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("key.revoked"), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("after-revocation"), std::string::npos) << r.body;
}

TEST_F(AuditHttpTest, ServerStopsWithOpenFeeds) {
  HttpClient feed(server_->url());
  feed.set_token(server_->owner_token());
  std::thread reader([&] {
    feed.StreamUntil("/api/events/stream", {}, [](const std::string&) { return false; }, 5000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  // Stopping does not wait for the feed's heartbeat period.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  reader.join();
  server_->Start();
}

}  // namespace
}  // namespace ledgerflow::testing
