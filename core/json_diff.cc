#include "core/json_diff.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/json_patch.h"

namespace ledgerflow {
namespace {

using json::Allocator;
using json::Value;
using rapidjson::SizeType;

// Myers' diff stops (and the array is edited position by position) past this much work;
// its trace memory grows with the same number, so it bounds both time and memory.
constexpr int64_t kMyersBudget = int64_t{1} << 20;

std::string_view Str(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

Value::StringRefType Ref(std::string_view s) {
  return rapidjson::StringRef(s.data(), static_cast<SizeType>(s.size()));
}

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashText(std::string_view s) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// A hash consistent with JsonIdentical(): identical values hash equally (member order
// does not count).
uint64_t Hash(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNumberType:
      if (v.IsDouble()) {
        double d = v.GetDouble();
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        return Mix(bits ^ 0x11);
      }
      return Mix((v.IsInt64() ? static_cast<uint64_t>(v.GetInt64()) : v.GetUint64()) ^ 0x22);
    case rapidjson::kStringType: return Mix(HashText(Str(v)) ^ 0x33);
    case rapidjson::kArrayType: {
      uint64_t h = 0x44;
      for (const auto& e : v.GetArray()) h = Mix(h * 31 + Hash(e));
      return h;
    }
    case rapidjson::kObjectType: {
      uint64_t sum = v.MemberCount();
      for (const auto& m : v.GetObject()) sum += Mix(HashText(Str(m.name)) ^ Hash(m.value));
      return Mix(sum ^ 0x55);
    }
    default: return Mix(static_cast<uint64_t>(v.GetType()) + 0x66);
  }
}

bool HasDuplicateKeys(const Value& object) {
  SizeType n = object.MemberCount();
  auto begin = object.MemberBegin();
  if (n <= 16) {
    for (SizeType i = 0; i < n; ++i) {
      for (SizeType j = i + 1; j < n; ++j) {
        if (Str(begin[i].name) == Str(begin[j].name)) return true;
      }
    }
    return false;
  }
  std::unordered_set<std::string_view> seen;
  for (const auto& m : object.GetObject()) {
    if (!seen.insert(Str(m.name)).second) return true;
  }
  return false;
}

// Keys of elements [begin, end) when each is an object with a unique string member
// `key`; nullopt otherwise.
std::optional<std::vector<std::string_view>> UniqueKeys(const Value& array, SizeType begin,
                                                        SizeType end, const char* key) {
  std::vector<std::string_view> keys;
  std::unordered_set<std::string_view> seen;
  for (SizeType i = begin; i < end; ++i) {
    const Value* k = json::Find(array[i], key);
    if (!k || !k->IsString() || !seen.insert(Str(*k)).second) return std::nullopt;
    keys.push_back(Str(*k));
  }
  return keys;
}

// Matched (i, j) pairs of a shortest edit script between token sequences `a` and `b`
// (Myers 1986), or nullopt when that costs more than kMyersBudget.
std::optional<std::vector<std::pair<int, int>>> MyersMatches(const std::vector<int>& a,
                                                             const std::vector<int>& b) {
  const int n = static_cast<int>(a.size()), m = static_cast<int>(b.size());
  const int max = n + m;
  std::vector<int> v(2 * static_cast<size_t>(max) + 3, 0);
  const int off = max + 1;
  std::vector<std::vector<int>> trace;  // trace[d][k + d]: furthest x on diagonal k after d
  int64_t work = 0;
  int final_d = -1;
  for (int d = 0; d <= max && final_d < 0; ++d) {
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) ? v[off + k + 1]
                                                                        : v[off + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) ++x, ++y, ++work;
      v[off + k] = x;
      if (x >= n && y >= m) {
        final_d = d;  // the backtrack only needs the rounds before this one
        break;
      }
    }
    work += d + 1;
    if (final_d < 0 && work > kMyersBudget) return std::nullopt;
    trace.emplace_back(v.begin() + off - d, v.begin() + off + d + 1);
  }
  std::vector<std::pair<int, int>> matches;
  int x = n, y = m;
  for (int d = final_d; d > 0; --d) {
    const std::vector<int>& prev = trace[d - 1];  // index k + (d - 1)
    int k = x - y;
    bool down = k == -d || (k != d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]);
    int prev_k = down ? k + 1 : k - 1;
    int prev_x = prev[prev_k + d - 1];
    int prev_y = prev_x - prev_k;
    int mid_x = down ? prev_x : prev_x + 1;
    while (x > mid_x) matches.emplace_back(--x, --y);
    x = prev_x;
    y = prev_y;
  }
  while (x > 0 && y > 0) matches.emplace_back(--x, --y);
  std::reverse(matches.begin(), matches.end());
  return matches;
}

