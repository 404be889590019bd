// Checks HTTP answers against the server's own OpenAPI document: the operation for
// the method and path, the status documented for it, the media type, the required
// headers and the body against the schema (RapidJSON's draft-04 validator reads the
// OpenAPI 3.0 subset once `nullable` is turned into a "null" type).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <rapidjson/schema.h>

#include "core/json.h"

namespace ledgerflow::testing {

class OpenApiValidator {
 public:
  explicit OpenApiValidator(const std::string& document);

  // Empty when the answer is what the document says; otherwise what is not.
  std::string Check(const std::string& method, const std::string& target, long status,
                    const std::map<std::string, std::string>& lower_headers,
                    const std::string& body) const;

  bool ok() const { return parse_error_.empty(); }
  const std::string& parse_error() const { return parse_error_; }

 private:
  // The document's path template matching `path` (static segments first), or "".
  std::string FindPath(const std::string& path) const;
  const json::Value* Resolve(const json::Value& v) const;
  std::string CheckBody(const std::string& key, const json::Value& schema,
                        const std::string& body, bool lines) const;

  json::Document doc_;
  json::Document components_;  // nullable turned into type unions, for the validator
  std::string parse_error_;
  mutable std::mutex mu_;
  // RapidJSON 1.1's regex keeps its search state in the compiled pattern: a compiled
  // schema with a "pattern" validates on one thread at a time.
  mutable std::mutex validate_mu_;
  mutable std::map<std::string, std::unique_ptr<rapidjson::SchemaDocument>> compiled_;
};

// From the first call on, every answer an HttpClient of this process receives is
// checked against the document `base_url` serves; a mismatch fails the running test.
void ValidateAnswersAgainstOpenApi(const std::string& base_url);

}  // namespace ledgerflow::testing
