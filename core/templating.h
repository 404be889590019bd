// Placeholders in step configs: `{{ path }}` inside any string value, replaced with
// what the path names in the run's data before the step runs. Stateless functions;
// thread-safe as long as no other thread mutates the values passed in.
//
// A path is `input...`, `steps.<step_id>...` (e.g. `steps.fetch.output.body.id`), or,
// inside a loop, `item...` and `index`; segments are made of letters, digits, '_' and
// '-', and a numeric segment indexes an array. Whitespace inside the braces is ignored.
// A string that is exactly one placeholder ("{{input.count}}") becomes the value it
// names, keeping its JSON type. Elsewhere a placeholder is replaced by text: a string as
// it is, null or a missing value as nothing, anything else as compact JSON. There is
// no escape for a literal "{{"; a lone "}}" is plain text.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::core {

// Longest string a rendering may produce.
inline constexpr size_t kMaxRenderedStringBytes = size_t{1} << 20;

// A deep copy of `config` with every placeholder in its string values (member names
// are left alone) replaced, reading from `context`:
//   {"input": ..., "steps": {"<id>": {"output": ..., "status": ...}}, "item": ..., "index": n}
// Returns InvalidArgument naming the string's JSON Pointer in `config` and its text for
// an unterminated "{{", a placeholder that is not one path, an unknown root (e.g.
// `{{foo}}`), a string that would render longer than kMaxRenderedStringBytes, or a
// config nested deeper than json::kMaxDepth. The result copies the strings of both
// (RapidJSON keeps only constant strings, made with rapidjson::StringRef, by reference).
StatusOr<json::Document> RenderTemplates(const json::Value& config, const json::Value& context);

// A step named by a `{{steps.<id>...}}` placeholder, and the JSON Pointer of the string
// in the config that holds it.
struct TemplateStepRef {
  std::string step_id;
  std::string pointer;
};

// Appends to `*refs` the steps named in `config`'s placeholders, in document order, each
// step once per string. Best effort: every string is read even when one is malformed,
// and the first problem is returned as RenderTemplates() would report it (OK if none).
Status CollectTemplateStepRefs(const json::Value& config, std::vector<TemplateStepRef>* refs);

}  // namespace ledgerflow::core
