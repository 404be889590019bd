#include "core/json.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
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

namespace {

// Tracks the JSON Pointer of the current value and checks every number's text.
class NumberChecker : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NumberChecker> {
 public:
  struct Level {
    bool object;
    size_t index;       // array: index of the next element
    std::string key;    // object: name of the current member
  };

  bool Default() { return Next(), true; }
  bool Key(const char* s, rapidjson::SizeType len, bool) {
    levels_.back().key.assign(s, len);
    return true;
  }
  bool StartObject() { Next(); levels_.push_back({true, 0, {}}); return true; }
  bool EndObject(rapidjson::SizeType) { levels_.pop_back(); return true; }
  bool StartArray() { Next(); levels_.push_back({false, 0, {}}); return true; }
  bool EndArray(rapidjson::SizeType) { levels_.pop_back(); return true; }
  bool RawNumber(const char* s, rapidjson::SizeType len, bool) {
    Next();
    std::string_view text(s, len);
    if (OutOfRange(text)) {
      found_ = Pointer();
      return false;
    }
    return true;
  }
  const std::optional<std::string>& found() const { return found_; }
  // The reader stopped at a number it cannot hold in a double (its exponent overflows
  // before RawNumber is called): that number is the next value.
  void TooBig() {
    Next();
    found_ = Pointer();
  }

 private:
  static bool OutOfRange(std::string_view text) {
    if (text.find_first_of(".eE") == std::string_view::npos) {
      std::string_view digits = text.front() == '-' ? text.substr(1) : text;
      constexpr std::string_view kMax = "9007199254740991";  // 2^53 - 1
      return digits.size() > kMax.size() || (digits.size() == kMax.size() && digits > kMax);
    }
    return std::isinf(std::strtod(std::string(text).c_str(), nullptr));
  }
  // Counts the value about to start as the next element of an enclosing array.
  void Next() {
    if (!levels_.empty() && !levels_.back().object) ++levels_.back().index;
  }
  std::string Pointer() const {
    std::string out;
    for (const Level& l : levels_) {
      out.push_back('/');
      if (!l.object) {
        out += std::to_string(l.index - 1);
        continue;
      }
      for (char c : l.key) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out.push_back(c);
      }
    }
    return out;
  }

  std::vector<Level> levels_;
  std::optional<std::string> found_;
};

}  // namespace

std::optional<std::string> FindNonInteroperableNumber(std::string_view text) {
  NumberChecker checker;
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  reader.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseNumbersAsStringsFlag>(stream,
                                                                                      checker);
  if (reader.GetParseErrorCode() == rapidjson::kParseErrorNumberTooBig) checker.TooBig();
  return checker.found();
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
