#include "ngsild/api/params.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "model/entity_json.hpp"

namespace urbis::ngsild {

namespace json = boost::json;

bool has_option(const Call& call, std::string_view word) {
  auto o = call.req.query_param("options");
  if (!o) return false;
  for (const std::string& part : split_list(*o))
    if (part == word) return true;
  return false;
}

Result<std::optional<size_t>> size_param(const Call& call, std::string_view name) {
  auto v = call.req.query_param(name);
  if (!v) return std::optional<size_t>();
  size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || p != v->data() + v->size())
    return InvalidArgument(std::string(name) + ": expected a non-negative integer, got '" + std::string(*v) + "'");
  return std::optional<size_t>(n);
}

Result<bool> bool_param(const Call& call, std::string_view name, bool fallback) {
  auto v = call.req.query_param(name);
  if (!v) return fallback;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return InvalidArgument(std::string(name) + ": expected true or false, got '" + std::string(*v) + "'");
}

namespace {

Status set_format(RenderOptions& r, std::optional<EntityFormat>& chosen, EntityFormat f, std::string_view from) {
  if (chosen && *chosen != f)
    return InvalidArgument(std::string(from) + ": more than one representation requested (keyValues, concise, "
                                              "normalized exclude each other)");
  chosen = f;
  r.format = f;
  return Status();
}

}  // namespace

Result<std::vector<std::string>> language_preferences(std::string_view text) {
  // "fr", "fr,en;q=0.8", "*": tags ordered by q (1 when absent), ties in the
  // order given (RFC 9110 quality values; BCP 47 tags are letters, digits, '-').
  std::vector<std::pair<double, std::string>> tags;
  for (const std::string& part : split_list(text)) {
    std::string_view p = part, tag = p.substr(0, p.find(';'));
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    double q = 1;
    if (size_t semi = p.find(';'); semi != std::string_view::npos) {
      std::string_view rest = p.substr(semi + 1);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (!rest.starts_with("q=")) return InvalidArgument("lang: '" + part + "': only a q= weight may follow a tag");
      std::string num(rest.substr(2));
      char* end = nullptr;
      q = std::strtod(num.c_str(), &end);
      if (num.empty() || end != num.c_str() + num.size() || q < 0 || q > 1)
        return InvalidArgument("lang: '" + part + "': q must be a number from 0 to 1");
    }
    bool ok = !tag.empty() && (tag == "*" || std::all_of(tag.begin(), tag.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
              }));
    if (!ok) return InvalidArgument("lang: '" + std::string(tag) + "' is not a language tag");
    if (q > 0) tags.emplace_back(q, std::string(tag));
  }
  if (tags.empty()) return InvalidArgument("lang: no language given");
  std::stable_sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [q, t] : tags) out.push_back(std::move(t));
  return out;
}

Result<std::string> geometry_property(const Call& call) {
  auto p = call.req.query_param("geometryProperty");
  if (!p) return call.ctx->to_stored("location");
  if (p->empty()) return InvalidArgument("geometryProperty: empty");
  return call.ctx->to_stored(*p);
}

