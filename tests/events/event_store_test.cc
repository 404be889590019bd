// The RocksDB event store against a real database in a temp directory: appends and
// reads, expected versions, gap-free positions, group commit under concurrency,
// per-org hash chains, stream-head records and their backfill, recovery and tamper
// detection.
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <future>
#include <latch>
#include <set>
#include <thread>

#include "events/chain.h"
#include "events/codec.h"
#include "events/rocks_event_store.h"
#include "events/rocks_storage.h"
#include "tests/events/test_dir.h"

namespace ledgerflow::events {
namespace {

constexpr int64_t kNow = 1795464062123;  // 2026-11-23T20:01:02.123Z

AppendRequest Request(std::string stream, Version expected, std::string org = "org_1",
                      int n = 1) {
  AppendRequest r;
  r.stream = std::move(stream);
  r.expected_version = expected;
  r.org = std::move(org);
  r.actor = "key_1";
  r.request_id = "req-" + r.stream;
  for (int i = 0; i < n; ++i) {
    r.events.push_back(NewEvent{"test.happened", 1, "{\"i\":" + std::to_string(i) + "}", {}});
  }
  return r;
}

// Verifies every chain of the whole log; returns the verifier's verdict.
Status VerifyLog(EventStore& store, ChainVerifier* verifier) {
  Status feed;
  Status read = store.ReadAll(1, [&](const Event& e) {
    feed = verifier->Feed(e);
    return feed.ok();
  });
  return read.ok() ? feed : read;
}

class EventStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(StorageOptions options = {}) {
    storage_.reset();
    if (!options.clock) options.clock = [this] { return now_.load(); };
    StatusOr<std::unique_ptr<RocksStorage>> opened = RocksStorage::Open(dir_.path(), options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    storage_ = std::move(opened).value();
  }
  EventStore& store() { return storage_->events(); }

  AppendResult MustAppend(AppendRequest r) {
    StatusOr<AppendResult> result = store().Append(std::move(r));
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : AppendResult{};
  }

  // Appends `blocker`, holds the writer inside the commit listener once it is written,
  // then runs `while_held` (which queues appends: they form the next group) and lets
  // the writer go. Returns every append's outcome, the blocker's first.
  using Enqueue = std::function<void(AppendRequest)>;
  std::vector<StatusOr<AppendResult>> InOneGroup(AppendRequest blocker,
                                                 const std::function<void(Enqueue)>& while_held) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<bool> blocked_once{false};
    store().SetCommitListener([&](std::span<const Event> events) {
      if (!events.empty() && !blocked_once.exchange(true)) released.wait();
    });
    std::vector<std::future<StatusOr<AppendResult>>> done;
    auto async = [&](AppendRequest r) {
      auto promise = std::make_shared<std::promise<StatusOr<AppendResult>>>();
      done.push_back(promise->get_future());
      store().AppendAsync(std::move(r), [promise](StatusOr<AppendResult> res) {
        promise->set_value(std::move(res));
      });
    };
    const Position before = store().HeadPosition();
    async(std::move(blocker));
    while (store().HeadPosition() == before) std::this_thread::yield();  // in the listener
    while_held(async);
    release.set_value();
    std::vector<StatusOr<AppendResult>> out;
    for (auto& f : done) out.push_back(f.get());
    store().SetCommitListener(nullptr);  // it refers to this frame's locals
    return out;
  }

  // Opens the closed database with the plain RocksDB API.
  std::unique_ptr<rocksdb::DB> OpenRaw(std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir_.path(), &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const std::string& name : names) families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir_.path(), families, handles, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (size_t i = 0; i < names.size(); ++i) family_[names[i]] = (*handles)[i];
    return std::unique_ptr<rocksdb::DB>(db);
  }
  void CloseRaw(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    for (auto* h : handles) EXPECT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    EXPECT_TRUE(db->Close().ok());
    family_.clear();
  }

