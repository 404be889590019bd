// The HTTP layer as a hostile client sees it: framing, limits, malformed requests,
// pipelining, connection handling and streams, spoken over raw sockets to the real
// server.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/api/workflow_http_helpers.h"
#include "tests/support/raw_client.h"

namespace ledgerflow::testing {
namespace {

using namespace std::chrono_literals;

api::ServerOptions SmallLimits() {
  api::ServerOptions o;
  o.max_body_bytes = 64 * 1024;
  o.max_request_line_bytes = 1024;
  o.max_header_bytes = 4096;
  return o;
}

class HttpHardeningTest : public ::testing::Test {
 protected:
  explicit HttpHardeningTest(api::ServerOptions options = SmallLimits())
      : server_({}, options) {}

  std::string Auth() const { return "Authorization: Bearer " + server_.owner_token() + "\r\n"; }
  std::unique_ptr<RawClient> Connect() { return std::make_unique<RawClient>(server_.port()); }

  // Sends `bytes` on a new connection; expects one error answer with `status`, the
  // JSON envelope, Connection: Close, and then the end of the connection.
  void ExpectRefusedAndClosed(const std::string& bytes, int status, const std::string& what) {
    SCOPED_TRACE(what);
    auto c = Connect();
    c->Send(bytes);
    auto r = c->ReadResponse(3000);
    ASSERT_TRUE(r.has_value()) << "no answer";
    EXPECT_EQ(r->status, status) << r->head << r->body;
    EXPECT_EQ(r->header("connection"), "Close");
    EXPECT_EQ(r->header("content-type"), "application/json");
    auto doc = json::Parse(r->body);
    ASSERT_TRUE(doc.ok()) << r->body;
    ASSERT_TRUE(doc->HasMember("error"));
    EXPECT_FALSE(Str((*doc)["error"], "code").empty());
    for (const char* leak : {"basic_string", "bad_alloc", "stoull", "stoi", "exception"}) {
      EXPECT_EQ(r->body.find(leak), std::string::npos) << r->body;
    }
    EXPECT_TRUE(c->WaitClosed(3000)) << "the connection stayed open";
    EXPECT_EQ(c->buffered(), "") << "a second answer followed the refusal";
  }

  TestServer server_;
};

TEST_F(HttpHardeningTest, OversizedContentLengthIsRefusedBeforeTheBodyIsRead) {
  auto c = Connect();
  ASSERT_TRUE(c->Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() +
                      "Content-Length: 67108864\r\nContent-Type: application/json\r\n\r\n"));
  auto r = c->ReadResponse(3000);  // answered without a byte of the body
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("connection"), "Close");
  EXPECT_NE(r->body.find("payload_too_large"), std::string::npos) << r->body;
  // What the client still sends is not parsed as requests: no second answer.
  c->Send(std::string(200 * 1024, 'G'));
  EXPECT_TRUE(c->WaitClosed(3000));
  EXPECT_EQ(c->buffered(), "");
}

TEST_F(HttpHardeningTest, ExpectContinueGetsTheRefusalInsteadOfContinue) {
  auto c = Connect();
  c->Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() +
          "Expect: 100-continue\r\nContent-Length: 10000000\r\n\r\n");
  auto r = c->ReadResponse(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c->WaitClosed(3000));
}

TEST_F(HttpHardeningTest, ExpectContinueGetsContinueThenTheAnswer) {
  const std::string body = R"({"definition":)" + Definition("exp") + "}";
  auto c = Connect();
  c->Send("POST /api/workflows/validate HTTP/1.1\r\nHost: x\r\n" + Auth() +
          "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  auto interim = c->ReadResponse(3000);
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  c->Send(body);
  auto r = c->ReadResponse(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"valid\":true"), std::string::npos) << r->body;
}

TEST_F(HttpHardeningTest, ChunkedBodyCrossingTheLimitIsRefusedAsItCrosses) {
  auto c = Connect();
  c->Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() +
          "Transfer-Encoding: chunked\r\n\r\n");
  const std::string chunk = "4000\r\n" + std::string(0x4000, ' ') + "\r\n";
  std::optional<RawResponse> r;
  for (int i = 0; i < 8 && !r; ++i) {  // 8 x 16 KiB > 64 KiB
    if (!c->Send(chunk)) break;
    r = c->ReadResponse(100);
  }
  if (!r) r = c->ReadResponse(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c->WaitClosed(3000));
}

