// Parsing and validation of urbis.toml. See config.hpp for the contract and
// config_table.cpp for the keys.
//
// Flow: toml++ parses the text into a tree (syntax errors stop here, with
// line and column). walk() visits the tree; every key must be a row of the key
// table or a section above rows. A value of the wrong type or out of range is
// reported and not stored. Then validate_issues() checks the rules between
// fields on the resulting Options; each issue names a key (and an entry index
// for [[mqtt.users]]/[[mqtt.acl]]) that is mapped back to its line. Messages
// are sorted by line so the report reads top to bottom.
#include "config/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <toml++/toml.h>
#include <unordered_set>

#include "config/config_table.hpp"
#include "config/toml_guard.hpp"
#include "security/config_auth.hpp"
#include "security/password.hpp"

namespace urbis {

using namespace config_detail;

namespace {

// A rule broken by some Options; `index` is the entry of [[mqtt.users]] or
// [[mqtt.acl]] the key belongs to, -1 for plain keys.
struct Issue {
  std::string key;
  int index = -1;
  std::string message;
  // For a clash between two keys: the same problem told from the other key,
  // used when only that one is written in the file (so the message has a line).
  std::string alt_key = {};
  std::string alt_message = {};
};

std::string line_key(std::string_view key, int index) {
  return index < 0 ? std::string(key) : std::string(key) + "#" + std::to_string(index);
}

bool hosts_overlap(const std::string& a, const std::string& b) {
  auto any = [](const std::string& h) { return h == "0.0.0.0" || h == "::"; };
  return a == b || any(a) || any(b);
}

std::vector<Issue> validate_issues(const Options& options) {
  std::vector<Issue> issues;
  Options o = options;  // the table's accessors take a mutable Options

  // Ranges and choices of the table: parse_config never stores a bad value,
  // but the command line or a caller building Options in code might.
  for (const KeySpec& spec : key_table()) {
    std::visit(
        [&](auto field) {
          using F = decltype(field);
          if constexpr (std::is_same_v<F, U8Field> || std::is_same_v<F, U16Field> ||
                        std::is_same_v<F, U32Field> || std::is_same_v<F, U64Field>) {
            uint64_t v = field(o);
            if (v < static_cast<uint64_t>(spec.min) || v > static_cast<uint64_t>(spec.max)) {
              issues.push_back({std::string(spec.key), -1,
                                "must be between " + std::to_string(spec.min) + " and " +
                                    std::to_string(spec.max) + ", got " + std::to_string(v)});
            }
          } else if constexpr (std::is_same_v<F, StringField>) {
            const std::string& v = field(o);
            if (spec.non_empty && v.empty()) {
              issues.push_back({std::string(spec.key), -1, "must not be empty"});
            }
            if (!spec.choices.empty()) {
              std::string_view rest = spec.choices;
              bool found = false;
              while (!found) {
                size_t bar = rest.find('|');
                found = rest.substr(0, bar) == v;
                if (bar == std::string_view::npos) break;
                rest = rest.substr(bar + 1);
              }
              if (!found) {
                issues.push_back({std::string(spec.key), -1,
                                  "must be one of " + std::string(spec.choices) + ", got \"" + v + "\""});
              }
            }
          }
        },
        spec.target);
  }

  const TlsOptions& tls = o.mqtt.tls;
  if (tls.enabled && (tls.cert_file.empty() || tls.key_file.empty())) {
    issues.push_back({"mqtt.tls.enabled", -1,
                      "TLS is enabled but mqtt.tls.cert_file and mqtt.tls.key_file are not both set"});
  }
  if (tls.require_client_cert && tls.ca_file.empty()) {
    issues.push_back({"mqtt.tls.require_client_cert", -1,
                      "client certificates are required but mqtt.tls.ca_file is not set"});
  }

  struct Bound {
    const char* key;
    bool enabled;
    std::string host;
    uint16_t port;
  };
  const Bound listeners[] = {
      {"mqtt.tcp.listen", o.mqtt.tcp.enabled, o.mqtt.tcp.host, o.mqtt.tcp.port},
      {"mqtt.tls.listen", tls.enabled, tls.host, tls.port},
      {"http.listen", o.http.listener.enabled, o.http.listener.host, o.http.listener.port},
  };
  for (size_t i = 0; i < std::size(listeners); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const Bound& a = listeners[j];
      const Bound& b = listeners[i];
      if (a.enabled && b.enabled && a.port != 0 && a.port == b.port && hosts_overlap(a.host, b.host)) {
        issues.push_back({b.key, -1, "port " + std::to_string(b.port) + " is already used by " + a.key,
                          a.key, "port " + std::to_string(a.port) + " is also used by " + b.key});
      }
    }
  }

