#include "core/run.h"

#include <array>

#include <rapidjson/writer.h>

#include "core/time_format.h"

namespace ledgerflow::core {
namespace {

constexpr std::string_view kRunStreamPrefix = "run-";

constexpr std::array<const char*, 6> kRunStatusNames = {"pending",   "running", "paused",
                                                        "completed", "failed",  "cancelled"};
constexpr std::array<const char*, 6> kStepStatusNames = {"pending",   "running", "completed",
                                                         "failed",    "skipped", "cancelled"};

std::string Str(const json::Value& data, const char* key) {
  return json::GetString(data, key).value_or("");
}

// An RFC 3339 member as ms since the epoch; 0 when absent or malformed.
int64_t TimeMember(const json::Value& data, const char* key) {
  auto text = json::GetString(data, key);
  if (!text) return 0;
  auto ms = ParseRfc3339(*text);
  return ms.ok() ? *ms : 0;
}

std::string Compact(const json::Value* value) {
  return value == nullptr ? std::string() : json::Serialize(*value);
}

StepRun* StepOf(RunState& state, const json::Value& data) {
  auto id = json::GetString(data, "step_id");
  return id ? state.FindStep(*id) : nullptr;
}

}  // namespace

std::string RunStream(std::string_view run_id) {
  return std::string(kRunStreamPrefix) + std::string(run_id);
}

std::string_view RunIdOfStream(std::string_view stream) {
  if (stream.substr(0, kRunStreamPrefix.size()) != kRunStreamPrefix) return {};
  return stream.substr(kRunStreamPrefix.size());
}

const char* RunStatusName(RunStatus status) {
  return kRunStatusNames[static_cast<size_t>(status)];
}
const char* StepStatusName(StepStatus status) {
  return kStepStatusNames[static_cast<size_t>(status)];
}

std::optional<RunStatus> ParseRunStatus(std::string_view name) {
  for (size_t i = 0; i < kRunStatusNames.size(); ++i) {
    if (name == kRunStatusNames[i]) return static_cast<RunStatus>(i);
  }
  return std::nullopt;
}

std::optional<StepStatus> ParseStepStatus(std::string_view name) {
  for (size_t i = 0; i < kStepStatusNames.size(); ++i) {
    if (name == kStepStatusNames[i]) return static_cast<StepStatus>(i);
  }
  return std::nullopt;
}

bool IsTerminal(RunStatus status) {
  return status == RunStatus::kCompleted || status == RunStatus::kFailed ||
         status == RunStatus::kCancelled;
}

StepRun* RunState::FindStep(std::string_view step_id) {
  for (StepRun& s : steps) {
    if (s.step_id == step_id) return &s;
  }
  return nullptr;
}

const StepRun* RunState::FindStep(std::string_view step_id) const {
  return const_cast<RunState*>(this)->FindStep(step_id);
}

std::optional<double> RunState::duration_seconds() const {
  if (started_at_ms == 0 || completed_at_ms == 0) return std::nullopt;
  return static_cast<double>(completed_at_ms - started_at_ms) / 1000.0;
}

PendingEvent DispatchedEvent(const RunDispatch& d) {
  auto doc = std::make_shared<json::Document>(rapidjson::kObjectType);
  auto& a = doc->GetAllocator();
  doc->AddMember("workflow_id", json::String(d.workflow_id, a), a);
  doc->AddMember("workflow_version", d.workflow_version, a);
  json::Value input(rapidjson::kObjectType);
  if (d.input_data != nullptr) input.CopyFrom(*d.input_data, a);
  doc->AddMember("input_data", input, a);
  doc->AddMember("trigger", json::String(d.trigger, a), a);
  doc->AddMember("reason", json::String(d.reason, a), a);
  if (!d.baseline_run_id.empty()) {
    doc->AddMember("baseline_run_id", json::String(d.baseline_run_id, a), a);
  }
  if (!d.idempotency_key.empty()) {
    doc->AddMember("idempotency_key", json::String(d.idempotency_key, a), a);
    doc->AddMember("request_fingerprint", json::String(d.request_fingerprint, a), a);
  }
  json::Value steps(rapidjson::kArrayType);
  for (const std::string& id : d.steps) steps.PushBack(json::String(id, a), a);
  doc->AddMember("steps", steps, a);
  PendingEvent e;
  e.type = std::string(kRunDispatched);
  e.data = json::Serialize(*doc);
  e.parsed = std::move(doc);
  return e;
}

void EvolveRun(RunState& state, std::string_view type, const json::Value& data,
               const EventMeta& meta, std::string_view org, std::string_view run_id) {
  state.stream_version = meta.stream_version;
  if (meta.position != 0) state.last_position = meta.position;  // 0: not committed yet
  if (type == kRunDispatched) {
    state.id = std::string(run_id);
    state.org = std::string(org);
    state.actor = std::string(meta.actor);
    state.workflow_id = Str(data, "workflow_id");
    state.workflow_version = json::GetInt(data, "workflow_version").value_or(0);
    state.input_data = Compact(json::Find(data, "input_data"));
    if (state.input_data.empty()) state.input_data = "{}";
    state.trigger = Str(data, "trigger");
    state.reason = Str(data, "reason");
    state.baseline_run_id = Str(data, "baseline_run_id");
    state.idempotency_key = Str(data, "idempotency_key");
    state.request_fingerprint = Str(data, "request_fingerprint");
    state.dispatched_position = meta.position;
    state.created_at_ms = meta.at_ms;
    state.status = RunStatus::kPending;
    state.steps.clear();
    if (const json::Value* steps = json::Find(data, "steps"); steps && steps->IsArray()) {
      for (const json::Value& id : steps->GetArray()) {
        if (id.IsString()) {
          StepRun step;
          step.step_id = id.GetString();
          state.steps.push_back(std::move(step));
        }
      }
    }
  } else if (type == kRunStarted) {
    state.status = RunStatus::kRunning;
    state.started_at_ms = meta.at_ms;
  } else if (type == kStepStarted) {
    if (StepRun* s = StepOf(state, data)) {
      s->status = StepStatus::kRunning;
      s->attempt = static_cast<int>(json::GetInt(data, "attempt").value_or(s->attempt + 1));
      if (s->started_at_ms == 0) s->started_at_ms = meta.at_ms;
      s->wake_at_ms = TimeMember(data, "wake_at");
      s->retry_at_ms = 0;
      s->error.clear();
    }
  } else if (type == kStepCompleted) {
    if (StepRun* s = StepOf(state, data)) {
      s->status = StepStatus::kCompleted;
      s->output = Compact(json::Find(data, "output"));
      s->completed_at_ms = meta.at_ms;
      s->wake_at_ms = 0;
      s->error.clear();
    }
  } else if (type == kStepRetrying) {
    if (StepRun* s = StepOf(state, data)) {
      s->status = StepStatus::kRunning;
      s->error = Str(data, "error");
      s->retry_at_ms = TimeMember(data, "retry_at");
      s->wake_at_ms = 0;
    }
  } else if (type == kStepFailed) {
    if (StepRun* s = StepOf(state, data)) {
      s->status = StepStatus::kFailed;
      s->error = Str(data, "error");
      s->completed_at_ms = meta.at_ms;
      s->wake_at_ms = 0;
      s->retry_at_ms = 0;
    }
  } else if (type == kStepSkipped) {
    if (StepRun* s = StepOf(state, data)) {
      s->status = StepStatus::kSkipped;
      s->skip_reason = Str(data, "reason");
      s->completed_at_ms = meta.at_ms;
    }
  } else if (type == kLoopIterationCompleted) {
    StepRun* s = StepOf(state, data);
    auto index = json::GetInt(data, "index");
    if (s && index && *index == static_cast<int64_t>(s->iterations.size())) {
      s->iterations.push_back(Compact(json::Find(data, "output")));
      if (s->iterations.back().empty()) s->iterations.back() = "null";
    }
  } else if (type == kRunCompleted) {
    state.status = RunStatus::kCompleted;
    state.completed_at_ms = meta.at_ms;
  } else if (type == kRunFailed) {
    state.status = RunStatus::kFailed;
    state.error = Str(data, "error");
    state.completed_at_ms = meta.at_ms;
  }
}

std::string EncodeRunState(const RunState& s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  auto raw = [&](const char* key, const std::string& value) {
    w.Key(key);
    w.RawValue(value.data(), value.size(), rapidjson::kObjectType);
  };
  w.StartObject();
  str("id", s.id);
  str("org", s.org);
  str("workflow_id", s.workflow_id);
  w.Key("workflow_version");
  w.Int64(s.workflow_version);
  str("status", RunStatusName(s.status));
  str("trigger", s.trigger);
  str("reason", s.reason);
  str("actor", s.actor);
  raw("input_data", s.input_data);
  str("baseline_run_id", s.baseline_run_id);
  str("idempotency_key", s.idempotency_key);
  str("request_fingerprint", s.request_fingerprint);
  str("error", s.error);
  w.Key("stream_version");
  w.Uint64(s.stream_version);
  w.Key("dispatched_position");
  w.Uint64(s.dispatched_position);
  w.Key("last_position");
  w.Uint64(s.last_position);
  w.Key("created_at_ms");
  w.Int64(s.created_at_ms);
  w.Key("started_at_ms");
  w.Int64(s.started_at_ms);
  w.Key("completed_at_ms");
  w.Int64(s.completed_at_ms);
  w.Key("steps");
  w.StartArray();
  for (const StepRun& step : s.steps) {
    w.StartObject();
    str("step_id", step.step_id);
    str("status", StepStatusName(step.status));
    w.Key("attempt");
    w.Int(step.attempt);
    if (!step.output.empty()) raw("output", step.output);
    str("error", step.error);
    str("skip_reason", step.skip_reason);
    w.Key("started_at_ms");
    w.Int64(step.started_at_ms);
    w.Key("completed_at_ms");
    w.Int64(step.completed_at_ms);
    w.Key("wake_at_ms");
    w.Int64(step.wake_at_ms);
    w.Key("retry_at_ms");
    w.Int64(step.retry_at_ms);
    if (!step.iterations.empty()) {
      w.Key("iterations");
      w.StartArray();
      for (const std::string& it : step.iterations) w.RawValue(it.data(), it.size(), rapidjson::kObjectType);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

StatusOr<RunState> DecodeRunState(std::string_view text) {
  auto doc = json::Parse(text);
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return DataLoss("run record is not an object");
  const json::Value& d = *doc;
  auto i64 = [&](const json::Value& v, const char* key) {
    return json::GetInt(v, key).value_or(0);
  };
  RunState s;
  s.id = Str(d, "id");
  s.org = Str(d, "org");
  s.workflow_id = Str(d, "workflow_id");
  s.workflow_version = i64(d, "workflow_version");
  s.status = ParseRunStatus(Str(d, "status")).value_or(RunStatus::kPending);
  s.trigger = Str(d, "trigger");
  s.reason = Str(d, "reason");
  s.actor = Str(d, "actor");
  s.input_data = Compact(json::Find(d, "input_data"));
  s.baseline_run_id = Str(d, "baseline_run_id");
  s.idempotency_key = Str(d, "idempotency_key");
  s.request_fingerprint = Str(d, "request_fingerprint");
  s.error = Str(d, "error");
  s.stream_version = static_cast<uint64_t>(i64(d, "stream_version"));
  s.dispatched_position = static_cast<uint64_t>(i64(d, "dispatched_position"));
  s.last_position = static_cast<uint64_t>(i64(d, "last_position"));
  s.created_at_ms = i64(d, "created_at_ms");
  s.started_at_ms = i64(d, "started_at_ms");
  s.completed_at_ms = i64(d, "completed_at_ms");
  if (const json::Value* steps = json::Find(d, "steps"); steps && steps->IsArray()) {
    for (const json::Value& v : steps->GetArray()) {
      if (!v.IsObject()) continue;
      StepRun step;
      step.step_id = Str(v, "step_id");
      step.status = ParseStepStatus(Str(v, "status")).value_or(StepStatus::kPending);
      step.attempt = static_cast<int>(i64(v, "attempt"));
      step.output = Compact(json::Find(v, "output"));
      step.error = Str(v, "error");
      step.skip_reason = Str(v, "skip_reason");
      step.started_at_ms = i64(v, "started_at_ms");
      step.completed_at_ms = i64(v, "completed_at_ms");
      step.wake_at_ms = i64(v, "wake_at_ms");
      step.retry_at_ms = i64(v, "retry_at_ms");
      if (const json::Value* its = json::Find(v, "iterations"); its && its->IsArray()) {
        for (const json::Value& it : its->GetArray()) step.iterations.push_back(json::Serialize(it));
      }
      s.steps.push_back(std::move(step));
    }
  }
  return s;
}

}  // namespace ledgerflow::core
