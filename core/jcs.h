// RFC 8785 JSON Canonicalization Scheme (JCS) of RapidJSON values: object members sorted
// by the UTF-16 code units of their names, no whitespace, strings escaped as ECMAScript's
// JSON.stringify does, numbers as ECMAScript's Number.prototype.toString of the IEEE
// double. Pure and thread-safe (one thread-local scratch vector per thread).
#pragma once

#include <string>
#include <string_view>

#include "core/json.h"

namespace ledgerflow::jcs {

// Appends the canonical form of `value` to `*out`. Preconditions: strings are valid
// UTF-8 (json::Parse guarantees it) and numbers finite (RapidJSON refuses NaN and
// Infinity). Integers held as int64/uint64 are written as the double nearest to them,
// as JavaScript would read them: exact only within +-(2^53-1), which request bodies
// enforce (see json::FindNonInteroperableNumber). Nesting is bounded by the caller
// (json::kMaxDepth for parsed documents).
void Append(const json::Value& value, std::string* out);

// Append into a new string.
std::string Canonicalize(const json::Value& value);

// Appends `s` as a JSON string literal, escaped as JSON.stringify escapes: \b \t \n \f
// \r \" \\, other characters below U+0020 as \u00xx (lowercase hex), every other byte
// copied as is. Runs without escapes are copied in one append.
void AppendString(std::string_view s, std::string* out);

// Appends ECMAScript's Number::toString(x) for a finite `x` (-0 is "0"): the shortest
// digits that round-trip, without exponent when 1e-7 <= |x| < 1e21, else as d[.ddd]e+NN
// or d[.ddd]e-NN.
void AppendNumber(double x, std::string* out);

// True when `a` sorts before `b` by UTF-16 code units (both valid UTF-8). Differs from
// byte (code point) order only between U+E000..U+FFFF and characters above U+FFFF,
// whose surrogates sort first.
bool Utf16Less(std::string_view a, std::string_view b);

}  // namespace ledgerflow::jcs
