#include "events/rocks_storage.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
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

// Options of one column family. Index and filter blocks live in the shared block cache
// (not beside each open table), so memory stays bounded however large the log grows.
rocksdb::ColumnFamilyOptions FamilyOptions(const std::shared_ptr<rocksdb::Cache>& cache,
                                           size_t write_buffer, bool bloom) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.block_size = 16 * 1024;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = write_buffer;
  cf.max_write_buffer_number = 3;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = BestCompression();
  cf.bottommost_compression = cf.compression;
  return cf;
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
KvStore& RocksStorage::projections() { return *projections_; }

StatusOr<std::unique_ptr<RocksStorage>> RocksStorage::Open(const std::string& dir,
                                                          const StorageOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("open storage: cannot create " + dir + ": " + ec.message());

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes, /*num_shard_bits=*/4);
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
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(cache, std::max<size_t>(budget / 16, 1 << 20), false)},
      {kEventsFamily, FamilyOptions(cache, std::max<size_t>(budget / 4, 1 << 20), false)},
      {kStreamsFamily, FamilyOptions(cache, std::max<size_t>(budget / 8, 1 << 20), false)},
      {kProjectionsFamily, FamilyOptions(cache, std::max<size_t>(budget / 4, 1 << 20), true)},
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
