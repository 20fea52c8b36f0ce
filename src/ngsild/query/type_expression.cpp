// NGSI-LD entity type selection (GS CIM 009 4.17): the `type` parameter.
//
//   Selection = Or / "*"                    ; "*": every type (6.4.3.2)
//   Or        = And *(("," / "|") And)      ; "A,B" is the 1.x list form
//   And       = Factor *(";" Factor)        ; ';' binds tighter, as in q
//   Factor    = "(" Or ")" / TypeName
// TypeName: letters, digits, "_" (bytes >= 0x80 count as letters), and for
// "prefix:Name" and expanded URIs also ":/#-@%.~+?=&". Whitespace around
// names and operators is ignored. Errors name the 1-based byte position.
// Canonical text: lists of plain names joined by ',', other disjunctions by
// '|', ';' for AND, parentheses only around an OR inside an AND.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "ngsild/query/query.hpp"

namespace urbis::ngsild {

namespace qast {

struct TypeNode {
  enum class Kind : uint8_t { kAny, kName, kAnd, kOr };
  Kind kind = Kind::kName;
  std::string name;                                        // kName
  std::vector<std::shared_ptr<const TypeNode>> children;  // kAnd / kOr
};

}  // namespace qast

namespace {

using qast::TypeNode;
using NodePtr = std::shared_ptr<const TypeNode>;

constexpr size_t kMaxTypeLength = 8192;
constexpr int kMaxTypeDepth = 32;

bool is_type_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}
bool is_type_char(char c) {
  return is_type_start(c) || (c >= '0' && c <= '9') || (c != 0 && std::strchr(":/#-@%.~+?=&", c) != nullptr);
}
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

class TypeParser {
 public:
  explicit TypeParser(std::string_view s) : s_(s) {}

  Result<NodePtr> parse() {
    skip_ws();
    if (i_ == s_.size()) return InvalidArgument("type: empty");
    if (s_.substr(i_) == "*" || (s_[i_] == '*' && trimmed_rest_is_star())) {
      auto n = std::make_shared<TypeNode>();
      n->kind = TypeNode::Kind::kAny;
      return NodePtr(n);
    }
    NodePtr root = parse_or();
    if (!err_.ok()) return err_;
    skip_ws();
    if (i_ < s_.size()) {
      if (s_[i_] == ')') return InvalidArgument(fmt::format("type: unbalanced ')' at {}", i_ + 1));
      fail(fmt::format("unexpected '{}' (expected ',', '|', ';' or the end)", s_[i_]));
      return err_;
    }
    return root;
  }

 private:
  bool trimmed_rest_is_star() const {
    size_t j = i_ + 1;
    while (j < s_.size() && is_space(s_[j])) ++j;
    return j == s_.size();
  }
  // Records the first error.
  void fail(std::string_view what) {
    if (err_.ok()) err_ = InvalidArgument(fmt::format("type: at {}: {}", i_ + 1, what));
  }
  void skip_ws() {
    while (i_ < s_.size() && is_space(s_[i_])) ++i_;
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }

  static NodePtr join(TypeNode::Kind kind, std::vector<NodePtr> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    auto n = std::make_shared<TypeNode>();
    n->kind = kind;
    for (auto& p : parts) {
      if (p->kind == kind) {
        n->children.insert(n->children.end(), p->children.begin(), p->children.end());
      } else {
        n->children.push_back(std::move(p));
      }
    }
    return n;
  }

  NodePtr parse_or() {
    std::vector<NodePtr> parts;
    parts.push_back(parse_and());
    while (err_.ok()) {
      skip_ws();
      if (!at(',') && !at('|')) break;
      ++i_;
      parts.push_back(parse_and());
    }
    return err_.ok() ? join(TypeNode::Kind::kOr, std::move(parts)) : nullptr;
  }

  NodePtr parse_and() {
    std::vector<NodePtr> parts;
    parts.push_back(parse_factor());
    while (err_.ok()) {
      skip_ws();
      if (!at(';')) break;
      ++i_;
      parts.push_back(parse_factor());
    }
    return err_.ok() ? join(TypeNode::Kind::kAnd, std::move(parts)) : nullptr;
  }

