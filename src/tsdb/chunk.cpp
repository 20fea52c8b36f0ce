// Chunk codec, format version 1. The byte and bit layout is specified in
// docs/formats/tsdb-chunk.md; a change here that alters the bytes needs a new
// version number and must keep decoding version 1 (golden test in
// tests/unit/tsdb/chunk_test.cpp).
//
// Design notes.
// - All timestamp and integer arithmetic is done on uint64_t (two's complement,
//   wrapping), so any sequence of int64 values, INT64_MIN to INT64_MAX, round
//   trips without signed overflow; the decoder mirrors the same wrapping steps.
// - The encoder keeps every candidate value encoding up to date as points
//   arrive (XOR always, decimal while possible), so size_bytes() is O(1) and
//   finish() only concatenates. Only when the number of decimals of the chunk
//   grows (18.3 then 18.37) are the decimal streams rebuilt, at most 6 times.
// - Decimal detection is exact, never approximate: v is stored as m with
//   decimals d only if double(m) / 10^d == v bit for bit, which is the very
//   expression the decoder evaluates (both operands exact, IEEE division
//   correctly rounded, so the result is the same on every conforming machine).
// - The decoder trusts nothing: every bit read is bounds-checked, the point
//   count is checked against the bytes present before anything is allocated,
//   and padding and trailing bytes must be exactly as the encoder writes them.
#include "tsdb/chunk.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace urbis::tsdb {

