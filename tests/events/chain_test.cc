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
