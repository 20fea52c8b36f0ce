#include "security/password.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <istream>
#include <ostream>

namespace urbis::security {
namespace {

constexpr std::string_view kPrefix = "$pbkdf2-sha256$";
constexpr size_t kSaltBytes = 16;
constexpr size_t kKeyBytes = 32;
constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool pbkdf2(std::string_view password, const std::vector<uint8_t>& salt, int iterations,
            uint8_t* out, size_t out_len) {
  // PKCS5_PBKDF2_HMAC takes a NUL-free pointer+length; an empty password
  // needs a valid pointer, hence the "" fallback.
  const char* pw = password.empty() ? "" : password.data();
  return PKCS5_PBKDF2_HMAC(pw, static_cast<int>(password.size()), salt.data(),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(out_len), out) == 1;
}

}  // namespace

std::string base64_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = size - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::vector<uint8_t>> base64_decode(std::string_view text) {
  // Padding is optional, but if present it must make the length a multiple of 4.
  if (text.size() % 4 == 0 && !text.empty()) {
    if (text.back() == '=') text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return InvalidArgument("base64 has an impossible length");
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) return InvalidArgument("base64 contains an invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

Result<PasswordHash> parse_password_hash(std::string_view encoded) {
  if (encoded.substr(0, kPrefix.size()) != kPrefix) {
    return InvalidArgument("password hash must start with \"$pbkdf2-sha256$\" (make one with `urbis passwd`)");
  }
  std::string_view rest = encoded.substr(kPrefix.size());
  std::array<std::string_view, 3> parts;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t dollar = rest.find('$');
    if (i + 1 < parts.size()) {
      if (dollar == std::string_view::npos) {
        return InvalidArgument("password hash must be $pbkdf2-sha256$<iterations>$<salt>$<hash>");
      }
      parts[i] = rest.substr(0, dollar);
      rest = rest.substr(dollar + 1);
    } else {
      if (dollar != std::string_view::npos) {
        return InvalidArgument("password hash has too many '$'-separated fields");
      }
      parts[i] = rest;
    }
  }
  PasswordHash h;
  auto [ptr, ec] = std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), h.iterations);
  if (ec != std::errc() || ptr != parts[0].data() + parts[0].size() || parts[0].empty()) {
    return InvalidArgument("password hash iteration count is not a number");
  }
  if (h.iterations < kMinIterations || h.iterations > kMaxIterations) {
    return InvalidArgument("password hash iteration count must be between " +
                           std::to_string(kMinIterations) + " and " + std::to_string(kMaxIterations));
  }
  auto salt = base64_decode(parts[1]);
  if (!salt.ok()) return InvalidArgument("password hash salt: " + salt.status().message());
  auto key = base64_decode(parts[2]);
  if (!key.ok()) return InvalidArgument("password hash value: " + key.status().message());
  h.salt = std::move(salt).value();
  h.key = std::move(key).value();
  if (h.salt.size() < 8 || h.salt.size() > 64) {
    return InvalidArgument("password hash salt must be 8 to 64 bytes");
  }
  if (h.key.size() < 16 || h.key.size() > 64) {
    return InvalidArgument("password hash value must be 16 to 64 bytes");
  }
  return h;
}

std::string hash_password(std::string_view password, int iterations) {
  assert(iterations >= kMinIterations && iterations <= kMaxIterations);
  std::vector<uint8_t> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    std::fprintf(stderr, "urbis: the system random generator failed; cannot make a salt\n");
    std::abort();
  }
  std::array<uint8_t, kKeyBytes> key{};
  if (!pbkdf2(password, salt, iterations, key.data(), key.size())) {
    std::fprintf(stderr, "urbis: PBKDF2 failed\n");
    std::abort();
  }
  std::string out(kPrefix);
  out += std::to_string(iterations);
  out += '$';
  out += base64_encode(salt.data(), salt.size());
  out += '$';
  out += base64_encode(key.data(), key.size());
  OPENSSL_cleanse(key.data(), key.size());
  return out;
}

bool verify_password(std::string_view password, std::string_view encoded) {
  auto h = parse_password_hash(encoded);
  if (!h.ok()) return false;
  std::vector<uint8_t> derived(h->key.size());
  if (!pbkdf2(password, h->salt, h->iterations, derived.data(), derived.size())) return false;
  bool same = CRYPTO_memcmp(derived.data(), h->key.data(), derived.size()) == 0;
  OPENSSL_cleanse(derived.data(), derived.size());
  return same;
}

void burn_password_work(std::string_view password, int iterations) {
  static constexpr uint8_t kFixedSalt[kSaltBytes] = {'u', 'r', 'b', 'i', 's', '-', 'n', 'o',
                                                     '-', 's', 'u', 'c', 'h', 'u', 's', 'r'};
  std::vector<uint8_t> salt(std::begin(kFixedSalt), std::end(kFixedSalt));
  std::array<uint8_t, kKeyBytes> sink{};
  (void)pbkdf2(password, salt, iterations, sink.data(), sink.size());
  OPENSSL_cleanse(sink.data(), sink.size());
}

int run_passwd_command(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string line;
  if (!std::getline(in, line)) {
    err << "urbis passwd: no password on standard input\n";
    return 1;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    err << "urbis passwd: the password is empty\n";
    return 1;
  }
  out << hash_password(line) << '\n';
  OPENSSL_cleanse(line.data(), line.size());
  return out.good() ? 0 : 1;
}

int run_passwd_command(std::istream& in, std::ostream& out) {
  return run_passwd_command(in, out, std::cerr);
}

}  // namespace urbis::security
