#include "ngsild/notify/target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace urbis::ngsild::notify {

Result<Target> parse_target(const std::string& uri) {
  auto parsed = boost::urls::parse_uri(uri);
  if (!parsed) return InvalidArgument("endpoint uri: '" + uri + "' is not a valid URI");
  const boost::urls::url_view& u = *parsed;
  Target t;
  std::string scheme(u.scheme());
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint16_t default_port = 0;
  if (scheme == "http") {
    t.kind = Target::Kind::kHttp, default_port = 80;
  } else if (scheme == "https") {
    t.kind = Target::Kind::kHttps, default_port = 443;
  } else if (scheme == "mqtt") {
    t.kind = Target::Kind::kMqtt, default_port = 1883;
  } else if (scheme == "mqtts") {
    t.kind = Target::Kind::kMqtts, default_port = 8883;
  } else {
    return InvalidArgument("endpoint uri: scheme '" + scheme + "' is not supported (http, https, mqtt, mqtts)");
  }
  t.host = u.host_address();
  if (t.host.empty()) return InvalidArgument("endpoint uri: '" + uri + "' has no host");
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) return InvalidArgument("endpoint uri: bad port in '" + uri + "'");
    t.port = u.port_number();
  } else {
    t.port = default_port;
  }
  if (u.has_userinfo()) {
    t.has_user = true;
    t.user = u.user();
    t.password = u.password();
  }
  if (t.kind == Target::Kind::kHttp || t.kind == Target::Kind::kHttps) {
    t.target = std::string(u.encoded_path());
    // push_back/append rather than operator= and operator+: GCC 12 emits a
    // false -Wstringop-overflow for those here.
    if (t.target.empty()) t.target.push_back('/');
    if (u.has_query()) {
      t.target.push_back('?');
      t.target.append(u.encoded_query());
    }
  } else {
    std::string path = u.path();
    if (!path.empty() && path.front() == '/') path.erase(0, 1);
    if (path.empty()) return InvalidArgument("endpoint uri: '" + uri + "' names no MQTT topic (the path)");
    t.target = std::move(path);
  }
  return t;
}

}  // namespace urbis::ngsild::notify
