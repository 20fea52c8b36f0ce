// The text side of the key table: listen addresses, the key reference for the
// docs, and the effective configuration rendered back as TOML.
#include <arpa/inet.h>

#include <charconv>
#include <sstream>

#include "config/config.hpp"
#include "config/config_table.hpp"

namespace urbis {

using namespace config_detail;

namespace {

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// The value of a table row in `o`, as TOML text ("" for hand-parsed rows).
std::string value_text(const KeySpec& spec, Options& o) {
  return std::visit(
      [&](auto field) -> std::string {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, BoolField>) {
          return field(o) ? "true" : "false";
        } else if constexpr (std::is_same_v<F, StringField>) {
          return toml_string(field(o));
        } else if constexpr (std::is_same_v<F, ListenField>) {
          ListenRef r = field(o);
          return toml_string(format_host_port(r.host, r.port));
        } else if constexpr (std::is_same_v<F, TableArray>) {
          return "";
        } else if constexpr (std::is_same_v<F, ElementField>) {
          return std::string(field.default_text);
        } else {
          return std::to_string(static_cast<uint64_t>(field(o)));
        }
      },
      spec.target);
}

std::string type_name(const KeySpec& spec) {
  return std::visit(
      [](auto field) -> std::string {
        using F = decltype(field);
        if constexpr (std::is_same_v<F, BoolField>) return "boolean";
        else if constexpr (std::is_same_v<F, ElementField>) {
          switch (field.kind) {
            case ElementField::Kind::kInteger: return "integer";
            case ElementField::Kind::kStringArray: return "array of strings";
            default: return "string";
          }
        } else if constexpr (std::is_same_v<F, StringField>) return "string";
        else if constexpr (std::is_same_v<F, ListenField>) return "host:port";
        else if constexpr (std::is_same_v<F, TableArray>) return "array of tables";
        else return "integer";
      },
      spec.target);
}

std::string allowed_text(const KeySpec& spec) {
  if (std::holds_alternative<ListenField>(spec.target)) return "\"host:port\"";
  if (!spec.choices.empty()) {
    std::string out;
    std::string_view rest = spec.choices;
    while (true) {
      size_t bar = rest.find('|');
      if (!out.empty()) out += " | ";
      out += toml_string(rest.substr(0, bar));
      if (bar == std::string_view::npos) break;
      rest = rest.substr(bar + 1);
    }
    return out;
  }
  if (type_name(spec) == "integer") return std::to_string(spec.min) + ".." + std::to_string(spec.max);
  if (spec.non_empty) return "non-empty";
  return "";
}

std::string section_of(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? std::string() : std::string(key.substr(0, dot));
}

std::string access_text(const AclEntry& e) {
  if (e.read && e.write) return "readwrite";
  return e.write ? "write" : "read";
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
  auto bad = [&](std::string why) {
    return InvalidArgument(why + ", got \"" + std::string(text) + "\"");
  };
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected \"[ipv6]:port\"");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) return bad("not an IPv6 address");
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected \"host:port\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return bad("an IPv6 address needs brackets, as in \"[::1]:1883\"");
    }
  }
  HostPort out;
  if (host.empty()) {
    out.host = "0.0.0.0";
  } else if (host == "localhost") {
    out.host = "127.0.0.1";
  } else {
    out.host = std::string(host);
    if (text.front() != '[') {
      in_addr a4;
      if (inet_pton(AF_INET, out.host.c_str(), &a4) != 1) {
        return bad("the host must be an IP address or localhost");
      }
    }
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value > 65535) {
    return bad("the port must be a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<MqttUrl> parse_mqtt_url(std::string_view url) {
  auto bad = [&](std::string why) { return InvalidArgument(why + ", got \"" + std::string(url) + "\""); };
  MqttUrl out;
  std::string_view rest;
  for (std::string_view scheme : {"mqtt://", "mqtts://", "ssl://"}) {
    if (url.substr(0, scheme.size()) == scheme) {
      rest = url.substr(scheme.size());
      out.tls = scheme != "mqtt://";
      out.port = out.tls ? 8883 : 1883;
    }
  }
  if (out.port == 0) return bad("expected mqtt://host[:port] or mqtts://host[:port]");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad("expected mqtt[s]://host[:port] without path, query or user (user and password have their own keys)");
  }
  std::string_view host, port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address needs a closing ']'");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected ':' and a port after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("the port must be a number from 1 to 65535");
    }
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return bad("the port must be a number from 1 to 65535");
    }
  }
  if (host.empty()) return bad("the URL names no host");
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

