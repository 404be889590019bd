// Fills a data directory with a large workflow catalog through the service layer (the
// same WorkflowService::Create/Update the API calls, so the log and the RocksDB read
// models are exactly what the server would have written), for bench/rss.sh, which then
// starts the real server on it and measures its peak RSS.
//
//   catalog_rss --data-dir D [--workflows 100000] [--versions 5] [--in-flight 2048]
//               [--org bench] [--ids-out FILE] [--sync]
//
// Each workflow gets one create and (versions - 1) updates, each update changing one
// step. Appends are not synced by default (LedgerOptions::sync = false): this measures
// memory, not durability, and a synced fill would be bounded by the disk's fsync rate.
// Prints the fill time and rate, and on the last line "key lf_..." (an owner key of the
// org), so that the script can query the server afterwards.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/json.h"
#include "service/ledger.h"

namespace {

using namespace ledgerflow;
using Clock = std::chrono::steady_clock;

// Appends the parts in order. (g++ 12 at -O3 gives a false -Wrestrict on
// `"literal" + std::string`, which -Werror turns into a failed Release build.)
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: catalog_rss --data-dir D [--workflows N] [--versions N] "
               "[--in-flight N] [--org O] [--ids-out FILE] [--sync]\n");
  std::exit(2);
}

// ~0.5 KB definition of five http_request steps in a chain; `version` changes the URL
// of one step so that every update is a real new version.
std::string DefinitionJson(size_t workflow, int version) {
  std::string s = Cat(R"({"name":"catalog workflow )", std::to_string(workflow), R"(","steps":[)");
  for (int i = 0; i < 5; ++i) {
    if (i > 0) s += ",";
    s += Cat(R"({"id":"step_)", std::to_string(i),
             R"(","type":"http_request","config":{"url":"https://example.com/api/)",
             std::to_string(i));
    if (i == version % 5) s += Cat("?v=", std::to_string(version));
    s += R"(","method":"POST","headers":{"content-type":"application/json"}})";
    if (i > 0) s += Cat(R"(,"depends_on":["step_)", std::to_string(i - 1), R"("])");
    s += "}";
  }
  s += "]}";
  return s;
}

json::Document MustParse(const std::string& text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok()) {
    std::fprintf(stderr, "catalog_rss: bad definition: %s\n", parsed.status().message().c_str());
    std::abort();
  }
  return std::move(parsed).value();
}

// One unit of work: create workflow `index` (version 1), or update it to `version`.
struct Task {
  size_t index;
  int version;
};

class Filler {
 public:
  Filler(service::Ledger& ledger, service::Caller caller, size_t workflows, int versions,
         size_t in_flight)
      : ledger_(ledger),
        caller_(std::move(caller)),
        versions_(versions),
        in_flight_limit_(in_flight),
        ids_(workflows),
        total_(workflows * static_cast<size_t>(versions)) {
    for (size_t i = 0; i < workflows; ++i) queue_.push_back({i, 1});
  }

  // Runs `threads` feeder threads until every command has been answered.
  void Run(int threads) {
    std::vector<std::thread> feeders;
    for (int t = 0; t < threads; ++t) feeders.emplace_back([this] { Feed(); });
    for (auto& f : feeders) f.join();
  }

  const std::vector<std::string>& ids() const { return ids_; }
  size_t errors() const { return errors_.load(); }
  size_t done() const { return done_.load(); }

