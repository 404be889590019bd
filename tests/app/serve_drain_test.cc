// SIGTERM under write load, on the real binary: every write that was stored was
// answered, and every answered write is stored; open feeds get a final event; an
// export already begun is finished, or cut visibly when the grace period ends; a
// second signal exits at once.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/json.h"
#include "tests/app/serve_process.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_client.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

using namespace std::chrono_literals;

std::set<std::string> StoredWorkflowIds(const std::string& url, const std::string& key) {
  HttpClient client(url);
  client.set_token(key);
  std::set<std::string> ids;
  for (int offset = 0;; offset += 200) {
    auto r = client.Get("/api/workflows?limit=200&offset=" + std::to_string(offset));
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = json::Parse(r.body);
    if (!doc.ok() || (*doc)["workflows"].Empty()) break;
    for (const auto& w : (*doc)["workflows"].GetArray()) ids.insert(w["id"].GetString());
  }
  return ids;
}

TEST(ServeDrainTest, SigtermUnderSixteenWritersAnswersEveryStoredWrite) {
  TempDir dir;
  const std::string data = (dir.path() / "db").string();
  std::string key;
  std::set<std::string> answered;
  std::atomic<int> refused{0}, failed{0};
  {
    ServeProcess serve(data);
    ASSERT_FALSE(serve.url().empty());
    key = serve.key();
    std::mutex mu;
    std::atomic<bool> signalled{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 16; ++w) {
      writers.emplace_back([&, w] {
        HttpClient client(serve.url());
        client.set_token(key);
        for (int i = 0;; ++i) {
          const std::string body = R"({"definition":{"name":"w)" + std::to_string(w) + "-" +
                                   std::to_string(i) +
                                   R"(","steps":[{"id":"a","type":"agent_task"}]}})";
          auto r = client.Post("/api/workflows", body);
          if (r.status == 201) {
            auto doc = json::Parse(r.body);
            std::lock_guard<std::mutex> lock(mu);
            answered.insert((*doc)["id"].GetString());
            continue;
          }
          if (r.status == 503) {
            ++refused;
          } else {
            ++failed;  // the connection was closed under the request: it was not received
          }
          // After the signal, a refusal or a closed connection ends this writer.
          if (signalled.load()) return;
          std::this_thread::sleep_for(5ms);
        }
      });
    }
    std::this_thread::sleep_for(400ms);
    signalled = true;
    const int exit_code = serve.Stop();  // SIGTERM, then waits for the exit
    for (auto& t : writers) t.join();
    EXPECT_EQ(exit_code, 0);
  }
  ASSERT_GT(answered.size(), 50u) << "the load did not run";
  ServeProcess again(data);
  ASSERT_FALSE(again.url().empty());
  const std::set<std::string> stored = StoredWorkflowIds(again.url(), key);
  std::vector<std::string> unanswered, lost;
  for (const auto& id : stored) {
    if (!answered.count(id)) unanswered.push_back(id);
  }
  for (const auto& id : answered) {
    if (!stored.count(id)) lost.push_back(id);
  }
  EXPECT_TRUE(unanswered.empty()) << unanswered.size() << " stored writes were never answered";
  EXPECT_TRUE(lost.empty()) << lost.size() << " answered writes are not stored";
  EXPECT_EQ(stored.size(), answered.size());
}

TEST(ServeDrainTest, AnOpenFeedGetsAFinalEventAndTheServerExits) {
  TempDir dir;
  ServeProcess serve((dir.path() / "db").string());
  ASSERT_FALSE(serve.url().empty());
  HttpClient feed(serve.url());
  feed.set_token(serve.key());
  HttpResponse seen;
  std::thread reader([&] {
    seen = feed.StreamUntil("/api/events/stream", {}, [](const std::string& body) {
      return body.find("event: shutdown") != std::string::npos;
    }, 15000);
  });
  std::this_thread::sleep_for(500ms);  // the feed is open
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(serve.Stop(), 0);
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_NE(seen.body.find("event: shutdown"), std::string::npos) << seen.body;
}

// Workflows whose definitions make an export of `megabytes` MiB or more: more than
// the loopback socket buffers hold, so a client that does not read holds the export.
void StoreLargeWorkflows(const std::string& url, const std::string& key, int megabytes) {
  HttpClient client(url);
  client.set_token(key);
  const std::string filler(700 * 1024, 'x');
  for (int i = 0; i < megabytes * 3 / 2; ++i) {
    auto r = client.Post("/api/workflows",
                         R"({"definition":{"name":"big-)" + std::to_string(i) +
                             R"(","steps":[{"id":"a","type":"agent_task","config":{"brief":")" +
                             filler + R"("}}]}})");
    ASSERT_EQ(r.status, 201) << r.body;
  }
}

