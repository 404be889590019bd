// Internal to events/: the EventStore over the "events" and "streams" column families,
// with group commit. Appends are queued; one writer thread takes everything queued (up
// to max_batch_events), checks expected versions against an in-memory stream-head cache
// (backed by the stream-head records of the meta family, read with a point Get; for a
// stream being created, read on the appending thread before it queues),
// assigns positions, time and per-org hash chains, writes one WriteBatch (events,
// stream keys, stream heads, org heads) with one sync, then runs the commit listener
// and the callbacks. Reads go straight to RocksDB.
// AppendAsync runs `done` on the caller's thread, at once, when the request is invalid
// (InvalidArgument) or the store is stopped (Unavailable).
// Thread-safe. Does not own the DB or the handles (RocksStorage does, and outlives it).
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "events/chain.h"
#include "events/event_store.h"
#include "events/rocks_storage.h"

namespace ledgerflow::events::internal {

class RocksEventStore final : public EventStore {
 public:
  struct Families {
    rocksdb::ColumnFamilyHandle* meta;
    rocksdb::ColumnFamilyHandle* events;
    rocksdb::ColumnFamilyHandle* streams;
  };

  RocksEventStore(rocksdb::DB* db, Families families, StorageOptions options);
  ~RocksEventStore() override;  // Stop()

  // Loads the head position, the last `at` and the org chain heads; rebuilds the stored
  // org heads by scanning the log when they are missing or disagree with it, and the
  // stream heads by scanning the streams family when the directory predates them
  // (format 1) or they disagree with the last event; then writes the current format.
  // Call once, before Start().
  Status Recover();
  // Starts the writer thread.
  void Start();
  // Commits what is queued, then stops the writer; later appends fail with Unavailable.
  // Idempotent.
  void Stop();

  StatusOr<AppendResult> Append(AppendRequest request) override;
  void AppendAsync(AppendRequest request, AppendCallback done) override;
  StatusOr<std::vector<Event>> ReadStream(std::string_view stream, Version from_version,
                                          size_t limit) override;
  Status ReadAll(Position from, const std::function<bool(const Event&)>& visit) override;
  StatusOr<Event> ReadAt(Position position) override;
  Position HeadPosition() const override;
  StatusOr<Version> StreamVersion(std::string_view stream) override;
  Position WaitForEvents(Position after, std::chrono::milliseconds timeout) override;
  void SetCommitListener(CommitListener listener) override;

  // Makes the next `count` group writes fail before reaching RocksDB, as a failed
  // WriteBatch would. For tests of the failure path.
  void FailWritesForTesting(int count) { fail_writes_.store(count); }

 private:
  struct Pending {
    AppendRequest request;
    AppendCallback done;
    // A new stream's version as read on the caller's thread (see PreRead).
    std::optional<Version> preread = std::nullopt;
    uint64_t preread_epoch = 0;
  };

  void WriterLoop();
  void CommitGroup(std::vector<Pending>& group);
  // Runs the commit listener (writer thread), catching what it throws.
  void NotifyListener(std::span<const Event> committed);
  // std::hash over string_view, so that maps keyed by std::string take string_views.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  // Current version of `stream` as committed (cache, else the caller's pre-read when
  // still valid, else disk); writer thread only.
  StatusOr<Version> CommittedVersion(const Pending& pending);
  // For an append that creates its stream (kNoStream), reads the stream's version on
  // the caller's thread so that the writer need not: every creation misses the cache.
  // The value stays valid while the cache has not been emptied since (the epoch), as
  // every commit after the read puts the stream into the cache.
  void PreRead(Pending& pending);
  // The stream's head record: its version, 0 when it has none. Thread-safe.
  StatusOr<Version> ReadStreamVersion(std::string_view stream);
  StatusOr<Event> ReadEvent(Position position, const rocksdb::ReadOptions& options);
  Status RebuildOrgHeads();
  // Rewrites every stream-head record from the streams family, then writes the current
  // format. Interrupted, it leaves format 1 behind and the next Open starts over.
  // Says why on stderr unless `reason` is null (a new directory).
  Status RebuildStreamHeads(const char* reason);
  void Publish(Position head);

  rocksdb::DB* const db_;
  const Families cf_;
  const StorageOptions options_;

  // The queue, guarded by queue_mu_.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::thread::id writer_id_;

  // Committed head for readers; head_mu_/head_cv_ serve WaitForEvents.
  std::atomic<Position> head_{0};
  mutable std::mutex head_mu_;
  std::condition_variable head_cv_;
  bool closed_ = false;  // guarded by head_mu_: wakes waiters on Stop()

  std::mutex listener_mu_;
  std::shared_ptr<const CommitListener> listener_;

  // Writer-thread state (and Recover() before the thread starts): committed only.
  Position last_position_ = 0;
  int64_t last_at_ms_ = 0;
  std::unordered_map<std::string, Version, StringHash, std::equal_to<>> stream_versions_;
  std::atomic<uint64_t> stream_cache_epoch_{0};  // written by the writer: +1 per clear
  std::map<std::string, ChainHead, std::less<>> org_heads_;
  std::atomic<int> fail_writes_{0};
};

}  // namespace ledgerflow::events::internal
