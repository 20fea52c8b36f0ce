// The compressed chunk format for numeric history (docs/formats/storage.md).
//
// A chunk holds up to a few thousand points of one series in time order:
// timestamps as delta-of-delta with variable-length bit codes, values as XOR
// against the previous value with leading/trailing-zero windows, in the
// manner of Facebook's Gorilla paper (VLDB 2015). A 15 s sensor series with
// noisy values costs about 1-3 bytes per point instead of 16.
//
// Pure functions over bytes: a fuzz target (tests/fuzz/tsdb_chunk_fuzz.cpp)
// feeds decode() arbitrary input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace urbis::tsdb {

struct RawPoint {
  int64_t t_ms = 0;
  double v = 0;
  bool operator==(const RawPoint&) const = default;
};

class ChunkEncoder {
 public:
  ChunkEncoder();
  // REQUIRES: t_ms >= the previous point's t_ms (sort before appending).
  void append(int64_t t_ms, double v);
  size_t count() const { return count_; }
  // Bytes the chunk would take if finished now.
  size_t size_bytes() const;
  // The encoded chunk (header + bit stream). The encoder may be reused after reset().
  std::string finish() const;
  void reset();

 private:
  struct State;
  std::vector<uint8_t> bits_;
  uint64_t bit_len_ = 0;
  size_t count_ = 0;
  int64_t first_t_ = 0, prev_t_ = 0, prev_delta_ = 0;
  uint64_t prev_v_ = 0;
  int prev_lead_ = -1, prev_trail_ = 0;
  void put_bits(uint64_t v, int n);
};

// Decodes a whole chunk. Fails with kCorruption on any inconsistency (bad
// header, truncated stream, count mismatch); never reads out of bounds.
Status decode_chunk(std::string_view chunk, std::vector<RawPoint>& out);

}  // namespace urbis::tsdb
