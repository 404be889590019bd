#include "core/json_patch.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ledgerflow {
namespace {

using json::Allocator;
using json::Document;
using json::Value;

constexpr const char* kReason = "invalid_patch";

std::string_view Str(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

Value::StringRefType Ref(std::string_view s) {
  return rapidjson::StringRef(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Unescaped RFC 6901 reference tokens; empty for the whole document.
using Pointer = std::vector<std::string>;

// The pointer text for the first `n` tokens of `p`, for error messages.
std::string PointerText(const Pointer& p, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < p.size(); ++i) out.append(1, '/').append(EscapePointerToken(p[i]));
  return out;
}

// Returns "" on success, otherwise what is wrong with `text`.
std::string ParsePointer(std::string_view text, Pointer* out) {
  out->clear();
  if (text.empty()) return "";
  if (text[0] != '/') return "a JSON Pointer must be empty or start with '/'";
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      out->push_back(std::move(token));
      token.clear();
    } else if (text[i] != '~') {
      token += text[i];
    } else if (i + 1 < text.size() && (text[i + 1] == '0' || text[i + 1] == '1')) {
      token += text[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      return "'~' must be followed by '0' or '1' in a JSON Pointer";
    }
  }
  return "";
}

// Parses an array index for an array of `size` elements. `for_insert` also admits
// `size` and "-" (append). RFC 6901 refuses signs, exponents and leading zeros.
std::optional<size_t> ParseIndex(const std::string& token, size_t size, bool for_insert,
                                 std::string* error) {
  if (token == "-") {
    if (for_insert) return size;
    *error = "'-' names no existing array element";
    return std::nullopt;
  }
  bool digits = !token.empty() && token.size() <= 18;
  for (char c : token) digits = digits && c >= '0' && c <= '9';
  if (!digits || (token.size() > 1 && token[0] == '0')) {
    *error = "'" + token + "' is not an array index";
    return std::nullopt;
  }
  size_t index = static_cast<size_t>(std::stoull(token));
  if (index > size || (index == size && !for_insert)) {
    *error = "array index " + token + " is out of range (size " + std::to_string(size) + ")";
    return std::nullopt;
  }
  return index;
}

// Pointer operations on one document. Each returns "" on success or an error text, and
// leaves the document unchanged on error.
class Patcher {
 public:
  explicit Patcher(Document& doc) : doc_(doc), alloc_(doc.GetAllocator()) {}

  Allocator& allocator() { return alloc_; }

  std::string Get(const Pointer& p, Value** out) { return Walk(p, p.size(), out); }

  // Moves `value` into place (RFC 6902 "add": inserts into arrays, sets members).
  std::string Add(const Pointer& p, Value& value) {
    if (p.empty()) {
      static_cast<Value&>(doc_) = value;
      return "";
    }
    Value* parent = nullptr;
    if (std::string e = Walk(p, p.size() - 1, &parent); !e.empty()) return e;
    const std::string& last = p.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Ref(last));
      if (it != parent->MemberEnd()) {
        it->value = value;
      } else {
        parent->AddMember(json::String(last, alloc_), value, alloc_);
      }
      return "";
    }
    if (parent->IsArray()) {
      std::string e;
      auto index = ParseIndex(last, parent->Size(), /*for_insert=*/true, &e);
      if (!index) return PointerText(p, p.size()) + ": " + e;
      parent->PushBack(value, alloc_);
      // RapidJSON has no insert: bubble the new element down to its index.
      for (size_t k = parent->Size() - 1; k > *index; --k) {
        (*parent)[static_cast<rapidjson::SizeType>(k)].Swap(
            (*parent)[static_cast<rapidjson::SizeType>(k - 1)]);
      }
      return "";
    }
    return PointerText(p, p.size() - 1) + " is " + json::TypeName(*parent) +
           ", not an object or array";
  }

  // Takes the value at `p` out of the document into `*removed`.
  std::string Remove(const Pointer& p, Value* removed) {
    if (p.empty()) return "cannot remove the whole document";
    Value* parent = nullptr;
    if (std::string e = Walk(p, p.size() - 1, &parent); !e.empty()) return e;
    const std::string& last = p.back();
    if (parent->IsObject()) {
      auto it = parent->FindMember(Ref(last));
      if (it == parent->MemberEnd()) return PointerText(p, p.size()) + " does not exist";
      removed->Swap(it->value);
      parent->EraseMember(it);  // keeps the order of the other members
      return "";
    }
    if (parent->IsArray()) {
      std::string e;
      auto index = ParseIndex(last, parent->Size(), /*for_insert=*/false, &e);
      if (!index) return PointerText(p, p.size()) + ": " + e;
      removed->Swap((*parent)[static_cast<rapidjson::SizeType>(*index)]);
      parent->Erase(parent->Begin() + *index);
      return "";
    }
    return PointerText(p, p.size() - 1) + " is " + json::TypeName(*parent) +
           ", not an object or array";
  }