  std::map<std::string, int> seen_users;
  for (size_t i = 0; i < o.mqtt.users.size(); ++i) {
    const UserEntry& u = o.mqtt.users[i];
    int idx = static_cast<int>(i);
    if (u.name.empty()) {
      issues.push_back({"mqtt.users.name", idx, "every [[mqtt.users]] entry needs a name"});
    } else if (u.name == "*" || u.name == "anonymous") {
      issues.push_back({"mqtt.users.name", idx,
                        "\"" + u.name + "\" is reserved for ACL entries and cannot be a user name"});
    } else if (!seen_users.emplace(u.name, idx).second) {
      issues.push_back({"mqtt.users.name", idx, "user \"" + u.name + "\" is defined twice"});
    }
    if (u.password_hash.empty()) {
      issues.push_back({"mqtt.users.password_hash", idx,
                        "every [[mqtt.users]] entry needs a password_hash (make one with `urbis passwd`)"});
    } else if (auto h = security::parse_password_hash(u.password_hash); !h.ok()) {
      issues.push_back({"mqtt.users.password_hash", idx, h.status().message()});
    }
  }
  for (size_t i = 0; i < o.mqtt.acl.size(); ++i) {
    const AclEntry& e = o.mqtt.acl[i];
    int idx = static_cast<int>(i);
    if (e.user.empty()) {
      issues.push_back({"mqtt.acl.user", idx, "every [[mqtt.acl]] entry needs a user"});
    } else if (e.user != "*" && e.user != "anonymous" && seen_users.count(e.user) == 0) {
      issues.push_back({"mqtt.acl.user", idx,
                        "no [[mqtt.users]] entry is named \"" + e.user +
                            "\" (use \"*\" for any user or \"anonymous\")"});
    }
    if (e.pattern.empty()) {
      issues.push_back({"mqtt.acl.pattern", idx, "every [[mqtt.acl]] entry needs a pattern"});
    } else if (!security::is_valid_filter(e.pattern)) {
      issues.push_back({"mqtt.acl.pattern", idx,
                        "\"" + e.pattern + "\" is not a valid topic filter ('#' only as the whole "
                                           "last level, '+' only as a whole level)"});
    }
    if (!e.read && !e.write) {
      issues.push_back({"mqtt.acl.access", idx,
                        "every [[mqtt.acl]] entry needs access = \"read\", \"write\" or \"readwrite\""});
    }
  }
  for (size_t i = 0; i < o.ngsild.contexts.size(); ++i) {
    const ContextFileEntry& c = o.ngsild.contexts[i];
    int idx = static_cast<int>(i);
    if (c.url.empty()) issues.push_back({"ngsild.contexts.url", idx, "every [[ngsild.contexts]] entry needs a url"});
    if (c.file.empty())
      issues.push_back({"ngsild.contexts.file", idx, "every [[ngsild.contexts]] entry needs a file"});
  }
  for (size_t i = 0; i < o.devices.upstream.size(); ++i) {
    const UpstreamEntry& u = o.devices.upstream[i];
    int idx = static_cast<int>(i);
    if (u.url.empty()) {
      issues.push_back({"devices.upstream.url", idx, "every [[devices.upstream]] entry needs a url (mqtt://host:port)"});
    } else if (auto url = parse_mqtt_url(u.url); !url.ok()) {
      issues.push_back({"devices.upstream.url", idx, url.status().message()});
    }
    if (u.topics.empty()) issues.push_back({"devices.upstream.topics", idx, "must name at least one topic filter"});
    for (const std::string& t : u.topics) {
      if (!security::is_valid_filter(t)) {
        issues.push_back({"devices.upstream.topics", idx,
                          "\"" + t + "\" is not a valid topic filter ('#' only as the whole last level, '+' only "
                                     "as a whole level)"});
      }
    }
    if (u.qos > 2) issues.push_back({"devices.upstream.qos", idx, "must be between 0 and 2"});
  }
  if (o.ngsild.default_limit > o.ngsild.max_limit) {
    issues.push_back({"ngsild.default_limit", -1,
                      "must not exceed ngsild.max_limit (" + std::to_string(o.ngsild.max_limit) + ")"});
  }
  return issues;
}

const char* type_noun(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "nothing";
  }
}

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

