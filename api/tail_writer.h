// Finishes writes that a socket could not take at once: the rest of a large answer,
// or an answer to a client that half-closed. One thread polls every pending write;
// each owns a dup of its socket (so a closed and reused descriptor number is never
// written), has a deadline, and calls back once it is all written or has failed.
// Thread-safe; one per process.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace ledgerflow::api {

class TailWriter {
 public:
  static TailWriter& Instance();

  // Takes `fd` (closed when done; `shutdown_after`: shut down first) and writes
  // `bytes` to it, giving up at `deadline`. `done(true)` once all is written,
  // `done(false)` on an error or at the deadline; called on the writer's thread.
  void Add(int fd, std::string bytes, std::chrono::steady_clock::time_point deadline,
           bool shutdown_after, std::function<void(bool)> done);

  TailWriter(const TailWriter&) = delete;
  TailWriter& operator=(const TailWriter&) = delete;

 private:
  TailWriter();
  void Run();

  struct Impl;
  Impl* impl_;  // never destroyed: the thread may run until the process exits
};

}  // namespace ledgerflow::api
