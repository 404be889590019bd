// RocksEventStore: lifecycle, recovery and reads. The write path (queue, validation,
// group commit) is in group_commit.cc.
#include "events/rocks_event_store.h"

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
    : db_(db), cf_(families), options_(std::move(options)) {}

RocksEventStore::~RocksEventStore() { Stop(); }

void RocksEventStore::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
  writer_id_ = writer_.get_id();
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
  std::string format;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_.meta, kFormatKey, &format);
  if (s.ok() && format != kFormatVersion) {
    return DataLoss("unsupported storage format '" + format + "' (this build reads " +
                    kFormatVersion + ")");
  }
  if (s.IsNotFound()) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    LF_RETURN_IF_ERROR(
        FromRocks(db_->Put(sync, cf_.meta, kFormatKey, kFormatVersion), "write format"));
  } else if (!s.ok()) {
    return FromRocks(s, "read format");
  }

  // Head: the last key of the events family.
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_.events));
    it->SeekToLast();
    if (it->Valid()) {
      if (it->key().size() != 8) return DataLoss("malformed key in the events family");
      last_position_ = GetBigEndian64(it->key().data());
      StatusOr<Event> last = DecodeStored(last_position_, it->value());
      if (!last.ok()) return last.status();
      last_at_ms_ = last->at_ms;
    }
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "read log head"));
  }

  // Org heads as stored with the last commit; they must agree with the log.
  bool consistent = true;
  std::string log_head;
  s = db_->Get(rocksdb::ReadOptions(), cf_.meta, kLogHeadKey, &log_head);
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
  if (!consistent) return RebuildOrgHeads();
  head_.store(last_position_);
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

StatusOr<Version> RocksEventStore::ReadStreamVersion(std::string_view stream,
                                                     const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  const std::string prefix = StreamPrefix(stream);
  rocksdb::Slice lower(prefix);
  options.iterate_lower_bound = &lower;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_.streams));
  it->SeekForPrev(StreamKey(stream, UINT64_MAX));
  if (!it->Valid()) {
    LF_RETURN_IF_ERROR(FromRocks(it->status(), "read stream version"));
    return Version{0};
  }
  if (!it->key().starts_with(prefix) || it->key().size() != prefix.size() + 8) {
    return DataLoss("malformed key in the streams family for stream " + std::string(stream));
  }
  return GetBigEndian64(it->key().data() + prefix.size());
}

StatusOr<Version> RocksEventStore::StreamVersion(std::string_view stream) {
  return ReadStreamVersion(stream, nullptr);
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
