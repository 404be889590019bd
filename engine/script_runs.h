// Script steps as child processes, watched from the engine's loop without a thread each:
// /bin/sh -c <command> in a process group of its own, stdout and stderr read through
// non-blocking pipes (each kept up to kMaxOutputBytes), the exit seen through a pidfd.
// At its deadline the whole group is killed. Loop thread only.
//
// Across a crash: a script outlives a server killed with SIGKILL (nothing of ours runs
// to kill its group), and its step is retried after the restart. So each script
// carries a token in its environment (LEDGERFLOW_SCRIPT_TOKEN, inherited by what it
// starts) and has a file named by that token in the state directory while it runs;
// the next start of the engine kills every process whose environment holds the token
// of a file left there (KillOrphans) before any step is retried. No fsync: the files
// only have to outlive the process (the page cache does); a power cut ends the
// scripts too. A script that clears its environment, or starts a process that does,
// escapes this.
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

  static constexpr char kTokenVariable[] = "LEDGERFLOW_SCRIPT_TOKEN";

  // `state_dir` empty: scripts are not tracked across a crash.
  explicit ScriptRuns(std::string state_dir = "");
  ~ScriptRuns();
  ScriptRuns(const ScriptRuns&) = delete;
  ScriptRuns& operator=(const ScriptRuns&) = delete;

  // Starts `command` with `env` added to the server's environment; `done` runs from a
  // later Collect. Returns its id.
  uint64_t Start(const std::string& command, const std::vector<std::string>& env,
                 int64_t deadline_ms, std::function<void(ScriptOutcome)> done);
  // Kills a script (its process group); its `done` never runs.
  void Cancel(uint64_t id);
  // Kills the processes of the scripts that an earlier process left running (their
  // files in the state directory), then forgets them. Returns how many processes it
  // killed. Call before any Start.
  size_t KillOrphans();
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
    std::string token;  // its file in the state directory, when tracked
    pid_t pid = -1;
    int out = -1, err = -1, pidfd = -1;
    int64_t deadline_ms = 0;
    bool killed = false;
    bool exited = false;
    ScriptOutcome outcome;
    std::function<void(ScriptOutcome)> done;
  };
  // Closes its fds and removes its file.
  void Close(Script& s);

  const std::string state_dir_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Script> scripts_;
};

}  // namespace ledgerflow::engine