  // The stream-head records and the format marker, read with the plain RocksDB API
  // from the closed database: stream -> version.
  std::map<std::string, Version> RawStreamHeads(std::string* format = nullptr) {
    std::map<std::string, Version> heads;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::unique_ptr<rocksdb::DB> db = OpenRaw(&handles);
    const std::string prefix = "stream_head/";
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), family_["default"]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      EXPECT_EQ(it->value().size(), 8u);
      Version v = 0;
      for (size_t i = 0; i < 8 && i < it->value().size(); ++i) {
        v = (v << 8) | static_cast<unsigned char>(it->value()[i]);
      }
      heads[it->key().ToString().substr(prefix.size())] = v;
    }
    EXPECT_TRUE(it->status().ok());
    it.reset();
    if (format != nullptr) {
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), family_["default"], "format", format);
      if (s.IsNotFound()) *format = "<none>";
    }
    CloseRaw(std::move(db), handles);
    return heads;
  }

  // Makes the closed database look as written by format 1 (no stream heads), or as
  // having lost its marker when `format` is empty; `keep` names heads to keep, with
  // the version to leave in them (e.g. a stale one, as an interrupted backfill might).
  void RewindToFormat1(const std::string& format, const std::map<std::string, Version>& keep = {}) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::unique_ptr<rocksdb::DB> db = OpenRaw(&handles);
    rocksdb::ColumnFamilyHandle* meta = family_["default"];
    const std::string prefix = "stream_head/";
    std::vector<std::string> keys;
    {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), meta));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        keys.push_back(it->key().ToString());
      }
    }
    for (const std::string& key : keys) ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), meta, key).ok());
    for (const auto& [stream, version] : keep) {
      std::string value;
      for (int i = 7; i >= 0; --i) value.push_back(static_cast<char>((version >> (8 * i)) & 0xff));
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), meta, prefix + stream, value).ok());
    }
    if (format.empty()) {
      ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), meta, "format").ok());
    } else {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), meta, "format", format).ok());
    }
    CloseRaw(std::move(db), handles);
  }

  testing::TempDir dir_;
  std::atomic<int64_t> now_{kNow};
  std::unique_ptr<RocksStorage> storage_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> family_;
};

TEST_F(EventStoreTest, AppendThenReadBackEveryField) {
  AppendRequest r = Request("workflow-x", kNoStream, "org_1", 2);
  r.events[1].type = "workflow.updated";
  r.events[1].schema_version = 3;
  r.events[1].causation = 99;
  r.events[1].data = R"({ "b" : [1, 2.50, "\u00e9"] })";
  AppendResult result = MustAppend(r);
  EXPECT_EQ(result.first_position, 1u);
  EXPECT_EQ(result.last_position, 2u);
  EXPECT_EQ(result.stream_version, 2u);
  EXPECT_EQ(store().HeadPosition(), 2u);

  StatusOr<std::vector<Event>> events = store().ReadStream("workflow-x");
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  const Event& a = (*events)[0];
  const Event& b = (*events)[1];
  EXPECT_EQ(a.position, 1u);
  EXPECT_EQ(a.stream, "workflow-x");
  EXPECT_EQ(a.stream_version, 1u);
  EXPECT_EQ(a.type, "test.happened");
  EXPECT_EQ(a.schema_version, 1);
  EXPECT_EQ(a.org, "org_1");
  EXPECT_EQ(a.actor, "key_1");
  EXPECT_EQ(a.at_ms, kNow);
  EXPECT_EQ(a.request_id, "req-workflow-x");
  EXPECT_FALSE(a.causation.has_value());
  EXPECT_EQ(a.data, "{\"i\":0}");
  EXPECT_EQ(a.prev_hash, "");
  EXPECT_EQ(a.hash, ComputeHash("", a));
  EXPECT_EQ(b.position, 2u);
  EXPECT_EQ(b.stream_version, 2u);
  EXPECT_EQ(b.type, "workflow.updated");
  EXPECT_EQ(b.schema_version, 3);
  EXPECT_EQ(b.causation, std::optional<Position>(99));
  EXPECT_EQ(b.data, "{\"b\":[1,2.5,\"\xc3\xa9\"]}");  // stored canonical
  EXPECT_EQ(b.at_ms, kNow);
  EXPECT_EQ(b.prev_hash, a.hash);
  EXPECT_EQ(b.hash, ComputeHash(a.hash, b));

  StatusOr<Event> at = store().ReadAt(2);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(EncodeEvent(*at), EncodeEvent(b));
  EXPECT_EQ(store().ReadAt(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().ReadAt(0).status().code(), StatusCode::kNotFound);

  std::vector<Position> all;
  ASSERT_TRUE(store().ReadAll(0, [&](const Event& e) { all.push_back(e.position); return true; }).ok());
  EXPECT_EQ(all, (std::vector<Position>{1, 2}));
}

TEST_F(EventStoreTest, ReadStreamHonoursFromVersionAndLimit) {
  MustAppend(Request("workflow-a", kNoStream, "org_1", 5));
  MustAppend(Request("workflow-ab", kNoStream));  // shares a name prefix, not events
  MustAppend(Request("workflow-a", 5));
  StatusOr<std::vector<Event>> events = store().ReadStream("workflow-a", 3, 2);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].stream_version, 3u);
  EXPECT_EQ((*events)[1].stream_version, 4u);
  events = store().ReadStream("workflow-a", 5);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].position, 7u);
  EXPECT_TRUE(store().ReadStream("workflow-none")->empty());
  EXPECT_EQ(*store().StreamVersion("workflow-a"), 6u);
  EXPECT_EQ(*store().StreamVersion("workflow-ab"), 1u);
  EXPECT_EQ(*store().StreamVersion("workflow"), 0u);
}