TEST_F(HttpHardeningTest, ChunkedBodiesSplitAnywhereAreDecodedTheSame) {
  // A definition sent in 100-byte chunks, the write split at many positions, CR|LF
  // boundaries included: every split is the same valid request.
  const std::string json = R"({"definition":)" + Definition("chunky") + "}";
  std::string chunked;
  for (size_t i = 0; i < json.size(); i += 100) {
    std::string piece = json.substr(i, 100);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  const std::string head = "POST /api/workflows/validate HTTP/1.1\r\nHost: x\r\n" + Auth() +
                           "Transfer-Encoding: chunked\r\n\r\n";
  const std::string request = head + chunked;
  std::vector<size_t> splits;
  for (size_t i = head.size() - 3; i < request.size(); i += 7) splits.push_back(i);
  for (size_t i = 0; i + 1 < request.size(); ++i) {
    if (request[i] == '\r' && request[i + 1] == '\n' && i > head.size()) splits.push_back(i + 1);
  }
  auto c = Connect();
  for (size_t split : splits) {
    SCOPED_TRACE(split);
    ASSERT_TRUE(c->Send(request.substr(0, split)));
    std::this_thread::sleep_for(1ms);  // two reads on the server's side
    ASSERT_TRUE(c->Send(request.substr(split)));
    auto r = c->ReadResponse(3000);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
    ASSERT_NE(r->body.find("\"valid\":true"), std::string::npos) << r->body;
  }
}

TEST_F(HttpHardeningTest, FramingAmbiguityIsRefusedAndTheConnectionClosed) {
  const std::string post = "POST /api/workflows/validate HTTP/1.1\r\nHost: x\r\n" + Auth();
  // Each is followed by a request that must never be answered (request smuggling).
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  struct Case {
    const char* what;
    std::string headers;
    std::string body;
  };
  std::vector<Case> cases = {
      {"CL and TE", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
      {"TE and CL", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"},
      {"two different CLs", "Content-Length: 2\r\nContent-Length: 3\r\n", "{}x"},
      {"two equal CLs", "Content-Length: 2\r\nContent-Length: 2\r\n", "{}"},
      {"negative CL", "Content-Length: -1\r\n", ""},
      {"overflowing CL", "Content-Length: 99999999999999999999999999\r\n", ""},
      {"non-numeric CL", "Content-Length: abc\r\n", ""},
      {"empty CL", "Content-Length: \r\n", ""},
      {"CL list", "Content-Length: 2, 2\r\n", "{}"},
      {"TE gzip", "Transfer-Encoding: gzip\r\n", ""},
      {"TE gzip, chunked", "Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"},
      {"TE twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"},
      {"bad chunk size", "Transfer-Encoding: chunked\r\n", "zz\r\nab\r\n0\r\n\r\n"},
      {"oversized chunk size", "Transfer-Encoding: chunked\r\n",
       "fffffffffffffffffff\r\nab\r\n0\r\n\r\n"},
  };
  for (const auto& c : cases) {
    ExpectRefusedAndClosed(post + c.headers + "\r\n" + c.body + smuggled, 400, c.what);
  }
}

TEST_F(HttpHardeningTest, MalformedRequestLinesAndHeadersAre400AtOnce) {
  struct Case {
    const char* what;
    std::string request;
  };
  std::vector<Case> cases = {
      {"garbage line", "hello world\r\n\r\n"},
      {"lower-case method", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"no version", "GET /healthz\r\nHost: x\r\n\r\n"},
      {"unknown version", "GET /healthz HTTP/1.7\r\nHost: x\r\n\r\n"},
      {"HTTP/2.0 text", "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n"},
      {"header without colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n"},
      {"obs-fold", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n"},
      {"bare LF", "GET /healthz HTTP/1.1\nHost: x\n\n"},
      {"CR without LF", "GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n"},
      {"missing Host", "GET /healthz HTTP/1.1\r\n\r\n"},
      {"two Hosts", "GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"},
      {"space before colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"},
      {"NUL in a header", std::string("GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 45)},
      {"control character", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x01" "b\r\n\r\n"},
      {"DEL in a header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7f" "b\r\n\r\n"},
      {"space in the target", "GET /heal thz HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"TE on HTTP/1.0", "POST /healthz HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"odd target", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
  };
  for (const auto& c : cases) ExpectRefusedAndClosed(c.request, 400, c.what);
  ExpectRefusedAndClosed("POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 1\r\n\r\nx",
                         417, "unknown expectation");
}

TEST_F(HttpHardeningTest, LongRequestLinesAre414AndHugeHeaderBlocksAre431) {
  ExpectRefusedAndClosed("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414,
                         "long line");
  std::string headers;
  for (int i = 0; i < 100; ++i) headers += "X-Filler-" + std::to_string(i) + ": " + std::string(60, 'v') + "\r\n";
  ExpectRefusedAndClosed("GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n", 431,
                         "big header block");
  // Refused as soon as the limit is crossed, not when the block ends.
  auto c = Connect();
  c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: " + std::string(8000, 'v'));
  auto r = c->ReadResponse(3000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
}

TEST_F(HttpHardeningTest, AbsoluteFormTargetsAreRouted) {
  auto c = Connect();
  c->Send("GET http://127.0.0.1/healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto r = c->ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  c->Send("GET https://example.com/api/workflows?limit=1 HTTP/1.1\r\nHost: example.com\r\n" +
          Auth() + "\r\n");
  r = c->ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  ExpectRefusedAndClosed("GET ftp://h/healthz HTTP/1.1\r\nHost: h\r\n\r\n", 400, "ftp scheme");
}

TEST_F(HttpHardeningTest, PipelinedRequestsAreAnsweredInOrder) {
  auto c = Connect();
  c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
          "GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n"
          "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\n\r\n");
  const std::vector<std::pair<int, std::string>> expected = {{200, "one"}, {404, "two"},
                                                            {200, "three"}};
  for (const auto& [status, id] : expected) {
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value()) << id;
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->header("x-request-id"), id);
  }
  // Writes are answered in order too, and each sees the one before it.
  std::string batch;
  for (int i = 0; i < 3; ++i) {
    const std::string body = CreateBody("piped-" + std::to_string(i));
    batch += "POST /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() +
             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  batch += "GET /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() + "\r\n";
  c->Send(batch);
  for (int i = 0; i < 3; ++i) {
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_NE(r->body.find("piped-" + std::to_string(i)), std::string::npos);
  }
  auto list = c->ReadResponse();
  ASSERT_TRUE(list.has_value());
  EXPECT_NE(list->body.find("\"total\":3"), std::string::npos) << list->body;
}

TEST_F(HttpHardeningTest, ConnectionCloseAndHttp10AreHonoured) {
  {
    auto c = Connect();
    c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "Close");
    EXPECT_TRUE(c->WaitClosed());
    EXPECT_EQ(c->buffered(), "");
  }
  {
    auto c = Connect();
    c->Send("GET /healthz HTTP/1.0\r\n\r\n");
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c->WaitClosed());
  }
  {
    auto c = Connect();
    for (int i = 0; i < 2; ++i) {
      c->Send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      auto r = c->ReadResponse();
      ASSERT_TRUE(r.has_value()) << i;
      EXPECT_EQ(r->header("connection"), "Keep-Alive");
    }
  }
}

TEST_F(HttpHardeningTest, HalfClosedClientsAreAnswered) {
  {
    auto c = Connect();
    c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    c->ShutdownWrite();
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  {
    // A write is answered from the store's commit, after the server saw the close.
    const std::string body = CreateBody("half-closed");
    auto c = Connect();
    c->Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\n" + Auth() + "Content-Length: " +
            std::to_string(body.size()) + "\r\n\r\n" + body);
    c->ShutdownWrite();
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 201) << r->body;
  }
}

TEST_F(HttpHardeningTest, LargeAnswersReachSlowAndHalfClosedReaders) {
  // Answers larger than what the socket takes at once: their rest is sent as the
  // client reads, whole and in order, also when the client half-closed.
  auto client = server_.Client();
  const std::string steps = [] {
    std::string out;
    for (int i = 0; i < 150; ++i) {
      if (i) out += ",";
      out += R"({"id":"s)" + std::to_string(i) + R"(","type":"agent_task","config":{"text":")" +
             std::string(300, 'x') + R"("}})";
    }
    return out;
  }();
  const std::string body = R"({"definition":{"name":"big","steps":[)" + steps +
                           R"(]},"trigger_type":"manual"})";
  auto created = client->Post("/api/workflows", body);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Str(ParseJson(created), "id");
  for (bool half_close : {false, true}) {
    SCOPED_TRACE(half_close);
    RawClient c(server_.port(), 4096);
    const std::string get = "GET /api/workflows/" + id + " HTTP/1.1\r\nHost: x\r\n" + Auth() + "\r\n";
    c.Send(get + get);
    if (half_close) c.ShutdownWrite();
    std::this_thread::sleep_for(200ms);  // the server's writes fill the small buffer
    for (int i = 0; i < 2; ++i) {
      auto r = c.ReadResponse(5000);
      ASSERT_TRUE(r.has_value()) << i;
      EXPECT_EQ(r->status, 200);
      EXPECT_GT(r->body.size(), 45'000u);
      EXPECT_TRUE(json::Parse(r->body).ok());
      if (half_close) break;  // the second, pipelined behind it, is not answered after a close
    }
  }
}

TEST_F(HttpHardeningTest, UnknownMethodsAre405) {
  auto c = Connect();
  c->Send("PROPFIND /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c->ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("allow"), "GET, HEAD");
}

TEST_F(HttpHardeningTest, HealthzStaysQuickWhileAnUploadAndATrickleRun) {
  std::atomic<bool> done{false};
  // A client that keeps uploading (refused at 64 KiB, then sends on), and a trickle.
  std::thread upload([&] {
    while (!done) {
      RawClient c(server_.port());
      c.Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n");
      const std::string block(256 * 1024, 'x');
      for (int i = 0; i < 256 && !done && c.Send(block); ++i) {
      }
    }
  });
  std::thread trickle([&] {
    RawClient c(server_.port());
    c.Send("POST /api/workflows/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
    while (!done && c.Send(std::string(1000, ' '))) std::this_thread::sleep_for(10ms);
  });
  auto c = Connect();
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    auto start = std::chrono::steady_clock::now();
    c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = c->ReadResponse(5000);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    std::this_thread::sleep_for(5ms);
  }
  done = true;
  upload.join();
  trickle.join();
  std::sort(ms.begin(), ms.end());
  const double p99 = ms[ms.size() * 99 / 100];
  std::printf("healthz under upload and trickle: p50 %.2f ms, p99 %.2f ms\n", ms[ms.size() / 2], p99);
  // A stalled reactor shows up as seconds; the 200 ms figure is measured in bench/.
  EXPECT_LT(p99, 1000.0);
}

TEST_F(HttpHardeningTest, ADisconnectedStreamFreesItsPlaceWithinASecond) {
  // max_streams 4: one stream per organisation.
  api::ServerOptions options = SmallLimits();
  options.max_streams = 4;
  TestServer server({}, options);
  const std::string feed = "GET /api/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           server.owner_token() + "\r\n\r\n";
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(round);
    auto c = std::make_unique<RawClient>(server.port());
    c->Send(feed);
    auto r = c->ReadHead(3000);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200) << r->body;
    c->Close();
    std::this_thread::sleep_for(1s);
  }
}

