#include "projections/view_cache.h"

#include "projections/workflow_projection.h"

#include <algorithm>
#include <functional>

namespace ledgerflow::projections {

namespace {

size_t Footprint(std::string_view key, const WorkflowView& view) {
  return key.size() + view.id.size() + view.json.size() + 96;  // + nodes and bookkeeping
}

}  // namespace

ViewCache::ViewCache(size_t capacity_bytes)
    : shard_capacity_(std::max<size_t>(1, capacity_bytes / kShards)) {}

ViewCache::Shard& ViewCache::ShardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

std::shared_ptr<const WorkflowView> ViewCache::Get(std::string_view key) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->second;
}

void ViewCache::Fill(std::string_view key, std::shared_ptr<const WorkflowView> view,
                     uint64_t generation) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  // Checked under the shard's lock: a Publish that began after this reader looked may
  // already have stored a newer view, or will store it after this returns.
  if (generation_.load() != generation) return;
  PutLocked(shard, key, std::move(view));
}

void ViewCache::Publish(
    std::vector<std::pair<std::string, std::shared_ptr<const WorkflowView>>> views) {
  if (views.empty()) return;
  // First the generation, then the views: a reader whose Fill passes the generation
  // check before this line is overwritten below.
  generation_.fetch_add(1);
  for (auto& [key, view] : views) {
    Shard& shard = ShardOf(key);
    std::lock_guard<std::mutex> lock(shard.mu);
    if (view) {
      PutLocked(shard, key, std::move(view));
    } else {
      EraseLocked(shard, key);
    }
  }
}

void ViewCache::Clear() {
  generation_.fetch_add(1);
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.index.clear();
    shard.lru.clear();
    shard.bytes = 0;
  }
}

void ViewCache::PutLocked(Shard& shard, std::string_view key,
                          std::shared_ptr<const WorkflowView> view) {
  const size_t size = Footprint(key, *view);
  if (size > shard_capacity_ / 8) {
    EraseLocked(shard, key);  // too large to keep; an older view must not stay either
    return;
  }
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    shard.bytes -= Footprint(key, *it->second->second);
    it->second->second = std::move(view);
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  } else {
    shard.lru.emplace_front(std::string(key), std::move(view));
    shard.index.emplace(shard.lru.front().first, shard.lru.begin());
  }
  shard.bytes += size;
  while (shard.bytes > shard_capacity_ && shard.lru.size() > 1) {
    auto& [oldest_key, oldest_view] = shard.lru.back();
    shard.bytes -= Footprint(oldest_key, *oldest_view);
    shard.index.erase(oldest_key);
    shard.lru.pop_back();
  }
}

void ViewCache::EraseLocked(Shard& shard, std::string_view key) {
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return;
  auto node = it->second;
  shard.bytes -= Footprint(node->first, *node->second);
  shard.index.erase(it);
  shard.lru.erase(node);
}

}  // namespace ledgerflow::projections