// Positions in `seq` of a longest strictly increasing subsequence.
std::vector<bool> LongestIncreasing(const std::vector<int>& seq) {
  std::vector<int> tails;  // index into seq of the smallest tail of each length
  std::vector<int> parent(seq.size(), -1);
  for (int i = 0; i < static_cast<int>(seq.size()); ++i) {
    auto it = std::lower_bound(tails.begin(), tails.end(), seq[i],
                               [&](int idx, int value) { return seq[idx] < value; });
    if (it != tails.begin()) parent[i] = *(it - 1);
    if (it == tails.end()) {
      tails.push_back(i);
    } else {
      *it = i;
    }
  }
  std::vector<bool> in_lis(seq.size(), false);
  for (int i = tails.empty() ? -1 : tails.back(); i >= 0; i = parent[i]) in_lis[i] = true;
  return in_lis;
}

// Emits ops into `ops`. Paths are computed against the document as the earlier ops
// leave it, so the patch applies in order.
class Differ {
 public:
  Differ(Value& ops, Allocator& alloc) : ops_(ops), alloc_(alloc) {}

  void DiffValue(std::string& path, const Value& a, const Value& b) {
    if (a.IsObject() && b.IsObject()) {
      DiffObject(path, a, b);
    } else if (a.IsArray() && b.IsArray()) {
      DiffArray(path, a, b);
    } else if (!JsonIdentical(a, b)) {
      Emit("replace", path, &b);
    }
  }

 private:
  void Emit(const char* op, const std::string& path, const Value* value,
            const std::string* from = nullptr) {
    Value o(rapidjson::kObjectType);
    o.AddMember("op", Value(rapidjson::StringRef(op)), alloc_);
    if (from) o.AddMember("from", json::String(*from, alloc_), alloc_);
    o.AddMember("path", json::String(path, alloc_), alloc_);
    if (value) o.AddMember("value", DeepCopy(*value, alloc_), alloc_);
    ops_.PushBack(o, alloc_);
  }

  static std::string At(const std::string& path, size_t index) {
    std::string out = path;
    out.append(1, '/').append(std::to_string(index));
    return out;
  }

  void DiffObject(std::string& path, const Value& a, const Value& b) {
    if (HasDuplicateKeys(a) || HasDuplicateKeys(b)) {
      // Pointers cannot address a duplicate member; rewrite the whole object.
      if (!JsonIdentical(a, b)) Emit("replace", path, &b);
      return;
    }
    const size_t base = path.size();
    for (const auto& m : a.GetObject()) {
      if (b.FindMember(Ref(Str(m.name))) != b.MemberEnd()) continue;
      path.append(1, '/').append(EscapePointerToken(Str(m.name)));
      Emit("remove", path, nullptr);
      path.resize(base);
    }
    for (const auto& m : b.GetObject()) {
      auto it = a.FindMember(Ref(Str(m.name)));
      // Most members are unchanged: skip them before paying for a path.
      if (it != a.MemberEnd() && JsonIdentical(it->value, m.value)) continue;
      path.append(1, '/').append(EscapePointerToken(Str(m.name)));
      if (it == a.MemberEnd()) {
        Emit("add", path, &m.value);
      } else {
        DiffValue(path, it->value, m.value);
      }
      path.resize(base);
    }
  }

