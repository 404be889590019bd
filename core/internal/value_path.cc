#include "core/internal/value_path.h"

#include <charconv>

namespace ledgerflow::core::internal {
namespace {

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

StatusOr<ValuePath> ScanPath(std::string_view text, size_t* pos, PathRoots roots) {
  const size_t start = *pos;
  ValuePath path;
  size_t i = start;
  while (true) {
    const size_t segment_start = i;
    while (i < text.size() && IsPathChar(text[i])) ++i;
    if (i == segment_start) {
      if (path.empty()) return InvalidArgument("expected a path" + AtPosition(i));
      if (path.size() == 1 && path[0] == "steps") {
        return InvalidArgument("'steps' must be followed by a step id" + AtPosition(i));
      }
      return InvalidArgument("expected a name after '.'" + AtPosition(i));
    }
    path.emplace_back(text.substr(segment_start, i - segment_start));
    if (i >= text.size() || text[i] != '.') break;
    ++i;
  }
  const std::string& root = path[0];
  const bool loop_roots = roots == PathRoots::kInputStepsAndLoop;
  if (root == "steps") {
    if (path.size() < 2) return InvalidArgument("'steps' must be followed by a step id" + AtPosition(i));
  } else if (loop_roots && root == "index") {
    if (path.size() > 1)
      return InvalidArgument("'index' is a number and has no members" + AtPosition(start));
  } else if (root != "input" && !(loop_roots && root == "item")) {
    return InvalidArgument("unknown name '" + root + "'" + AtPosition(start) +
                           (loop_roots ? ": paths start with input., steps., item or index"
                                       : ": paths start with input. or steps."));
  }
  *pos = i;
  return path;
}

const json::Value* ResolvePath(const json::Value& context, const ValuePath& path) {
  const json::Value* current = &context;
  for (const std::string& segment : path) {
    if (current->IsObject()) {
      auto it = current->FindMember(json::Value::StringRefType(
          segment.data(), static_cast<rapidjson::SizeType>(segment.size())));
      if (it == current->MemberEnd()) return nullptr;
      current = &it->value;
    } else if (current->IsArray() && IsAllDigits(segment)) {
      size_t index = 0;
      auto [end, error] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
      if (error != std::errc() || index >= current->Size()) return nullptr;
      current = &(*current)[static_cast<rapidjson::SizeType>(index)];
    } else {
      return nullptr;
    }
  }
  return current;
}

std::string AtPosition(size_t pos) { return " at position " + std::to_string(pos); }

std::string ShownChar(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 15];
}

std::string Excerpt(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string_view StepIdOf(const ValuePath& path) {
  if (path.size() >= 2 && path[0] == "steps") return path[1];
  return {};
}

}  // namespace ledgerflow::core::internal
