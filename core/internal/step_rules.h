// The rules for a step's own fields, beside the structure and the dependency graph that
// the validator checks: its type name, the config of the built-in types (recursively
// through loops, condition expressions included), the steps that config templates
// name, retry and timeouts. Messages go to the validator's ErrorList.
// Internal to core/.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "core/definition.h"
#include "core/internal/validation_report.h"
#include "core/json.h"

namespace ledgerflow::core::internal {

class StepRules {
 public:
  // `step_exists` answers whether a step id is defined (for condition branches).
  StepRules(ErrorList& errors, const ValidationOptions& options,
            std::function<bool(std::string_view)> step_exists)
      : errors_(errors), options_(options), step_exists_(std::move(step_exists)) {}

  // Any type may go to external workers, but a near miss of a built-in type
  // ("Script", "http-request") is a typo that would silently never run here.
  void CheckTypeName(const std::string& label, std::string_view type, std::string_view field);
  // Checks the config of a built-in step type; `config` may be null (absent) and is
  // otherwise an object. `prefix` is the config's path in messages; `depth` counts the
  // loops around it.
  void CheckConfig(const std::string& label, std::string_view type, const json::Value* config,
                   const std::string& prefix, int depth);
  // Any step's config (an object): each `{{steps.<id>...}}` placeholder must name a
  // defined step. Malformed placeholders are left to the renderer, which reports them
  // when the step runs.
  void CheckTemplateRefs(const std::string& label, const json::Value& config,
                         const std::string& prefix);
  void CheckRetry(const std::string& label, const json::Value& retry);
  void PositiveNumber(const std::string& label, const std::string& field, const json::Value& v);

 private:
  // Requires `field` of a built-in step's config to be a non-empty string.
  void RequireString(const std::string& label, const json::Value* config, const std::string& prefix,
                     const char* field);
  // A condition's expression must parse and name only defined steps.
  void CheckExpression(const std::string& label, const json::Value* config,
                       const std::string& prefix);
  // The step a loop runs per item: {"type", "config"?}.
  void CheckInnerStep(const std::string& label, const json::Value& inner, const std::string& path,
                      int depth);
  void TypeError(std::string_view who, std::string_view field, std::string_view expected,
                 const json::Value& got) {
    internal::TypeError(errors_, who, field, expected, got);
  }

  ErrorList& errors_;
  const ValidationOptions& options_;
  std::function<bool(std::string_view)> step_exists_;
};

}  // namespace ledgerflow::core::internal
