// Validation of workflow definitions: every error, in a stable order, with the
// messages DESIGN.md gives. This file checks the structure (steps or stages), ids and
// the dependency graph; the rules for each step's own fields are in step_rules.cc.
#include "core/definition.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/internal/definition_util.h"
#include "core/internal/step_rules.h"
#include "core/internal/validation_report.h"
#include "core/utf8.h"

namespace ledgerflow::core {
namespace {

using json::Value;
using internal::ConfigValue;
using internal::ErrorList;
using internal::IdValue;
using internal::PreviousNonEmpty;
using internal::Quote;
using internal::RankStages;
using internal::Shown;
using internal::Str;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '.' || c == '-';
}


// One entry of a "steps" array, as found before it is checked.
struct Slot {
  const Value* value = nullptr;
  int stage = -1;                   // -1 in the steps form
  const Value* id_value = nullptr;  // "id" (or "name" in the staged form), any type
  const char* id_key = "id";
  std::string_view id;              // empty when missing or not a string
  bool member = false;  // first step with this id: a node of the dependency graph
  std::string label;    // how messages name the step
};

class Validator {
 public:
  Validator(const Value& definition, const ValidationOptions& options)
      : def_(definition), options_(options), errors_(options.max_errors) {}

  std::vector<std::string> Run() && {
    if (!def_.IsObject()) {
      errors_.Add(std::string("Definition must be an object, got ") + json::TypeName(def_));
      return std::move(errors_).Take();
    }
    CheckDefinitionFields();
    const Value* steps = json::Find(def_, "steps");
    const Value* stages = json::Find(def_, "stages");
    if (steps && stages) {
      errors_.Add("Definition must have either 'steps' or 'stages', not both");
    } else if (!steps && !stages) {
      errors_.Add("Definition must have 'steps' or 'stages'");
    } else if (steps) {
      if (!steps->IsArray()) {
        TypeError("Definition", "steps", "an array", *steps);
      } else {
        CollectSteps(*steps, -1, "");
      }
    } else if (!stages->IsArray()) {
      TypeError("Definition", "stages", "an array", *stages);
    } else {
      staged_ = true;
      if (!CollectStages(*stages)) return std::move(errors_).Take();
    }
    if (slots_.size() > options_.max_steps) {
      errors_.Add("Definition has " + std::to_string(slots_.size()) + " steps; the limit is " +
                  std::to_string(options_.max_steps));
      return std::move(errors_).Take();
    }
    IndexIds();
    for (size_t i = 0; i < slots_.size(); ++i) CheckStep(i);
    FindCycle();
    return std::move(errors_).Take();
  }

 private:
  void TypeError(std::string_view who, std::string_view field, std::string_view expected,
                 const Value& got) {
    internal::TypeError(errors_, who, field, expected, got);
  }

  void CheckDefinitionFields() {
    const Value* name = json::Find(def_, "name");
    if (!name) {
      errors_.Add("Definition is missing 'name'");
    } else if (!name->IsString()) {
      TypeError("Definition", "name", "a string", *name);
    } else if (name->GetStringLength() == 0) {
      errors_.Add("Definition: 'name' must not be empty");
    } else if (utf8::CodePoints(Str(*name)) > options_.max_name_length) {
      errors_.Add("Definition: 'name' must be at most " +
                  std::to_string(options_.max_name_length) + " characters");
    }
    if (const Value* v = json::Find(def_, "description"); v && !v->IsString()) {
      TypeError("Definition", "description", "a string", *v);
    }
    if (const Value* v = json::Find(def_, "inputs"); v && !v->IsObject()) {
      TypeError("Definition", "inputs", "an object (a JSON Schema)", *v);
    }
    if (const Value* v = json::Find(def_, "metadata"); v && !v->IsObject()) {
      TypeError("Definition", "metadata", "an object", *v);
    }
    if (const Value* v = json::Find(def_, "max_concurrent_runs");
        v && !(v->IsInt64() && v->GetInt64() >= 1 && v->GetInt64() <= 1000)) {
      errors_.Add("Definition: 'max_concurrent_runs' must be an integer from 1 to 1000, got " +
                  json::Serialize(*v).substr(0, 40));
    }
  }

