// Command-line parsing shared by the subcommands: --flag value / --flag=value,
// environment fallbacks, and --help text.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ledgerflow::app {

struct FlagSpec {
  std::string name;      // without the leading dashes
  std::string env;       // environment fallback, or ""
  std::string fallback;  // default when neither is given, or ""
  std::string help;
  bool is_switch = false;  // takes no value
};

class Flags {
 public:
  // Parses argv[first..]; returns an error message on unknown or valueless flags.
  std::optional<std::string> Parse(const std::vector<FlagSpec>& specs, int argc, char** argv,
                                   int first);
  bool help() const { return help_; }
  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const;
  // Whether the command line named the flag (even with an empty value).
  bool Given(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<FlagSpec> specs_;
  bool help_ = false;
};

std::string Usage(const std::string& command, const std::string& summary,
                  const std::vector<FlagSpec>& specs);

}  // namespace ledgerflow::app
