// The memory allocator of `urbis serve`: "system" (glibc malloc) or
// "jemalloc" (Debian package libjemalloc2).
//
// Why a choice: glibc malloc keeps the idle footprint smallest (the edge box),
// but under heavy write load much of the store's writer thread goes to
// malloc/free of objects allocated on the I/O threads (arena locks, chunk
// consolidation); jemalloc takes batch upserts from ~33k to ~54k entity
// updates/s on the 2-core reference machine for ~1.6 MiB more idle RSS
// (docs/PERFORMANCE.md). A data-centre node sets allocator = "jemalloc".
//
// How: the allocator must be in place before the first malloc, so Urbis
// re-executes itself once with the library in LD_PRELOAD (the standard way to
// swap malloc without relinking), then removes it from its environment so
// processes it might start do not inherit it.
#pragma once

#include <string>

namespace urbis::app {

// Where libjemalloc.so.2 is on this machine; empty when it is not installed.
std::string find_jemalloc();

// Call first thing in `serve`, before any thread exists. With "jemalloc":
// when not yet active, re-executes the process with it preloaded (does not
// return on success); when the library is missing, logs to stderr and returns
// (Urbis runs on the system allocator). With "system": does nothing.
// Returns the allocator in use.
std::string activate_allocator(const std::string& wanted);

}  // namespace urbis::app
