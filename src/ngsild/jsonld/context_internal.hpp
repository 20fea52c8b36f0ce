// Helpers shared by the files of this module; not part of its public surface.
#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"

namespace urbis::ngsild {

// `ref` resolved against `base` (RFC 3986); InvalidRequest for an invalid URL or
// a relative one without a base.
Result<std::string> resolve_context_url(std::string_view ref, std::string_view base);
// True for the URLs of every published core context version (served built in).
bool is_builtin_core_url(std::string_view url);

}  // namespace urbis::ngsild
