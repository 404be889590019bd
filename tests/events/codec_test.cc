// Codec and RFC 3339 tests: the stored line format is pinned, and data survives
// encode -> decode -> encode byte for byte (so hashes verify offline).
#include "events/codec.h"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/time_format.h"
#include "events/chain.h"

namespace ledgerflow::events {
namespace {

Event SampleEvent() {
  Event e;
  e.position = 42;
  e.stream = "workflow-wf_1";
  e.stream_version = 3;
  e.type = "workflow.version_created";
  e.schema_version = 2;
  e.org = "org_1";
  e.actor = "key_abc";
  e.at_ms = 1795464062123;  // 2026-11-23T20:01:02.123Z
  e.request_id = "req-1";
  e.causation = 7;
  e.data = R"({"definition":{"name":"x","steps":[]},"n":1.5})";
  e.prev_hash = "ab";
  e.hash = "cd";
  return e;
}

TEST(CodecTest, EncodeWritesFieldsInFixedOrder) {
  EXPECT_EQ(EncodeEvent(SampleEvent()),
            R"({"position":42,"stream":"workflow-wf_1","stream_version":3,)"
            R"("type":"workflow.version_created","schema_version":2,"org":"org_1",)"
            R"("actor":"key_abc","at":"2026-11-23T20:01:02.123Z","request_id":"req-1",)"
            R"("causation":7,"data":{"definition":{"name":"x","steps":[]},"n":1.5},)"
            R"("prev_hash":"ab","hash":"cd"})");
}

TEST(CodecTest, CausationIsOmittedWhenAbsent) {
  Event e = SampleEvent();
  e.causation.reset();
  const std::string line = EncodeEvent(e);
  EXPECT_EQ(line.find("causation"), std::string::npos);
  StatusOr<Event> back = DecodeEvent(line);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->causation.has_value());
}

TEST(CodecTest, CanonicalBytesIsTheLineWithoutHash) {
  const Event e = SampleEvent();
  const std::string canonical = CanonicalBytes(e);
  EXPECT_EQ(canonical.find("\"hash\""), std::string::npos);
  EXPECT_EQ(EncodeWithHash(canonical, e.hash), EncodeEvent(e));
  Event other = e;
  other.hash = "something else";
  EXPECT_EQ(CanonicalBytes(other), canonical);
}

TEST(CodecTest, DecodeRestoresEveryField) {
  const Event e = SampleEvent();
  StatusOr<Event> back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->position, e.position);
  EXPECT_EQ(back->stream, e.stream);
  EXPECT_EQ(back->stream_version, e.stream_version);
  EXPECT_EQ(back->type, e.type);
  EXPECT_EQ(back->schema_version, e.schema_version);
  EXPECT_EQ(back->org, e.org);
  EXPECT_EQ(back->actor, e.actor);
  EXPECT_EQ(back->at_ms, e.at_ms);
  EXPECT_EQ(back->request_id, e.request_id);
  EXPECT_EQ(back->causation, e.causation);
  EXPECT_EQ(back->data, e.data);
  EXPECT_EQ(back->prev_hash, e.prev_hash);
  EXPECT_EQ(back->hash, e.hash);
}

TEST(CodecTest, EnvelopeStringsWithEscapesRoundTrip) {
  Event e = SampleEvent();
  e.stream = "run-\"quoted\"\\back\nslash\t\x01";
  e.actor = "k\xc3\xa9y \xf0\x9f\x98\x80";
  e.request_id = "</script>";
  StatusOr<Event> back = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->stream, e.stream);
  EXPECT_EQ(back->actor, e.actor);
  EXPECT_EQ(back->request_id, e.request_id);
  EXPECT_EQ(EncodeEvent(*back), EncodeEvent(e));
}

// Data with tricky numbers, unicode and escapes: once canonical, it survives the stored
// line byte for byte, so CanonicalBytes (and the hash) can be recomputed from an export.
TEST(CodecTest, CanonicalDataSurvivesEncodeDecodeByteForByte) {
  const char* inputs[] = {
      R"({})",
      R"({"a" : [1, 2 ,3 ], "b":{ "c" :null}})",
      R"({"n":[0,-0,-0.0,0.0,1.0,1E2,1e-7,5e-324,2.2250738585072011e-308,1.7976931348623157e308]})",
      R"({"n":[0.1,0.2,0.30000000000000004,3.141592653589793,-2.5e-10,123456789.123456789]})",
      R"({"n":[9007199254740993,18446744073709551615,18446744073709551616,-9223372036854775808]})",
      R"({"n":[-9223372036854775809,123456789012345678901234567890,1.5e300,4.9406564584124654e-324]})",
      R"({"s":"\u0000\u001f\u007f\/\"\\\b\f\n\r\t"})",
      R"({"s":"\u00e9\u4e2d\ud83d\ude00 é中😀","\u00e9":"key"})",
      R"({"s":"\u2028\u2029","dup":1,"dup":2})",
      R"({"deep":[[[[[[[[[[{"x":[true,false,null]}]]]]]]]]]]})",
  };
  for (const char* input : inputs) {
    SCOPED_TRACE(input);
    StatusOr<std::string> canonical = CanonicalizeJson(input);
    ASSERT_TRUE(canonical.ok()) << canonical.status().ToString();
    StatusOr<std::string> again = CanonicalizeJson(*canonical);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *canonical);

    Event e = SampleEvent();
    e.data = *canonical;
    e.hash = ComputeHash(e.prev_hash, e);
    const std::string line = EncodeEvent(e);
    StatusOr<Event> back = DecodeEvent(line);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->data, *canonical);
    EXPECT_EQ(EncodeEvent(*back), line);
    EXPECT_EQ(ComputeHash(back->prev_hash, *back), e.hash);
  }
}

