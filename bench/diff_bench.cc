// Validation and diff of a large workflow definition: what an update (validate) and
// GET /api/workflows/{id}/diff (diff + summary) cost at the 1,000-step limit.
// Target from the issue: validate + diff together under 1 ms.
//
// The two versions: "from" has 999 steps, "to" inserts one step at the front and
// modifies one step in the middle, so "to" has exactly 1,000 steps (the validation
// limit, ValidationOptions::max_steps). Steps form a dependency chain (each depends on
// the one before) with http_request configs, which is the worst realistic case for the
// cycle and dependency checks.
//
//   diff_bench --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/definition.h"
#include "core/json.h"
#include "core/json_diff.h"

namespace {

using namespace ledgerflow;

constexpr int kSteps = 1000;

// Appends the parts in order. (g++ 12 at -O3 gives a false -Wrestrict on
// `"literal" + std::string`, which -Werror turns into a failed Release build.)
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

std::string StepJson(const std::string& id, const std::string& depends_on,
                     const std::string& url) {
  std::string s = Cat(R"({"id":")", id, R"(","name":"Step )", id,
                      R"(","type":"http_request","config":{"url":")", url,
                      R"(","method":"POST","headers":{"content-type":"application/json"},)"
                      R"("timeout_seconds":30},"retry":{"max_attempts":3})");
  if (!depends_on.empty()) s += Cat(R"(,"depends_on":[")", depends_on, R"("])");
  s += "}";
  return s;
}

// Steps s1..s999 in a chain; `to` prepends "s0" (s1 now depends on it) and changes
// the URL of s500.
std::string DefinitionJson(bool to) {
  std::string s = R"({"name":"big workflow","description":"1,000-step benchmark","steps":[)";
  bool first = true;
  auto add = [&](const std::string& step) {
    if (!first) s += ",";
    first = false;
    s += step;
  };
  if (to) add(StepJson("s0", "", "https://example.com/0"));
  for (int i = 1; i < kSteps; ++i) {
    std::string dep = i > 1 ? Cat("s", std::to_string(i - 1)) : (to ? "s0" : "");
    std::string url = Cat("https://example.com/", std::to_string(i));
    if (to && i == kSteps / 2) url += "?changed=1";
    add(StepJson(Cat("s", std::to_string(i)), dep, url));
  }
  s += "]}";
  return s;
}

json::Document MustParse(const std::string& text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok()) {
    std::fprintf(stderr, "diff_bench: bad fixture: %s\n", parsed.status().message().c_str());
    std::abort();
  }
  return std::move(parsed).value();
}

struct Fixture {
  std::string from_text = DefinitionJson(false);
  std::string to_text = DefinitionJson(true);
  json::Document from = MustParse(from_text);
  json::Document to = MustParse(to_text);
  core::ValidationOptions options;

  Fixture() {
    // Check once that the fixture is what the benchmark claims to measure.
    auto errors = core::ValidateDefinition(to, options);
    if (!errors.empty()) {
      std::fprintf(stderr, "diff_bench: fixture invalid: %s\n", errors.front().c_str());
      std::abort();
    }
    std::string summary = SummarizeDefinitionChange(from, to);
    json::Document patch = Diff(from, to);
    std::fprintf(stderr, "diff_bench: to = %zu bytes, %u steps; summary \"%s\"; patch %u ops\n",
                 to_text.size(), to["steps"].Size(), summary.c_str(),
                 patch.IsArray() ? patch.Size() : 0u);
  }
};

const Fixture& F() {
  static const Fixture f;
  return f;
}

void BM_Parse1000Steps(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) {
    auto doc = json::Parse(f.to_text);
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.to_text.size()));
}
BENCHMARK(BM_Parse1000Steps)->Unit(benchmark::kMicrosecond);

void BM_Validate1000Steps(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) {
    auto errors = core::ValidateDefinition(f.to, f.options);
    benchmark::DoNotOptimize(errors);
  }
}
BENCHMARK(BM_Validate1000Steps)->Unit(benchmark::kMicrosecond);

void BM_Diff1000Steps(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) {
    json::Document patch = Diff(f.from, f.to);
    benchmark::DoNotOptimize(patch);
  }
}
BENCHMARK(BM_Diff1000Steps)->Unit(benchmark::kMicrosecond);

void BM_Summarize1000Steps(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) {
    std::string summary = SummarizeDefinitionChange(f.from, f.to);
    benchmark::DoNotOptimize(summary);
  }
}
BENCHMARK(BM_Summarize1000Steps)->Unit(benchmark::kMicrosecond);

// The figure the 1 ms target is about: validate the new version, then diff it
// against the old one and summarise the change (what the diff endpoint returns).
void BM_ValidatePlusDiff1000Steps(benchmark::State& state) {
  const auto& f = F();
  for (auto _ : state) {
    auto errors = core::ValidateDefinition(f.to, f.options);
    json::Document patch = Diff(f.from, f.to);
    std::string summary = SummarizeDefinitionChange(f.from, f.to);
    benchmark::DoNotOptimize(errors);
    benchmark::DoNotOptimize(patch);
    benchmark::DoNotOptimize(summary);
  }
}
BENCHMARK(BM_ValidatePlusDiff1000Steps)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
