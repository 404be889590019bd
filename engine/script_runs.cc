#include "engine/script_runs.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "service/crypto.h"

extern char** environ;

namespace ledgerflow::engine {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int PidfdKill(int pidfd) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0));
}

// Whether a process's environment holds one of `tokens` (false when unreadable:
// another user's process, a zombie, one gone meanwhile). Every occurrence counts.
bool HoldsToken(const std::filesystem::path& proc_entry, const std::set<std::string>& tokens) {
  std::ifstream in(proc_entry / "environ", std::ios::binary);
  if (!in) return false;
  const std::string environ_text((std::istreambuf_iterator<char>(in)),
                                 std::istreambuf_iterator<char>());
  const std::string prefix = std::string(ScriptRuns::kTokenVariable) + "=";
  size_t start = 0;
  while (start < environ_text.size()) {
    size_t end = environ_text.find('\0', start);
    if (end == std::string::npos) end = environ_text.size();
    if (environ_text.compare(start, prefix.size(), prefix) == 0 &&
        tokens.count(environ_text.substr(start + prefix.size(), end - start - prefix.size()))) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

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

ScriptRuns::ScriptRuns(std::string state_dir) : state_dir_(std::move(state_dir)) {}

size_t ScriptRuns::KillOrphans() {
  namespace fs = std::filesystem;
  if (state_dir_.empty()) return 0;
  std::error_code ec;
  std::set<std::string> tokens;
  for (const auto& entry : fs::directory_iterator(state_dir_, ec)) {
    tokens.insert(entry.path().filename().string());
  }
  // Killed processes by pid, each with its pidfd (which also says when it is gone).
  std::map<pid_t, int> killed;
  // Again while a pass finds new ones: a process may fork while its group is killed.
  for (int pass = 0; pass < 10 && !tokens.empty(); ++pass) {
    size_t found = 0;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(name));
      if (pid == ::getpid() || killed.count(pid)) continue;
      // The pidfd first, the environment then: a pid reused in between is not killed.
      const int pidfd = PidfdOpen(pid);
      if (pidfd < 0) continue;
      if (HoldsToken(entry.path(), tokens) && PidfdKill(pidfd) == 0) {
        killed.emplace(pid, pidfd);
        ++found;
      } else {
        ::close(pidfd);
      }
    }
    if (found == 0) break;
  }
  // Gone before any step is retried (a pidfd reads as ready once its process exits);
  // a process stuck in the kernel is waited for a few seconds at most.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (auto& [pid, pidfd] : killed) {
    pollfd p{pidfd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    ::close(pidfd);
  }
  for (const std::string& token : tokens) fs::remove(fs::path(state_dir_) / token, ec);
  return killed.size();
}

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
  if (!s.token.empty()) {
    std::error_code ec;
    std::filesystem::remove(std::filesystem::path(state_dir_) / s.token, ec);
    s.token.clear();
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
  const std::string token_prefix = std::string(kTokenVariable) + "=";
  for (char** e = environ; *e != nullptr; ++e) {
    // A server started from a script does not hand that script's token on.
    if (std::string_view(*e).starts_with(token_prefix)) continue;
    env_strings.emplace_back(*e);
  }
  for (const std::string& e : env) env_strings.push_back(e);
  if (!state_dir_.empty()) {
    // The file exists before the process does: a crash in between leaves a file that
    // names no process, never a process no file names.
    s.token = service::RandomHex(12);
    const std::string file = state_dir_ + "/" + s.token;
    std::error_code ec;
    std::filesystem::create_directories(state_dir_, ec);
    const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
      s.outcome.start_error = "cannot track the script in " + state_dir_ + ": " + std::strerror(errno);
      s.token.clear();
      s.exited = true;
      ::close(out[0]);
      ::close(out[1]);
      ::close(err[0]);
      ::close(err[1]);
      posix_spawn_file_actions_destroy(&actions);
      posix_spawnattr_destroy(&attr);
      scripts_.emplace(id, std::move(s));
      return id;
    }
    const std::string line = command.substr(0, command.find('\n')) + "\n";
    (void)!::write(fd, line.data(), line.size());  // for whoever looks in the directory
    ::close(fd);
    env_strings.push_back(std::string(kTokenVariable) + "=" + s.token);
  }
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
