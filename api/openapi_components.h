// The parts of the OpenAPI document that are not routes: schemas, parameters, headers
// and shared responses (api/openapi_components.json, compiled in), and the API version.
#pragma once

namespace ledgerflow::api {

extern const char* const kOpenApiComponents;
extern const char* const kApiVersion;

}  // namespace ledgerflow::api