TEST_F(EventStoreTest, ExpectedVersionChecks) {
  MustAppend(Request("workflow-x", kNoStream));
  StatusOr<AppendResult> again = store().Append(Request("workflow-x", kNoStream));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_EQ(again.status().reason(), "version_conflict");
  EXPECT_EQ(again.status().message(), "stream workflow-x is at version 1, expected 0");

  EXPECT_EQ(MustAppend(Request("workflow-x", 1)).stream_version, 2u);
  StatusOr<AppendResult> stale = store().Append(Request("workflow-x", 1));
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);
  EXPECT_EQ(stale.status().message(), "stream workflow-x is at version 2, expected 1");
  StatusOr<AppendResult> ahead = store().Append(Request("workflow-x", 7));
  EXPECT_EQ(ahead.status().code(), StatusCode::kConflict);
  EXPECT_EQ(MustAppend(Request("workflow-x", kAnyVersion)).stream_version, 3u);
  EXPECT_EQ(MustAppend(Request("workflow-new", kAnyVersion)).stream_version, 1u);
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 3u);
}

TEST_F(EventStoreTest, RejectedAppendConsumesNoPosition) {
  MustAppend(Request("workflow-x", kNoStream));
  EXPECT_FALSE(store().Append(Request("workflow-x", kNoStream)).ok());
  EXPECT_FALSE(store().Append(Request("", kAnyVersion)).ok());
  EXPECT_EQ(MustAppend(Request("workflow-y", kNoStream)).first_position, 2u);
  EXPECT_EQ(store().HeadPosition(), 2u);
}

TEST_F(EventStoreTest, InvalidRequestsAreRefused) {
  auto code = [&](AppendRequest r) { return store().Append(std::move(r)).status().code(); };
  EXPECT_EQ(code(Request("", kAnyVersion)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Request("workflow-x", kAnyVersion, "")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Request("workflow-x", kAnyVersion, "org_1", 0)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Request(std::string("work\0flow", 9), kAnyVersion)), StatusCode::kInvalidArgument);
  AppendRequest r = Request("workflow-x", kAnyVersion);
  r.events[0].type = "";
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  for (const char* data : {"[1]", "\"s\"", "{\"a\":", "{\"a\":\"\\udc00\"}"}) {
    AppendRequest bad = Request("workflow-x", kAnyVersion);
    bad.events[0].data = data;
    EXPECT_EQ(code(bad), StatusCode::kInvalidArgument) << data;
  }
  // Data a producer wrote with rapidjson::Writer skips re-canonicalization, not the
  // checks of what a Writer can still get wrong.
  for (const char* data : {"[1]", "{\"a\":", "{\"a\":\"\xed\xb0\x80\"}"}) {
    AppendRequest bad = Request("workflow-x", kAnyVersion);
    bad.events[0].data = data;
    bad.events[0].written_by_writer = true;
    EXPECT_EQ(code(bad), StatusCode::kInvalidArgument) << data;
  }
  AppendRequest empty_data = Request("workflow-x", kAnyVersion);
  empty_data.events[0].data = "";
  MustAppend(empty_data);
  EXPECT_EQ(store().ReadAt(1)->data, "{}");
  EXPECT_EQ(store().HeadPosition(), 1u);
}