 private:
  // Resolves the first `n` tokens of `p` to an existing value.
  std::string Walk(const Pointer& p, size_t n, Value** out) {
    Value* v = &doc_;
    for (size_t i = 0; i < n; ++i) {
      if (v->IsObject()) {
        auto it = v->FindMember(Ref(p[i]));
        if (it == v->MemberEnd()) return PointerText(p, i + 1) + " does not exist";
        v = &it->value;
      } else if (v->IsArray()) {
        std::string e;
        auto index = ParseIndex(p[i], v->Size(), /*for_insert=*/false, &e);
        if (!index) return PointerText(p, i + 1) + ": " + e;
        v = &(*v)[static_cast<rapidjson::SizeType>(*index)];
      } else {
        return PointerText(p, i) + " is " + json::TypeName(*v) + ", not an object or array";
      }
    }
    *out = v;
    return "";
  }

  Document& doc_;
  Allocator& alloc_;
};

// Applies one operation; returns "" or the error text (without the op prefix).
std::string ApplyOp(Patcher& patcher, const Value& op, std::string_view name,
                    const Pointer& path) {
  Allocator& alloc = patcher.allocator();
  const Value* value = json::Find(op, "value");
  bool needs_value = name == "add" || name == "replace" || name == "test";
  bool needs_from = name == "move" || name == "copy";
  if (!needs_value && !needs_from && name != "remove") {
    return "unknown op '" + std::string(name) + "'";
  }
  if (needs_value && !value) return "missing 'value'";
  Pointer from;
  if (needs_from) {
    const Value* f = json::Find(op, "from");
    if (!f || !f->IsString()) return "missing or non-string 'from'";
    if (std::string e = ParsePointer(Str(*f), &from); !e.empty()) return "'from': " + e;
  }

  if (name == "add") {
    Value copy = DeepCopy(*value, alloc);
    return patcher.Add(path, copy);
  }
  if (name == "remove") {
    Value removed;
    return patcher.Remove(path, &removed);
  }
  Value* target = nullptr;
  if (name == "replace") {
    if (std::string e = patcher.Get(path, &target); !e.empty()) return e;
    *target = DeepCopy(*value, alloc);
    return "";
  }
  if (name == "test") {
    if (std::string e = patcher.Get(path, &target); !e.empty()) return e;
    if (!JsonEquals(*target, *value)) return "test failed: the value differs";
    return "";
  }
  if (std::string e = patcher.Get(from, &target); !e.empty()) return "'from': " + e;
  if (name == "copy") {
    Value copy = DeepCopy(*target, alloc);
    return patcher.Add(path, copy);
  }
  // move
  if (from == path) return "";
  if (from.size() < path.size() && std::equal(from.begin(), from.end(), path.begin())) {
    return "cannot move a value into one of its own children";
  }
  Value moved;
  if (std::string e = patcher.Remove(from, &moved); !e.empty()) return "'from': " + e;
  return patcher.Add(path, moved);
}

// Numbers by value, or with `exact` also by form (1 vs 1.0, 0.0 vs -0.0).
bool NumbersEqual(const Value& a, const Value& b, bool exact) {
  if (a.IsDouble() || b.IsDouble()) {
    if (exact && a.IsDouble() != b.IsDouble()) return false;
    double x = a.GetDouble(), y = b.GetDouble();
    return x <= y && x >= y && (!exact || std::signbit(x) == std::signbit(y));
  }
  if (a.IsInt64() && b.IsInt64()) return a.GetInt64() == b.GetInt64();
  if (a.IsUint64() && b.IsUint64()) return a.GetUint64() == b.GetUint64();
  return false;  // one negative, the other above INT64_MAX
}

