// Names the calling thread for top -H, ps -L, perf and gdb ("urbis-io-0",
// "sql:state.db"...), so an operator can tell which part of the process is
// busy. Linux keeps 15 bytes; longer names are cut.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace urbis {

inline void set_thread_name(std::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

// "sql:" + the file name of a database path ("/data/state.db" -> "sql:state.db").
inline std::string db_thread_name(std::string_view prefix, std::string_view path) {
  size_t slash = path.find_last_of('/');
  return std::string(prefix) + std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace urbis