TEST_F(EventStoreTest, MultiEventAppendIsAtomicAndContiguous) {
  MustAppend(Request("workflow-other", kNoStream));
  AppendResult r = MustAppend(Request("workflow-x", kNoStream, "org_1", 5));
  EXPECT_EQ(r.first_position, 2u);
  EXPECT_EQ(r.last_position, 6u);
  EXPECT_EQ(r.stream_version, 5u);
  StatusOr<std::vector<Event>> events = store().ReadStream("workflow-x");
  ASSERT_EQ(events->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*events)[i].position, 2 + i);
    EXPECT_EQ((*events)[i].stream_version, 1 + i);
  }
  // A conflicting multi-event append writes none of its events.
  EXPECT_FALSE(store().Append(Request("workflow-x", 4, "org_1", 3)).ok());
  EXPECT_EQ(store().HeadPosition(), 6u);
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 5u);
}

TEST_F(EventStoreTest, ConcurrentAppendsToDistinctStreamsAreGapFreeAndChained) {
  constexpr int kThreads = 16, kPerThread = 200;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPerThread; ++i) {
        StatusOr<AppendResult> r = store().Append(
            Request("run-" + std::to_string(t), i == 0 ? kNoStream : Version(i),
                    "org_" + std::to_string(t % 3)));
        if (!r.ok() || r->stream_version != Version(i + 1)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store().HeadPosition(), Position{kThreads * kPerThread});

  std::set<Position> seen;
  std::map<std::string, Version> versions;
  ChainVerifier verifier;
  Status s = store().ReadAll(1, [&](const Event& e) {
    EXPECT_TRUE(seen.insert(e.position).second);
    EXPECT_EQ(e.stream_version, ++versions[e.stream]) << e.stream;
    EXPECT_TRUE(verifier.Feed(e).ok()) << e.position;
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(seen.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*seen.begin(), 1u);
  EXPECT_EQ(*seen.rbegin(), Position{kThreads * kPerThread});
  EXPECT_EQ(verifier.heads().size(), 3u);
}

TEST_F(EventStoreTest, RacingTheSameExpectedVersionExactlyOneWins) {
  constexpr int kThreads = 16;
  std::latch start(kThreads);
  std::atomic<int> wins{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      StatusOr<AppendResult> r = store().Append(Request("workflow-race", kNoStream));
      if (r.ok()) ++wins;
      if (r.status().code() == StatusCode::kConflict) ++conflicts;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(store().HeadPosition(), 1u);
}

TEST_F(EventStoreTest, ConflictingAppendsInOneGroupFirstWins) {
  auto done = InOneGroup(Request("workflow-block", kNoStream), [](auto async) {
    async(Request("workflow-x", kNoStream));
    async(Request("workflow-x", kNoStream));
    async(Request("workflow-x", 1));  // sees the first's pending version
  });
  ASSERT_TRUE(done[0].ok());
  StatusOr<AppendResult>& first = done[1];
  StatusOr<AppendResult>& second = done[2];
  StatusOr<AppendResult>& third = done[3];
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->first_position, 2u);
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  EXPECT_EQ(second.status().reason(), "version_conflict");
  EXPECT_EQ(second.status().message(), "stream workflow-x is at version 1, expected 0");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ(third->first_position, 3u);  // the rejected request took no position
  EXPECT_EQ(third->stream_version, 2u);
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 2u);  // the group's last, from disk
}

// A group whose write fails: what was to be written fails (Internal), a request refused
// because of an earlier one of the group fails with it (that request never happened),
// and a conflict with the committed state stays a conflict.
TEST_F(EventStoreTest, FailedGroupKeepsConflictsWithTheCommittedState) {
  MustAppend(Request("workflow-x", kNoStream));
  MustAppend(Request("workflow-y", kNoStream));
  auto done = InOneGroup(Request("workflow-block", kNoStream), [&](auto async) {
    dynamic_cast<internal::RocksEventStore&>(store()).FailWritesForTesting(1);
    async(Request("workflow-x", 1));          // to be written: fails
    async(Request("workflow-y", kNoStream));  // y is at 1: a conflict that stands
    async(Request("workflow-x", 1));          // refused because of the first: fails with it
  });
  ASSERT_TRUE(done[0].ok());
  EXPECT_EQ(done[1].status().code(), StatusCode::kInternal);
  EXPECT_EQ(done[2].status().code(), StatusCode::kConflict);
  EXPECT_EQ(done[2].status().message(), "stream workflow-y is at version 1, expected 0");
  EXPECT_EQ(done[3].status().code(), StatusCode::kInternal);
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 1u);
  EXPECT_EQ(MustAppend(Request("workflow-x", 1)).stream_version, 2u);
}

