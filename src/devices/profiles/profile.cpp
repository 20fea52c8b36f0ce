// Device profiles: the TOML parser and the JSON form. See profile.hpp for the
// contract and docs/formats/profiles.md for the format.
//
// Every problem is reported as "<source>: <field>: <what> (line N)", the field
// written as in the file ("attribute[2].unit", 0-based like the decoders'
// "senml[2]"), so a site engineer can go straight to the line. The parser
// stops at the first problem: a profile is small, and a second message would
// often be a consequence of the first.
#include "devices/profiles/profile.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <cmath>
#include <toml++/toml.h>

#include "config/toml_guard.hpp"
#include "devices/profiles/profile_internal.hpp"
#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::devices {

namespace json = boost::json;

namespace profile_detail {

std::string name_problem(std::string_view name, bool attribute) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 256) return "must be at most 256 bytes";
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return "must not contain spaces or control characters";
    if (std::string_view("<>\"'=;()").find(ch) != std::string_view::npos)
      return std::string("must not contain '") + ch + "' (NGSI-LD forbids < > \" ' = ; ( ) in names)";
  }
  if (name.front() == '@') return "must not start with '@' (JSON-LD keywords are reserved)";
  if (attribute) {
    static constexpr std::string_view kEntityMembers[] = {"id", "type", "scope", "createdAt", "modifiedAt",
                                                          "deletedAt"};
    for (std::string_view m : kEntityMembers)
      if (name == m) return "\"" + std::string(name) + "\" is a member of the entity itself, not an attribute";
  }
  return {};
}

std::string value_key(const json::value& v) {
  if (const json::string* s = v.if_string()) return std::string(*s);
  if (const double* d = v.if_double()) {
    // 2^53: beyond it a double no longer holds every integer, and the
    // integer text would claim a precision the value does not have.
    if (std::isfinite(*d) && std::trunc(*d) == *d && std::fabs(*d) < 9007199254740992.0)
      return std::to_string(static_cast<int64_t>(*d));
  }
  return model::to_json(v);
}

std::string expand_entity_id(std::string_view tmpl, std::string_view device_id, std::string_view tenant_wire) {
  std::string out;
  out.reserve(tmpl.size() + device_id.size());
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl.compare(i, 8, "{device}") == 0) {
      out += device_id;
      i += 8;
    } else if (tmpl.compare(i, 8, "{tenant}") == 0) {
      out += tenant_wire;
      i += 8;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

}  // namespace profile_detail

