// Workflow definitions: a normalized view of either written form (flat "steps" or
// staged "stages") and the validation behind POST /api/workflows/validate, create and
// update. Pure functions over a parsed JSON value; stateless and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::core {

enum class DefinitionForm { kSteps, kStaged };

// One step of a definition, whichever form it was written in. Pointers refer into the
// definition passed to ViewDefinition(), which must outlive the view.
struct StepRef {
  // "id"; in the staged form "id" or else "name".
  std::string id;
  std::string type;
  // Dependencies as written in "depends_on".
  std::vector<std::string> depends_on;
  // Staged form only: every step of the previous non-empty stage (stages ranked by
  // "order", ties by position), since a stage runs after all steps of the one before.
  // Kept apart from depends_on so that the written definition can be reproduced.
  std::vector<std::string> implicit_depends_on;
  // "config"; in the staged form "config" or else "configuration". nullptr if absent.
  const json::Value* config = nullptr;
  // The whole step object (for fields such as "retry" and "timeout_seconds").
  const json::Value* step = nullptr;
  // Index into "stages" as written; -1 in the steps form.
  int stage_index = -1;
};

struct DefinitionView {
  DefinitionForm form = DefinitionForm::kSteps;
  // Document order: stages as written, then steps within each stage.
  std::vector<StepRef> steps;
};

// The steps of `definition` in document order. Best effort: entries that are not
// objects or have no string id are skipped, so validate first (ValidateDefinition)
// when the result drives execution. A definition with "stages" is read as staged.
DefinitionView ViewDefinition(const json::Value& definition);

struct ValidationOptions {
  // Script steps run commands on the server; refused unless it runs --allow-scripts.
  bool allow_scripts = false;
  size_t max_steps = 1000;
  size_t max_id_length = 128;
  size_t max_name_length = 200;
  // Further errors are counted in one final "... and N more errors" line, so that a
  // hostile definition cannot produce an unbounded answer.
  size_t max_errors = 100;
};

// Every problem found in `definition`, in a deterministic order (definition fields,
// stages, steps in document order, then at most one cycle); empty when valid.
// Messages are meant for API clients, e.g.
//   Step 'notify' depends on 'fetch' which doesn't exist
//   Cycle detected: step_a → step_b → step_a      (each arrow reads "depends on")
// Any non-empty step type is accepted (external workers run unknown ones); the
// built-in types http_request, webhook, script, condition, loop and wait also get
// their config checked: a condition's expression must parse (core/expression.h), and
// the steps it names, like those named by {{steps.<id>...}} placeholders in any step's
// config (core/templating.h), must exist. Linear in the size of the definition; no recursion on the
// dependency graph, so a 1,000-step chain is fine.
std::vector<std::string> ValidateDefinition(const json::Value& definition,
                                            const ValidationOptions& options = {});

// ValidateDefinition() as a Status: OK, or InvalidArgument with reason
// "validation_failed" and the errors as details.
Status CheckDefinition(const json::Value& definition, const ValidationOptions& options = {});

// True for the step types the server executes itself (and whose config is checked).
bool IsBuiltinStepType(std::string_view type);

}  // namespace ledgerflow::core