TEST_F(EventStoreTest, CommitListenerRunsBeforeTheCallback) {
  std::mutex mu;
  std::vector<Position> listened;
  store().SetCommitListener([&](std::span<const Event> events) {
    if (events.empty()) return;  // an idle tick, possibly after this test's locals are gone
    std::lock_guard<std::mutex> lock(mu);
    for (const Event& e : events) listened.push_back(e.position);
  });
  // Shared, and set outside the lock: the test may end as soon as the value is set.
  auto seen_in_callback = std::make_shared<std::promise<std::vector<Position>>>();
  std::future<std::vector<Position>> seen = seen_in_callback->get_future();
  store().AppendAsync(Request("workflow-x", kNoStream, "org_1", 3),
                      [&mu, &listened, seen_in_callback](StatusOr<AppendResult> r) {
                        EXPECT_TRUE(r.ok());
                        std::vector<Position> copy;
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          copy = listened;
                        }
                        seen_in_callback->set_value(std::move(copy));
                      });
  EXPECT_EQ(seen.get(), (std::vector<Position>{1, 2, 3}));
}

TEST_F(EventStoreTest, ParsedDataReachesTheListenerButIsNotStored) {
  StatusOr<json::Document> doc = json::Parse(R"({"i":0})");
  ASSERT_TRUE(doc.ok());
  auto parsed = std::make_shared<const json::Document>(std::move(*doc));
  std::promise<std::shared_ptr<const json::Document>> seen;
  store().SetCommitListener([&](std::span<const Event> events) {
    if (!events.empty()) seen.set_value(events[0].parsed_data);
  });
  AppendRequest r = Request("workflow-x", kNoStream);
  r.events[0].parsed_data = parsed;
  MustAppend(std::move(r));
  EXPECT_EQ(seen.get_future().get(), parsed);  // the producer's document, not a copy
  StatusOr<Event> stored = store().ReadAt(1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->data, R"({"i":0})");
  EXPECT_EQ(stored->parsed_data, nullptr);
}

TEST_F(EventStoreTest, AppendFromTheWriterThreadFailsInsteadOfDeadlocking) {
  std::promise<Status> nested;
  std::atomic<bool> once{false};
  store().SetCommitListener([&](std::span<const Event> events) {
    if (!events.empty() && !once.exchange(true)) {
      nested.set_value(store().Append(Request("workflow-y", kAnyVersion)).status());
    }
  });
  MustAppend(Request("workflow-x", kNoStream));
  EXPECT_EQ(nested.get_future().get().code(), StatusCode::kInternal);
}

