// The projections KvStore of RocksStorage, on a real database in a temp directory.
#include <gtest/gtest.h>

#include "events/rocks_storage.h"
#include "tests/events/test_dir.h"

namespace ledgerflow::events {
namespace {

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    storage_.reset();
    StatusOr<std::unique_ptr<RocksStorage>> opened = RocksStorage::Open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    storage_ = std::move(opened).value();
  }
  KvStore& kv() { return storage_->projections(); }

  std::vector<std::pair<std::string, std::string>> ScanAll(std::string_view prefix,
                                                           std::string_view start = {},
                                                           size_t max = SIZE_MAX) {
    std::vector<std::pair<std::string, std::string>> out;
    Status s = kv().Scan(prefix, start, [&](std::string_view k, std::string_view v) {
      out.emplace_back(k, v);
      return out.size() < max;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<RocksStorage> storage_;
};

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_F(KvStoreTest, PutGetDelete) {
  EXPECT_FALSE(kv().Get("a")->has_value());
  KvBatch batch;
  batch.Put("a", "1");
  batch.Put("b", std::string("\0x", 2));
  ASSERT_TRUE(kv().Write(batch).ok());
  EXPECT_EQ(**kv().Get("a"), "1");
  EXPECT_EQ(**kv().Get("b"), std::string("\0x", 2));

  KvBatch second;  // applied in order, atomically
  second.Put("a", "2");
  second.Delete("b");
  second.Put("c", "3");
  second.Delete("c");
  ASSERT_TRUE(kv().Write(second).ok());
  EXPECT_EQ(**kv().Get("a"), "2");
  EXPECT_FALSE(kv().Get("b")->has_value());
  EXPECT_FALSE(kv().Get("c")->has_value());
  EXPECT_TRUE(kv().Write(KvBatch()).ok());
}

TEST_F(KvStoreTest, ScanVisitsOnePrefixInByteOrderFromStart) {
  KvBatch batch;
  for (const char* k : {"wf/2", "wf/10", "wf/1", "wf0", "w", "run/1", "wf/3"}) batch.Put(k, k);
  batch.Put(std::string("wf/\xff"), "ff");
  ASSERT_TRUE(kv().Write(batch).ok());
  EXPECT_EQ(ScanAll("wf/"), (Pairs{{"wf/1", "wf/1"}, {"wf/10", "wf/10"}, {"wf/2", "wf/2"},
                                   {"wf/3", "wf/3"}, {"wf/\xff", "ff"}}));
  EXPECT_EQ(ScanAll("wf/", "wf/2"),
            (Pairs{{"wf/2", "wf/2"}, {"wf/3", "wf/3"}, {"wf/\xff", "ff"}}));
  EXPECT_EQ(ScanAll("wf/", "a"), ScanAll("wf/"));  // a start before the prefix
  EXPECT_TRUE(ScanAll("wf/", "wx").empty());       // a start past the prefix
  EXPECT_EQ(ScanAll("wf/", "", 2).size(), 2u);     // the visitor stops the scan
  EXPECT_EQ(ScanAll("").size(), 8u);
  EXPECT_TRUE(ScanAll("nothing/").empty());
  EXPECT_EQ(ScanAll("wf/\xff").size(), 1u);
}

TEST_F(KvStoreTest, ClearDeletesEverythingAndSurvivesReopen) {
  KvBatch batch;
  for (int i = 0; i < 1000; ++i) batch.Put("k/" + std::to_string(i), std::string(100, 'x'));
  batch.Put(std::string("\xff\xff\xff"), "last");
  ASSERT_TRUE(kv().Write(batch).ok());
  ASSERT_TRUE(kv().Clear().ok());
  EXPECT_TRUE(ScanAll("").empty());
  EXPECT_FALSE(kv().Get(std::string("\xff\xff\xff"))->has_value());
  EXPECT_TRUE(kv().Clear().ok());  // on an empty store

  KvBatch after;
  after.Put("k/1", "new");
  ASSERT_TRUE(kv().Write(after).ok());
  Open();
  EXPECT_EQ(ScanAll(""), (Pairs{{"k/1", "new"}}));
}

TEST_F(KvStoreTest, ProjectionsAndEventsAreSeparate) {
  AppendRequest r;
  r.stream = "workflow-x";
  r.org = "org_1";
  r.events.push_back(NewEvent{"t", 1, "{}", {}});
  ASSERT_TRUE(storage_->events().Append(r).ok());
  ASSERT_TRUE(kv().Clear().ok());
  EXPECT_EQ(storage_->events().HeadPosition(), 1u);
  EXPECT_TRUE(storage_->events().ReadAt(1).ok());
}

}  // namespace
}  // namespace ledgerflow::events