Result<RenderOptions> render_options(const Call& call) {
  RenderOptions r;
  r.context = call.ctx.get();
  r.with_context_member = false;  // respond() adds it at the top level
  std::optional<EntityFormat> chosen;
  if (auto o = call.req.query_param("options")) {
    for (const std::string& part : split_list(*o)) {
      Status st;
      if (part == "keyValues" || part == "simplified") {
        st = set_format(r, chosen, EntityFormat::kKeyValues, "options");
      } else if (part == "concise") {
        st = set_format(r, chosen, EntityFormat::kConcise, "options");
      } else if (part == "normalized") {
        st = set_format(r, chosen, EntityFormat::kNormalized, "options");
      } else if (part == "sysAttrs") {
        r.sys_attrs = true;
      } else if (part == "noOverwrite" || part == "replace" || part == "update" || part == "temporalValues" ||
                 part == "aggregatedValues") {
        // Options of other operations: harmless here.
      } else {
        return InvalidArgument("options: unknown option '" + part + "'");
      }
      if (!st.ok()) return st;
    }
  }
  if (auto f = call.req.query_param("format")) {
    Status st;
    if (*f == "keyValues" || *f == "simplified") {
      st = set_format(r, chosen, EntityFormat::kKeyValues, "format");
    } else if (*f == "concise") {
      st = set_format(r, chosen, EntityFormat::kConcise, "format");
    } else if (*f == "normalized") {
      st = set_format(r, chosen, EntityFormat::kNormalized, "format");
    } else {
      return InvalidArgument("format: expected normalized, concise or keyValues, got '" + std::string(*f) + "'");
    }
    if (!st.ok()) return st;
  }
  auto attrs = call.req.query_param("attrs");
  auto pick = call.req.query_param("pick");
  auto omit = call.req.query_param("omit");
  if (pick && omit) return InvalidArgument("pick: cannot be combined with omit");
  if (attrs && pick) return InvalidArgument("attrs: cannot be combined with pick");
  if (attrs || pick) {
    std::string_view which = attrs ? "attrs" : "pick";
    auto names = split_list(attrs ? *attrs : *pick);
    if (names.empty()) return InvalidArgument(std::string(which) + ": empty list");
    r.attrs.emplace();
    if (pick) {
      r.show_id = false;
      r.show_type = false;
    }
    for (const std::string& n : names) {
      if (pick && (n == "id" || n == "@id")) {
        r.show_id = true;
      } else if (pick && (n == "type" || n == "@type")) {
        r.show_type = true;
      } else {
        r.attrs->insert(call.ctx->to_stored(n));
      }
    }
  }
  if (omit) {
    auto names = split_list(*omit);
    if (names.empty()) return InvalidArgument("omit: empty list");
    for (const std::string& n : names) {
      if (n == "id" || n == "@id") {
        r.show_id = false;
      } else if (n == "type" || n == "@type") {
        r.show_type = false;
      } else {
        r.omit.insert(call.ctx->to_stored(n));
      }
    }
  }
  if (auto lang = call.req.query_param("lang")) {
    auto langs = language_preferences(*lang);
    if (!langs.ok()) return langs.status();
    r.languages = std::move(*langs);
  }
  return r;
}

namespace {

void instance_names_to_stored(model::AttributeInstance& a, const Context& ctx) {
  if (a.sub_attributes.empty()) return;
  std::map<std::string, model::AttributeInstance> renamed;
  for (auto& [name, sub] : a.sub_attributes) {
    instance_names_to_stored(sub, ctx);
    renamed.emplace(ctx.to_stored(name), std::move(sub));
  }
  a.sub_attributes = std::move(renamed);
}

}  // namespace

void names_to_stored(model::Entity& e, const Context& ctx) {
  for (std::string& t : e.types) t = ctx.to_stored(t);
  std::map<std::string, std::vector<model::AttributeInstance>> renamed;
  for (auto& [name, instances] : e.attributes) {
    for (model::AttributeInstance& i : instances) instance_names_to_stored(i, ctx);
    std::string stored = ctx.to_stored(name);
    auto& slot = renamed[stored];
    // Two names of the body may denote one attribute ("temperature" and its
    // IRI); their instances then join.
    for (model::AttributeInstance& i : instances) slot.push_back(std::move(i));
  }
  e.attributes = std::move(renamed);
}

Result<model::Entity> entity_from_body(const Call& call, const json::value& body, bool fragment) {
  if (!body.is_object()) return Status(Code::kInvalidArgument, "InvalidRequest: body: expected a JSON object");
  model::EntityParseOptions po;
  po.require_id_and_type = !fragment;
  auto e = model::entity_from_json(body, po);
  if (!e.ok()) return e.status();
  if (!fragment && !model::looks_like_uri(e->id)) return InvalidArgument("id: '" + e->id + "' is not a URI");
  names_to_stored(*e, *call.ctx);
  // Two names for one attribute with the same datasetId collapse to a duplicate.
  for (const auto& [name, instances] : e->attributes) {
    for (size_t i = 0; i < instances.size(); ++i)
      for (size_t j = i + 1; j < instances.size(); ++j)
        if (instances[i].dataset_id == instances[j].dataset_id)
          return InvalidArgument("attribute '" + call.ctx->from_stored(name) + "': given twice with datasetId '" +
                                 instances[i].dataset_id + "'");
  }
  return e;
}

}  // namespace urbis::ngsild
