#include "api/tail_writer.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <thread>
#include <vector>

namespace ledgerflow::api {

struct TailWriter::Impl {
  struct Write {
    int fd;
    std::string bytes;
    size_t offset = 0;
    std::chrono::steady_clock::time_point deadline;
    bool shutdown_after;
    std::function<void(bool)> done;
  };
  std::mutex mu;
  std::vector<Write> incoming;  // guarded by mu
  int wake = -1;                // eventfd
};

TailWriter& TailWriter::Instance() {
  static TailWriter* writer = new TailWriter();
  return *writer;
}

TailWriter::TailWriter() : impl_(new Impl) {
  impl_->wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::thread([this] { Run(); }).detach();
}

void TailWriter::Add(int fd, std::string bytes, std::chrono::steady_clock::time_point deadline,
                     bool shutdown_after, std::function<void(bool)> done) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->incoming.push_back(
        Impl::Write{fd, std::move(bytes), 0, deadline, shutdown_after, std::move(done)});
  }
  const uint64_t one = 1;
  (void)!::write(impl_->wake, &one, sizeof(one));
}

void TailWriter::Run() {
  std::vector<Impl::Write> writes;
  std::vector<pollfd> fds;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      for (auto& w : impl_->incoming) writes.push_back(std::move(w));
      impl_->incoming.clear();
    }
    const auto now = std::chrono::steady_clock::now();
    // Write what each socket takes; finish those done, failed or late.
    for (size_t i = 0; i < writes.size();) {
      Impl::Write& w = writes[i];
      bool failed = false;
      while (w.offset < w.bytes.size()) {
        ssize_t n = ::send(w.fd, w.bytes.data() + w.offset, w.bytes.size() - w.offset,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          w.offset += static_cast<size_t>(n);
        } else if (n < 0 && errno == EINTR) {
          continue;
        } else {
          failed = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
          break;
        }
      }
      const bool complete = w.offset == w.bytes.size();
      if (complete || failed || now >= w.deadline) {
        if (w.shutdown_after || !complete) ::shutdown(w.fd, SHUT_RDWR);
        ::close(w.fd);
        auto done = std::move(w.done);
        writes[i] = std::move(writes.back());
        writes.pop_back();
        if (done) done(complete);
        continue;
      }
      ++i;
    }
    fds.clear();
    fds.push_back(pollfd{impl_->wake, POLLIN, 0});
    int timeout_ms = -1;
    for (const auto& w : writes) {
      fds.push_back(pollfd{w.fd, POLLOUT, 0});
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(w.deadline - now).count() + 1;
      if (timeout_ms < 0 || left < timeout_ms) timeout_ms = static_cast<int>(left);
    }
    ::poll(fds.data(), fds.size(), timeout_ms);
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      (void)!::read(impl_->wake, &count, sizeof(count));
    }
  }
}

}  // namespace ledgerflow::api
