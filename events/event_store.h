// The append-only event log. One embedded implementation (RocksDB); the interface
// does not assume the log is local. All methods are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "events/event.h"

namespace ledgerflow::events {

// Called with the outcome of an asynchronous append, on the store's writer thread,
// after the events are durable and after the commit listener has run.
using AppendCallback = std::function<void(StatusOr<AppendResult>)>;

// Called on the writer thread after every group with the events it committed, in
// position order (none when every request of the group was refused or its write
// failed), before any AppendCallback of that group; and with no events about once a
// second while no appends come. Used to apply projections so that
// a command is answered only once its events are visible to reads.
using CommitListener = std::function<void(std::span<const Event>)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Appends `request.events` iff the stream is at `request.expected_version`,
  // atomically and durably (WAL synced; concurrent appends share one sync).
  // Returns Conflict (reason "version_conflict") when the stream moved.
  virtual StatusOr<AppendResult> Append(AppendRequest request) = 0;

  // Same as Append, but returns at once; `done` runs on the writer thread.
  virtual void AppendAsync(AppendRequest request, AppendCallback done) = 0;

  // Events of `stream` with stream_version >= from_version, at most `limit`.
  virtual StatusOr<std::vector<Event>> ReadStream(std::string_view stream,
                                                  Version from_version = 1,
                                                  size_t limit = SIZE_MAX) = 0;

  // Calls `visit` for each event with position >= from, in order, until it returns
  // false or the log ends. Reads a consistent snapshot.
  virtual Status ReadAll(Position from, const std::function<bool(const Event&)>& visit) = 0;

  // One event by position; NotFound past the head.
  virtual StatusOr<Event> ReadAt(Position position) = 0;

  // Position of the last committed event (0 for an empty log).
  virtual Position HeadPosition() const = 0;

  // Current version of `stream` (0 when it has no events).
  virtual StatusOr<Version> StreamVersion(std::string_view stream) = 0;

  // Blocks until HeadPosition() > after or the timeout passes; returns the head.
  // The wake-up for subscribers (SSE feeds, workers).
  virtual Position WaitForEvents(Position after, std::chrono::milliseconds timeout) = 0;

  // Installs the listener; call before the first append.
  virtual void SetCommitListener(CommitListener listener) = 0;
};

}  // namespace ledgerflow::events
