#include "core/definition.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/internal/definition_util.h"

namespace ledgerflow::core {
namespace internal {

using json::Value;

// The step's id value: "id", or in the staged form "name" when "id" is absent.
const Value* IdValue(const Value& step, bool staged, const char** key) {
  *key = "id";
  const Value* id = json::Find(step, "id");
  if (!id && staged && (id = json::Find(step, "name"))) *key = "name";
  return id;
}

// The step's config value: "config", or in the staged form "configuration".
const Value* ConfigValue(const Value& step, bool staged, const char** key) {
  *key = "config";
  const Value* config = json::Find(step, "config");
  if (!config && staged && (config = json::Find(step, "configuration"))) *key = "configuration";
  return config;
}

// Stage indices in execution order: by integer "order", ties by position. A stage
// without a valid "order" (which validation rejects) ranks by its position.
std::vector<int> RankStages(const Value& stages) {
  std::vector<std::pair<int64_t, int>> keyed;
  for (rapidjson::SizeType i = 0; i < stages.Size(); ++i) {
    const Value* order = json::Find(stages[i], "order");
    keyed.emplace_back(order && order->IsInt64() ? order->GetInt64() : int64_t{i},
                       static_cast<int>(i));
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int> ranked;
  for (const auto& [order, index] : keyed) ranked.push_back(index);
  return ranked;
}

// For each stage, the nearest stage before it (in rank) that has steps, or -1.
std::vector<int> PreviousNonEmpty(const std::vector<int>& ranked,
                                  const std::vector<bool>& has_steps) {
  std::vector<int> previous(ranked.size(), -1);
  int last = -1;
  for (int stage : ranked) {
    previous[stage] = last;
    if (has_steps[stage]) last = stage;
  }
  return previous;
}

}  // namespace internal

namespace {

using json::Value;
using internal::ConfigValue;
using internal::IdValue;
using internal::Str;

void AppendStep(const Value& step, bool staged, int stage, std::vector<StepRef>& out) {
  if (!step.IsObject()) return;
  const char* key = nullptr;
  const Value* id = IdValue(step, staged, &key);
  if (!id || !id->IsString() || id->GetStringLength() == 0) return;
  StepRef ref;
  ref.id = std::string(Str(*id));
  if (auto type = json::GetString(step, "type")) ref.type = std::move(*type);
  if (const Value* deps = json::Find(step, "depends_on"); deps && deps->IsArray()) {
    for (const Value& dep : deps->GetArray()) {
      if (dep.IsString()) ref.depends_on.emplace_back(Str(dep));
    }
  }
  const Value* config = ConfigValue(step, staged, &key);
  ref.config = config && config->IsObject() ? config : nullptr;
  ref.step = &step;
  ref.stage_index = stage;
  out.push_back(std::move(ref));
}

}  // namespace

bool IsBuiltinStepType(std::string_view type) {
  return std::find(internal::kBuiltinTypes.begin(), internal::kBuiltinTypes.end(), type) !=
         internal::kBuiltinTypes.end();
}

DefinitionView ViewDefinition(const json::Value& definition) {
  DefinitionView view;
  if (!definition.IsObject()) return view;
  const Value* stages = json::Find(definition, "stages");
  if (!stages || !stages->IsArray()) {
    const Value* steps = json::Find(definition, "steps");
    if (steps && steps->IsArray()) {
      for (const Value& step : steps->GetArray()) AppendStep(step, false, -1, view.steps);
    }
    return view;
  }
  view.form = DefinitionForm::kStaged;
  std::vector<std::vector<size_t>> members(stages->Size());
  for (rapidjson::SizeType s = 0; s < stages->Size(); ++s) {
    const Value* steps = json::Find((*stages)[s], "steps");
    if (!steps || !steps->IsArray()) continue;
    for (const Value& step : steps->GetArray()) {
      size_t before = view.steps.size();
      AppendStep(step, true, static_cast<int>(s), view.steps);
      if (view.steps.size() > before) members[s].push_back(before);
    }
  }
  std::vector<bool> has_steps(members.size());
  for (size_t s = 0; s < members.size(); ++s) has_steps[s] = !members[s].empty();
  std::vector<int> previous = internal::PreviousNonEmpty(internal::RankStages(*stages), has_steps);
  for (StepRef& ref : view.steps) {
    int prev = previous[ref.stage_index];
    if (prev < 0) continue;
    for (size_t m : members[prev]) ref.implicit_depends_on.push_back(view.steps[m].id);
  }
  return view;
}

}  // namespace ledgerflow::core