TEST_F(EventStoreTest, WaitForEventsWakesOnCommitAndTimesOut) {
  MustAppend(Request("workflow-x", kNoStream));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(store().WaitForEvents(1, std::chrono::milliseconds(50)), 1u);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));
  EXPECT_EQ(store().WaitForEvents(0, std::chrono::seconds(10)), 1u);  // already past

  std::future<Position> waiter = std::async(std::launch::async, [&] {
    return store().WaitForEvents(1, std::chrono::seconds(30));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  t0 = std::chrono::steady_clock::now();
  MustAppend(Request("workflow-x", 1));
  EXPECT_EQ(waiter.get(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(EventStoreTest, TimeNeverGoesBackwardsAlongPositions) {
  MustAppend(Request("workflow-x", kNoStream));
  now_ = kNow - 60'000;  // the wall clock steps back a minute
  MustAppend(Request("workflow-x", 1));
  now_ = kNow + 5;
  MustAppend(Request("workflow-x", 2));
  EXPECT_EQ(store().ReadAt(2)->at_ms, kNow);
  EXPECT_EQ(store().ReadAt(3)->at_ms, kNow + 5);
}

TEST_F(EventStoreTest, FailedWriteFailsTheGroupAndReusesItsPositions) {
  MustAppend(Request("workflow-x", kNoStream));
  auto& internal = dynamic_cast<internal::RocksEventStore&>(store());
  internal.FailWritesForTesting(1);
  StatusOr<AppendResult> failed = store().Append(Request("workflow-x", 1));
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
  EXPECT_EQ(store().HeadPosition(), 1u);
  AppendResult next = MustAppend(Request("workflow-x", 1));  // the version did not move
  EXPECT_EQ(next.first_position, 2u);
  ChainVerifier verifier;
  EXPECT_TRUE(VerifyLog(store(), &verifier).ok());
  EXPECT_EQ(verifier.checked(), 2u);
}

TEST_F(EventStoreTest, OrgChainsLinkWithinEachOrg) {
  const char* orgs[] = {"org_a", "org_b", "org_a", "org_b", "org_a", "org_a"};
  for (int i = 0; i < 6; ++i) MustAppend(Request("s-" + std::to_string(i), kNoStream, orgs[i]));
  std::vector<Event> log;
  ASSERT_TRUE(store().ReadAll(1, [&](const Event& e) { log.push_back(e); return true; }).ok());
  ASSERT_EQ(log.size(), 6u);
  EXPECT_EQ(log[0].prev_hash, "");
  EXPECT_EQ(log[1].prev_hash, "");
  EXPECT_EQ(log[2].prev_hash, log[0].hash);
  EXPECT_EQ(log[3].prev_hash, log[1].hash);
  EXPECT_EQ(log[4].prev_hash, log[2].hash);
  EXPECT_EQ(log[5].prev_hash, log[4].hash);
  ChainVerifier verifier;
  EXPECT_TRUE(VerifyLog(store(), &verifier).ok());
}

TEST_F(EventStoreTest, ReopenRestoresHeadVersionsAndChains) {
  MustAppend(Request("workflow-x", kNoStream, "org_a", 3));
  MustAppend(Request("workflow-y", kNoStream, "org_b"));
  MustAppend(Request("workflow-x", 3, "org_a"));
  const std::string a_head = store().ReadAt(5)->hash;
  const std::string b_head = store().ReadAt(4)->hash;
  storage_.reset();
  now_ = kNow - 1000;  // an earlier clock after restart must not move `at` back
  Open();
  EXPECT_EQ(store().HeadPosition(), 5u);
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 4u);
  EXPECT_EQ(*store().StreamVersion("workflow-y"), 1u);
  EXPECT_EQ(store().ReadStream("workflow-x")->size(), 4u);
  EXPECT_EQ(store().Append(Request("workflow-x", 3, "org_a")).status().code(), StatusCode::kConflict);

  EXPECT_EQ(MustAppend(Request("workflow-y", 1, "org_b")).first_position, 6u);
  EXPECT_EQ(MustAppend(Request("workflow-z", kNoStream, "org_a")).first_position, 7u);
  EXPECT_EQ(store().ReadAt(6)->prev_hash, b_head);
  EXPECT_EQ(store().ReadAt(7)->prev_hash, a_head);
  EXPECT_EQ(store().ReadAt(7)->at_ms, kNow);
  ChainVerifier verifier;
  EXPECT_TRUE(VerifyLog(store(), &verifier).ok());
  EXPECT_EQ(verifier.checked(), 7u);
}

TEST_F(EventStoreTest, MissingChainHeadsAreRebuiltFromTheLog) {
  MustAppend(Request("workflow-x", kNoStream, "org_a", 2));
  MustAppend(Request("workflow-y", kNoStream, "org_b"));
  const std::string a_head = store().ReadAt(2)->hash;
  storage_.reset();
  {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::unique_ptr<rocksdb::DB> db = OpenRaw(&handles);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), family_["default"], "org_head/org_a").ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), family_["default"], "log_head").ok());
    CloseRaw(std::move(db), handles);
  }
  Open();
  EXPECT_EQ(MustAppend(Request("workflow-x", 2, "org_a")).first_position, 4u);
  EXPECT_EQ(store().ReadAt(4)->prev_hash, a_head);
  ChainVerifier verifier;
  EXPECT_TRUE(VerifyLog(store(), &verifier).ok());
}

TEST_F(EventStoreTest, VerifierNamesAnEventEditedBehindTheStoresBack) {
  for (int i = 0; i < 5; ++i) MustAppend(Request("s-" + std::to_string(i), kNoStream, i % 2 ? "org_b" : "org_a"));
  storage_.reset();
  {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::unique_ptr<rocksdb::DB> db = OpenRaw(&handles);
    const std::string key("\0\0\0\0\0\0\0\3", 8);  // position 3, big-endian
    std::string line;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), family_["events"], key, &line).ok());
    const size_t at = line.find("\"data\":{\"i\":0}");
    ASSERT_NE(at, std::string::npos) << line;
    line.replace(at, 14, "\"data\":{\"i\":7}");
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), family_["events"], key, line).ok());
    CloseRaw(std::move(db), handles);
  }
  Open();
  ChainVerifier verifier;
  Status s = VerifyLog(store(), &verifier);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message().rfind("chain broken at position 3: ", 0), 0u) << s.message();
  EXPECT_EQ(verifier.checked(), 2u);
}

