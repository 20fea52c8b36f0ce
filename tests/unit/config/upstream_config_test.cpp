// [[devices.upstream]]: upstream brokers Urbis subscribes to (ingest/upstream_bridge.hpp).
#include <gtest/gtest.h>

#include "config/config.hpp"

namespace urbis {
namespace {

std::string errors_of(std::string_view text) {
  auto r = parse_config(text, "t.toml");
  if (r.ok()) return "(parsed without error)";
  return r.status().message();
}

TEST(ConfigUpstream, EntriesGetTheirFieldsAndDefaults) {
  auto r = parse_config(R"(
[[devices.upstream]]
url = "mqtt://chirpstack.local:1884"
username = "urbis"
password = "s3cret"
client_id = "urbis-edge-7"
topics = ["application/+/device/+/event/up", "application/9/device/+/event/status"]
qos = 2

[[devices.upstream]]
url = "mqtt://10.0.0.5"
)",
                        "t.toml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->devices.upstream.size(), 2u);
  const UpstreamEntry& a = r->devices.upstream[0];
  EXPECT_EQ(a.url, "mqtt://chirpstack.local:1884");
  EXPECT_EQ(a.username, "urbis");
  EXPECT_EQ(a.password, "s3cret");
  EXPECT_EQ(a.client_id, "urbis-edge-7");
  EXPECT_EQ(a.topics,
            (std::vector<std::string>{"application/+/device/+/event/up", "application/9/device/+/event/status"}));
  EXPECT_EQ(a.qos, 2);
  const UpstreamEntry& b = r->devices.upstream[1];
  EXPECT_EQ(b.url, "mqtt://10.0.0.5");
  EXPECT_TRUE(b.username.empty());
  EXPECT_TRUE(b.client_id.empty());
  EXPECT_EQ(b.topics, std::vector<std::string>{"application/+/device/+/event/up"});
  EXPECT_EQ(b.qos, 1);
  // The rendered configuration reads back the same.
  auto again = parse_config(render_config(*r), "rendered");
  ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << render_config(*r);
  EXPECT_EQ(render_config(*again), render_config(*r));
}

TEST(ConfigUpstream, EachErrorNamesLineAndKey) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"[[devices.upstream]]\nurl = \"tcp://cs:1883\"\n",
       "t.toml:2: devices.upstream.url: expected mqtt://host[:port] or mqtts://host[:port], got \"tcp://cs:1883\""},
      {"[[devices.upstream]]\nurl = \"cs:1883\"\n",
       "t.toml:2: devices.upstream.url: expected mqtt://host[:port] or mqtts://host[:port], got \"cs:1883\""},
      {"[[devices.upstream]]\nurl = \"mqtt://cs:0\"\n",
       "t.toml:2: devices.upstream.url: the port must be a number from 1 to 65535, got \"mqtt://cs:0\""},
      {"\n[[devices.upstream]]\nusername = \"u\"\n",
       "t.toml:2: devices.upstream.url: every [[devices.upstream]] entry needs a url (mqtt://host:port)"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\nqos = 3\n",
       "t.toml:3: devices.upstream.qos: must be between 0 and 2, got 3"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\nqos = \"1\"\n",
       "t.toml:3: devices.upstream.qos: expected an integer, got a string"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\ntopics = \"application/#\"\n",
       "t.toml:3: devices.upstream.topics: expected an array of strings, got a string"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\ntopics = [1]\n",
       "t.toml:3: devices.upstream.topics: expected an array of strings, got an array"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\ntopics = []\n",
       "t.toml:3: devices.upstream.topics: must name at least one topic filter"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\ntopics = [\"a/#/b\"]\n",
       "t.toml:3: devices.upstream.topics: \"a/#/b\" is not a valid topic filter ('#' only as the whole last "
       "level, '+' only as a whole level)"},
      {"[[devices.upstream]]\nurl = \"mqtt://cs\"\nhost = \"cs\"\n",
       "t.toml:3: devices.upstream.host: unknown key (did you mean devices.upstream.qos?)"},
      {"[devices.upstream]\nurl = \"mqtt://cs\"\n",
       "t.toml:1: devices.upstream: expected [[devices.upstream]] entries, got a table"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(errors_of(c.text), c.expected) << "input:\n" << c.text;
  }
}

TEST(ConfigUpstream, MqttUrlForms) {
  struct Case {
    const char* url;
    const char* host;  // nullptr: refused
    uint16_t port;
    bool tls = false;
  };
  const Case cases[] = {
      {"mqtt://127.0.0.1:1883", "127.0.0.1", 1883},
      {"mqtt://chirpstack", "chirpstack", 1883},
      {"mqtt://chirpstack.example.org:11883/", "chirpstack.example.org", 11883},
      {"mqtt://[::1]:1884", "::1", 1884},
      {"mqtt://[fe80::1]", "fe80::1", 1883},
      {"mqtt://", nullptr, 0},
      {"mqtt://:1883", nullptr, 0},
      {"mqtt://host:", nullptr, 0},
      {"mqtt://host:65536", nullptr, 0},
      {"mqtt://host:12a", nullptr, 0},
      {"mqtt://user:pw@host", nullptr, 0},
      {"mqtt://host/path", nullptr, 0},
      {"mqtt://[::1", nullptr, 0},
      {"tcp://host", nullptr, 0},
      {"mqtts://host", "host", 8883, true},
      {"ssl://127.0.0.1:18883", "127.0.0.1", 18883, true},
      {"mqtts://[::1]", "::1", 8883, true},
      {"mqtts://user:pw@host", nullptr, 0},
      {"mqtts://", nullptr, 0},
      {"ssl:/host", nullptr, 0},
  };
  for (const Case& c : cases) {
    auto r = parse_mqtt_url(c.url);
    if (!c.host) {
      EXPECT_FALSE(r.ok()) << c.url;
      continue;
    }
    ASSERT_TRUE(r.ok()) << c.url << ": " << r.status().message();
    EXPECT_EQ(r->host, c.host) << c.url;
    EXPECT_EQ(r->port, c.port) << c.url;
    EXPECT_EQ(r->tls, c.tls) << c.url;
  }
}

}  // namespace
}  // namespace urbis