TEST(CodecTest, CanonicalizeIsIdempotentForRandomDoubles) {
  std::mt19937_64 rng(20261123);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    char text[64];
    std::snprintf(text, sizeof text, "{\"d\":%.17g}", d);
    StatusOr<std::string> once = CanonicalizeJson(text);
    ASSERT_TRUE(once.ok()) << text;
    StatusOr<std::string> twice = CanonicalizeJson(*once);
    ASSERT_TRUE(twice.ok()) << *once;
    ASSERT_EQ(*twice, *once) << text;
  }
}

TEST(CodecTest, CanonicalizeRejectsBadInput) {
  EXPECT_FALSE(CanonicalizeJson("").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":}").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":NaN}").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":1e400}").ok());
  EXPECT_FALSE(CanonicalizeJson("{\"a\":\"\xff\"}").ok());      // invalid UTF-8
  EXPECT_FALSE(CanonicalizeJson("{\"a\":\"\\ud800\"}").ok());    // lone high surrogate
  EXPECT_FALSE(CanonicalizeJson("{\"a\":\"\\udc00\"}").ok());    // lone low surrogate
  EXPECT_FALSE(CanonicalizeJson(std::string(100000, '[')).ok());  // no stack overflow
  EXPECT_FALSE(CanonicalizeJson(std::string(70, '[') + std::string(70, ']')).ok());
  EXPECT_EQ(CanonicalizeJson("{} x").status().reason(), "malformed_json");
}

TEST(CodecTest, CheckWriterJsonAcceptsWhatCanonicalizeKeeps) {
  for (const char* text :
       {"{}", "{\"a\":[1,2,{\"b\":\"x\\\"]}\"}]}", "{\"s\":\"\\u0001\\n\\\\\"}",
        "{\"u\":\"\xf0\x9f\x98\x80 \xc3\xa9\"}", "{\"d\":0.1,\"n\":null,\"t\":true}"}) {
    ASSERT_TRUE(CanonicalizeJson(text).ok()) << text;
    EXPECT_EQ(*CanonicalizeJson(text), text) << text;
    EXPECT_TRUE(CheckWriterJson(text).ok()) << text;
  }
  std::string deepest = std::string(64, '[');
  deepest = "{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(CheckWriterJson(deepest).ok());
}

TEST(CodecTest, CheckWriterJsonRefusesWhatTheWriterCanGetWrong) {
  const std::string too_deep = "{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_FALSE(CanonicalizeJson(too_deep).ok());
  for (const std::string& text :
       {too_deep, std::string("{\"a\":\"\xed\xb0\x80\"}"),  // a lone surrogate, encoded
        std::string("{\"a\":\"\xff\"}"), std::string("{\"a\":\"\xc3\"}"),
        std::string("{\"a\":\"\xe0\x80\xaf\"}"),  // overlong
        std::string("[1]"), std::string(""), std::string("{\"a\":\"}"), std::string("{\"a\":[}")}) {
    Status s = CheckWriterJson(text);
    EXPECT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.reason(), "malformed_json") << text;
  }
}

TEST(CodecTest, DecodeRejectsMalformedLines) {
  const std::string good = EncodeEvent(SampleEvent());
  EXPECT_TRUE(DecodeEvent(good).ok());
  EXPECT_FALSE(DecodeEvent("").ok());
  EXPECT_FALSE(DecodeEvent("[]").ok());
  EXPECT_FALSE(DecodeEvent(good.substr(0, good.size() - 1)).ok());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  EXPECT_FALSE(DecodeEvent(replaced("\"position\":42", "\"position\":-42")).ok());
  EXPECT_FALSE(DecodeEvent(replaced("\"position\":42", "\"position\":\"42\"")).ok());
  EXPECT_FALSE(DecodeEvent(replaced("\"stream\":", "\"streams\":")).ok());
  EXPECT_FALSE(DecodeEvent(replaced("2026-11-23T20:01:02.123Z", "yesterday")).ok());
  EXPECT_FALSE(DecodeEvent(replaced("\"causation\":7", "\"causation\":\"7\"")).ok());
  EXPECT_FALSE(DecodeEvent(replaced("\"data\":{", "\"data\":[{")).ok());
  StatusOr<Event> missing = DecodeEvent(replaced(",\"hash\":\"cd\"", ""));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("hash"), std::string::npos);
}

