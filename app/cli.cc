#include "app/cli.h"

#include <cstdlib>

namespace ledgerflow::app {

std::optional<std::string> Flags::Parse(const std::vector<FlagSpec>& specs, int argc,
                                        char** argv, int first) {
  specs_ = specs;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_ = true;
      continue;
    }
    if (!arg.starts_with("--")) return "unexpected argument '" + arg + "'";
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) return "unknown flag --" + name;
    if (spec->is_switch) {
      values_[name] = value.value_or("true");
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) return "--" + name + " needs a value";
      value = argv[++i];
    }
    values_[name] = *value;
  }
  return std::nullopt;
}

std::string Flags::Get(const std::string& name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  for (const auto& s : specs_) {
    if (s.name != name) continue;
    if (!s.env.empty()) {
      if (const char* env = std::getenv(s.env.c_str()); env && *env) return env;
    }
    return s.fallback;
  }
  return "";
}

bool Flags::Has(const std::string& name) const {
  std::string v = Get(name);
  return !v.empty() && v != "false" && v != "0";
}

std::string Usage(const std::string& command, const std::string& summary,
                  const std::vector<FlagSpec>& specs) {
  std::string out = "usage: ledgerflow " + command + " [flags]\n\n" + summary + "\n\nflags:\n";
  for (const auto& s : specs) {
    std::string line = "  --" + s.name + (s.is_switch ? "" : " VALUE");
    if (line.size() < 26) line.resize(26, ' ');
    line += s.help;
    if (!s.env.empty()) line += " [env " + s.env + "]";
    if (!s.fallback.empty()) line += " (default " + s.fallback + ")";
    out += line + "\n";
  }
  out += "  --help                  this text\n";
  return out;
}

}  // namespace ledgerflow::app
