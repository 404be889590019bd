// The server's log: one line per record on stderr, as text (`time LEVEL event k=v ...`)
// or as one JSON object per line. Each record is one write(2), so lines of concurrent
// threads never interleave. Thread-safe; configured once at start.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace ledgerflow::api::log {

enum class Format { kText, kJson };
enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::optional<Format> ParseFormat(std::string_view name);  // text, json
std::optional<Level> ParseLevel(std::string_view name);     // debug, info, warn, error

// Where and how records go; before it is called: text, info, stderr.
void Configure(Format format, Level level, int fd = 2);
bool Enabled(Level level);

// A field of a record: text, or a number written as it is.
struct Field {
  Field(std::string_view n, std::string_view v) : name(n), value(v) {}
  Field(std::string_view n, const std::string& v) : name(n), value(v) {}
  Field(std::string_view n, const char* v) : name(n), value(v) {}
  Field(std::string_view n, int64_t v) : name(n), value(std::to_string(v)), number(true) {}
  Field(std::string_view n, uint64_t v) : name(n), value(std::to_string(v)), number(true) {}
  Field(std::string_view n, double v);

  std::string_view name;
  std::string value;
  bool number = false;
};

// Writes a record `event` (a short fixed name: "access", "internal_error"...) when
// `level` is enabled.
void Write(Level level, std::string_view event, std::initializer_list<Field> fields);

}  // namespace ledgerflow::api::log
