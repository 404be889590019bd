// A bounded in-memory cache of rendered workflow views in front of the KvStore, so that
// reads of hot workflows and the answers to commands skip a RocksDB read. The store
// stays the truth: the cache holds at most `capacity_bytes` of views and keys (least
// recently used go first; a view larger than an eighth of a shard is not kept, so a
// few huge definitions cannot evict everything else) and is only ever behind the store
// for the instant between a group's write and its Publish.
//
// Freshness: the projection calls Publish (under a new generation) after each write of
// the read models; readers that missed read the store and Fill, which keeps what they
// read only when no Publish began since they looked (Generation() before the read), so
// a slow reader never puts back a view older than one published meanwhile.
// Thread-safe.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ledgerflow::projections {

struct WorkflowView;

class ViewCache {
 public:
  explicit ViewCache(size_t capacity_bytes);

  std::shared_ptr<const WorkflowView> Get(std::string_view key);
  uint64_t Generation() const { return generation_.load(); }
  // Caches `view`, read from the store after Generation() returned `generation`,
  // unless a Publish has begun since.
  void Fill(std::string_view key, std::shared_ptr<const WorkflowView> view,
            uint64_t generation);
  // The views a committed write changed; a null view removes the key (deleted).
  void Publish(std::vector<std::pair<std::string, std::shared_ptr<const WorkflowView>>> views);
  void Clear();

 private:
  struct Shard {
    std::mutex mu;
    std::list<std::pair<std::string, std::shared_ptr<const WorkflowView>>> lru;  // newest first
    std::unordered_map<std::string_view, decltype(lru)::iterator> index;  // keys in `lru`
    size_t bytes = 0;  // of the keys and views in `lru`
  };
  static constexpr size_t kShards = 8;

  Shard& ShardOf(std::string_view key);
  void PutLocked(Shard& shard, std::string_view key, std::shared_ptr<const WorkflowView> view);
  void EraseLocked(Shard& shard, std::string_view key);

  const size_t shard_capacity_;  // bytes
  std::atomic<uint64_t> generation_{0};
  Shard shards_[kShards];
};

}  // namespace ledgerflow::projections
