// The workflow aggregate: given events, when a command is decided, then these events.
#include "core/workflow.h"

#include "core/workflow_codec.h"

#include <gtest/gtest.h>

namespace ledgerflow::core {
namespace {

json::Document Json(const std::string& text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << text;
  return doc.ok() ? std::move(*doc) : json::Document();
}

const char* kDefinition =
    R"({"name":"wf","steps":[{"id":"a","type":"agent_task"},{"id":"b","type":"agent_task","depends_on":["a"]}]})";

// Folds decided events as the store would record them.
WorkflowState Fold(WorkflowState state, const std::vector<PendingEvent>& events,
                   std::vector<VersionRecord>* versions = nullptr) {
  for (const auto& e : events) {
    EventMeta meta{state.stream_version + 100, state.stream_version + 1, 1000, "key_1"};
    auto record = EvolveWorkflow(state, e.type, Json(e.data), meta);
    if (record && versions) versions->push_back(*record);
  }
  return state;
}

WorkflowState Created(const char* definition = kDefinition) {
  auto def = Json(definition);
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  c.tags = {"etl"};
  auto events = DecideCreate(c, {});
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  return Fold({}, *events);
}

TEST(WorkflowTest, CreateIsOneEventAndFoldsToVersionOne) {
  auto def = Json(kDefinition);
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  auto events = DecideCreate(c, {});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, kWorkflowCreated);
  std::vector<VersionRecord> versions;
  WorkflowState s = Fold({}, *events, &versions);
  EXPECT_EQ(s.id, "wf_1");
  EXPECT_EQ(s.name, "wf");
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.status, "active");
  EXPECT_TRUE(s.exists());
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].version, 1);
  EXPECT_TRUE(Json(versions[0].definition) == def);
}

TEST(WorkflowTest, CreateHandsOverTheDocumentItsDataWasWrittenFrom) {
  auto def = Json(R"({"name":"wf \u00e9","steps":[{"id":"a","type":"agent_task","config":{"n":1.5,"big":12345678901234}}]})");
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  c.tags = {"x", "y"};
  c.description = "line\nbreak \"quoted\"";
  auto events = DecideCreate(c, {});
  ASSERT_TRUE(events.ok());
  const PendingEvent& e = (*events)[0];
  ASSERT_NE(e.parsed, nullptr);
  EXPECT_EQ(json::Serialize(*e.parsed), e.data);
  EXPECT_TRUE(*e.parsed == Json(e.data));
}

TEST(WorkflowTest, CreateRefusesInvalidDefinitionWithDetails) {
  auto def = Json(R"({"name":"wf","steps":[{"id":"a","type":"agent_task","depends_on":["z"]}]})");
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  auto events = DecideCreate(c, {});
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().reason(), "validation_failed");
  ASSERT_EQ(events.status().details().size(), 1u);
  EXPECT_EQ(events.status().details()[0], "Step 'a' depends on 'z' which doesn't exist");
}

TEST(WorkflowTest, CreateRefusesBadStatusAndTrigger) {
  auto def = Json(kDefinition);
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  c.status = "paused";
  EXPECT_FALSE(DecideCreate(c, {}).ok());
  c.status = "draft";
  c.trigger_type = "cron";
  EXPECT_FALSE(DecideCreate(c, {}).ok());
}

TEST(WorkflowTest, CreateChecksTagsAndProjectIdAsPatchDoes) {
  auto def = Json(kDefinition);
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  for (std::vector<std::string> tags :
       {std::vector<std::string>{""}, std::vector<std::string>{std::string(65, 't')},
        std::vector<std::string>(51, "t")}) {
    c.tags = tags;
    auto created = DecideCreate(c, {});
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), StatusCode::kInvalidArgument);
    std::string tags_json;
    for (const auto& t : tags) tags_json += (tags_json.empty() ? "\"" : ",\"") + t + "\"";
    auto patched =
        DecidePatch(Created(), Json(R"({"tags":[)" + tags_json + "]}"), std::nullopt, {});
    ASSERT_FALSE(patched.ok());
    EXPECT_EQ(created.status().message(), patched.status().message());
  }
  c.tags = {std::string(64, 't')};
  EXPECT_TRUE(DecideCreate(c, {}).ok());
  c.project_id = std::string(201, 'p');
  auto created = DecideCreate(c, {});
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().message(), "'project_id' is longer than 200 characters");
}

TEST(WorkflowTest, PatchChecksTheChangeSummaryAsUpdateDoes) {
  WorkflowState s = Created();
  const std::string definition = R"("definition":{"steps":[{"id":"a","type":"agent_task"}]})";
  auto wrong_type = DecidePatch(s, Json(R"({"change_summary":5,)" + definition + "}"),
                                std::nullopt, {});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_EQ(wrong_type.status().message(), "'change_summary' must be a string");
  auto too_long = DecidePatch(
      s, Json(R"({"change_summary":")" + std::string(1001, 'x') + "\"," + definition + "}"),
      std::nullopt, {});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().message(), "'change_summary' is longer than 1000 characters");
  auto fine = DecidePatch(s, Json(R"({"change_summary":"drop b",)" + definition + "}"),
                          std::nullopt, {});
  ASSERT_TRUE(fine.ok());
  std::vector<VersionRecord> versions;
  Fold(s, *fine, &versions);
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].change_summary, "drop b");
}

TEST(WorkflowTest, UpdateWithSameDefinitionDecidesNothing) {
  WorkflowState s = Created();
  auto same = Json(kDefinition);
  auto events = DecideUpdate(s, {&same, "", std::nullopt}, {});
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST(WorkflowTest, UpdateMakesTheNextVersion) {
  WorkflowState s = Created();
  auto next = Json(R"({"name":"wf","steps":[{"id":"a","type":"agent_task"}]})");
  auto events = DecideUpdate(s, {&next, "drop b", 1}, {});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  std::vector<VersionRecord> versions;
  s = Fold(s, *events, &versions);
  EXPECT_EQ(s.version, 2);
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].change_summary, "drop b");
}

