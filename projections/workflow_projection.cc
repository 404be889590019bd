#include "projections/workflow_projection.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "core/workflow_codec.h"
#include "projections/key_encoding.h"

namespace ledgerflow::projections {
namespace {

// Key layout (org ids never contain '/'):
//   wf/<org>/<id>                   -> <BE version><BE stream version><BE created
//                                      position><BE created_at_ms><BE updated_at_ms>
//                                      <the API's object>: the state is read back from
//                                      the object and these numbers
//   wfv/<org>/<id>/<BE version>     -> <BE position of the event that made it><version
//                                      record without definition>: the definition is
//                                      read from that event, stored once, in the log
//   wfl/<org>/<BE ~created_pos>     -> state without definition, newest first
//   wfn/<org>                       -> <BE count of live workflows>
std::string StateKey(std::string_view org, std::string_view id) {
  return "wf/" + std::string(org) + "/" + std::string(id);
}
std::string VersionPrefix(std::string_view org, std::string_view id) {
  return "wfv/" + std::string(org) + "/" + std::string(id) + "/";
}
std::string VersionKey(std::string_view org, std::string_view id, int64_t version) {
  return VersionPrefix(org, id) + EncodeBigEndian64(static_cast<uint64_t>(version));
}
std::string ListPrefix(std::string_view org) { return "wfl/" + std::string(org) + "/"; }
std::string CountKey(std::string_view org) { return "wfn/" + std::string(org); }

bool Unfiltered(const WorkflowListQuery& q) {
  return !q.status && !q.trigger_type && !q.tag && !q.project_id && !q.q;
}
std::string ListKey(std::string_view org, uint64_t created_position) {
  return ListPrefix(org) + EncodeBigEndian64(~created_position);
}

// version, stream version, created position, created_at_ms, updated_at_ms
constexpr size_t kRecordHeader = 40;

std::string CacheKey(std::string_view org, std::string_view id) {
  std::string key;
  key.reserve(org.size() + 1 + id.size());
  return key.append(org).append("/").append(id);
}

bool IsWorkflowStream(std::string_view stream) { return stream.starts_with("workflow-"); }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A cheap necessary condition on a list entry's stored JSON, checked before decoding
// it (a filtered list reads every entry of the org): each value a filter asks for
// appears in the text quoted and escaped as the encoder writes it, and the q text
// appears (ASCII case aside) unless it holds a character JSON escapes. An entry that
// fails cannot match; the others are decoded and matched exactly.
class ListPrefilter {
 public:
  explicit ListPrefilter(const WorkflowListQuery& q) {
    for (const auto* value : {&q.status, &q.trigger_type, &q.tag, &q.project_id}) {
      if (!*value) continue;
      needles_.push_back(json::Serialize(json::Value(
          rapidjson::StringRef((*value)->data(), static_cast<rapidjson::SizeType>((*value)->size())))));
    }
    if (q.q && !q.q->empty() && std::none_of(q.q->begin(), q.q->end(), [](char c) {
          return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
        })) {
      q_lower_ = Lower(*q.q);
      q_search_.emplace(q_lower_.begin(), q_lower_.end(), LowerHash{}, LowerEqual{});
    }
  }
  ListPrefilter(const ListPrefilter&) = delete;  // q_search_ points into q_lower_
  ListPrefilter& operator=(const ListPrefilter&) = delete;

  bool MayMatch(std::string_view stored) const {
    for (const std::string& needle : needles_) {
      if (stored.find(needle) == std::string_view::npos) return false;
    }
    if (q_search_ && std::search(stored.begin(), stored.end(), *q_search_) == stored.end()) {
      return false;
    }
    return true;
  }