TEST_F(EventStoreTest, AppendsWriteStreamHeadRecords) {
  MustAppend(Request("workflow-x", kNoStream, "org_1", 3));
  MustAppend(Request("workflow-y", kNoStream));
  MustAppend(Request("workflow-x", 3));
  EXPECT_EQ(*store().StreamVersion("workflow-x"), 4u);
  EXPECT_EQ(*store().StreamVersion("workflow-y"), 1u);
  EXPECT_EQ(*store().StreamVersion("workflow-z"), 0u);
  storage_.reset();
  std::string format;
  EXPECT_EQ(RawStreamHeads(&format),
            (std::map<std::string, Version>{{"workflow-x", 4}, {"workflow-y", 1}}));
  EXPECT_EQ(format, "2");
}

TEST_F(EventStoreTest, ConflictingOrFailedAppendsWriteNoStreamHead) {
  MustAppend(Request("workflow-x", kNoStream));
  EXPECT_EQ(store().Append(Request("workflow-y", 5)).status().code(), StatusCode::kConflict);
  dynamic_cast<internal::RocksEventStore&>(store()).FailWritesForTesting(1);
  EXPECT_EQ(store().Append(Request("workflow-z", kNoStream)).status().code(),
            StatusCode::kInternal);
  EXPECT_EQ(*store().StreamVersion("workflow-y"), 0u);
  EXPECT_EQ(*store().StreamVersion("workflow-z"), 0u);
  storage_.reset();
  EXPECT_EQ(RawStreamHeads(), (std::map<std::string, Version>{{"workflow-x", 1}}));
}