std::string ExportRequest(const std::string& key) {
  return "GET /api/audit/events?format=ndjson HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         key + "\r\n\r\n";
}

// Reads the rest of a chunked body until the server closes; true when it ended with
// the last chunk.
bool ReadsToTheLastChunk(RawClient& client, size_t* bytes) {
  std::string body;
  for (;;) {
    std::string more = client.ReadFor(2000);
    if (more.empty()) break;
    body += more;
  }
  *bytes = body.size();
  return body.size() >= 5 && body.compare(body.size() - 5, 5, "0\r\n\r\n") == 0;
}

TEST(ServeDrainTest, AnExportBegunBeforeTheSignalIsSentWhole) {
  TempDir dir;
  ServeProcess serve((dir.path() / "db").string());
  ASSERT_FALSE(serve.url().empty());
  ASSERT_NO_FATAL_FAILURE(StoreLargeWorkflows(serve.url(), serve.key(), 12));
  RawClient client(serve.port(), 4096);
  ASSERT_TRUE(client.Send(ExportRequest(serve.key())));
  auto head = client.ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  std::this_thread::sleep_for(300ms);  // the export waits for the client to read
  serve.Signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(serve.WaitExit(0), ServeProcess::kStillRunning) << "the export was not waited for";
  size_t bytes = 0;
  EXPECT_TRUE(ReadsToTheLastChunk(client, &bytes)) << "the export was cut after " << bytes;
  EXPECT_GT(bytes, size_t{12} << 20);
  std::string output;
  EXPECT_EQ(serve.WaitExit(10000, &output), 0) << output;
}

TEST(ServeDrainTest, TheGracePeriodCutsAnExportVisiblyAndExitsOne) {
  TempDir dir;
  ServeProcess serve((dir.path() / "db").string(), {"--shutdown-grace-seconds", "1"});
  ASSERT_FALSE(serve.url().empty());
  ASSERT_NO_FATAL_FAILURE(StoreLargeWorkflows(serve.url(), serve.key(), 12));
  RawClient client(serve.port(), 4096);
  ASSERT_TRUE(client.Send(ExportRequest(serve.key())));
  ASSERT_TRUE(client.ReadHead().has_value());
  std::this_thread::sleep_for(300ms);
  const auto signalled = std::chrono::steady_clock::now();
  serve.Signal(SIGTERM);
  std::string output;
  const int code = serve.WaitExit(10000, &output);
  const auto took = std::chrono::steady_clock::now() - signalled;
  EXPECT_EQ(code, 1) << output;
  EXPECT_LT(took, 5s) << "the grace period of 1 s was not kept";
  EXPECT_NE(output.find("Grace period over: 1 requests unanswered"), std::string::npos) << output;
  size_t bytes = 0;
  EXPECT_FALSE(ReadsToTheLastChunk(client, &bytes)) << "a cut export looked whole";
}

TEST(ServeDrainTest, ASecondSignalExitsAtOnce) {
  TempDir dir;
  const std::string data = (dir.path() / "db").string();
  std::string key;
  {
    ServeProcess serve(data, {"--shutdown-grace-seconds", "60"});
    ASSERT_FALSE(serve.url().empty());
    key = serve.key();
    ASSERT_NO_FATAL_FAILURE(StoreLargeWorkflows(serve.url(), key, 12));
    RawClient client(serve.port(), 4096);
    ASSERT_TRUE(client.Send(ExportRequest(key)));
    ASSERT_TRUE(client.ReadHead().has_value());
    std::this_thread::sleep_for(300ms);
    serve.Signal(SIGTERM);
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(serve.WaitExit(0), ServeProcess::kStillRunning) << "the drain did not wait";
    const auto signalled = std::chrono::steady_clock::now();
    serve.Signal(SIGTERM);
    std::string output;
    EXPECT_EQ(serve.WaitExit(5000, &output), 1) << output;
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 2s);
    EXPECT_NE(output.find("Second signal: stopping now, 1 requests unanswered"),
              std::string::npos)
        << output;
  }
  // What was stored before is all there, and the chain verifies.
  ServeProcess again(data);
  ASSERT_FALSE(again.url().empty());
  HttpClient client(again.url());
  client.set_token(key);
  auto listed = client.Get("/api/workflows?limit=100");
  ASSERT_EQ(listed.status, 200);
  auto doc = json::Parse(listed.body);
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ((*doc)["workflows"].Size(), 18u);
  auto verified = client.Get("/api/audit/verify");
  EXPECT_EQ(verified.status, 200) << verified.body;
}

}  // namespace
}  // namespace ledgerflow::testing
