// The engine's series in the process registry (/metrics). Labels are bounded: step types
// are the built-in names or "external", never workflow or run ids. Thread-safe.
#pragma once

#include <string_view>

#include "metrics/registry.h"

namespace ledgerflow::engine {

struct EngineMetrics {
  metrics::Counter& runs_dispatched;
  metrics::Counter& runs_started;
  metrics::Family<metrics::Counter>& runs_finished;   // {status}
  metrics::Family<metrics::Counter>& step_attempts;   // {type, outcome}
  metrics::Family<metrics::Histogram>& step_seconds;  // {type}
  metrics::Gauge& runs_pending;
  metrics::Gauge& runs_running;
  metrics::Gauge& timers_armed;
  metrics::Gauge& http_in_flight;
  metrics::Gauge& lag_events;

  static EngineMetrics& Get();
};

// A step type as a label: the built-in type names, else "external".
std::string_view StepTypeLabel(std::string_view type);

}  // namespace ledgerflow::engine
