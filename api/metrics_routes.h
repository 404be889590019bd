// GET /metrics (Prometheus text format, no key needed, like /healthz) and
// GET /healthz/ready (503 until the read models have caught up).
#pragma once

#include "api/router.h"
#include "service/ledger.h"

namespace ledgerflow::api {

void AddMetricsRoutes(Router& router, service::Ledger& ledger);

// The registry's series followed by the ones read at scrape time: the log head,
// each projection's checkpoint and lag, RocksDB's figures.
std::string RenderMetrics(service::Ledger& ledger);

}  // namespace ledgerflow::api
