// One client connection: feeds the bytes Pistache's reactor reads into the request
// framing, hands each whole request to the dispatcher, and writes its answer. One
// request is answered at a time, so pipelined requests are answered in order; bytes
// that arrive meanwhile wait in a bounded buffer. After an answer that closes the
// connection it sends FIN, reads and drops a little more of what the client still
// sends (so that the client sees the answer, not a reset), then closes.
//
// Timeouts are ours (Tick, from the server's ConnectionSweeper), not Pistache's, so
// that every close goes through the reactor's end-of-stream path and OnDisconnected.
//
// Threads: OnInput and OnDisconnected run on the connection's reactor thread; Tick
// on the sweeper's;
// Answer, Detach and SendInterim may be called from any thread (answers of commands
// come from the event store's writer). The socket is written directly while the
// connection is open (under the connection's mutex, which the reactor also takes
// before Pistache closes the socket, so a write never reaches a reused descriptor).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "api/http_request.h"
#include "api/request_framing.h"

namespace Pistache::Tcp {
class Peer;
class Transport;
}  // namespace Pistache::Tcp

namespace ledgerflow::api {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Callbacks {
    // A whole request; answer it once through Connection::Answer (or Detach).
    std::function<void(const std::shared_ptr<Connection>&, HttpRequest)> dispatch;
    // The framing refused a request: answer it (the connection then closes).
    std::function<void(const std::shared_ptr<Connection>&, const FramingRefusal&,
                       Pistache::Http::Version)>
        refuse;
  };

  // Called on the reactor thread of `transport`. `open_connections` counts live
  // connections (decremented when this object dies).
  Connection(const std::shared_ptr<Pistache::Tcp::Peer>& peer,
             Pistache::Tcp::Transport* transport, FramingLimits limits,
             std::shared_ptr<const Callbacks> callbacks,
             std::shared_ptr<std::atomic<size_t>> open_connections);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reactor thread.
  void OnInput(std::string_view bytes);
  void OnDisconnected();
  // Applies the request timeout (a request not whole in time gets 408, then the
  // connection closes) and the keep-alive timeout (an idle connection is closed).
  // Called about once a second, from any thread; streams are exempt.
  void Tick(std::chrono::steady_clock::time_point now, std::chrono::milliseconds request_timeout,
            std::chrono::milliseconds keepalive_timeout);
  // Writes `bytes` and closes at once (no request was read: too many connections).
  void RejectAndClose(std::string_view bytes);

  // Any thread, once per dispatched request: writes the answer; `keep_alive` false
  // closes the connection after it.
  void Answer(std::string bytes, bool keep_alive);
  // Any thread: the socket for a raw stream (a dup the caller owns), or -1 when the
  // client is gone. Nothing more is read or written by this connection.
  int Detach();

  // Largest number of bytes held while a request is being answered.
  static constexpr size_t kPipelineSlack = 64 * 1024;
  // Pipelined requests answered at once are taken this many per reactor turn.
  static constexpr int kRequestsPerTurn = 16;

 private:
  // Parses `data`; `from_pending`: it is the unparsed part of pending_.
  void Process(std::string_view data, bool from_pending);
  void ProcessPending();
  void ClearPending();
  void AnswerWritten(bool keep_alive);
  void Resume();
  void StartClosingLocked();
  void AbortLocked();
  void PostToReactor(std::function<void()> fn);
  bool OnReactor() const { return std::this_thread::get_id() == reactor_; }
  // Writes what the socket takes now; returns the bytes written, or -1 on error.
  ssize_t WriteSomeLocked(std::string_view bytes);

  const std::weak_ptr<Pistache::Tcp::Peer> peer_;
  const int fd_;
  Pistache::Tcp::Transport* const transport_;
  const std::thread::id reactor_;
  const std::shared_ptr<const Callbacks> callbacks_;
  const std::shared_ptr<std::atomic<size_t>> open_connections_;
  const size_t max_buffered_;

  // Reactor thread only.
  RequestFraming framing_;
  std::string pending_;          // bytes read, not yet parsed, from pending_pos_ on
  size_t pending_pos_ = 0;
  bool dispatching_ = false;     // inside callbacks_->dispatch
  bool resume_requested_ = false;
  bool was_mid_request_ = false;

  std::mutex mu_;  // guards what follows
  bool awaiting_answer_ = false;
  bool has_pending_ = false;
  bool closing_ = false;   // FIN sent; the rest of the input is dropped
  bool closed_ = false;    // Pistache has closed (or is closing) the socket
  bool detached_ = false;  // a raw stream owns the connection
  int orphan_fd_ = -1;     // the client half-closed before its answer: a dup to answer on
  size_t drain_budget_ = 0;  // bytes still read and dropped while closing
  size_t detached_input_ = 0;  // bytes a stream's client sent after the request
  bool seen_request_ = false;
  bool mid_request_ = false;  // a request has begun and is not whole yet
  std::chrono::steady_clock::time_point request_started_;
  std::chrono::steady_clock::time_point last_active_;  // the last answer, or the connect
  std::chrono::steady_clock::time_point closing_since_;
};

}  // namespace ledgerflow::api
