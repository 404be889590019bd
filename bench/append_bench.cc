// Durable append throughput: raw synced RocksDB Puts (one sync per write, RocksDB's own
// write grouping across threads) against EventStore::Append (our group commit: one
// WriteBatch and one sync per group, plus versions, hashing and encoding).
//
//   append_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <string>

#include "events/codec.h"
#include "events/rocks_storage.h"

namespace {

using namespace ledgerflow;
using namespace ledgerflow::events;

std::filesystem::path FreshDir(const char* what) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("ledgerflow-bench-") + what + "-" + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

// ~400 B of JSON data; with the envelope and two hashes a stored event is ~780 B
// (reported as the stored_bytes counter).
const std::string& Payload() {
  static const std::string payload = [] {
    std::string s = R"({"step_id":"fetch","status":"completed","attempt":1,"output":{"status_code":200,)"
                    R"("headers":{"content-type":"application/json"},"body":")";
    s.append(270, 'x');
    s += R"("},"duration_ms":1234})";
    return s;
  }();
  return payload;
}

// Owned for the whole process, shared by every thread and run; removed at exit.
struct RawDb {
  RawDb() : dir(FreshDir("raw")) {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
    if (!s.ok()) {
      std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
      std::abort();
    }
    db.reset(raw);
  }
  ~RawDb() {
    db.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<rocksdb::DB> db;
};

struct Store {
  Store() : dir(FreshDir("store")) {
    StatusOr<std::unique_ptr<RocksStorage>> opened = RocksStorage::Open(dir.string());
    if (!opened.ok()) {
      std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    storage = std::move(opened).value();
  }
  ~Store() {
    storage.reset();
    std::filesystem::remove_all(dir);
  }
  std::filesystem::path dir;
  std::unique_ptr<RocksStorage> storage;
};

RawDb& TheRawDb() {
  static RawDb db;
  return db;
}
Store& TheStore() {
  static Store store;
  return store;
}

std::atomic<uint64_t> next_key{0};
std::atomic<uint64_t> next_stream{0};

void BM_RawRocksDbSyncedPut(benchmark::State& state) {
  rocksdb::DB* db = TheRawDb().db.get();
  const std::string value(400, 'v');
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (auto _ : state) {
    char key[8];
    uint64_t k = next_key.fetch_add(1);
    for (int i = 7; i >= 0; --i, k >>= 8) key[i] = static_cast<char>(k & 0xff);
    rocksdb::Status s = db->Put(sync, rocksdb::Slice(key, 8), value);
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 408);
}

AppendRequest MakeRequest(const std::string& stream, Version expected) {
  AppendRequest r;
  r.stream = stream;
  r.expected_version = expected;
  r.org = "org_bench";
  r.actor = "key_bench";
  r.request_id = "req";
  r.events.push_back(NewEvent{"step.completed", 1, Payload(), {}});
  return r;
}

// Each thread appends one event at a time to its own stream, with a version check.
void BM_EventStoreAppend(benchmark::State& state) {
  EventStore& store = TheStore().storage->events();
  const std::string stream = "run-bench-" + std::to_string(next_stream.fetch_add(1));
  Version version = kNoStream;
  for (auto _ : state) {
    StatusOr<AppendResult> r = store.Append(MakeRequest(stream, version));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    version = r->stream_version;
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    StatusOr<Event> last = store.ReadAt(store.HeadPosition());
    if (last.ok()) state.counters["stored_bytes"] = static_cast<double>(EncodeEvent(*last).size());
    state.counters["data_bytes"] = static_cast<double>(Payload().size());
  }
}

// One thread keeps `window` appends in flight (as the HTTP layer does with many
// connections): the group commit's own ceiling.
void BM_EventStoreAppendAsyncWindow(benchmark::State& state) {
  EventStore& store = TheStore().storage->events();
  const size_t window = static_cast<size_t>(state.range(0));
  const std::string stream = "run-bench-async-" + std::to_string(next_stream.fetch_add(1));
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> failed{0};
  std::mutex mu;
  std::condition_variable cv;
  for (auto _ : state) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight.load() < static_cast<int64_t>(window); });
    }
    ++in_flight;
    store.AppendAsync(MakeRequest(stream, kAnyVersion), [&](StatusOr<AppendResult> r) {
      if (!r.ok()) ++failed;
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      cv.notify_one();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight.load() == 0; });
  if (failed.load() > 0) state.SkipWithError("appends failed");
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_RawRocksDbSyncedPut)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppend)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppendAsyncWindow)->Arg(64)->Arg(512)->UseRealTime();

BENCHMARK_MAIN();
