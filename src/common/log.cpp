#include "common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace urbis::log {

bool set_level(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") return false;
  spdlog::set_level(lvl);
  return true;
}

void init(std::string_view level) {
  auto logger = spdlog::stderr_color_mt("urbis");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
  if (!set_level(level)) spdlog::set_level(spdlog::level::info);
}

}  // namespace urbis::log
