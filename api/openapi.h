// The OpenAPI 3 document, generated from the route table so that it cannot miss a
// route that exists.
#pragma once

#include <string>

#include "api/router.h"

namespace ledgerflow::api {

std::string OpenApiDocument(const Router& router);

// "/api/workflows/:id" -> "/api/workflows/{id}"
std::string OpenApiPath(std::string_view pattern);

}  // namespace ledgerflow::api