 private:
  static char LowerChar(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  struct LowerHash {
    size_t operator()(char c) const { return static_cast<unsigned char>(LowerChar(c)); }
  };
  struct LowerEqual {
    bool operator()(char a, char b) const { return LowerChar(a) == LowerChar(b); }
  };

  std::vector<std::string> needles_;
  std::string q_lower_;
  std::optional<std::boyer_moore_horspool_searcher<std::string::const_iterator, LowerHash,
                                                   LowerEqual>>
      q_search_;
};

bool Matches(const core::WorkflowState& s, const WorkflowListQuery& q,
             const std::string& q_lower) {
  if (q.status && s.status != *q.status) return false;
  if (q.trigger_type && s.trigger_type != *q.trigger_type) return false;
  if (q.project_id && s.project_id != *q.project_id) return false;
  if (q.tag && std::find(s.tags.begin(), s.tags.end(), *q.tag) == s.tags.end()) return false;
  if (q.q && Lower(s.name).find(q_lower) == std::string::npos &&
      Lower(s.description).find(q_lower) == std::string::npos) {
    return false;
  }
  return true;
}

// Folds an event into `state`; returns a version record when one was made.
StatusOr<std::optional<core::VersionRecord>> Fold(core::WorkflowState& state,
                                                  const events::Event& e) {
  core::EventMeta meta{e.position, e.stream_version, e.at_ms, e.actor};
  if (e.parsed_data) return core::EvolveWorkflow(state, e.type, *e.parsed_data, meta);
  auto data = json::Parse(e.data);
  if (!data.ok()) {
    return DataLoss("event " + std::to_string(e.position) + " has unreadable data");
  }
  return core::EvolveWorkflow(state, e.type, *data, meta);
}

}  // namespace

std::vector<std::string> WorkflowProjection::KeyPrefixes() const {
  return {"wf/", "wfv/", "wfl/", "wfn/"};
}

Status WorkflowProjection::Apply(std::span<const events::Event> events,
                                 events::KvBatch& batch) {
  // States touched by this group, so that several events of one workflow in one
  // group fold on top of each other before anything is written.
  std::map<std::pair<std::string, std::string>, core::WorkflowState> touched;
  std::map<std::string, int64_t> count_delta;  // live workflows, per org
  applied_views_.clear();  // a failed earlier Apply published nothing
  for (const events::Event& e : events) {
    if (!IsWorkflowStream(e.stream)) continue;
    std::string id = e.stream.substr(std::string_view("workflow-").size());
    auto key = std::make_pair(e.org, id);
    auto it = touched.find(key);
    if (it == touched.end()) {
      core::WorkflowState loaded;
      if (e.type != core::kWorkflowCreated) {  // a creation starts from nothing
        auto stored = Get(e.org, id);
        if (!stored.ok()) return stored.status();
        loaded = stored->value_or(core::WorkflowState{});
      }
      it = touched.emplace(key, std::move(loaded)).first;
    }
    core::WorkflowState& state = it->second;
    bool was_live = state.exists();
    auto record = Fold(state, e);
    if (!record.ok()) return record.status();
    if (record->has_value()) {
      (*record)->definition.clear();
      batch.Put(VersionKey(e.org, id, (*record)->version),
                EncodeBigEndian64(e.position) + core::EncodeVersionRecord(**record));
    }
    count_delta[e.org] += static_cast<int64_t>(state.exists()) - static_cast<int64_t>(was_live);
  }
  for (auto& [key, state] : touched) {
    const auto& [org, id] = key;
    if (state.deleted) {
      // A tombstone leaves nothing to read; the history stays in the log.
      batch.Delete(StateKey(org, id));
      batch.Delete(ListKey(org, state.created_position));
      applied_views_.emplace_back(CacheKey(org, id), nullptr);
      continue;
    }
    std::string view = core::RenderWorkflowObject(state);
    // One record per workflow: the rendered object and the numbers it does not show.
    std::string record;
    record.reserve(kRecordHeader + view.size());
    record.append(EncodeBigEndian64(static_cast<uint64_t>(state.version)))
        .append(EncodeBigEndian64(state.stream_version))
        .append(EncodeBigEndian64(state.created_position))
        .append(EncodeBigEndian64(static_cast<uint64_t>(state.created_at_ms)))
        .append(EncodeBigEndian64(static_cast<uint64_t>(state.updated_at_ms)))
        .append(view);
    batch.Put(StateKey(org, id), std::move(record));
    applied_views_.emplace_back(
        CacheKey(org, id), std::make_shared<const WorkflowView>(WorkflowView{
                               id, state.version, std::move(view), state.stream_version}));
    core::WorkflowState summary = state;
    summary.definition = "{}";
    batch.Put(ListKey(org, state.created_position), core::EncodeWorkflowState(summary));
  }
  for (const auto& [org, delta] : count_delta) {
    if (delta == 0) continue;
    auto count = LiveCount(org);
    if (!count.ok()) return count.status();
    batch.Put(CountKey(org), EncodeBigEndian64(static_cast<uint64_t>(
                                 static_cast<int64_t>(*count) + delta)));
  }
  return Status::Ok();
}

void WorkflowProjection::Committed(bool dropped_all) {
  if (dropped_all) {
    applied_views_.clear();
    views_.Clear();
    return;
  }
  views_.Publish(std::move(applied_views_));
  applied_views_.clear();
}

StatusOr<size_t> WorkflowProjection::LiveCount(std::string_view org) const {
  auto value = kv_.Get(CountKey(org));
  if (!value.ok()) return value.status();
  return value->has_value() ? static_cast<size_t>(DecodeBigEndian64(**value)) : 0;
}

namespace {

// The parts of a stored workflow record; false when it is malformed.
bool SplitRecord(std::string_view record, WorkflowView* view, core::WorkflowState* numbers) {
  if (record.size() < kRecordHeader) return false;
  auto field = [&](size_t i) { return DecodeBigEndian64(record.substr(8 * i)); };
  view->version = static_cast<int64_t>(field(0));
  view->stream_version = field(1);
  view->json = std::string(record.substr(kRecordHeader));
  numbers->version = view->version;
  numbers->stream_version = view->stream_version;
  numbers->created_position = field(2);
  numbers->created_at_ms = static_cast<int64_t>(field(3));
  numbers->updated_at_ms = static_cast<int64_t>(field(4));
  return true;
}

}  // namespace

StatusOr<std::optional<WorkflowView>> WorkflowProjection::GetView(std::string_view org,
                                                                  std::string_view id) const {
  const std::string cache_key = CacheKey(org, id);
  if (auto cached = views_.Get(cache_key)) return std::optional<WorkflowView>(*cached);
  const uint64_t generation = views_.Generation();
  auto value = kv_.Get(StateKey(org, id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<WorkflowView>();
  WorkflowView view;
  core::WorkflowState numbers;
  if (!SplitRecord(**value, &view, &numbers)) {
    return DataLoss("workflow record of " + std::string(id) + " is malformed");
  }
  view.id = std::string(id);
  views_.Fill(cache_key, std::make_shared<const WorkflowView>(view), generation);
  return std::optional<WorkflowView>(std::move(view));
}

StatusOr<std::optional<core::WorkflowState>> WorkflowProjection::Get(
    std::string_view org, std::string_view id) const {
  auto value = kv_.Get(StateKey(org, id));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<core::WorkflowState>();
  WorkflowView view;
  core::WorkflowState numbers;
  if (!SplitRecord(**value, &view, &numbers)) {
    return DataLoss("workflow record of " + std::string(id) + " is malformed");
  }
  // The object has the state's own field names for everything but the numbers.
  auto state = core::DecodeWorkflowState(view.json);
  if (!state.ok()) return DataLoss("workflow view of " + std::string(id) + " is unreadable");
  state->version = numbers.version;
  state->stream_version = numbers.stream_version;
  state->created_position = numbers.created_position;
  state->created_at_ms = numbers.created_at_ms;
  state->updated_at_ms = numbers.updated_at_ms;
  state->deleted = false;  // a deleted workflow has no record
  return std::optional<core::WorkflowState>(std::move(*state));
}

StatusOr<std::optional<std::pair<events::Position, core::VersionRecord>>>
WorkflowProjection::VersionEntry(std::string_view org, std::string_view id,
                                 int64_t version) const {
  using Entry = std::pair<events::Position, core::VersionRecord>;
  if (version < 1) return std::optional<Entry>();
  auto value = kv_.Get(VersionKey(org, id, version));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<Entry>();
  std::string_view stored = **value;
  if (stored.size() < 8) return DataLoss("version record of " + std::string(id) + " is malformed");
  auto record = core::DecodeVersionRecord(stored.substr(8));
  if (!record.ok()) return record.status();
  record->definition.clear();
  return std::optional<Entry>(Entry{DecodeBigEndian64(stored), std::move(*record)});
}

StatusOr<std::optional<core::VersionRecord>> WorkflowProjection::GetVersion(
    std::string_view org, std::string_view id, int64_t version) const {
  auto entry = VersionEntry(org, id, version);
  if (!entry.ok()) return entry.status();
  if (!entry->has_value()) return std::optional<core::VersionRecord>();
  auto& [position, record] = **entry;
  auto event = store_.ReadAt(position);
  if (!event.ok()) return event.status();
  auto data = json::Parse(event->data);
  if (!data.ok()) return DataLoss("event " + std::to_string(position) + " has unreadable data");
  const json::Value* definition = json::Find(*data, "definition");
  if (event->org != org || !definition) {
    return DataLoss("version " + std::to_string(version) + " of " + std::string(id) +
                    " points at event " + std::to_string(position) + ", which is not it");
  }
  record.definition = json::Serialize(*definition);
  return std::optional<core::VersionRecord>(std::move(record));
}

StatusOr<WorkflowList> WorkflowProjection::List(std::string_view org,
                                                const WorkflowListQuery& query) const {
  WorkflowList out;
  const bool unfiltered = Unfiltered(query);
  if (unfiltered) {
    // The count is kept; only the page itself is decoded.
    auto count = LiveCount(org);
    if (!count.ok()) return count.status();
    out.total = *count;
    if (query.offset >= out.total || query.limit == 0) return out;
  }
  std::string q_lower = query.q ? Lower(*query.q) : std::string();
  const ListPrefilter prefilter(query);
  size_t seen = 0;
  Status decode_status;
  Status scan = kv_.Scan(ListPrefix(org), "", [&](std::string_view, std::string_view value) {
    if (unfiltered && seen < query.offset) {
      ++seen;
      return true;
    }
    if (!unfiltered && !prefilter.MayMatch(value)) return true;
    auto state = core::DecodeWorkflowState(value);
    if (!state.ok()) {
      decode_status = state.status();
      return false;
    }
    if (!unfiltered && !Matches(*state, query, q_lower)) return true;
    if (seen >= query.offset && out.workflows.size() < query.limit) {
      out.workflows.push_back(std::move(*state));
    }
    ++seen;
    return !unfiltered || out.workflows.size() < query.limit;
  });
  LF_RETURN_IF_ERROR(scan);
  LF_RETURN_IF_ERROR(decode_status);
  if (!unfiltered) out.total = seen;
  return out;
}

StatusOr<VersionList> WorkflowProjection::ListVersions(std::string_view org,
                                                       std::string_view id, size_t limit,
                                                       size_t offset) const {
  auto state = Get(org, id);
  if (!state.ok()) return state.status();
  if (!state->has_value() || !(*state)->exists()) {
    return NotFound("Workflow not found").WithReason("not_found");
  }
  VersionList out;
  const int64_t newest = (*state)->version;
  out.total = static_cast<size_t>(newest);
  for (int64_t v = newest - static_cast<int64_t>(offset);
       v >= 1 && out.versions.size() < limit; --v) {
    auto entry = VersionEntry(org, id, v);
    if (!entry.ok()) return entry.status();
    if (!entry->has_value()) return DataLoss("version " + std::to_string(v) + " is missing");
    out.versions.push_back(std::move((*entry)->second));
  }
  return out;
}

namespace {

// Folds the workflow's stream while `keep(event)` holds.
StatusOr<core::WorkflowState> FoldStreamWhile(
    events::EventStore& store, std::string_view org, std::string_view id,
    const std::function<bool(const events::Event&)>& keep) {
  auto events = store.ReadStream(core::WorkflowStream(id));
  if (!events.ok()) return events.status();
  core::WorkflowState state;
  for (const events::Event& e : *events) {
    if (e.org != org) break;  // another org's workflow: absent
    if (!keep(e)) break;
    auto record = Fold(state, e);
    if (!record.ok()) return record.status();
  }
  return state;
}

}  // namespace

StatusOr<core::WorkflowState> WorkflowAsOf(events::EventStore& store, std::string_view org,
                                           std::string_view id, int64_t at_ms) {
  auto state = FoldStreamWhile(store, org, id,
                               [at_ms](const events::Event& e) { return e.at_ms <= at_ms; });
  if (!state.ok()) return state.status();
  if (!state->exists()) {
    return NotFound("Workflow did not exist at that time").WithReason("not_found");
  }
  return state;
}

StatusOr<core::WorkflowState> WorkflowCaughtUp(events::EventStore& store, std::string_view org,
                                               std::string_view id, core::WorkflowState state) {
  auto events = store.ReadStream(core::WorkflowStream(id), state.stream_version + 1);
  if (!events.ok()) return events.status();
  for (const events::Event& e : *events) {
    if (e.org != org) break;  // another org's workflow: absent
    auto record = Fold(state, e);
    if (!record.ok()) return record.status();
  }
  return state;
}

StatusOr<core::WorkflowState> WorkflowAtPosition(events::EventStore& store,
                                                 std::string_view org, std::string_view id,
                                                 events::Position position) {
  return FoldStreamWhile(store, org, id,
                         [position](const events::Event& e) { return e.position <= position; });
}

}  // namespace ledgerflow::projections
