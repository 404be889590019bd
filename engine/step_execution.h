// The built-in step types as functions of their rendered config: a condition's result,
// a wait's deadline, an HTTP step's request and the output or error its answer makes.
// The engine performs what these describe. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/json.h"
#include "core/run.h"
#include "core/status.h"
#include "engine/http_calls.h"
#include "engine/script_runs.h"

namespace ledgerflow::engine {

// The data templates and expressions read:
// {"input": <input_data>, "steps": {"<id>": {"output": ..., "status": "..."}}}.
json::Document RunContext(const core::RunState& run);

// Where a step is carried out.
enum class StepKind { kCondition, kWait, kHttp, kScript, kLoop, kExternal };
StepKind KindOf(std::string_view type);

// A condition step's output: {"result": true|false}; InvalidArgument when the
// expression does not parse or cannot be evaluated.
StatusOr<std::string> EvaluateCondition(const json::Value& config, const json::Value& context);

// When a wait step started at `now_ms` ends: now + seconds, or its `until` instant.
StatusOr<int64_t> WaitDeadline(const json::Value& config, int64_t now_ms);

// The request of an http_request or webhook step (method defaults to POST for
// webhook, GET otherwise; a non-string body is sent as JSON). `timeout_ms` of 0 means
// the config's timeout_seconds, else 30 s.
StatusOr<HttpCall> HttpCallOf(std::string_view type, const json::Value& config,
                              int64_t timeout_ms);

// The step output of an answer, {"status_code", "headers", "body"} (body parsed when it
// is JSON, "body_truncated": true when cut at 1 MiB); or the attempt's error when the
// call failed or the status is outside 2xx (or outside config.expect_status).
struct HttpResult {
  bool ok = false;
  std::string output;  // compact JSON when ok
  std::string error;
};
HttpResult HttpResultOf(const json::Value& config, const HttpOutcome& outcome);

// A script step's output {exit_code, stdout, stderr}, or the attempt's error when it
// could not start, ran past `timeout_ms` (killed with its process group) or exited
// with another code than 0.
using ScriptResult = HttpResult;
ScriptResult ScriptResultOf(const ScriptOutcome& outcome, int64_t timeout_ms);

}  // namespace ledgerflow::engine
