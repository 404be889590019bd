// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing above
// U+10FFFF.
#pragma once

#include <string>
#include <string_view>

namespace ledgerflow::utf8 {

// Length of the well-formed sequence at the start of `s`, or 0 when it is not one
// (or `s` is empty).
size_t SequenceLength(std::string_view s);

bool IsValid(std::string_view s);

// Unicode code points in `s`, counting each byte that starts no well-formed sequence
// as one: the length limits of names and texts count characters, not bytes.
size_t CodePoints(std::string_view s);

// `s` with every byte that does not start a well-formed sequence replaced by U+FFFD:
// for text that came from a client (a path, a query value) and is quoted back in a
// JSON answer, which must be UTF-8.
std::string Sanitize(std::string_view s);

}  // namespace ledgerflow::utf8
