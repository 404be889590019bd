// The client side of bench/runs.sh: drives runs through a running `ledgerflow serve`
// over HTTP and prints one machine-readable RESULT line per measurement (the script
// tabulates them beside the baselines it measures in the same run). Nothing here is an
// assertion; the targets are printed next to the figures by the script.
//
//   runs_load --url URL --key KEY [--pid PID] MODE [flags]
// Modes:
//   throughput  creates a workflow of --steps chained steps (each depends on the one
//               before; `wait` 0 steps, or http_request GETs of --target), then
//               --clients threads dispatch --runs runs between them and the program
//               waits until all of them completed: runs/s over the whole, the dispatch
//               rate alone, events and appends per run (from the audit API), this
//               program's CPU per run, and with --pid the server's by thread name.
//   latency     one client dispatches --runs runs of the same 5-step workflow one after
//               the other, polling each run until it completed: p50/p99/max of
//               dispatch-to-completed as the client sees it, and as the run records it
//               (completed_at - created_at).
//   timers      --runs runs waiting on `wait` --seconds (spread over --workflows
//               workflows, max_concurrent_runs 1000 each, so that every run waits at
//               once): the server's RSS and thread count (--pid) idle, with all of them
//               waiting and at the end, and how late each wait's completion was
//               committed after the deadline its start recorded (wake_at, read from
//               one NDJSON export of the org's log).
#include <curl/curl.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "core/time_format.h"

namespace {

using namespace ledgerflow;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string url;
  std::string key;
  std::string mode;
  std::string kind = "wait";  // throughput: wait | http
  std::string target;         // throughput --kind http: the URL each step GETs
  int runs = 10000;
  int clients = 64;
  int steps = 5;
  int workflows = 10;
  double seconds = 20;
  int pid = 0;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "runs_load: %s\n", message.c_str());
  std::exit(1);
}

struct Answer {
  long status = 0;
  std::string body;  // or libcurl's error when status is 0
};

// One connection per thread, kept alive.
class Client {
 public:
  explicit Client(const Options& o) : base_(o.url), auth_("Authorization: Bearer " + o.key) {
    curl_ = curl_easy_init();
    headers_ = curl_slist_append(headers_, auth_.c_str());
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  }
  ~Client() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Answer Send(const char* method, const std::string& path, const std::string& body = "",
              long timeout_ms = 30000) {
    Answer a;
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    if (std::strcmp(method, "GET") == 0) {
      curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) {
      static_cast<std::string*>(out)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &a.body);
    if (CURLcode rc = curl_easy_perform(curl_); rc == CURLE_OK) {
      curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &a.status);
    } else {
      a.body = curl_easy_strerror(rc);
    }
    return a;
  }

 private:
  std::string base_;
  std::string auth_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
};

json::Document ParseOrDie(const Answer& a, const char* what) {
  auto doc = json::Parse(a.body);
  if (!doc.ok()) Die(std::string(what) + ": HTTP " + std::to_string(a.status) + " " + a.body);
  return std::move(*doc);
}

