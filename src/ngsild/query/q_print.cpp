// QExpression's canonical text (to_string), attribute renaming and the
// names it refers to: everything that walks a parsed q tree except matching
// (q_match.cpp). The parser is q_parse.cpp.
#include <algorithm>
#include <string>
#include <vector>

#include "model/json_format.hpp"
#include "ngsild/query/q_ast.hpp"
#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

using qast::Meta;
using qast::meta_name;
using qast::Node;
using qast::Op;
using qast::Path;
using qast::Term;
using qast::Value;

namespace {

void print_value(std::string& out, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNumber: model::append_json_double(out, v.number); break;
    case Value::Kind::kString: model::append_json_string(out, v.text); break;
    case Value::Kind::kBool: out += v.boolean ? "true" : "false"; break;
  }
}

void print_path(std::string& out, const Path& p) {
  for (size_t k = 0; k < p.attrs.size(); ++k) {
    if (k > 0) out.push_back('.');
    out += p.attrs[k];
  }
  if (p.meta != Meta::kNone) {
    if (!p.attrs.empty()) out.push_back('.');
    out += meta_name(p.meta);
  }
  if (!p.members.empty()) {
    out.push_back('[');
    for (size_t k = 0; k < p.members.size(); ++k) {
      if (k > 0) out.push_back('.');
      out += p.members[k];
    }
    out.push_back(']');
  }
}

std::string_view op_text(Op op) {
  switch (op) {
    case Op::kEq: return "==";
    case Op::kNe: return "!=";
    case Op::kGt: return ">";
    case Op::kGe: return ">=";
    case Op::kLt: return "<";
    case Op::kLe: return "<=";
    case Op::kMatch: return "~=";
    case Op::kNotMatch: return "!~=";
    case Op::kExists:
    case Op::kNotExists: break;
  }
  return {};
}

void print_term(std::string& out, const Term& t) {
  if (t.op == Op::kNotExists) out.push_back('!');
  print_path(out, t.path);
  if (t.op == Op::kExists || t.op == Op::kNotExists) return;
  out += op_text(t.op);
  if (t.op == Op::kMatch || t.op == Op::kNotMatch) {
    model::append_json_string(out, t.pattern);
    return;
  }
  for (size_t k = 0; k < t.values.size(); ++k) {
    if (k > 0) out += t.range ? ".." : ",";
    print_value(out, t.values[k]);
  }
}

void print_node(std::string& out, const Node& n) {
  if (n.kind == Node::Kind::kTerm) {
    print_term(out, n.term);
    return;
  }
  const char sep = n.kind == Node::Kind::kAnd ? ';' : '|';
  for (size_t k = 0; k < n.children.size(); ++k) {
    if (k > 0) out.push_back(sep);
    const Node& c = *n.children[k];
    const bool paren = n.kind == Node::Kind::kAnd && c.kind == Node::Kind::kOr;
    if (paren) out.push_back('(');
    print_node(out, c);
    if (paren) out.push_back(')');
  }
}

std::shared_ptr<const Node> renamed(const std::shared_ptr<const Node>& n,
                                    const std::function<std::string(std::string_view)>& map) {
  auto copy = std::make_shared<Node>(*n);
  if (copy->kind == Node::Kind::kTerm) {
    for (std::string& a : copy->term.path.attrs) a = map(a);
  } else {
    for (auto& c : copy->children) c = renamed(c, map);
  }
  return copy;
}

void collect_names(const Node& n, std::vector<std::string>& out) {
  if (n.kind == Node::Kind::kTerm) {
    if (!n.term.path.attrs.empty()) out.push_back(n.term.path.attrs.front());
    return;
  }
  for (const auto& c : n.children) collect_names(*c, out);
}

}  // namespace

void QExpression::rename_attributes(const std::function<std::string(std::string_view)>& map) {
  if (root_ != nullptr) root_ = renamed(root_, map);
}

std::vector<std::string> QExpression::attribute_names() const {
  std::vector<std::string> names;
  if (root_ != nullptr) collect_names(*root_, names);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string QExpression::to_string() const {
  std::string out;
  if (root_ != nullptr) print_node(out, *root_);
  return out;
}

}  // namespace urbis::ngsild
