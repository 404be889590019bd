// RocksEventStore's write path: validation on the caller's thread, then a queue drained
// by one writer thread that commits each group with one WriteBatch and one sync.
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <future>

#include "events/codec.h"
#include "events/rocks_event_store.h"
#include "events/rocks_util.h"
#include "metrics/registry.h"

namespace ledgerflow::events::internal {
namespace {

struct StoreMetrics {
  metrics::Histogram& write_seconds;
  metrics::Counter& groups;
  metrics::Counter& events;
  metrics::Histogram& group_events;
};

StoreMetrics& Metrics() {
  static StoreMetrics m{
      metrics::Default()
          .AddHistogram("ledgerflow_event_store_fsync_seconds",
                        "Time of one group's synced WriteBatch (the WAL fsync included)",
                        metrics::LatencyBuckets())
          .With(),
      metrics::Default()
          .AddCounter("ledgerflow_event_store_appends_total",
                      "Groups committed (one WriteBatch and one sync each)")
          .With(),
      metrics::Default()
          .AddCounter("ledgerflow_event_store_events_appended_total", "Events appended")
          .With(),
      metrics::Default()
          .AddHistogram("ledgerflow_event_store_group_events", "Events per committed group",
                        {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})
          .With(),
  };
  return m;
}

}  // namespace

namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Checks the request and puts every event's data in canonical form (on the caller's
// thread, so that parsing runs in parallel and the writer only hashes and writes).
Status Prepare(AppendRequest& r) {
  if (r.stream.empty()) return InvalidArgument("append: stream is empty");
  if (r.stream.find('\0') != std::string::npos) {
    return InvalidArgument("append: stream name contains a NUL byte");
  }
  if (r.org.empty()) return InvalidArgument("append: org is empty");
  if (r.events.empty()) return InvalidArgument("append: no events");
  for (size_t i = 0; i < r.events.size(); ++i) {
    NewEvent& e = r.events[i];
    auto where = [&] { return "append: event " + std::to_string(i) + " of " + r.stream; };
    if (e.type.empty()) return InvalidArgument(where() + " has no type");
    if (e.data.empty()) {
      e.data = "{}";
      continue;
    }
    if (e.written_by_writer) {
      Status checked = CheckWriterJson(e.data);
      if (!checked.ok()) return InvalidArgument(where() + ": data: " + checked.message());
      continue;
    }
    StatusOr<std::string> data = CanonicalizeJson(e.data);
    if (!data.ok()) return InvalidArgument(where() + ": data: " + data.status().message());
    if (data->front() != '{') return InvalidArgument(where() + ": data is not a JSON object");
    e.data = std::move(data).value();
  }
  return Status::Ok();
}

template <typename F>
void RunGuarded(const char* what, F&& f) {
  // An exception must not kill the writer thread: every later append would hang.
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ledgerflow: %s threw: %s\n", what, e.what());
  } catch (...) {
    std::fprintf(stderr, "ledgerflow: %s threw\n", what);
  }
}

}  // namespace

StatusOr<AppendResult> RocksEventStore::Append(AppendRequest request) {
  if (std::this_thread::get_id() == writer_id_) {
    return Internal("Append called on the event store's writer thread (from a listener or "
                    "callback) would deadlock; use AppendAsync");
  }
  // Shared: the writer may still be inside set_value when this thread returns.
  auto promise = std::make_shared<std::promise<StatusOr<AppendResult>>>();
  std::future<StatusOr<AppendResult>> result = promise->get_future();
  AppendAsync(std::move(request),
              [promise](StatusOr<AppendResult> r) { promise->set_value(std::move(r)); });
  return result.get();
}

void RocksEventStore::AppendAsync(AppendRequest request, AppendCallback done) {
  Status prepared = Prepare(request);
  if (!prepared.ok()) {
    if (done) done(std::move(prepared));
    return;
  }
  Pending pending{std::move(request), std::move(done)};
  PreRead(pending);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(std::move(pending));
      queue_cv_.notify_one();
      return;
    }
  }
  if (done) done(Status(StatusCode::kUnavailable, "append: the event store is shut down"));
}

