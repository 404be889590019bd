#include "projections/run_projection.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "events/chain.h"
#include "projections/key_encoding.h"

namespace ledgerflow::projections {
namespace {

using core::RunState;
using core::RunStatus;

// run/<org>/<run>                               -> EncodeRunState
// runw/<org>/<wf>/<~pos>/<run>                  -> ""   a workflow's runs, newest first
// runws/<org>/<wf>/<status>/<~pos>/<run>        -> ""   ... by status
// runo/<org>/<~pos>/<run>                       -> ""   an org's runs, newest first
// runos/<org>/<status>/<~pos>/<run>             -> ""   ... by status
// runc/<org>/<wf or "">/<status>                -> count (decimal)
// runi/<org>/<wf>/<sha256(key)>                 -> run id, the newest under the key
// runa/<pos>/<org>/<run>                        -> ""   unfinished runs, oldest first
std::string Sep(std::string_view s) { return std::string(s) + "/"; }
std::string Newest(uint64_t position) { return EncodeBigEndian64(~position); }

std::string RecordKey(std::string_view org, std::string_view run) {
  return "run/" + Sep(org) + std::string(run);
}
std::string WorkflowIndex(const RunState& r) {
  return "runw/" + Sep(r.org) + Sep(r.workflow_id) + Newest(r.dispatched_position) + "/" + r.id;
}
std::string WorkflowStatusIndex(const RunState& r) {
  return "runws/" + Sep(r.org) + Sep(r.workflow_id) + Sep(core::RunStatusName(r.status)) +
         Newest(r.dispatched_position) + "/" + r.id;
}
std::string OrgIndex(const RunState& r) {
  return "runo/" + Sep(r.org) + Newest(r.dispatched_position) + "/" + r.id;
}
std::string OrgStatusIndex(const RunState& r) {
  return "runos/" + Sep(r.org) + Sep(core::RunStatusName(r.status)) +
         Newest(r.dispatched_position) + "/" + r.id;
}
std::string CountKey(std::string_view org, std::string_view wf, RunStatus status) {
  return "runc/" + Sep(org) + Sep(wf) + core::RunStatusName(status);
}
std::string UnfinishedKey(const RunState& r) {
  return "runa/" + EncodeBigEndian64(r.dispatched_position) + "/" + Sep(r.org) + r.id;
}

// The run id at the end of an index key.
std::string_view RunIdOfIndexKey(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

bool ContainsFolded(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

bool Matches(const RunState& r, const RunQuery& q) {
  if (q.since_ms && r.created_at_ms < *q.since_ms) return false;
  if (q.until_ms && r.created_at_ms >= *q.until_ms) return false;
  if (q.q) {
    const std::string& needle = *q.q;
    if (!ContainsFolded(r.reason, needle) && !ContainsFolded(r.trigger, needle) &&
        !ContainsFolded(r.id, needle) && !ContainsFolded(r.workflow_id, needle)) {
      return false;
    }
  }
  return true;
}

double DurationForSort(const RunState& r) { return r.duration_seconds().value_or(-1); }

}  // namespace

std::string IdempotencyKeyDigest(std::string_view key) { return events::Sha256Hex(key); }

std::vector<std::string> RunProjection::KeyPrefixes() const {
  return {"run/", "runw/", "runws/", "runo/", "runos/", "runc/", "runi/", "runa/"};
}

Status RunProjection::Apply(std::span<const events::Event> events, events::KvBatch& batch) {
  struct Touched {
    std::optional<RunState> before;  // as stored before this batch
    RunState now;
  };
  std::map<std::string, Touched> touched;  // by record key
  for (const events::Event& e : events) {
    std::string_view run_id = core::RunIdOfStream(e.stream);
    if (run_id.empty()) continue;
    std::string key = RecordKey(e.org, run_id);
    auto it = touched.find(key);
    if (it == touched.end()) {
      Touched t;
      auto stored = kv_.Get(key);
      if (!stored.ok()) return stored.status();
      if (stored->has_value()) {
        auto decoded = core::DecodeRunState(**stored);
        if (!decoded.ok()) return decoded.status();
        t.before = *decoded;
        t.now = std::move(decoded).value();
      }
      it = touched.emplace(key, std::move(t)).first;
    }
    core::EventMeta meta{e.position, e.stream_version, e.at_ms, e.actor};
    if (e.parsed_data) {
      core::EvolveRun(it->second.now, e.type, *e.parsed_data, meta, e.org, run_id);
    } else {
      auto data = json::Parse(e.data);
      if (!data.ok()) return DataLoss("event " + std::to_string(e.position) + " is unreadable");
      core::EvolveRun(it->second.now, e.type, *data, meta, e.org, run_id);
    }
  }
  std::map<std::string, int64_t> count_changes;
  for (auto& [key, t] : touched) {
    const RunState& now = t.now;
    if (now.workflow_id.empty()) continue;  // events of a run whose dispatch is missing
    batch.Put(key, core::EncodeRunState(now));
    const RunState* before = t.before ? &*t.before : nullptr;
    if (before == nullptr) {
      batch.Put(WorkflowIndex(now), "");
      batch.Put(OrgIndex(now), "");
      if (!now.idempotency_key.empty()) {
        batch.Put("runi/" + Sep(now.org) + Sep(now.workflow_id) +
                      IdempotencyKeyDigest(now.idempotency_key),
                  now.id);
      }
    }
    if (before == nullptr || before->status != now.status) {
      if (before != nullptr) {
        batch.Delete(WorkflowStatusIndex(*before));
        batch.Delete(OrgStatusIndex(*before));
        --count_changes[CountKey(now.org, now.workflow_id, before->status)];
        --count_changes[CountKey(now.org, "", before->status)];
      }
      batch.Put(WorkflowStatusIndex(now), "");
      batch.Put(OrgStatusIndex(now), "");
      ++count_changes[CountKey(now.org, now.workflow_id, now.status)];
      ++count_changes[CountKey(now.org, "", now.status)];
      bool was_unfinished = before != nullptr && !core::IsTerminal(before->status);
      if (core::IsTerminal(now.status) && was_unfinished) batch.Delete(UnfinishedKey(now));
      if (!core::IsTerminal(now.status) && !was_unfinished) batch.Put(UnfinishedKey(now), "");
    }
  }
  for (const auto& [key, change] : count_changes) {
    if (change == 0) continue;
    auto stored = kv_.Get(key);
    if (!stored.ok()) return stored.status();
    int64_t count = (stored->has_value() ? std::stoll(**stored) : 0) + change;
    // No key for zero, as a replay that folds a run's whole life in one batch leaves it.
    if (count <= 0) {
      batch.Delete(key);
    } else {
      batch.Put(key, std::to_string(count));
    }
  }
  return Status::Ok();
}

StatusOr<std::optional<RunState>> RunProjection::Get(std::string_view org,
                                                     std::string_view run_id) const {
  auto stored = kv_.Get(RecordKey(org, run_id));
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::optional<RunState>();
  auto decoded = core::DecodeRunState(**stored);
  if (!decoded.ok()) return decoded.status();
  return std::optional<RunState>(std::move(decoded).value());
}

StatusOr<size_t> RunProjection::Count(std::string_view org, std::string_view workflow_id,
                                      std::optional<RunStatus> status) const {
  size_t total = 0;
  for (int s = 0; s <= static_cast<int>(RunStatus::kCancelled); ++s) {
    auto st = static_cast<RunStatus>(s);
    if (status && *status != st) continue;
    auto stored = kv_.Get(CountKey(org, workflow_id, st));
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) total += static_cast<size_t>(std::stoll(**stored));
  }
  return total;
}

StatusOr<RunList> RunProjection::List(std::string_view org, const RunQuery& query) const {
  std::string prefix;
  std::string status_part = query.status ? Sep(core::RunStatusName(*query.status)) : "";
  if (query.workflow_id) {
    prefix = (query.status ? "runws/" : "runw/") + Sep(org) + Sep(*query.workflow_id) + status_part;
  } else {
    prefix = (query.status ? "runos/" : "runo/") + Sep(org) + status_part;
  }
  RunList list;
  Status failure = Status::Ok();
  auto load = [&](std::string_view index_key) -> std::optional<RunState> {
    auto run = Get(org, RunIdOfIndexKey(index_key));
    if (!run.ok()) {
      failure = run.status();
      return std::nullopt;
    }
    return std::move(run).value();
  };
  bool filtered = query.since_ms || query.until_ms || query.q;
  bool by_duration = query.sort == RunSort::kLongest || query.sort == RunSort::kShortest;
  if (!filtered && !by_duration) {
    auto total = Count(org, query.workflow_id.value_or(""), query.status);
    if (!total.ok()) return total.status();
    list.total = *total;
    // Oldest first reads the same index from the other end: skip total - offset - limit.
    size_t skip = query.offset;
    if (query.sort == RunSort::kOldest) {
      skip = list.total > query.offset + query.limit ? list.total - query.offset - query.limit : 0;
    }
    size_t take = query.sort == RunSort::kOldest
                      ? (list.total > query.offset ? std::min(query.limit, list.total - query.offset) : 0)
                      : query.limit;
    size_t seen = 0;
    LF_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view) {
      if (seen++ < skip) return true;
      if (list.runs.size() >= take) return false;
      auto run = load(key);
      if (!run) return failure.ok();
      list.runs.push_back(std::move(*run));
      return true;
    }));
    LF_RETURN_IF_ERROR(failure);
    if (query.sort == RunSort::kOldest) std::reverse(list.runs.begin(), list.runs.end());
    return list;
  }
  std::vector<RunState> matches;
  LF_RETURN_IF_ERROR(kv_.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    auto run = load(key);
    if (!run) return failure.ok();
    // Newest first: once runs are older than `since`, none further matches.
    if (query.since_ms && run->created_at_ms < *query.since_ms) return false;
    if (Matches(*run, query)) matches.push_back(std::move(*run));
    return true;
  }));
  LF_RETURN_IF_ERROR(failure);
  if (by_duration) {
    bool longest = query.sort == RunSort::kLongest;
    std::stable_sort(matches.begin(), matches.end(), [&](const RunState& a, const RunState& b) {
      return longest ? DurationForSort(a) > DurationForSort(b)
                     : DurationForSort(a) < DurationForSort(b);
    });
  } else if (query.sort == RunSort::kOldest) {
    std::reverse(matches.begin(), matches.end());
  }
  list.total = matches.size();
  for (size_t i = query.offset; i < matches.size() && list.runs.size() < query.limit; ++i) {
    list.runs.push_back(std::move(matches[i]));
  }
  return list;
}

StatusOr<std::optional<std::string>> RunProjection::FindByIdempotencyKey(
    std::string_view org, std::string_view workflow_id, std::string_view key) const {
  auto stored = kv_.Get("runi/" + Sep(org) + Sep(workflow_id) + IdempotencyKeyDigest(key));
  if (!stored.ok()) return stored.status();
  return *stored;
}

Status RunProjection::ForEachUnfinished(
    const std::function<bool(const RunState&)>& visit) const {
  Status failure = Status::Ok();
  LF_RETURN_IF_ERROR(kv_.Scan("runa/", "", [&](std::string_view key, std::string_view) {
    // runa/<pos:8>/<org>/<run>
    std::string_view rest = key.substr(5 + 8 + 1);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return true;
    auto run = Get(rest.substr(0, slash), rest.substr(slash + 1));
    if (!run.ok()) {
      failure = run.status();
      return false;
    }
    return !run->has_value() || visit(**run);
  }));
  return failure;
}

}  // namespace ledgerflow::projections