Status apply_listen(std::string_view host_port, ListenerOptions& listener) {
  auto hp = parse_host_port(host_port);
  if (!hp.ok()) return hp.status();
  listener.enabled = true;
  listener.host = std::move(hp->host);
  listener.port = hp->port;
  return Status::Ok();
}

std::string format_host_port(std::string_view host, uint16_t port) {
  bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(host.size() + 8);
  if (v6) out.push_back('[');
  out.append(host);
  if (v6) out.push_back(']');
  out.push_back(':');
  out.append(std::to_string(port));
  return out;
}

std::vector<ConfigKeyInfo> config_keys() {
  Options defaults;
  std::vector<ConfigKeyInfo> out;
  for (const KeySpec& spec : key_table()) {
    out.push_back({std::string(spec.key), type_name(spec), value_text(spec, defaults),
                   allowed_text(spec), std::string(spec.doc)});
  }
  return out;
}

std::string config_keys_markdown() {
  auto cell = [](std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '|') out += "\\|";
      else out += c;
    }
    return out;
  };
  std::ostringstream md;
  md << "| Key | Type | Default | Allowed | Description |\n";
  md << "|---|---|---|---|---|\n";
  for (const ConfigKeyInfo& k : config_keys()) {
    std::string def = k.default_value.empty() ? std::string("(none)") : "`" + k.default_value + "`";
    md << "| `" << k.key << "` | " << k.type << " | " << cell(def) << " | " << cell(k.allowed)
       << " | " << cell(k.doc) << " |\n";
  }
  return md.str();
}

std::string render_config(const Options& options) {
  Options o = options;  // the accessors take a mutable Options
  std::ostringstream out;
  std::string section;
  for (const KeySpec& spec : key_table()) {
    if (std::holds_alternative<ElementField>(spec.target)) continue;
    if (std::holds_alternative<TableArray>(spec.target)) {
      if (spec.key == "mqtt.users") {
        for (const UserEntry& u : o.mqtt.users) {
          out << "\n[[mqtt.users]]\nname = " << toml_string(u.name)
              << "\npassword_hash = " << toml_string(u.password_hash) << "\n";
        }
      } else if (spec.key == "mqtt.acl") {
        for (const AclEntry& e : o.mqtt.acl) {
          out << "\n[[mqtt.acl]]\nuser = " << toml_string(e.user)
              << "\npattern = " << toml_string(e.pattern) << "\naccess = \"" << access_text(e)
              << "\"\n";
        }
      } else if (spec.key == "devices.upstream") {
        for (const UpstreamEntry& u : o.devices.upstream) {
          out << "\n[[devices.upstream]]\nurl = " << toml_string(u.url) << "\nusername = " << toml_string(u.username)
              << "\npassword = " << toml_string(u.password) << "\nclient_id = " << toml_string(u.client_id)
              << "\ntopics = [";
          for (size_t i = 0; i < u.topics.size(); ++i) out << (i ? ", " : "") << toml_string(u.topics[i]);
          out << "]\nqos = " << static_cast<int>(u.qos) << "\n";
        }
      } else if (spec.key == "ngsild.contexts") {
        for (const ContextFileEntry& c : o.ngsild.contexts) {
          out << "\n[[ngsild.contexts]]\nurl = " << toml_string(c.url) << "\nfile = " << toml_string(c.file)
              << "\n";
        }
      }
      section = "(array)";  // the next plain key must reopen its table
      continue;
    }
    std::string s = section_of(spec.key);
    if (s != section) {
      out << "\n[" << s << "]\n";
      section = s;
    }
    out << spec.key.substr(s.empty() ? 0 : s.size() + 1) << " = " << value_text(spec, o) << "\n";
  }
  return out.str();
}

}  // namespace urbis
