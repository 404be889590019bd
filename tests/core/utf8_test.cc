#include "core/utf8.h"

#include <gtest/gtest.h>

namespace ledgerflow::utf8 {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  const std::initializer_list<std::string_view> valid = {
      "", "plain", "caf\xC3\xA9", "\xE2\x86\x92", "\xF0\x9F\x98\x80", "\xED\x9F\xBF",
      "\xF4\x8F\xBF\xBF", std::string_view("a\0b", 3)};
  for (std::string_view s : valid) {
    EXPECT_TRUE(IsValid(s)) << s;
    EXPECT_EQ(Sanitize(s), s);
  }
}

TEST(Utf8Test, RefusesWhatRfc3629Excludes) {
  for (std::string_view s : {
           "\xFF",              // never in UTF-8
           "\x80",              // a lone continuation byte
           "\xC0\xAF",          // overlong '/'
           "\xE0\x80\xAF",      // overlong, three bytes
           "\xED\xA0\x80",      // a UTF-16 surrogate
           "\xF4\x90\x80\x80",  // above U+10FFFF
           "\xC3",              // cut short
           "\xE2\x86",          // cut short
       }) {
    EXPECT_FALSE(IsValid(s)) << testing::PrintToString(s);
  }
}

TEST(Utf8Test, SanitizeReplacesEachBadByteAndKeepsTheRest) {
  EXPECT_EQ(Sanitize("a\xFF\xFE" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  // A sequence cut at the end (a message truncated in the middle of a character).
  EXPECT_EQ(Sanitize("\xC3\xA9\xC3"), "\xC3\xA9\xEF\xBF\xBD");
  EXPECT_EQ(Sanitize("\xE2\x86" "x"), "\xEF\xBF\xBD\xEF\xBF\xBDx");
  EXPECT_TRUE(IsValid(Sanitize("\xED\xA0\x80\xC0\xAF")));
}

TEST(Utf8Test, CodePointsCountCharactersAndEachStrayByteAsOne) {
  EXPECT_EQ(CodePoints(""), 0u);
  EXPECT_EQ(CodePoints("caf\xC3\xA9"), 4u);
  EXPECT_EQ(CodePoints("\xF0\x9F\x98\x80\xE2\x86\x92"), 2u);
  EXPECT_EQ(CodePoints("a\xFF\xC3"), 3u);
}

}  // namespace
}  // namespace ledgerflow::utf8
