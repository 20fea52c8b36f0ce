// The compressed chunk format for numeric history (docs/formats/tsdb-chunk.md).
//
// A chunk holds up to a few thousand points of one series in time order.
// Timestamps are stored as delta-of-delta with variable-length bit codes sized
// for millisecond clocks; values in one of two ways, whichever is smaller for
// the chunk:
//   - XOR against the previous value with leading/trailing-zero windows, in
//     the manner of Facebook's Gorilla paper (VLDB 2015); lossless for every
//     bit pattern (NaN payloads, infinities, -0.0);
//   - "decimal": when every value of the chunk is exactly a decimal with at
//     most 6 digits after the point (18.37 reads back bit-for-bit from 1837 /
//     100), as scaled integers whose delta (or delta-of-delta, for counters)
//     is written with an adaptive Rice code. Sensor readings usually are such
//     decimals, and XOR compresses them badly because 18.37 has no short
//     binary form.
// A 15 s sensor series with noisy 0.01-resolution readings costs about 2.3
// bytes per point instead of 16.
//
// Pure functions over bytes, no I/O, no globals: a fuzz target
// (tests/fuzz/tsdb_chunk_fuzz.cpp) feeds decode_chunk() arbitrary input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::tsdb {

// Format version written into byte 0 of every chunk; decode_chunk() reads
// this version only and refuses others (a newer Urbis keeps reading 1).
inline constexpr uint8_t kChunkFormatVersion = 1;

// decode_chunk() refuses chunks that claim more points than this; writers cut
// chunks far earlier (a few thousand points).
inline constexpr size_t kMaxChunkPoints = size_t{1} << 22;

struct RawPoint {
  int64_t t_ms = 0;
  double v = 0;
  // Compares values with ==, so NaN != NaN; compare std::bit_cast<uint64_t>
  // of v when bit-exactness matters (the codec preserves every bit).
  bool operator==(const RawPoint&) const = default;
};

// Builds one chunk incrementally. Not thread-safe; copyable and movable.
class ChunkEncoder {
 public:
  ChunkEncoder();
  // REQUIRES: t_ms >= the previous point's t_ms (sort before appending);
  //           count() < kMaxChunkPoints.
  // Equal timestamps are allowed. Every double, NaN included, is kept bit-exact.
  void append(int64_t t_ms, double v);
  size_t count() const { return count_; }
  // Bytes the chunk would take if finished now (exactly finish().size()).
  // O(1): callers may ask after every append to decide where to cut.
  size_t size_bytes() const;
  // The encoded chunk (header + bit streams), using the smallest value
  // encoding for the points so far. Does not change the encoder: more points
  // may be appended and finish() called again. Reuse for a new chunk after reset().
  std::string finish() const;
  void reset();

 private:
  // MSB-first bit sink. The last partial byte stays in `acc` so that finish()
  // can copy the stream without changing it.
  struct Bits {
    std::string bytes;
    uint64_t acc = 0;  // low `fill` bits are pending, older bits first
    int fill = 0;      // 0..7 after every put()
    // REQUIRES: 0 <= n <= 64. Writes the low n bits of v.
    void put(uint64_t v, int n);
    uint64_t bit_size() const { return bytes.size() * 8 + static_cast<uint64_t>(fill); }
    size_t padded_bytes() const { return bytes.size() + (fill ? 1 : 0); }
    void append_padded(std::string& out) const;
    void clear();
  };

  // One candidate encoding of the scaled decimal integers: the first value
  // lives in the header, then a Rice code per residual (order 1: delta,
  // order 2: delta of delta), the Rice parameter adapting to recent residuals.
  struct IntStream {
    int order = 1;
    Bits bits;
    uint64_t prev = 0, prev_delta = 0;  // two's complement, wrapping arithmetic
    uint64_t rice_sum = 0;
    uint32_t rice_n = 0;
    void start(int order_, uint64_t first);
    void add(uint64_t m);
  };

  enum class Codec : uint8_t { kXor = 0, kDecimalDelta = 1, kDecimalDod = 2 };

  Codec best_codec() const;
  size_t header_bytes(Codec c) const;
  // Rebuilds both decimal streams from scaled_ (after decimals_ grew).
  void rebuild_decimal();
  // Folds v into the decimal candidate; false when the chunk cannot be decimal.
  bool add_decimal(double v);

  size_t count_ = 0;
  // Timestamps, shared by every value encoding.
  int64_t first_t_ = 0;
  uint64_t prev_t_ = 0, prev_delta_ = 0, first_delta_ = 0;
  Bits ts_;
  // Gorilla XOR values: always kept, it can encode anything.
  uint64_t first_v_ = 0, prev_v_ = 0;
  int prev_lead_ = -1, prev_trail_ = 0;  // -1: no window yet
  Bits xor_;
  // Decimal candidate, while every value so far is an exact decimal.
  bool decimal_ok_ = true;
  int decimals_ = 0;              // digits after the point, 0..6
  std::vector<int64_t> scaled_;   // every value * 10^decimals_, kept to rebuild
  IntStream dec_delta_, dec_dod_;
};

// Decodes a whole chunk, appending its points to `out` (which is first
// cleared). Fails with kCorruption and a message naming the problem on any
// inconsistency (unknown version or codec, truncated stream, trailing bytes,
// timestamps going backwards, ...); never reads out of bounds, and never
// allocates more than a small multiple of the input size. `out` is
// unspecified after a failure.
Status decode_chunk(std::string_view chunk, std::vector<RawPoint>& out);

}  // namespace urbis::tsdb