namespace {

constexpr uint8_t kCodecXor = 0;
constexpr uint8_t kCodecDecimalDelta = 1;
constexpr uint8_t kCodecDecimalDod = 2;
constexpr int kMaxDecimals = 6;
constexpr double kPow10[kMaxDecimals + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr int64_t kPow10Int[kMaxDecimals + 1] = {1, 10, 100, 1000, 10000, 100000, 1000000};
// Largest scaled integer magnitude: every integer up to 2^53 is an exact double.
constexpr int64_t kMaxScaled = int64_t{1} << 53;

// Rice code for the decimal residuals: a parameter k adapted from the mean
// of recent zigzag residuals (halved every kRiceWindow values so it follows
// changes in noise level), q = u >> k in unary, then the k low bits. A
// quotient of kRiceEscape or more is written as kRiceEscape ones, 6 bits of
// (bit width - 1) and the value itself, so outliers cost at most 90 bits.
constexpr int kRiceEscape = 20;
constexpr uint32_t kRiceWindow = 32;
constexpr uint64_t kRiceCap = uint64_t{1} << 48;  // keeps sum and k small

uint64_t zigzag(uint64_t x) { return (x << 1) ^ (0 - (x >> 63)); }
uint64_t unzigzag(uint64_t u) { return (u >> 1) ^ (0 - (u & 1)); }

uint64_t bits_of(double v) { return std::bit_cast<uint64_t>(v); }

int rice_k(uint64_t sum, uint32_t n) {
  if (n == 0) return 0;
  // Smallest k with n * 2^k >= sum, i.e. 2^k at least the mean residual.
  uint64_t mean = (sum + n - 1) / n;
  return mean <= 1 ? 0 : static_cast<int>(std::bit_width(mean - 1));
}

void rice_update(uint64_t& sum, uint32_t& n, uint64_t u) {
  sum += std::min(u, kRiceCap);
  if (++n == kRiceWindow) {
    sum >>= 1;
    n >>= 1;
  }
}

size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Timestamp delta-of-delta codes: prefix, payload bits (two's complement).
// Sized for millisecond clocks: a 15 s sensor with tens of ms of jitter
// lands in the 10-bit code, ±200 ms jitter mostly in the 10- and 13-bit
// codes, and one missed sample (dod = ±15000) in the 20-bit code.
struct DodCode {
  uint64_t prefix;
  int prefix_bits;
  int payload_bits;
};
constexpr DodCode kDodCodes[] = {
    {0b10, 2, 8},      // [-128, 127]
    {0b110, 3, 10},    // [-512, 511]
    {0b1110, 4, 16},   // [-32768, 32767]
    {0b11110, 5, 24},  // [-2^23, 2^23 - 1], about ±2.3 h
    {0b11111, 5, 64},  // anything
};

bool fits_signed(int64_t v, int bits) {
  if (bits >= 64) return true;
  const int64_t lim = int64_t{1} << (bits - 1);
  return v >= -lim && v < lim;
}

int64_t sign_extend(uint64_t v, int bits) {
  if (bits >= 64) return static_cast<int64_t>(v);
  const int shift = 64 - bits;
  return static_cast<int64_t>(v << shift) >> shift;
}

Status corrupt(const std::string& what) { return {Code::kCorruption, "tsdb chunk: " + what}; }

// Reads bytes of the header; every read is bounds-checked.
class ByteReader {
 public:
  explicit ByteReader(std::string_view s) : s_(s) {}
  bool byte(uint8_t& b) {
    if (pos_ >= s_.size()) return false;
    b = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t b;
      if (!byte(b)) return false;
      // The tenth byte may carry only the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return false;
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool u64le(uint64_t& v) {
    if (s_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s_[pos_ + i]);
    pos_ += 8;
    return true;
  }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return s_.substr(pos_); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// MSB-first bit reader over untrusted bytes. A read past the end sets a
// sticky failure flag and returns 0; callers check failed() once per point.
class BitReader {
 public:
  explicit BitReader(std::string_view s)
      : p_(reinterpret_cast<const uint8_t*>(s.data())), nbytes_(s.size()), nbits_(uint64_t{s.size()} * 8) {}

  bool failed() const { return failed_; }
  uint64_t pos() const { return pos_; }
  uint64_t size() const { return nbits_; }

  // The next n (1..57) bits without consuming them; zeros past the end.
  uint64_t peek(int n) const {
    const size_t byte = pos_ >> 3;
    const int off = static_cast<int>(pos_ & 7);
    uint64_t w = 0;
    if (byte + 8 <= nbytes_) {
      std::memcpy(&w, p_ + byte, 8);
      if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
    } else {
      for (size_t i = 0; i < 8; ++i) w = (w << 8) | (byte + i < nbytes_ ? p_[byte + i] : 0);
    }
    return (w << off) >> (64 - n);
  }

  void skip(int n) {
    if (nbits_ - pos_ < static_cast<uint64_t>(n)) {
      failed_ = true;
      pos_ = nbits_;
      return;
    }
    pos_ += static_cast<uint64_t>(n);
  }

  // REQUIRES: 0 <= n <= 64.
  uint64_t read(int n) {
    if (n == 0) return 0;
    if (n > 56) {
      const uint64_t hi = read(n - 32);
      return (hi << 32) | read(32);
    }
    if (nbits_ - pos_ < static_cast<uint64_t>(n)) {
      failed_ = true;
      pos_ = nbits_;
      return 0;
    }
    const uint64_t v = peek(n);
    pos_ += static_cast<uint64_t>(n);
    return v;
  }

  // Consumes the zero padding up to the next byte boundary.
  bool align_zero() {
    const int pad = static_cast<int>((8 - (pos_ & 7)) & 7);
    return read(pad) == 0 && !failed_;
  }

 private:
  const uint8_t* p_;
  size_t nbytes_;
  uint64_t nbits_;
  uint64_t pos_ = 0;
  bool failed_ = false;
};

uint64_t read_rice(BitReader& r, uint64_t& sum, uint32_t& n) {
  const int k = rice_k(sum, n);
  // Count leading ones, at most kRiceEscape, from a peek of 21 bits.
  const uint64_t head = r.peek(kRiceEscape + 1) << (64 - (kRiceEscape + 1));
  const int q = std::min(std::countl_one(head), kRiceEscape);
  uint64_t u;
  if (q < kRiceEscape) {
    r.skip(q + 1);
    u = (static_cast<uint64_t>(q) << k) | r.read(k);
  } else {
    r.skip(kRiceEscape);
    const int width = static_cast<int>(r.read(6)) + 1;
    u = r.read(width);
  }
  rice_update(sum, n, u);
  return u;
}

}  // namespace

// ---------------------------------------------------------------- encoder

void ChunkEncoder::Bits::put(uint64_t v, int n) {
  if (n == 0) return;
  if (n > 56) {
    put(v >> 32, n - 32);
    put(v & 0xFFFFFFFFu, 32);
    return;
  }
  v &= (uint64_t{1} << n) - 1;
  acc = (acc << n) | v;
  fill += n;
  while (fill >= 8) {
    fill -= 8;
    bytes.push_back(static_cast<char>(acc >> fill));
  }
}

void ChunkEncoder::Bits::append_padded(std::string& out) const {
  out.append(bytes);
  if (fill) out.push_back(static_cast<char>(acc << (8 - fill)));
}

void ChunkEncoder::Bits::clear() {
  bytes.clear();
  acc = 0;
  fill = 0;
}

void ChunkEncoder::IntStream::start(int order_, uint64_t first) {
  order = order_;
  bits.clear();
  prev = first;
  prev_delta = 0;
  rice_sum = 0;
  rice_n = 0;
}

void ChunkEncoder::IntStream::add(uint64_t m) {
  const uint64_t delta = m - prev;
  const uint64_t residual = order == 1 ? delta : delta - prev_delta;
  prev = m;
  prev_delta = delta;
  const uint64_t u = zigzag(residual);
  const int k = rice_k(rice_sum, rice_n);
  const uint64_t q = u >> k;
  if (q < static_cast<uint64_t>(kRiceEscape)) {
    // q ones, then a zero.
    bits.put(((uint64_t{1} << q) - 1) << 1, static_cast<int>(q) + 1);
    bits.put(u, k);
  } else {
    const int width = std::bit_width(u);
    bits.put((uint64_t{1} << kRiceEscape) - 1, kRiceEscape);
    bits.put(static_cast<uint64_t>(width - 1), 6);
    bits.put(u, width);
  }
  rice_update(rice_sum, rice_n, u);
}

ChunkEncoder::ChunkEncoder() { reset(); }

void ChunkEncoder::reset() {
  count_ = 0;
  first_t_ = 0;
  prev_t_ = prev_delta_ = first_delta_ = 0;
  ts_.clear();
  first_v_ = prev_v_ = 0;
  prev_lead_ = -1;
  prev_trail_ = 0;
  xor_.clear();
  decimal_ok_ = true;
  decimals_ = 0;
  scaled_.clear();
  dec_delta_.start(1, 0);
  dec_dod_.start(2, 0);
}

void ChunkEncoder::append(int64_t t_ms, double v) {
  // Timestamps.
  const uint64_t t = static_cast<uint64_t>(t_ms);
  if (count_ == 0) {
    first_t_ = t_ms;
  } else if (count_ == 1) {
    first_delta_ = prev_delta_ = t - prev_t_;
  } else {
    const uint64_t delta = t - prev_t_;
    const int64_t dod = static_cast<int64_t>(delta - prev_delta_);
    prev_delta_ = delta;
    if (dod == 0) {
      ts_.put(0, 1);
    } else {
      for (const DodCode& c : kDodCodes) {
        if (fits_signed(dod, c.payload_bits)) {
          ts_.put(c.prefix, c.prefix_bits);
          ts_.put(static_cast<uint64_t>(dod), c.payload_bits);
          break;
        }
      }
    }
  }
  prev_t_ = t;

  // XOR values (Gorilla), on bit patterns so NaN payloads and -0.0 survive.
  const uint64_t vb = bits_of(v);
  if (count_ == 0) {
    first_v_ = vb;
  } else {
    const uint64_t x = vb ^ prev_v_;
    if (x == 0) {
      xor_.put(0, 1);
    } else {
      // 5 bits hold at most 31 leading zeros; a longer run is stored as 31
      // and the extra zeros become meaningful bits.
      const int lead = std::min(std::countl_zero(x), 31);
      const int trail = std::countr_zero(x);
      const int meaningful = 64 - lead - trail;
      const bool window_fits = prev_lead_ >= 0 && lead >= prev_lead_ && trail >= prev_trail_;
      const int window_len = 64 - prev_lead_ - prev_trail_;
      // Reuse the previous window unless a new one is cheaper even with its
      // 11-bit description (the window may have become much too wide).
      if (window_fits && window_len <= meaningful + 11) {
        xor_.put(0b10, 2);
        xor_.put(x >> prev_trail_, window_len);
      } else {
        xor_.put(0b11, 2);
        xor_.put(static_cast<uint64_t>(lead), 5);
        xor_.put(static_cast<uint64_t>(meaningful & 63), 6);  // 64 is written as 0
        xor_.put(x >> trail, meaningful);
        prev_lead_ = lead;
        prev_trail_ = trail;
      }
    }
  }
  prev_v_ = vb;

  if (decimal_ok_ && !add_decimal(v)) {
    decimal_ok_ = false;
    scaled_ = {};
    dec_delta_.start(1, 0);
    dec_dod_.start(2, 0);
  }
  ++count_;
}

bool ChunkEncoder::add_decimal(double v) {
  // m with double(m) / 10^d == v bit for bit, if there is one at d.
  auto scaled_at = [v](int d, int64_t& m) {
    const double s = v * kPow10[d];
    if (!(std::fabs(s) <= static_cast<double>(kMaxScaled))) return false;  // also NaN
    m = static_cast<int64_t>(std::nearbyint(s));
    return bits_of(static_cast<double>(m) / kPow10[d]) == bits_of(v);
  };
  int64_t m = 0;
  if (scaled_at(decimals_, m)) {
    scaled_.push_back(m);
    if (scaled_.size() == 1) {
      dec_delta_.start(1, static_cast<uint64_t>(m));
      dec_dod_.start(2, static_cast<uint64_t>(m));
    } else {
      dec_delta_.add(static_cast<uint64_t>(m));
      dec_dod_.add(static_cast<uint64_t>(m));
    }
    return true;
  }
  // A value representable with fewer decimals is representable with the
  // chunk's (same rational, same correctly rounded quotient), so only more
  // decimals can help.
  for (int d = decimals_ + 1; d <= kMaxDecimals; ++d) {
    if (!scaled_at(d, m)) continue;
    const int64_t mul = kPow10Int[d - decimals_];
    for (int64_t& s : scaled_) {
      if (s > kMaxScaled / mul || s < -kMaxScaled / mul) return false;
      s *= mul;
    }
    decimals_ = d;
    scaled_.push_back(m);
    rebuild_decimal();
    return true;
  }
  return false;
}

void ChunkEncoder::rebuild_decimal() {
  dec_delta_.start(1, static_cast<uint64_t>(scaled_[0]));
  dec_dod_.start(2, static_cast<uint64_t>(scaled_[0]));
  for (size_t i = 1; i < scaled_.size(); ++i) {
    dec_delta_.add(static_cast<uint64_t>(scaled_[i]));
    dec_dod_.add(static_cast<uint64_t>(scaled_[i]));
  }
}

size_t ChunkEncoder::header_bytes(Codec c) const {
  size_t n = 2 + (c == Codec::kXor ? 0 : 1) + varint_len(count_);
  if (count_ >= 1) {
    n += varint_len(zigzag(static_cast<uint64_t>(first_t_)));
    n += c == Codec::kXor ? 8 : varint_len(zigzag(static_cast<uint64_t>(scaled_[0])));
  }
  if (count_ >= 2) n += varint_len(zigzag(first_delta_));
  return n;
}

ChunkEncoder::Codec ChunkEncoder::best_codec() const {
  if (!decimal_ok_ || count_ == 0) return Codec::kXor;
  const size_t x = header_bytes(Codec::kXor) + xor_.padded_bytes();
  const size_t d1 = header_bytes(Codec::kDecimalDelta) + dec_delta_.bits.padded_bytes();
  const size_t d2 = header_bytes(Codec::kDecimalDod) + dec_dod_.bits.padded_bytes();
  if (d1 <= d2 && d1 <= x) return Codec::kDecimalDelta;
  if (d2 <= x) return Codec::kDecimalDod;
  return Codec::kXor;
}

size_t ChunkEncoder::size_bytes() const {
  const Codec c = best_codec();
  const Bits& values = c == Codec::kXor ? xor_ : c == Codec::kDecimalDelta ? dec_delta_.bits : dec_dod_.bits;
  return header_bytes(c) + ts_.padded_bytes() + values.padded_bytes();
}

std::string ChunkEncoder::finish() const {
  const Codec c = best_codec();
  const Bits& values = c == Codec::kXor ? xor_ : c == Codec::kDecimalDelta ? dec_delta_.bits : dec_dod_.bits;
  std::string out;
  out.reserve(header_bytes(c) + ts_.padded_bytes() + values.padded_bytes());
  out.push_back(static_cast<char>(kChunkFormatVersion));
  out.push_back(static_cast<char>(c));
  if (c != Codec::kXor) out.push_back(static_cast<char>(decimals_));
  put_varint(out, count_);
  if (count_ >= 1) {
    put_varint(out, zigzag(static_cast<uint64_t>(first_t_)));
    if (c == Codec::kXor) {
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(first_v_ >> (8 * i)));
    } else {
      put_varint(out, zigzag(static_cast<uint64_t>(scaled_[0])));
    }
  }
  if (count_ >= 2) put_varint(out, zigzag(first_delta_));
  ts_.append_padded(out);
  values.append_padded(out);
  return out;
}

// ---------------------------------------------------------------- decoder

Status decode_chunk(std::string_view chunk, std::vector<RawPoint>& out) {
  out.clear();
  ByteReader h(chunk);
  uint8_t version = 0, codec = 0, decimals = 0;
  if (!h.byte(version)) return corrupt("empty input, no header");
  if (version != kChunkFormatVersion) {
    return corrupt("unsupported format version " + std::to_string(version) + " (this build reads " +
                   std::to_string(kChunkFormatVersion) + ")");
  }
  if (!h.byte(codec)) return corrupt("truncated header (value codec)");
  if (codec > kCodecDecimalDod) return corrupt("unknown value codec " + std::to_string(codec));
  const bool decimal = codec != kCodecXor;
  if (decimal) {
    if (!h.byte(decimals)) return corrupt("truncated header (decimals)");
    if (decimals > kMaxDecimals) return corrupt("decimals " + std::to_string(decimals) + " above 6");
  }
  uint64_t count = 0;
  if (!h.varint(count)) return corrupt("truncated or malformed header (point count)");
  if (count > kMaxChunkPoints) return corrupt("point count " + std::to_string(count) + " above the limit");
  if (count == 0) {
    if (!h.rest().empty()) return corrupt("trailing bytes after an empty chunk");
    return Status::Ok();
  }

  uint64_t t0 = 0, v0 = 0, delta = 0;
  if (!h.varint(t0)) return corrupt("truncated or malformed header (first timestamp)");
  t0 = unzigzag(t0);
  if (decimal) {
    if (!h.varint(v0)) return corrupt("truncated or malformed header (first value)");
    v0 = unzigzag(v0);
  } else if (!h.u64le(v0)) {
    return corrupt("truncated header (first value)");
  }
  if (count >= 2) {
    if (!h.varint(delta)) return corrupt("truncated or malformed header (first delta)");
    delta = unzigzag(delta);
  }

  // Every further point costs at least one value bit and (from the third on)
  // one timestamp bit: refuse counts the bytes cannot hold before allocating.
  const std::string_view body = h.rest();
  const uint64_t min_bits = (count - 1) + (count >= 2 ? count - 2 : 0);
  if (min_bits > uint64_t{body.size()} * 8) {
    return corrupt("claims " + std::to_string(count) + " points but has only " + std::to_string(body.size()) +
                   " bytes of data");
  }
  out.resize(count);
  BitReader r(body);

  // Timestamps.
  out[0].t_ms = static_cast<int64_t>(t0);
  uint64_t t = t0;
  for (uint64_t i = 1; i < count; ++i) {
    if (i >= 2) {
      // Prefix: up to 4 ones then a zero, or 5 ones.
      const uint64_t head = r.peek(5) << 59;
      const int ones = std::countl_one(head);
      int64_t dod = 0;
      if (ones == 0) {
        r.skip(1);
      } else {
        const DodCode& c = kDodCodes[std::min(ones, 5) - 1];
        r.skip(c.prefix_bits);
        dod = sign_extend(r.read(c.payload_bits), c.payload_bits);
      }
      if (r.failed()) return corrupt("timestamp stream truncated at point " + std::to_string(i));
      delta += static_cast<uint64_t>(dod);
    }
    const uint64_t next = t + delta;
    if (static_cast<int64_t>(next) < static_cast<int64_t>(t)) {
      return corrupt("timestamps go backwards at point " + std::to_string(i));
    }
    t = next;
    out[i].t_ms = static_cast<int64_t>(t);
  }
  if (!r.align_zero()) return corrupt("bad padding after the timestamp stream");

  // Values.
  if (!decimal) {
    uint64_t prev = v0;
    int lead = -1, trail = 0;
    out[0].v = std::bit_cast<double>(prev);
    for (uint64_t i = 1; i < count; ++i) {
      const uint64_t ctl = r.peek(2);
      if (ctl < 2) {
        r.skip(1);  // '0': same value
      } else {
        r.skip(2);
        if (ctl == 3) {
          lead = static_cast<int>(r.read(5));
          int len = static_cast<int>(r.read(6));
          if (len == 0) len = 64;
          if (lead + len > 64) return corrupt("XOR window wider than 64 bits at point " + std::to_string(i));
          trail = 64 - lead - len;
        } else if (lead < 0) {
          return corrupt("XOR window reused before one was set, at point " + std::to_string(i));
        }
        prev ^= r.read(64 - lead - trail) << trail;
      }
      if (r.failed()) return corrupt("value stream truncated at point " + std::to_string(i));
      out[i].v = std::bit_cast<double>(prev);
    }
  } else {
    const double scale = kPow10[decimals];
    const int order = codec == kCodecDecimalDelta ? 1 : 2;
    uint64_t m = v0, prev_delta = 0, sum = 0;
    uint32_t n = 0;
    for (uint64_t i = 0; i < count; ++i) {
      if (i > 0) {
        const uint64_t residual = unzigzag(read_rice(r, sum, n));
        if (r.failed()) return corrupt("value stream truncated at point " + std::to_string(i));
        const uint64_t d = order == 1 ? residual : prev_delta + residual;
        prev_delta = d;
        m += d;
      }
      const int64_t s = static_cast<int64_t>(m);
      if (s > kMaxScaled || s < -kMaxScaled) {
        return corrupt("decimal value out of range at point " + std::to_string(i));
      }
      out[i].v = static_cast<double>(s) / scale;
    }
  }
  if (!r.align_zero()) return corrupt("bad padding after the value stream");
  if (r.pos() != r.size()) {
    return corrupt(std::to_string((r.size() - r.pos()) / 8) + " trailing bytes after the value stream");
  }
  return Status::Ok();
}

}  // namespace urbis::tsdb
