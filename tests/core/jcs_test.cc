// RFC 8785 canonical JSON: the RFC's own examples, its Appendix B number table and the
// UTF-16 member order.
#include "core/jcs.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

namespace ledgerflow::jcs {
namespace {

std::string Number(double x) {
  std::string out;
  AppendNumber(x, &out);
  return out;
}

double Bits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

std::string Jcs(std::string_view text) {
  auto doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? Canonicalize(*doc) : "";
}

TEST(JcsTest, NumbersFollowAppendixB) {
  EXPECT_EQ(Number(0.0), "0");
  EXPECT_EQ(Number(-0.0), "0");
  EXPECT_EQ(Number(Bits(0x0000000000000001)), "5e-324");
  EXPECT_EQ(Number(Bits(0x8000000000000001)), "-5e-324");
  EXPECT_EQ(Number(Bits(0x7fefffffffffffff)), "1.7976931348623157e+308");
  EXPECT_EQ(Number(Bits(0xffefffffffffffff)), "-1.7976931348623157e+308");
  EXPECT_EQ(Number(Bits(0x4340000000000000)), "9007199254740992");
  EXPECT_EQ(Number(Bits(0xc340000000000000)), "-9007199254740992");
  EXPECT_EQ(Number(Bits(0x4430000000000000)), "295147905179352830000");
  EXPECT_EQ(Number(Bits(0x44b52d02c7e14af5)), "9.999999999999997e+22");
  EXPECT_EQ(Number(Bits(0x44b52d02c7e14af6)), "1e+23");
  EXPECT_EQ(Number(Bits(0x44b52d02c7e14af7)), "1.0000000000000001e+23");
  EXPECT_EQ(Number(Bits(0x444b1ae4d6e2ef4e)), "999999999999999700000");
  EXPECT_EQ(Number(Bits(0x444b1ae4d6e2ef4f)), "999999999999999900000");
  EXPECT_EQ(Number(Bits(0x444b1ae4d6e2ef50)), "1e+21");
  EXPECT_EQ(Number(Bits(0x3eb0c6f7a0b5ed8c)), "9.999999999999997e-7");
  EXPECT_EQ(Number(Bits(0x3eb0c6f7a0b5ed8d)), "0.000001");
  EXPECT_EQ(Number(Bits(0x41b3de4355555553)), "333333333.3333332");
  EXPECT_EQ(Number(Bits(0x41b3de4355555554)), "333333333.33333325");
  EXPECT_EQ(Number(Bits(0x41b3de4355555555)), "333333333.3333333");
  EXPECT_EQ(Number(Bits(0x41b3de4355555556)), "333333333.3333334");
  EXPECT_EQ(Number(Bits(0x41b3de4355555557)), "333333333.33333343");
  EXPECT_EQ(Number(Bits(0xbecbf647612f3696)), "-0.0000033333333333333333");
  EXPECT_EQ(Number(Bits(0x43143ff3c1cb0959)), "1424953923781206.2");
}

TEST(JcsTest, NumbersAtTheFormatBoundaries) {
  EXPECT_EQ(Number(1e-7), "1e-7");
  EXPECT_EQ(Number(1e-6), "0.000001");
  EXPECT_EQ(Number(1e21), "1e+21");
  EXPECT_EQ(Number(1e20), "100000000000000000000");
  EXPECT_EQ(Number(333333333.3333333), "333333333.3333333");
  EXPECT_EQ(Number(4.5), "4.5");
  EXPECT_EQ(Number(0.002), "0.002");
  EXPECT_EQ(Number(1e-27), "1e-27");
  EXPECT_EQ(Number(1.5e-27), "1.5e-27");
  EXPECT_EQ(Number(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(Number(295147905179352830000.0), "295147905179352830000");
  EXPECT_EQ(Number(1e23), "1e+23");
  EXPECT_EQ(Number(5e-324), "5e-324");
  EXPECT_EQ(Number(std::numeric_limits<double>::max()), "1.7976931348623157e+308");
  EXPECT_EQ(Number(-1.0), "-1");
  EXPECT_EQ(Number(-1e-7), "-1e-7");
  EXPECT_EQ(Number(123.0), "123");
}

TEST(JcsTest, ParsedNumbersAreWrittenAsJavaScriptReadsThem) {
  EXPECT_EQ(Jcs(R"([1.0,1e2,-0,0.0,1E-7,9007199254740991,-9007199254740991])"),
            "[1,100,0,0,1e-7,9007199254740991,-9007199254740991]");
  // Beyond 2^53 an integer becomes the nearest double, as JSON.parse makes it.
  EXPECT_EQ(Jcs("[9007199254740993,18446744073709551615]"),
            "[9007199254740992,18446744073709552000]");
}

TEST(JcsTest, Rfc8785Section32Example) {
  // RFC 8785 section 3.2.2, with the numbers and strings of its input example.
  const std::string input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  EXPECT_EQ(Jcs(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
            "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(JcsTest, MembersSortByUtf16CodeUnits) {
  // RFC 8785 section 3.2.3's sorting example.
  const std::string input =
      R"({"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
          "\u00f6": "Latin Small Letter O With Diaeresis"})";
  EXPECT_EQ(Jcs(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(JcsTest, KeysSortAsStringsNotNumbers) {
  EXPECT_EQ(Jcs(R"({"2":"b","10":"a","1":{"b":1,"a":[{"z":0,"y":1}]}})"),
            R"({"1":{"a":[{"y":1,"z":0}],"b":1},"10":"a","2":"b"})");
}

TEST(JcsTest, SupplementaryCharacterSortsBeforePrivateUse) {
  // U+1F600 is the surrogate pair D83D DE00, which sorts before U+E000 in UTF-16,
  // though its code point (and UTF-8) order is after.
  EXPECT_TRUE(Utf16Less("\xf0\x9f\x98\x80", "\xee\x80\x80"));
  EXPECT_FALSE(Utf16Less("\xee\x80\x80", "\xf0\x9f\x98\x80"));
  EXPECT_TRUE(Utf16Less("a\xf0\x9f\x98\x80", "a\xef\xbf\xbf"));
  EXPECT_TRUE(Utf16Less("\xed\x9f\xbf", "\xf0\x9f\x98\x80"));  // U+D7FF first
  EXPECT_TRUE(Utf16Less("a", "ab"));
  EXPECT_FALSE(Utf16Less("ab", "ab"));
  EXPECT_EQ(Jcs(R"({"\ue000":1,"\ud83d\ude00":2})"),
            "{\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":1}");
}

TEST(JcsTest, StringsEscapeAsJsonStringify) {
  std::string out;
  AppendString(std::string_view("\x01\b\t\n\f\r\x1f\"\\/\x7f\xe2\x80\xa8", 14), &out);
  EXPECT_EQ(out, "\"\\u0001\\b\\t\\n\\f\\r\\u001f\\\"\\\\/\x7f\xe2\x80\xa8\"");
}

TEST(JcsTest, EmptyContainers) {
  EXPECT_EQ(Jcs(R"({"a":{},"b":[],"c":""})"), R"({"a":{},"b":[],"c":""})");
}

}  // namespace
}  // namespace ledgerflow::jcs
