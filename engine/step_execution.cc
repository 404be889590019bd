#include "engine/step_execution.h"

#include <cmath>

#include "core/expression.h"
#include "core/time_format.h"
#include "core/utf8.h"

namespace ledgerflow::engine {
namespace {

bool StatusAccepted(const json::Value& config, long status) {
  const json::Value* expect = json::Find(config, "expect_status");
  if (expect == nullptr) return status >= 200 && status < 300;
  if (expect->IsInt64()) return expect->GetInt64() == status;
  if (expect->IsArray()) {
    for (const json::Value& v : expect->GetArray()) {
      if (v.IsInt64() && v.GetInt64() == status) return true;
    }
  }
  return false;
}

}  // namespace

json::Document RunContext(const core::RunState& run) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::Value input(rapidjson::kObjectType);
  if (auto parsed = json::Parse(run.input_data); parsed.ok()) input.CopyFrom(*parsed, a);
  doc.AddMember("input", input, a);
  json::Value steps(rapidjson::kObjectType);
  for (const core::StepRun& s : run.steps) {
    json::Value step(rapidjson::kObjectType);
    json::Value output;  // null
    if (!s.output.empty()) {
      if (auto parsed = json::Parse(s.output); parsed.ok()) output.CopyFrom(*parsed, a);
    }
    step.AddMember("output", output, a);
    step.AddMember("status", rapidjson::StringRef(core::StepStatusName(s.status)), a);
    steps.AddMember(json::String(s.step_id, a), step, a);
  }
  doc.AddMember("steps", steps, a);
  return doc;
}

StepKind KindOf(std::string_view type) {
  if (type == "condition") return StepKind::kCondition;
  if (type == "wait") return StepKind::kWait;
  if (type == "http_request" || type == "webhook") return StepKind::kHttp;
  if (type == "script") return StepKind::kScript;
  if (type == "loop") return StepKind::kLoop;
  return StepKind::kExternal;
}

StatusOr<std::string> EvaluateCondition(const json::Value& config, const json::Value& context) {
  auto text = json::GetString(config, "expression");
  if (!text) return InvalidArgument("the condition has no expression");
  auto expression = core::ParseExpression(*text);
  if (!expression.ok()) return expression.status();
  auto result = core::Evaluate(*expression, context);
  if (!result.ok()) return result.status();
  return std::string(*result ? R"({"result":true})" : R"({"result":false})");
}

StatusOr<int64_t> WaitDeadline(const json::Value& config, int64_t now_ms) {
  if (const json::Value* seconds = json::Find(config, "seconds")) {
    if (!seconds->IsNumber() || seconds->GetDouble() < 0 || seconds->GetDouble() > 1e9) {
      return InvalidArgument("'seconds' must be a number from 0 to 1e9");
    }
    return now_ms + static_cast<int64_t>(std::llround(seconds->GetDouble() * 1000));
  }
  if (auto until = json::GetString(config, "until")) {
    auto at = core::ParseRfc3339(*until);
    if (!at.ok()) return InvalidArgument("'until' is not an RFC 3339 time: " + *until);
    return *at;
  }
  return InvalidArgument("a wait step needs 'seconds' or 'until'");
}

StatusOr<HttpCall> HttpCallOf(std::string_view type, const json::Value& config,
                              int64_t timeout_ms) {
  HttpCall call;
  auto url = json::GetString(config, "url");
  if (!url || url->empty()) return InvalidArgument("the step has no url");
  call.url = *url;
  call.method = json::GetString(config, "method").value_or(type == "webhook" ? "POST" : "GET");
  bool json_body = false;
  if (const json::Value* body = json::Find(config, "body"); body && !body->IsNull()) {
    if (body->IsString()) {
      call.body = body->GetString();
    } else {
      call.body = json::Serialize(*body);
      json_body = true;
    }
  }
  bool has_content_type = false;
  if (const json::Value* headers = json::Find(config, "headers"); headers && headers->IsObject()) {
    for (const auto& m : headers->GetObject()) {
      std::string value = m.value.IsString() ? m.value.GetString() : json::Serialize(m.value);
      std::string name = m.name.GetString();
      if (name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        return InvalidArgument("header '" + name + "' holds a line break or a colon");
      }
      if (strcasecmp(name.c_str(), "content-type") == 0) has_content_type = true;
      call.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  if (json_body && !has_content_type) call.headers.emplace_back("Content-Type", "application/json");
  if (timeout_ms <= 0) {
    const json::Value* t = json::Find(config, "timeout_seconds");
    timeout_ms = t && t->IsNumber() && t->GetDouble() > 0
                     ? static_cast<int64_t>(std::ceil(t->GetDouble() * 1000))
                     : 30000;
  }
  call.timeout_ms = timeout_ms;
  return call;
}

HttpResult HttpResultOf(const json::Value& config, const HttpOutcome& outcome) {
  HttpResult result;
  if (!outcome.transport_error.empty()) {
    result.error = outcome.transport_error;
    return result;
  }
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  out.AddMember("status_code", static_cast<int64_t>(outcome.status), a);
  json::Value headers(rapidjson::kObjectType);
  for (const auto& [name, value] : outcome.headers) {
    if (headers.HasMember(name.c_str())) continue;  // the first of repeated headers
    headers.AddMember(json::String(utf8::Sanitize(name), a),
                      json::String(utf8::Sanitize(value), a), a);
  }
  out.AddMember("headers", headers, a);
  json::Value body;
  auto parsed = outcome.truncated ? StatusOr<json::Document>(InvalidArgument("cut"))
                                  : json::Parse(outcome.body);
  if (parsed.ok()) {
    body.CopyFrom(*parsed, a);
  } else {
    // Text as it came; bytes that are not UTF-8 become U+FFFD so the output stays JSON.
    body = json::String(utf8::IsValid(outcome.body) ? outcome.body
                                                          : utf8::Sanitize(outcome.body),
                        a);
  }
  out.AddMember("body", body, a);
  if (outcome.truncated) out.AddMember("body_truncated", true, a);
  if (!StatusAccepted(config, outcome.status)) {
    result.error = "HTTP " + std::to_string(outcome.status) +
                   (json::Find(config, "expect_status") ? " is not the expected status"
                                                        : " is outside 2xx");
    return result;
  }
  result.ok = true;
  result.output = json::Serialize(out);
  return result;
}

ScriptResult ScriptResultOf(const ScriptOutcome& outcome, int64_t timeout_ms) {
  ScriptResult result;
  if (!outcome.start_error.empty()) {
    result.error = outcome.start_error;
    return result;
  }
  if (outcome.timed_out) {
    result.error = "the script ran longer than its timeout (" + std::to_string(timeout_ms) +
                   " ms) and was killed with its process group";
    return result;
  }
  if (outcome.exit_code != 0) {
    std::string tail = outcome.stderr_text.size() > 300
                           ? outcome.stderr_text.substr(outcome.stderr_text.size() - 300)
                           : outcome.stderr_text;
    result.error = "the script exited with code " + std::to_string(outcome.exit_code) +
                   (tail.empty() ? "" : ": " + utf8::Sanitize(tail));
    return result;
  }
  json::Document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  out.AddMember("exit_code", outcome.exit_code, a);
  out.AddMember("stdout", json::String(utf8::Sanitize(outcome.stdout_text), a), a);
  out.AddMember("stderr", json::String(utf8::Sanitize(outcome.stderr_text), a), a);
  result.ok = true;
  result.output = json::Serialize(out);
  return result;
}

}  // namespace ledgerflow::engine
