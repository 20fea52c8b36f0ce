// Chunk codec throughput (points/s) and size (bytes/point, as a counter).
//
// Series: 15 s period with ±200 ms jitter; values either a noisy outdoor
// temperature with 0.01 °C resolution (decimal codec), the same temperature
// without rounding (arbitrary doubles: Gorilla XOR codec), or an energy meter
// in kWh with Wh resolution (decimal delta-of-delta). Argument: points per
// chunk. The series are built like those of tests/unit/tsdb/chunk_test.cpp
// (not draw for draw), whose size assertions are the reference figures.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "tsdb/chunk.hpp"

namespace {

using urbis::tsdb::ChunkEncoder;
using urbis::tsdb::decode_chunk;
using urbis::tsdb::RawPoint;

enum class Kind { kTemperature, kRawDouble, kCounter };

std::vector<RawPoint> series(Kind kind, size_t n) {
  std::mt19937_64 g(2026);
  auto uniform = [&] { return static_cast<double>(g() >> 11) * 0x1.0p-53; };
  auto normal = [&] {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
  };
  std::vector<RawPoint> p(n);
  const int64_t t0 = 1'764'000'000'000;
  double weather = 0, kwh = 12345.678, watts = 800;
  for (size_t i = 0; i < n; ++i) {
    const int64_t t = t0 + static_cast<int64_t>(i) * 15'000 + static_cast<int64_t>(g() % 401) - 200;
    double v;
    if (kind == Kind::kCounter) {
      watts = std::clamp(watts + 40 * normal(), 300.0, 3000.0);
      if (i > 0) kwh += watts * static_cast<double>(t - p[i - 1].t_ms) / 3.6e9;
      v = std::round(kwh * 1000) / 1000;
    } else {
      const double day = static_cast<double>(t - t0) / 86'400'000.0;
      weather = 0.9999 * weather + 0.01 * normal();
      v = std::clamp(18.5 + 5.5 * std::sin(2 * std::numbers::pi * (day - 0.375)) + weather + 0.05 * normal(), 12.0, 25.0);
      if (kind == Kind::kTemperature) v = std::round(v * 100) / 100;
    }
    p[i] = {t, v};
  }
  return p;
}

constexpr size_t kSeriesPoints = 172'800;  // 30 days at 15 s

std::vector<std::string> encode_all(const std::vector<RawPoint>& pts, size_t per_chunk) {
  std::vector<std::string> chunks;
  ChunkEncoder e;
  for (size_t i = 0; i < pts.size(); i += per_chunk) {
    e.reset();
    for (size_t j = i; j < std::min(pts.size(), i + per_chunk); ++j) e.append(pts[j].t_ms, pts[j].v);
    chunks.push_back(e.finish());
  }
  return chunks;
}

void set_size_counter(benchmark::State& state, const std::vector<std::string>& chunks, size_t points) {
  size_t bytes = 0;
  for (const std::string& c : chunks) bytes += c.size();
  state.counters["bytes_per_point"] = static_cast<double>(bytes) / static_cast<double>(points);
}

void BM_ChunkEncode(benchmark::State& state, Kind kind) {
  const auto per_chunk = static_cast<size_t>(state.range(0));
  const std::vector<RawPoint> pts = series(kind, kSeriesPoints);
  for (auto _ : state) {
    std::vector<std::string> chunks = encode_all(pts, per_chunk);
    benchmark::DoNotOptimize(chunks.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pts.size()));
  set_size_counter(state, encode_all(pts, per_chunk), pts.size());
}

void BM_ChunkDecode(benchmark::State& state, Kind kind) {
  const auto per_chunk = static_cast<size_t>(state.range(0));
  const std::vector<RawPoint> pts = series(kind, kSeriesPoints);
  const std::vector<std::string> chunks = encode_all(pts, per_chunk);
  std::vector<RawPoint> out;
  for (auto _ : state) {
    for (const std::string& c : chunks) {
      if (!decode_chunk(c, out).ok()) {
        state.SkipWithError("decode failed");
        return;
      }
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pts.size()));
  set_size_counter(state, chunks, pts.size());
}

BENCHMARK_CAPTURE(BM_ChunkEncode, temperature_0_01, Kind::kTemperature)->Arg(240)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkDecode, temperature_0_01, Kind::kTemperature)->Arg(240)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkEncode, raw_double, Kind::kRawDouble)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkDecode, raw_double, Kind::kRawDouble)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkEncode, energy_counter, Kind::kCounter)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ChunkDecode, energy_counter, Kind::kCounter)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