namespace {

using profile_detail::name_problem;

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

bool valid_profile_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// UN/CEFACT common codes are two or three upper-case letters or digits
// ("CEL", "P1", "2N"). Checking the shape catches the usual mistake of
// writing a SenML or display unit ("Cel", "°C", "%") where NGSI-LD's unitCode
// wants the code.
bool valid_unit_code(std::string_view s) {
  if (s.size() < 2 || s.size() > 3) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  Result<Profile> parse(const toml::table& root) {
    Profile p;
    p.source = std::string(source_);
    static constexpr std::string_view kKeys[] = {"name",      "description",   "decoder",  "inner",
                                                 "entity_type", "entity_id", "keep_unmapped", "attribute"};
    if (Status s = check_keys(root, "", kKeys); !s.ok()) return s;

    const toml::node* n = root.get("name");
    if (Status s = required_string(n, &root, "name", p.name); !s.ok()) return s;
    if (!valid_profile_name(p.name))
      return bad("name", n, "must be 1 to 64 characters from A-Z a-z 0-9 . _ -, got \"" + p.name + "\"");

    if (Status s = optional_string(root.get("description"), "description", p.description); !s.ok()) return s;

    std::string decoder;
    n = root.get("decoder");
    if (Status s = required_string(n, &root, "decoder", decoder); !s.ok()) return s;
    std::optional<Format> f = format_from_name(decoder);
    if (!f) return bad("decoder", n, "unknown format \"" + decoder + "\" (" + kFormats + ")");
    p.decoder = *f;

    if (const toml::node* in = root.get("inner")) {
      std::string inner;
      if (Status s = optional_string(in, "inner", inner); !s.ok()) return s;
      if (!is_envelope(p.decoder))
        return bad("inner", in,
                   "only an envelope decoder (chirpstack, tts) has an inner format; decoder is \"" + decoder + "\"");
      std::optional<Format> fi = format_from_name(inner);
      if (!fi) return bad("inner", in, "unknown format \"" + inner + "\" (" + kFormats + ")");
      if (is_envelope(*fi)) return bad("inner", in, "\"" + inner + "\" is an envelope; the frame payload needs a plain format");
      p.inner = *fi;
    }

    n = root.get("entity_type");
    if (Status s = required_string(n, &root, "entity_type", p.entity_type); !s.ok()) return s;
    if (std::string why = name_problem(p.entity_type, false); !why.empty()) return bad("entity_type", n, why);

    n = root.get("entity_id");
    if (n == nullptr) {
      p.entity_id = "urn:ngsi-ld:" + p.entity_type + ":{device}";
    } else {
      if (Status s = optional_string(n, "entity_id", p.entity_id); !s.ok()) return s;
      if (Status s = check_entity_id(n, p.entity_id); !s.ok()) return s;
    }

    if (const toml::node* k = root.get("keep_unmapped")) {
      if (!k->is_boolean()) return bad("keep_unmapped", k, std::string("must be a boolean, got ") + type_noun(k->type()));
      p.keep_unmapped = k->as_boolean()->get();
    }

    if (const toml::node* a = root.get("attribute")) {
      const toml::array* arr = a->as_array();
      if (arr == nullptr || !arr->is_array_of_tables())
        return bad("attribute", a, "must be an array of tables, written [[attribute]]");
      for (size_t i = 0; i < arr->size(); ++i) {
        AttributeMapping m;
        if (Status s = parse_attribute(*(*arr)[i].as_table(), i, m); !s.ok()) return s;
        for (size_t j = 0; j < p.attributes.size(); ++j) {
          if (p.attributes[j].name == m.name)
            return bad(field(i, "name"), (*arr)[i].as_table()->get("name"),
                       "\"" + m.name + "\" is already written by attribute[" + std::to_string(j) + "]");
        }
        p.attributes.push_back(std::move(m));
      }
    }
    if (p.attributes.empty() && !p.keep_unmapped)
      return bad("attribute", nullptr,
                 "no [[attribute]] and keep_unmapped is false: every reading would be dropped");
    return p;
  }

 private:
  static constexpr const char* kFormats = "json, senml+json, senml+cbor, lpp, chirpstack, tts";

  Status bad(std::string_view field, const toml::node* at, std::string_view what) const {
    std::string m(source_);
    m += ": ";
    m += field;
    m += ": ";
    m += what;
    if (at != nullptr && at->source().begin.line > 0) m += " (line " + std::to_string(at->source().begin.line) + ")";
    return InvalidArgument(std::move(m));
  }

  static std::string field(size_t index, std::string_view key) {
    return "attribute[" + std::to_string(index) + "]" + (key.empty() ? "" : ".") + std::string(key);
  }

  template <size_t N>
  Status check_keys(const toml::table& t, std::string_view prefix, const std::string_view (&keys)[N]) const {
    for (auto&& [k, v] : t) {
      bool known = false;
      for (std::string_view want : keys) known = known || k.str() == want;
      if (known) continue;
      std::string list;
      for (std::string_view want : keys) {
        if (!list.empty()) list += ", ";
        list += want;
      }
      const std::string f = prefix.empty() ? std::string(k.str()) : std::string(prefix) + "." + std::string(k.str());
      return bad(f, &v, "unknown key (expected one of " + list + ")");
    }
    return Status::Ok();
  }

  Status required_string(const toml::node* n, const toml::table* in, std::string_view f, std::string& out) const {
    if (n == nullptr) return bad(f, in, "missing (required)");
    return optional_string(n, f, out);
  }

  Status optional_string(const toml::node* n, std::string_view f, std::string& out) const {
    if (n == nullptr) return Status::Ok();
    if (!n->is_string()) return bad(f, n, std::string("must be a string, got ") + type_noun(n->type()));
    out = n->as_string()->get();
    return Status::Ok();
  }

  // {device} and {tenant} are the only placeholders; with them replaced by
  // sample values the id must be a URI, as every NGSI-LD entity id is. A
  // template without {device} is allowed: every device of the profile then
  // writes the same entity (one entity fed by redundant sensors).
  Status check_entity_id(const toml::node* n, std::string_view t) const {
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '{') {
        if (t.compare(i, 8, "{device}") == 0 || t.compare(i, 8, "{tenant}") == 0) {
          i += 7;
          continue;
        }
        const size_t close = t.find('}', i);
        const std::string ph(t.substr(i, close == std::string_view::npos ? std::string_view::npos : close - i + 1));
        return bad("entity_id", n, "unknown placeholder \"" + ph + "\" (only {device} and {tenant})");
      }
      if (t[i] == '}') return bad("entity_id", n, "'}' without a placeholder");
    }
    const std::string sample = profile_detail::expand_entity_id(t, "device-1", "default");
    if (!model::looks_like_uri(sample))
      return bad("entity_id", n,
                 "must be a URI once {device} and {tenant} are replaced (e.g. urn:ngsi-ld:<type>:{device}), got \"" +
                     std::string(t) + "\"");
    return Status::Ok();
  }

  Status parse_attribute(const toml::table& t, size_t i, AttributeMapping& m) const {
    static constexpr std::string_view kKeys[] = {"reading", "name", "unit", "scale", "offset", "values"};
    if (Status s = check_keys(t, field(i, ""), kKeys); !s.ok()) return s;

    const toml::node* n = t.get("reading");
    if (Status s = required_string(n, &t, field(i, "reading"), m.reading); !s.ok()) return s;
    if (m.reading.empty()) return bad(field(i, "reading"), n, "must not be empty");

    n = t.get("name");
    if (Status s = required_string(n, &t, field(i, "name"), m.name); !s.ok()) return s;
    if (std::string why = name_problem(m.name, true); !why.empty()) return bad(field(i, "name"), n, why);

    n = t.get("unit");
    if (Status s = optional_string(n, field(i, "unit"), m.unit_code); !s.ok()) return s;
    if (n != nullptr && !valid_unit_code(m.unit_code))
      return bad(field(i, "unit"), n,
                 "must be a UN/CEFACT common code (2 or 3 upper-case letters or digits, e.g. CEL for degrees Celsius), "
                 "got \"" + m.unit_code + "\"");

    for (std::string_view key : {std::string_view("scale"), std::string_view("offset")}) {
      const toml::node* x = t.get(key);
      if (x == nullptr) continue;
      double d = 0;
      if (const toml::value<int64_t>* iv = x->as_integer()) {
        d = static_cast<double>(iv->get());
      } else if (const toml::value<double>* fv = x->as_floating_point()) {
        d = fv->get();
      } else {
        return bad(field(i, key), x, std::string("must be a number, got ") + type_noun(x->type()));
      }
      if (!std::isfinite(d)) return bad(field(i, key), x, "must be a finite number");
      if (key == "scale" && d == 0) return bad(field(i, key), x, "must not be 0 (every value would read 0)");
      (key == "scale" ? m.scale : m.offset) = d;
      m.numeric = true;
    }

    if (const toml::node* v = t.get("values")) {
      const toml::table* vt = v->as_table();
      if (vt == nullptr) return bad(field(i, "values"), v, std::string("must be a table, got ") + type_noun(v->type()));
      if (m.numeric)
        return bad(field(i, "values"), v, "cannot be combined with scale/offset (a table gives the value itself)");
      if (vt->empty()) return bad(field(i, "values"), v, "must not be empty");
      std::map<std::string, std::string, std::less<>> written;  // canonical key -> key as written
      for (auto&& [k, val] : *vt) {
        const std::string f = field(i, "values") + "." + std::string(k.str());
        std::string key = canonical_key(k.str());
        if (auto [it, fresh] = written.emplace(key, std::string(k.str())); !fresh)
          return bad(f, &val, "same reading value as the key \"" + it->second + "\"");
        json::value jv;
        if (Status s = to_json_value(val, f, 0, jv); !s.ok()) return s;
        m.values.emplace(std::move(key), std::move(jv));
      }
    }
    return Status::Ok();
  }

  // A key is written as the reading's JSON text ("true", "1", "\"on\"") or a
  // string's bare text ("on"); both forms of a string, and "1" and "1.0", must
  // find the same entry, so keys are stored as value_key() of what they parse to.
  static std::string canonical_key(std::string_view k) {
    boost::system::error_code ec;
    json::value v = json::parse(k, ec);
    if (ec) return std::string(k);
    return profile_detail::value_key(v);
  }

  Status to_json_value(const toml::node& n, const std::string& f, int depth, json::value& out) const {
    if (depth > 16) return bad(f, &n, "nested too deeply");
    switch (n.type()) {
      case toml::node_type::string: out = json::string(n.as_string()->get()); return Status::Ok();
      case toml::node_type::integer: out = n.as_integer()->get(); return Status::Ok();
      case toml::node_type::boolean: out = n.as_boolean()->get(); return Status::Ok();
      case toml::node_type::floating_point: {
        const double d = n.as_floating_point()->get();
        if (!std::isfinite(d)) return bad(f, &n, "must be a finite number");
        out = d;
        return Status::Ok();
      }
      case toml::node_type::array: {
        json::array a;
        for (const toml::node& e : *n.as_array()) {
          json::value ev;
          if (Status s = to_json_value(e, f, depth + 1, ev); !s.ok()) return s;
          a.push_back(std::move(ev));
        }
        out = std::move(a);
        return Status::Ok();
      }
      case toml::node_type::table: {
        json::object o;
        for (auto&& [k, e] : *n.as_table()) {
          json::value ev;
          if (Status s = to_json_value(e, f, depth + 1, ev); !s.ok()) return s;
          o[k.str()] = std::move(ev);
        }
        out = std::move(o);
        return Status::Ok();
      }
      default:
        return bad(f, &n, std::string("must be a string, number, boolean, array or table, got ") + type_noun(n.type()));
    }
  }

  std::string_view source_;
};

}  // namespace

