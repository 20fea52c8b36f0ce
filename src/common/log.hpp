// The logging facade: one place that knows spdlog. Modules log through these
// macros so levels and formatting stay uniform and cheap when disabled.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace urbis::log {

// Sets the process-wide level from a name: trace, debug, info, warn, error, off.
// Returns false when the name is unknown.
bool set_level(std::string_view level);

// Installs the default logger (stderr, ISO timestamps). Called once by app/.
void init(std::string_view level);

}  // namespace urbis::log

#define ULOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define ULOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define ULOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define ULOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define ULOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