// Versions of streams not in the in-memory cache come from the head records: after a
// reopen, and when the cache holds nothing (max_cached_streams 0 empties it per group).
TEST_F(EventStoreTest, ExpectedVersionsAreExactFromTheHeadRecords) {
  for (size_t max_cached : {size_t{100'000}, size_t{0}}) {
    SCOPED_TRACE(max_cached);
    StorageOptions options;
    options.max_cached_streams = max_cached;
    Open(options);
    const std::string x = "workflow-x" + std::to_string(max_cached);
    MustAppend(Request(x, kNoStream, "org_1", 2));
    MustAppend(Request(x + "-other", kNoStream));  // a name that shares x's prefix
    Open(options);  // a fresh cache
    StatusOr<AppendResult> again = store().Append(Request(x, kNoStream));
    EXPECT_EQ(again.status().code(), StatusCode::kConflict);
    EXPECT_EQ(again.status().reason(), "version_conflict");
    EXPECT_EQ(again.status().message(), "stream " + x + " is at version 2, expected 0");
    EXPECT_EQ(store().Append(Request(x, 1)).status().message(),
              "stream " + x + " is at version 2, expected 1");
    EXPECT_EQ(store().Append(Request(x, 3)).status().code(), StatusCode::kConflict);
    EXPECT_EQ(MustAppend(Request(x, 2)).stream_version, 3u);
    EXPECT_EQ(MustAppend(Request(x, 3)).stream_version, 4u);
    EXPECT_EQ(store().Append(Request(x, 3)).status().message(),
              "stream " + x + " is at version 4, expected 3");
    EXPECT_EQ(MustAppend(Request(x + "-other", 1)).stream_version, 2u);
    EXPECT_EQ(MustAppend(Request(x + "-new", kNoStream)).stream_version, 1u);
    EXPECT_EQ(*store().StreamVersion(x), 4u);
    EXPECT_EQ(store().ReadStream(x)->size(), 4u);
  }
}

// Creations read their stream's version before queueing; the writer trusts that read
// only while the stream cache was not emptied since. Racing creators of the same new
// streams, with the cache kept and with it emptied before every group.
TEST_F(EventStoreTest, RacingCreatorsOfNewStreamsOneWinsEachWhateverTheCache) {
  for (size_t max_cached : {size_t{100'000}, size_t{0}}) {
    SCOPED_TRACE(max_cached);
    StorageOptions options;
    options.max_cached_streams = max_cached;
    Open(options);
    constexpr int kThreads = 8;
    constexpr int kStreams = 50;
    std::latch start(kThreads);
    std::atomic<int> wins{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < kStreams; ++i) {
          std::string stream = "workflow-new" + std::to_string(max_cached) + "-" + std::to_string(i);
          StatusOr<AppendResult> r = store().Append(Request(stream, kNoStream));
          if (r.ok()) ++wins;
          if (r.status().code() == StatusCode::kConflict) ++conflicts;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), kStreams);
    EXPECT_EQ(conflicts.load(), (kThreads - 1) * kStreams);
    for (int i = 0; i < kStreams; ++i) {
      EXPECT_EQ(*store().StreamVersion("workflow-new" + std::to_string(max_cached) + "-" +
                                       std::to_string(i)),
                1u);
    }
  }
}

TEST_F(EventStoreTest, Format1DirectoryGetsStreamHeadsBackfilled) {
  // Names that sort next to each other, with and without shared prefixes.
  const std::vector<std::string> names = {"a", "a-b", std::string("a", 2), "b", "ab",
                                          "workflow-ÿ"};
  std::map<std::string, Version> expected;
  for (size_t i = 0; i < names.size(); ++i) {
    MustAppend(Request(names[i], kNoStream, "org_1", static_cast<int>(i) + 1));
    expected[names[i]] = i + 1;
  }
  MustAppend(Request("a", 1, "org_2", 2));
  expected["a"] = 3;
  storage_.reset();
  ASSERT_EQ(RawStreamHeads(), expected);

  // Format 1 has no heads; this one also has a stale head left by an interrupted
  // backfill and a head of a stream that does not exist.
  RewindToFormat1("1", {{"b", 1}, {"ghost", 9}});
  Open();
  for (const auto& [name, version] : expected) {
    EXPECT_EQ(*store().StreamVersion(name), version) << name;
  }
  EXPECT_EQ(*store().StreamVersion("ghost"), 0u);
  EXPECT_EQ(store().Append(Request("b", 1)).status().message(), "stream b is at version 4, expected 1");
  EXPECT_EQ(store().Append(Request("a", kNoStream)).status().code(), StatusCode::kConflict);
  EXPECT_EQ(MustAppend(Request("a", 3)).stream_version, 4u);
  expected["a"] = 4;
  ChainVerifier verifier;
  EXPECT_TRUE(VerifyLog(store(), &verifier).ok());
  storage_.reset();
  std::string format;
  EXPECT_EQ(RawStreamHeads(&format), expected);
  EXPECT_EQ(format, "2");

  // A directory that lost its format marker is treated the same way.
  RewindToFormat1("");
  Open();
  EXPECT_EQ(*store().StreamVersion("a"), 4u);
  storage_.reset();
  EXPECT_EQ(RawStreamHeads(&format), expected);
  EXPECT_EQ(format, "2");
}

TEST_F(EventStoreTest, StreamHeadsThatDisagreeWithTheLogAreRebuilt) {
  MustAppend(Request("workflow-x", kNoStream, "org_1", 2));
  MustAppend(Request("workflow-y", kNoStream));
  storage_.reset();
  // Format 2, but the last event's stream has no head: the set was damaged.
  RewindToFormat1("2", {{"workflow-x", 2}});
  Open();
  EXPECT_EQ(*store().StreamVersion("workflow-y"), 1u);
  EXPECT_EQ(store().Append(Request("workflow-y", kNoStream)).status().code(), StatusCode::kConflict);
  storage_.reset();
  EXPECT_EQ(RawStreamHeads(), (std::map<std::string, Version>{{"workflow-x", 2}, {"workflow-y", 1}}));
}

TEST_F(EventStoreTest, EmptyDirectoryIsWrittenInTheCurrentFormat) {
  storage_.reset();
  std::string format;
  EXPECT_TRUE(RawStreamHeads(&format).empty());
  EXPECT_EQ(format, "2");
}

TEST_F(EventStoreTest, UnknownFormatIsRefused) {
  MustAppend(Request("workflow-x", kNoStream));
  storage_.reset();
  RewindToFormat1("3", {{"workflow-x", 1}});
  StatusOr<std::unique_ptr<RocksStorage>> opened = RocksStorage::Open(dir_.path());
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
}

TEST_F(EventStoreTest, UnsyncedStoreWorksToo) {
  StorageOptions options;
  options.sync = false;
  options.max_batch_events = 2;
  Open(options);
  for (int i = 0; i < 10; ++i) MustAppend(Request("workflow-x", kAnyVersion, "org_1", 3));
  EXPECT_EQ(store().HeadPosition(), 30u);
}

}  // namespace
}  // namespace ledgerflow::events
