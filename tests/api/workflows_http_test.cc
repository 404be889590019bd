// The Workflows and Versions API over real HTTP against the real server.
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "core/json_patch.h"
#include "api/openapi.h"
#include "tests/api/workflow_http_helpers.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

TEST_F(WorkflowsHttpTest, HealthzAnswersWithoutKey) {
  HttpClient anonymous(server_->url());
  auto r = anonymous.Get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Str(ParseJson(r), "status"), "ok");
}

TEST_F(WorkflowsHttpTest, CreateReturnsWorkflowVersionOneWithEtagAndLocation) {
  auto r = client_->Post("/api/workflows", CreateBody("nightly-etl"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto doc = ParseJson(r);
  std::string id = Str(doc, "id");
  EXPECT_TRUE(id.starts_with("wf_")) << id;
  const json::Value& wf = doc["workflow"];
  EXPECT_EQ(Str(wf, "id"), id);
  EXPECT_EQ(Str(wf, "name"), "nightly-etl");
  EXPECT_EQ(Int(wf, "version"), 1);
  EXPECT_EQ(Str(wf, "status"), "active");
  EXPECT_EQ(Str(wf, "trigger_type"), "manual");
  EXPECT_EQ(wf["tags"][0].GetString(), std::string("etl"));
  EXPECT_EQ(wf["definition"]["steps"].Size(), 2u);
  EXPECT_FALSE(Str(wf, "created_by").empty());
  EXPECT_TRUE(Str(wf, "created_at").ends_with("Z"));
  EXPECT_EQ(r.header("etag"), "\"1\"");
  EXPECT_EQ(r.header("location"), "/api/workflows/" + id);
  EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST_F(WorkflowsHttpTest, WorkflowIdsBeginWithTheirCreationTime) {
  const int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = client_->Post("/api/workflows", CreateBody("ordered-" + std::to_string(i)));
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(Str(ParseJson(r), "id"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ(id.size(), 3u + 24u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef", 3), std::string::npos) << id;
    const int64_t ms = std::stoll(id.substr(3, 12), nullptr, 16);
    EXPECT_GE(ms, before) << id;
    EXPECT_LE(ms, before + 60'000) << id;
  }
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
}

TEST_F(WorkflowsHttpTest, RequestIdIsEchoedOrGenerated) {
  auto given = client_->Send("GET", "/api/workflows", "", {"X-Request-Id: trace-123"});
  EXPECT_EQ(given.header("x-request-id"), "trace-123");
  auto generated = client_->Get("/api/workflows");
  EXPECT_TRUE(generated.header("x-request-id").starts_with("req_"));
}

TEST_F(WorkflowsHttpTest, GetReturnsTheWorkflowObjectUnwrapped) {
  std::string id = Create("wf");
  auto r = client_->Get("/api/workflows/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r);
  EXPECT_EQ(Str(doc, "id"), id);
  EXPECT_EQ(Int(doc, "version"), 1);
  EXPECT_TRUE(doc.HasMember("definition"));
  EXPECT_EQ(r.header("etag"), "\"1\"");
}

TEST_F(WorkflowsHttpTest, UnknownWorkflowIs404WithEnvelope) {
  auto r = client_->Get("/api/workflows/wf_doesnotexist");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "not_found");
}

TEST_F(WorkflowsHttpTest, PutWritesNewVersionAndIdenticalDefinitionWritesNone) {
  std::string id = Create("wf");
  auto r = client_->Send("PUT", "/api/workflows/" + id,
                         R"({"definition":)" +
                             Definition("wf", R"({"id":"report","type":"agent_task"})") +
                             R"(,"change_summary":"add report"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(ParseJson(r), "version"), 2);
  EXPECT_EQ(r.header("etag"), "\"2\"");

  auto same = client_->Send("PUT", "/api/workflows/" + id,
                            R"({"definition":)" +
                                Definition("wf", R"({"id":"report","type":"agent_task"})") + "}");
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(Int(ParseJson(same), "version"), 2);
  auto versions = ParseJson(client_->Get("/api/workflows/" + id + "/versions"));
  EXPECT_EQ(Int(versions, "total"), 2);
}

TEST_F(WorkflowsHttpTest, InvalidDefinitionIs400WithValidationDetails) {
  std::string bad = R"({"definition":{"name":"x","steps":[{"id":"notify","type":"webhook",)"
                    R"("config":{"url":"u"},"depends_on":["fetch"]}]}})";
  auto r = client_->Post("/api/workflows", bad);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "validation_failed");
  auto doc = ParseJson(r);
  ASSERT_GE(doc["error"]["details"].Size(), 1u);
  EXPECT_EQ(std::string(doc["error"]["details"][0].GetString()),
            "Step 'notify' depends on 'fetch' which doesn't exist");
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows")), "total"), 0);
}

TEST_F(WorkflowsHttpTest, NumbersJavaScriptCannotReadExactlyAre400AndStoreNothing) {
  for (const std::string n : {"9007199254740993", "-9007199254740993", "1e400"}) {
    std::string body = R"({"definition":{"name":"x","steps":[{"id":"a","type":"webhook",)"
                       R"("config":{"url":"u","n":)" + n + "}}]}}";
    auto r = client_->Post("/api/workflows", body);
    EXPECT_EQ(r.status, 400) << n;
    EXPECT_EQ(ErrorCode(r), "number_out_of_range") << n;
    EXPECT_NE(r.body.find("/definition/steps/0/config/n"), std::string::npos) << r.body;
  }
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows")), "total"), 0);
  // 2^53-1, 1.0 and 1e2 are fine, and kept as written.
  std::string ok = R"({"definition":{"name":"x","steps":[{"id":"a","type":"webhook",)"
                   R"("config":{"url":"u","n":9007199254740991,"f":1.0,"e":1e2}}]}})";
  auto r = client_->Post("/api/workflows", ok);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find(R"("n":9007199254740991,"f":1.0,"e":100.0)"), std::string::npos) << r.body;
}

TEST_F(WorkflowsHttpTest, ValidateReportsCyclesWithoutStoring) {
  std::string body = R"({"definition":{"name":"x","steps":[)"
                     R"({"id":"step_a","type":"agent_task","depends_on":["step_b"]},)"
                     R"({"id":"step_b","type":"agent_task","depends_on":["step_a"]}]}})";
  auto r = client_->Post("/api/workflows/validate", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r);
  EXPECT_FALSE(doc["valid"].GetBool());
  ASSERT_EQ(doc["errors"].Size(), 1u);
  EXPECT_EQ(std::string(doc["errors"][0].GetString()),
            "Cycle detected: step_a \xE2\x86\x92 step_b \xE2\x86\x92 step_a");
  auto ok = ParseJson(client_->Post("/api/workflows/validate",
                                    R"({"definition":)" + Definition("fine") + "}"));
  EXPECT_TRUE(ok["valid"].GetBool());
  EXPECT_EQ(ok["errors"].Size(), 0u);
}

TEST_F(WorkflowsHttpTest, ScriptStepsAreRefusedUnlessAllowed) {
  std::string body = R"({"definition":{"name":"x","steps":[)"
                     R"({"id":"s","type":"script","config":{"command":"echo hi"}}]}})";
  auto r = client_->Post("/api/workflows", body);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "validation_failed");
}

TEST_F(WorkflowsHttpTest, BadBodiesGetClearErrors) {
  auto malformed = client_->Post("/api/workflows", R"({"definition": )");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorCode(malformed), "malformed_json");

  auto not_object = client_->Post("/api/workflows", "[1,2]");
  EXPECT_EQ(not_object.status, 400);
  EXPECT_EQ(ErrorCode(not_object), "invalid_body");

  auto wrong_type = client_->Post("/api/workflows", R"({"definition":"steps"})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(ErrorMessage(wrong_type), "'definition' must be an object, got string");

  auto no_definition = client_->Post("/api/workflows", R"({"name":"x"})");
  EXPECT_EQ(no_definition.status, 400);
  EXPECT_EQ(ErrorCode(no_definition), "invalid_body");
  EXPECT_EQ(ErrorMessage(no_definition), "'definition' is required");

  auto wrong_tags = client_->Post(
      "/api/workflows", R"({"definition":)" + Definition("x") + R"(,"tags":"etl"})");
  EXPECT_EQ(wrong_tags.status, 400);
  EXPECT_EQ(ErrorCode(wrong_tags), "invalid_field");

  auto bad_trigger = client_->Post(
      "/api/workflows", R"({"definition":)" + Definition("x") + R"(,"trigger_type":"cron"})");
  EXPECT_EQ(bad_trigger.status, 400);

  auto unknown_field = client_->Post(
      "/api/workflows", R"({"definition":)" + Definition("x") + R"(,"colour":"red"})");
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_EQ(ErrorMessage(unknown_field), "Unknown field 'colour'");

  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  auto nested = client_->Post("/api/workflows", deep);
  EXPECT_EQ(nested.status, 400);

  auto empty = client_->Post("/api/workflows", "");
  EXPECT_EQ(empty.status, 400);

  // A lone surrogate escape parses to bytes that are not UTF-8: refused before storing,
  // wherever it is (the log must only hold what it can read back).
  for (const std::string& field :
       {std::string(R"("description":"\udc00")"), std::string(R"("tags":["\ud800"])")}) {
    auto lone = client_->Post("/api/workflows",
                              R"({"definition":)" + Definition("x") + "," + field + "}");
    EXPECT_EQ(lone.status, 400) << field << " " << lone.body;
    EXPECT_EQ(ErrorCode(lone), "malformed_json") << lone.body;
  }
  auto lone_in_definition = client_->Post(
      "/api/workflows",
      R"({"definition":{"name":"x","steps":[{"id":"a","type":"http_request","config":{"url":"https://example.com/\udc00"}}]}})");
  EXPECT_EQ(lone_in_definition.status, 400) << lone_in_definition.body;

  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows")), "total"), 0);
  EXPECT_EQ(client_->Get("/healthz").status, 200);  // still serving
}

TEST_F(WorkflowsHttpTest, ErrorsQuotingWhatTheClientSentAreValidUtf8) {
  // Percent-decoded bytes that are not UTF-8, and a value cut inside a character.
  std::string long_value;
  for (int i = 0; i < 40; ++i) long_value += "%C3%A9";
  for (const std::string& path : {std::string("/api/workflows/%FF%FE"),
                                  std::string("/api/workflows?limit=%FF"),
                                  std::string("/api/workflows/wf_x?as_of=%C0%AF"),
                                  "/api/workflows?limit=a" + long_value}) {
    auto r = client_->Get(path);
    EXPECT_GE(r.status, 400) << path;
    EXPECT_FALSE(ErrorCode(r).empty()) << path << ": " << r.body;  // parses as UTF-8 JSON
  }
  auto r = client_->Get("/api/workflows?limit=%FF");
  EXPECT_EQ(ErrorMessage(r), "'limit' must be an integer from 1 to 200, got '\xEF\xBF\xBD'");
}

TEST_F(WorkflowsHttpTest, BodiesWithAMemberTwiceAreRefused) {
  // Validated on the first copy here, read on the last by most clients: refused.
  auto twice = client_->Post(
      "/api/workflows",
      R"({"definition":{"name":"a","steps":[{"id":"s","type":"agent_task"}],)"
      R"("steps":[{"id":"s","type":"script","config":{"command":"echo hi"}}]}})");
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(ErrorCode(twice), "invalid_body");
  EXPECT_EQ(ErrorMessage(twice),
            "The body has the member 'steps' twice in the object at /definition");
  auto validate = client_->Post("/api/workflows/validate",
                                R"({"definition":{"name":"a","steps":[]},"definition":{}})");
  EXPECT_EQ(validate.status, 400);
  EXPECT_EQ(ErrorMessage(validate),
            "The body has the member 'definition' twice in its top-level object");
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows")), "total"), 0);
}

TEST_F(WorkflowsHttpTest, OversizedBodyIs413WithEnvelope) {
  std::string huge = R"({"definition":{"name":")" + std::string(2 << 20, 'x') + R"("}})";
  auto r = client_->Post("/api/workflows", huge);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(ErrorCode(r), "payload_too_large");
  HttpClient fresh(server_->url());
  EXPECT_EQ(fresh.Get("/healthz").status, 200);
}

TEST_F(WorkflowsHttpTest, UnknownRouteIs404AndWrongMethodIs405) {
  auto r = client_->Get("/api/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCode(r), "route_not_found");
  auto m = client_->Send("DELETE", "/api/workflows");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(ErrorCode(m), "method_not_allowed");
  EXPECT_NE(m.header("allow").find("GET, HEAD"), std::string::npos);
}

TEST_F(WorkflowsHttpTest, HeadAnswersWithTheGetHeadersAndNoBody) {
  std::string path = "/api/workflows/" + Create("wf");
  auto get = client_->Get(path);
  ASSERT_EQ(get.status, 200);
  auto head = client_->Send("HEAD", path);
  ASSERT_EQ(head.status, 200) << head.error;
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("etag"), get.header("etag"));
  EXPECT_EQ(head.header("content-length"), std::to_string(get.body.size()));
  auto refused = client_->Send("HEAD", path + "/rollback");
  EXPECT_EQ(refused.status, 405);
  EXPECT_TRUE(refused.body.empty());
  EXPECT_EQ(refused.header("allow"), "POST");
  // Nothing was left on the connection (kept alive) that the next answer is read from.
  auto next = client_->Get(path);
  EXPECT_EQ(next.status, 200) << next.error;
  EXPECT_EQ(next.body, get.body);
  // A streaming route sends its head and ends, rather than streaming a body.
  auto stream = client_->Send("HEAD", "/api/events/stream");
  EXPECT_EQ(stream.status, 200) << stream.error;
  EXPECT_EQ(stream.header("content-type"), "text/event-stream");
  EXPECT_TRUE(stream.body.empty());
  auto after = client_->Get(path);
  EXPECT_EQ(after.status, 200) << after.error;
  EXPECT_EQ(after.body, get.body);
}

TEST_F(WorkflowsHttpTest, ListFiltersPagesAndCounts) {
  for (int i = 0; i < 5; ++i) Create("etl-" + std::to_string(i));
  auto r = client_->Post("/api/workflows",
                         R"({"definition":)" + Definition("billing") +
                             R"(,"tags":["finance"],"trigger_type":"webhook","status":"draft",)"
                             R"("project_id":"p1","description":"Monthly invoices"})");
  ASSERT_EQ(r.status, 201) << r.body;

  auto all = ParseJson(client_->Get("/api/workflows"));
  EXPECT_EQ(Int(all, "total"), 6);
  EXPECT_EQ(all["workflows"].Size(), 6u);
  EXPECT_EQ(Str(all["workflows"][0], "name"), "billing");  // newest first
  EXPECT_FALSE(all["workflows"][0].HasMember("definition"));

  auto page = ParseJson(client_->Get("/api/workflows?limit=2&offset=1"));
  EXPECT_EQ(Int(page, "total"), 6);
  ASSERT_EQ(page["workflows"].Size(), 2u);
  EXPECT_EQ(Str(page["workflows"][0], "name"), "etl-4");

  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?tag=finance")), "total"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?status=draft")), "total"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?status=active")), "total"), 5);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?trigger_type=webhook")), "total"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?project_id=p1")), "total"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?q=INVOICE")), "total"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?q=etl-")), "total"), 5);

  EXPECT_EQ(client_->Get("/api/workflows?limit=0").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows?limit=201").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows?limit=abc").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows?offset=-1").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows?status=sleeping").status, 400);
}

