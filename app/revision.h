// The source revision the binary was built from (git's short hash, "-modified" when
// tracked files differed from it, "unknown" outside a checkout); written at build time.
#pragma once

extern const char kSourceRevision[];
