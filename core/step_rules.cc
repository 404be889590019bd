#include "core/internal/step_rules.h"

#include <algorithm>
#include <array>
#include <vector>

#include "core/expression.h"
#include "core/templating.h"

namespace ledgerflow::core::internal {
namespace {

constexpr std::array<std::string_view, 7> kHttpMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                          "DELETE", "HEAD", "OPTIONS"};
// Loops may hold loops; a bound keeps the config walk from recursing on hostile input.
constexpr int kMaxLoopNesting = 4;
constexpr int kMaxRetryAttempts = 100;

// A JSON Pointer below a config as the dotted path the messages use:
// ("config", "/headers/X-Id") -> "config.headers.X-Id".
std::string DottedPath(const std::string& prefix, std::string_view pointer) {
  std::string out = prefix;
  for (size_t i = 0; i < pointer.size(); ++i) {
    if (pointer[i] == '/') {
      out += '.';
    } else if (pointer[i] == '~' && i + 1 < pointer.size()) {
      out += pointer[++i] == '1' ? '/' : '~';
    } else {
      out += pointer[i];
    }
  }
  return out;
}

}  // namespace

void StepRules::CheckTypeName(const std::string& label, std::string_view type,
                              std::string_view field) {
  if (type.size() > options_.max_id_length) {
    errors_.Add(label + ": " + Quote(field) + " must be at most " +
                std::to_string(options_.max_id_length) + " characters");
    return;
  }
  if (IsBuiltinStepType(type)) return;
  std::string folded(type);
  for (char& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-' || c == ' ') c = '_';
  }
  if (IsBuiltinStepType(folded)) {
    errors_.Add(label + " has unknown type " + Quote(type) + " (did you mean " + Quote(folded) +
                "?)");
  }
}

void StepRules::CheckRetry(const std::string& label, const json::Value& retry) {
  if (!retry.IsObject()) {
    TypeError(label, "retry", "an object", retry);
    return;
  }
  if (const json::Value* v = json::Find(retry, "max_attempts");
      v && !(v->IsInt64() && v->GetInt64() >= 1 && v->GetInt64() <= kMaxRetryAttempts)) {
    errors_.Add(label + ": 'retry.max_attempts' must be an integer from 1 to " +
                std::to_string(kMaxRetryAttempts) + ", got " + Shown(*v));
  }
  if (const json::Value* v = json::Find(retry, "backoff_seconds");
      v && !(v->IsNumber() && v->GetDouble() >= 0)) {
    errors_.Add(label + ": 'retry.backoff_seconds' must be a number >= 0, got " + Shown(*v));
  }
  if (const json::Value* v = json::Find(retry, "backoff_multiplier");
      v && !(v->IsNumber() && v->GetDouble() >= 1)) {
    errors_.Add(label + ": 'retry.backoff_multiplier' must be a number >= 1, got " + Shown(*v));
  }
}

void StepRules::PositiveNumber(const std::string& label, const std::string& field,
                               const json::Value& v) {
  if (!(v.IsNumber() && v.GetDouble() > 0)) {
    errors_.Add(label + ": " + Quote(field) + " must be a positive number, got " + Shown(v));
  }
}

void StepRules::RequireString(const std::string& label, const json::Value* config,
                              const std::string& prefix, const char* field) {
  const json::Value* v = config ? json::Find(*config, field) : nullptr;
  if (!v) {
    errors_.Add(label + " is missing " + Quote(prefix + "." + field));
  } else if (!v->IsString() || v->GetStringLength() == 0) {
    TypeError(label, prefix + "." + field, "a non-empty string", *v);
  }
}