  void DiffArray(std::string& path, const Value& a, const Value& b) {
    SizeType p = 0, ea = a.Size(), eb = b.Size();
    while (p < ea && p < eb && JsonIdentical(a[p], b[p])) ++p;
    while (ea > p && eb > p && JsonIdentical(a[ea - 1], b[eb - 1])) --ea, --eb;
    if (p == ea && p == eb) return;
    if (p < ea && p < eb) {
      for (const char* key : {"id", "name"}) {
        auto ka = UniqueKeys(a, p, ea, key);
        if (!ka) continue;
        if (auto kb = UniqueKeys(b, p, eb, key)) {
          DiffKeyed(path, a, b, p, *ka, *kb);
          return;
        }
      }
      // Myers over tokens: equal elements share a token, so comparisons are cheap.
      std::unordered_map<uint64_t, std::vector<std::pair<const Value*, int>>> classes;
      int next_token = 0;
      auto tokenize = [&](const Value& array, SizeType end) {
        std::vector<int> tokens;
        for (SizeType i = p; i < end; ++i) {
          auto& bucket = classes[Hash(array[i])];
          auto it = std::find_if(bucket.begin(), bucket.end(), [&](const auto& c) {
            return JsonIdentical(*c.first, array[i]);
          });
          if (it == bucket.end()) it = bucket.insert(bucket.end(), {&array[i], next_token++});
          tokens.push_back(it->second);
        }
        return tokens;
      };
      std::vector<int> ta = tokenize(a, ea);
      const int next_a = next_token;  // tokens below this occur in `a`
      std::vector<int> tb = tokenize(b, eb);
      bool shared = std::any_of(tb.begin(), tb.end(), [&](int t) { return t < next_a; });
      if (auto matches = shared ? MyersMatches(ta, tb) : std::nullopt) {
        for (auto& [i, j] : *matches) i += p, j += p;
        EmitAligned(path, a, b, p, ea, eb, *matches);
        return;
      }
    }
    EmitAligned(path, a, b, p, ea, eb, {});
  }

  // Edits a[p, ea) into b[p, eb) keeping the matched pairs in place (and diffing them
  // when `diff_matches`). Between two matches, deleted and inserted elements are paired
  // up and diffed in place, then the surplus is removed or added.
  void EmitAligned(const std::string& path, const Value& a, const Value& b, SizeType p,
                   SizeType ea, SizeType eb, const std::vector<std::pair<int, int>>& matches,
                   bool diff_matches = false) {
    size_t cur = p, i = p, j = p;
    std::string at;
    for (size_t next = 0; next <= matches.size(); ++next) {
      bool last = next == matches.size();
      size_t mi = last ? ea : static_cast<size_t>(matches[next].first);
      size_t mj = last ? eb : static_cast<size_t>(matches[next].second);
      size_t dels = mi - i, ins = mj - j, pairs = std::min(dels, ins);
      for (size_t t = 0; t < pairs; ++t, ++cur) {
        at = At(path, cur);
        DiffValue(at, a[static_cast<SizeType>(i + t)], b[static_cast<SizeType>(j + t)]);
      }
      for (size_t t = pairs; t < dels; ++t) Emit("remove", At(path, cur), nullptr);
      for (size_t t = pairs; t < ins; ++t, ++cur) {
        Emit("add", At(path, cur), &b[static_cast<SizeType>(j + t)]);
      }
      if (!last && diff_matches) {
        at = At(path, cur);
        DiffValue(at, a[static_cast<SizeType>(mi)], b[static_cast<SizeType>(mj)]);
      }
      cur += last ? 0 : 1;
      i = mi + 1;
      j = mj + 1;
    }
  }

