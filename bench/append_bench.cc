// Durable append throughput: raw synced RocksDB Puts (one sync per write, RocksDB's own
// write grouping across threads) against EventStore::Append (our group commit: one
// WriteBatch and one sync per group, plus versions, hashing and encoding).
//
// The *Unsynced benchmarks take the disk out (StorageOptions::sync = false) so that the
// writer thread's CPU is the limit; `writer_us/event` is that thread's CPU time (user +
// system, from /proc, 10 ms ticks) per appended event, `proc_us/event` the whole
// process's, background flushes and compactions included.
//
//   append_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
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
  explicit Store(bool sync = true) : dir(FreshDir(sync ? "store" : "store-unsynced")) {
    StorageOptions options;
    options.sync = sync;
    StatusOr<std::unique_ptr<RocksStorage>> opened = RocksStorage::Open(dir.string(), options);
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
Store& TheUnsyncedStore() {
  static Store store(/*sync=*/false);
  return store;
}

// CPU seconds (user + system) of the threads named `name` together ("lf-writer": the
// event stores' writers), or of the whole process when `name` is empty; -1 if none.
double CpuSeconds(const std::string& name) {
  if (name.empty()) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  unsigned long long ticks = 0;
  bool found = false;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm != name) continue;
    std::string stat;
    std::getline(std::ifstream(task.path() / "stat"), stat);
    // After the parenthesized comm come field 3 (state) ... 14 (utime), 15 (stime).
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 > stat.size()) continue;
    std::istringstream in(stat.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stoull(field);
    }
    found = true;
  }
  if (!found) return -1;
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Reports writer and process CPU per item for the span of its life (thread 0 only).
class CpuMeter {
 public:
  explicit CpuMeter(benchmark::State& state)
      : state_(state), writer0_(CpuSeconds("lf-writer")), proc0_(CpuSeconds("")) {}
  ~CpuMeter() {
    const double items = static_cast<double>(state_.iterations() * state_.threads());
    if (items == 0) return;
    const double writer = CpuSeconds("lf-writer");
    if (writer0_ >= 0 && writer >= 0) {
      state_.counters["writer_us/event"] = (writer - writer0_) * 1e6 / items;
    }
    state_.counters["proc_us/event"] = (CpuSeconds("") - proc0_) * 1e6 / items;
  }

 private:
  benchmark::State& state_;
  const double writer0_;
  const double proc0_;
};

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

// Each append creates a stream (expected version kNoStream), as every workflow
// creation does: the store must look up the version of a stream it has never seen.
void BM_EventStoreAppendNewStreams(benchmark::State& state) {
  EventStore& store = TheStore().storage->events();
  for (auto _ : state) {
    const std::string stream = "wf-bench-" + std::to_string(next_stream.fetch_add(1));
    StatusOr<AppendResult> r = store.Append(MakeRequest(stream, kNoStream));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// One thread keeps `window` appends in flight (as the HTTP layer does with many
// connections): the group commit's own ceiling. With range(1) == 1 every append
// creates a new stream (kNoStream), else all go to one stream (kAnyVersion).
void RunAsyncWindow(benchmark::State& state, EventStore& store) {
  const size_t window = static_cast<size_t>(state.range(0));
  const bool new_streams = state.range(1) == 1;
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
    AppendRequest request =
        new_streams ? MakeRequest("wf-bench-async-" + std::to_string(next_stream.fetch_add(1)),
                                  kNoStream)
                    : MakeRequest(stream, kAnyVersion);
    store.AppendAsync(std::move(request), [&](StatusOr<AppendResult> r) {
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

void BM_EventStoreAppendAsyncWindow(benchmark::State& state) {
  RunAsyncWindow(state, TheStore().storage->events());
}

// The same without syncs: the writer thread's CPU is the limit.
void BM_EventStoreAppendAsyncWindowUnsynced(benchmark::State& state) {
  EventStore& store = TheUnsyncedStore().storage->events();
  CpuMeter meter(state);
  RunAsyncWindow(state, store);
}

// 16 threads appending one event each to their own stream, without syncs.
void BM_EventStoreAppendUnsynced(benchmark::State& state) {
  EventStore& store = TheUnsyncedStore().storage->events();
  const std::string stream = "run-bench-unsynced-" + std::to_string(next_stream.fetch_add(1));
  Version version = kNoStream;
  std::unique_ptr<CpuMeter> meter;
  if (state.thread_index() == 0) meter = std::make_unique<CpuMeter>(state);
  for (auto _ : state) {
    StatusOr<AppendResult> r = store.Append(MakeRequest(stream, version));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    version = r->stream_version;
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(BM_RawRocksDbSyncedPut)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppend)->Threads(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppendNewStreams)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppendAsyncWindow)
    ->ArgNames({"window", "new"})
    ->Args({64, 0})
    ->Args({512, 0})
    ->Args({64, 1})
    ->UseRealTime();
BENCHMARK(BM_EventStoreAppendUnsynced)->Threads(16)->UseRealTime();
BENCHMARK(BM_EventStoreAppendAsyncWindowUnsynced)
    ->ArgNames({"window", "new"})
    ->Args({64, 0})
    ->Args({64, 1})
    ->UseRealTime();

BENCHMARK_MAIN();
