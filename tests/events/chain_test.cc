// Per-org hash chains: ComputeHash and ChainVerifier on hand-built events.
#include "events/chain.h"

#include <gtest/gtest.h>

#include <vector>

#include "events/codec.h"

namespace ledgerflow::events {
namespace {

// Builds a valid log: `orgs[i]` is the org of position i + 1.
std::vector<Event> BuildLog(const std::vector<std::string>& orgs) {
  std::vector<Event> log;
  std::map<std::string, std::string> heads;
  for (size_t i = 0; i < orgs.size(); ++i) {
    Event e;
    e.position = i + 1;
    e.stream = "workflow-" + std::to_string(i % 3);
    e.stream_version = i / 3 + 1;
    e.type = "workflow.updated";
    e.org = orgs[i];
    e.actor = "system";
    e.at_ms = 1795464062123 + static_cast<int64_t>(i);
    e.request_id = "r" + std::to_string(i);
    e.data = "{\"i\":" + std::to_string(i) + "}";
    e.prev_hash = heads[e.org];
    e.hash = ComputeHash(e.prev_hash, e);
    heads[e.org] = e.hash;
    log.push_back(e);
  }
  return log;
}

TEST(ChainTest, Sha256HexMatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("ab", "cd"), "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");
  EXPECT_EQ(Sha256Hex("abcd"), Sha256Hex("ab", "cd"));
}

TEST(ChainTest, HashCoversPrevHashAndCanonicalBytes) {
  std::vector<Event> log = BuildLog({"a"});
  const Event& e = log[0];
  EXPECT_EQ(e.hash, Sha256Hex("", CanonicalBytes(e)));
  Event changed = e;
  changed.data = "{\"i\":1}";
  EXPECT_NE(ComputeHash("", changed), e.hash);
  changed = e;
  changed.at_ms += 1;
  EXPECT_NE(ComputeHash("", changed), e.hash);
  EXPECT_NE(ComputeHash("x", e), e.hash);
}

// A chain-2 event whose data needs every JCS rule: member order ("10" before "2"),
// number forms (1.0 -> 1, 100.0 -> 100, 1e-7), escapes.
Event JcsEvent(std::string prev_hash) {
  Event e;
  e.chain = kChainJcs;
  e.position = 7;
  e.stream = "workflow-w";
  e.stream_version = 2;
  e.type = "workflow.updated";
  e.org = "org_1";
  e.actor = "key_1";
  e.at_ms = 1795464062123;  // 2026-11-23T20:01:02.123Z
  e.request_id = "req_1";
  e.causation = 5;
  e.data = R"({"2":1.0,"10":[100.0,1e-7],"s":"a\n\u001F"})";  // as the codec stores it
  e.prev_hash = std::move(prev_hash);
  return e;
}

TEST(ChainTest, JcsHashIsSha256OfPrevHashAndTheDocumentedBytes) {
  Event e = JcsEvent("ab12");
  e.hash = ComputeHash(e.prev_hash, e);
  // The recipe as the README states it, written out by hand.
  const std::string expected_bytes =
      R"(ab12{"actor":"key_1","at":"2026-11-23T20:01:02.123Z","causation":5,"chain":2,)"
      R"("data":{"10":[100,1e-7],"2":1,"s":"a\n\u001f"},"org":"org_1","position":7,)"
      R"("prev_hash":"ab12","request_id":"req_1","schema_version":1,"stream":"workflow-w",)"
      R"("stream_version":2,"type":"workflow.updated"})";
  EXPECT_EQ(e.hash, Sha256Hex(expected_bytes));
  // The line carries the marker and decodes back to an event that verifies.
  const std::string line = EncodeEvent(e);
  EXPECT_NE(line.find(R"(,"prev_hash":"ab12","chain":2,"hash":")"), std::string::npos) << line;
  auto back = DecodeEvent(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chain, kChainJcs);
  EXPECT_EQ(ComputeHash(back->prev_hash, *back), e.hash);
  EXPECT_EQ(EncodeEvent(*back), line);
}

TEST(ChainTest, UnknownChainFormatDoesNotDecode) {
  Event e = JcsEvent("");
  std::string line = EncodeEvent(e);
  line.replace(line.find("\"chain\":2"), 9, "\"chain\":3");
  EXPECT_FALSE(DecodeEvent(line).ok());
}

TEST(ChainTest, OldEventsThenJcsEventsVerify) {
  std::vector<Event> log = BuildLog({"a", "b", "a"});  // chain 1
  std::map<std::string, std::string> heads = {{"a", log[2].hash}, {"b", log[1].hash}};
  for (Position p = 4; p <= 6; ++p) {
    Event e = JcsEvent(heads[p % 2 ? "b" : "a"]);
    e.position = p;
    e.org = p % 2 ? "b" : "a";
    e.hash = ComputeHash(e.prev_hash, e);
    heads[e.org] = e.hash;
    log.push_back(e);
  }
  // Through their stored lines, as the store and an export give them back.
  ChainVerifier verifier;
  for (const Event& e : log) {
    auto back = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(back.ok());
    ASSERT_TRUE(verifier.Feed(*back).ok()) << e.position;
  }
  EXPECT_EQ(verifier.checked(), 6u);

  // One changed byte of a chain-2 event's data is caught, and so is dropping its marker.
  for (int variant = 0; variant < 2; ++variant) {
    std::vector<Event> bad = log;
    if (variant == 0) bad[4].data = R"({"2":1.0,"10":[100.0,1e-7],"s":"a\n\u001E"})";
    if (variant == 1) bad[4].chain = kChainV1;
    ChainVerifier v;
    Status last;
    for (const Event& e : bad) {
      last = v.Feed(e);
      if (!last.ok()) break;
    }
    EXPECT_EQ(last.message(), "chain broken at position 5: hash does not match the event's contents")
        << variant;
  }
}

TEST(ChainTest, VerifierAcceptsInterleavedOrgChains) {
  std::vector<Event> log = BuildLog({"a", "b", "a", "a", "b", "c", "a"});
  ChainVerifier verifier;
  for (const Event& e : log) ASSERT_TRUE(verifier.Feed(e).ok());
  EXPECT_EQ(verifier.checked(), 7u);
  EXPECT_EQ(verifier.last_position(), 7u);
  ASSERT_EQ(verifier.heads().size(), 3u);
  EXPECT_EQ(verifier.head("a")->position, 7u);
  EXPECT_EQ(verifier.head("b")->hash, log[4].hash);
  EXPECT_FALSE(verifier.head("zzz").has_value());
  // prev_hash links within an org only.
  EXPECT_EQ(log[2].prev_hash, log[0].hash);
  EXPECT_EQ(log[4].prev_hash, log[1].hash);
  EXPECT_EQ(log[5].prev_hash, "");
}

TEST(ChainTest, OneOrgVerifiesWithoutTheOthers) {
  std::vector<Event> log = BuildLog({"a", "b", "a", "b", "b", "a"});
  ChainVerifier verifier;
  for (const Event& e : log) {
    if (e.org == "b") {
      ASSERT_TRUE(verifier.Feed(e).ok());  // gaps in positions are fine
    }
  }
  EXPECT_EQ(verifier.checked(), 3u);
}

TEST(ChainTest, VerifierNamesTheFirstTamperedPosition) {
  std::vector<Event> log = BuildLog({"a", "b", "a", "a", "b"});
  log[2].data = "{\"i\":999}";
  ChainVerifier verifier;
  ASSERT_TRUE(verifier.Feed(log[0]).ok());
  ASSERT_TRUE(verifier.Feed(log[1]).ok());
  Status s = verifier.Feed(log[2]);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message().rfind("chain broken at position 3: ", 0), 0u) << s.message();
  // The error sticks: later events are not checked against a broken head.
  EXPECT_EQ(verifier.Feed(log[3]).message(), s.message());
  EXPECT_EQ(verifier.checked(), 2u);
}

TEST(ChainTest, VerifierDetectsRelinkedAndReorderedEvents) {
  std::vector<Event> log = BuildLog({"a", "a", "a"});
  {
    ChainVerifier verifier;  // an event removed: the next one's prev_hash dangles
    ASSERT_TRUE(verifier.Feed(log[0]).ok());
    Status s = verifier.Feed(log[2]);
    EXPECT_NE(s.message().find("position 3"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("prev_hash"), std::string::npos) << s.message();
  }
  {
    ChainVerifier verifier;  // positions must increase
    ASSERT_TRUE(verifier.Feed(log[0]).ok());
    ASSERT_TRUE(verifier.Feed(log[1]).ok());
    EXPECT_FALSE(verifier.Feed(log[0]).ok());
  }
  {
    ChainVerifier verifier;  // an org's first event must start from ""
    EXPECT_FALSE(verifier.Feed(log[1]).ok());
  }
  {
    ChainVerifier verifier;  // ... unless the head is known
    verifier.SeedHead("a", ChainHead{1, log[0].hash});
    EXPECT_TRUE(verifier.Feed(log[1]).ok());
    EXPECT_TRUE(verifier.Feed(log[2]).ok());
  }
}

}  // namespace
}  // namespace ledgerflow::events
