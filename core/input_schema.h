// Run inputs checked against a definition's "inputs" JSON Schema (draft 4, RapidJSON's
// validator). Pure and thread-safe.
#pragma once

#include "core/json.h"
#include "core/status.h"

namespace ledgerflow::core {

// OK when `input` satisfies `schema` (or `schema` is null). Otherwise InvalidArgument
// (reason "invalid_input") naming the JSON Pointer that failed and the keyword, e.g.
// "input_data/count fails the schema's 'minimum' (#/properties/count)".
Status ValidateRunInput(const json::Value* schema, const json::Value& input);

}  // namespace ledgerflow::core
