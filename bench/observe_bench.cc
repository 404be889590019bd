// What each request pays to be observed: its metrics (RecordRequest: counter and
// duration histogram of its route and status, bytes) and its access-log line (text and
// JSON, written to /dev/null and, as a server does, appended to a file), beside the
// framing of the same GET request by our own parser in the same run (the baseline:
// work every request does anyway).
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <benchmark/benchmark.h>

#include "api/http_metrics.h"
#include "api/log.h"
#include "api/request_framing.h"

namespace {

using namespace ledgerflow;

const std::string kRequest =
    "GET /api/workflows/wf_0123456789abcdef01234567 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    "Authorization: Bearer lf_key_88f5a85af385b0d0_c02cb4a6d1e2f3a4b5c6d7e8f9a0b1c2\r\n"
    "Accept: application/json\r\nUser-Agent: bench\r\n\r\n";

void BM_FrameGetRequest(benchmark::State& state) {
  for (auto _ : state) {
    api::RequestFraming framing(api::FramingLimits{});
    auto result = framing.Feed(kRequest);
    benchmark::DoNotOptimize(result);
    auto request = framing.TakeRequest();
    benchmark::DoNotOptimize(request);
  }
}
BENCHMARK(BM_FrameGetRequest);

void BM_RecordRequestMetrics(benchmark::State& state) {
  const std::string route = "/api/workflows/:id";
  const std::string method = "GET";
  for (auto _ : state) {
    api::RecordRequest(route, method, 200, 0.00031, 0, 812);
  }
}
BENCHMARK(BM_RecordRequestMetrics)->Threads(1)->Threads(2);

void AccessLine(benchmark::State& state, api::log::Format format, bool to_file = false) {
  char path[] = "/tmp/observe_bench.XXXXXX";
  const int devnull = to_file ? ::mkstemp(path) : ::open("/dev/null", O_WRONLY);
  if (to_file) ::unlink(path);  // the descriptor keeps the file while it runs
  api::log::Configure(format, api::log::Level::kInfo, devnull);
  const std::string request_id = "req_904085b700000001";
  for (auto _ : state) {
    api::log::Write(api::log::Level::kInfo, "access",
                    {{"request_id", request_id},
                     {"method", "GET"},
                     {"route", "/api/workflows/:id"},
                     {"path", "/api/workflows/wf_0123456789abcdef01234567"},
                     {"status", int64_t{200}},
                     {"duration_ms", 0.31},
                     {"bytes_in", uint64_t{0}},
                     {"bytes_out", uint64_t{812}},
                     {"key_id", "key_59d24ef7f40d89f0"},
                     {"org", "acme"}});
  }
  api::log::Configure(api::log::Format::kText, api::log::Level::kInfo, 2);
  ::close(devnull);
}
void BM_AccessLogLineText(benchmark::State& state) { AccessLine(state, api::log::Format::kText); }
void BM_AccessLogLineJson(benchmark::State& state) { AccessLine(state, api::log::Format::kJson); }
void BM_AccessLogLineTextToFile(benchmark::State& state) {
  AccessLine(state, api::log::Format::kText, /*to_file=*/true);
}
BENCHMARK(BM_AccessLogLineText);
BENCHMARK(BM_AccessLogLineJson);
BENCHMARK(BM_AccessLogLineTextToFile)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