  // Returns false when there are too many stages to look at.
  bool CollectStages(const Value& stages) {
    if (stages.Size() > options_.max_steps) {
      errors_.Add("Definition has " + std::to_string(stages.Size()) +
                  " stages; the limit is " + std::to_string(options_.max_steps));
      return false;
    }
    std::unordered_set<std::string_view> names;
    for (rapidjson::SizeType i = 0; i < stages.Size(); ++i) {
      const Value& stage = stages[i];
      std::string label = "Stage at index " + std::to_string(i);
      if (!stage.IsObject()) {
        errors_.Add(label + " must be an object, got " + json::TypeName(stage));
        continue;
      }
      const Value* name = json::Find(stage, "name");
      if (!name) {
        errors_.Add(label + " is missing 'name'");
      } else if (!name->IsString() || name->GetStringLength() == 0) {
        TypeError(label, "name", "a non-empty string", *name);
      } else {
        label = "Stage " + Quote(Str(*name));
        if (!names.insert(Str(*name)).second) {
          errors_.Add("Duplicate stage name " + Quote(Str(*name)));
        }
      }
      const Value* order = json::Find(stage, "order");
      if (!order) {
        errors_.Add(label + " is missing 'order'");
      } else if (!order->IsInt64()) {
        errors_.Add(label + ": 'order' must be an integer, got " + Shown(*order));
      }
      const Value* steps = json::Find(stage, "steps");
      if (!steps) {
        errors_.Add(label + " is missing 'steps'");
      } else if (!steps->IsArray()) {
        TypeError(label, "steps", "an array", *steps);
      } else {
        // "Stage 'B'" -> "Step at index 0 of stage 'B'".
        CollectSteps(*steps, static_cast<int>(i), " of stage" + label.substr(5));
      }
    }
    return true;
  }

  void CollectSteps(const Value& steps, int stage, const std::string& where) {
    for (rapidjson::SizeType i = 0; i < steps.Size(); ++i) {
      Slot& slot = slots_.emplace_back();
      slot.value = &steps[i];
      slot.stage = stage;
      if (steps[i].IsObject()) {
        slot.id_value = IdValue(steps[i], staged_, &slot.id_key);
        if (slot.id_value && slot.id_value->IsString()) slot.id = Str(*slot.id_value);
      }
      // By id when it can name the step, else by position.
      if (!slot.id.empty() && slot.id.size() <= options_.max_id_length) {
        slot.label = "Step '";
        slot.label.append(slot.id).push_back('\'');
      } else {
        slot.label = "Step at index " + std::to_string(i) + where;
      }
    }
  }

  void IndexIds() {
    ids_.reserve(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& slot = slots_[i];
      if (slot.id.empty()) continue;
      slot.member = ids_.emplace(slot.id, i).second;
    }
  }

  bool Exists(std::string_view id) const { return ids_.count(id) > 0; }

  void CheckStep(size_t index) {
    const Slot& slot = slots_[index];
    const Value& step = *slot.value;
    if (!step.IsObject()) {
      errors_.Add(slot.label + " must be an object, got " + json::TypeName(step));
      return;
    }
    CheckId(slot);
    // Once per id, where it is first repeated.
    if (!slot.id.empty() && !slot.member && repeated_.insert(slot.id).second) {
      errors_.Add("Duplicate step id " + Quote(slot.id));
    }
    std::string_view type;
    if (const Value* t = json::Find(step, "type"); !t) {
      errors_.Add(slot.label + " is missing 'type'");
    } else if (!t->IsString() || t->GetStringLength() == 0) {
      TypeError(slot.label, "type", "a non-empty string", *t);
    } else {
      type = Str(*t);
      rules_.CheckTypeName(slot.label, type, "type");
    }
    const char* config_key = "config";
    const Value* config = ConfigValue(step, staged_, &config_key);
    if (config && !config->IsObject()) {
      TypeError(slot.label, config_key, "an object", *config);
    } else {
      if (IsBuiltinStepType(type)) rules_.CheckConfig(slot.label, type, config, config_key, 0);
      if (config) rules_.CheckTemplateRefs(slot.label, *config, config_key);
    }
    if (const Value* deps = json::Find(step, "depends_on")) CheckDependsOn(slot, index, *deps);
    if (const Value* retry = json::Find(step, "retry")) rules_.CheckRetry(slot.label, *retry);
    if (const Value* t = json::Find(step, "timeout_seconds")) {
      rules_.PositiveNumber(slot.label, "timeout_seconds", *t);
    }
  }

  void CheckId(const Slot& slot) {
    const char* key = slot.id_key;
    const Value* id = slot.id_value;
    if (!id) {
      errors_.Add(slot.label + (staged_ ? " is missing 'id' (or 'name')" : " is missing 'id'"));
    } else if (!id->IsString()) {
      TypeError(slot.label, key, "a string", *id);
    } else if (slot.id.empty()) {
      errors_.Add(slot.label + ": " + Quote(key) + " must not be empty");
    } else if (slot.id.size() > options_.max_id_length) {
      errors_.Add(slot.label + ": " + Quote(key) + " must be at most " +
                  std::to_string(options_.max_id_length) + " characters");
    } else if (!std::all_of(slot.id.begin(), slot.id.end(), IsIdChar)) {
      errors_.Add(slot.label + ": " + Quote(key) +
                  " may contain only letters, digits, '_', '.' and '-'");
    }
  }

