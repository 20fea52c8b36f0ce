// Boost.JSON compiled into the fuzz build itself (header-only mode), so the
// fuzzer's coverage instrumentation sees inside the JSON parser too
// (ARCHITECTURE.md, "Known pitfalls").
#include <boost/json/src.hpp>
