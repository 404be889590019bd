// RFC 3339 timestamps for the event envelope (`at`) and the API (`?as_of=`).
// Pure functions on UTC milliseconds since the epoch; stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace ledgerflow::core {

// "2026-11-23T20:01:02.123Z": UTC, always three fractional digits. This exact form
// is part of the stored event bytes (and so of their hashes): never change it.
std::string FormatRfc3339Millis(int64_t ms);

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" ('t', 'z' and a space
// separator are accepted too) into UTC milliseconds; fractions finer than a
// millisecond are truncated, a leap second (:60) counts as the next second.
// Returns InvalidArgument (reason "invalid_timestamp") on anything else.
StatusOr<int64_t> ParseRfc3339(std::string_view text);

}  // namespace ledgerflow::core
