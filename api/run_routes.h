// Runs over HTTP: dispatch, one run with its steps, a workflow's runs and the org-wide
// search. Handlers parse, make one RunService call and render.
#pragma once

#include "api/router.h"
#include "service/run_service.h"

namespace ledgerflow::api {

void AddRunRoutes(Router& router, service::RunService& runs);

}  // namespace ledgerflow::api
