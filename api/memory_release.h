// Gives freed memory back to the operating system after a large request body, so that
// the server's RSS returns to its level once uploads end. Thread-safe.
#pragma once

#include <cstddef>

namespace ledgerflow::api {

// Call after freeing `bytes` of request data: for large amounts, a release follows
// on a background thread, one per burst of calls (100 ms after its first).
void ReleaseFreedMemory(size_t bytes);

}  // namespace ledgerflow::api
