#include "app/allocator.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace urbis::app {

namespace {

// Set in the re-executed process: the allocator is active, and what
// LD_PRELOAD was before we added to it ("" when it was unset).
constexpr const char* kActive = "URBIS_ALLOCATOR_ACTIVE";
constexpr const char* kPreloadBefore = "URBIS_LD_PRELOAD_BEFORE";

}  // namespace

std::string find_jemalloc() {
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib/arm-linux-gnueabihf",
                          "/usr/lib/riscv64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"}) {
    std::filesystem::path p = std::filesystem::path(dir) / "libjemalloc.so.2";
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

std::string activate_allocator(const std::string& wanted) {
  if (const char* active = std::getenv(kActive); active != nullptr) {
    // The re-executed process: restore LD_PRELOAD for whatever we start. The
    // loader may have ignored the preload (a binary with file capabilities,
    // a broken library): jemalloc's own entry point tells whether it is in.
    std::string in_use = active;
    if (in_use == "jemalloc" && dlsym(RTLD_DEFAULT, "mallctl") == nullptr) {
      std::fprintf(stderr, "urbis: libjemalloc.so.2 was not loaded (LD_PRELOAD ignored); using the system allocator\n");
      in_use = "system";
    }
    const char* before = std::getenv(kPreloadBefore);
    if (before != nullptr && *before != '\0') {
      setenv("LD_PRELOAD", before, 1);
    } else {
      unsetenv("LD_PRELOAD");
    }
    unsetenv(kPreloadBefore);
    unsetenv(kActive);
    return in_use;
  }
  if (wanted != "jemalloc") return "system";
  const std::string lib = find_jemalloc();
  if (lib.empty()) {
    std::fprintf(stderr,
                 "urbis: allocator = \"jemalloc\" but libjemalloc.so.2 is not installed (apt install libjemalloc2); "
                 "using the system allocator\n");
    return "system";
  }
  // The command line as given, from the kernel (run_serve has no argv). The
  // stream is closed before execv, so its descriptor does not outlive it.
  std::string raw;
  {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    raw.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::vector<std::string> args;
  for (size_t start = 0; start < raw.size();) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    args.emplace_back(raw, start, end - start);
    start = end + 1;
  }
  if (args.empty()) return "system";
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* before = std::getenv("LD_PRELOAD");
  const std::string prior = before != nullptr ? before : "";
  setenv(kPreloadBefore, prior.c_str(), 1);
  setenv("LD_PRELOAD", (prior.empty() ? lib : lib + ":" + prior).c_str(), 1);
  setenv(kActive, "jemalloc", 1);
  execv("/proc/self/exe", argv.data());
  // Still here: exec failed; carry on as we are.
  std::perror("urbis: re-executing with jemalloc failed");
  setenv("LD_PRELOAD", prior.c_str(), 1);
  if (prior.empty()) unsetenv("LD_PRELOAD");
  unsetenv(kPreloadBefore);
  unsetenv(kActive);
  return "system";
}

}  // namespace urbis::app
