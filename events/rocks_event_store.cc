// RocksEventStore: lifecycle, recovery and reads. The write path (queue, validation,
// group commit) is in group_commit.cc.
#include "events/rocks_event_store.h"

#include <pthread.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>

#include "events/codec.h"
#include "events/rocks_util.h"

namespace ledgerflow::events::internal {
namespace {

Status Undecodable(Position position, const Status& why) {
  return DataLoss("event at position " + std::to_string(position) +
                  " cannot be decoded: " + why.message());
}

// Decodes a stored event and checks it is stored under its own position.
StatusOr<Event> DecodeStored(Position position, rocksdb::Slice value) {
  StatusOr<Event> event = DecodeEvent(std::string_view(value.data(), value.size()));
  if (!event.ok()) return Undecodable(position, event.status());
  if (event->position != position) {
    return DataLoss("event stored at position " + std::to_string(position) +
                    " claims position " + std::to_string(event->position));
  }
  return event;
}

}  // namespace

RocksEventStore::RocksEventStore(rocksdb::DB* db, Families families, StorageOptions options)
    : db_(db), cf_(families), options_(std::move(options)) {
  // Every create adds a stream: rehashing the cache as it grows showed in profiles.
  stream_versions_.reserve(std::min<size_t>(options_.max_cached_streams, size_t{1} << 17));
}

RocksEventStore::~RocksEventStore() { Stop(); }

void RocksEventStore::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
  writer_id_ = writer_.get_id();
  // A name for top, perf and the benchmarks' CPU accounting; failure is harmless.
  (void)pthread_setname_np(writer_.native_handle(), "lf-writer");
}

void RocksEventStore::Stop() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> lock(head_mu_);
    closed_ = true;
  }
  head_cv_.notify_all();
}

// ---------------------------------------------------------------------------------------
// Recovery

Status RocksEventStore::Recover() {
  // A directory without a format marker is new, or lost its marker: either way the
  // stream heads are rebuilt (trivially, when there are no streams).
  bool stream_heads_valid = false;
  const char* rebuild_reason = "storage format 1 has none";  // nullptr: a new directory
  {
    std::string format;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, kFormatKey, &format);
    if (s.ok()) {
      if (format == kFormatVersion) {
        stream_heads_valid = true;
      } else if (format != kFormatWithoutStreamHeads) {
        return DataLoss("unsupported storage format '" + format + "' (this build reads " +
                        kFormatWithoutStreamHeads + " and " + kFormatVersion + ")");
      }
    } else if (s.IsNotFound()) {
      rebuild_reason = nullptr;  // decided below, once the log head is known
    } else {
      return FromRocks(s, "read format");
    }
  }

  // Head: the last key of the events family.
  std::string last_stream;
  Version last_stream_version = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.events));
    it->SeekToLast();
    if (it->Valid()) {
      if (it->key().size() != 8) return DataLoss("malformed key in the events family");
      last_position_ = GetBigEndian64(it->key().data());
      StatusOr<Event> last = DecodeStored(last_position_, it->value());
      if (!last.ok()) return last.status();
      last_at_ms_ = last->at_ms;
      last_stream = std::move(last->stream);
      last_stream_version = last->stream_version;
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "read log head"));
  }
  if (rebuild_reason == nullptr && last_position_ > 0) rebuild_reason = "no format marker";

  // Org heads as stored with the last commit; they must agree with the log.
  bool consistent = true;
  std::string log_head;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, kLogHeadKey, &log_head);
  if (s.IsNotFound()) {
    consistent = last_position_ == 0;
  } else if (!s.ok()) {
    return FromRocks(s, "read log head meta");
  } else {
    consistent = log_head.size() == 8 && GetBigEndian64(log_head.data()) == last_position_;
  }
  {
    const std::string prefix = kOrgHeadPrefix;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.meta));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string org = it->key().ToString().substr(prefix.size());
      rocksdb::Slice v = it->value();
      if (v.size() < 8) {
        consistent = false;
        break;
      }
      org_heads_[org] = ChainHead{GetBigEndian64(v.data()),
                                  std::string(v.data() + 8, v.size() - 8)};
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "read org heads"));
  }
  for (const auto& [org, head] : org_heads_) {
    if (!consistent) break;
    StatusOr<Event> event = ReadAt(head.position);
    consistent = event.ok() && event->org == org && event->hash == head.hash;
  }
  if (!consistent) LF_RETURN_IF_ERROR(RebuildOrgHeads());

  // Stream heads are written in the batch of their events, so they cannot fall behind
  // the log; this cheap check catches a set lost or damaged behind the store's back.
  if (stream_heads_valid && last_position_ > 0) {
    StatusOr<Version> head = ReadStreamVersion(last_stream);
    if (!head.ok() && head.status().code() != StatusCode::kDataLoss) return head.status();
    stream_heads_valid = head.ok() && *head == last_stream_version;
    rebuild_reason = "the last event's stream head disagrees with the log";
  }
  if (!stream_heads_valid) LF_RETURN_IF_ERROR(RebuildStreamHeads(rebuild_reason));
  head_.store(last_position_);
  return Status::Ok();
}