TEST_F(WorkflowsHttpTest, PatchMergesDetailsAndDefinition) {
  std::string id = Create("wf");
  auto r = client_->Send("PATCH", "/api/workflows/" + id,
                         R"({"name":"renamed","tags":["a","b"],"description":"d"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r);
  EXPECT_EQ(Str(doc, "name"), "renamed");
  EXPECT_EQ(doc["tags"].Size(), 2u);
  EXPECT_EQ(Int(doc, "version"), 1);  // details are not a new version

  auto def = client_->Send("PATCH", "/api/workflows/" + id,
                           R"({"definition":{"metadata":{"owner":"ops"}}})");
  ASSERT_EQ(def.status, 200) << def.body;
  auto after = ParseJson(def);
  EXPECT_EQ(Int(after, "version"), 2);
  EXPECT_EQ(Str(after["definition"]["metadata"], "owner"), "ops");
  EXPECT_EQ(after["definition"]["steps"].Size(), 2u);

  auto remove = client_->Send("PATCH", "/api/workflows/" + id,
                              R"({"definition":{"metadata":null}})");
  ASSERT_EQ(remove.status, 200);
  EXPECT_FALSE(ParseJson(remove)["definition"].HasMember("metadata"));

  auto status_field = client_->Send("PATCH", "/api/workflows/" + id, R"({"status":"paused"})");
  EXPECT_EQ(status_field.status, 400);
  auto breaks = client_->Send("PATCH", "/api/workflows/" + id, R"({"definition":{"steps":null}})");
  EXPECT_EQ(breaks.status, 400);
  EXPECT_EQ(ErrorCode(breaks), "validation_failed");
  auto stale = client_->Send("PATCH", "/api/workflows/" + id, R"({"name":"x"})",
                             {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409);
}

TEST_F(WorkflowsHttpTest, StatusTransitions) {
  std::string id = Create("wf");
  auto paused = client_->Send("PATCH", "/api/workflows/" + id + "/status", R"({"status":"paused"})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(Str(ParseJson(paused), "status"), "paused");
  auto bad = client_->Send("PATCH", "/api/workflows/" + id + "/status", R"({"status":"asleep"})");
  EXPECT_EQ(bad.status, 400);
  auto missing = client_->Send("PATCH", "/api/workflows/" + id + "/status", R"({})");
  EXPECT_EQ(missing.status, 400);
  ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + id + "/status",
                          R"({"status":"archived"})").status, 200);
  auto back = client_->Send("PATCH", "/api/workflows/" + id + "/status", R"({"status":"draft"})");
  EXPECT_EQ(back.status, 409);
  EXPECT_EQ(ErrorCode(back), "invalid_transition");
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?status=archived")), "total"), 1);
}

TEST_F(WorkflowsHttpTest, VersionsDiffAndRollback) {
  std::string id = Create("wf");
  std::string v2 = Definition("wf", R"({"id":"report","type":"agent_task"})");
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + v2 + R"(,"change_summary":"add report"})").status,
            200);
  std::string v3 = R"({"name":"wf","steps":[{"id":"fetch","type":"http_request","config":)"
                   R"({"url":"https://example.com/v3","method":"GET"}},)"
                   R"({"id":"report","type":"agent_task"}]})";
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id, R"({"definition":)" + v3 + "}").status,
            200);

  auto versions = ParseJson(client_->Get("/api/workflows/" + id + "/versions"));
  ASSERT_EQ(versions["versions"].Size(), 3u);
  EXPECT_EQ(Int(versions["versions"][0], "version"), 3);
  EXPECT_EQ(Str(versions["versions"][1], "change_summary"), "add report");
  EXPECT_FALSE(versions["versions"][0].HasMember("definition"));
  auto paged = ParseJson(client_->Get("/api/workflows/" + id + "/versions?limit=1&offset=2"));
  ASSERT_EQ(paged["versions"].Size(), 1u);
  EXPECT_EQ(Int(paged["versions"][0], "version"), 1);

  auto one = client_->Get("/api/workflows/" + id + "/versions/2");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(ParseJson(one)["definition"]["steps"].Size(), 3u);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "/versions/9").status, 404);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "/versions/abc").status, 400);

  // diff(1, 3) applied to version 1 gives version 3, and the other way round.
  for (auto [a, b] : {std::pair{1, 3}, std::pair{3, 1}, std::pair{2, 3}}) {
    auto r = client_->Get("/api/workflows/" + id + "/diff?v1=" + std::to_string(a) +
                          "&v2=" + std::to_string(b));
    ASSERT_EQ(r.status, 200) << r.body;
    auto diff = ParseJson(r);
    EXPECT_EQ(Int(diff, "v1"), a);
    EXPECT_FALSE(Str(diff, "summary").empty());
    auto from = ParseJson(client_->Get("/api/workflows/" + id + "/versions/" + std::to_string(a)));
    auto to = ParseJson(client_->Get("/api/workflows/" + id + "/versions/" + std::to_string(b)));
    json::Document doc = json::Clone(from["definition"]);
    ASSERT_TRUE(ApplyJsonPatch(doc, diff["diff"]).ok());
    EXPECT_TRUE(doc == to["definition"]) << json::Serialize(doc);
  }
  auto summary = ParseJson(client_->Get("/api/workflows/" + id + "/diff?v1=1&v2=2"));
  EXPECT_EQ(Str(summary, "summary"), "Added 1 step");
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "/diff?v1=1").status, 400);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "/diff?v1=1&v2=7").status, 404);

  auto rolled = client_->Post("/api/workflows/" + id + "/rollback", R"({"version":1})");
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  auto now = ParseJson(rolled);
  EXPECT_EQ(Int(now, "version"), 4);
  auto v1 = ParseJson(client_->Get("/api/workflows/" + id + "/versions/1"));
  EXPECT_TRUE(now["definition"] == v1["definition"]);
  auto v4 = ParseJson(client_->Get("/api/workflows/" + id + "/versions/4"));
  EXPECT_EQ(Str(v4, "change_summary"), "Rollback to version 1");
  EXPECT_EQ(client_->Post("/api/workflows/" + id + "/rollback", R"({"version":99})").status, 404);
  EXPECT_EQ(client_->Post("/api/workflows/" + id + "/rollback", R"({"version":"1"})").status, 400);
}

