#include "events/rocks_storage.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "events/rocks_event_store.h"
#include "events/rocks_kv_store.h"
#include "events/rocks_util.h"

namespace ledgerflow::events {
namespace {

constexpr char kEventsFamily[] = "events";
constexpr char kStreamsFamily[] = "streams";
constexpr char kProjectionsFamily[] = "projections";

rocksdb::CompressionType BestCompression() {
  const std::vector<rocksdb::CompressionType> supported = rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType c : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), c) != supported.end()) return c;
  }
  return rocksdb::kNoCompression;
}

// Whether a family gets a Bloom filter: only where point lookups often miss.
enum class Filter { kNone, kBloom };

// The memtable's insert hint: keys of one group are inserted next to the previous key
// of that group (a splice kept per group) instead of searched for from the skiplist's
// head. Groups are where keys arrive in order: the whole events family (ascending
// positions), a stream category in the streams and meta families ("workflow-", whose
// workflow ids begin with their creation time), and "<table>/<org>/" in the read
// models (audit and list entries by position; workflow and version records by id).
// Keys outside every group are inserted as usual; the hint never changes what is stored.
class KeyGroups final : public rocksdb::SliceTransform {
 public:
  // The group of a key ends after its `count`-th `separator`; count 0: one group.
  KeyGroups(char separator, int count) : separator_(separator), count_(count) {}
  const char* Name() const override { return "ledgerflow.KeyGroups"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), GroupLength(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override { return GroupLength(key) > 0; }

 private:
  size_t GroupLength(const rocksdb::Slice& key) const {
    if (count_ == 0) return key.size() > 0 ? 1 : 0;
    std::string_view k(key.data(), key.size());
    size_t end = 0;
    for (int i = 0; i < count_; ++i) {
      size_t found = k.find(separator_, end);
      if (found == std::string_view::npos) return 0;
      end = found + 1;
    }
    return end;
  }
  const char separator_;
  const int count_;
};

// Options of one column family. Index and filter blocks live in the shared block cache
// (not beside each open table), so memory stays bounded however large the data grows.
// They are partitioned into ~4 KiB blocks under a small pinned top-level index: a Get
// then needs one index partition and one filter partition in the cache, not a whole
// index and filter of megabytes, which (cached whole) evicted each other once they
// outgrew a cache shard and made every Get re-read and decompress them (366 us
// instead of 7 us per Get at 100k workflows x 5 versions).
rocksdb::ColumnFamilyOptions FamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t write_buffer, Filter filter,
                                           std::shared_ptr<const rocksdb::SliceTransform> groups) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 16 * 1024;
  table.format_version = 5;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  // The top-level index of each table stays pinned (tens of KB even for a large
  // table); the partitions of small freshly flushed tables too, the rest compete in
  // the cache's high-priority pool.
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  if (filter == Filter::kBloom) {
    // Whole-key, full-format (format_version 5) Bloom filter, 10 bits per key (~1%
    // false positives); partitioned along with the index.
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.partition_filters = true;
  }

  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = write_buffer;
  cf.max_write_buffer_number = 3;
  cf.memtable_insert_with_hint_prefix_extractor = std::move(groups);
  // Compaction. Each flush of a family spans its whole key range (every read-model
  // table), so an L0 compaction rewrites every file of the level below it. With the
  // defaults that level is the last one (dynamic level sizing keeps data there until it
  // reaches 256 MiB) and each compaction rewrote the whole database: 5, 11, 16 ... 83 MB
  // over 450k creates, compaction being the largest CPU consumer after the writer. A
  // 16 MiB base level in 8 MiB files bounds what an L0 compaction rewrites, and waiting
  // for 8 L0 files instead of 4 halves how often it runs. Measured over 20 s of
  // creates: compaction output 858-907 MB -> 331 MB, server CPU per create -20%.
  cf.max_bytes_for_level_base = size_t{16} << 20;
  cf.target_file_size_base = size_t{8} << 20;
  cf.level0_file_num_compaction_trigger = 8;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = BestCompression();
  cf.bottommost_compression = cf.compression;
  if (filter == Filter::kBloom) {
    // The same for the memtables: a Get of a key they do not hold (a new stream's
    // head, a read model not written lately) skips the skiplist search. Costs 5% of
    // the write buffer.
    cf.memtable_prefix_bloom_size_ratio = 0.05;
    cf.memtable_whole_key_filtering = true;
  }
  return cf;
}