Result<Profile> parse_profile(std::string_view toml_text, std::string_view source) {
  Result<toml::table> root = config::parse_toml(toml_text, source);
  if (!root.ok()) return root.status();
  return Parser(source).parse(*root);
}

json::object profile_to_json(const Profile& p) {
  json::object o;
  o["name"] = p.name;
  o["description"] = p.description;
  o["decoder"] = format_name(p.decoder);
  if (p.inner) {
    o["inner"] = format_name(*p.inner);
  } else {
    o["inner"] = nullptr;
  }
  o["entity_type"] = p.entity_type;
  o["entity_id"] = p.entity_id;
  o["keep_unmapped"] = p.keep_unmapped;
  json::array attrs;
  for (const AttributeMapping& m : p.attributes) {
    json::object a;
    a["reading"] = m.reading;
    a["name"] = m.name;
    if (!m.unit_code.empty()) a["unit"] = m.unit_code;
    if (m.numeric) {
      a["scale"] = m.scale;
      a["offset"] = m.offset;
    }
    if (!m.values.empty()) {
      json::object v;
      for (const auto& [k, val] : m.values) v[k] = val;
      a["values"] = std::move(v);
    }
    attrs.push_back(std::move(a));
  }
  o["attributes"] = std::move(attrs);
  o["source"] = p.source;
  return o;
}

}  // namespace urbis::devices
