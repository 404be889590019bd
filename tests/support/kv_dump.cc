#include "tests/support/kv_dump.h"

#include <gtest/gtest.h>

namespace ledgerflow::testing {

std::map<std::string, std::string> DumpKv(events::KvStore& kv) {
  std::map<std::string, std::string> out;
  Status s = kv.Scan("", "", [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

}  // namespace ledgerflow::testing