Status RocksEventStore::RebuildStreamHeads(const char* reason) {
  if (reason != nullptr) {
    std::fprintf(stderr, "ledgerflow: writing stream head records from the streams family (%s)\n",
                 reason);
  }
  rocksdb::WriteOptions sync;
  sync.sync = true;
  // Format 1 first: if this is interrupted, the next Open starts over.
  LF_RETURN_IF_ERROR(FromRocks(db_->Put(sync, cf_.meta, kFormatKey, kFormatWithoutStreamHeads),
                               "write format"));
  // Chunks of bounded size, each synced, the last one together with the new format.
  constexpr size_t kChunk = 10'000;
  rocksdb::WriteBatch batch;
  auto flush_if_full = [&]() -> Status {
    if (batch.Count() < kChunk) return Status::Ok();
    LF_RETURN_IF_ERROR(FromRocks(db_->Write(sync, &batch), "rebuild stream heads"));
    batch.Clear();
    return Status::Ok();
  };

  // Records left by an interrupted run, or a damaged set: start from none. (A format 1
  // directory has none, so this scan finds nothing there.)
  const std::string prefix = kStreamHeadPrefix;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.meta));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      LF_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.meta, it->key()), "rebuild stream heads"));
      LF_RETURN_IF_ERROR(flush_if_full());
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "rebuild stream heads"));
  }

  // Streams keys sort by stream, then version: the last key of each stream is its head.
  uint64_t streams = 0;
  std::string stream;  // the stream being read; its head is `version`
  Version version = 0;
  auto put_head = [&]() -> Status {
    if (version == 0) return Status::Ok();
    std::string value;
    PutBigEndian64(&value, version);
    LF_RETURN_IF_ERROR(
        FromRocks(batch.Put(cf_.meta, StreamHeadKey(stream), value), "rebuild stream heads"));
    ++streams;
    return flush_if_full();
  };
  {
    rocksdb::ReadOptions options;
    options.fill_cache = false;  // one pass over everything: keep the cache for the hot set
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_.streams));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const rocksdb::Slice key = it->key();
      if (key.size() < 10 || key[key.size() - 9] != '\0') {
        return DataLoss("malformed key in the streams family");
      }
      const std::string_view name(key.data(), key.size() - 9);
      if (version == 0 || name != stream) {
        LF_RETURN_IF_ERROR(put_head());
        stream.assign(name);
      }
      version = GetBigEndian64(key.data() + key.size() - 8);
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "rebuild stream heads"));
  }
  LF_RETURN_IF_ERROR(put_head());
  LF_RETURN_IF_ERROR(
      FromRocks(batch.Put(cf_.meta, kFormatKey, kFormatVersion), "rebuild stream heads"));
  LF_RETURN_IF_ERROR(FromRocks(db_->Write(sync, &batch), "rebuild stream heads"));
  stream_versions_.clear();
  if (reason != nullptr) {
    std::fprintf(stderr, "ledgerflow: wrote %llu stream head records\n",
                 static_cast<unsigned long long>(streams));
  }
  return Status::Ok();
}

Status RocksEventStore::RebuildOrgHeads() {
  std::fprintf(stderr, "ledgerflow: org chain heads missing or stale; rebuilding from %llu events\n",
               static_cast<unsigned long long>(last_position_));
  org_heads_.clear();
  rocksdb::WriteBatch batch;
  {
    const std::string prefix = kOrgHeadPrefix;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.meta));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      LF_RETURN_IF_ERROR(FromRocks(batch.Delete(cf_.meta, it->key()), "rebuild org heads"));
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "rebuild org heads"));
  }
  Position count = 0;
  Status scan = ReadAll(1, [&](const Event& e) {
    org_heads_[e.org] = ChainHead{e.position, e.hash};
    ++count;
    return true;
  });
  LF_RETURN_IF_ERROR(scan);
  if (count != last_position_) {
    return DataLoss("event log has " + std::to_string(count) + " events up to position " +
                    std::to_string(last_position_) + ": positions are missing");
  }
  for (const auto& [org, head] : org_heads_) {
    std::string value = PositionKey(head.position) + head.hash;
    LF_RETURN_IF_ERROR(FromRocks(batch.Put(cf_.meta, OrgHeadKey(org), value), "rebuild org heads"));
  }
  LF_RETURN_IF_ERROR(
      FromRocks(batch.Put(cf_.meta, kLogHeadKey, PositionKey(last_position_)), "rebuild org heads"));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  LF_RETURN_IF_ERROR(FromRocks(db_->Write(sync, &batch), "rebuild org heads"));
  head_.store(last_position_);
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Reads