void RocksEventStore::WriterLoop() {
  // An idle store still calls the listener now and then (with no events), so that one
  // that fell behind catches up without waiting for the next append.
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait_for(lock, options_.idle_listener_interval,
                         [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) return;  // everything queued is committed
        lock.unlock();
        NotifyListener({});
        continue;
      }
      size_t events = 0;
      while (!queue_.empty() &&
             (group.empty() ||
              events + queue_.front().request.events.size() <= options_.max_batch_events)) {
        events += queue_.front().request.events.size();
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
}

void RocksEventStore::PreRead(Pending& pending) {
  if (pending.request.expected_version != kNoStream) return;
  // The epoch first: a clear after this load makes the writer read again.
  pending.preread_epoch = stream_cache_epoch_.load(std::memory_order_acquire);
  StatusOr<Version> version = ReadStreamVersion(pending.request.stream);
  if (version.ok()) pending.preread = *version;
}

StatusOr<Version> RocksEventStore::CommittedVersion(const Pending& pending) {
  const std::string& stream = pending.request.stream;
  auto it = stream_versions_.find(stream);
  if (it != stream_versions_.end()) return it->second;
  // Not in the cache: no commit of this stream happened since the pre-read, unless
  // the cache was emptied meanwhile.
  const bool preread_valid =
      pending.preread && pending.preread_epoch == stream_cache_epoch_.load(std::memory_order_relaxed);
  StatusOr<Version> version =
      preread_valid ? StatusOr<Version>(*pending.preread) : ReadStreamVersion(stream);
  if (version.ok()) stream_versions_.emplace(stream, *version);
  return version;
}

void RocksEventStore::CommitGroup(std::vector<Pending>& group) {
  if (stream_versions_.size() > options_.max_cached_streams) {
    stream_versions_.clear();
    stream_cache_epoch_.fetch_add(1, std::memory_order_release);
  }

  size_t group_events = 0;
  size_t group_bytes = 0;
  for (const Pending& p : group) {
    group_events += p.request.events.size();
    for (const NewEvent& n : p.request.events) group_bytes += n.data.size();
  }

  // Effects of this group, merged into the caches only once the batch is durable: a
  // failed write leaves the caches untouched, so its positions are reused. Keys view
  // the requests' strings, which outlive the group.
  std::unordered_map<std::string_view, Version> pending_versions;
  std::map<std::string, ChainHead, std::less<>> pending_orgs;
  std::vector<std::optional<StatusOr<AppendResult>>> results(group.size());
  std::vector<Event> committed;
  committed.reserve(group_events);
  // Each event stores its data plus an envelope of ~350 B, and a streams key.
  rocksdb::WriteBatch batch(group_bytes + group_events * 512 + 1024);
  std::string line;        // one event's stored line, reused
  std::string hash_input;  // the bytes one event's hash covers after prev_hash, reused
  std::string stream_key;  // one streams-family or stream-head key, reused
  Position head = last_position_;
  const int64_t at = std::max(options_.clock ? options_.clock() : SystemNowMs(), last_at_ms_);
  Status batch_status;
  // Requests refused because of an earlier request of this group: if the group's write
  // fails, that request never happened, so their refusal does not hold either.
  std::vector<bool> refused_by_group(group.size(), false);

  for (size_t i = 0; i < group.size() && batch_status.ok(); ++i) {
    AppendRequest& r = group[i].request;
    Version current;
    if (auto p = pending_versions.find(r.stream); p != pending_versions.end()) {
      current = p->second;
      refused_by_group[i] = true;  // (only read when the request is refused below)
    } else {
      StatusOr<Version> version = CommittedVersion(group[i]);
      if (!version.ok()) {
        results[i] = version.status();
        continue;
      }
      current = *version;
    }
    if (r.expected_version != kAnyVersion && r.expected_version != current) {
      results[i] = Conflict("stream " + r.stream + " is at version " + std::to_string(current) +
                            ", expected " + std::to_string(r.expected_version))
                       .WithReason("version_conflict");
      continue;
    }
    auto org = pending_orgs.find(r.org);
    if (org == pending_orgs.end()) {
      auto stored = org_heads_.find(r.org);
      org = pending_orgs.emplace(r.org, stored == org_heads_.end() ? ChainHead{} : stored->second)
                .first;
    }
    AppendResult result{head + 1, head + r.events.size(), current + r.events.size()};
    for (NewEvent& n : r.events) {
      Event e;
      e.position = ++head;
      e.stream = r.stream;
      e.stream_version = ++current;
      // The request is not used again once its events are built (a failed group is
      // answered with an error, not retried), so its type and data move.
      e.type = std::move(n.type);
      e.schema_version = n.schema_version;
      e.org = r.org;
      e.actor = r.actor;
      e.at_ms = at;
      e.request_id = r.request_id;
      e.causation = n.causation;
      e.data = std::move(n.data);
      e.parsed_data = std::move(n.parsed_data);
      e.prev_hash = org->second.hash;
      e.chain = kChainJcs;
      // The hash covers the JCS form of the event; the envelope is encoded once and
      // gets its hash field in place.
      hash_input.clear();
      batch_status = AppendJcsHashInput(e, &hash_input);
      if (!batch_status.ok()) break;
      e.hash = Sha256Hex(e.prev_hash, hash_input);
      line.clear();
      AppendCanonicalBytes(e, &line);
      AppendHashField(&line, e.hash);
      char position_key[8];
      EncodeBigEndian64(position_key, e.position);
      const rocksdb::Slice key(position_key, sizeof position_key);
      batch_status = FromRocks(batch.Put(cf_.events, key, line), "append batch");
      if (batch_status.ok()) {
        stream_key.assign(r.stream).push_back('\0');
        PutBigEndian64(&stream_key, e.stream_version);
        batch_status = FromRocks(batch.Put(cf_.streams, stream_key, key), "append batch");
      }
      org->second.position = e.position;
      org->second.hash = e.hash;
      committed.push_back(std::move(e));
    }
    pending_versions[r.stream] = current;
    results[i] = result;
  }

  // Each stream's head record, once per group, in the batch of its streams keys.
  for (const auto& [stream, version] : pending_versions) {
    if (!batch_status.ok()) break;
    char value[8];
    EncodeBigEndian64(value, version);
    stream_key.assign(kStreamHeadPrefix).append(stream);
    batch_status = FromRocks(
        batch.Put(cf_.meta, stream_key, rocksdb::Slice(value, sizeof value)), "append batch");
  }

  if (!committed.empty()) {
    for (const auto& [org, h] : pending_orgs) {
      if (h.position == 0) continue;
      if (!batch_status.ok()) break;
      batch_status = FromRocks(batch.Put(cf_.meta, OrgHeadKey(org), PositionKey(h.position) + h.hash),
                               "append batch");
    }
    if (batch_status.ok()) {
      batch_status = FromRocks(batch.Put(cf_.meta, kLogHeadKey, PositionKey(head)), "append batch");
    }
    if (batch_status.ok() && fail_writes_.load() > 0) {
      fail_writes_.fetch_sub(1);
      batch_status = Internal("append: injected write failure");
    }
    if (batch_status.ok()) {
      rocksdb::WriteOptions write_options;
      write_options.sync = options_.sync;
      const auto started = std::chrono::steady_clock::now();
      batch_status = FromRocks(db_->Write(write_options, &batch), "append");
      if (batch_status.ok()) {
        StoreMetrics& m = Metrics();
        m.write_seconds.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        m.groups.Add();
        m.events.Add(committed.size());
        m.group_events.Observe(static_cast<double>(committed.size()));
      }
    }
    if (!batch_status.ok()) {
      // Nothing of the group is durable: every request that was to be written fails,
      // the caches stay as they were. A refusal because of the committed state (a
      // version conflict) still stands; one because of an earlier request of the group
      // fails like that request.
      Status failed = Internal(batch_status.message());
      for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i] || results[i]->ok() || refused_by_group[i]) results[i] = failed;
      }
      committed.clear();
    } else {
      for (const auto& [stream, version] : pending_versions) {
        auto it = stream_versions_.find(stream);
        if (it != stream_versions_.end()) {
          it->second = version;
        } else {
          stream_versions_.emplace(stream, version);
        }
      }
      for (auto& [org, h] : pending_orgs) {
        if (h.position != 0) org_heads_[org] = h;
      }
      last_position_ = head;
      last_at_ms_ = at;
      Publish(head);
    }
  }

  // After every group, also one that committed nothing, so that a listener that fell
  // behind (its own write failed) can catch up before this group's callbacks run.
  NotifyListener(committed);
  for (size_t i = 0; i < group.size(); ++i) {
    if (!group[i].done) continue;
    RunGuarded("append callback", [&] { group[i].done(std::move(*results[i])); });
  }
}

void RocksEventStore::NotifyListener(std::span<const Event> committed) {
  std::shared_ptr<const CommitListener> listener;
  {
    std::lock_guard<std::mutex> lock(listener_mu_);
    listener = listener_;
  }
  if (listener) RunGuarded("commit listener", [&] { (*listener)(committed); });
}

}  // namespace ledgerflow::events::internal
