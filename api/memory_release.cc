#include "api/memory_release.h"

#include <malloc.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

// tcmalloc's, when the binary links it (the server does; tests and sanitizer builds
// use glibc's malloc, where malloc_trim does the same).
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

namespace ledgerflow::api {
namespace {

constexpr size_t kLargeBody = 256 * 1024;
// Releases are coalesced: one, this long after the first large free of a burst.
constexpr auto kCoalesce = std::chrono::milliseconds(100);

// One thread that sleeps until there is something to release.
class Releaser {
 public:
  Releaser() : thread_([this] { Run(); }) { thread_.detach(); }

  void Request() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (requested_) return;
      requested_ = true;
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return requested_; });
      lock.unlock();
      std::this_thread::sleep_for(kCoalesce);
      lock.lock();
      requested_ = false;
      lock.unlock();
      if (MallocExtension_ReleaseFreeMemory != nullptr) {
        MallocExtension_ReleaseFreeMemory();
      } else {
        malloc_trim(0);
      }
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;
  std::thread thread_;
};

}  // namespace

void ReleaseFreedMemory(size_t bytes) {
  if (bytes < kLargeBody) return;
  // Never destroyed: the thread may run until the process exits.
  static Releaser* releaser = new Releaser();
  releaser->Request();
}

}  // namespace ledgerflow::api
