#include "app/device_cli.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "model/json_format.hpp"

namespace urbis::app {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

namespace {

struct Common {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  bool json_out = false;
};

struct HttpResult {
  unsigned status = 0;
  std::string body;
};

// One request over a fresh connection; an error text when the server cannot be reached.
std::optional<HttpResult> call(const Common& c, bhttp::verb verb, const std::string& path, const std::string& body,
                               const std::string& content_type, std::string& error) {
  auto url = boost::urls::parse_uri(c.url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    error = "--url: expected http://HOST:PORT, got '" + c.url + "'";
    return std::nullopt;
  }
  std::string host(url->host());
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string port = url->has_port() ? std::string(url->port()) : "80";
  std::string base(url->encoded_path());
  while (!base.empty() && base.back() == '/') base.pop_back();
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(resolver.resolve(host, port));
    bhttp::request<bhttp::string_body> req(verb, base + path, 11);
    req.set(bhttp::field::host, std::string(url->encoded_host_and_port()));
    req.set(bhttp::field::user_agent, "urbis-cli");
    req.set(bhttp::field::accept, "application/json");
    if (!c.token.empty()) req.set(bhttp::field::authorization, "Bearer " + c.token);
    if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::patch) {
      req.set(bhttp::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();
    }
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    bhttp::read(stream, buf, parser);
    beast::error_code ec;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    return HttpResult{parser.get().result_int(), parser.get().body()};
  } catch (const boost::system::system_error& e) {
    error = "cannot reach " + c.url + ": " + e.code().message();
    return std::nullopt;
  } catch (const std::exception& e) {
    error = "cannot reach " + c.url + ": " + e.what();
    return std::nullopt;
  }
}

std::string str(const json::value* v) {
  if (v == nullptr || v->is_null()) return "-";
  if (v->is_string()) return v->as_string().empty() ? "-" : std::string(v->as_string());
  return model::to_json(*v);
}

// A problem+json answer as one readable line.
void print_failure(const HttpResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const json::object& o = v.as_object();
    std::cerr << "urbis device: " << r.status << " " << str(o.if_contains("title")) << ": "
              << str(o.if_contains("detail")) << "\n";
  } else {
    std::cerr << "urbis device: HTTP " << r.status << ": " << r.body << "\n";
  }
}

// Runs a request; prints failures. The parsed JSON body on 2xx (null for 204).
std::optional<json::value> request(const Common& c, bhttp::verb verb, const std::string& path,
                                   const std::string& body = {}, const std::string& content_type = "application/json") {
  std::string error;
  auto r = call(c, verb, path, body, content_type, error);
  if (!r) {
    std::cerr << "urbis device: " << error << "\n";
    return std::nullopt;
  }
  if (r->status < 200 || r->status >= 300) {
    print_failure(*r);
    return std::nullopt;
  }
  if (r->body.empty()) return json::value(nullptr);
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec) {
    std::cerr << "urbis device: the server answered something that is not JSON\n";
    return std::nullopt;
  }
  return v;
}

