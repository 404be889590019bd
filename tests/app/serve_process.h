// `ledgerflow serve` as a child process for the CLI tests; reads its banner for the
// URL and the one-time key. Not thread-safe.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ledgerflow::testing {

// `ledgerflow serve` as a child process; reads its banner for the URL and key.
class ServeProcess {
 public:
  // `extra` flags follow --data-dir and --port 0; `max_descriptors` > 0 sets the
  // child's RLIMIT_NOFILE (soft and hard); a `stderr_path` receives the child's log.
  explicit ServeProcess(const std::string& data_dir, std::vector<std::string> extra = {},
                        rlim_t max_descriptors = 0, const std::string& stderr_path = "") {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      if (!stderr_path.empty()) {
        FILE* log = std::fopen(stderr_path.c_str(), "w");
        if (log) dup2(fileno(log), STDERR_FILENO);
      }
      if (max_descriptors > 0) {
        rlimit limit{max_descriptors, max_descriptors};
        setrlimit(RLIMIT_NOFILE, &limit);
      }
      std::vector<std::string> args = {LEDGERFLOW_BINARY, "serve", "--data-dir", data_dir,
                                        "--port", "0"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(LEDGERFLOW_BINARY, argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[1024];
    std::regex url_re(R"((http://127\.0\.0\.1:\d+))");
    std::regex key_re(R"((lf_key_[0-9a-f]+_[0-9a-f]+))");
    // The banner ends with the "listening" line; the key (first start only) precedes it.
    while (fgets(line, sizeof(line), out_) != nullptr) {
      std::string s(line);
      std::smatch m;
      if (std::regex_search(s, m, key_re) && key_.empty()) key_ = m[1];
      if (s.find("listening on") != std::string::npos) {
        if (std::regex_search(s, m, url_re)) url_ = m[1];
        break;
      }
    }
  }

  ~ServeProcess() { Stop(); }

  // SIGKILL: no shutdown code runs, as in a crash or power cut after the answers.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    if (out_) fclose(out_);
    out_ = nullptr;
  }

  int Stop() {
    if (pid_ <= 0) return 0;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (out_) fclose(out_);
    out_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }
  uint16_t port() const {
    auto colon = url_.rfind(':');
    return colon == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(url_.substr(colon + 1)));
  }
  // Sends SIGTERM and waits up to `timeout_ms` for the exit; the exit code, or -1
  // (the process is then killed).
  int TerminateWithin(int timeout_ms) {
    if (pid_ <= 0) return 0;
    Signal(SIGTERM);
    const int code = WaitExit(timeout_ms);
    if (code == kStillRunning) {
      Kill();
      return -1;
    }
    return code;
  }

  // Sends `sig`; does not wait.
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  static constexpr int kStillRunning = -2;
  // Waits up to `timeout_ms` for the exit: its code, -1 when a signal ended it, or
  // kStillRunning. Once it has exited, what it printed after its banner goes to
  // `output`.
  int WaitExit(int timeout_ms, std::string* output = nullptr) {
    if (pid_ <= 0) return 0;
    int status = 0;
    for (int waited = 0;; waited += 10) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (waited >= timeout_ms) return kStillRunning;
      usleep(10'000);
    }
    pid_ = -1;
    if (out_) {
      char buffer[4096];
      size_t n;
      while ((n = fread(buffer, 1, sizeof(buffer), out_)) > 0) {
        if (output) output->append(buffer, n);
      }
      fclose(out_);
    }
    out_ = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& key() const { return key_; }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::string url_;
  std::string key_;
};

}  // namespace ledgerflow::testing
