#include "core/templating.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/internal/value_path.h"
#include "core/json_patch.h"

namespace ledgerflow::core {
namespace {

using internal::ValuePath;

struct Placeholder {
  // The placeholder's bytes in the string, braces included: [begin, end).
  size_t begin = 0;
  size_t end = 0;
  ValuePath path;
};

std::string_view View(const json::Value& string) {
  return {string.GetString(), string.GetStringLength()};
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

Status TemplateError(const std::string& pointer, std::string_view text,
                     const std::string& problem) {
  return InvalidArgument("Template at '" + pointer + "' (\"" + internal::Excerpt(text, 80) + "\"): " + problem);
}

// The placeholders of `text`, in order. Positions in messages are byte offsets in `text`.
Status ScanPlaceholders(std::string_view text, std::vector<Placeholder>* out) {
  size_t from = 0;
  while (true) {
    const size_t open = text.find("{{", from);
    if (open == std::string_view::npos) return Status::Ok();
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return InvalidArgument("unterminated '{{'" + internal::AtPosition(open));
    }
    // The path may not run past the closing braces.
    const std::string_view inside = text.substr(0, close);
    size_t pos = open + 2;
    while (pos < close && IsSpace(text[pos])) ++pos;
    StatusOr<ValuePath> path =
        internal::ScanPath(inside, &pos, internal::PathRoots::kInputStepsAndLoop);
    if (!path.ok()) return path.status();
    while (pos < close && IsSpace(text[pos])) ++pos;
    if (pos != close) {
      return InvalidArgument("unexpected " + internal::ShownChar(text[pos]) +
                             internal::AtPosition(pos) + ": a placeholder holds one path");
    }
    out->push_back(Placeholder{open, close + 2, std::move(path).value()});
    from = close + 2;
  }
}

// Calls `visit(string_value, pointer)` for every string value under `value` in document
// order (member names are not values), stopping at the first error it returns.
// `pointer` is `value`'s JSON Pointer; it is extended and restored on the way.
template <typename V, typename Visit>
Status ForEachString(V& value, std::string& pointer, int depth, Visit& visit) {
  if (value.IsString()) return visit(value, static_cast<const std::string&>(pointer));
  if (!value.IsObject() && !value.IsArray()) return Status::Ok();
  if (depth >= json::kMaxDepth) {
    return InvalidArgument("Template config is nested deeper than " +
                           std::to_string(json::kMaxDepth) + " levels");
  }
  const size_t length = pointer.size();
  if (value.IsObject()) {
    for (auto& member : value.GetObject()) {
      pointer.append(1, '/').append(EscapePointerToken(View(member.name)));
      LF_RETURN_IF_ERROR(ForEachString(member.value, pointer, depth + 1, visit));
      pointer.resize(length);
    }
  } else {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      pointer.append(1, '/').append(std::to_string(i));
      LF_RETURN_IF_ERROR(ForEachString(value[i], pointer, depth + 1, visit));
      pointer.resize(length);
    }
  }
  return Status::Ok();
}

// Appends a placeholder's value as text.
void AppendText(const json::Value* value, std::string* out) {
  if (!value || value->IsNull()) return;
  if (value->IsString()) {
    out->append(View(*value));
  } else {
    out->append(json::Serialize(*value));
  }
}

// Replaces the string `value` (which lives in `doc`) with its rendering.
class StringRenderer {
 public:
  StringRenderer(const json::Value& context, json::Allocator& allocator)
      : context_(context), allocator_(allocator) {}

  Status operator()(json::Value& value, const std::string& pointer) {
    const std::string_view text = View(value);
    std::vector<Placeholder> placeholders;
    if (Status scanned = ScanPlaceholders(text, &placeholders); !scanned.ok()) {
      return TemplateError(pointer, text, scanned.message());
    }
    if (placeholders.empty()) return Status::Ok();
    if (placeholders.size() == 1 && placeholders[0].begin == 0 &&
        placeholders[0].end == text.size()) {
      const json::Value* found = internal::ResolvePath(context_, placeholders[0].path);
      json::Value copy;
      if (found) copy.CopyFrom(*found, allocator_);
      value = std::move(copy);
      return Status::Ok();
    }
    std::string rendered;
    size_t from = 0;
    for (const Placeholder& placeholder : placeholders) {
      rendered.append(text.substr(from, placeholder.begin - from));
      AppendText(internal::ResolvePath(context_, placeholder.path), &rendered);
      from = placeholder.end;
      if (rendered.size() > kMaxRenderedStringBytes) break;
    }
    rendered.append(text.substr(from));
    if (rendered.size() > kMaxRenderedStringBytes) {
      return TemplateError(
          pointer, text,
          "renders to more than " + std::to_string(kMaxRenderedStringBytes) + " bytes");
    }
    value = json::String(rendered, allocator_);
    return Status::Ok();
  }

 private:
  const json::Value& context_;
  json::Allocator& allocator_;
};

}  // namespace

StatusOr<json::Document> RenderTemplates(const json::Value& config, const json::Value& context) {
  json::Document rendered;
  rendered.CopyFrom(config, rendered.GetAllocator());
  StringRenderer renderer(context, rendered.GetAllocator());
  std::string pointer;
  LF_RETURN_IF_ERROR(ForEachString(static_cast<json::Value&>(rendered), pointer, 0, renderer));
  return rendered;
}

Status CollectTemplateStepRefs(const json::Value& config, std::vector<TemplateStepRef>* refs) {
  Status first_problem;
  auto collect = [&](const json::Value& value, const std::string& pointer) {
    const std::string_view text = View(value);
    std::vector<Placeholder> placeholders;
    Status scanned = ScanPlaceholders(text, &placeholders);
    if (!scanned.ok() && first_problem.ok()) {
      first_problem = TemplateError(pointer, text, scanned.message());
    }
    const size_t first_of_string = refs->size();
    for (const Placeholder& placeholder : placeholders) {
      const std::string_view id = internal::StepIdOf(placeholder.path);
      const bool seen =
          std::any_of(refs->begin() + static_cast<std::ptrdiff_t>(first_of_string), refs->end(),
                      [&](const TemplateStepRef& ref) { return ref.step_id == id; });
      if (!id.empty() && !seen) refs->push_back({std::string(id), pointer});
    }
    return Status::Ok();
  };
  std::string pointer;
  LF_RETURN_IF_ERROR(ForEachString(config, pointer, 0, collect));
  return first_problem;
}

}  // namespace ledgerflow::core
