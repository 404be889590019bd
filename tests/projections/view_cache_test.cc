#include "projections/view_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "projections/workflow_projection.h"

namespace ledgerflow::projections {
namespace {

std::shared_ptr<const WorkflowView> View(std::string id, int64_t version) {
  return std::make_shared<const WorkflowView>(
      WorkflowView{id, version, "{\"v\":" + std::to_string(version) + "}",
                   static_cast<uint64_t>(version)});
}

using Views = std::vector<std::pair<std::string, std::shared_ptr<const WorkflowView>>>;

TEST(ViewCacheTest, PublishedViewsAreServedAndDeletionsForgotten) {
  ViewCache cache(1 << 20);
  EXPECT_EQ(cache.Get("org/a"), nullptr);
  cache.Publish(Views{{"org/a", View("a", 1)}, {"org/b", View("b", 1)}});
  ASSERT_NE(cache.Get("org/a"), nullptr);
  EXPECT_EQ(cache.Get("org/a")->version, 1);
  cache.Publish(Views{{"org/a", View("a", 2)}, {"org/b", nullptr}});
  EXPECT_EQ(cache.Get("org/a")->version, 2);
  EXPECT_EQ(cache.Get("org/b"), nullptr);
  EXPECT_EQ(cache.Get("other/a"), nullptr);  // keys carry the org
  cache.Clear();
  EXPECT_EQ(cache.Get("org/a"), nullptr);
}

TEST(ViewCacheTest, AFillFromBeforeAPublishIsDropped) {
  ViewCache cache(1 << 20);
  // A reader looks, reads version 1 from the store; meanwhile version 2 is written
  // and published; the reader's fill must not bring version 1 back.
  uint64_t looked = cache.Generation();
  cache.Publish(Views{{"org/a", View("a", 2)}});
  cache.Fill("org/a", View("a", 1), looked);
  EXPECT_EQ(cache.Get("org/a")->version, 2);

  // Even when the published view was evicted or cleared in between.
  looked = cache.Generation();
  cache.Clear();
  cache.Fill("org/a", View("a", 1), looked);
  EXPECT_EQ(cache.Get("org/a"), nullptr);

  // With no publish in between, the fill is kept.
  looked = cache.Generation();
  cache.Fill("org/a", View("a", 3), looked);
  EXPECT_EQ(cache.Get("org/a")->version, 3);
}

TEST(ViewCacheTest, HoldsAtMostItsCapacityInBytesDroppingTheLeastRecentlyUsed) {
  ViewCache cache(64 << 10);  // 8 shards of 8 KiB
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("org/wf_" + std::to_string(i));
  for (const std::string& k : keys) cache.Fill(k, View(k, 1), cache.Generation());
  size_t held = 0, held_bytes = 0;
  for (const std::string& k : keys) {
    if (auto v = cache.Get(k)) {
      ++held;
      held_bytes += k.size() + v->id.size() + v->json.size();
    }
  }
  EXPECT_LE(held_bytes, size_t{64} << 10);
  EXPECT_GT(held, 100u);   // most of the budget is used
  EXPECT_LT(held, 2000u);  // and the oldest went
  EXPECT_NE(cache.Get(keys.back()), nullptr);  // the newest stayed
}

TEST(ViewCacheTest, AViewTooLargeForItsShardIsNotKeptNorIsItsOlderVersion) {
  ViewCache cache(64 << 10);  // 8 KiB shards: views above 1 KiB are not kept
  cache.Publish(Views{{"org/a", View("a", 1)}});
  ASSERT_NE(cache.Get("org/a"), nullptr);
  auto huge = std::make_shared<const WorkflowView>(
      WorkflowView{"a", 2, "{\"d\":\"" + std::string(4096, 'x') + "\"}", 2});
  cache.Publish(Views{{"org/a", huge}});
  EXPECT_EQ(cache.Get("org/a"), nullptr);  // read from the store instead
  cache.Fill("org/b", huge, cache.Generation());
  EXPECT_EQ(cache.Get("org/b"), nullptr);
}

TEST(ViewCacheTest, ConcurrentReadersNeverSeeAVersionGoBackwards) {
  ViewCache cache(1 << 20);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> stored{0};  // the "store": the newest committed version
  std::vector<std::thread> readers;
  std::atomic<bool> went_back{false};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!stop.load()) {
        int64_t seen;
        if (auto v = cache.Get("org/a")) {
          seen = v->version;
        } else {
          uint64_t looked = cache.Generation();
          seen = stored.load();
          cache.Fill("org/a", View("a", seen), looked);
        }
        if (seen < last) went_back = true;
        last = seen;
      }
    });
  }
  for (int64_t v = 1; v <= 20000; ++v) {
    stored.store(v);  // written to the store first, then published
    cache.Publish(Views{{"org/a", View("a", v)}});
    if (v % 1000 == 0) cache.Clear();
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_FALSE(went_back.load());
  auto final_view = cache.Get("org/a");
  if (final_view) {
    EXPECT_EQ(final_view->version, 20000);
  }
}

}  // namespace
}  // namespace ledgerflow::projections