// The encoder as first written, with rapidjson::Writer: the stored lines (and hashes)
// of existing logs were made by it, so the encoder must match it byte for byte.
std::string ReferenceEncode(const Event& e, bool with_hash) {
  using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  auto str = [&](const std::string& s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("position");
  w.Uint64(e.position);
  w.Key("stream");
  str(e.stream);
  w.Key("stream_version");
  w.Uint64(e.stream_version);
  w.Key("type");
  str(e.type);
  w.Key("schema_version");
  w.Int(e.schema_version);
  w.Key("org");
  str(e.org);
  w.Key("actor");
  str(e.actor);
  w.Key("at");
  str(core::FormatRfc3339Millis(e.at_ms));
  w.Key("request_id");
  str(e.request_id);
  if (e.causation.has_value()) {
    w.Key("causation");
    w.Uint64(*e.causation);
  }
  w.Key("data");
  if (e.data.empty()) {
    w.RawValue("{}", 2, rapidjson::kObjectType);
  } else {
    w.RawValue(e.data.data(), e.data.size(), rapidjson::kObjectType);
  }
  w.Key("prev_hash");
  str(e.prev_hash);
  if (with_hash) {
    w.Key("hash");
    str(e.hash);
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

TEST(CodecTest, EncoderMatchesTheRapidJsonWriterByteForByte) {
  std::mt19937_64 rng(7);
  // Every byte value, with escapes and multi-byte UTF-8 (valid or not) over-represented.
  auto random_string = [&](size_t max_len) {
    static const std::string specials = std::string("\"\\/\x7f\x00\x01\x1f\b\t\n\f\r", 12) +
                                        "\xc3\xa9\xf0\x9f\x98\x80\xff\xed\xa0\x80";
    std::string s(rng() % (max_len + 1), ' ');
    for (char& c : s) {
      c = rng() % 3 == 0 ? specials[rng() % specials.size()] : static_cast<char>(rng() % 256);
    }
    return s;
  };
  for (int i = 0; i < 5000; ++i) {
    Event e;
    e.position = i % 3 == 0 ? rng() : rng() % 1000;
    e.stream = random_string(40);
    e.stream_version = i % 5 == 0 ? UINT64_MAX : rng() % 100;
    e.type = random_string(20);
    e.schema_version = static_cast<int>(rng());  // negative too
    e.org = random_string(10);
    e.actor = random_string(10);
    e.at_ms = static_cast<int64_t>(rng() % 4'000'000'000'000ull) - 1'000'000'000'000;
    e.request_id = random_string(30);
    if (i % 2 == 0) e.causation = rng();
    e.data = i % 7 == 0 ? "" : R"({"k":[1,"v"]})";
    e.prev_hash = random_string(64);
    e.hash = random_string(64);
    ASSERT_EQ(EncodeEvent(e), ReferenceEncode(e, true)) << i;
    ASSERT_EQ(CanonicalBytes(e), ReferenceEncode(e, false)) << i;
    std::string appended = "prefix";
    AppendCanonicalBytes(e, &appended);
    ASSERT_EQ(appended, "prefix" + ReferenceEncode(e, false)) << i;
  }
  // The hash field as the write path adds it, for a real (hex) hash.
  Event e = SampleEvent();
  e.hash = Sha256Hex("x");
  std::string line = CanonicalBytes(e);
  AppendHashField(&line, e.hash);
  EXPECT_EQ(line, ReferenceEncode(e, true));
  EXPECT_EQ(EncodeWithHash(CanonicalBytes(e), e.hash), ReferenceEncode(e, true));
}

// A line as written by schema 1 of the format; the log outlives the code, so this must
// keep decoding and verifying forever.
TEST(CodecTest, StoredFormatVersion1StillDecodesAndVerifies) {
  const std::string line =
      R"({"position":1,"stream":"workflow-wf_1","stream_version":1,"type":"workflow.created",)"
      R"("schema_version":1,"org":"org_1","actor":"key_1","at":"2026-11-23T20:01:02.123Z",)"
      R"("request_id":"req_1","data":{"name":"deploy","n":[1,2.5,"\u00e9"]},"prev_hash":"",)"
      R"("hash":"bdb78937eeb4149c9c7d520c168e485a9127a6f0b8c718f9308a92b83c1d079c"})";
  Event e;
  {
    StatusOr<Event> parsed = DecodeEvent(line);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    e = *parsed;
  }
  EXPECT_EQ(e.data, "{\"name\":\"deploy\",\"n\":[1,2.5,\"\xc3\xa9\"]}");
  EXPECT_EQ(ComputeHash("", e),
            "bdb78937eeb4149c9c7d520c168e485a9127a6f0b8c718f9308a92b83c1d079c");
}

}  // namespace
}  // namespace ledgerflow::events
