// `urbis device add|list|show|rm|import|rotate|revoke`: the device registry
// from the command line. It talks to a running node's REST API
// (/api/v1/devices, see http/device_routes.hpp) over plain HTTP, so the
// server stays the only writer of devices.db.
//
//   urbis device add aq-001 --tenant default --name "Main St air" --lat 45.07 --lon 7.68 --tag air
//   urbis device list --state active
//   urbis device import devices.csv
//
// --url (default http://127.0.0.1:8080) names the server; --token (or the
// environment variable URBIS_ADMIN_TOKEN) is the [http] admin_token. Output is
// a readable table or text, or the server's JSON with --json.
// Exit codes: 0 success, 1 the server refused or could not be reached, 2 usage.
#pragma once

namespace CLI {
class App;
}

namespace urbis::app {

// Registers the `device` subcommand and its own subcommands on `app`; when one
// runs, its exit code is stored in `exit_code`. The options live as long as `app`.
void add_device_command(CLI::App& app, int& exit_code);

}  // namespace urbis::app
