// The real `ledgerflow serve` process under hostile connection patterns: SIGTERM
// while clients upload, and the process's descriptor limit reached.
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/app/serve_process.h"
#include "tests/support/raw_client.h"
#include "tests/support/test_server.h"

namespace ledgerflow::testing {
namespace {

using namespace std::chrono_literals;

// User plus system CPU time of `pid`, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(ServeHardeningTest, SigtermStopsTheServerPromptlyWhileClientsUpload) {
  TempDir dir;
  ServeProcess serve((dir.path() / "data").string());
  ASSERT_FALSE(serve.url().empty());
  // One upload in the middle of its body, one that never ends its headers.
  RawClient upload(serve.port());
  ASSERT_TRUE(upload.Send("POST /api/workflows HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                          std::string(300'000, ' ')));
  RawClient stalled(serve.port());
  ASSERT_TRUE(stalled.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  const int code = serve.TerminateWithin(5000);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("stopped %.0f ms after SIGTERM\n", ms);
  EXPECT_EQ(code, 0);
  EXPECT_LT(ms, 3000.0);  // it would hang for good with a stalled reactor thread
}

TEST(ServeHardeningTest, AtTheDescriptorLimitTheServerRefusesNewConnectionsAndKeepsServing) {
  TempDir dir;
  // 400 descriptors: about 144 client connections after the server's reserve.
  ServeProcess serve((dir.path() / "data").string(), {}, 400);
  ASSERT_FALSE(serve.url().empty());
  RawClient first(serve.port());
  ASSERT_TRUE(first.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(first.ReadResponse().has_value());

  std::vector<std::unique_ptr<RawClient>> crowd;
  int refused = 0;
  for (int i = 0; i < 450; ++i) {
    auto c = std::make_unique<RawClient>(serve.port());
    if (!c->connected()) continue;
    crowd.push_back(std::move(c));
  }
  std::this_thread::sleep_for(300ms);
  for (auto& c : crowd) {
    if (c->ReadFor(1, "\r\n\r\n").find(" 503 ") != std::string::npos) ++refused;
  }
  EXPECT_GT(refused, 0) << "no connection was refused at the limit";

  // Not spinning: the process uses little CPU while the crowd waits.
  const double before = CpuSeconds(serve.pid());
  std::this_thread::sleep_for(2s);
  const double used = CpuSeconds(serve.pid()) - before;
  std::printf("refused %d of %zu connections; %.2f s of CPU in 2 s at the limit\n", refused,
              crowd.size(), used);
  EXPECT_LT(used, 1.0);

  // The connections it has keep being served.
  ASSERT_TRUE(first.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = first.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);

  // Once the crowd leaves, new connections are served again.
  crowd.clear();
  std::this_thread::sleep_for(300ms);
  RawClient later(serve.port());
  ASSERT_TRUE(later.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto again = later.ReadResponse();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 200);
}

}  // namespace
}  // namespace ledgerflow::testing
