// `urbis serve`: builds every object of a running node and wires them.
#pragma once

#include <optional>
#include <string>

namespace urbis::app {

struct ServeFlags {
  std::string config_file;               // empty: built-in defaults
  std::optional<std::string> data_dir;   // --data
  std::optional<std::string> mqtt;       // --mqtt HOST:PORT
  std::optional<std::string> http;       // --http HOST:PORT
  std::optional<uint32_t> threads;       // --threads
  std::optional<std::string> allocator;  // --allocator
  std::optional<std::string> log_level;  // --log-level
  bool allow_anonymous = false;          // --allow-anonymous
};

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_serve(const ServeFlags& flags);

}  // namespace urbis::app
