// Helpers shared by the definition view and its validator. Internal to core/.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "core/json.h"

namespace ledgerflow::core::internal {

inline constexpr std::array<std::string_view, 6> kBuiltinTypes = {
    "http_request", "webhook", "script", "condition", "loop", "wait"};

inline std::string_view Str(const json::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// The step's id value: "id", or in the staged form "name" when "id" is absent.
const json::Value* IdValue(const json::Value& step, bool staged, const char** key);

// The step's config value: "config", or in the staged form "configuration".
const json::Value* ConfigValue(const json::Value& step, bool staged, const char** key);

// Stage indices in execution order: by integer "order", ties by position.
std::vector<int> RankStages(const json::Value& stages);

// For each stage, the nearest stage before it (in rank) that has steps, or -1.
std::vector<int> PreviousNonEmpty(const std::vector<int>& ranked,
                                  const std::vector<bool>& has_steps);

}  // namespace ledgerflow::core::internal