std::string segment(const std::string& id) {
  // Ids are [A-Za-z0-9._:-]; ':' is fine in a path segment. Encode anything else anyway.
  std::string out;
  for (unsigned char ch : id) {
    if (std::isalnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

std::string query_escape(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    width.resize(std::max(width.size(), r.size()));
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

void print_device(const json::object& d) {
  auto loc = d.if_contains("location");
  std::string where = "-";
  if (loc && loc->is_object()) {
    auto c = loc->as_object().if_contains("coordinates");
    if (c && c->is_array() && c->as_array().size() >= 2)
      where = "lat " + str(&c->as_array()[1]) + ", lon " + str(&c->as_array()[0]);
  }
  std::string tags;
  if (auto t = d.if_contains("tags"); t && t->is_array()) {
    for (const auto& x : t->as_array()) tags += (tags.empty() ? "" : ", ") + str(&x);
  }
  std::string up, down;
  if (auto t = d.if_contains("topics"); t && t->is_object()) {
    up = str(t->as_object().if_contains("up"));
    down = str(t->as_object().if_contains("down"));
  }
  print_table({
      {"id:", str(d.if_contains("id"))},
      {"tenant:", str(d.if_contains("tenant"))},
      {"name:", str(d.if_contains("name"))},
      {"profile:", str(d.if_contains("profile"))},
      {"state:", str(d.if_contains("state"))},
      {"location:", where},
      {"tags:", tags.empty() ? "-" : tags},
      {"firmware:", str(d.if_contains("firmware"))},
      {"last seen:", str(d.if_contains("lastSeen"))},
      {"last error:", str(d.if_contains("lastError")) + " (" + str(d.if_contains("errorCount")) + " errors)"},
      {"token:", d.if_contains("hasToken") && d.at("hasToken") == true ? "set " + str(d.if_contains("tokenCreatedAt"))
                                                                        : "none"},
      {"certificate:", d.if_contains("certificate") && d.at("certificate") == true ? "CN must equal the id" : "no"},
      {"publish to:", up + " (or " + up + "/<format>)"},
      {"subscribe to:", down},
  });
}

void print_token(const json::object& d) {
  std::cout << "token: " << str(d.if_contains("token")) << "\n"
            << "This token is shown once and cannot be read again: give it to the device now.\n"
            << "MQTT: user name = " << str(d.if_contains("id")) << ", password = the token.\n";
}

int emit(const Common& c, const json::value& v) {
  std::cout << model::to_json(v) << "\n";
  return 0;
}

}  // namespace

void add_device_command(CLI::App& app, int& exit_code) {
  auto common = std::make_shared<Common>();
  auto* dev = app.add_subcommand("device", "manage devices of a running node (REST API /api/v1/devices)");
  dev->require_subcommand(1);
  dev->fallthrough();  // --url, --token and --json may also follow the subcommand
  dev->add_option("--url", common->url, "server base URL")->capture_default_str();
  dev->add_option("--token", common->token, "admin token ([http] admin_token)")->envname("URBIS_ADMIN_TOKEN");
  dev->add_flag("--json", common->json_out, "print the server's JSON instead of text");

  // add
  struct AddArgs {
    std::string id, tenant, name, profile, firmware, state;
    std::optional<double> lat, lon, alt;
    std::vector<std::string> tags;
    bool certificate = false;
  };
  auto add = std::make_shared<AddArgs>();
  auto* add_cmd = dev->add_subcommand("add", "create a device and print its token (shown once)");
  add_cmd->add_option("id", add->id, "device id (also its MQTT user name)")->required();
  add_cmd->add_option("--tenant", add->tenant, "tenant (default: default)");
  add_cmd->add_option("--name", add->name, "name for people");
  add_cmd->add_option("--profile", add->profile, "device profile");
  add_cmd->add_option("--lat", add->lat, "latitude (WGS 84)");
  add_cmd->add_option("--lon", add->lon, "longitude (WGS 84)");
  add_cmd->add_option("--alt", add->alt, "altitude, metres");
  add_cmd->add_option("--tag", add->tags, "a tag (repeatable)");
  add_cmd->add_option("--firmware", add->firmware, "firmware version");
  add_cmd->add_option("--state", add->state, "initial state (default provisioned)");
  add_cmd->add_flag("--certificate", add->certificate, "also accept a TLS client certificate whose CN is the id");
  add_cmd->callback([common, add, &exit_code]() {
    json::object o;
    o["id"] = add->id;
    if (!add->tenant.empty()) o["tenant"] = add->tenant;
    if (!add->name.empty()) o["name"] = add->name;
    if (!add->profile.empty()) o["profile"] = add->profile;
    if (!add->firmware.empty()) o["firmware"] = add->firmware;
    if (!add->state.empty()) o["state"] = add->state;
    if (add->certificate) o["certificate"] = true;
    if (add->lat || add->lon) {
      if (!add->lat || !add->lon) {
        std::cerr << "urbis device add: --lat and --lon go together\n";
        exit_code = 2;
        return;
      }
      json::array c{*add->lon, *add->lat};
      if (add->alt) c.emplace_back(*add->alt);
      o["location"] = json::object{{"type", "Point"}, {"coordinates", std::move(c)}};
    }
    if (!add->tags.empty()) {
      json::array t;
      for (const auto& x : add->tags) t.emplace_back(json::string(x));
      o["tags"] = std::move(t);
    }
    auto r = request(*common, bhttp::verb::post, "/api/v1/devices", model::to_json(o));
    if (!r) {
      exit_code = 1;
      return;
    }
    if (common->json_out) {
      exit_code = emit(*common, *r);
      return;
    }
    std::cout << "created device " << str(r->as_object().if_contains("id")) << "\n";
    print_token(r->as_object());
    exit_code = 0;
  });

  // list
  struct ListArgs {
    std::string tenant, profile, state, tag, name;
    size_t limit = 100, offset = 0;
  };
  auto list = std::make_shared<ListArgs>();
  auto* list_cmd = dev->add_subcommand("list", "list devices as a table");
  list_cmd->add_option("--tenant", list->tenant, "only this tenant");
  list_cmd->add_option("--profile", list->profile, "only this profile");
  list_cmd->add_option("--state", list->state, "only this state");
  list_cmd->add_option("--tag", list->tag, "only devices with this tag");
  list_cmd->add_option("--name", list->name, "only names starting with this");
  list_cmd->add_option("--limit", list->limit, "at most this many (1..1000)")->capture_default_str();
  list_cmd->add_option("--offset", list->offset, "skip this many")->capture_default_str();
  list_cmd->callback([common, list, &exit_code]() {
    std::string q = "?limit=" + std::to_string(list->limit) + "&offset=" + std::to_string(list->offset);
    for (auto [k, v] : {std::pair<const char*, std::string*>{"tenant", &list->tenant}, {"profile", &list->profile},
                        {"state", &list->state}, {"tag", &list->tag}, {"name", &list->name}}) {
      if (!v->empty()) q += std::string("&") + k + "=" + query_escape(*v);
    }
    auto r = request(*common, bhttp::verb::get, "/api/v1/devices" + q);
    if (!r) {
      exit_code = 1;
      return;
    }
    if (common->json_out) {
      exit_code = emit(*common, *r);
      return;
    }
    const json::object& o = r->as_object();
    std::vector<std::vector<std::string>> rows{{"ID", "TENANT", "STATE", "PROFILE", "LAST SEEN", "NAME"}};
    for (const auto& item : o.at("items").as_array()) {
      const json::object& d = item.as_object();
      rows.push_back({str(d.if_contains("id")), str(d.if_contains("tenant")), str(d.if_contains("state")),
                      str(d.if_contains("profile")),
                      str(d.if_contains("lastSeen")), str(d.if_contains("name"))});
    }
    print_table(rows);
    size_t shown = rows.size() - 1;
    std::cout << shown << " of " << str(o.if_contains("total")) << " devices\n";
    exit_code = 0;
  });

  // show, rm, rotate, revoke: one id each
  auto id = std::make_shared<std::string>();
  auto* show_cmd = dev->add_subcommand("show", "show one device");
  show_cmd->add_option("id", *id, "device id")->required();
  show_cmd->callback([common, id, &exit_code]() {
    auto r = request(*common, bhttp::verb::get, "/api/v1/devices/" + segment(*id));
    if (!r) {
      exit_code = 1;
      return;
    }
    if (common->json_out) {
      exit_code = emit(*common, *r);
      return;
    }
    print_device(r->as_object());
    exit_code = 0;
  });
  auto* rm_cmd = dev->add_subcommand("rm", "delete a device and its credentials");
  rm_cmd->add_option("id", *id, "device id")->required();
  rm_cmd->callback([common, id, &exit_code]() {
    auto r = request(*common, bhttp::verb::delete_, "/api/v1/devices/" + segment(*id));
    exit_code = r ? 0 : 1;
    if (r && !common->json_out) std::cout << "deleted device " << *id << "\n";
  });
  auto* rotate_cmd = dev->add_subcommand("rotate", "give a device a new token; the old one stops working");
  rotate_cmd->add_option("id", *id, "device id")->required();
  rotate_cmd->callback([common, id, &exit_code]() {
    auto r = request(*common, bhttp::verb::post, "/api/v1/devices/" + segment(*id) + "/token");
    if (!r) {
      exit_code = 1;
      return;
    }
    if (common->json_out) {
      exit_code = emit(*common, *r);
      return;
    }
    print_token(r->as_object());
    exit_code = 0;
  });
  auto* revoke_cmd = dev->add_subcommand("revoke", "remove a device's token (it can no longer connect with one)");
  revoke_cmd->add_option("id", *id, "device id")->required();
  revoke_cmd->callback([common, id, &exit_code]() {
    auto r = request(*common, bhttp::verb::delete_, "/api/v1/devices/" + segment(*id) + "/token");
    exit_code = r ? 0 : 1;
    if (r && !common->json_out) std::cout << "revoked the token of " << *id << "\n";
  });

  // import
  struct ImportArgs {
    std::string file;
    std::string format;  // csv | json; default from the file name
  };
  auto imp = std::make_shared<ImportArgs>();
  auto* import_cmd = dev->add_subcommand("import", "create devices from a CSV (header row) or JSON array file");
  import_cmd->add_option("file", imp->file, "the file; - reads standard input")->required();
  import_cmd->add_option("--format", imp->format, "csv or json (default: from the file name, else json)")
      ->check(CLI::IsMember({"csv", "json"}));
  import_cmd->callback([common, imp, &exit_code]() {
    std::stringstream ss;
    if (imp->file == "-") {
      ss << std::cin.rdbuf();
    } else {
      std::ifstream f(imp->file, std::ios::binary);
      if (!f) {
        std::cerr << "urbis device import: cannot read " << imp->file << "\n";
        exit_code = 2;
        return;
      }
      ss << f.rdbuf();
    }
    std::string format = imp->format;
    if (format.empty()) {
      bool csv = imp->file.size() >= 4 && imp->file.compare(imp->file.size() - 4, 4, ".csv") == 0;
      format = csv ? "csv" : "json";
    }
    auto r = request(*common, bhttp::verb::post, "/api/v1/devices/import", ss.str(),
                     format == "csv" ? "text/csv" : "application/json");
    if (!r) {
      exit_code = 1;
      return;
    }
    const json::object& o = r->as_object();
    bool all_ok = o.at("failed").to_number<int64_t>() == 0;
    exit_code = all_ok ? 0 : 1;
    if (common->json_out) {
      emit(*common, *r);
      return;
    }
    std::vector<std::vector<std::string>> rows{{"ROW", "ID", "RESULT", "TOKEN (shown once)"}};
    for (const auto& line : o.at("rows").as_array()) {
      const json::object& l = line.as_object();
      bool ok = l.at("ok").as_bool();
      rows.push_back({str(l.if_contains("row")), str(l.if_contains("id")),
                      ok ? "created" : "error: " + str(l.if_contains("error")), ok ? str(l.if_contains("token")) : "-"});
    }
    print_table(rows);
    std::cout << str(o.if_contains("created")) << " created, " << str(o.if_contains("failed")) << " failed\n";
  });

  (void)exit_code;
}

}  // namespace urbis::app
