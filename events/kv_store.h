// A key-value area beside the event log for read models (a RocksDB column family in
// the embedded store). Projections keep their state and checkpoint here; a batch is
// atomic. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace ledgerflow::events {

// Puts and deletes applied atomically by KvStore::Write.
class KvBatch {
 public:
  void Put(std::string key, std::string value) {
    ops_.push_back({std::move(key), std::move(value), false});
  }
  void Delete(std::string key) { ops_.push_back({std::move(key), {}, true}); }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

  struct Op {
    std::string key;
    std::string value;
    bool is_delete;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The value at `key`, or nullopt.
  virtual StatusOr<std::optional<std::string>> Get(std::string_view key) = 0;

  // Applies `batch` atomically. Not logged or synced: after a crash, read models are
  // at an earlier checkpoint written with their state and replay the log from there.
  virtual Status Write(const KvBatch& batch) = 0;

  // Calls `visit(key, value)` for keys starting with `prefix`, from `start` (or the
  // prefix itself when empty) in byte order, until it returns false.
  virtual Status Scan(std::string_view prefix, std::string_view start,
                      const std::function<bool(std::string_view, std::string_view)>& visit) = 0;

  // Deletes every key (for rebuild).
  virtual Status Clear() = 0;
};

}  // namespace ledgerflow::events
