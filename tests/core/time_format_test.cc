#include "core/time_format.h"

#include <cstdint>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace ledgerflow::core {
namespace {

TEST(TimeFormatTest, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1795464062123), "2026-11-23T20:01:02.123Z");
  EXPECT_EQ(FormatRfc3339Millis(1709251199999), "2024-02-29T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339Millis(-62135596800000), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(253402300799999), "9999-12-31T23:59:59.999Z");
}

TEST(TimeFormatTest, ParsesZuluOffsetsAndFractions) {
  auto parse = [](const char* s) -> int64_t {
    StatusOr<int64_t> ms = ParseRfc3339(s);
    EXPECT_TRUE(ms.ok()) << s;
    return ms.ok() ? *ms : -1;
  };
  EXPECT_EQ(parse("2026-11-23T20:01:02.123Z"), 1795464062123);
  EXPECT_EQ(parse("2026-11-23T20:01:02Z"), 1795464062000);
  EXPECT_EQ(parse("2026-11-23t20:01:02.1z"), 1795464062100);
  EXPECT_EQ(parse("2026-11-23 20:01:02.12Z"), 1795464062120);
  EXPECT_EQ(parse("2026-11-23T20:01:02.123456789Z"), 1795464062123);
  EXPECT_EQ(parse("2026-11-23T21:31:02.123+01:30"), 1795464062123);
  EXPECT_EQ(parse("2026-11-23T15:01:02.123-05:00"), 1795464062123);
  EXPECT_EQ(parse("2026-11-23T20:01:02.123-00:00"), 1795464062123);
  EXPECT_EQ(parse("2026-11-24T00:01:02.123+04:00"), 1795464062123);
  EXPECT_EQ(parse("2024-02-29T23:59:59.999Z"), 1709251199999);
  EXPECT_EQ(parse("2000-02-29T00:00:00Z"), 951782400000);
  EXPECT_EQ(parse("1969-12-31T23:59:59.999Z"), -1);
  EXPECT_EQ(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
}

TEST(TimeFormatTest, RejectsMalformedTimestamps) {
  for (const char* s :
       {"", "2026-11-23", "2026-11-23T20:01:02", "2026-11-23T20:01:02.Z", "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z", "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T20:60:00Z",
        "2026-11-23T20:01:61Z", "2026-11-23T20:01:02+0100", "2026-11-23T20:01:02+24:00",
        "2026-11-23T20:01:02Zjunk", "26-11-23T20:01:02Z", "2026-11-23X20:01:02Z",
        "1795464062123", "2026-11-23T20:01:02.123Z "}) {
    StatusOr<int64_t> ms = ParseRfc3339(s);
    EXPECT_FALSE(ms.ok()) << s;
    if (!ms.ok()) {
      EXPECT_EQ(ms.status().reason(), "invalid_timestamp");
    }
  }
}

TEST(TimeFormatTest, FormatThenParseIsIdentity) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> ms(-62135596800000, 253402300799999);
  for (int i = 0; i < 10000; ++i) {
    const int64_t v = ms(rng);
    StatusOr<int64_t> back = ParseRfc3339(FormatRfc3339Millis(v));
    ASSERT_TRUE(back.ok()) << FormatRfc3339Millis(v);
    ASSERT_EQ(*back, v);
  }
}

}  // namespace
}  // namespace ledgerflow::core
