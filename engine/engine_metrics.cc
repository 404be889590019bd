#include "engine/engine_metrics.h"

#include "core/definition.h"

namespace ledgerflow::engine {
namespace {

// Request latencies, then the minutes and hours waits and retries take.
std::vector<double> StepBuckets() {
  std::vector<double> bounds = metrics::LatencyBuckets();
  for (double b : {30.0, 60.0, 300.0, 1800.0, 3600.0, 86400.0}) bounds.push_back(b);
  return bounds;
}

}  // namespace

EngineMetrics& EngineMetrics::Get() {
  metrics::Registry& r = metrics::Default();
  static EngineMetrics m{
      r.AddCounter("ledgerflow_runs_dispatched_total", "Runs the engine received as dispatched")
          .With(),
      r.AddCounter("ledgerflow_runs_started_total", "Runs the engine started").With(),
      r.AddCounter("ledgerflow_runs_finished_total", "Runs finished, by final status"),
      r.AddCounter("ledgerflow_step_attempts_total",
                   "Step attempts that ended, by step type and outcome (completed, retrying, "
                   "failed)"),
      r.AddHistogram("ledgerflow_step_duration_seconds",
                     "From a step's first start to its completion, by step type",
                     StepBuckets()),
      r.AddGauge("ledgerflow_runs_pending", "Runs waiting for a slot of their workflow").With(),
      r.AddGauge("ledgerflow_runs_running", "Runs executing").With(),
      r.AddGauge("ledgerflow_engine_timers_armed", "Timers armed (waits and retry backoffs)")
          .With(),
      r.AddGauge("ledgerflow_engine_http_steps_in_flight", "HTTP step requests in flight")
          .With(),
      r.AddGauge("ledgerflow_engine_lag_events",
                 "Events in the log the engine has not looked at yet")
          .With(),
  };
  return m;
}

std::string_view StepTypeLabel(std::string_view type) {
  return core::IsBuiltinStepType(type) ? type : std::string_view("external");
}

}  // namespace ledgerflow::engine
