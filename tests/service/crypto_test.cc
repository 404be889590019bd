#include "service/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace ledgerflow::service {
namespace {

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

TEST(RandomHexTest, GivesTwoDigitsPerByteAndDiffers) {
  std::string a = RandomHex(8);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_TRUE(IsLowerHex(a));
  EXPECT_NE(a, RandomHex(8));
}

TEST(TimeOrderedHexTest, StartsWithTheTimeAsTwelveHexDigits) {
  std::string id = TimeOrderedHex(0x0123456789ab, 6);
  ASSERT_EQ(id.size(), 24u);
  EXPECT_EQ(id.substr(0, 12), "0123456789ab");
  EXPECT_TRUE(IsLowerHex(id));
  EXPECT_EQ(TimeOrderedHex(0, 0), "000000000000");
}

TEST(TimeOrderedHexTest, SortsByTimeAndIsUniqueWithinAMillisecond) {
  const int64_t now = 1'795'000'000'000;  // November 2026
  std::vector<std::string> ids;
  for (int64_t t = now; t < now + 50; ++t) ids.push_back(TimeOrderedHex(t, 6));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  // Hex digits compare like the numbers they spell, so later times sort later even
  // across a carry.
  EXPECT_LT(TimeOrderedHex(0x0fffffffffff, 6), TimeOrderedHex(0x100000000000, 6));

  std::set<std::string> same_ms;
  for (int i = 0; i < 10000; ++i) same_ms.insert(TimeOrderedHex(now, 6));
  EXPECT_EQ(same_ms.size(), 10000u);
}

TEST(ConstantTimeEqualsTest, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace ledgerflow::service