  NodePtr parse_factor() {
    skip_ws();
    if (at('(')) {
      const size_t open = i_;
      if (++depth_ > kMaxTypeDepth) {
        fail(fmt::format("parentheses nest deeper than {}", kMaxTypeDepth));
        return nullptr;
      }
      ++i_;
      NodePtr inner = parse_or();
      if (!err_.ok()) return nullptr;
      skip_ws();
      if (!at(')')) {
        if (i_ == s_.size()) {
          err_ = InvalidArgument(fmt::format("type: unbalanced '(' at {}", open + 1));
        } else {
          fail(fmt::format("unexpected '{}' (expected ',', '|', ';' or ')')", s_[i_]));
        }
        return nullptr;
      }
      ++i_;
      --depth_;
      return inner;
    }
    if (i_ == s_.size() || !is_type_start(s_[i_])) {
      if (i_ == s_.size() || at(',') || at('|') || at(';') || at(')')) {
        fail("expected an entity type name");
      } else {
        fail(fmt::format("expected an entity type name, found '{}'", s_[i_]));
      }
      return nullptr;
    }
    const size_t start = i_;
    while (i_ < s_.size() && is_type_char(s_[i_])) ++i_;
    auto n = std::make_shared<TypeNode>();
    n->kind = TypeNode::Kind::kName;
    n->name.assign(s_.substr(start, i_ - start));
    return n;
  }

  std::string_view s_;
  size_t i_ = 0;
  int depth_ = 0;
  Status err_;
};

bool eval(const TypeNode& n, const model::Entity& e) {
  switch (n.kind) {
    case TypeNode::Kind::kAny: return true;
    case TypeNode::Kind::kName: return e.has_type(n.name);
    case TypeNode::Kind::kAnd:
      return std::all_of(n.children.begin(), n.children.end(), [&](const NodePtr& c) { return eval(*c, e); });
    case TypeNode::Kind::kOr:
      return std::any_of(n.children.begin(), n.children.end(), [&](const NodePtr& c) { return eval(*c, e); });
  }
  return false;
}

bool all_names(const TypeNode& n) {
  return std::all_of(n.children.begin(), n.children.end(),
                     [](const NodePtr& c) { return c->kind == TypeNode::Kind::kName; });
}

void print(std::string& out, const TypeNode& n) {
  switch (n.kind) {
    case TypeNode::Kind::kAny: out.push_back('*'); return;
    case TypeNode::Kind::kName: out += n.name; return;
    case TypeNode::Kind::kAnd:
    case TypeNode::Kind::kOr: break;
  }
  const char sep = n.kind == TypeNode::Kind::kAnd ? ';' : (all_names(n) ? ',' : '|');
  for (size_t k = 0; k < n.children.size(); ++k) {
    if (k > 0) out.push_back(sep);
    const TypeNode& c = *n.children[k];
    const bool paren = n.kind == TypeNode::Kind::kAnd && c.kind == TypeNode::Kind::kOr;
    if (paren) out.push_back('(');
    print(out, c);
    if (paren) out.push_back(')');
  }
}

NodePtr renamed(const NodePtr& n, const std::function<std::string(std::string_view)>& map) {
  auto copy = std::make_shared<TypeNode>(*n);
  if (copy->kind == TypeNode::Kind::kName) copy->name = map(copy->name);
  for (auto& c : copy->children) c = renamed(c, map);
  return copy;
}

}  // namespace

TypeExpression::TypeExpression() = default;
TypeExpression::TypeExpression(std::shared_ptr<const qast::TypeNode> root) : root_(std::move(root)) {}

Result<TypeExpression> TypeExpression::parse(std::string_view text) {
  if (text.size() > kMaxTypeLength)
    return InvalidArgument(fmt::format("type: too long ({} bytes, at most {})", text.size(), kMaxTypeLength));
  Result<NodePtr> root = TypeParser(text).parse();
  if (!root.ok()) return root.status();
  return TypeExpression(std::move(root.value()));
}

bool TypeExpression::matches(const model::Entity& e) const { return root_ == nullptr || eval(*root_, e); }

void TypeExpression::rename_types(const std::function<std::string(std::string_view)>& map) {
  if (root_ != nullptr) root_ = renamed(root_, map);
}

std::optional<std::vector<std::string>> TypeExpression::any_of() const {
  if (root_ == nullptr) return std::nullopt;
  if (root_->kind == TypeNode::Kind::kName) return std::vector<std::string>{root_->name};
  if (root_->kind != TypeNode::Kind::kOr || !all_names(*root_)) return std::nullopt;
  std::vector<std::string> names;
  for (const NodePtr& c : root_->children) names.push_back(c->name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string TypeExpression::to_string() const {
  std::string out;
  if (root_ != nullptr) print(out, *root_);
  return out;
}

}  // namespace urbis::ngsild
