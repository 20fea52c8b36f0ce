// Per-device tokens: generated from a CSPRNG, shown once, stored as a salted
// SHA-256, compared in constant time.
//
// Why SHA-256 and not a password KDF: a token is 256 random bits, so there is
// nothing to guess that a slow hash would protect, while a whole district's
// devices reconnecting after a network cut must each be verified in
// microseconds (PBKDF2 would take tens of milliseconds each). The salt keeps
// equal tokens (there are none in practice) and precomputed tables out.
//
// Token text: "udt_" + 43 characters of base64url (32 random bytes). The
// prefix lets secret scanners and people recognise an Urbis device token.
//
// Thread-safety: pure functions (RAND_bytes is thread-safe in OpenSSL 3).
#pragma once

#include <string>
#include <string_view>

#include "common/status.hpp"

namespace urbis::devices {

inline constexpr size_t kTokenRandomBytes = 32;
inline constexpr size_t kSaltBytes = 16;
inline constexpr size_t kHashBytes = 32;

// What is stored for a token: never the token itself.
struct TokenHash {
  std::string salt;  // kSaltBytes raw bytes
  std::string hash;  // SHA-256(salt || token), kHashBytes raw bytes
  bool empty() const { return hash.empty(); }
};

// A fresh token and its stored form. Fails (kInternal) only when the CSPRNG does.
struct NewToken {
  std::string token;
  TokenHash stored;
};
Result<NewToken> generate_token();

// The stored form of `token` with a fresh random salt.
Result<TokenHash> hash_token(std::string_view token);

// True when `token` matches `stored`. Constant time in the token's content
// (CRYPTO_memcmp); an empty `stored` (revoked) never matches.
bool verify_token(std::string_view token, const TokenHash& stored);

}  // namespace urbis::devices
