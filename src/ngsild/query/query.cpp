// Placeholder implementation so that dependents link; the full parser lands next.
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

namespace qast {
struct Node {};
}  // namespace qast
struct TypeExpression::Node {};

QExpression::QExpression() = default;
QExpression::QExpression(std::shared_ptr<const qast::Node> root) : root_(std::move(root)) {}
Result<QExpression> QExpression::parse(std::string_view) { return InvalidArgument("q: not implemented yet"); }
bool QExpression::matches(const model::Entity&) const { return true; }
void QExpression::rename_attributes(const std::function<std::string(std::string_view)>&) {}
std::vector<std::string> QExpression::attribute_names() const { return {}; }
std::string QExpression::to_string() const { return {}; }

TypeExpression::TypeExpression() = default;
TypeExpression::TypeExpression(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
Result<TypeExpression> TypeExpression::parse(std::string_view) {
  return InvalidArgument("type: not implemented yet");
}
bool TypeExpression::matches(const model::Entity&) const { return true; }
void TypeExpression::rename_types(const std::function<std::string(std::string_view)>&) {}
std::optional<std::vector<std::string>> TypeExpression::any_of() const { return std::nullopt; }
std::string TypeExpression::to_string() const { return {}; }

Result<model::GeoQuery> parse_geo_query(std::string_view, std::string_view, std::string_view, std::string_view) {
  return InvalidArgument("georel: not implemented yet");
}
Result<model::GeoQuery> parse_geo_query(std::string_view, std::string_view, const boost::json::value&,
                                        std::string_view) {
  return InvalidArgument("georel: not implemented yet");
}
std::string georel_to_string(const model::GeoQuery&) { return {}; }

}  // namespace urbis::ngsild
