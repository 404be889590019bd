#include "projections/run_stats_projection.h"

#include <algorithm>
#include <map>
#include <optional>

#include "core/json.h"
#include "projections/key_encoding.h"

namespace ledgerflow::projections {
namespace {

using core::RunContribution;
using core::RunState;
using core::RunStats;

// rstat/<org>/<wf>/<version:8>     -> EncodeRunStats, a version's statistics
// rstatrun/<org>/<run>             -> EncodeRunStatsEntry, what the run counts for
constexpr std::string_view kStatsPrefix = "rstat/";
constexpr std::string_view kEntryPrefix = "rstatrun/";

std::string WorkflowPrefix(std::string_view org, std::string_view workflow_id) {
  return std::string(kStatsPrefix) + std::string(org) + "/" + std::string(workflow_id) + "/";
}
std::string StatsKey(std::string_view org, const RunContribution& run) {
  return WorkflowPrefix(org, run.workflow_id) +
         EncodeBigEndian64(static_cast<uint64_t>(run.workflow_version));
}
std::string EntryKey(std::string_view org, std::string_view run_id) {
  return std::string(kEntryPrefix) + std::string(org) + "/" + std::string(run_id);
}

Status Evolve(RunState& run, const events::Event& e, std::string_view run_id) {
  core::EventMeta meta{e.position, e.stream_version, e.at_ms, e.actor};
  if (e.parsed_data) {
    core::EvolveRun(run, e.type, *e.parsed_data, meta, e.org, run_id);
    return Status::Ok();
  }
  auto data = json::Parse(e.data);
  if (!data.ok()) return DataLoss("event " + std::to_string(e.position) + " is unreadable");
  core::EvolveRun(run, e.type, *data, meta, e.org, run_id);
  return Status::Ok();
}

}  // namespace

std::vector<std::string> RunStatsProjection::KeyPrefixes() const {
  return {std::string(kStatsPrefix), std::string(kEntryPrefix)};
}

Status RunStatsProjection::Apply(std::span<const events::Event> events, events::KvBatch& batch) {
  // The runs of this batch, folded in memory: the batch is written only after Apply.
  struct Touched {
    std::string org;
    std::string stored;  // the entry as stored before this batch; empty when none
    std::optional<RunContribution> before;
    RunState now;
  };
  std::map<std::string, Touched> touched;  // by entry key
  for (const events::Event& e : events) {
    std::string_view run_id = core::RunIdOfStream(e.stream);
    if (run_id.empty()) continue;
    std::string key = EntryKey(e.org, run_id);
    auto it = touched.find(key);
    if (it == touched.end()) {
      Touched t;
      t.org = e.org;
      auto stored = kv_.Get(key);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        auto decoded = core::DecodeRunStatsEntry(**stored);
        if (!decoded.ok()) return decoded.status();
        t.stored = std::move(**stored);
        t.now = std::move(decoded).value();
        t.before = core::ContributionOf(t.now);
      }
      it = touched.emplace(std::move(key), std::move(t)).first;
    }
    LF_RETURN_IF_ERROR(Evolve(it->second.now, e, run_id));
  }

  std::map<std::string, RunStats> changed;  // by stats key, loaded on first use
  auto stats_at = [&](const std::string& org, const RunContribution& run) -> StatusOr<RunStats*> {
    std::string key = StatsKey(org, run);
    auto it = changed.find(key);
    if (it != changed.end()) return &it->second;
    RunStats stats;
    auto stored = kv_.Get(key);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) {
      auto decoded = core::DecodeRunStats(**stored);
      if (!decoded.ok()) return decoded.status();
      stats = std::move(decoded).value();
    }
    return &changed.emplace(std::move(key), std::move(stats)).first->second;
  };
  for (auto& [key, t] : touched) {
    std::optional<RunContribution> now = core::ContributionOf(t.now);
    if (!now && !t.before) continue;  // events of a run whose dispatch is missing
    std::string entry = core::EncodeRunStatsEntry(t.now);
    if (entry != t.stored) batch.Put(key, std::move(entry));
    if (now == t.before) continue;
    if (t.before) {
      auto stats = stats_at(t.org, *t.before);
      if (!stats.ok()) return stats.status();
      core::RemoveRun(**stats, *t.before);
    }
    if (now) {
      auto stats = stats_at(t.org, *now);
      if (!stats.ok()) return stats.status();
      core::AddRun(**stats, *now);
    }
  }
  for (auto& [key, stats] : changed) {
    if (stats.total() == 0) {
      batch.Delete(key);
    } else {
      batch.Put(key, core::EncodeRunStats(stats));
    }
  }
  return Status::Ok();
}

StatusOr<WorkflowRunStats> RunStatsProjection::Get(std::string_view org,
                                                   std::string_view workflow_id) const {
  const std::string prefix = WorkflowPrefix(org, workflow_id);
  WorkflowRunStats out;
  Status failure = Status::Ok();
  LF_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view value) {
    auto stats = core::DecodeRunStats(value);
    if (!stats.ok()) {
      failure = stats.status();
      return false;
    }
    int64_t version = static_cast<int64_t>(DecodeBigEndian64(key.substr(prefix.size())));
    core::MergeRunStats(out.overall, *stats);
    out.by_version.push_back({version, std::move(stats).value()});
    return true;
  }));
  LF_RETURN_IF_ERROR(failure);
  // Ascending in the store; newest first like the version history.
  std::reverse(out.by_version.begin(), out.by_version.end());
  return out;
}

}  // namespace ledgerflow::projections