TEST_F(WorkflowsHttpTest, MetadataCountsVersions) {
  std::string id = Create("wf");
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("wf2") + "}").status, 200);
  ASSERT_EQ(client_->Post("/api/workflows/" + id + "/rollback", R"({"version":1})").status, 200);
  auto r = client_->Get("/api/workflows/" + id + "/metadata");
  ASSERT_EQ(r.status, 200) << r.body;
  auto doc = ParseJson(r);
  EXPECT_EQ(Int(doc, "version_count"), 3);
  EXPECT_EQ(Int(doc, "current_version"), 3);
  EXPECT_EQ(Int(doc, "rollback_count"), 1);
}

TEST_F(WorkflowsHttpTest, DeleteIsATombstone) {
  std::string id = Create("wf");
  std::string other = Create("other");
  auto r = client_->Send("DELETE", "/api/workflows/" + id);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(ParseJson(r)["ok"].GetBool());
  EXPECT_EQ(client_->Get("/api/workflows/" + id).status, 404);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "/versions").status, 404);
  EXPECT_EQ(client_->Send("DELETE", "/api/workflows/" + id).status, 404);
  auto list = ParseJson(client_->Get("/api/workflows"));
  EXPECT_EQ(Int(list, "total"), 1);
  EXPECT_EQ(Str(list["workflows"][0], "id"), other);
  // The history stays in the log.
  auto events = server_->ledger().store().ReadStream("workflow-" + id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().type, "workflow.deleted");
}

