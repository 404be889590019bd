// Run statistics: runs counted once in their current status, the duration histogram's
// accuracy, and the stored form.
#include "core/run_stats.h"

#include <cmath>

#include <gtest/gtest.h>

namespace ledgerflow::core {
namespace {

RunContribution Contribution(RunStatus status, int64_t dispatched_at_ms = 1000,
                             std::optional<int64_t> duration_ms = std::nullopt) {
  return {"wf_1", 1, status, dispatched_at_ms, duration_ms};
}

// Moves `run` to `status` the way the read model does: out of the old, into the new.
void Move(RunStats& stats, RunContribution& run, RunStatus status,
          std::optional<int64_t> duration_ms = std::nullopt) {
  RemoveRun(stats, run);
  run.status = status;
  run.duration_ms = duration_ms;
  AddRun(stats, run);
}

TEST(RunStatsTest, ARunIsCountedOnceInItsCurrentStatus) {
  RunStats stats;
  RunContribution a = Contribution(RunStatus::kPending, 1000);
  RunContribution b = Contribution(RunStatus::kPending, 3000);
  AddRun(stats, a);
  AddRun(stats, b);
  Move(stats, a, RunStatus::kRunning);
  Move(stats, a, RunStatus::kCompleted, 250);
  Move(stats, b, RunStatus::kRunning);
  EXPECT_EQ(stats.total(), 2);
  EXPECT_EQ(stats.count(RunStatus::kPending), 0);
  EXPECT_EQ(stats.count(RunStatus::kRunning), 1);
  EXPECT_EQ(stats.count(RunStatus::kCompleted), 1);
  EXPECT_EQ(stats.last_run_at_ms, 3000);
  EXPECT_EQ(stats.timed_runs, 1);
  EXPECT_EQ(stats.success_rate(), 1.0);
  EXPECT_DOUBLE_EQ(*stats.mean_duration_seconds(), 0.25);
}

TEST(RunStatsTest, SuccessRateIsOverTerminalRunsAndNullWithoutThem) {
  RunStats stats;
  AddRun(stats, Contribution(RunStatus::kRunning));
  EXPECT_EQ(stats.success_rate(), std::nullopt);
  EXPECT_EQ(stats.mean_duration_seconds(), std::nullopt);
  EXPECT_EQ(stats.p95_duration_seconds(), std::nullopt);
  AddRun(stats, Contribution(RunStatus::kCompleted, 1000, 10));
  AddRun(stats, Contribution(RunStatus::kCompleted, 1000, 30));
  AddRun(stats, Contribution(RunStatus::kFailed));
  AddRun(stats, Contribution(RunStatus::kCancelled));
  EXPECT_DOUBLE_EQ(*stats.success_rate(), 0.5);
  EXPECT_DOUBLE_EQ(*stats.mean_duration_seconds(), 0.02);
}

TEST(RunStatsTest, RemovingEveryRunLeavesNoCountsNorBuckets) {
  RunStats stats;
  RunContribution a = Contribution(RunStatus::kCompleted, 1000, 1234);
  AddRun(stats, a);
  RemoveRun(stats, a);
  EXPECT_EQ(stats.total(), 0);
  EXPECT_EQ(stats.timed_runs, 0);
  EXPECT_EQ(stats.duration_sum_ms, 0);
  EXPECT_TRUE(stats.durations.empty());
}

TEST(RunStatsTest, BucketsAreExactUpTo40MsAndWithin2Point5PercentUpToADay) {
  for (int64_t ms = 1; ms < 40; ++ms) EXPECT_EQ(DurationBucketValue(DurationBucket(ms)), ms);
  for (double ms = 40; ms < 86'400'000; ms *= 1.013) {
    auto d = static_cast<int64_t>(ms);
    double value = DurationBucketValue(DurationBucket(d));
    EXPECT_LE(std::abs(value - static_cast<double>(d)), 0.025 * static_cast<double>(d)) << d;
  }
  EXPECT_EQ(DurationBucket(0), 0);
  EXPECT_EQ(DurationBucketValue(0), 0);
  // A day or more is one bucket, shown as (about) a day.
  EXPECT_EQ(DurationBucket(90'000'000), DurationBucket(900'000'000));
  EXPECT_NEAR(DurationBucketValue(DurationBucket(90'000'000)), 86'400'000, 0.01 * 86'400'000);
}

TEST(RunStatsTest, P95IsTheNearestRankReadFromTheHistogram) {
  RunStats stats;
  // 1..100 s: the 95th of 100 is 95 s.
  for (int64_t s = 1; s <= 100; ++s) AddRun(stats, Contribution(RunStatus::kCompleted, 1000, s * 1000));
  EXPECT_NEAR(*stats.p95_duration_seconds(), 95.0, 95.0 * 0.025);
  EXPECT_DOUBLE_EQ(*stats.mean_duration_seconds(), 50.5);

  RunStats one;
  AddRun(one, Contribution(RunStatus::kCompleted, 1000, 7));
  EXPECT_DOUBLE_EQ(*one.p95_duration_seconds(), 0.007);

  // 19 fast runs and one slow: the 95th of 20 is the 19th, a fast one.
  RunStats skewed;
  for (int i = 0; i < 19; ++i) AddRun(skewed, Contribution(RunStatus::kCompleted, 1000, 5));
  AddRun(skewed, Contribution(RunStatus::kCompleted, 1000, 60'000));
  EXPECT_DOUBLE_EQ(*skewed.p95_duration_seconds(), 0.005);
  AddRun(skewed, Contribution(RunStatus::kCompleted, 1000, 60'000));
  EXPECT_NEAR(*skewed.p95_duration_seconds(), 60.0, 60.0 * 0.025);
}

TEST(RunStatsTest, MergeAddsVersionsUp) {
  RunStats v1, v2;
  AddRun(v1, Contribution(RunStatus::kCompleted, 1000, 100));
  AddRun(v2, Contribution(RunStatus::kFailed, 5000));
  AddRun(v2, Contribution(RunStatus::kCompleted, 4000, 300));
  RunStats all;
  MergeRunStats(all, v1);
  MergeRunStats(all, v2);
  EXPECT_EQ(all.total(), 3);
  EXPECT_EQ(all.count(RunStatus::kCompleted), 2);
  EXPECT_EQ(all.last_run_at_ms, 5000);
  EXPECT_DOUBLE_EQ(*all.mean_duration_seconds(), 0.2);
  EXPECT_EQ(all.durations.size(), 2u);
}

TEST(RunStatsTest, StatsAndEntriesRoundTripThroughTheirStoredForm) {
  RunStats stats;
  AddRun(stats, Contribution(RunStatus::kCompleted, 1000, 100));
  AddRun(stats, Contribution(RunStatus::kCompleted, 2000, 86'400'001));
  AddRun(stats, Contribution(RunStatus::kPending, 3000));
  auto decoded = DecodeRunStats(EncodeRunStats(stats));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, stats);
  EXPECT_FALSE(DecodeRunStats("[]").ok());

  RunState run;
  run.workflow_id = "wf_1";
  run.workflow_version = 3;
  run.status = RunStatus::kCompleted;
  run.created_at_ms = 10;
  run.started_at_ms = 20;
  run.completed_at_ms = 70;
  auto entry = DecodeRunStatsEntry(EncodeRunStatsEntry(run));
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  EXPECT_EQ(ContributionOf(*entry), ContributionOf(run));
  EXPECT_EQ(ContributionOf(run)->duration_ms, 50);
}

TEST(RunStatsTest, ARunWithoutItsDispatchCountsForNothing) {
  RunState run;
  run.status = RunStatus::kCompleted;
  EXPECT_EQ(ContributionOf(run), std::nullopt);
}

}  // namespace
}  // namespace ledgerflow::core