 private:
  void Feed() {
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          return finished_ == total_ || (!queue_.empty() && in_flight_ < in_flight_limit_);
        });
        if (finished_ == total_) {
          cv_.notify_all();
          return;
        }
        task = queue_.front();
        queue_.pop_front();
        ++in_flight_;
      }
      Issue(task);
    }
  }

  void Issue(const Task& task) {
    json::Document definition = MustParse(DefinitionJson(task.index, task.version));
    if (task.version == 1) {
      service::CreateWorkflowInput input;
      input.definition = std::move(definition);
      input.description = "catalog benchmark";
      input.tags = {"bench", task.index % 2 ? "odd" : "even"};
      ledger_.workflows().Create(caller_, std::move(input),
                                 [this, task](StatusOr<projections::WorkflowView> r) {
                                   if (r.ok()) ids_[task.index] = r->id;
                                   Finish(task, r.ok(), r.ok() ? "" : r.status().message());
                                 });
    } else {
      ledger_.workflows().Update(caller_, ids_[task.index], std::move(definition),
                                 Cat("v", std::to_string(task.version)), std::nullopt,
                                 [this, task](StatusOr<projections::WorkflowView> r) {
                                   Finish(task, r.ok(), r.ok() ? "" : r.status().message());
                                 });
    }
  }

  // On the store's writer thread: queue the workflow's next version for a feeder.
  void Finish(const Task& task, bool ok, const std::string& error) {
    if (!ok && errors_.fetch_add(1) < 5) {
      std::fprintf(stderr, "catalog_rss: workflow %zu v%d: %s\n", task.index, task.version,
                   error.c_str());
    }
    size_t n = done_.fetch_add(1) + 1;
    if (n % 100000 == 0) {
      std::fprintf(stderr, "catalog_rss: %zu / %zu commands\n", n, total_);
    }
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    // A failed command abandons the workflow's later versions: count them as finished.
    const int remaining = versions_ - task.version;
    if (ok && remaining > 0) queue_.push_back({task.index, task.version + 1});
    finished_ += 1 + (ok ? 0 : static_cast<size_t>(remaining));
    cv_.notify_one();
    if (finished_ == total_) cv_.notify_all();
  }

  service::Ledger& ledger_;
  const service::Caller caller_;
  const int versions_;
  const size_t in_flight_limit_;
  std::vector<std::string> ids_;
  const size_t total_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  size_t in_flight_ = 0;
  size_t finished_ = 0;
  std::atomic<size_t> done_{0};
  std::atomic<size_t> errors_{0};
};

long PeakRssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  std::string org = "bench";
  std::string ids_out;
  size_t workflows = 100000;
  int versions = 5;
  size_t in_flight = 2048;
  bool sync = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--sync") {
      sync = true;
      continue;
    }
    if (i + 1 >= argc) Usage();
    std::string value = argv[++i];
    if (arg == "--data-dir") {
      data_dir = value;
    } else if (arg == "--org") {
      org = value;
    } else if (arg == "--ids-out") {
      ids_out = value;
    } else if (arg == "--workflows") {
      workflows = std::stoul(value);
    } else if (arg == "--versions") {
      versions = std::stoi(value);
    } else if (arg == "--in-flight") {
      in_flight = std::stoul(value);
    } else {
      Usage();
    }
  }
  if (data_dir.empty() || workflows == 0 || versions < 1 || in_flight == 0) Usage();

  auto opened = service::Ledger::Open({data_dir, /*allow_scripts=*/false, sync});
  if (!opened.ok()) {
    std::fprintf(stderr, "catalog_rss: %s\n", opened.status().message().c_str());
    return 1;
  }
  auto& ledger = **opened;

  service::Caller system{org, "system", core::Role::kOwner, "catalog_rss"};
  auto key = ledger.keys().CreateKey(system, org, "catalog benchmark", core::Role::kOwner);
  if (!key.ok()) {
    std::fprintf(stderr, "catalog_rss: create key: %s\n", key.status().message().c_str());
    return 1;
  }
  service::Caller caller{org, key->key.key_id, core::Role::kOwner, "catalog_rss"};

  const auto start = Clock::now();
  Filler filler(ledger, caller, workflows, versions, in_flight);
  // Two feeders: decisions (load + validate + canonicalize) run on them, appends on
  // the store's writer thread.
  filler.Run(2);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  if (!ids_out.empty()) {
    std::ofstream out(ids_out);
    for (const auto& id : filler.ids()) {
      if (!id.empty()) out << id << "\n";
    }
  }
  std::printf("fill: %zu workflows x %d versions = %zu commands in %.1f s (%.0f commands/s), "
              "%zu errors, sync=%s\n",
              workflows, versions, filler.done(), seconds,
              static_cast<double>(filler.done()) / seconds, filler.errors(),
              sync ? "on" : "off");
  std::printf("fill process peak RSS: %.1f MiB\n", static_cast<double>(PeakRssKiB()) / 1024.0);
  std::printf("key %s\n", key->token.c_str());
  return filler.errors() == 0 ? 0 : 1;
}