int64_t TimeMs(const json::Value& v, const char* key) {
  auto text = json::GetString(v, key);
  if (!text) return -1;
  auto ms = core::ParseRfc3339(*text);
  return ms.ok() ? *ms : -1;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string CreateWorkflow(Client& c, const std::string& definition) {
  Answer a = c.Send("POST", "/api/workflows", R"({"definition":)" + definition + "}");
  if (a.status != 201) Die("create: HTTP " + std::to_string(a.status) + " " + a.body);
  return json::GetString(ParseOrDie(a, "create"), "id").value_or("");
}

// Steps s1..sN, each depending on the one before.
std::string Chain(const std::string& name, int steps, const std::string& type,
                  const std::string& config, int max_concurrent) {
  std::string out = R"({"name": ")" + name + R"(", "max_concurrent_runs": )" +
                    std::to_string(max_concurrent) + R"(, "steps": [)";
  for (int i = 1; i <= steps; ++i) {
    if (i > 1) out += ",";
    out += R"({"id": "s)" + std::to_string(i) + R"(", "type": ")" + type + R"(", "config": )" + config;
    if (i > 1) out += R"(, "depends_on": ["s)" + std::to_string(i - 1) + R"("])";
    out += "}";
  }
  return out + "]}";
}

std::string Dispatch(Client& c, const std::string& workflow_id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    Answer a = c.Send("POST", "/api/workflows/" + workflow_id + "/runs", "{}");
    if (a.status == 202) return json::GetString(ParseOrDie(a, "dispatch"), "run_id").value_or("");
    if (a.status != 503 && a.status != 0) Die("dispatch: HTTP " + std::to_string(a.status) + " " + a.body);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Die("dispatch kept failing");
}

int64_t Total(Client& c, const std::string& path) {
  Answer a = c.Send("GET", path);
  if (a.status != 200) Die(path + ": HTTP " + std::to_string(a.status) + " " + a.body);
  return json::GetInt(ParseOrDie(a, "list"), "total").value_or(-1);
}

// The events of the run's stream in the audit API, and the appends they came in: the
// dispatch has no causation, and each of the engine's appends names the run's newest
// committed event as the causation of all its events.
struct RunEvents {
  int64_t events = -1;
  int64_t appends = -1;
};
RunEvents EventsOfRun(Client& c, const std::string& run_id) {
  Answer a = c.Send("GET", "/api/audit/events?limit=1000&stream=run-" + run_id);
  json::Document doc = ParseOrDie(a, "audit");
  const json::Value* events = json::Find(doc, "events");
  RunEvents out;
  if (events == nullptr || !events->IsArray()) return out;
  out.events = static_cast<int64_t>(events->Size());
  std::vector<int64_t> causes;
  int64_t uncaused = 0;
  for (const json::Value& e : events->GetArray()) {
    if (auto cause = json::GetInt(e, "causation")) {
      causes.push_back(*cause);
    } else {
      ++uncaused;
    }
  }
  std::sort(causes.begin(), causes.end());
  out.appends = uncaused + (std::unique(causes.begin(), causes.end()) - causes.begin());
  return out;
}

// The server process as /proc shows it.
struct ProcSample {
  double rss_mib = 0, hwm_mib = 0;
  int threads = 0;
};
ProcSample Sample(int pid) {
  ProcSample s;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_mib = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) s.hwm_mib = std::atof(line.c_str() + 6) / 1024;
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atoi(line.c_str() + 8);
  }
  return s;
}

// CPU seconds per thread name (RocksDB's and Pistache's threads share names).
std::map<std::string, double> CpuByThread(int pid) {
  std::map<std::string, double> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = stat.substr(open + 1, close - open - 1);
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) {
        stime = std::atof(field.c_str());
        break;
      }
    }
    out[name] += (utime + stime) / tick;
  }
  closedir(d);
  return out;
}

std::string CpuPerRun(const std::map<std::string, double>& before,
                      const std::map<std::string, double>& after, int runs) {
  std::string out;
  double total = 0;
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [name, cpu] : after) {
    auto it = before.find(name);
    double used = cpu - (it == before.end() ? 0 : it->second);
    total += used;
    if (used > 0) rows.emplace_back(used, name);
  }
  std::sort(rows.rbegin(), rows.rend());
  char buf[128];
  std::snprintf(buf, sizeof buf, "cpu_us_per_run=%.0f", total * 1e6 / runs);
  out = buf;
  for (const auto& [used, name] : rows) {
    std::string id = name;
    std::replace(id.begin(), id.end(), ' ', '_');
    std::snprintf(buf, sizeof buf, " cpu_us[%s]=%.0f", id.c_str(), used * 1e6 / runs);
    out += buf;
  }
  return out;
}

// Dispatches `runs` runs of the workflows (round robin) from `clients` threads.
std::vector<std::string> DispatchAll(const Options& o, const std::vector<std::string>& workflows,
                                     int runs, int clients) {
  std::vector<std::string> ids(static_cast<size_t>(runs));
  std::atomic<int> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      Client c(o);
      for (int i; (i = next.fetch_add(1)) < runs;) {
        ids[static_cast<size_t>(i)] = Dispatch(c, workflows[static_cast<size_t>(i) % workflows.size()]);
      }
    });
  }
  for (auto& t : threads) t.join();
  return ids;
}