  // Edits a[p, p + ka.size()) into b[p, p + kb.size()) matching elements by key:
  // removes, then moves and adds around the longest run already in order, then diffs
  // the matched elements in their final places.
  void DiffKeyed(const std::string& path, const Value& a, const Value& b, SizeType p,
                 const std::vector<std::string_view>& ka,
                 const std::vector<std::string_view>& kb) {
    std::unordered_map<std::string_view, int> b_index;
    for (int j = 0; j < static_cast<int>(kb.size()); ++j) b_index[kb[j]] = j;
    std::vector<int> a_to_b(ka.size(), -1), b_to_a(kb.size(), -1);
    for (int i = 0; i < static_cast<int>(ka.size()); ++i) {
      if (auto it = b_index.find(ka[i]); it != b_index.end()) {
        a_to_b[i] = it->second;
        b_to_a[it->second] = i;
      }
    }
    std::vector<int> cur;  // b index of each element now in the region, in order
    for (int j : a_to_b) {
      if (j >= 0) cur.push_back(j);
    }
    std::vector<bool> in_lis = LongestIncreasing(cur);
    size_t kept = static_cast<size_t>(std::count(in_lis.begin(), in_lis.end(), true));
    // Each move or add below scans the region; past the budget keep the in-order run
    // and edit the rest in place instead (a longer patch, but linear time).
    if ((kb.size() - kept) * (ka.size() + kb.size()) > static_cast<size_t>(kMyersBudget)) {
      std::vector<std::pair<int, int>> matches;
      for (size_t i = 0, c = 0; i < ka.size(); ++i) {
        if (a_to_b[i] >= 0 && in_lis[c++]) matches.emplace_back(p + i, p + a_to_b[i]);
      }
      EmitAligned(path, a, b, p, p + ka.size(), p + kb.size(), matches, true);
      return;
    }
    for (size_t i = ka.size(); i-- > 0;) {
      if (a_to_b[i] < 0) Emit("remove", At(path, p + i), nullptr);
    }
    std::vector<bool> stays(kb.size(), false);
    for (size_t c = 0; c < cur.size(); ++c) stays[cur[c]] = in_lis[c];
    auto position = [&](int j) {
      return static_cast<size_t>(std::find(cur.begin(), cur.end(), j) - cur.begin());
    };
    // Each element not in the run goes right after its predecessor in b.
    for (int j = 0; j < static_cast<int>(kb.size()); ++j) {
      if (stays[j]) continue;
      size_t target = j == 0 ? 0 : position(j - 1) + 1;
      if (b_to_a[j] < 0) {
        Emit("add", At(path, p + target), &b[p + j]);
        cur.insert(cur.begin() + target, j);
        continue;
      }
      size_t source = position(j);
      size_t dest = source < target ? target - 1 : target;  // "move" removes first
      if (source == dest) continue;
      std::string from = At(path, p + source);
      Emit("move", At(path, p + dest), nullptr, &from);
      cur.erase(cur.begin() + source);
      cur.insert(cur.begin() + dest, j);
    }
    std::string at;
    for (int j = 0; j < static_cast<int>(kb.size()); ++j) {
      if (b_to_a[j] < 0 || JsonIdentical(a[p + b_to_a[j]], b[p + j])) continue;
      at = At(path, p + j);
      DiffValue(at, a[p + b_to_a[j]], b[p + j]);
    }
  }

  Value& ops_;
  Allocator& alloc_;
};

// The steps of a definition in order, with an index by identity.
struct StepList {
  struct Entry {
    std::string_view key;
    const Value* step;
    int stage;  // index in "stages", -1 for top-level steps
  };
  std::vector<Entry> entries;
  std::unordered_map<std::string_view, int> index;
  std::deque<std::string> owned;  // made-up identities; a deque keeps their addresses
};

void CollectSteps(const Value& def, StepList* out) {
  auto add = [&](const Value* steps, int stage) {
    if (!steps || !steps->IsArray()) return;
    for (const auto& s : steps->GetArray()) {
      const Value* id = json::Find(s, "id");
      if (!id || !id->IsString()) id = json::Find(s, "name");
      // Steps without id or name are told apart by position; "\x1e" cannot be typed.
      std::string_view key;
      if (id && id->IsString()) {
        key = Str(*id);
      } else {
        std::string positional(1, '\x1e');
        positional.append(std::to_string(out->entries.size()));
        key = out->owned.emplace_back(std::move(positional));
      }
      for (int n = 1; out->index.count(key); ++n) {  // duplicates stay distinct
        std::string distinct(key);
        distinct.append(1, '\x1f').append(std::to_string(n));
        key = out->owned.emplace_back(std::move(distinct));
      }
      out->index.emplace(key, static_cast<int>(out->entries.size()));
      out->entries.push_back({key, &s, stage});
    }
  };
  add(json::Find(def, "steps"), -1);
  if (const Value* stages = json::Find(def, "stages"); stages && stages->IsArray()) {
    for (SizeType i = 0; i < stages->Size(); ++i) {
      add(json::Find((*stages)[i], "steps"), static_cast<int>(i));
    }
  }
}

