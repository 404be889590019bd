// Routes of the Keys API: create (the secret is shown once), list, revoke.
#pragma once

#include "api/router.h"
#include "service/key_service.h"

namespace ledgerflow::api {

void AddKeyRoutes(Router& router, service::KeyService& keys);

}  // namespace ledgerflow::api