void StepRules::CheckConfig(const std::string& label, std::string_view type,
                            const json::Value* config, const std::string& prefix, int depth) {
  auto field = [&](const char* name) { return config ? json::Find(*config, name) : nullptr; };
  if (type == "http_request" || type == "webhook") {
    RequireString(label, config, prefix, "url");
    if (const json::Value* m = field("method"); m) {
      if (!m->IsString() ||
          std::find(kHttpMethods.begin(), kHttpMethods.end(), Str(*m)) == kHttpMethods.end()) {
        errors_.Add(label + ": " + Quote(prefix + ".method") +
                    " must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, got " +
                    Shown(*m));
      }
    }
    if (const json::Value* h = field("headers"); h) {
      if (!h->IsObject()) {
        TypeError(label, prefix + ".headers", "an object of strings", *h);
      } else {
        for (const auto& member : h->GetObject()) {
          if (!member.value.IsString()) {
            TypeError(label, prefix + ".headers." + std::string(Str(member.name)), "a string",
                      member.value);
          }
        }
      }
    }
    if (const json::Value* t = field("timeout_seconds")) {
      PositiveNumber(label, prefix + ".timeout_seconds", *t);
    }
  } else if (type == "script") {
    if (!options_.allow_scripts) {
      errors_.Add(label + (depth == 0 ? " is a script step" : " contains a script step") +
                  "; scripts are disabled on this server (start it with --allow-scripts)");
    }
    RequireString(label, config, prefix, "command");
    if (const json::Value* t = field("timeout_seconds")) {
      PositiveNumber(label, prefix + ".timeout_seconds", *t);
    }
  } else if (type == "condition") {
    CheckExpression(label, config, prefix);
    for (const char* branch : {"if_true", "if_false"}) {
      const json::Value* targets = field(branch);
      if (!targets) continue;
      std::string path = prefix + "." + branch;
      if (!targets->IsArray()) {
        TypeError(label, path, "an array of step ids", *targets);
        continue;
      }
      for (const json::Value& target : targets->GetArray()) {
        if (!target.IsString()) {
          errors_.Add(label + ": " + Quote(path) + " must be an array of step ids, got " +
                      json::TypeName(target));
        } else if (!step_exists_(Str(target))) {
          errors_.Add(label + ": " + Quote(path) + " names " + Quote(Str(target)) +
                      " which doesn't exist");
        }
      }
    }
  } else if (type == "loop") {
    const json::Value* items = field("items");
    if (!items) {
      errors_.Add(label + " is missing " + Quote(prefix + ".items"));
    } else if (!items->IsArray() && !items->IsString()) {
      TypeError(label, prefix + ".items", "an array or a template string", *items);
    }
    const json::Value* inner = field("step");
    std::string path = prefix + ".step";
    if (!inner) {
      errors_.Add(label + " is missing " + Quote(path));
    } else if (!inner->IsObject()) {
      TypeError(label, path, "an object", *inner);
    } else if (depth + 1 > kMaxLoopNesting) {
      errors_.Add(label + ": loops are nested more than " + std::to_string(kMaxLoopNesting) +
                  " deep");
    } else {
      CheckInnerStep(label, *inner, path, depth + 1);
    }
  } else if (type == "wait") {
    const json::Value* seconds = field("seconds");
    const json::Value* until = field("until");
    if (seconds && until) {
      errors_.Add(label + ": give either " + Quote(prefix + ".seconds") + " or " +
                  Quote(prefix + ".until") + ", not both");
    } else if (seconds) {
      if (!(seconds->IsNumber() && seconds->GetDouble() >= 0)) {
        errors_.Add(label + ": " + Quote(prefix + ".seconds") + " must be a number >= 0, got " +
                    Shown(*seconds));
      }
    } else if (until) {
      RequireString(label, config, prefix, "until");
    } else {
      errors_.Add(label + " needs " + Quote(prefix + ".seconds") + " or " +
                  Quote(prefix + ".until"));
    }
  }
}

void StepRules::CheckExpression(const std::string& label, const json::Value* config,
                                const std::string& prefix) {
  RequireString(label, config, prefix, "expression");
  const json::Value* text = config ? json::Find(*config, "expression") : nullptr;
  if (!text || !text->IsString() || text->GetStringLength() == 0) return;
  const std::string field = Quote(prefix + ".expression");
  StatusOr<Expression> expression = ParseExpression(Str(*text));
  if (!expression.ok()) {
    errors_.Add(label + ": " + field + " does not parse: " + expression.status().message());
    return;
  }
  for (const std::string& id : expression->referenced_steps()) {
    if (!step_exists_(id)) {
      errors_.Add(label + ": " + field + " names step " + Quote(id) + " which doesn't exist");
    }
  }
}

void StepRules::CheckTemplateRefs(const std::string& label, const json::Value& config,
                                  const std::string& prefix) {
  std::vector<TemplateStepRef> refs;
  // Only the step ids matter here: a malformed placeholder fails the step when it runs.
  Status malformed = CollectTemplateStepRefs(config, &refs);
  static_cast<void>(malformed);
  for (const TemplateStepRef& ref : refs) {
    if (!step_exists_(ref.step_id)) {
      errors_.Add(label + ": " + Quote(DottedPath(prefix, ref.pointer)) + " names step " +
                  Quote(ref.step_id) + " which doesn't exist");
    }
  }
}

void StepRules::CheckInnerStep(const std::string& label, const json::Value& inner,
                               const std::string& path, int depth) {
  const json::Value* t = json::Find(inner, "type");
  if (!t) {
    errors_.Add(label + " is missing " + Quote(path + ".type"));
    return;
  }
  if (!t->IsString() || t->GetStringLength() == 0) {
    TypeError(label, path + ".type", "a non-empty string", *t);
    return;
  }
  CheckTypeName(label, Str(*t), path + ".type");
  const json::Value* config = json::Find(inner, "config");
  if (config && !config->IsObject()) {
    TypeError(label, path + ".config", "an object", *config);
  } else if (IsBuiltinStepType(Str(*t))) {
    CheckConfig(label, Str(*t), config, path + ".config", depth);
  }
}

}  // namespace ledgerflow::core::internal