TEST_F(WorkflowsHttpTest, AsOfReturnsThePast) {
  std::string id = Create("wf");
  auto v1 = ParseJson(client_->Get("/api/workflows/" + id));
  std::string created_at = Str(v1, "updated_at");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("wf2") + "}").status, 200);
  auto past = client_->Get("/api/workflows/" + id + "?as_of=" + created_at);
  ASSERT_EQ(past.status, 200) << past.body;
  EXPECT_EQ(Int(ParseJson(past), "version"), 1);
  EXPECT_EQ(Str(ParseJson(past)["definition"], "name"), "wf");
  auto now = ParseJson(client_->Get("/api/workflows/" + id + "?as_of=2999-01-01T00:00:00Z"));
  EXPECT_EQ(Int(now, "version"), 2);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "?as_of=2000-01-01T00:00:00Z").status, 404);
  EXPECT_EQ(client_->Get("/api/workflows/" + id + "?as_of=yesterday").status, 400);
}

TEST_F(WorkflowsHttpTest, KeysAreRequiredAndRolesEnforced) {
  HttpClient anonymous(server_->url());
  auto none = anonymous.Get("/api/workflows");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ErrorCode(none), "unauthenticated");
  anonymous.set_token("not-a-key");
  EXPECT_EQ(anonymous.Get("/api/workflows").status, 401);
  anonymous.set_token("lf_key_0011223344556677_00");
  EXPECT_EQ(anonymous.Get("/api/workflows").status, 401);

  HttpClient viewer(server_->url());
  viewer.set_token(server_->CreateKey("acme", core::Role::kViewer));
  EXPECT_EQ(viewer.Get("/api/workflows").status, 200);
  auto denied = viewer.Post("/api/workflows", CreateBody("x"));
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "forbidden");

  // The scheme's case and the spaces after it do not matter; another scheme does.
  HttpClient raw(server_->url());  // sends no Authorization of its own
  const std::string& token = server_->owner_token();
  for (const std::string& value :
       {"bearer " + token, "BEARER  " + token, "Bearer " + token + " "}) {
    EXPECT_EQ(raw.Send("GET", "/api/workflows", "", {"Authorization: " + value}).status,
              200)
        << value;
  }
  EXPECT_EQ(raw.Send("GET", "/api/workflows", "", {"Authorization: Basic " + token}).status,
            401);
  EXPECT_EQ(raw.Send("GET", "/api/workflows", "", {"Authorization: Bearer"}).status, 401);
}

