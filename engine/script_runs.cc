#include "engine/script_runs.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

extern char** environ;

namespace ledgerflow::engine {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Reads what `fd` has now into `out` (up to the cap, the rest dropped); false at EOF.
bool Drain(int fd, std::string& out) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = ScriptRuns::kMaxOutputBytes - std::min(ScriptRuns::kMaxOutputBytes, out.size());
      out.append(buf, std::min(static_cast<size_t>(n), room));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EINTR;
  }
}

}  // namespace

ScriptRuns::~ScriptRuns() {
  for (auto& [id, s] : scripts_) {
    if (!s.exited) ::kill(-s.pid, SIGKILL);
    ::waitpid(s.pid, nullptr, 0);
    Close(s);
  }
}

void ScriptRuns::Close(Script& s) {
  for (int* fd : {&s.out, &s.err, &s.pidfd}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

uint64_t ScriptRuns::Start(const std::string& command, const std::vector<std::string>& env,
                           int64_t deadline_ms, std::function<void(ScriptOutcome)> done) {
  const uint64_t id = next_id_++;
  Script s;
  s.deadline_ms = deadline_ms;
  s.done = std::move(done);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0) {
    s.outcome.start_error = std::string("pipe: ") + std::strerror(errno);
    s.exited = true;
    scripts_.emplace(id, std::move(s));
    return id;
  }
  if (::pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    s.outcome.start_error = std::string("pipe: ") + std::strerror(errno);
    s.exited = true;
    scripts_.emplace(id, std::move(s));
    return id;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills what it started
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);  // the server blocks SIGTERM/SIGINT
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const std::string& e : env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string cmd = command;
  char sh[] = "/bin/sh", dash_c[] = "-c";
  char* argv[] = {sh, dash_c, cmd.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  s.out = out[0];
  s.err = err[0];
  if (rc != 0) {
    s.outcome.start_error = std::string("cannot start /bin/sh: ") + std::strerror(rc);
    s.exited = true;
    Close(s);
  } else {
    s.pid = pid;
    s.pidfd = PidfdOpen(pid);
  }
  scripts_.emplace(id, std::move(s));
  return id;
}

void ScriptRuns::Cancel(uint64_t id) {
  auto it = scripts_.find(id);
  if (it == scripts_.end()) return;
  Script& s = it->second;
  if (!s.exited && s.pid > 0) {
    ::kill(-s.pid, SIGKILL);
    ::waitpid(s.pid, nullptr, 0);
  }
  Close(s);
  scripts_.erase(it);
}

std::vector<int> ScriptRuns::fds() const {
  std::vector<int> out;
  for (const auto& [id, s] : scripts_) {
    for (int fd : {s.out, s.err, s.pidfd}) {
      if (fd >= 0) out.push_back(fd);
    }
  }
  return out;
}

int64_t ScriptRuns::next_deadline() const {
  int64_t next = INT64_MAX;
  for (const auto& [id, s] : scripts_) {
    if (!s.killed && !s.exited) next = std::min(next, s.deadline_ms);
  }
  return next;
}

void ScriptRuns::Collect(int64_t now_ms) {
  std::vector<uint64_t> finished;
  for (auto& [id, s] : scripts_) {
    if (s.out >= 0 && !Drain(s.out, s.outcome.stdout_text)) {
      ::close(s.out);
      s.out = -1;
    }
    if (s.err >= 0 && !Drain(s.err, s.outcome.stderr_text)) {
      ::close(s.err);
      s.err = -1;
    }
    if (!s.exited && !s.killed && now_ms >= s.deadline_ms) {
      ::kill(-s.pid, SIGKILL);
      s.killed = true;
      s.outcome.timed_out = true;
    }
    if (!s.exited && s.pid > 0) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(s.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == s.pid) {
        // What it started may still hold the pipes: the group goes with it, while the
        // unreaped leader still keeps the group's id from being reused.
        ::kill(-s.pid, SIGKILL);
        int status = 0;
        ::waitpid(s.pid, &status, 0);
        s.exited = true;
        s.outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (s.pidfd >= 0) ::close(s.pidfd);
        s.pidfd = -1;
      }
    }
    // Done once it exited and both pipes reached EOF (or it was killed: then the
    // group is gone too and the pipes end).
    if (s.exited && s.out < 0 && s.err < 0) finished.push_back(id);
  }
  for (uint64_t id : finished) {
    auto it = scripts_.find(id);
    ScriptOutcome outcome = std::move(it->second.outcome);
    auto done = std::move(it->second.done);
    Close(it->second);
    scripts_.erase(it);
    done(std::move(outcome));
  }
}

}  // namespace ledgerflow::engine