// This process's CPU seconds (the load generator shares the machine with the server).
double OwnCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void Throughput(const Options& o) {
  Client c(o);
  std::string definition;
  if (o.kind == "http") {
    if (o.target.empty()) Die("--kind http needs --target");
    definition = Chain("bench-http", o.steps, "http_request",
                       R"({"url": ")" + o.target + R"(", "method": "GET"})", 1000);
  } else {
    definition = Chain("bench-wait", o.steps, "wait", R"({"seconds": 0})", 1000);
  }
  const std::string wf = CreateWorkflow(c, definition);
  const std::string completed = "/api/workflows/" + wf + "/runs?status=completed&limit=1";
  const std::string failed = "/api/workflows/" + wf + "/runs?status=failed&limit=1";
  auto cpu0 = o.pid ? CpuByThread(o.pid) : std::map<std::string, double>{};
  const double own0 = OwnCpuSeconds();
  const auto start = Clock::now();
  std::vector<std::string> ids = DispatchAll(o, {wf}, o.runs, o.clients);
  const double dispatch_s = Since(start);
  const int64_t done_at_dispatch_end = Total(c, completed);
  int64_t done = 0, bad = 0;
  for (;;) {
    done = Total(c, completed);
    bad = Total(c, failed);
    if (done + bad >= o.runs || Since(start) > 600) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double total_s = Since(start);
  auto cpu1 = o.pid ? CpuByThread(o.pid) : std::map<std::string, double>{};
  const double own_us = (OwnCpuSeconds() - own0) * 1e6 / o.runs;
  const auto audit_start = Clock::now();
  const RunEvents sample = EventsOfRun(c, ids.back());
  const double audit_ms = Since(audit_start) * 1000;
  std::printf("RESULT mode=throughput kind=%s steps=%d runs=%d clients=%d completed=%lld failed=%lld "
              "seconds=%.2f runs_per_s=%.0f dispatch_seconds=%.2f dispatch_per_s=%.0f "
              "completed_when_dispatch_ended=%lld events_per_run=%lld appends_per_run=%lld "
              "audit_stream_query_ms=%.0f client_cpu_us_per_run=%.0f %s\n",
              o.kind.c_str(), o.steps, o.runs, o.clients, static_cast<long long>(done),
              static_cast<long long>(bad), total_s, static_cast<double>(done) / total_s, dispatch_s,
              o.runs / dispatch_s, static_cast<long long>(done_at_dispatch_end),
              static_cast<long long>(sample.events), static_cast<long long>(sample.appends), audit_ms, own_us,
              o.pid ? CpuPerRun(cpu0, cpu1, o.runs).c_str() : "");
}

void Latency(const Options& o) {
  Client c(o);
  const std::string wf = CreateWorkflow(c, Chain("bench-latency", 5, "wait", R"({"seconds": 0})", 1000));
  std::vector<double> seen_ms, recorded_ms, answered_ms;
  int64_t polls = 0;
  for (int i = 0; i < o.runs; ++i) {
    const auto t0 = Clock::now();
    const std::string id = Dispatch(c, wf);
    answered_ms.push_back(Since(t0) * 1000);
    for (;;) {
      Answer a = c.Send("GET", "/api/workflows/runs/" + id);
      ++polls;
      json::Document doc = ParseOrDie(a, "run");
      const json::Value* run = json::Find(doc, "run");
      if (run == nullptr) Die("no run in " + a.body);
      auto status = json::GetString(*run, "status").value_or("");
      if (status == "completed" || status == "failed") {
        seen_ms.push_back(Since(t0) * 1000);
        recorded_ms.push_back(static_cast<double>(TimeMs(*run, "completed_at") - TimeMs(*run, "created_at")));
        if (status == "failed") Die("run failed: " + a.body);
        break;
      }
    }
  }
  std::printf("RESULT mode=latency runs=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f recorded_p50_ms=%.0f "
              "recorded_p99_ms=%.0f dispatch_answer_p50_ms=%.2f dispatch_answer_p99_ms=%.2f "
              "polls_per_run=%.1f\n",
              o.runs, Percentile(seen_ms, 50), Percentile(seen_ms, 99), Percentile(seen_ms, 100),
              Percentile(recorded_ms, 50), Percentile(recorded_ms, 99), Percentile(answered_ms, 50),
              Percentile(answered_ms, 99), static_cast<double>(polls) / o.runs);
}

void Timers(const Options& o) {
  if (o.pid == 0) Die("timers needs --pid");
  Client c(o);
  std::vector<std::string> workflows;
  char config[64];
  std::snprintf(config, sizeof config, R"({"seconds": %g})", o.seconds);
  for (int w = 0; w < o.workflows; ++w) {
    workflows.push_back(CreateWorkflow(c, Chain("bench-timer-" + std::to_string(w), 1, "wait", config, 1000)));
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const ProcSample idle = Sample(o.pid);
  const auto start = Clock::now();
  std::vector<std::string> ids = DispatchAll(o, workflows, o.runs, o.clients);
  const double dispatch_s = Since(start);
  // Every run's wait step started.
  int64_t running = 0;
  for (; Since(start) < o.seconds * 0.9; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
    running = Total(c, "/api/workflows/runs?status=running&limit=1");
    if (running >= o.runs) break;
  }
  const double all_waiting_s = Since(start);
  const ProcSample waiting = Sample(o.pid);
  int64_t done = 0;
  for (; Since(start) < o.seconds + 600; std::this_thread::sleep_for(std::chrono::milliseconds(100))) {
    done = Total(c, "/api/workflows/runs?status=completed&limit=1");
    if (done >= o.runs) break;
  }
  const ProcSample end = Sample(o.pid);
  // Lateness of each wait, from its events: when its completion was committed against
  // the deadline its start recorded (wake_at), and against the start's own commit
  // time + seconds (what started_at and completed_at show). One export of the org's
  // log: a stream filter of the audit API reads the whole log per request.
  Answer log = c.Send("GET", "/api/audit/events?format=ndjson", "", 600000);
  if (log.status != 200) Die("export: HTTP " + std::to_string(log.status) + " " + log.body.substr(0, 200));
  struct Wait {
    int64_t started = -1, wake_at = -1, woke = -1;
  };
  std::map<std::string, Wait> waits;  // by stream
  std::istringstream lines(log.body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto e = json::Parse(line);
    if (!e.ok()) Die("export: not JSON: " + line.substr(0, 200));
    const std::string type = json::GetString(*e, "type").value_or("");
    if (type != "run.step_started" && type != "run.step_completed") continue;
    Wait& w = waits[json::GetString(*e, "stream").value_or("")];
    if (type == "run.step_started") {
      w.started = TimeMs(*e, "at");
      w.wake_at = TimeMs((*e)["data"], "wake_at");
    } else {
      w.woke = TimeMs(*e, "at");
    }
  }
  std::vector<double> late_ms, shown_ms;
  for (const std::string& id : ids) {
    const Wait& w = waits["run-" + id];
    if (w.woke < 0 || w.wake_at < 0) Die("run " + id + " has no wait start or completion in the log");
    late_ms.push_back(static_cast<double>(w.woke - w.wake_at));
    shown_ms.push_back(static_cast<double>(w.woke - w.started) - o.seconds * 1000);
  }
  std::printf("RESULT mode=timers runs=%d workflows=%d wait_s=%g dispatch_seconds=%.2f "
              "all_waiting_after_s=%.2f running_seen=%lld completed=%lld idle_rss_mib=%.1f "
              "idle_threads=%d waiting_rss_mib=%.1f waiting_threads=%d end_rss_mib=%.1f "
              "end_threads=%d peak_rss_mib=%.1f late_p50_ms=%.0f late_p99_ms=%.0f late_max_ms=%.0f "
              "late_min_ms=%.0f shown_late_p50_ms=%.0f shown_late_min_ms=%.0f\n",
              o.runs, o.workflows, o.seconds, dispatch_s, all_waiting_s, static_cast<long long>(running),
              static_cast<long long>(done), idle.rss_mib, idle.threads, waiting.rss_mib, waiting.threads,
              end.rss_mib, end.threads, end.hwm_mib, Percentile(late_ms, 50), Percentile(late_ms, 99),
              Percentile(late_ms, 100), Percentile(late_ms, 0), Percentile(shown_ms, 50),
              Percentile(shown_ms, 0));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") o.url = value();
    else if (a == "--key") o.key = value();
    else if (a == "--pid") o.pid = std::atoi(value().c_str());
    else if (a == "--runs") o.runs = std::atoi(value().c_str());
    else if (a == "--clients") o.clients = std::atoi(value().c_str());
    else if (a == "--steps") o.steps = std::atoi(value().c_str());
    else if (a == "--workflows") o.workflows = std::atoi(value().c_str());
    else if (a == "--seconds") o.seconds = std::atof(value().c_str());
    else if (a == "--kind") o.kind = value();
    else if (a == "--target") o.target = value();
    else if (a[0] != '-' && o.mode.empty()) o.mode = a;
    else Die("unknown argument " + a);
  }
  if (o.url.empty() || o.key.empty() || o.runs < 1 || o.clients < 1 || o.steps < 1 || o.workflows < 1) {
    Die("usage: runs_load --url URL --key KEY [--pid PID] throughput|latency|timers [flags]");
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (o.mode == "throughput") {
    Throughput(o);
  } else if (o.mode == "latency") {
    Latency(o);
  } else if (o.mode == "timers") {
    Timers(o);
  } else {
    Die("unknown mode '" + o.mode + "'");
  }
  curl_global_cleanup();
  return 0;
}
