// Every key and value of a KvStore, for tests that compare read models as stored.
#pragma once

#include <map>
#include <string>

#include "events/kv_store.h"

namespace ledgerflow::testing {

// Fails the calling test (with the status) if the scan fails.
std::map<std::string, std::string> DumpKv(events::KvStore& kv);

}  // namespace ledgerflow::testing
