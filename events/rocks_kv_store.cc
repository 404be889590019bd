#include "events/rocks_kv_store.h"

#include <rocksdb/write_batch.h>

#include <memory>

#include "events/rocks_util.h"

namespace ledgerflow::events::internal {
namespace {

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// The smallest key greater than every key starting with `prefix`; "" if none exists
// (the prefix is empty or all 0xff).
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    unsigned char c = static_cast<unsigned char>(s.back());
    if (c != 0xff) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

}  // namespace

StatusOr<std::optional<std::string>> RocksKvStore::Get(std::string_view key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf_, ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "projection get");
  return std::optional<std::string>(std::move(value));
}

Status RocksKvStore::Write(const KvBatch& batch) {
  if (batch.empty()) return Status::Ok();
  // Sized up front: a commit group's read models are tens of KB, which growing the
  // batch's buffer step by step copies several times over.
  size_t bytes = 64;
  for (const KvBatch::Op& op : batch.ops()) bytes += op.key.size() + op.value.size() + 16;
  rocksdb::WriteBatch wb(bytes);
  for (const KvBatch::Op& op : batch.ops()) {
    rocksdb::Status s = op.is_delete ? wb.Delete(cf_, op.key) : wb.Put(cf_, op.key, op.value);
    if (!s.ok()) return FromRocks(s, "projection batch");
  }
  // No WAL: read models are rebuilt from the log. Their state and checkpoint share
  // one column family, whose memtable flushes atomically, so after a crash the
  // family is at some earlier checkpoint and replays the log from there.
  rocksdb::WriteOptions options;
  options.sync = false;
  options.disableWAL = true;
  return FromRocks(db_->Write(options, &wb), "projection write");
}

Status RocksKvStore::Scan(std::string_view prefix, std::string_view start,
                          const std::function<bool(std::string_view, std::string_view)>& visit) {
  rocksdb::ReadOptions options;
  const std::string upper = PrefixSuccessor(prefix);
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, cf_));
  it->Seek(ToSlice(start > prefix ? start : prefix));
  for (; it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(ToSlice(prefix))) break;
    rocksdb::Slice value = it->value();
    if (!visit(std::string_view(key.data(), key.size()),
               std::string_view(value.data(), value.size()))) {
      return Status::Ok();
    }
  }
  return FromRocks(it->status(), "projection scan");
}

Status RocksKvStore::Clear() {
  std::string last;
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
    it->SeekToLast();
    if (!it->Valid()) return FromRocks(it->status(), "projection clear");
    last = it->key().ToString();
  }
  last.push_back('\0');  // the smallest key after the last one: the range end is exclusive
  rocksdb::WriteBatch wb;
  Status s = FromRocks(wb.DeleteRange(cf_, rocksdb::Slice(), last), "projection clear");
  if (!s.ok()) return s;
  s = FromRocks(db_->Write(rocksdb::WriteOptions(), &wb), "projection clear");
  if (!s.ok()) return s;
  return FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), cf_, nullptr, nullptr),
                   "projection clear compaction");
}

}  // namespace ledgerflow::events::internal
