// The chunk codec (src/tsdb/chunk.hpp): round trips over tables of edge cases,
// corrupt and truncated input, the golden bytes of format version 1, and the
// bytes-per-point budget on realistic synthetic series (a size check, never
// timing).
#include "tsdb/chunk.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace urbis::tsdb {
namespace {

using Points = std::vector<RawPoint>;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int64_t kT0 = 1'764'000'000'000;  // November 2025, in ms

uint64_t bits(double v) { return std::bit_cast<uint64_t>(v); }

std::string encode(const Points& pts) {
  ChunkEncoder e;
  for (const RawPoint& p : pts) e.append(p.t_ms, p.v);
  std::string c = e.finish();
  EXPECT_EQ(e.size_bytes(), c.size());
  return c;
}

// Values compared as bit patterns: NaN payloads and the sign of zero count.
void expect_same(const Points& want, const Points& got) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(want[i].t_ms, got[i].t_ms) << "point " << i;
    EXPECT_EQ(bits(want[i].v), bits(got[i].v)) << "point " << i << ": want " << want[i].v << " got " << got[i].v;
  }
}

void round_trip(const Points& pts) {
  const std::string c = encode(pts);
  Points out;
  Status s = decode_chunk(c, out);
  ASSERT_TRUE(s.ok()) << s.message();
  expect_same(pts, out);
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string to_hex(std::string_view s) {
  std::string out;
  char buf[3];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

// Byte 1 of a chunk: 0 XOR, 1 decimal delta, 2 decimal delta-of-delta.
int codec_of(const std::string& chunk) { return static_cast<uint8_t>(chunk.at(1)); }

Points regular(const std::vector<double>& values, int64_t period = 15'000) {
  Points p;
  for (size_t i = 0; i < values.size(); ++i) p.push_back({kT0 + static_cast<int64_t>(i) * period, values[i]});
  return p;
}

// ---------------------------------------------------------------- round trips

TEST(Chunk, EmptyChunkIsThreeBytesAndDecodesToNothing) {
  ChunkEncoder e;
  EXPECT_EQ(e.count(), 0u);
  const std::string c = e.finish();
  EXPECT_EQ(to_hex(c), "010000");
  EXPECT_EQ(e.size_bytes(), c.size());
  Points out{{1, 2}};
  ASSERT_TRUE(decode_chunk(c, out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(Chunk, OnePoint) {
  for (double v : {0.0, -0.0, 21.5, 18.37, kNaN, -kInf, 1e308}) {
    SCOPED_TRACE(v);
    round_trip({{kT0, v}});
    round_trip({{-5, v}});
  }
}

struct Case {
  const char* name;
  Points points;
};

std::vector<Case> timestamp_cases() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<Case> cases = {
      {"equal timestamps", {{kT0, 1}, {kT0, 2}, {kT0, 3}, {kT0 + 1, 4}, {kT0 + 1, 5}}},
      {"negative timestamps", {{-100'000, 1}, {-85'000, 1}, {-70'010, 1}, {-1, 1}, {0, 1}, {15'000, 1}}},
      {"large gaps", {{0, 1}, {1, 1}, {86'400'000LL * 365 * 100, 1}, {86'400'000LL * 365 * 100 + 15'000, 1}, {kMax / 2, 1}}},
      {"whole int64 range", {{kMin, 1}, {kMin + 1, 2}, {-1, 3}, {0, 4}, {kMax - 1, 5}, {kMax, 6}, {kMax, 7}}},
      {"min then max", {{kMin, 1}, {kMax, 2}, {kMax, 3}}},
      {"shrinking deltas", {{0, 1}, {1'000'000'000, 1}, {1'000'000'001, 1}, {1'000'000'002, 1}}},
  };
  // Every delta-of-delta code boundary, both signs.
  Points b;
  int64_t t = kT0, delta = 15'000;
  b.push_back({t, 0});
  for (int64_t dod : {0LL, 127LL, -128LL, 128LL, -129LL, 511LL, -512LL, 512LL, -513LL, 32767LL, -32768LL, 32768LL,
                      -32769LL, (1LL << 23) - 1, -(1LL << 23), 1LL << 23, -(1LL << 23) - 1, 1LL << 40}) {
    delta += dod;
    if (delta < 0) delta = 0;
    t += delta;
    b.push_back({t, 0});
  }
  cases.push_back({"dod code boundaries", b});
  return cases;
}

TEST(Chunk, TimestampRoundTrips) {
  for (const Case& c : timestamp_cases()) {
    SCOPED_TRACE(c.name);
    round_trip(c.points);
  }
}

TEST(Chunk, SpecialValuesRoundTripBitExact) {
  const double snan = std::bit_cast<double>(uint64_t{0x7FF0000000000001});
  const double nan_payload = std::bit_cast<double>(uint64_t{0xFFF8DEADBEEF0001});
  const std::vector<std::vector<double>> cases = {
      {kNaN, kNaN, -kNaN, snan, nan_payload, kNaN},
      {kInf, -kInf, kInf, 0.0, -0.0, 0.0, -0.0, -0.0},
      {std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(), std::numeric_limits<double>::min(),
       std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(), 1e-300, -1e300},
      {1.0, std::nextafter(1.0, 2.0), std::nextafter(1.0, 0.0), 1.0, 3.141592653589793, 2.718281828459045},
      {18.37, -0.0, 18.38},  // -0.0 is not a decimal: the chunk falls back to XOR
  };
  for (const auto& values : cases) round_trip(regular(values));
}

TEST(Chunk, DecimalValuesRoundTripBitExactAndUseTheDecimalCodec) {
  const std::vector<std::vector<double>> cases = {
      {18.37, 18.42, 18.4, 18.45, 18.37, 25.0, 12.0, -3.07},
      {18, 18.3, 18.37, 18.375, 18.3751, 18.37512, 18.375123},  // decimals grow mid-chunk up to 6
      {0.1, 0.2, 0.3, 0.7},
      {1e9, 1e9 + 0.5, -1e9, 123456789.25},
      {9007199254740992.0, -9007199254740992.0, 0},  // 2^53: the largest scaled magnitude
      {0, 0, 0, 1, 0, 0},
  };
  for (const auto& values : cases) {
    SCOPED_TRACE(values[1]);
    round_trip(regular(values));
  }
  // The codec is chosen by size: short binary fractions (1e9 + 0.5, 2^53)
  // may stay XOR, readings like 18.37 do not.
  EXPECT_EQ(codec_of(encode(regular(cases[0]))), 1);
  EXPECT_EQ(codec_of(encode(regular(cases[1]))), 1);
  // Seven decimals, or a non-decimal double, and the chunk is XOR.
  EXPECT_EQ(codec_of(encode(regular({18.37, 18.1234567}))), 0);
  EXPECT_EQ(codec_of(encode(regular({18.37, 18.37 + 1e-13}))), 0);
  round_trip(regular({18.37, 18.1234567}));
}

TEST(Chunk, CounterUsesDeltaOfDelta) {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(std::round((12345.678 + 0.0082 * i) * 1000) / 1000);
  const std::string c = encode(regular(v));
  EXPECT_EQ(codec_of(c), 2);
  round_trip(regular(v));
}

TEST(Chunk, RandomSeriesRoundTripAndSizeIsExactAtEveryStep) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 40; ++round) {
    ChunkEncoder e;
    Points pts;
    int64_t t = static_cast<int64_t>(rng());
    const int n = 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < n; ++i) {
      const uint64_t r = rng();
      double v;
      switch (r % 5) {
        case 0: v = std::bit_cast<double>(rng()); break;             // any bit pattern
        case 1: v = static_cast<double>(static_cast<int64_t>(rng() % 100000) - 50000) / 100; break;
        case 2: v = pts.empty() ? 1.0 : pts.back().v; break;           // repeat
        case 3: v = static_cast<double>(rng() % 1000) / 1e6; break;
        default: v = static_cast<double>(rng()) * 1e-3; break;
      }
      const int64_t step = (r >> 8) % 4 == 0 ? static_cast<int64_t>(rng() % (1ULL << 40)) : 15'000 + static_cast<int64_t>(rng() % 401) - 200;
      if (i > 0 && t <= std::numeric_limits<int64_t>::max() - step) t += step;
      pts.push_back({t, v});
      e.append(t, v);
      ASSERT_EQ(e.size_bytes(), e.finish().size()) << "round " << round << " point " << i;
    }
    Points out;
    Status s = decode_chunk(e.finish(), out);
    ASSERT_TRUE(s.ok()) << s.message();
    expect_same(pts, out);
  }
}

TEST(Chunk, FinishDoesNotDisturbTheEncoderAndResetStartsOver) {
  const Points a = regular({18.37, 18.42, 18.4, 18.45});
  const Points b = regular({kNaN, 1, 2});
  ChunkEncoder e;
  e.append(a[0].t_ms, a[0].v);
  e.append(a[1].t_ms, a[1].v);
  (void)e.finish();
  e.append(a[2].t_ms, a[2].v);
  e.append(a[3].t_ms, a[3].v);
  EXPECT_EQ(e.finish(), encode(a));
  e.reset();
  EXPECT_EQ(e.count(), 0u);
  for (const RawPoint& p : b) e.append(p.t_ms, p.v);
  EXPECT_EQ(e.finish(), encode(b));
}

// ---------------------------------------------------------------- golden bytes
// Chunks written by format version 1. These bytes must decode to these points
// in every later version of Urbis: never change them; add a new golden for a
// new version instead. The layout is explained in docs/formats/tsdb-chunk.md.

struct Golden {
  const char* name;
  const char* hex;
  Points points;
};

std::vector<Golden> goldens() {
  const double snan = std::bit_cast<double>(uint64_t{0x7FF0000000000001});
  return {
      {"xor", "01000780a0bfe9d6660000000000803540b0ea01451584507107812c035efff03fc200000001c5f7f8b0000000000020",
       {{kT0, 21.5}, {kT0 + 15'000, 21.5}, {kT0 + 30'000, 21.75}, {kT0 + 45'040, -0.0},
        {kT0 + 60'000, kInf}, {kT0 + 75'000, snan}, {kT0 + 90'000, 21.5}}},
      {"decimal delta", "0101020580a0bfe9d666da1ccaea01b9211bf8ffc39000",
       {{kT0, 18.37}, {kT0 + 15'013, 18.42}, {kT0 + 29'998, 18.4}, {kT0 + 45'000, 18.45}, {kT0 + 60'000, 18.45}}},
      {"decimal delta-of-delta", "01020305afea019c85e30bb0ea0100ffff0084",
       {{-15'000, 12345.678}, {0, 12345.686}, {15'000, 12345.694}, {30'000, 12345.703}, {45'000, 12345.711}}},
  };
}

TEST(Chunk, GoldenVersion1BytesDecodeToKnownPoints) {
  for (const Golden& g : goldens()) {
    SCOPED_TRACE(g.name);
    Points out;
    Status s = decode_chunk(from_hex(g.hex), out);
    ASSERT_TRUE(s.ok()) << s.message();
    expect_same(g.points, out);
  }
}

TEST(Chunk, EncoderStillWritesTheGoldenBytes) {
  // Not a compatibility requirement (a later encoder may write better
  // chunks), but a change here means the format changed: bump the version.
  for (const Golden& g : goldens()) {
    SCOPED_TRACE(g.name);
    EXPECT_EQ(to_hex(encode(g.points)), g.hex);
  }
}

// ---------------------------------------------------------------- corrupt input

void expect_corrupt(std::string_view chunk, const std::string& message_part = "") {
  Points out;
  Status s = decode_chunk(chunk, out);
  ASSERT_FALSE(s.ok()) << "decoded " << out.size() << " points from " << to_hex(chunk);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find(message_part), std::string::npos) << s.message();
}

TEST(Chunk, EveryTruncationIsAnError) {
  for (const Golden& g : goldens()) {
    const std::string c = from_hex(g.hex);
    for (size_t n = 0; n < c.size(); ++n) {
      SCOPED_TRACE(std::string(g.name) + " cut at " + std::to_string(n));
      expect_corrupt(std::string_view(c).substr(0, n));
    }
  }
  // A long realistic chunk too.
  std::vector<double> v;
  for (int i = 0; i < 300; ++i) v.push_back(std::round((18 + std::sin(i * 0.1)) * 100) / 100);
  const std::string c = encode(regular(v));
  for (size_t n = 0; n < c.size(); ++n) expect_corrupt(std::string_view(c).substr(0, n));
}

TEST(Chunk, HeaderErrorsAreNamed) {
  expect_corrupt("", "empty");
  expect_corrupt(from_hex("020000"), "unsupported format version 2");
  expect_corrupt(from_hex("010300"), "unknown value codec 3");
  expect_corrupt(from_hex("01010700"), "decimals 7");
  expect_corrupt(from_hex("0100ffffffffffffffffff01"), "point count");       // 2^64-1
  expect_corrupt(from_hex("0100" "80808080808080808080" "00"), "point count");  // varint of 11 bytes
  expect_corrupt(from_hex("010080808003"), "above the limit");                 // 3 * 2^21
  expect_corrupt(from_hex("01000000"), "trailing bytes");
  // 1000 points claimed, 2 bytes of data.
  expect_corrupt(from_hex("0100e807" "00" "0000000000000000" "00" "0000"), "claims 1000 points");
}

TEST(Chunk, InconsistentStreamsAreErrors) {
  // Two points, first delta -1 (zigzag 1): time goes backwards.
  expect_corrupt(from_hex("010002" "00" "0000000000000000" "01" "00"), "backwards");
  // Two points, second value '10': reuses an XOR window never set.
  expect_corrupt(from_hex("010002" "00" "0000000000000000" "00" "80"), "reused");
  // Two points, a new window of 31 leading zeros and 52 meaningful bits.
  expect_corrupt(from_hex("010002" "00" "0000000000000000" "00" "ffa0000000000000"), "wider");
  // Two points, value '0' then padding bits that are not zero.
  expect_corrupt(from_hex("010002" "00" "0000000000000000" "00" "01"), "padding");
  // Decimal chunk whose first value is 2^53 + 1 (zigzag 2^54 + 2).
  expect_corrupt(from_hex("01010001" "00" "8280808080808020"), "out of range");
  // A valid chunk with one more byte.
  const std::string c = encode(regular({1, 2, 3}));
  expect_corrupt(c + std::string(1, '\0'), "trailing");
}

TEST(Chunk, FlippedBitsGiveAnErrorOrOtherPointsNeverACrash) {
  std::vector<double> v;
  for (int i = 0; i < 40; ++i) v.push_back(std::round((18 + std::sin(i * 0.3)) * 100) / 100);
  const std::string decimal = encode(regular(v));
  v.push_back(kNaN);
  const std::string xr = encode(regular(v));
  for (const std::string& c : {decimal, xr}) {
    for (size_t bit = 0; bit < c.size() * 8; ++bit) {
      std::string d = c;
      d[bit / 8] = static_cast<char>(d[bit / 8] ^ (1 << (bit % 8)));
      Points out;
      Status s = decode_chunk(d, out);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), Code::kCorruption);
        EXPECT_FALSE(s.message().empty());
      } else {
        // Whatever decoded must be a valid chunk again.
        Points again;
        ASSERT_TRUE(decode_chunk(encode(out), again).ok());
        expect_same(out, again);
      }
    }
  }
}

// ---------------------------------------------------------------- bytes per point
// Synthetic 30-day series, deterministic (mt19937_64 is fully specified; the
// uniform and normal draws are computed here rather than by <random>'s
// distributions, whose output differs between standard libraries).

constexpr int kDays = 30;
constexpr int64_t kPeriod = 15'000;
constexpr int kPoints = kDays * 86'400'000LL / kPeriod;  // 172,800

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return static_cast<double>(g() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {                                                           // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  }
  int64_t jitter(int64_t ms) { return static_cast<int64_t>(g() % static_cast<uint64_t>(2 * ms + 1)) - ms; }
};

// 15 s period with ±200 ms uniform jitter around the nominal instants.
std::vector<int64_t> jittered_times(Rng& rng) {
  std::vector<int64_t> t(kPoints);
  for (int i = 0; i < kPoints; ++i) t[i] = kT0 + i * kPeriod + rng.jitter(200);
  return t;
}

// Outdoor temperature, 0.01 °C resolution: a daily cycle between about 12
// and 25 °C, weather drifting over days, sensor noise sigma 0.05 °C.
Points temperature_series(uint64_t seed) {
  Rng rng(seed);
  const std::vector<int64_t> t = jittered_times(rng);
  Points p(kPoints);
  double weather = 0;
  for (int i = 0; i < kPoints; ++i) {
    const double day = static_cast<double>(t[i] - kT0) / 86'400'000.0;
    weather = 0.9999 * weather + 0.01 * rng.normal();
    double c = 18.5 + 5.5 * std::sin(2 * std::numbers::pi * (day - 0.375)) + weather + 0.05 * rng.normal();
    c = std::clamp(c, 12.0, 25.0);
    p[i] = {t[i], std::round(c * 100) / 100};
  }
  return p;
}

// Energy meter in kWh with Wh resolution: a household drawing 300-3000 W.
Points counter_series(uint64_t seed) {
  Rng rng(seed);
  const std::vector<int64_t> t = jittered_times(rng);
  Points p(kPoints);
  double kwh = 12345.678, watts = 800;
  for (int i = 0; i < kPoints; ++i) {
    watts = std::clamp(watts + 40 * rng.normal(), 300.0, 3000.0);
    if (i > 0) kwh += watts * static_cast<double>(t[i] - t[i - 1]) / 3.6e9;
    p[i] = {t[i], std::round(kwh * 1000) / 1000};
  }
  return p;
}

Points constant_series(bool jitter) {
  Rng rng(7);
  Points p(kPoints);
  for (int i = 0; i < kPoints; ++i) p[i] = {kT0 + i * kPeriod + (jitter ? rng.jitter(200) : 0), 21.5};
  return p;
}

// Encodes `pts` in chunks of `per_chunk` points; checks the round trip.
double bytes_per_point(const Points& pts, size_t per_chunk) {
  size_t bytes = 0;
  ChunkEncoder e;
  Points out;
  for (size_t i = 0; i < pts.size(); i += per_chunk) {
    e.reset();
    const size_t end = std::min(pts.size(), i + per_chunk);
    for (size_t j = i; j < end; ++j) e.append(pts[j].t_ms, pts[j].v);
    const std::string c = e.finish();
    bytes += c.size();
    EXPECT_TRUE(decode_chunk(c, out).ok());
    EXPECT_EQ(out.size(), end - i);
    if (!out.empty()) {
      EXPECT_EQ(bits(out.back().v), bits(pts[end - 1].v));
    }
  }
  return static_cast<double>(bytes) / static_cast<double>(pts.size());
}

TEST(ChunkSize, NoisyTemperatureAtMostThreeBytesPerPoint) {
  const Points p = temperature_series(2026);
  for (size_t per_chunk : {240, 1000, 5760}) {  // one hour, ~4 h, one day of 15 s points
    const double bpp = bytes_per_point(p, per_chunk);
    std::printf("noisy temperature, %zu points/chunk: %.3f bytes/point\n", per_chunk, bpp);
    EXPECT_LE(bpp, 3.0) << per_chunk << " points per chunk";
  }
}

TEST(ChunkSize, CounterAndConstantSeries) {
  const double counter = bytes_per_point(counter_series(2026), 1000);
  const double constant_regular = bytes_per_point(constant_series(false), 1000);
  const double constant_jitter = bytes_per_point(constant_series(true), 1000);
  std::printf("energy counter: %.3f, constant: %.3f, constant with jitter: %.3f bytes/point\n", counter,
              constant_regular, constant_jitter);
  EXPECT_LE(counter, 3.0);
  // Same value at exact 15 s: two bits a point plus headers.
  EXPECT_LE(constant_regular, 0.3);
  // Same value, jittered clock: the timestamps are all the cost.
  EXPECT_LE(constant_jitter, 2.0);
}

}  // namespace
}  // namespace urbis::tsdb
