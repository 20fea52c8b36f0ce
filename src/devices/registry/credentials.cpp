#include "devices/registry/credentials.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace urbis::devices {

namespace {

Result<std::string> random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Internal("the random number generator failed");
  return out;
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (bytes.size() - i == 1) {
    uint32_t v = b(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

// SHA-256(salt || token); empty on failure (then nothing verifies).
std::string digest(std::string_view salt, std::string_view token) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return {};
  bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
            EVP_DigestUpdate(ctx, token.data(), token.size()) == 1 && EVP_DigestFinal_ex(ctx, md, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

Result<TokenHash> hash_token(std::string_view token) {
  auto salt = random_bytes(kSaltBytes);
  if (!salt.ok()) return salt.status();
  std::string h = digest(*salt, token);
  if (h.size() != kHashBytes) return Internal("SHA-256 failed");
  return TokenHash{std::move(*salt), std::move(h)};
}

Result<NewToken> generate_token() {
  auto raw = random_bytes(kTokenRandomBytes);
  if (!raw.ok()) return raw.status();
  std::string token = "udt_" + base64url(*raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  auto stored = hash_token(token);
  if (!stored.ok()) return stored.status();
  return NewToken{std::move(token), std::move(*stored)};
}

bool verify_token(std::string_view token, const TokenHash& stored) {
  if (stored.hash.size() != kHashBytes) return false;
  std::string h = digest(stored.salt, token);
  if (h.size() != kHashBytes) return false;
  return CRYPTO_memcmp(h.data(), stored.hash.data(), kHashBytes) == 0;
}

}  // namespace urbis::devices
