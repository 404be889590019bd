#include "api/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "core/time_format.h"

namespace ledgerflow::api::log {
namespace {

std::atomic<Format> g_format{Format::kText};
std::atomic<Level> g_level{Level::kInfo};
std::atomic<int> g_fd{2};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

// Text values are bare when they hold no space, quote or control character.
void AppendTextValue(std::string& out, std::string_view s) {
  bool bare = !s.empty();
  for (unsigned char c : s) {
    if (c <= 0x20 || c == '"' || c == '=' || c == 0x7f) bare = false;
  }
  if (bare) {
    out.append(s);
  } else {
    AppendJsonString(out, s);
  }
}

}  // namespace

Field::Field(std::string_view n, double v) : name(n), number(true) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  value = buf;
}

std::optional<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return std::nullopt;
}

std::optional<Level> ParseLevel(std::string_view name) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == LevelName(l)) return l;
  }
  return std::nullopt;
}

void Configure(Format format, Level level, int fd) {
  g_format = format;
  g_level = level;
  g_fd = fd;
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const std::string time = core::FormatRfc3339Millis(now_ms);
  std::string line;
  line.reserve(256);
  if (g_format.load(std::memory_order_relaxed) == Format::kJson) {
    line += "{\"time\":\"" + time + "\",\"level\":\"" + LevelName(level) + "\",\"event\":";
    AppendJsonString(line, event);
    for (const Field& f : fields) {
      line.push_back(',');
      AppendJsonString(line, f.name);
      line.push_back(':');
      if (f.number) {
        line += f.value;
      } else {
        AppendJsonString(line, f.value);
      }
    }
    line += "}\n";
  } else {
    line += time;
    line.push_back(' ');
    for (const char* c = LevelName(level); *c; ++c) line.push_back(static_cast<char>(*c - 32));
    line.push_back(' ');
    line.append(event);
    for (const Field& f : fields) {
      line.push_back(' ');
      line.append(f.name);
      line.push_back('=');
      AppendTextValue(line, f.value);
    }
    line.push_back('\n');
  }
  const int fd = g_fd.load(std::memory_order_relaxed);
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n <= 0) return;  // a log that cannot be written is not worth failing a request
    written += static_cast<size_t>(n);
  }
}

}  // namespace ledgerflow::api::log
