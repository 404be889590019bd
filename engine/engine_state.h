// What the engine's two source files share: the state of one active run, the inbox
// the store's threads fill, and small helpers. Internal to engine/.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"

namespace ledgerflow::engine {

using core::RunState;
using core::RunStatus;
using core::StepRun;
using core::StepStatus;

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::string WorkflowKey(const RunState& s) { return s.org + "/" + s.workflow_id; }

inline constexpr int64_t kDefaultScriptTimeoutMs = 60'000;

inline constexpr const char* kInterrupted =
    "the server stopped while this attempt was in flight";

struct Engine::Inbox {
  std::mutex mu;
  std::deque<events::Event> committed;
  std::deque<std::pair<std::string, StatusOr<events::AppendResult>>> appended;
  HttpCalls* waker = nullptr;  // null once the engine stopped
  events::Position seen = 0;   // the last position of the groups observed

  void Wake() {
    if (waker != nullptr) waker->Wakeup();
  }
};

struct Engine::ActiveRun {
  RunState state;               // the log's events, then this engine's unconfirmed ones
  uint64_t committed_version = 0;
  events::Position last_position = 0;  // the newest event of the run known committed
  std::shared_ptr<const core::RunPlan> plan;
  bool appending = false;
  bool dirty = false;
  bool holds_slot = false;
  // HTTP steps (or loop items) recorded as started in the append in flight: launched
  // once it commits.
  struct Launch {
    std::string step_id;
    int index = -1;
    HttpCall call;
    std::shared_ptr<const json::Document> config;  // rendered: expect_status
  };
  std::vector<Launch> to_launch;
  struct ScriptLaunch {
    std::string step_id;
    std::string command;
    int64_t timeout_ms = 0;
  };
  std::vector<ScriptLaunch> scripts_to_launch;
  std::map<std::string, uint64_t> scripts;  // step id -> script running
  std::map<std::string, uint64_t> calls;  // step id -> HTTP call in flight
  std::vector<StepResult> results;        // finished attempts not yet recorded
  std::vector<core::PendingEvent> pending;  // decided in this Advance
  // Counted once the append in flight commits (a refused append counts nothing).
  std::vector<std::function<void()>> on_commit;
  int64_t not_before_ms = 0;                // after a failed append: back off
  bool reload_after_append = false;         // another writer's event came meanwhile
};

}  // namespace ledgerflow::engine
