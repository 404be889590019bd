// Script steps as child processes, watched from the engine's loop without a thread each:
// /bin/sh -c <command> in a process group of its own, stdout and stderr read through
// non-blocking pipes (each kept up to kMaxOutputBytes), the exit seen through a pidfd.
// At its deadline the whole group is killed. Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ledgerflow::engine {

struct ScriptOutcome {
  std::string start_error;  // the process could not start
  bool timed_out = false;
  int exit_code = -1;       // 128 + signal when killed by one
  std::string stdout_text;
  std::string stderr_text;
};

class ScriptRuns {
 public:
  static constexpr size_t kMaxOutputBytes = size_t{1} << 20;

  ScriptRuns() = default;
  ~ScriptRuns();
  ScriptRuns(const ScriptRuns&) = delete;
  ScriptRuns& operator=(const ScriptRuns&) = delete;

  // Starts `command` with `env` added to the server's environment; `done` runs from a
  // later Collect. Returns its id.
  uint64_t Start(const std::string& command, const std::vector<std::string>& env,
                 int64_t deadline_ms, std::function<void(ScriptOutcome)> done);
  // Kills a script (its process group); its `done` never runs.
  void Cancel(uint64_t id);
  // The fds to wait on (pipes and pidfds).
  std::vector<int> fds() const;
  // Reads what the scripts wrote, kills those past their deadline, reaps those that
  // ended and runs their `done`.
  void Collect(int64_t now_ms);
  // The earliest deadline of a running script (INT64_MAX when none).
  int64_t next_deadline() const;
  size_t running() const { return scripts_.size(); }

 private:
  struct Script {
    pid_t pid = -1;
    int out = -1, err = -1, pidfd = -1;
    int64_t deadline_ms = 0;
    bool killed = false;
    bool exited = false;
    ScriptOutcome outcome;
    std::function<void(ScriptOutcome)> done;
  };
  static void Close(Script& s);

  uint64_t next_id_ = 1;
  std::map<uint64_t, Script> scripts_;
};

}  // namespace ledgerflow::engine
