// Routes of the audit trail and the live event feed: raw events with their hashes,
// an NDJSON export, a chain re-check, and Server-Sent Events.
#pragma once

#include "api/router.h"
#include "api/stream_workers.h"
#include "service/audit_service.h"

namespace ledgerflow::api {

void AddAuditRoutes(Router& router, service::AuditService& audit, StreamWorkers& streams);

}  // namespace ledgerflow::api
