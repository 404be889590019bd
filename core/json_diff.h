// Structural JSON diff producing RFC 6902 patches, and a step-aware summary of a workflow
// definition change. Stateless functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/json.h"

namespace ledgerflow {

// Returns an RFC 6902 patch (a JSON array of ops) that turns `from` into `to` when applied
// in order with ApplyJsonPatch. The result equals `to` deeply; numbers keep their exact
// form (1 vs 1.0 is a change) and members keep `to`'s order except where `to` reorders
// members that both sides share (object member order carries no meaning in JSON).
// Arrays are aligned rather than compared position by position: elements that are all
// objects with a unique string "id" (else "name") are matched by that key and moved, others
// by a bounded Myers diff, so inserting one element is one "add". Never fails; the patch
// owns all its strings. Cost is near linear for small edits; arrays whose alignment would
// cost more than a fixed budget fall back to position-by-position edits.
json::Document Diff(const json::Value& from, const json::Value& to);

// Counts of a definition change. Steps come from `def.steps` or from every
// `def.stages[*].steps`, identified by "id" (or "name" when a step has no id).
struct DefinitionChangeCounts {
  int added = 0;
  int removed = 0;
  int modified = 0;        // same identity, different content
  bool reordered = false;  // steps on both sides run in another order or another stage
  // Lower-case phrases for non-step changes, e.g. "renamed workflow", "changed inputs",
  // "changed metadata", "changed stages", in the order of the definition's members.
  std::vector<std::string> other_changes;
};

// Compares two definitions step by step; never fails (non-object input counts as
// "replaced definition").
DefinitionChangeCounts CountDefinitionChanges(const json::Value& from_def,
                                              const json::Value& to_def);

// A one-line human summary of CountDefinitionChanges, comma-separated with the first
// letter capitalised: "Added 1 step, modified 1 step", "Removed 2 steps, reordered steps,
// changed metadata", "Renamed workflow"; "No changes" when nothing differs.
std::string SummarizeDefinitionChange(const json::Value& from_def, const json::Value& to_def);

}  // namespace ledgerflow
