#include "security/password.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace urbis::security {
namespace {

// Made with Python's hashlib.pbkdf2_hmac (an independent implementation):
// password "correct horse", salt bytes 0..15, 1000 iterations.
constexpr const char* kPythonHash =
    "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw==$yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ=";

TEST(Password, VerifiesHashMadeByAnotherImplementation) {
  EXPECT_TRUE(verify_password("correct horse", kPythonHash));
  EXPECT_FALSE(verify_password("correct horsf", kPythonHash));
  EXPECT_FALSE(verify_password("", kPythonHash));
}

TEST(Password, HashThenVerify) {
  std::string h = hash_password("s3cret-pass", kMinIterations);
  EXPECT_TRUE(verify_password("s3cret-pass", h));
  EXPECT_FALSE(verify_password("s3cret-pasS", h));
  EXPECT_FALSE(verify_password("s3cret-pass ", h));
  EXPECT_FALSE(verify_password("", h));
}

TEST(Password, DefaultFormatHasIterationsSaltAndKey) {
  std::string h = hash_password("pw");
  EXPECT_EQ(h.rfind("$pbkdf2-sha256$100000$", 0), 0u) << h;
  auto parsed = parse_password_hash(h);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->iterations, 100000);
  EXPECT_EQ(parsed->salt.size(), 16u);
  EXPECT_EQ(parsed->key.size(), 32u);
  EXPECT_TRUE(verify_password("pw", h));
}

TEST(Password, SamePasswordGetsDifferentSalts) {
  std::string a = hash_password("same", kMinIterations);
  std::string b = hash_password("same", kMinIterations);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("same", a));
  EXPECT_TRUE(verify_password("same", b));
}

TEST(Password, EmptyAndBinaryPasswords) {
  std::string empty = hash_password("", kMinIterations);
  EXPECT_TRUE(verify_password("", empty));
  EXPECT_FALSE(verify_password("x", empty));
  std::string bin("a\0b", 3);
  std::string h = hash_password(bin, kMinIterations);
  EXPECT_TRUE(verify_password(bin, h));
  EXPECT_FALSE(verify_password("a", h));  // stops at NUL would be a bug
}

TEST(Password, MalformedEncodingsAreRefusedWithoutCrashing) {
  const char* salt = "AAECAwQFBgcICQoLDA0ODw==";
  const char* key = "yRTMTwbMbo9G0VfjobWqerzuuxe7BETNTErBbKKumGQ=";
  auto make = [&](std::string it, std::string s, std::string k) {
    return "$pbkdf2-sha256$" + it + "$" + s + "$" + k;
  };
  const std::string cases[] = {
      "",
      "$",
      "$pbkdf2-sha256$",
      "$pbkdf2-sha256$1000",
      "$pbkdf2-sha256$1000$" + std::string(salt),
      "$pbkdf2-sha1$1000$" + std::string(salt) + "$" + key,
      "pbkdf2-sha256$1000$" + std::string(salt) + "$" + key,
      make("", salt, key),
      make("abc", salt, key),
      make("-1000", salt, key),
      make("999", salt, key),                    // too few iterations
      make("10000001", salt, key),               // too many: a CONNECT would take seconds
      make("99999999999999999999", salt, key),   // overflows int
      make("1000x", salt, key),
      make("1000", "!!!!", key),                 // not base64
      make("1000", "AAEC", key),                 // salt of 3 bytes
      make("1000", "", key),
      make("1000", salt, ""),
      make("1000", salt, "AAECAwQFBgc="),        // key of 8 bytes
      make("1000", salt, std::string(key) + "$extra"),
      make("1000", "A", key),                    // impossible base64 length
      make("1000", salt, std::string(key).substr(0, 43) + "=="),  // bad padding length
  };
  for (const std::string& c : cases) {
    EXPECT_FALSE(parse_password_hash(c).ok()) << c;
    EXPECT_FALSE(verify_password("correct horse", c)) << c;
  }
}

TEST(Password, ParseMessagesDoNotLeakTheHash) {
  auto r = parse_password_hash("$pbkdf2-sha256$999$AAECAwQFBgcICQoLDA0ODw==$secretsecretsecret");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("iteration"), std::string::npos) << r.status().message();
}

TEST(Base64, RoundTripsEveryLength) {
  struct Case {
    std::string raw;
    std::string encoded;
  };
  const Case cases[] = {
      {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},           {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
      {std::string("\xff\xfe\x00", 3), "//4A"},
  };
  for (const Case& c : cases) {
    auto* p = reinterpret_cast<const uint8_t*>(c.raw.data());
    EXPECT_EQ(base64_encode(p, c.raw.size()), c.encoded);
    auto d = base64_decode(c.encoded);
    ASSERT_TRUE(d.ok()) << c.encoded;
    EXPECT_EQ(std::string(d->begin(), d->end()), c.raw);
    // Without padding too.
    std::string bare = c.encoded.substr(0, c.encoded.find('='));
    auto d2 = base64_decode(bare);
    ASSERT_TRUE(d2.ok()) << bare;
    EXPECT_EQ(std::string(d2->begin(), d2->end()), c.raw);
  }
  for (const char* bad : {"Z", "Zg=", "Zm9v!", "Zg==Zg==", "====", "Zm 9v"}) {
    EXPECT_FALSE(base64_decode(bad).ok()) << bad;
  }
}

TEST(PasswdCommand, PrintsAHashThatVerifies) {
  std::istringstream in("hunter2 is long enough\nignored second line\n");
  std::ostringstream out, err;
  EXPECT_EQ(run_passwd_command(in, out, err), 0);
  std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_TRUE(verify_password("hunter2 is long enough", line));
  EXPECT_TRUE(err.str().empty());
}

TEST(PasswdCommand, StripsWindowsLineEnding) {
  std::istringstream in("pw\r\n");
  std::ostringstream out, err;
  ASSERT_EQ(run_passwd_command(in, out, err), 0);
  std::string line = out.str();
  line.pop_back();
  EXPECT_TRUE(verify_password("pw", line));
}

TEST(PasswdCommand, RefusesEmptyOrMissingPassword) {
  for (const char* input : {"", "\n", "\r\n"}) {
    std::istringstream in(input);
    std::ostringstream out, err;
    EXPECT_EQ(run_passwd_command(in, out, err), 1) << '"' << input << '"';
    EXPECT_TRUE(out.str().empty());
    EXPECT_FALSE(err.str().empty());
  }
}

}  // namespace
}  // namespace urbis::security