// Shards of the block cache: few and large. Each shard is an LRU of its own, so a
// block larger than a shard's share (an unpartitioned index or filter of a table
// written by an older build) thrashes it; with at least 8 MiB per shard and at most
// four shards, lock contention on two cores stays negligible.
int CacheShardBits(size_t capacity) {
  int bits = 0;
  while (bits < 2 && (capacity >> (bits + 1)) >= (size_t{8} << 20)) ++bits;
  return bits;
}

}  // namespace

RocksStorage::RocksStorage() = default;

RocksStorage::~RocksStorage() {
  if (events_) events_->Stop();
  events_.reset();
  projections_.reset();
  if (db_) {
    for (rocksdb::ColumnFamilyHandle* h : {meta_cf_, events_cf_, streams_cf_, projections_cf_}) {
      if (h != nullptr) (void)db_->DestroyColumnFamilyHandle(h);
    }
    (void)db_->Close();
    db_.reset();
  }
}

EventStore& RocksStorage::events() { return *events_; }

std::vector<std::pair<std::string, uint64_t>> RocksStorage::Properties() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const char* name :
       {"rocksdb.cur-size-all-mem-tables", "rocksdb.estimate-pending-compaction-bytes",
        "rocksdb.num-running-compactions", "rocksdb.num-running-flushes",
        "rocksdb.actual-delayed-write-rate", "rocksdb.is-write-stopped",
        "rocksdb.live-sst-files-size"}) {
    uint64_t value = 0;
    if (db_->GetAggregatedIntProperty(name, &value)) out.emplace_back(name, value);
  }
  return out;
}
KvStore& RocksStorage::projections() { return *projections_; }

StatusOr<std::unique_ptr<RocksStorage>> RocksStorage::Open(const std::string& dir,
                                                          const StorageOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("open storage: cannot create " + dir + ": " + ec.message());

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes,
                                    CacheShardBits(options.block_cache_bytes));
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.max_background_jobs = 2;
  db.max_open_files = 512;
  db.bytes_per_sync = 1 << 20;
  // An idle family's unflushed memtable must not pin old WAL files forever.
  db.max_total_wal_size = 4 * options.memtable_budget_bytes;
  db.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.memtable_budget_bytes);
  db.keep_log_file_num = 4;
  db.max_log_file_size = 8 << 20;

  const size_t budget = options.memtable_budget_bytes;
  // Bloom filters where Gets miss: stream heads of new streams (default family) and
  // read-model keys (projections). The events family is read by position: its keys
  // ascend, so at most one table's key range holds a position and a filter would only
  // confirm hits; the streams family is only iterated (filters serve point lookups).
  auto by_category = std::make_shared<KeyGroups>('-', 1);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName,
       FamilyOptions(cache, std::max<size_t>(budget / 16, 1 << 20), Filter::kBloom, by_category)},
      {kEventsFamily, FamilyOptions(cache, std::max<size_t>(budget / 4, 1 << 20), Filter::kNone,
                                    std::make_shared<KeyGroups>('\0', 0))},
      {kStreamsFamily,
       FamilyOptions(cache, std::max<size_t>(budget / 8, 1 << 20), Filter::kNone, by_category)},
      {kProjectionsFamily, FamilyOptions(cache, std::max<size_t>(budget / 4, 1 << 20),
                                         Filter::kBloom, std::make_shared<KeyGroups>('/', 2))},
  };

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db, dir, families, &handles, &raw);
  if (!s.ok()) return internal::FromRocks(s, "open storage " + dir);

  std::unique_ptr<RocksStorage> storage(new RocksStorage());
  storage->db_.reset(raw);
  storage->meta_cf_ = handles[0];
  storage->events_cf_ = handles[1];
  storage->streams_cf_ = handles[2];
  storage->projections_cf_ = handles[3];
  storage->events_ = std::make_unique<internal::RocksEventStore>(
      raw,
      internal::RocksEventStore::Families{storage->meta_cf_, storage->events_cf_,
                                          storage->streams_cf_},
      options);
  Status recovered = storage->events_->Recover();
  if (!recovered.ok()) return recovered;
  storage->events_->Start();
  storage->projections_ =
      std::make_unique<internal::RocksKvStore>(raw, storage->projections_cf_);
  return storage;
}

}  // namespace ledgerflow::events
