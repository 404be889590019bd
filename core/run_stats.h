// Run statistics of one workflow version, folded run by run: runs by status, the
// latest dispatch, and the durations of completed runs as a sum and a histogram. A run
// is removed and added again whenever what it contributes changes, so that each run is
// counted once, in its current status. Pure; plain values, not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/run.h"
#include "core/status.h"

namespace ledgerflow::core {

inline constexpr size_t kRunStatusCount = static_cast<size_t>(RunStatus::kCancelled) + 1;

// What one run adds to the statistics of the version it is on.
struct RunContribution {
  std::string workflow_id;
  int64_t workflow_version = 0;
  RunStatus status = RunStatus::kPending;
  int64_t dispatched_at_ms = 0;
  std::optional<int64_t> duration_ms;  // a completed run's, started to completed

  bool operator==(const RunContribution&) const = default;
};

// What `run` counts for; nullopt when it counts for nothing (no dispatch seen; a
// deleted run, once runs can be deleted).
std::optional<RunContribution> ContributionOf(const RunState& run);

// Completed runs' durations in fixed buckets (about 340): 1 ms wide up to 40 ms, then
// each at most 5% as wide as where it starts, up to a day; one bucket below 1 ms and
// one for a day or more. A quantile read from it is the middle of its bucket, so it is
// within 2.5% of the exact one (exact under 40 ms; "a day" for runs of a day or more).
int DurationBucket(int64_t duration_ms);
// The duration a bucket stands for, in ms.
double DurationBucketValue(int bucket);

struct RunStats {
  std::array<int64_t, kRunStatusCount> by_status{};
  int64_t last_run_at_ms = 0;         // the latest dispatch; 0 when none
  int64_t duration_sum_ms = 0;        // over completed runs with a duration
  int64_t timed_runs = 0;             // completed runs with a duration
  std::map<int, int64_t> durations;   // bucket -> runs; no zero entries

  int64_t total() const;
  int64_t count(RunStatus status) const { return by_status[static_cast<size_t>(status)]; }
  // completed / (completed + failed + cancelled); nullopt when no run is terminal.
  std::optional<double> success_rate() const;
  // Over timed runs; nullopt when there are none.
  std::optional<double> mean_duration_seconds() const;
  // The nearest-rank 95th percentile from the histogram; nullopt without timed runs.
  std::optional<double> p95_duration_seconds() const;

  bool operator==(const RunStats&) const = default;
};

void AddRun(RunStats& stats, const RunContribution& run);
// Takes back what AddRun(stats, run) added. last_run_at_ms stays: a maximum cannot
// be taken back (a run deletion will have to find the latest remaining dispatch).
void RemoveRun(RunStats& stats, const RunContribution& run);
// Adds `from` into `into` (a workflow's statistics from its versions').
void MergeRunStats(RunStats& into, const RunStats& from);

// How the run statistics read model stores them.
std::string EncodeRunStats(const RunStats& stats);
StatusOr<RunStats> DecodeRunStats(std::string_view text);

// The part of a run that ContributionOf reads, as stored beside the statistics, and
// back (into a RunState with just those fields).
std::string EncodeRunStatsEntry(const RunState& run);
StatusOr<RunState> DecodeRunStatsEntry(std::string_view text);

}  // namespace ledgerflow::core