TEST_F(WorkflowsHttpTest, AnotherOrgsWorkflowIs404AndNeverListed) {
  std::string id = Create("secret");
  HttpClient outsider(server_->url());
  outsider.set_token(server_->CreateKey("globex", core::Role::kOwner));
  EXPECT_EQ(outsider.Get("/api/workflows/" + id).status, 404);
  EXPECT_EQ(outsider.Get("/api/workflows/" + id + "/versions").status, 404);
  EXPECT_EQ(outsider.Get("/api/workflows/" + id + "/diff?v1=1&v2=1").status, 404);
  EXPECT_EQ(outsider.Get("/api/workflows/" + id + "?as_of=2999-01-01T00:00:00Z").status, 404);
  EXPECT_EQ(outsider.Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("mine") + "}").status, 404);
  EXPECT_EQ(outsider.Send("DELETE", "/api/workflows/" + id).status, 404);
  EXPECT_EQ(outsider.Get("/api/workflows/" + id + "/metadata").status, 404);
  EXPECT_EQ(outsider.Get("/api/workflows/" + id + "/versions/1").status, 404);
  EXPECT_EQ(outsider.Post("/api/workflows/" + id + "/rollback", R"({"version":1})").status, 404);
  EXPECT_EQ(Int(ParseJson(outsider.Get("/api/workflows")), "total"), 0);
  EXPECT_EQ(Int(ParseJson(outsider.Get("/api/workflows?q=secret")), "total"), 0);
  EXPECT_EQ(Int(ParseJson(outsider.Get("/api/workflows?tag=etl")), "total"), 0);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows/" + id)), "version"), 1);
  EXPECT_EQ(Int(ParseJson(client_->Get("/api/workflows?q=secret")), "total"), 1);
}

