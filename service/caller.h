// Who is asking: the authenticated key's org and role, and the request id that
// every event caused by the request records.
#pragma once

#include <string>

#include "core/access.h"

namespace ledgerflow::service {

struct Caller {
  std::string org;
  std::string actor;  // API key id, or "system"
  core::Role role = core::Role::kViewer;
  std::string request_id;
};

}  // namespace ledgerflow::service
