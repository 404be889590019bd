#include "core/run_stats.h"

#include <algorithm>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.h"

namespace ledgerflow::core {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;

// Where each bucket from 1 starts: 1, 2, ..., 39, 40, 42, 44, ... (each 1/20 of its
// start wide, rounded down, at least 1 ms), up to the first start past a day. Stored
// bucket numbers follow from it: changing it needs a new layout version of the read
// model.
const std::vector<int64_t>& BucketStarts() {
  static const std::vector<int64_t> starts = [] {
    std::vector<int64_t> s = {1};
    while (s.back() < kDayMs) s.push_back(s.back() + std::max<int64_t>(1, s.back() / 20));
    return s;
  }();
  return starts;
}

void Int(Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

void Text(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

int64_t IntOf(const json::Value& v, const char* key) { return json::GetInt(v, key).value_or(0); }

// A stored object; DataLoss naming `what` when it is not one.
StatusOr<json::Document> ParseStored(std::string_view text, const char* what) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return DataLoss(std::string(what) + " is not an object");
  return doc;
}

void Count(RunStats& stats, const RunContribution& run, int64_t sign) {
  stats.by_status[static_cast<size_t>(run.status)] += sign;
  if (!run.duration_ms) return;
  stats.duration_sum_ms += sign * *run.duration_ms;
  stats.timed_runs += sign;
  int bucket = DurationBucket(*run.duration_ms);
  if ((stats.durations[bucket] += sign) == 0) stats.durations.erase(bucket);
}

}  // namespace

std::optional<RunContribution> ContributionOf(const RunState& run) {
  if (run.workflow_id.empty()) return std::nullopt;
  RunContribution c;
  c.workflow_id = run.workflow_id;
  c.workflow_version = run.workflow_version;
  c.status = run.status;
  c.dispatched_at_ms = run.created_at_ms;
  if (run.status == RunStatus::kCompleted && run.started_at_ms != 0 && run.completed_at_ms != 0) {
    c.duration_ms = std::max<int64_t>(0, run.completed_at_ms - run.started_at_ms);
  }
  return c;
}

int DurationBucket(int64_t duration_ms) {
  if (duration_ms < 1) return 0;
  const std::vector<int64_t>& starts = BucketStarts();
  return static_cast<int>(std::upper_bound(starts.begin(), starts.end(), duration_ms) -
                          starts.begin());
}

double DurationBucketValue(int bucket) {
  const std::vector<int64_t>& starts = BucketStarts();
  if (bucket <= 0) return 0;
  if (static_cast<size_t>(bucket) >= starts.size()) return static_cast<double>(starts.back());
  int64_t first = starts[bucket - 1];
  int64_t last = starts[bucket] - 1;  // durations are whole milliseconds
  return static_cast<double>(first + last) / 2.0;
}

int64_t RunStats::total() const {
  int64_t n = 0;
  for (int64_t c : by_status) n += c;
  return n;
}

std::optional<double> RunStats::success_rate() const {
  int64_t completed = count(RunStatus::kCompleted);
  int64_t terminal = completed + count(RunStatus::kFailed) + count(RunStatus::kCancelled);
  if (terminal <= 0) return std::nullopt;
  return static_cast<double>(completed) / static_cast<double>(terminal);
}

std::optional<double> RunStats::mean_duration_seconds() const {
  if (timed_runs <= 0) return std::nullopt;
  return static_cast<double>(duration_sum_ms) / static_cast<double>(timed_runs) / 1000.0;
}

std::optional<double> RunStats::p95_duration_seconds() const {
  if (timed_runs <= 0) return std::nullopt;
  // Nearest rank: the smallest duration with at least 95% of the runs at or below it.
  const int64_t rank = (timed_runs * 95 + 99) / 100;
  int64_t seen = 0;
  for (const auto& [bucket, runs] : durations) {
    seen += runs;
    if (seen >= rank) return DurationBucketValue(bucket) / 1000.0;
  }
  return DurationBucketValue(durations.empty() ? 0 : durations.rbegin()->first) / 1000.0;
}

void AddRun(RunStats& stats, const RunContribution& run) {
  Count(stats, run, 1);
  stats.last_run_at_ms = std::max(stats.last_run_at_ms, run.dispatched_at_ms);
}

void RemoveRun(RunStats& stats, const RunContribution& run) { Count(stats, run, -1); }

void MergeRunStats(RunStats& into, const RunStats& from) {
  for (size_t i = 0; i < kRunStatusCount; ++i) into.by_status[i] += from.by_status[i];
  into.last_run_at_ms = std::max(into.last_run_at_ms, from.last_run_at_ms);
  into.duration_sum_ms += from.duration_sum_ms;
  into.timed_runs += from.timed_runs;
  for (const auto& [bucket, runs] : from.durations) {
    if ((into.durations[bucket] += runs) == 0) into.durations.erase(bucket);
  }
}

std::string EncodeRunStats(const RunStats& stats) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("by_status");
  w.StartArray();
  for (int64_t c : stats.by_status) w.Int64(c);
  w.EndArray();
  Int(w, "last_run_at_ms", stats.last_run_at_ms);
  Int(w, "duration_sum_ms", stats.duration_sum_ms);
  Int(w, "timed_runs", stats.timed_runs);
  w.Key("durations");
  w.StartArray();
  for (const auto& [bucket, runs] : stats.durations) {
    w.StartArray();
    w.Int(bucket);
    w.Int64(runs);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<RunStats> DecodeRunStats(std::string_view text) {
  auto doc = ParseStored(text, "run statistics");
  if (!doc.ok()) return doc.status();
  RunStats stats;
  const json::Value* by_status = json::Find(*doc, "by_status");
  if (by_status == nullptr || !by_status->IsArray()) {
    return DataLoss("run statistics lack by_status");
  }
  for (size_t i = 0; i < kRunStatusCount && i < by_status->Size(); ++i) {
    const json::Value& c = (*by_status)[static_cast<rapidjson::SizeType>(i)];
    if (c.IsInt64()) stats.by_status[i] = c.GetInt64();
  }
  stats.last_run_at_ms = IntOf(*doc, "last_run_at_ms");
  stats.duration_sum_ms = IntOf(*doc, "duration_sum_ms");
  stats.timed_runs = IntOf(*doc, "timed_runs");
  if (const json::Value* d = json::Find(*doc, "durations"); d && d->IsArray()) {
    for (const json::Value& pair : d->GetArray()) {
      if (!pair.IsArray() || pair.Size() != 2 || !pair[0].IsInt() || !pair[1].IsInt64()) {
        return DataLoss("run statistics hold a malformed duration bucket");
      }
      if (pair[1].GetInt64() != 0) stats.durations[pair[0].GetInt()] = pair[1].GetInt64();
    }
  }
  return stats;
}

std::string EncodeRunStatsEntry(const RunState& run) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  Text(w, "workflow_id", run.workflow_id);
  Int(w, "workflow_version", run.workflow_version);
  Text(w, "status", RunStatusName(run.status));
  Int(w, "created_at_ms", run.created_at_ms);
  Int(w, "started_at_ms", run.started_at_ms);
  Int(w, "completed_at_ms", run.completed_at_ms);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<RunState> DecodeRunStatsEntry(std::string_view text) {
  auto doc = ParseStored(text, "run statistics entry");
  if (!doc.ok()) return doc.status();
  RunState run;
  run.workflow_id = json::GetString(*doc, "workflow_id").value_or("");
  run.workflow_version = IntOf(*doc, "workflow_version");
  auto status = ParseRunStatus(json::GetString(*doc, "status").value_or(""));
  if (!status) return DataLoss("run statistics entry has no known status");
  run.status = *status;
  run.created_at_ms = IntOf(*doc, "created_at_ms");
  run.started_at_ms = IntOf(*doc, "started_at_ms");
  run.completed_at_ms = IntOf(*doc, "completed_at_ms");
  return run;
}

}  // namespace ledgerflow::core