TEST(WorkflowTest, StaleExpectedVersionIsAConflict) {
  WorkflowState s = Created();
  auto next = Json(R"({"name":"wf2","steps":[]})");
  auto events = DecideUpdate(s, {&next, "", 7}, {});
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kConflict);
  EXPECT_EQ(events.status().reason(), "version_conflict");
}

TEST(WorkflowTest, StatusAndDeleteHonourTheExpectedVersion) {
  WorkflowState s = Created();
  for (auto decided : {DecideStatus(s, "paused", 2), DecideDelete(s, 2)}) {
    ASSERT_FALSE(decided.ok());
    EXPECT_EQ(decided.status().reason(), "version_conflict");
  }
  EXPECT_EQ(DecideStatus(s, "paused", 1)->size(), 1u);
  EXPECT_EQ(DecideDelete(s, 1)->size(), 1u);
}

TEST(WorkflowTest, DeletedWorkflowIsNotFoundForEveryCommand) {
  WorkflowState s = Created();
  auto deleted = DecideDelete(s);
  ASSERT_TRUE(deleted.ok());
  s = Fold(s, *deleted);
  EXPECT_FALSE(s.exists());
  auto def = Json(kDefinition);
  EXPECT_EQ(DecideUpdate(s, {&def, "", std::nullopt}, {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DecideStatus(s, "paused").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DecideDelete(s).status().code(), StatusCode::kNotFound);
}

TEST(WorkflowTest, PatchSplitsDetailsFromDefinition) {
  WorkflowState s = Created();
  auto patch = Json(R"({"name":"renamed","tags":null,"definition":{"metadata":{"team":"ops"}}})");
  auto events = DecidePatch(s, patch, std::nullopt, {});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].type, kWorkflowDetailsChanged);
  EXPECT_EQ((*events)[1].type, kWorkflowVersionCreated);
  s = Fold(s, *events);
  EXPECT_EQ(s.name, "renamed");
  EXPECT_TRUE(s.tags.empty());
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(Json(s.definition)["metadata"]["team"].GetString(), std::string("ops"));
}

TEST(WorkflowTest, PatchRefusesUnknownFields) {
  WorkflowState s = Created();
  auto events = DecidePatch(s, Json(R"({"status":"paused"})"), std::nullopt, {});
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument);
}

TEST(WorkflowTest, ArchivedCannotReturnToDraft) {
  WorkflowState s = Created();
  s = Fold(s, *DecideStatus(s, "archived"));
  auto events = DecideStatus(s, "draft");
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().reason(), "invalid_transition");
  EXPECT_TRUE(DecideStatus(s, "archived")->empty());
  EXPECT_EQ(DecideStatus(s, "active")->size(), 1u);
}

TEST(WorkflowTest, RollbackRestoresAnEarlierDefinitionAsANewVersion) {
  std::vector<VersionRecord> versions;
  WorkflowState s = Created();
  versions.push_back({1, s.definition, "Created", 0, "key_1", std::nullopt});
  auto next = Json(R"({"name":"wf","steps":[]})");
  s = Fold(s, *DecideUpdate(s, {&next, "", std::nullopt}, {}));
  auto events = DecideRollback(s, versions[0], "", std::nullopt, {});
  ASSERT_TRUE(events.ok());
  std::vector<VersionRecord> made;
  s = Fold(s, *events, &made);
  EXPECT_EQ(s.version, 3);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(made[0].change_summary, "Rollback to version 1");
  EXPECT_EQ(made[0].rollback_of, 1);
  EXPECT_TRUE(Json(s.definition) == Json(versions[0].definition));
  // Rolling back to what is already current writes nothing.
  EXPECT_TRUE(DecideRollback(s, versions[0], "", std::nullopt, {})->empty());
}

TEST(WorkflowTest, RollbackValidatesTheRestoredDefinitionAgain) {
  const char* with_script =
      R"({"name":"wf","steps":[{"id":"run","type":"script","config":{"command":"echo hi"}}]})";
  ValidationOptions scripts_allowed;
  scripts_allowed.allow_scripts = true;
  auto def = Json(with_script);
  CreateWorkflow c;
  c.id = "wf_1";
  c.definition = &def;
  std::vector<VersionRecord> versions;
  WorkflowState s = Fold({}, *DecideCreate(c, scripts_allowed), &versions);
  auto next = Json(kDefinition);
  s = Fold(s, *DecideUpdate(s, {&next, "", std::nullopt}, {}));

  auto refused = DecideRollback(s, versions[0], "", std::nullopt, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().reason(), "validation_failed");
  EXPECT_TRUE(DecideRollback(s, versions[0], "", std::nullopt, scripts_allowed).ok());
}

TEST(WorkflowTest, StateRoundTripsThroughItsEncoding) {
  WorkflowState s = Created();
  auto decoded = DecodeWorkflowState(EncodeWorkflowState(s));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(EncodeWorkflowState(*decoded), EncodeWorkflowState(s));
}

TEST(WorkflowTest, UnknownEventTypesAreIgnored) {
  WorkflowState s = Created();
  std::string before = EncodeWorkflowState(s);
  EventMeta meta{200, s.stream_version, s.updated_at_ms, s.updated_by};
  EvolveWorkflow(s, "workflow.something_new", Json("{}"), meta);
  EXPECT_EQ(EncodeWorkflowState(s), before);
}

}  // namespace
}  // namespace ledgerflow::core