  void CheckDependsOn(const Slot& slot, size_t index, const Value& deps) {
    if (!deps.IsArray()) {
      TypeError(slot.label, "depends_on", "an array of strings", deps);
      return;
    }
    for (rapidjson::SizeType i = 0; i < deps.Size(); ++i) {
      const Value& dep = deps[i];
      if (!dep.IsString()) {
        errors_.Add(slot.label + ": 'depends_on' must be an array of strings, got " +
                    json::TypeName(dep) + " at index " + std::to_string(i));
        continue;
      }
      auto it = ids_.find(Str(dep));
      if (it == ids_.end()) {
        errors_.Add(slot.label + " depends on " + Quote(Str(dep)) + " which doesn't exist");
      } else if (slot.member) {
        edges_.emplace_back(static_cast<int>(index), static_cast<int>(it->second));
      }
    }
  }

  // Reports one dependency cycle, found by an iterative DFS from each step in document
  // order. In the staged form each stage gets a barrier node that depends on every
  // step of the previous stage, so implicit dependencies cost O(steps), not O(steps^2).
  void FindCycle() {
    const int steps = static_cast<int>(slots_.size());
    int nodes = steps;
    if (staged_) {
      const Value& stages = *json::Find(def_, "stages");
      nodes += static_cast<int>(stages.Size());
      std::vector<bool> has_steps(stages.Size(), false);
      for (const Slot& slot : slots_) {
        if (slot.member) has_steps[slot.stage] = true;
      }
      std::vector<int> previous = PreviousNonEmpty(RankStages(stages), has_steps);
      // Only stages with steps get a barrier; each is the follower of at most one
      // stage, so there are at most two barrier edges per step.
      std::vector<int> follower(stages.Size(), -1);
      for (size_t s = 0; s < previous.size(); ++s) {
        if (has_steps[s] && previous[s] >= 0) follower[previous[s]] = static_cast<int>(s);
      }
      for (int i = 0; i < steps; ++i) {
        const Slot& slot = slots_[i];
        if (slot.member && previous[slot.stage] >= 0) edges_.emplace_back(i, steps + slot.stage);
      }
      for (int i = 0; i < steps; ++i) {
        const Slot& slot = slots_[i];
        if (slot.member && follower[slot.stage] >= 0) {
          edges_.emplace_back(steps + follower[slot.stage], i);
        }
      }
    }
    // Compressed adjacency, keeping each node's edges in insertion order.
    std::vector<int> start(nodes + 1, 0);
    for (const auto& e : edges_) ++start[e.first + 1];
    for (int i = 0; i < nodes; ++i) start[i + 1] += start[i];
    std::vector<int> adjacency(edges_.size());
    std::vector<int> fill(start.begin(), start.end() - 1);
    for (const auto& e : edges_) adjacency[fill[e.first]++] = e.second;

    enum : uint8_t { kWhite, kGray, kBlack };
    std::vector<uint8_t> color(nodes, kWhite);
    std::vector<std::pair<int, int>> stack;  // node, next edge
    for (int root = 0; root < steps; ++root) {
      if (color[root] != kWhite) continue;
      color[root] = kGray;
      stack.emplace_back(root, start[root]);
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == start[node + 1]) {
          color[node] = kBlack;
          stack.pop_back();
          continue;
        }
        int to = adjacency[next++];
        if (color[to] == kWhite) {
          color[to] = kGray;
          stack.emplace_back(to, start[to]);
        } else if (color[to] == kGray) {
          ReportCycle(stack, to, steps);
          return;
        }
      }
    }
  }

  void ReportCycle(const std::vector<std::pair<int, int>>& stack, int target, int steps) {
    auto it = std::find_if(stack.begin(), stack.end(),
                           [target](const auto& frame) { return frame.first == target; });
    std::vector<std::string_view> path;
    for (; it != stack.end(); ++it) {
      if (it->first < steps) path.push_back(slots_[it->first].id);  // barriers are not steps
    }
    if (path.empty()) return;  // cannot happen: barriers point only at steps
    std::string message = "Cycle detected: ";
    for (std::string_view id : path) {
      message += id;
      message += " \u2192 ";
    }
    message += path.front();
    errors_.Add(std::move(message));
  }

  const Value& def_;
  const ValidationOptions& options_;
  ErrorList errors_;
  internal::StepRules rules_{errors_, options_, [this](std::string_view id) { return Exists(id); }};
  bool staged_ = false;
  std::vector<Slot> slots_;
  std::unordered_map<std::string_view, size_t> ids_;  // id -> first slot
  std::unordered_set<std::string_view> repeated_;     // duplicate ids already reported
  std::vector<std::pair<int, int>> edges_;             // dependent -> dependency
};

}  // namespace

std::vector<std::string> ValidateDefinition(const json::Value& definition,
                                            const ValidationOptions& options) {
  return Validator(definition, options).Run();
}

Status CheckDefinition(const json::Value& definition, const ValidationOptions& options) {
  std::vector<std::string> errors = ValidateDefinition(definition, options);
  if (errors.empty()) return Status::Ok();
  return InvalidArgument("Invalid workflow definition", std::move(errors))
      .WithReason("validation_failed");
}

}  // namespace ledgerflow::core
