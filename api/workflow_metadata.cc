#include "api/workflow_metadata.h"

#include <optional>

#include "core/time_format.h"

namespace ledgerflow::api {
namespace {

json::Value Timestamp(int64_t ms, json::Allocator& a) {
  return json::String(core::FormatRfc3339Millis(ms), a);
}

json::Value NumberOrNull(std::optional<double> n) {
  return n ? json::Value(*n) : json::Value(rapidjson::kNullType);
}

// The RunStats members (DESIGN.md: total, by_status, last_run_at, success_rate and
// the durations of completed runs), added to `object`.
void AddStats(json::Value& object, const core::RunStats& stats, json::Allocator& a) {
  object.AddMember("total", json::Value(stats.total()), a);
  json::Value by_status(rapidjson::kObjectType);
  for (size_t i = 0; i < core::kRunStatusCount; ++i) {
    by_status.AddMember(json::Value(rapidjson::StringRef(
                            core::RunStatusName(static_cast<core::RunStatus>(i)))),
                        json::Value(stats.by_status[i]), a);
  }
  object.AddMember("by_status", by_status, a);
  object.AddMember("last_run_at",
                   stats.last_run_at_ms != 0 ? Timestamp(stats.last_run_at_ms, a)
                                             : json::Value(rapidjson::kNullType),
                   a);
  object.AddMember("success_rate", NumberOrNull(stats.success_rate()), a);
  object.AddMember("mean_duration_seconds", NumberOrNull(stats.mean_duration_seconds()), a);
  object.AddMember("p95_duration_seconds", NumberOrNull(stats.p95_duration_seconds()), a);
}

}  // namespace

json::Document WorkflowMetadataJson(const service::WorkflowMetadata& m) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  doc.AddMember("workflow_id", json::String(m.workflow_id, a), a);
  doc.AddMember("current_version", json::Value(m.current_version), a);
  doc.AddMember("version_count", json::Value(static_cast<uint64_t>(m.version_count)), a);
  doc.AddMember("rollback_count", json::Value(m.rollback_count), a);
  json::Value authors(rapidjson::kArrayType);
  for (const std::string& author : m.authors) authors.PushBack(json::String(author, a), a);
  doc.AddMember("authors", authors, a);
  doc.AddMember("created_at", Timestamp(m.created_at_ms, a), a);
  doc.AddMember("updated_at", Timestamp(m.updated_at_ms, a), a);
  if (m.last_version_at_ms) {
    doc.AddMember("last_version_at", Timestamp(*m.last_version_at_ms, a), a);
  }
  json::Value runs(rapidjson::kObjectType);
  AddStats(runs, m.runs.overall, a);
  doc.AddMember("runs", runs, a);
  json::Value by_version(rapidjson::kArrayType);
  for (const projections::VersionRunStats& v : m.runs.by_version) {
    json::Value item(rapidjson::kObjectType);
    item.AddMember("version", json::Value(v.version), a);
    AddStats(item, v.stats, a);
    by_version.PushBack(item, a);
  }
  doc.AddMember("by_version", by_version, a);
  return doc;
}

}  // namespace ledgerflow::api
