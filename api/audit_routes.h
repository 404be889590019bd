// Routes of the audit trail and the live event feed: raw events with their hashes,
// an NDJSON export, a chain re-check, and Server-Sent Events.
#pragma once

#include "api/router.h"
#include "api/stream_workers.h"
#include "service/audit_service.h"
#include "service/key_service.h"

namespace ledgerflow::api {

// `keys`: a live feed ends once the key it was opened with is revoked.
void AddAuditRoutes(Router& router, service::AuditService& audit,
                    const service::KeyService& keys, StreamWorkers& streams);

}  // namespace ledgerflow::api
