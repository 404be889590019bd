// RocksStorage's table options, read back from the tables it wrote: every family has a
// partitioned index (a Get needs one small index partition in the block cache, never a
// whole index of megabytes), and the families with point lookups that miss have a
// partitioned Bloom filter.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/table_properties.h>

#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/rocks_storage.h"
#include "tests/events/test_dir.h"

namespace ledgerflow::events {
namespace {

TEST(RocksStorageTest, TablesHavePartitionedIndexesAndFiltersWhereUseful) {
  testing::TempDir dir;
  {
    StorageOptions options;
    options.sync = false;
    options.memtable_budget_bytes = 1 << 20;  // 1 MiB memtables: flush early
    StatusOr<std::unique_ptr<RocksStorage>> storage = RocksStorage::Open(dir.path(), options);
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    // ~25k new streams: every family, the meta one included, passes 1 MiB.
    EventStore& events = (*storage)->events();
    for (int i = 0; i < 25'000;) {
      std::vector<std::future<void>> pending;
      for (int j = 0; j < 500; ++j, ++i) {
        AppendRequest r;
        r.stream = "workflow-" + std::to_string(i);
        r.expected_version = kNoStream;
        r.org = "org_1";
        r.actor = "key_1";
        r.events.push_back(NewEvent{"test.happened", 1, "{\"i\":" + std::to_string(i) + "}", {}});
        auto done = std::make_shared<std::promise<void>>();
        pending.push_back(done->get_future());
        events.AppendAsync(std::move(r), [done](StatusOr<AppendResult> result) {
          EXPECT_TRUE(result.ok()) << result.status().ToString();
          done->set_value();
        });
      }
      for (auto& f : pending) f.get();
    }
    KvStore& kv = (*storage)->projections();
    for (int i = 0; i < 4'000;) {
      KvBatch batch;
      for (int j = 0; j < 500; ++j, ++i) batch.Put("view/" + std::to_string(i), std::string(700, 'v'));
      ASSERT_TRUE(kv.Write(batch).ok());
    }
  }
  // Opening replays the log into tables (written with RocksStorage's options), so no
  // data is left only in the log, whatever the background flushes had done.
  ASSERT_TRUE(RocksStorage::Open(dir.path()).ok());

  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.path(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir.path(), families, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::map<std::string, std::string> filter_of = {
      {"default", "bloomfilter"},
      {"events", ""},
      {"streams", ""},
      {"projections", "bloomfilter"},
  };
  std::map<std::string, size_t> tables;
  for (size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    rocksdb::TablePropertiesCollection props;
    ASSERT_TRUE(db->GetPropertiesOfAllTables(handles[i], &props).ok());
    for (const auto& [file, p] : props) {
      SCOPED_TRACE(file);
      ++tables[names[i]];
      EXPECT_GE(p->index_partitions, 1u);
      EXPECT_GT(p->top_level_index_size, 0u);
      EXPECT_EQ(p->filter_policy_name, filter_of.at(names[i]));
    }
  }
  for (const auto& [name, filter] : filter_of) EXPECT_GE(tables[name], 1u) << "no table in " << name;
  for (rocksdb::ColumnFamilyHandle* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  EXPECT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace ledgerflow::events