TEST_F(WorkflowsHttpTest, OpenApiDocumentsEveryRegisteredRoute) {
  HttpClient anonymous(server_->url());
  auto r = anonymous.Get("/api/openapi.json");
  ASSERT_EQ(r.status, 200);
  auto doc = ParseJson(r);
  EXPECT_EQ(Str(doc, "openapi"), "3.0.3");
  const json::Value& paths = doc["paths"];
  // Compare against the route table the server actually dispatches with.
  api::StreamWorkers streams(1);
  api::Router router = *api::BuildRouter(server_->ledger(), streams);
  ASSERT_GE(router.routes().size(), 15u);
  for (const auto& route : router.routes()) {
    std::string path = api::OpenApiPath(route.pattern);
    std::string method = Pistache::Http::methodString(route.method);
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.HasMember(path.c_str())) << "undocumented path " << path;
    EXPECT_TRUE(paths[path.c_str()].HasMember(method.c_str()))
        << "undocumented " << method << " " << path;
  }
  // Parameter types and the If-Match precondition of the commands.
  auto parameter = [&](const char* path, const char* method, const std::string& name) {
    for (const auto& item : paths[path][method]["parameters"].GetArray()) {
      const json::Value* p = &item;
      if (item.HasMember("$ref")) {
        std::string ref = Str(item, "$ref");  // #/components/parameters/<name>
        p = &doc["components"]["parameters"][ref.substr(ref.rfind('/') + 1).c_str()];
      }
      if (Str(*p, "name") == name) return Str((*p)["schema"], "type") + " in " + Str(*p, "in");
    }
    return std::string("absent");
  };
  EXPECT_EQ(parameter("/api/workflows", "get", "limit"), "integer in query");
  EXPECT_EQ(parameter("/api/workflows", "get", "q"), "string in query");
  EXPECT_EQ(parameter("/api/workflows/{id}/versions/{version}", "get", "version"),
            "integer in path");
  for (const char* method : {"put", "patch", "delete"}) {
    EXPECT_EQ(parameter("/api/workflows/{id}", method, "If-Match"), "string in header") << method;
  }
  EXPECT_EQ(parameter("/api/workflows/{id}/rollback", "post", "If-Match"), "string in header");
  EXPECT_EQ(parameter("/api/workflows/{id}", "get", "If-Match"), "absent");
}

