// How workflow state and version records are stored in read models and shown by
// the API (DESIGN.md's workflow, summary and version objects). Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"
#include "core/status.h"
#include "core/workflow.h"

namespace ledgerflow::core {

// JSON encodings of the state and version records, for read models.
std::string EncodeWorkflowState(const WorkflowState& state);
StatusOr<WorkflowState> DecodeWorkflowState(std::string_view json_text);
std::string EncodeVersionRecord(const VersionRecord& record);
StatusOr<VersionRecord> DecodeVersionRecord(std::string_view json_text);

// The API's workflow object (DESIGN.md "GET /api/workflows/{id}").
std::string RenderWorkflowObject(const WorkflowState& state);
// The API's list summary (the object without definition and authors).
std::string RenderWorkflowSummary(const WorkflowState& state);
// The API's version object; `with_definition` for GET .../versions/{v}.
json::Document VersionObject(const VersionRecord& record, bool with_definition);


}  // namespace ledgerflow::core