bool Equal(const Value& a, const Value& b, bool exact) {
  if (a.GetType() != b.GetType()) return false;
  switch (a.GetType()) {
    case rapidjson::kNumberType:
      return NumbersEqual(a, b, exact);
    case rapidjson::kStringType:
      return Str(a) == Str(b);
    case rapidjson::kArrayType:
      if (a.Size() != b.Size()) return false;
      for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
        if (!Equal(a[i], b[i], exact)) return false;
      }
      return true;
    case rapidjson::kObjectType: {
      if (a.MemberCount() != b.MemberCount()) return false;
      auto bi = b.MemberBegin();
      for (auto ai = a.MemberBegin(); ai != a.MemberEnd(); ++ai, ++bi) {
        // Same order is the common case; fall back to a lookup otherwise.
        const Value* other = nullptr;
        if (Str(bi->name) == Str(ai->name)) {
          other = &bi->value;
        } else if (auto it = b.FindMember(Ref(Str(ai->name))); it != b.MemberEnd()) {
          other = &it->value;
        }
        if (!other || !Equal(ai->value, *other, exact)) return false;
      }
      return true;
    }
    default:
      return true;  // null, true, false: equal types are equal values
  }
}

void MergeInto(Value& target, const Value& patch, Allocator& alloc) {
  if (!patch.IsObject()) {
    target = DeepCopy(patch, alloc);
    return;
  }
  if (!target.IsObject()) target.SetObject();
  for (const auto& m : patch.GetObject()) {
    auto it = target.FindMember(Ref(Str(m.name)));
    if (m.value.IsNull()) {
      if (it != target.MemberEnd()) target.EraseMember(it);
    } else if (it != target.MemberEnd()) {
      MergeInto(it->value, m.value, alloc);
    } else {
      Value child;
      MergeInto(child, m.value, alloc);
      target.AddMember(json::String(Str(m.name), alloc), child, alloc);
    }
  }
}

}  // namespace

Status ApplyJsonPatch(json::Document& doc, const json::Value& patch) {
  if (!patch.IsArray()) {
    return InvalidArgument("A JSON Patch must be an array of operations").WithReason(kReason);
  }
  // An op nests its value two levels down (array, op object).
  if (json::Depth(patch) > json::kMaxDepth + 2) {
    return InvalidArgument("JSON Patch nested deeper than " + std::to_string(json::kMaxDepth) +
                           " levels")
        .WithReason(kReason);
  }
  // Work on a copy so that a failure halfway leaves `doc` untouched.
  Document working;
  static_cast<Value&>(working) = DeepCopy(doc, working.GetAllocator());
  Patcher patcher(working);
  Pointer path;
  for (rapidjson::SizeType i = 0; i < patch.Size(); ++i) {
    const Value& op = patch[i];
    std::string prefix = "JSON Patch operation " + std::to_string(i);
    if (!op.IsObject()) {
      return InvalidArgument(prefix + ": must be an object").WithReason(kReason);
    }
    auto name = json::GetString(op, "op");
    auto path_text = json::GetString(op, "path");
    if (!name) return InvalidArgument(prefix + ": missing or non-string 'op'").WithReason(kReason);
    prefix += " (" + *name;
    if (!path_text) {
      return InvalidArgument(prefix + "): missing or non-string 'path'").WithReason(kReason);
    }
    prefix += " \"" + *path_text + "\"): ";
    if (std::string e = ParsePointer(*path_text, &path); !e.empty()) {
      return InvalidArgument(prefix + e).WithReason(kReason);
    }
    if (std::string e = ApplyOp(patcher, op, *name, path); !e.empty()) {
      return InvalidArgument(prefix + e).WithReason(kReason);
    }
  }
  doc.Swap(working);
  return Status::Ok();
}

Status ApplyMergePatch(json::Document& target, const json::Value& patch) {
  if (json::Depth(patch) > json::kMaxDepth) {
    return InvalidArgument("Merge patch nested deeper than " + std::to_string(json::kMaxDepth) +
                           " levels")
        .WithReason(kReason);
  }
  MergeInto(target, patch, target.GetAllocator());
  return Status::Ok();
}

bool JsonEquals(const json::Value& a, const json::Value& b) { return Equal(a, b, false); }

bool JsonIdentical(const json::Value& a, const json::Value& b) { return Equal(a, b, true); }

json::Value DeepCopy(const json::Value& value, json::Allocator& allocator) {
  switch (value.GetType()) {
    case rapidjson::kObjectType: {
      Value out(rapidjson::kObjectType);
      for (const auto& m : value.GetObject()) {
        out.AddMember(json::String(Str(m.name), allocator), DeepCopy(m.value, allocator),
                      allocator);
      }
      return out;
    }
    case rapidjson::kArrayType: {
      Value out(rapidjson::kArrayType);
      out.Reserve(value.Size(), allocator);
      for (const auto& e : value.GetArray()) out.PushBack(DeepCopy(e, allocator), allocator);
      return out;
    }
    case rapidjson::kStringType:
      return json::String(Str(value), allocator);
    default:
      return Value(value, allocator);  // numbers, booleans, null: no storage
  }
}

std::string EscapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace ledgerflow
