// Composition root: parses the command line, builds every object, wires them.
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "version") {
    std::printf("urbis %s\n", URBIS_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: urbis <serve|version|bench>\n");
  return 2;
}
