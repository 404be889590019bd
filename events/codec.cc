#include "events/codec.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <optional>

#include "core/jcs.h"
#include "core/json.h"
#include "core/time_format.h"

namespace ledgerflow::events {
namespace {

constexpr unsigned kParseFlags = rapidjson::kParseIterativeFlag |
                                 rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseFullPrecisionFlag;

// Refuses to write invalid UTF-8 (e.g. a lone low surrogate "\udc00", which the
// parser decodes to bytes that it would itself reject on the next parse).
using CanonicalWriter =
    rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                      rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>;

Status Malformed(std::string what) {
  return InvalidArgument(std::move(what)).WithReason("malformed_json");
}

// A DOM whose first 32 KiB come from a buffer that each thread keeps, instead of a
// fresh 64 KiB heap chunk per parse (every append and every event read parses). Falls
// back to the heap when the thread's buffer is taken (a parse during a parse).
class ScratchDocument {
 public:
  ScratchDocument() {
    Scratch& scratch = ThreadScratch();
    if (!scratch.in_use) {
      scratch.in_use = true;
      scratch_ = &scratch;
      pool_.emplace(scratch.bytes, sizeof scratch.bytes);
    } else {
      pool_.emplace();
    }
    doc_.emplace(&*pool_);
  }
  ~ScratchDocument() {
    doc_.reset();
    pool_.reset();
    if (scratch_ != nullptr) scratch_->in_use = false;
  }
  ScratchDocument(const ScratchDocument&) = delete;
  ScratchDocument& operator=(const ScratchDocument&) = delete;

  rapidjson::Document& operator*() { return *doc_; }
  rapidjson::Document* operator->() { return &*doc_; }

 private:
  struct Scratch {
    alignas(16) char bytes[32 << 10];
    bool in_use = false;
  };
  static Scratch& ThreadScratch() {
    thread_local Scratch scratch;
    return scratch;
  }

  Scratch* scratch_ = nullptr;
  std::optional<rapidjson::MemoryPoolAllocator<>> pool_;
  std::optional<rapidjson::Document> doc_;
};

// Serializes a parsed value canonically; false on invalid UTF-8 or excessive depth.
StatusOr<std::string> WriteCanonical(const rapidjson::Value& value) {
  if (json::Depth(value) > json::kMaxDepth) {
    return Malformed("JSON nested deeper than " + std::to_string(json::kMaxDepth) +
                     " levels");
  }
  // Reused by the thread (kept when small): no buffer growth per call.
  thread_local rapidjson::StringBuffer buffer;
  buffer.Clear();
  CanonicalWriter writer(buffer);
  StatusOr<std::string> out = Malformed("JSON string is not valid UTF-8");
  if (value.Accept(writer)) out = std::string(buffer.GetString(), buffer.GetSize());
  if (buffer.GetSize() > (size_t{64} << 10)) {
    buffer.Clear();
    buffer.ShrinkToFit();
  }
  return out;
}

// Appends `s` as a JSON string exactly as rapidjson::Writer<StringBuffer> (UTF-8 in
// and out, no validation) wrote the envelope's strings, which is what stored lines and
// their hashes were made with: '"' and '\\' backslash-escaped, bytes below 0x20 as
// \b \t \n \f \r or \u00XX (upper-case hex), every other byte copied as is (also
// 0x7f and invalid UTF-8). Runs without escapes are copied in one append.
void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    size_t len = 6;
    switch (c) {
      case '"': escaped[1] = '"'; len = 2; break;
      case '\\': escaped[1] = '\\'; len = 2; break;
      case '\b': escaped[1] = 'b'; len = 2; break;
      case '\t': escaped[1] = 't'; len = 2; break;
      case '\n': escaped[1] = 'n'; len = 2; break;
      case '\f': escaped[1] = 'f'; len = 2; break;
      case '\r': escaped[1] = 'r'; len = 2; break;
      default: break;
    }
    out->append(escaped, len);
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

template <typename Int>
void AppendDecimal(std::string* out, Int v) {
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, static_cast<size_t>(r.ptr - buf));
}

// FormatRfc3339Millis(at_ms), remembered per thread: every event of a commit group
// carries the same `at`, and formatting costs a snprintf.
const std::string& FormattedAt(int64_t at_ms) {
  thread_local bool cached = false;
  thread_local int64_t cached_ms = 0;
  thread_local std::string text;
  if (!cached || cached_ms != at_ms) {
    text = core::FormatRfc3339Millis(at_ms);
    cached_ms = at_ms;
    cached = true;
  }
  return text;
}

// Appends every field up to and including prev_hash, leaving the object open. The
// bytes are those rapidjson::Writer produced for the same fields (pinned by tests):
// compact, fields in this order, `data` embedded verbatim.
void AppendEnvelope(std::string* out, const Event& e) {
  out->reserve(out->size() + 200 + e.stream.size() + e.type.size() + e.org.size() +
               e.actor.size() + e.request_id.size() + e.data.size() + e.prev_hash.size() +
               e.hash.size());
  out->append("{\"position\":");
  AppendDecimal(out, e.position);
  out->append(",\"stream\":");
  AppendJsonString(out, e.stream);
  out->append(",\"stream_version\":");
  AppendDecimal(out, e.stream_version);
  out->append(",\"type\":");
  AppendJsonString(out, e.type);
  out->append(",\"schema_version\":");
  AppendDecimal(out, e.schema_version);
  out->append(",\"org\":");
  AppendJsonString(out, e.org);
  out->append(",\"actor\":");
  AppendJsonString(out, e.actor);
  out->append(",\"at\":");
  AppendJsonString(out, FormattedAt(e.at_ms));
  out->append(",\"request_id\":");
  AppendJsonString(out, e.request_id);
  if (e.causation.has_value()) {
    out->append(",\"causation\":");
    AppendDecimal(out, *e.causation);
  }
  out->append(",\"data\":");
  out->append(e.data.empty() ? std::string_view("{}") : std::string_view(e.data));
  out->append(",\"prev_hash\":");
  AppendJsonString(out, e.prev_hash);
  if (e.chain != kChainV1) {
    out->append(",\"chain\":");
    AppendDecimal(out, e.chain);
  }
}

Status Field(std::string_view name, const char* expected) {
  return InvalidArgument("event field '" + std::string(name) + "' is missing or not " +
                         expected);
}

}  // namespace