// Edit distance, for "did you mean" on unknown keys.
size_t distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1] ? 1 : 0)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  void error(int line, std::string_view key, std::string_view message) {
    std::string text = std::string(source_);
    if (line > 0) text += ":" + std::to_string(line);
    text += ": " + std::string(key) + ": " + std::string(message);
    errors_.push_back({line, std::move(text)});
  }

  void walk(const toml::table& table, const std::string& prefix) {
    for (auto&& [k, node] : table) {
      std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      int line = static_cast<int>(k.source().begin.line);
      if (line == 0) line = line_of(node);
      const KeySpec* spec = find_key(key);
      if (spec == nullptr || std::holds_alternative<ElementField>(spec->target)) {
        if (is_section(key) && spec == nullptr) {
          if (const toml::table* sub = node.as_table()) {
            walk(*sub, key);
          } else {
            error(line, key, std::string("expected a table [") + key + "], got " + type_noun(node.type()));
          }
        } else {
          error(line, key, unknown_key_message(key));
        }
        continue;
      }
      lines_[key] = line;
      if (key == "mqtt.users") {
        read_users(node, line);
      } else if (key == "mqtt.acl") {
        read_acl(node, line);
      } else if (key == "ngsild.contexts") {
        read_contexts(node, line);
      } else if (key == "devices.upstream") {
        read_upstream(node, line);
      } else {
        read_value(*spec, node, line);
      }
    }
  }

  Result<Options> finish() {
    for (const Issue& issue : validate_issues(options_)) {
      int line = 0;
      if (auto it = lines_.find(line_key(issue.key, issue.index)); it != lines_.end()) {
        line = it->second;
      } else if (auto alt = lines_.find(issue.alt_key); !issue.alt_key.empty() && alt != lines_.end()) {
        error(alt->second, issue.alt_key, issue.alt_message);
        continue;
      } else if (issue.index >= 0) {
        // A missing field: point at the entry's [[...]] header.
        std::string array = issue.key.substr(0, issue.key.rfind('.'));
        if (auto e = lines_.find(line_key(array, issue.index)); e != lines_.end()) line = e->second;
      }
      error(line, issue.key, issue.message);
    }
    if (errors_.empty()) return std::move(options_);
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string all;
    for (const auto& [line, text] : errors_) {
      if (!all.empty()) all += '\n';
      all += text;
    }
    return InvalidArgument(std::move(all));
  }

 private:
  std::string unknown_key_message(const std::string& key) {
    std::string best;
    size_t best_d = 3;  // suggest only near misses
    for (const KeySpec& s : key_table()) {
      size_t d = distance(key, s.key);
      // "password" for "password_hash": a truncated name is a near miss too.
      if (s.key.size() > key.size() && s.key.substr(0, key.size()) == key) d = std::min<size_t>(d, 2);
      if (d < best_d) {
        best_d = d;
        best = std::string(s.key);
      }
    }
    std::string m = "unknown key";
    if (!best.empty()) m += " (did you mean " + best + "?)";
    return m;
  }

  void read_value(const KeySpec& spec, const toml::node& node, int line) {
    std::visit(
        [&](auto field) {
          using F = decltype(field);
          if constexpr (std::is_same_v<F, BoolField>) {
            if (auto v = node.as_boolean()) field(options_) = v->get();
            else error(line, spec.key, std::string("expected a boolean (true or false), got ") + type_noun(node.type()));
          } else if constexpr (std::is_same_v<F, StringField>) {
            if (auto v = node.as_string()) field(options_) = v->get();
            else error(line, spec.key, std::string("expected a string, got ") + type_noun(node.type()));
          } else if constexpr (std::is_same_v<F, ListenField>) {
            const auto* v = node.as_string();
            if (!v) {
              error(line, spec.key, std::string("expected a string \"host:port\", got ") + type_noun(node.type()));
              return;
            }
            auto hp = parse_host_port(v->get());
            if (!hp.ok()) {
              error(line, spec.key, hp.status().message());
              return;
            }
            ListenRef r = field(options_);
            r.host = hp->host;
            r.port = hp->port;
          } else if constexpr (std::is_same_v<F, TableArray> || std::is_same_v<F, ElementField>) {
            // handled by read_users / read_acl
          } else {
            const auto* v = node.as_integer();
            if (!v) {
              error(line, spec.key, std::string("expected an integer, got ") + type_noun(node.type()));
              return;
            }
            int64_t n = v->get();
            if (n < spec.min || n > spec.max) {
              error(line, spec.key, "must be between " + std::to_string(spec.min) + " and " +
                                        std::to_string(spec.max) + ", got " + std::to_string(n));
              return;
            }
            using T = std::remove_reference_t<decltype(field(options_))>;
            field(options_) = static_cast<T>(n);
          }
        },
        spec.target);
  }

  // Visits the fields of each [[array]] entry; `set` stores one field, whose
  // node has been checked against the field's kind (string, integer in range,
  // array of strings).
  template <typename Set>
  void read_entries(const toml::node& node, int line, std::string_view array, Set set) {
    const toml::array* entries = node.as_array();
    if (!entries || !entries->is_array_of_tables()) {
      error(line, array, std::string("expected [[") + std::string(array) + "]] entries, got " + type_noun(node.type()));
      return;
    }
    int index = 0;
    for (const toml::node& entry : *entries) {
      lines_[line_key(array, index)] = line_of(entry);
      for (auto&& [k, value] : *entry.as_table()) {
        std::string key = std::string(array) + "." + std::string(k.str());
        int vline = static_cast<int>(k.source().begin.line);
        if (vline == 0) vline = line_of(value);
        const KeySpec* spec = find_key(key);
        if (!spec || !std::holds_alternative<ElementField>(spec->target)) {
          error(vline, key, unknown_key_message(key));
          continue;
        }
        const auto kind = std::get<ElementField>(spec->target).kind;
        if (kind == ElementField::Kind::kString && !value.is_string()) {
          error(vline, key, std::string("expected a string, got ") + type_noun(value.type()));
          continue;
        }
        if (kind == ElementField::Kind::kInteger) {
          const auto* n = value.as_integer();
          if (!n) {
            error(vline, key, std::string("expected an integer, got ") + type_noun(value.type()));
            continue;
          }
          if (n->get() < spec->min || n->get() > spec->max) {
            error(vline, key, "must be between " + std::to_string(spec->min) + " and " + std::to_string(spec->max) +
                                  ", got " + std::to_string(n->get()));
            continue;
          }
        }
        if (kind == ElementField::Kind::kStringArray) {
          const auto* a = value.as_array();
          bool strings = a != nullptr;
          if (a) {
            for (const toml::node& e : *a) strings = strings && e.is_string();
          }
          if (!strings) {
            error(vline, key, std::string("expected an array of strings, got ") + type_noun(value.type()));
            continue;
          }
        }
        lines_[line_key(key, index)] = vline;
        set(index, k.str(), value, vline);
      }
      ++index;
    }
  }

  void read_users(const toml::node& node, int line) {
    read_entries(node, line, "mqtt.users", [&](int index, std::string_view field, const toml::node& n, int) {
      const std::string& v = n.as_string()->get();
      if (static_cast<size_t>(index) >= options_.mqtt.users.size()) options_.mqtt.users.resize(index + 1);
      UserEntry& u = options_.mqtt.users[index];
      if (field == "name") u.name = v;
      else u.password_hash = v;
    });
  }

  void read_acl(const toml::node& node, int line) {
    read_entries(node, line, "mqtt.acl", [&](int index, std::string_view field, const toml::node& n, int vline) {
      const std::string& v = n.as_string()->get();
      if (static_cast<size_t>(index) >= options_.mqtt.acl.size()) options_.mqtt.acl.resize(index + 1);
      AclEntry& e = options_.mqtt.acl[index];
      if (field == "user") {
        e.user = v;
      } else if (field == "pattern") {
        e.pattern = v;
      } else if (v == "read" || v == "write" || v == "readwrite") {
        e.read = v != "write";
        e.write = v != "read";
      } else {
        error(vline, "mqtt.acl.access", "must be one of read|write|readwrite, got \"" + v + "\"");
        e.read = true;  // already reported; do not report "needs access" too
      }
    });
  }

  void read_contexts(const toml::node& node, int line) {
    read_entries(node, line, "ngsild.contexts", [&](int index, std::string_view field, const toml::node& n, int) {
      const std::string& v = n.as_string()->get();
      auto& list = options_.ngsild.contexts;
      if (static_cast<size_t>(index) >= list.size()) list.resize(index + 1);
      if (field == "url") list[index].url = v;
      else list[index].file = v;
    });
  }

  void read_upstream(const toml::node& node, int line) {
    read_entries(node, line, "devices.upstream", [&](int index, std::string_view field, const toml::node& n, int) {
      auto& list = options_.devices.upstream;
      if (static_cast<size_t>(index) >= list.size()) list.resize(index + 1);
      UpstreamEntry& u = list[index];
      if (field == "topics") {
        u.topics.clear();
        for (const toml::node& t : *n.as_array()) u.topics.push_back(t.as_string()->get());
      } else if (field == "qos") {
        u.qos = static_cast<uint8_t>(n.as_integer()->get());
      } else {
        const std::string& v = n.as_string()->get();
        if (field == "url") u.url = v;
        else if (field == "username") u.username = v;
        else if (field == "password") u.password = v;
        else u.client_id = v;
      }
    });
  }

  std::string_view source_;
  Options options_;
  std::map<std::string, int> lines_;  // line_key -> line
  std::vector<std::pair<int, std::string>> errors_;
};

}  // namespace

Result<Options> parse_config(std::string_view toml_text, std::string_view source_name) {
  Result<toml::table> root = config::parse_toml(toml_text, source_name);
  if (!root.ok()) return root.status();
  Parser parser(source_name);
  parser.walk(*root, "");
  return parser.finish();
}

Result<Options> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("cannot read " + path + ": " + std::strerror(errno));
  return parse_config(text.str(), path);
}

Status validate_options(const Options& options) {
  std::string all;
  for (const Issue& issue : validate_issues(options)) {
    if (!all.empty()) all += '\n';
    all += issue.key;
    if (issue.index >= 0) all += " (entry " + std::to_string(issue.index + 1) + ")";
    all += ": " + issue.message;
  }
  if (all.empty()) return Status::Ok();
  return InvalidArgument(std::move(all));
}

}  // namespace urbis