// True when the stages differ in anything but their steps.
bool StagesDiffer(const Value* a, const Value* b) {
  if (!a || !b) return a != b;
  if (!a->IsArray() || !b->IsArray() || a->Size() != b->Size()) return !JsonEquals(*a, *b);
  for (SizeType i = 0; i < a->Size(); ++i) {
    const Value& sa = (*a)[i];
    const Value& sb = (*b)[i];
    if (!sa.IsObject() || !sb.IsObject()) {
      if (!JsonEquals(sa, sb)) return true;
      continue;
    }
    auto count = [](const Value& s) {
      return s.MemberCount() - (s.HasMember("steps") ? 1 : 0);
    };
    if (count(sa) != count(sb)) return true;
    for (const auto& m : sa.GetObject()) {
      if (Str(m.name) == "steps") continue;
      const Value* other = json::Find(sb, Str(m.name));
      if (!other || !JsonEquals(m.value, *other)) return true;
    }
  }
  return false;
}

std::string StepCount(int n, const char* verb) {
  return std::string(verb) + " " + std::to_string(n) + (n == 1 ? " step" : " steps");
}

}  // namespace

json::Document Diff(const json::Value& from, const json::Value& to) {
  json::Document ops;
  ops.SetArray();
  Differ differ(ops, ops.GetAllocator());
  std::string path;
  differ.DiffValue(path, from, to);
  return ops;
}

DefinitionChangeCounts CountDefinitionChanges(const json::Value& from_def,
                                              const json::Value& to_def) {
  DefinitionChangeCounts counts;
  if (!from_def.IsObject() || !to_def.IsObject()) {
    if (!JsonEquals(from_def, to_def)) counts.other_changes.push_back("replaced definition");
    return counts;
  }
  StepList before, after;
  CollectSteps(from_def, &before);
  CollectSteps(to_def, &after);
  std::vector<bool> kept(after.entries.size(), false);
  int last = -1;
  for (const auto& e : before.entries) {
    auto it = after.index.find(e.key);
    if (it == after.index.end()) {
      ++counts.removed;
      continue;
    }
    const StepList::Entry& other = after.entries[it->second];
    kept[it->second] = true;
    if (!JsonEquals(*e.step, *other.step)) ++counts.modified;
    // Kept steps out of their old relative order, or run by another stage.
    if (it->second < last || e.stage != other.stage) counts.reordered = true;
    last = it->second;
  }
  counts.added = static_cast<int>(std::count(kept.begin(), kept.end(), false));

  auto note = [&](std::string_view key) {
    if (key == "steps") return;
    const Value* a = json::Find(from_def, key);
    const Value* b = json::Find(to_def, key);
    if (key == "stages") {
      if (StagesDiffer(a, b)) counts.other_changes.push_back("changed stages");
    } else if (!a || !b || !JsonEquals(*a, *b)) {
      counts.other_changes.push_back(key == "name" ? "renamed workflow"
                                                   : "changed " + std::string(key));
    }
  };
  for (const auto& m : from_def.GetObject()) note(Str(m.name));
  for (const auto& m : to_def.GetObject()) {
    if (!from_def.HasMember(m.name)) note(Str(m.name));
  }
  if (counts.added + counts.removed + counts.modified == 0 && !counts.reordered &&
      counts.other_changes.empty() && !JsonEquals(from_def, to_def)) {
    counts.other_changes.push_back("changed definition");  // e.g. a malformed steps list
  }
  return counts;
}

std::string SummarizeDefinitionChange(const json::Value& from_def, const json::Value& to_def) {
  DefinitionChangeCounts c = CountDefinitionChanges(from_def, to_def);
  std::vector<std::string> parts;
  if (c.added) parts.push_back(StepCount(c.added, "added"));
  if (c.removed) parts.push_back(StepCount(c.removed, "removed"));
  if (c.modified) parts.push_back(StepCount(c.modified, "modified"));
  if (c.reordered) parts.push_back("reordered steps");
  parts.insert(parts.end(), c.other_changes.begin(), c.other_changes.end());
  if (parts.empty()) return "No changes";
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace ledgerflow
