#include "core/input_schema.h"

#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

namespace ledgerflow::core {

Status ValidateRunInput(const json::Value* schema, const json::Value& input) {
  if (schema == nullptr || schema->IsNull()) return Status::Ok();
  if (!schema->IsObject()) {
    return InvalidArgument("the workflow's definition.inputs is not a JSON Schema object")
        .WithReason("invalid_input");
  }
  rapidjson::SchemaDocument compiled(*schema);
  rapidjson::SchemaValidator validator(compiled);
  if (input.Accept(validator)) return Status::Ok();
  rapidjson::StringBuffer where;
  validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
  rapidjson::StringBuffer rule;
  validator.GetInvalidSchemaPointer().StringifyUriFragment(rule);
  std::string path = where.GetString();  // "#/count"
  std::string pointer = path.size() > 1 ? path.substr(1) : "";
  return InvalidArgument("input_data" + pointer + " fails the schema's '" +
                             validator.GetInvalidSchemaKeyword() + "' (" + rule.GetString() + ")",
                         {"input_data" + pointer})
      .WithReason("invalid_input");
}

}  // namespace ledgerflow::core
