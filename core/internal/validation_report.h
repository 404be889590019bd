// How the definition validator reports: the error list and the wording helpers that
// its structural checks and its step rules share. Internal to core/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/internal/definition_util.h"
#include "core/json.h"

namespace ledgerflow::core::internal {

inline std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

// A scalar as the client wrote it (for "got 0"), anything else by its type name.
inline std::string Shown(const json::Value& v) {
  if (v.IsNumber() || v.IsBool()) return json::Serialize(v);
  if (v.IsString()) return Quote(Str(v));
  return json::TypeName(v);
}

// Collects messages up to a limit, then only counts them.
class ErrorList {
 public:
  explicit ErrorList(size_t limit) : limit_(limit) {}
  void Add(std::string message) {
    if (list_.size() < limit_) {
      list_.push_back(std::move(message));
    } else {
      ++dropped_;
    }
  }
  std::vector<std::string> Take() && {
    if (dropped_ > 0) list_.push_back("... and " + std::to_string(dropped_) + " more errors");
    return std::move(list_);
  }

 private:
  size_t limit_;
  size_t dropped_ = 0;
  std::vector<std::string> list_;
};

// "<who>: '<field>' must be <expected>, got <type>".
inline void TypeError(ErrorList& errors, std::string_view who, std::string_view field,
                      std::string_view expected, const json::Value& got) {
  errors.Add(std::string(who) + ": " + Quote(field) + " must be " + std::string(expected) +
             ", got " + json::TypeName(got));
}

}  // namespace ledgerflow::core::internal