StatusOr<Event> RocksEventStore::ReadEvent(Position position, const rocksdb::ReadOptions& options) {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(options, cf_.events, PositionKey(position), &value);
  if (s.IsNotFound()) return NotFound("no event at position " + std::to_string(position));
  if (!s.ok()) return FromRocks(s, "read event");
  return DecodeStored(position, value);
}

StatusOr<Event> RocksEventStore::ReadAt(Position position) {
  return ReadEvent(position, rocksdb::ReadOptions());
}

StatusOr<std::vector<Event>> RocksEventStore::ReadStream(std::string_view stream,
                                                         Version from_version, size_t limit) {
  rocksdb::ManagedSnapshot snapshot(db_);
  rocksdb::ReadOptions options;
  options.snapshot = snapshot.snapshot();
  std::string upper(stream);
  upper.push_back('\x01');  // just past every stream + '\0' + version key
  rocksdb::Slice upper_slice(upper);
  options.iterate_upper_bound = &upper_slice;

  std::vector<std::string> keys;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_.streams));
    const std::string prefix = StreamPrefix(stream);
    for (it->Seek(StreamKey(stream, std::max<Version>(from_version, 1)));
         it->Valid() && keys.size() < limit; it->Next()) {
      if (!it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8 ||
          it->value().size() != 8) {
        return DataLoss("malformed key in the streams family for stream " + std::string(stream));
      }
      keys.push_back(it->value().ToString());
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "read stream"));
  }

  std::vector<Event> events;
  events.reserve(keys.size());
  constexpr size_t kChunk = 256;
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> values(std::min(kChunk, keys.size()));
  std::vector<rocksdb::Status> statuses(values.size());
  for (size_t begin = 0; begin < keys.size(); begin += kChunk) {
    const size_t n = std::min(kChunk, keys.size() - begin);
    slices.clear();
    for (size_t i = 0; i < n; ++i) slices.emplace_back(keys[begin + i]);
    for (size_t i = 0; i < n; ++i) values[i].Reset();
    db_->MultiGet(options, cf_.events, n, slices.data(), values.data(), statuses.data(),
                  /*sorted_input=*/false);
    for (size_t i = 0; i < n; ++i) {
      const Position position = GetBigEndian64(keys[begin + i].data());
      if (statuses[i].IsNotFound()) {
        return DataLoss("stream " + std::string(stream) + " refers to missing position " +
                        std::to_string(position));
      }
      LF_RETURN_IF_ERROR(FromRocks(statuses[i], "read stream events"));
      StatusOr<Event> event = DecodeStored(position, values[i]);
      if (!event.ok()) return event.status();
      events.push_back(std::move(event).value());
    }
  }
  return events;
}

Status RocksEventStore::ReadAll(Position from, const std::function<bool(const Event&)>& visit) {
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // a replay must not evict the hot blocks
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_.events));
  for (it->Seek(PositionKey(from)); it->Valid(); it->Next()) {
    if (it->key().size() != 8) return DataLoss("malformed key in the events family");
    StatusOr<Event> event = DecodeStored(GetBigEndian64(it->key().data()), it->value());
    if (!event.ok()) return event.status();
    if (!visit(*event)) return Status::Ok();
  }
  return FromRocks(it->status(), "read log");
}

Position RocksEventStore::HeadPosition() const { return head_.load(std::memory_order_acquire); }

StatusOr<Version> RocksEventStore::ReadStreamVersion(std::string_view stream) {
  // A point Get: the default family's whole-key Bloom filter answers most lookups of a
  // new stream without reading a data block.
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, StreamHeadKey(stream), &value);
  if (s.IsNotFound()) return Version{0};
  if (!s.ok()) return FromRocks(s, "read stream version");
  if (value.size() != 8) {
    return DataLoss("malformed stream head record for stream " + std::string(stream));
  }
  return GetBigEndian64(value.data());
}

StatusOr<Version> RocksEventStore::StreamVersion(std::string_view stream) {
  return ReadStreamVersion(stream);
}

Position RocksEventStore::WaitForEvents(Position after, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(head_mu_);
  head_cv_.wait_for(lock, timeout, [&] { return HeadPosition() > after || closed_; });
  return HeadPosition();
}

void RocksEventStore::SetCommitListener(CommitListener listener) {
  auto shared = listener ? std::make_shared<const CommitListener>(std::move(listener)) : nullptr;
  std::lock_guard<std::mutex> lock(listener_mu_);
  listener_ = std::move(shared);
}

void RocksEventStore::Publish(Position head) {
  {
    std::lock_guard<std::mutex> lock(head_mu_);
    head_.store(head, std::memory_order_release);
  }
  head_cv_.notify_all();
}

}  // namespace ledgerflow::events::internal
