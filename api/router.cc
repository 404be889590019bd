#include "api/router.h"

#include <algorithm>
#include <cctype>

namespace ledgerflow::api {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// Number of static segments matched, or -1 when the pattern's `parts` do not match.
int MatchPattern(const std::vector<std::string>& parts,
                 const std::vector<std::string_view>& segments,
                 std::map<std::string, std::string>* params) {
  if (parts.size() != segments.size()) return -1;
  int statics = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].starts_with(':')) {
      if (params) (*params)[std::string(parts[i].substr(1))] = PercentDecode(segments[i]);
    } else if (parts[i] == segments[i]) {
      ++statics;
    } else {
      return -1;
    }
  }
  return statics;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<std::string> ApiRequest::query(const std::string& name) const {
  auto v = http.QueryValue(name);
  if (!v) return std::nullopt;
  return PercentDecode(*v);
}

std::optional<std::string> ApiRequest::header(const std::string& name) const {
  const std::string* value = http.Header(name);
  if (value == nullptr) return std::nullopt;
  return *value;
}

void Router::Add(Route route) {
  auto parts = Split(route.pattern);
  patterns_.emplace_back(parts.begin(), parts.end());
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Pistache::Http::Method method, std::string_view path) const {
  auto segments = Split(path);
  Match out;
  int best_statics = -1;
  size_t best = 0;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    int statics = MatchPattern(patterns_[i], segments, nullptr);
    if (statics < 0) continue;
    if (r.method != method) {
      if (std::find(out.allowed.begin(), out.allowed.end(), r.method) == out.allowed.end()) {
        out.allowed.push_back(r.method);
      }
      continue;
    }
    if (statics > best_statics) {
      best_statics = statics;
      best = i;
    }
  }
  if (best_statics >= 0) {
    out.route = &routes_[best];
    MatchPattern(patterns_[best], segments, &out.params);
  }
  return out;
}

}  // namespace ledgerflow::api
