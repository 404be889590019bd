// The JSON of GET /api/workflows/{id}/metadata (the WorkflowMetadata schema of the
// OpenAPI document). Stateless.
#pragma once

#include "core/json.h"
#include "service/workflow_service.h"

namespace ledgerflow::api {

json::Document WorkflowMetadataJson(const service::WorkflowMetadata& metadata);

}  // namespace ledgerflow::api
