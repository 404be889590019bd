// Paths into a run's data (`input.a.0`, `steps.fetch.output.body`, `item.name`), as
// condition expressions and config templates write them: how they are scanned from
// text and resolved against a context object, and the wording of the errors both
// languages report. Stateless; thread-safe. Internal to core/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::core::internal {

// Which first segments a path may have. Expressions read the run's input and its
// steps; templates also read the loop variables `item` and `index`.
enum class PathRoots { kInputAndSteps, kInputStepsAndLoop };

// A path as its segments, root first: {"steps", "fetch", "output", "x"}.
using ValuePath = std::vector<std::string>;

// Letters, digits, '_' and '-': what a segment (and a step id after `steps.`) is made of.
bool IsPathChar(char c);

// Scans the path that starts at `text[*pos]` and advances `*pos` past it. Segments are
// runs of IsPathChar separated by single dots. Returns InvalidArgument naming the
// position (an offset into `text`) for an unknown root, `steps` without a step id,
// `index` with members, or a dot with no segment after it.
StatusOr<ValuePath> ScanPath(std::string_view text, size_t* pos, PathRoots roots);

// What `path` names inside `context`, or nullptr when nothing is there. A segment of
// digits indexes an array; on an object it is a member name like any other.
const json::Value* ResolvePath(const json::Value& context, const ValuePath& path);

// The step id a path names: its second segment when it starts with `steps`, else empty.
std::string_view StepIdOf(const ValuePath& path);

// " at position N", the suffix of every expression and template syntax error.
std::string AtPosition(size_t pos);

// One character of the text as a message shows it: '#' for printable ASCII, else
// "byte 0xC3", so that a message stays valid UTF-8 whatever the text holds.
std::string ShownChar(char c);

// `text` for a message: whole when at most `max_bytes` long, else its start, cut at a
// character boundary, and "...".
std::string Excerpt(std::string_view text, size_t max_bytes);

}  // namespace ledgerflow::core::internal
