#include "api/metrics_routes.h"

#include <map>

#include "metrics/registry.h"

namespace ledgerflow::api {
namespace {

using Pistache::Http::Code;
using Pistache::Http::Method;

void Gauge(std::string& out, const std::string& name, const std::string& help,
           const std::vector<std::pair<std::string, uint64_t>>& series,
           const std::string& label = "") {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  for (const auto& [value_label, value] : series) {
    out += name;
    if (!label.empty()) out += "{" + label + "=\"" + metrics::EscapeLabelValue(value_label) + "\"}";
    out += " " + std::to_string(value) + "\n";
  }
}

// RocksDB property -> metric name and help.
const std::map<std::string, std::pair<std::string, std::string>>& RocksNames() {
  static const std::map<std::string, std::pair<std::string, std::string>> names = {
      {"rocksdb.cur-size-all-mem-tables",
       {"ledgerflow_rocksdb_memtable_bytes", "Bytes in RocksDB's memtables"}},
      {"rocksdb.estimate-pending-compaction-bytes",
       {"ledgerflow_rocksdb_pending_compaction_bytes",
        "Bytes RocksDB estimates compaction has to rewrite"}},
      {"rocksdb.num-running-compactions",
       {"ledgerflow_rocksdb_running_compactions", "Compactions running"}},
      {"rocksdb.num-running-flushes", {"ledgerflow_rocksdb_running_flushes", "Flushes running"}},
      {"rocksdb.actual-delayed-write-rate",
       {"ledgerflow_rocksdb_delayed_write_rate_bytes_per_second",
        "Write rate RocksDB slows writers to (0: not stalled)"}},
      {"rocksdb.is-write-stopped",
       {"ledgerflow_rocksdb_write_stopped", "1 while RocksDB stops writes"}},
      {"rocksdb.live-sst-files-size",
       {"ledgerflow_rocksdb_live_sst_bytes", "Bytes of the SST files in use"}},
  };
  return names;
}

}  // namespace

std::string RenderMetrics(service::Ledger& ledger) {
  std::string out = metrics::Default().Render();
  const uint64_t head = ledger.store().HeadPosition();
  Gauge(out, "ledgerflow_event_store_head_position", "Position of the log's last event",
        {{"", head}});
  std::vector<std::pair<std::string, uint64_t>> checkpoints, lags;
  for (const std::string& name : ledger.runner().Names()) {
    auto at = ledger.runner().Checkpoint(name);
    if (!at.ok()) continue;
    checkpoints.emplace_back(name, *at);
    lags.emplace_back(name, head > *at ? head - *at : 0);
  }
  Gauge(out, "ledgerflow_projection_checkpoint_position",
        "Last log position a projection has applied", checkpoints, "projection");
  Gauge(out, "ledgerflow_projection_lag_events",
        "Events of the log a projection has not applied yet", lags, "projection");
  for (const auto& [property, value] : ledger.storage().Properties()) {
    auto it = RocksNames().find(property);
    if (it == RocksNames().end()) continue;
    Gauge(out, it->second.first, it->second.second, {{"", value}});
  }
  return out;
}

void AddMetricsRoutes(Router& router, service::Ledger& ledger) {
  router.Add({Method::Get, "/metrics", std::nullopt,
              [&ledger](ApiRequest&, ResponderPtr out) {
                out->SendText(Code::Ok, RenderMetrics(ledger),
                              "text/plain; version=0.0.4; charset=utf-8");
              },
              {.summary = "Metrics in the Prometheus text format",
               .tag = "System",
               .operation_id = "getMetrics",
               .responses = {{.content = {{.type = "text/plain", .schema = "MetricsText"}}}},
               .description = "No key needed, like /healthz: expose the port only where "
                              "it may be scraped."}});
  // Ready once every read model has applied the log as it stood when serving began.
  const events::Position start_head = ledger.store().HeadPosition();
  router.Add({Method::Get, "/healthz/ready", std::nullopt,
              [&ledger, start_head](ApiRequest&, ResponderPtr out) {
                for (const std::string& name : ledger.runner().Names()) {
                  auto at = ledger.runner().Checkpoint(name);
                  if (!at.ok()) return out->SendError(at.status());
                  if (*at < start_head) {
                    return out->SendError(
                        Status(StatusCode::kUnavailable,
                               "The read model '" + name + "' is at position " +
                                   std::to_string(*at) + " of " + std::to_string(start_head))
                            .WithReason("not_ready"));
                  }
                }
                out->SendJsonText(Code::Ok, R"({"ready":true})");
              },
              {.summary = "Readiness probe",
               .tag = "System",
               .operation_id = "getReadiness",
               .responses = {{.content = {{.schema = "Readiness"}}}},
               .errors = {503},
               .description = "503 not_ready until the read models have caught up with "
                              "the log at start."}});
}

}  // namespace ledgerflow::api
