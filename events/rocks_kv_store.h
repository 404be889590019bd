// Internal to events/: the KvStore over one RocksDB column family. Thread-safe; does
// not own the DB or the handle (RocksStorage does, and outlives it).
#pragma once

#include <rocksdb/db.h>

#include "events/kv_store.h"

namespace ledgerflow::events::internal {

class RocksKvStore final : public KvStore {
 public:
  RocksKvStore(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  Status Write(const KvBatch& batch) override;
  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override;
  // Deletes every key that exists when it starts (one range tombstone), then compacts
  // the family to give the space back. Keys written concurrently may survive.
  Status Clear() override;

 private:
  rocksdb::DB* const db_;
  rocksdb::ColumnFamilyHandle* const cf_;
};

}  // namespace ledgerflow::events::internal