class StreamTimeoutTest : public HttpHardeningTest {
 protected:
  static api::ServerOptions ShortTimeouts() {
    api::ServerOptions o = SmallLimits();
    o.request_timeout = 1s;
    o.keepalive_timeout = 2s;
    return o;
  }
  StreamTimeoutTest() : HttpHardeningTest(ShortTimeouts()) {}
};

TEST_F(StreamTimeoutTest, StreamsOutliveTheRequestAndKeepAliveTimeouts) {
  auto c = Connect();
  c->Send("GET /api/events/stream HTTP/1.1\r\nHost: x\r\n" + Auth() + "\r\n");
  auto head = c->ReadHead(3000);
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 200);
  std::string seen = c->ReadFor(4500);  // past both timeouts (checked every second)
  // A 408 would come as a second response on the connection (event data may hold "408").
  EXPECT_EQ(seen.find("HTTP/1.1 408"), std::string::npos) << seen;
  // The stream still carries events.
  auto client = server_.Client();
  ASSERT_EQ(client->Post("/api/workflows", CreateBody("after-timeouts")).status, 201);
  seen += c->ReadFor(3000, "after-timeouts");
  EXPECT_NE(seen.find("after-timeouts"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("HTTP/1.1"), std::string::npos) << seen;
}

TEST_F(StreamTimeoutTest, IdleConnectionsAreClosedAfterTheKeepAliveTimeout) {
  auto c = Connect();
  c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(c->ReadResponse().has_value());
  EXPECT_TRUE(c->WaitClosed(5000));
  EXPECT_EQ(c->buffered(), "");
  // One that never sends a request gets the request timeout.
  auto silent = Connect();
  EXPECT_TRUE(silent->WaitClosed(4000));
}

TEST_F(StreamTimeoutTest, StalledRequestsStillTimeOut) {
  auto c = Connect();
  c->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // headers never end
  auto r = c->ReadResponse(5000);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(c->WaitClosed(3000));
}

// The literal case: Pistache's default 60 s timeouts, a feed held for 65 s.
TEST(HttpStreamTest, AnEventStreamHeldPast60SecondsStaysIntact) {
  TestServer server;
  RawClient c(server.port());
  c.Send("GET /api/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
         server.owner_token() + "\r\n\r\n");
  auto head = c.ReadHead(3000);
  ASSERT_TRUE(head.has_value());
  ASSERT_EQ(head->status, 200);
  std::string seen = c.ReadFor(65'000);
  EXPECT_EQ(seen.find("HTTP/1.1"), std::string::npos) << seen;
  size_t pings = 0;
  for (size_t at = seen.find(": ping"); at != std::string::npos; at = seen.find(": ping", at + 1)) {
    ++pings;
  }
  EXPECT_GE(pings, 3u) << seen;  // one per 15 s quiet spell
}

}  // namespace
}  // namespace ledgerflow::testing