StatusOr<std::string> CanonicalizeJson(std::string_view text) {
  ScratchDocument doc;
  doc->Parse<kParseFlags>(text.data(), text.size());
  if (doc->HasParseError()) {
    return Malformed("Malformed JSON at offset " + std::to_string(doc->GetErrorOffset()) +
                     ": " + rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return WriteCanonical(*doc);
}

namespace {

// Length of the UTF-8 sequence at `s[i]` (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), 0 when it is invalid.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;  // U+D800..U+DFFF are surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return n;
}

}  // namespace

Status CheckWriterJson(std::string_view text) {
  if (text.empty() || text.front() != '{' || text.back() != '}') {
    return Malformed("JSON data is not an object");
  }
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      size_t n = Utf8SequenceLength(text, i);
      if (n == 0) return Malformed("JSON string is not valid UTF-8");
      i += n;
      continue;
    }
    if (in_string) {
      if (c == '\\') {
        i += 2;  // the Writer's escapes are ASCII: \" \\ \b \f \n \r \t \u00XX
        continue;
      }
      if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > json::kMaxDepth) {
        return Malformed("JSON nested deeper than " + std::to_string(json::kMaxDepth) +
                         " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
    ++i;
  }
  if (in_string || depth != 0) return Malformed("JSON data is not one complete object");
  return Status::Ok();
}

void AppendCanonicalBytes(const Event& event, std::string* out) {
  AppendEnvelope(out, event);
  out->push_back('}');
}

std::string CanonicalBytes(const Event& event) {
  std::string out;
  AppendCanonicalBytes(event, &out);
  return out;
}

std::string EncodeEvent(const Event& event) {
  std::string out;
  AppendEnvelope(&out, event);
  out.append(",\"hash\":");
  AppendJsonString(&out, event.hash);
  out.push_back('}');
  return out;
}

void AppendHashField(std::string* canonical, std::string_view hash) {
  // canonical ends with the '}' closing the envelope; the hash goes before it. A hex
  // hash needs no escaping.
  if (!canonical->empty()) canonical->pop_back();
  canonical->append(",\"hash\":\"");
  canonical->append(hash);
  canonical->append("\"}");
}

std::string EncodeWithHash(std::string_view canonical, std::string_view hash) {
  std::string line;
  line.reserve(canonical.size() + hash.size() + 12);
  line.append(canonical);
  AppendHashField(&line, hash);
  return line;
}

Status AppendJcsHashInput(const Event& e, std::string* out) {
  // Members in UTF-16 (here: ASCII) order; every one is a string or a number below 2^53.
  out->append("{\"actor\":");
  jcs::AppendString(e.actor, out);
  out->append(",\"at\":");
  jcs::AppendString(FormattedAt(e.at_ms), out);
  if (e.causation.has_value()) {
    out->append(",\"causation\":");
    jcs::AppendNumber(static_cast<double>(*e.causation), out);
  }
  out->append(",\"chain\":");
  AppendDecimal(out, e.chain);
  out->append(",\"data\":");
  if (e.parsed_data != nullptr) {
    jcs::Append(*e.parsed_data, out);
  } else if (e.data.empty()) {
    out->append("{}");
  } else {
    ScratchDocument doc;
    doc->Parse<kParseFlags>(e.data.data(), e.data.size());
    if (doc->HasParseError() || json::Depth(*doc) > json::kMaxDepth) {
      return Malformed("event data at position " + std::to_string(e.position) +
                       " is not canonical JSON");
    }
    jcs::Append(*doc, out);
  }
  out->append(",\"org\":");
  jcs::AppendString(e.org, out);
  out->append(",\"position\":");
  jcs::AppendNumber(static_cast<double>(e.position), out);
  out->append(",\"prev_hash\":");
  jcs::AppendString(e.prev_hash, out);
  out->append(",\"request_id\":");
  jcs::AppendString(e.request_id, out);
  out->append(",\"schema_version\":");
  jcs::AppendNumber(e.schema_version, out);
  out->append(",\"stream\":");
  jcs::AppendString(e.stream, out);
  out->append(",\"stream_version\":");
  jcs::AppendNumber(static_cast<double>(e.stream_version), out);
  out->append(",\"type\":");
  jcs::AppendString(e.type, out);
  out->push_back('}');
  return Status::Ok();
}

StatusOr<Event> DecodeEvent(std::string_view line) {
  ScratchDocument scratch;
  rapidjson::Document& doc = *scratch;
  doc.Parse<kParseFlags>(line.data(), line.size());
  if (doc.HasParseError()) {
    return InvalidArgument("event is not valid JSON at offset " +
                           std::to_string(doc.GetErrorOffset()) + ": " +
                           rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) return InvalidArgument("event is not a JSON object");

  Event e;
  auto get_u64 = [&](const char* name, uint64_t* out) -> Status {
    const json::Value* v = json::Find(doc, name);
    if (!v || !v->IsUint64()) return Field(name, "an unsigned integer");
    *out = v->GetUint64();
    return Status::Ok();
  };
  auto get_str = [&](const char* name, std::string* out) -> Status {
    const json::Value* v = json::Find(doc, name);
    if (!v || !v->IsString()) return Field(name, "a string");
    out->assign(v->GetString(), v->GetStringLength());
    return Status::Ok();
  };
  LF_RETURN_IF_ERROR(get_u64("position", &e.position));
  LF_RETURN_IF_ERROR(get_str("stream", &e.stream));
  LF_RETURN_IF_ERROR(get_u64("stream_version", &e.stream_version));
  LF_RETURN_IF_ERROR(get_str("type", &e.type));
  const json::Value* schema = json::Find(doc, "schema_version");
  if (!schema || !schema->IsInt()) return Field("schema_version", "an integer");
  e.schema_version = schema->GetInt();
  LF_RETURN_IF_ERROR(get_str("org", &e.org));
  LF_RETURN_IF_ERROR(get_str("actor", &e.actor));
  std::string at;
  LF_RETURN_IF_ERROR(get_str("at", &at));
  StatusOr<int64_t> at_ms = core::ParseRfc3339(at);
  if (!at_ms.ok()) return InvalidArgument("event field 'at': " + at_ms.status().message());
  e.at_ms = *at_ms;
  LF_RETURN_IF_ERROR(get_str("request_id", &e.request_id));
  if (const json::Value* c = json::Find(doc, "causation"); c && !c->IsNull()) {
    if (!c->IsUint64()) return Field("causation", "an unsigned integer");
    e.causation = c->GetUint64();
  }
  const json::Value* data = json::Find(doc, "data");
  if (!data || !data->IsObject()) return Field("data", "an object");
  StatusOr<std::string> canonical = WriteCanonical(*data);
  if (!canonical.ok()) return InvalidArgument("event field 'data': " + canonical.status().message());
  e.data = std::move(canonical).value();
  LF_RETURN_IF_ERROR(get_str("prev_hash", &e.prev_hash));
  LF_RETURN_IF_ERROR(get_str("hash", &e.hash));
  if (const json::Value* c = json::Find(doc, "chain")) {
    if (!c->IsInt() || c->GetInt() != kChainJcs) {
      return InvalidArgument("event field 'chain' is not a known chain format (" +
                             std::to_string(kChainJcs) + ")");
    }
    e.chain = kChainJcs;
  }
  return e;
}

}  // namespace ledgerflow::events
