#include "core/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace ledgerflow::jcs {
namespace {

// Code point of the valid UTF-8 sequence starting at s[i].
uint32_t DecodeAt(std::string_view s, size_t i) {
  const auto b = [&](size_t k) -> uint32_t {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0;
  };
  const uint32_t c = b(0);
  if (c < 0x80) return c;
  if (c < 0xe0) return ((c & 0x1f) << 6) | (b(1) & 0x3f);
  if (c < 0xf0) return ((c & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
  return ((c & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
}

// A key that orders code points as their UTF-16 code units do: U+E000..U+FFFF after
// every supplementary character (whose high surrogate is below U+E000).
uint32_t Utf16Key(uint32_t cp) { return cp >= 0xe000 && cp <= 0xffff ? cp + 0x200000 : cp; }

// Member pointers of the objects being written, one range per nesting level.
std::vector<const json::Value::Member*>& MemberStack() {
  thread_local std::vector<const json::Value::Member*> stack;
  return stack;
}

std::string_view NameOf(const json::Value::Member* m) {
  return {m->name.GetString(), m->name.GetStringLength()};
}

}  // namespace

bool Utf16Less(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  if (i == n) return a.size() < b.size();
  // Both differ inside the same code point: back up to its first byte (the bytes
  // before i are equal, so it starts at the same offset in both).
  while (i > 0 && (static_cast<unsigned char>(a[i]) & 0xc0) == 0x80) --i;
  return Utf16Key(DecodeAt(a, i)) < Utf16Key(DecodeAt(b, i));
}

void AppendString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    size_t len = 6;
    switch (c) {
      case '"': escaped[1] = '"'; len = 2; break;
      case '\\': escaped[1] = '\\'; len = 2; break;
      case '\b': escaped[1] = 'b'; len = 2; break;
      case '\t': escaped[1] = 't'; len = 2; break;
      case '\n': escaped[1] = 'n'; len = 2; break;
      case '\f': escaped[1] = 'f'; len = 2; break;
      case '\r': escaped[1] = 'r'; len = 2; break;
      default: break;
    }
    out->append(escaped, len);
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendNumber(double x, std::string* out) {
  if (x == 0) {  // also -0
    out->push_back('0');
    return;
  }
  // Shortest round-trip digits in scientific form: d[.ddd]e(+|-)XX.
  char buf[32];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::scientific);
  const std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  const size_t e_at = sci.find('e');
  char digits[20];
  int k = 0;  // number of significant digits
  for (size_t i = 0; i < e_at; ++i) {
    if (sci[i] != '.') digits[k++] = sci[i];
  }
  int exponent = 0;
  const char* exp_begin = sci.data() + e_at + 1;
  if (*exp_begin == '+') ++exp_begin;
  std::from_chars(exp_begin, sci.data() + sci.size(), exponent);
  // ECMA-262 Number::toString: value = digits x 10^(n-k).
  const int n = exponent + 1;
  if (x < 0) out->push_back('-');
  if (k <= n && n <= 21) {
    out->append(digits, static_cast<size_t>(k));
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, static_cast<size_t>(n));
    out->push_back('.');
    out->append(digits + n, static_cast<size_t>(k - n));
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits, static_cast<size_t>(k));
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits + 1, static_cast<size_t>(k - 1));
    }
    out->push_back('e');
    out->push_back(n - 1 < 0 ? '-' : '+');
    char e_buf[8];
    const std::to_chars_result er = std::to_chars(e_buf, e_buf + sizeof e_buf, std::abs(n - 1));
    out->append(e_buf, static_cast<size_t>(er.ptr - e_buf));
  }
}

void Append(const json::Value& value, std::string* out) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      out->append("null");
      return;
    case rapidjson::kFalseType:
      out->append("false");
      return;
    case rapidjson::kTrueType:
      out->append("true");
      return;
    case rapidjson::kStringType:
      AppendString({value.GetString(), value.GetStringLength()}, out);
      return;
    case rapidjson::kNumberType: {
      constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
      if (value.IsInt64() && value.GetInt64() >= -kMaxSafe && value.GetInt64() <= kMaxSafe) {
        char buf[24];  // exact as a double, and below 1e21: plain decimal digits
        const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, value.GetInt64());
        out->append(buf, static_cast<size_t>(r.ptr - buf));
      } else {
        AppendNumber(value.GetDouble(), out);
      }
      return;
    }
    case rapidjson::kArrayType: {
      out->push_back('[');
      bool first = true;
      for (const json::Value& item : value.GetArray()) {
        if (!first) out->push_back(',');
        first = false;
        Append(item, out);
      }
      out->push_back(']');
      return;
    }
    case rapidjson::kObjectType: {
      auto& stack = MemberStack();
      const size_t base = stack.size();
      for (auto m = value.MemberBegin(); m != value.MemberEnd(); ++m) stack.push_back(&*m);
      std::sort(stack.begin() + static_cast<std::ptrdiff_t>(base), stack.end(),
                [](const json::Value::Member* a, const json::Value::Member* b) {
                  return Utf16Less(NameOf(a), NameOf(b));
                });
      out->push_back('{');
      // Indexed, not iterated: nested objects push onto (and may reallocate) the stack.
      for (size_t i = base; i < stack.size() && i < base + value.MemberCount(); ++i) {
        if (i != base) out->push_back(',');
        const json::Value::Member* m = stack[i];
        AppendString(NameOf(m), out);
        out->push_back(':');
        Append(m->value, out);
      }
      out->push_back('}');
      stack.resize(base);
      return;
    }
  }
}

std::string Canonicalize(const json::Value& value) {
  std::string out;
  Append(value, &out);
  return out;
}

}  // namespace ledgerflow::jcs