TEST_F(WorkflowsHttpTest, RestartKeepsEveryRead) {
  std::string id = Create("wf");
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("wf2") + "}").status, 200);
  std::string gone = Create("gone");
  ASSERT_EQ(client_->Send("DELETE", "/api/workflows/" + gone).status, 200);
  std::vector<std::string> paths = {"/api/workflows", "/api/workflows/" + id,
                                    "/api/workflows/" + id + "/versions",
                                    "/api/workflows/" + id + "/versions/1",
                                    "/api/workflows/" + id + "/diff?v1=1&v2=2",
                                    "/api/workflows/" + gone};
  std::vector<std::pair<long, std::string>> before;
  for (const auto& p : paths) {
    auto r = client_->Get(p);
    before.emplace_back(r.status, r.body);
  }
  server_->Restart();
  client_ = server_->Client();
  for (size_t i = 0; i < paths.size(); ++i) {
    auto r = client_->Get(paths[i]);
    EXPECT_EQ(r.status, before[i].first) << paths[i];
    if (r.status == 200) {
      EXPECT_EQ(r.body, before[i].second) << paths[i];
    }
  }
  // Writes continue from where they were.
  auto next = client_->Send("PUT", "/api/workflows/" + id,
                            R"({"definition":)" + Definition("wf3") + "}");
  EXPECT_EQ(Int(ParseJson(next), "version"), 3);
}

