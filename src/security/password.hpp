// Password hashing for configured MQTT users.
//
// Stored format (one line, safe to paste into urbis.toml):
//
//   $pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>
//
// PBKDF2-HMAC-SHA-256 (RFC 8018) from OpenSSL. Base64 is the standard RFC 4648
// alphabet; we write it with '=' padding and accept it with or without. A
// fresh hash uses a 16-byte random salt and a 32-byte key. The iteration count
// is stored in the string, so it can be raised for new hashes without breaking
// old ones.
//
// Why PBKDF2 and not scrypt/argon2: it is in OpenSSL 3 (already a dependency),
// and the accepted range of iterations is bounded (see kMinIterations,
// kMaxIterations) so that a configuration cannot make one CONNECT cost seconds.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::security {

inline constexpr int kDefaultIterations = 100000;
inline constexpr int kMinIterations = 1000;
inline constexpr int kMaxIterations = 10000000;

// A decoded "$pbkdf2-sha256$..." string.
struct PasswordHash {
  int iterations = 0;
  std::vector<uint8_t> salt;  // 8..64 bytes
  std::vector<uint8_t> key;   // 16..64 bytes (the derived key that is compared)
};

// Decodes and checks an encoded hash; the message says what is wrong (it never
// contains the hash itself). Used by the configuration loader to refuse a
// malformed password_hash at start-up instead of at the first CONNECT.
Result<PasswordHash> parse_password_hash(std::string_view encoded);

// Hashes `password` with a fresh random salt.
// REQUIRES: kMinIterations <= iterations <= kMaxIterations.
// Aborts the process if the system random generator fails (nothing sensible
// can be stored without a salt).
std::string hash_password(std::string_view password, int iterations = kDefaultIterations);

// True when `password` matches `encoded`. A malformed `encoded` is simply false.
// The final comparison is constant-time. Cost: `iterations` HMAC rounds; call
// it off the hot path or behind a cache (ConfigAuthorizer does).
bool verify_password(std::string_view password, std::string_view encoded);

// Runs PBKDF2 with the given parameters and throws the result away. Used to
// spend the same time on an unknown user name as on a known one, so that
// response times do not reveal which user names exist.
void burn_password_work(std::string_view password, int iterations);

// Base64 helpers (RFC 4648, standard alphabet). decode accepts input with or
// without padding; it fails on any other character or an impossible length.
std::string base64_encode(const uint8_t* data, size_t size);
Result<std::vector<uint8_t>> base64_decode(std::string_view text);

// `urbis passwd`: reads one password (the first line of `in`, without its line
// ending) and prints its hash line to `out`. Returns the process exit code: 0
// on success, 1 when the password is empty or the input ended (the reason goes
// to `err`).
int run_passwd_command(std::istream& in, std::ostream& out, std::ostream& err);
// Same, with errors going to std::cerr.
int run_passwd_command(std::istream& in, std::ostream& out);

}  // namespace urbis::security
