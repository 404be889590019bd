// Routes of the Workflows and Versions API (DESIGN.md). Each handler parses, makes
// one service call and maps the result.
#pragma once

#include "api/router.h"
#include "service/workflow_service.h"

namespace ledgerflow::api {

void AddWorkflowRoutes(Router& router, service::WorkflowService& workflows);

}  // namespace ledgerflow::api