TEST_F(WorkflowsHttpTest, RebuildFromTheLogGivesTheSameReads) {
  std::string id = Create("wf");
  ASSERT_EQ(client_->Send("PATCH", "/api/workflows/" + id, R"({"tags":["x"]})").status, 200);
  ASSERT_EQ(client_->Send("PUT", "/api/workflows/" + id,
                          R"({"definition":)" + Definition("wf2") + "}").status, 200);
  std::string gone = Create("gone");
  ASSERT_EQ(client_->Send("DELETE", "/api/workflows/" + gone).status, 200);
  std::vector<std::string> paths = {"/api/workflows", "/api/workflows/" + id,
                                    "/api/workflows/" + id + "/versions",
                                    "/api/workflows/" + id + "/versions/2",
                                    "/api/workflows/" + id + "/metadata"};
  std::vector<std::string> before;
  for (const auto& p : paths) before.push_back(client_->Get(p).body);
  server_->Stop();
  {
    service::LedgerOptions options;
    options.data_dir = (server_->data_dir() / "data").string();
    auto ledger = service::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok());
    ASSERT_TRUE((*ledger)->runner().Rebuild().ok());
  }
  server_->Start();
  client_ = server_->Client();
  for (size_t i = 0; i < paths.size(); ++i) EXPECT_EQ(client_->Get(paths[i]).body, before[i]);
  EXPECT_EQ(client_->Get("/api/workflows/" + gone).status, 404);
}

TEST_F(WorkflowsHttpTest, SixteenConcurrentCreatesAllSucceedAndAreListed) {
  std::vector<std::string> ids(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      auto r = c->Post("/api/workflows", CreateBody("concurrent-" + std::to_string(i)));
      if (r.status == 201) ids[i] = Str(ParseJson(r), "id");
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& id : ids) EXPECT_FALSE(id.empty());
  auto list = ParseJson(client_->Get("/api/workflows?limit=200"));
  EXPECT_EQ(Int(list, "total"), 16);
  std::set<std::string> listed;
  for (const auto& w : list["workflows"].GetArray()) listed.insert(w["id"].GetString());
  for (const auto& id : ids) EXPECT_TRUE(listed.count(id)) << id;
}

}  // namespace
}  // namespace ledgerflow::testing
