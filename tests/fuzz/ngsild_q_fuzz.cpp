// libFuzzer target for the NGSI-LD q and type-selection parsers (src/ngsild/query).
//
// Any input either fails with a message or parses; a parsed expression's
// canonical text must parse again to an equal expression that gives the same
// answer on a fixed entity, and renaming with the identity must change
// nothing. Any disagreement aborts.

#include <cstdio>
#include <cstdlib>
#include <string>

#include "model/entity_json.hpp"
#include "ngsild/query/query.hpp"

namespace {

[[noreturn]] void die(const char* what, const std::string& a, const std::string& b = {}) {
  std::fprintf(stderr, "ngsild_q_fuzz: %s\n%s\n%s\n", what, a.c_str(), b.c_str());
  std::abort();
}

const urbis::model::Entity& fixture() {
  static const urbis::model::Entity e = [] {
    urbis::model::Entity out = urbis::model::entity_from_text(R"({
      "id": "urn:ngsi-ld:Sensor:1", "type": ["Sensor", "Device"],
      "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL", "observedAt": "2024-05-01T10:00:00Z",
                      "accuracy": {"type": "Property", "value": 0.2}},
      "name": {"type": "Property", "value": "Bridge sensor 7"},
      "tags": {"type": "Property", "value": ["blue", "red", 3, true, {"x": 1}]},
      "installedAt": {"type": "Property", "value": "2023-01-15T08:30:00Z"},
      "address": {"type": "Property", "value": {"city": "Berlin", "geo": {"zip": "10115", "floor": 3}}},
      "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"},
      "label": {"type": "LanguageProperty", "languageMap": {"en": "red", "de": ["rot", "Farbe"]}},
      "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [13.4, 52.5]}},
      "speed": [{"type": "Property", "value": 30, "datasetId": "urn:ngsi-ld:Dataset:radar"},
                {"type": "Property", "value": 50}],
      "a": {"type": "Property", "value": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}
    })").value();
    urbis::model::stamp_new(out, 1714521600000);
    return out;
  }();
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using urbis::ngsild::QExpression;
  using urbis::ngsild::TypeExpression;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const urbis::model::Entity& e = fixture();

  urbis::Result<QExpression> q = QExpression::parse(text);
  if (!q.ok()) {
    if (q.status().message().rfind("q: ", 0) != 0) die("q error without the 'q: ' prefix", q.status().message());
  } else {
    const std::string canonical = q->to_string();
    urbis::Result<QExpression> again = QExpression::parse(canonical);
    if (!again.ok()) die("canonical q text does not parse", canonical, again.status().message());
    if (again->to_string() != canonical) die("canonical q text changed on reparse", canonical, again->to_string());
    if (again->matches(e) != q->matches(e)) die("canonical q text matches differently", std::string(text), canonical);
    if (again->attribute_names() != q->attribute_names()) die("attribute names changed", canonical);
    QExpression renamed = *q;
    renamed.rename_attributes([](std::string_view n) { return std::string(n); });
    if (renamed.to_string() != canonical) die("identity rename changed the text", canonical, renamed.to_string());
  }

  urbis::Result<TypeExpression> t = TypeExpression::parse(text);
  if (!t.ok()) {
    if (t.status().message().rfind("type: ", 0) != 0) die("type error without the 'type: ' prefix", t.status().message());
  } else {
    const std::string canonical = t->to_string();
    urbis::Result<TypeExpression> again = TypeExpression::parse(canonical);
    if (!again.ok()) die("canonical type text does not parse", canonical, again.status().message());
    if (again->to_string() != canonical) die("canonical type text changed on reparse", canonical, again->to_string());
    if (again->matches(e) != t->matches(e)) die("canonical type text matches differently", canonical);
    if (again->any_of() != t->any_of()) die("any_of changed on reparse", canonical);
  }
  return 0;
}
