#include "core/json.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace ledgerflow::json {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag;

// A string that holds an encoded UTF-16 surrogate (ED A0..BF xx): the parser's UTF-8
// validation checks the raw bytes, but it decodes a lone surrogate escape ("\udc00")
// to such bytes, which no later parse would accept.
bool HasSurrogate(const Value& string) {
  const char* p = string.GetString();
  const char* end = p + string.GetStringLength();
  while ((p = static_cast<const char*>(std::memchr(p, '\xed', static_cast<size_t>(end - p))))) {
    if (p + 1 < end && static_cast<unsigned char>(p[1]) >= 0xa0) return true;
    ++p;
  }
  return false;
}

struct Shape {
  int depth = 0;
  bool surrogate = false;
};

// One walk without recursion, so that a hostile document cannot blow the stack.
Shape Measure(const Value& root) {
  struct Frame { const Value* v; int depth; };
  std::vector<Frame> stack{{&root, 0}};
  Shape shape;
  while (!stack.empty()) {
    Frame f = stack.back();
    stack.pop_back();
    if (f.v->IsObject()) {
      shape.depth = std::max(shape.depth, f.depth + 1);
      for (auto& m : f.v->GetObject()) {
        shape.surrogate = shape.surrogate || HasSurrogate(m.name);
        stack.push_back({&m.value, f.depth + 1});
      }
    } else if (f.v->IsArray()) {
      shape.depth = std::max(shape.depth, f.depth + 1);
      for (auto& e : f.v->GetArray()) stack.push_back({&e, f.depth + 1});
    } else if (f.v->IsString()) {
      shape.surrogate = shape.surrogate || HasSurrogate(*f.v);
    }
  }
  return shape;
}

}  // namespace

StatusOr<Document> Parse(std::string_view text) {
  Document doc;
  doc.Parse<kParseFlags>(text.data(), text.size());
  if (doc.HasParseError()) {
    return InvalidArgument(std::string("Malformed JSON at offset ") +
                           std::to_string(doc.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc.GetParseError()))
        .WithReason("malformed_json");
  }
  const Shape shape = Measure(doc);
  if (shape.depth > kMaxDepth) {
    return InvalidArgument("JSON nested deeper than " + std::to_string(kMaxDepth) +
                           " levels")
        .WithReason("malformed_json");
  }
  if (shape.surrogate) {
    return InvalidArgument("JSON string holds a lone UTF-16 surrogate (not valid Unicode)")
        .WithReason("malformed_json");
  }
  return doc;
}

std::string Serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string SerializePretty(const Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Document Clone(const Value& value) {
  Document doc;
  doc.CopyFrom(value, doc.GetAllocator());
  return doc;
}

Document TakeMember(Document&& doc, std::string_view key) {
  Document taken(std::move(doc));
  Value member;  // null unless found
  if (taken.IsObject()) {
    auto it = taken.FindMember(
        Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
    if (it != taken.MemberEnd()) member.Swap(it->value);
  }
  // The old root now lives in `member`, whose storage is the pool's (a pool
  // allocator's values free nothing of their own), and the member is the root.
  static_cast<Value&>(taken).Swap(member);
  return taken;
}

int Depth(const Value& value) { return Measure(value).depth; }

namespace {

// Objects are mostly small (a step has a handful of members): below this, comparing
// every pair beats sorting the names.
constexpr rapidjson::SizeType kPairwiseMembers = 16;

// One reference token of a JSON Pointer (RFC 6901: "~" -> "~0", "/" -> "~1").
void AppendPointerToken(std::string* pointer, std::string_view token) {
  pointer->push_back('/');
  for (char c : token) {
    if (c == '~') {
      pointer->append("~0");
    } else if (c == '/') {
      pointer->append("~1");
    } else {
      pointer->push_back(c);
    }
  }
}

std::string_view NameOf(const Value::ConstMemberIterator& m) {
  return std::string_view(m->name.GetString(), m->name.GetStringLength());
}

bool FindDuplicateKeyAt(const Value& value, std::string* pointer, DuplicateKey* found) {
  if (value.IsObject()) {
    const auto begin = value.MemberBegin();
    const auto end = value.MemberEnd();
    if (value.MemberCount() <= kPairwiseMembers) {
      for (auto m = begin; m != end; ++m) {
        for (auto earlier = begin; earlier != m; ++earlier) {
          if (NameOf(earlier) == NameOf(m)) {
            *found = {*pointer, std::string(NameOf(m))};
            return true;
          }
        }
      }
    } else {
      // Sorted by name, then position: the second of the first equal pair found in
      // document order is reported, as the pairwise loop would.
      std::vector<std::pair<std::string_view, size_t>> names;
      names.reserve(value.MemberCount());
      for (auto m = begin; m != end; ++m) {
        names.emplace_back(NameOf(m), static_cast<size_t>(m - begin));
      }
      std::sort(names.begin(), names.end());
      std::optional<size_t> first_repeat;
      for (size_t i = 1; i < names.size(); ++i) {
        if (names[i].first == names[i - 1].first &&
            (!first_repeat || names[i].second < *first_repeat)) {
          first_repeat = names[i].second;
        }
      }
      if (first_repeat) {
        *found = {*pointer, std::string(NameOf(begin + static_cast<long>(*first_repeat)))};
        return true;
      }
    }
    for (auto m = begin; m != end; ++m) {
      const size_t length = pointer->size();
      AppendPointerToken(pointer, NameOf(m));
      if (FindDuplicateKeyAt(m->value, pointer, found)) return true;
      pointer->resize(length);
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      const size_t length = pointer->size();
      AppendPointerToken(pointer, std::to_string(i));
      if (FindDuplicateKeyAt(value[i], pointer, found)) return true;
      pointer->resize(length);
    }
  }
  return false;
}

}  // namespace

std::optional<DuplicateKey> FindDuplicateKey(const Value& value) {
  std::string pointer;
  DuplicateKey found;
  if (FindDuplicateKeyAt(value, &pointer, &found)) return found;
  return std::nullopt;
}

const Value* Find(const Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(
      Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::optional<std::string> GetString(const Value& object, std::string_view key) {
  const Value* v = Find(object, key);
  if (!v || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<int64_t> GetInt(const Value& object, std::string_view key) {
  const Value* v = Find(object, key);
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::optional<bool> GetBool(const Value& object, std::string_view key) {
  const Value* v = Find(object, key);
  if (!v || !v->IsBool()) return std::nullopt;
  return v->GetBool();
}

const char* TypeName(const Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return "number";
  }
  return "unknown";
}

}  // namespace ledgerflow::json
