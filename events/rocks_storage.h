// The embedded storage of a Ledgerflow node: one RocksDB database holding the event log
// (EventStore) and the read-model area (KvStore). Open it once per data directory;
// RocksDB locks the directory against a second process.
//
// Thread-safety: events() and projections() are thread-safe and live as long as the
// RocksStorage. Destroying it drains and stops the writer thread (appends already
// queued still commit), then closes the database; nothing may use the stores after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "events/event_store.h"
#include "events/kv_store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
}  // namespace rocksdb

namespace ledgerflow::events {

namespace internal {
class RocksEventStore;
class RocksKvStore;
}  // namespace internal

struct StorageOptions {
  // Sync the WAL before an append is acknowledged. Off only for tests and benchmarks.
  bool sync = true;
  // Most events committed in one group (one WriteBatch, one sync); a single request
  // larger than this is still committed whole, alone.
  size_t max_batch_events = 1000;
  // Memory bounds, independent of the amount of data: the block cache (which also holds
  // the partitioned index and filter blocks; at most 4 shards of at least 8 MiB) and all
  // memtables together. 64 MiB of cache instead of 32 did not make random Gets over
  // 2M keys faster (both ~10 us), so the smaller bound stays.
  size_t block_cache_bytes = size_t{32} << 20;
  size_t memtable_budget_bytes = size_t{64} << 20;
  // Stream heads kept in memory for version checks; the cache is emptied past this and
  // refilled from disk on demand.
  size_t max_cached_streams = 100'000;
  // Wall clock in milliseconds since the epoch for `at`; system_clock when empty.
  // Called on the writer thread only.
  std::function<int64_t()> clock;
  // How long the writer waits for appends before calling the commit listener with no
  // events (so that read models that fell behind catch up on an idle server).
  std::chrono::milliseconds idle_listener_interval{1000};
};

class RocksStorage {
 public:
  // Opens or creates the database in `dir` (created with its parents if missing) and
  // recovers the log head, org chain heads (rebuilt by a scan when the stored ones are
  // missing or disagree with the log), the stream-head records (written by one scan of
  // the streams family when the directory is in the older format 1) and starts the
  // writer thread.
  // Errors: Internal/Unavailable on I/O or lock failures, DataLoss on corrupt data or
  // an unknown storage format.
  static StatusOr<std::unique_ptr<RocksStorage>> Open(const std::string& dir,
                                                     const StorageOptions& options = {});

  RocksStorage(const RocksStorage&) = delete;
  RocksStorage& operator=(const RocksStorage&) = delete;
  ~RocksStorage();

  EventStore& events();
  KvStore& projections();

  // RocksDB's own figures that matter to an operator, as (name, value): memtable
  // bytes, pending compaction bytes, running compactions and flushes, the delayed
  // write rate and whether writes are stopped, live SST bytes.
  std::vector<std::pair<std::string, uint64_t>> Properties() const;

 private:
  RocksStorage();

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* events_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* projections_cf_ = nullptr;
  std::unique_ptr<internal::RocksEventStore> events_;
  std::unique_ptr<internal::RocksKvStore> projections_;
};

}  // namespace ledgerflow::events
