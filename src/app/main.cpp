// Composition root: parses the command line and runs one subcommand. Every
// object of a running node is built in serve.cpp; nothing here is global.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "app/bench_mqtt.hpp"
#include "app/device_cli.hpp"
#include "app/serve.hpp"
#include "security/password.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Urbis: an open smart-city IoT platform (MQTT broker, storage, NGSI-LD) in one binary"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("urbis ") + URBIS_VERSION);

  urbis::app::ServeFlags serve_flags;
  auto* serve = app.add_subcommand("serve", "run the node: MQTT broker, HTTP API, embedded store");
  serve->add_option("-c,--config", serve_flags.config_file, "TOML configuration file (see urbis.toml)");
  serve->add_option("--data", serve_flags.data_dir, "data directory (overrides data_dir)");
  serve->add_option("--mqtt", serve_flags.mqtt, "MQTT TCP listener HOST:PORT (overrides mqtt.tcp.listen)");
  serve->add_option("--http", serve_flags.http, "HTTP listener HOST:PORT (overrides http.listen)");
  serve->add_option("--threads", serve_flags.threads, "I/O threads, 0 = one per core (overrides threads)");
  serve->add_option("--allocator", serve_flags.allocator, "system or jemalloc (overrides allocator)")
      ->check(CLI::IsMember({"system", "jemalloc"}));
  serve->add_option("--log-level", serve_flags.log_level, "trace, debug, info, warn, error, off");
  serve->add_flag("--allow-anonymous", serve_flags.allow_anonymous,
                  "let MQTT clients connect without credentials (tests and demos)");

  app.add_subcommand("version", "print the version");

  app.add_subcommand("passwd", "read a password on standard input, print its hash for [[mqtt.users]]");

  int bench_exit = 0;
  auto* bench = app.add_subcommand("bench", "load generators that work against any server");
  bench->require_subcommand(1);
  urbis::app::add_bench_mqtt_command(*bench, bench_exit);

  int device_exit = 0;
  urbis::app::add_device_command(app, device_exit);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (app.got_subcommand("version")) {
    std::printf("urbis %s\n", URBIS_VERSION);
    return 0;
  }
  if (app.got_subcommand("passwd")) return urbis::security::run_passwd_command(std::cin, std::cout, std::cerr);
  if (app.got_subcommand("bench")) return bench_exit;
  if (app.got_subcommand("device")) return device_exit;
  return urbis::app::run_serve(serve_flags);
}
