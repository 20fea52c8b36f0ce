// The query languages of the NGSI-LD API (ETSI GS CIM 009 v1.8): the q
// language (4.9), entity type selection (4.17, the `type` parameter) and the
// geo-query parameters (4.10). A pure library: no store, no HTTP, no @context.
// The HTTP layer parses the parameters, expands the names with the request's
// @context (rename_attributes / rename_types), then matches stored entities;
// the subscription matcher does the same with a subscription's q, type and geoQ.
//
// q grammar (4.9), informally:
//   Query      = QueryTerm *(LogicalOp QueryTerm)      ; ';' is AND, '|' is OR
//   QueryTerm  = Attribute | Attribute Operator ComparableValue
//              | Attribute EqualOp CompEqualityValue | Attribute PatternOp RegExp
//              | "(" Query ")"
//   Attribute  = AttrName *("." AttrName) ["[" AttrName *("." AttrName) "]"]... (see query.cpp)
//   Operators  = "==" "!=" ">" ">=" "<" "<=" "~=" "!~="
//   Values     = number, "quoted string" / 'quoted', true/false, ISO 8601 date-time,
//                ranges a..b and lists a,b,c (with == and != only)
// AND binds tighter than OR: "a|b;c" is "a|(b;c)".
//
// Thread-safety: every class here is an immutable value once built (except
// the rename_* calls, which must not race with other use of the same object);
// const methods may run concurrently. Copies are cheap (shared immutable AST).
#pragma once

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "model/entity.hpp"
#include "model/entity_store.hpp"

namespace urbis::ngsild {

namespace qast {
struct Node;
struct TypeNode;
}  // namespace qast

// A parsed NGSI-LD q expression (the `q` parameter, also in subscriptions).
class QExpression {
 public:
  // An empty expression: matches every entity, refers to no attribute, prints "".
  QExpression();

  // InvalidArgument naming the position and the problem, e.g.
  // "q: at 14: expected a value after '>='", "q: unbalanced ')' at 9".
  // Refuses an empty text and texts longer than kMaxLength.
  static Result<QExpression> parse(std::string_view text);
  static constexpr size_t kMaxLength = 8192;

  // True when the entity satisfies the expression.
  bool matches(const model::Entity& e) const;
  // Replaces every attribute name in the expression (each segment of dotted paths and of [ ] paths that
  // names an attribute or sub-attribute, NOT the value-path members inside [ ] after the first) by
  // map(name); used to expand names with the request's @context before matching stored entities.
  void rename_attributes(const std::function<std::string(std::string_view)>& map);
  // The top-level attribute names the expression refers to (after renaming), sorted, unique.
  std::vector<std::string> attribute_names() const;
  // Canonical text of the expression (for storing in a subscription and echoing it back).
  // parse(to_string()) gives an equal expression.
  std::string to_string() const;

  bool empty() const { return root_ == nullptr; }
  friend bool operator==(const QExpression& a, const QExpression& b) { return a.to_string() == b.to_string(); }

 private:
  explicit QExpression(std::shared_ptr<const qast::Node> root);
  std::shared_ptr<const qast::Node> root_;
};

// The `type` parameter: a list "A,B" (any of) or an expression with ',' / '|' (or), ';' (and), and
// parentheses, e.g. "(Building;Vehicle)|Sensor".
class TypeExpression {
 public:
  // An empty expression: matches every entity, any_of() is nullopt, prints "".
  TypeExpression();

  static Result<TypeExpression> parse(std::string_view text);  // InvalidArgument naming the problem
  bool matches(const model::Entity& e) const;                  // against e.types
  void rename_types(const std::function<std::string(std::string_view)>& map);
  // When the expression is a plain disjunction of type names (no ';'), those names (so a store can use
  // its type index); nullopt otherwise.
  std::optional<std::vector<std::string>> any_of() const;
  std::string to_string() const;

  bool empty() const { return root_ == nullptr; }
  friend bool operator==(const TypeExpression& a, const TypeExpression& b) {
    return a.to_string() == b.to_string();
  }

 private:
  explicit TypeExpression(std::shared_ptr<const qast::TypeNode> root);
  std::shared_ptr<const qast::TypeNode> root_;
};

// The geo-query parameters of GET /entities and of a subscription's geoQ, validated together.
// georel: "near;maxDistance==1000", "near;minDistance==10", "within", "contains", "intersects",
// "equals", "disjoint", "overlaps". geometry: Point, MultiPoint, LineString, MultiLineString, Polygon,
// MultiPolygon. coordinates: the JSON array text (as in the URL, already percent-decoded) or in
// subscriptions a JSON array value. geoproperty: empty = "location".
// Errors: InvalidArgument whose message begins with the parameter name ("georel: unknown relation
// 'nearby'", "coordinates: not a JSON array", "geometry: near requires a Point", ...).
Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                        std::string_view coordinates, std::string_view geoproperty);
Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                        const boost::json::value& coordinates, std::string_view geoproperty);
// Literal text coordinates (a const char* would convert to both of the above).
inline Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                               const char* coordinates, std::string_view geoproperty) {
  return parse_geo_query(georel, geometry, std::string_view(coordinates), geoproperty);
}
inline Result<model::GeoQuery> parse_geo_query(std::string_view georel, std::string_view geometry,
                                               const std::string& coordinates, std::string_view geoproperty) {
  return parse_geo_query(georel, geometry, std::string_view(coordinates), geoproperty);
}
// georel text back from a GeoQuery (for subscriptions' geoQ echo).
std::string georel_to_string(const model::GeoQuery& q);

// True when some instance of the entity's GeoProperty `q.property` satisfies
// the relation (the subscription matcher's geoQ; GET /entities leaves geo to
// the EntityStore's index). Instances whose value is not a valid geometry
// never match.
bool geo_matches(const model::GeoQuery& q, const model::Entity& e);

}  // namespace urbis::ngsild
