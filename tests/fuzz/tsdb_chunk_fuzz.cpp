// libFuzzer target for the time-series chunk codec (src/tsdb/chunk.hpp).
//
// 1. decode_chunk() on the raw input must either fail with kCorruption and a
//    message, or give points that, encoded again, decode to the same points
//    bit for bit (the decoder accepts nothing the encoder cannot reproduce).
// 2. The input is also read as a recipe for a point sequence (sorted
//    timestamps; values raw bit patterns, repeats, or decimals so both value
//    codecs are reached): it must round-trip bit-exactly, and size_bytes()
//    must equal the size of finish() at every step.
// Any disagreement aborts, which libFuzzer reports as a crash.
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

// The fuzz build compiles only the MQTT codec sources (CMakeLists.txt), so
// the chunk codec, which needs nothing beyond the standard library, is
// compiled into this target directly.
#include "tsdb/chunk.hpp"

using urbis::Code;
using urbis::Status;
using urbis::tsdb::ChunkEncoder;
using urbis::tsdb::decode_chunk;
using urbis::tsdb::RawPoint;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tsdb_chunk_fuzz: %s\n", what);
  std::abort();
}

void check_round_trip(const std::vector<RawPoint>& pts) {
  ChunkEncoder e;
  for (const RawPoint& p : pts) {
    e.append(p.t_ms, p.v);
    if (e.count() % 16 == 1 && e.size_bytes() != e.finish().size()) die("size_bytes differs from finish");
  }
  const std::string chunk = e.finish();
  if (e.size_bytes() != chunk.size()) die("size_bytes differs from finish");
  std::vector<RawPoint> out;
  const Status s = decode_chunk(chunk, out);
  if (!s.ok()) {
    std::fprintf(stderr, "decode: %s\n", s.message().c_str());
    die("an encoded chunk does not decode");
  }
  if (out.size() != pts.size()) die("point count differs");
  for (size_t i = 0; i < pts.size(); ++i) {
    if (out[i].t_ms != pts[i].t_ms) die("timestamp differs");
    if (std::bit_cast<uint64_t>(out[i].v) != std::bit_cast<uint64_t>(pts[i].v)) die("value bits differ");
  }
}

class Recipe {
 public:
  Recipe(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool more() const { return i_ < n_; }
  uint64_t take(int bytes) {
    uint64_t v = 0;
    for (int k = 0; k < bytes; ++k) v = (v << 8) | (i_ < n_ ? p_[i_++] : 0);
    return v;
  }

 private:
  const uint8_t* p_;
  size_t n_;
  size_t i_ = 0;
};

std::vector<RawPoint> build_points(const uint8_t* data, size_t size) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
  Recipe r(data, size);
  std::vector<RawPoint> pts;
  int64_t t = static_cast<int64_t>(r.take(8));
  double v = 0;
  while (r.more() && pts.size() < 4096) {
    const uint64_t op = r.take(1);
    uint64_t step = 0;
    switch (op & 3) {
      case 0: break;
      case 1: step = 15'000 + r.take(1) * 4; break;  // jittered 15 s
      case 2: step = r.take(2); break;
      default: step = r.take(8); break;
    }
    // Saturate at INT64_MAX so the sequence stays sorted.
    // (In unsigned arithmetic: kMax - t overflows int64 when t is negative.)
    uint64_t room = static_cast<uint64_t>(kMax) - static_cast<uint64_t>(t);
    t = room < step ? kMax : static_cast<int64_t>(static_cast<uint64_t>(t) + step);
    switch ((op >> 2) & 3) {
      case 0: break;  // repeat
      case 1: v = std::bit_cast<double>(r.take(8)); break;
      case 2: v = static_cast<double>(static_cast<int32_t>(r.take(4))) / kPow10[(op >> 4) & 7]; break;
      default: v = v + static_cast<double>(static_cast<int8_t>(r.take(1))) / kPow10[(op >> 4) & 7]; break;
    }
    pts.push_back({t, v});
  }
  return pts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<RawPoint> pts;
  const Status s = decode_chunk(std::string_view(reinterpret_cast<const char*>(data), size), pts);
  if (s.ok()) {
    check_round_trip(pts);
  } else if (s.code() != Code::kCorruption || s.message().empty()) {
    die("decode failed without a kCorruption message");
  }
  check_round_trip(build_points(data, size));
  return 0;
}
