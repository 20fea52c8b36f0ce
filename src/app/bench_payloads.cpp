#include "app/bench_payloads.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstring>

namespace urbis::app {

namespace {

void put_double(std::string& out, double v) {
  out.push_back(static_cast<char>(0xFB));  // CBOR float64
  const auto bits = std::bit_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((bits >> shift) & 0xFF));
}

// A reading that varies like a real sensor, not a counter.
double reading(uint64_t n) { return 20.0 + static_cast<double>(n % 400) / 10.0; }

}  // namespace

std::optional<BenchPayload> bench_payload_from_name(std::string_view name) {
  if (name == "ingest") return BenchPayload::kIngest;
  if (name == "json") return BenchPayload::kJson;
  if (name == "senml+json") return BenchPayload::kSenmlJson;
  if (name == "senml+cbor") return BenchPayload::kSenmlCbor;
  if (name == "lpp") return BenchPayload::kLpp;
  if (name == "chirpstack") return BenchPayload::kChirpstack;
  return std::nullopt;
}

std::string bench_dev_eui(int i) { return fmt::format("0000bbbb{:08x}", static_cast<uint32_t>(i)); }

std::string bench_payload(BenchPayload f, uint64_t n, int64_t base_ms, std::string_view dev_eui) {
  const int64_t t_ms = base_ms + static_cast<int64_t>(n);
  switch (f) {
    case BenchPayload::kIngest:
      return fmt::format(R"({{"observedAt":{},"v":{}}})", t_ms, n);
    case BenchPayload::kJson:
      return fmt::format(R"({{"observedAt":{},"no2":{:.1f}}})", t_ms, reading(n));
    case BenchPayload::kSenmlJson:
      return fmt::format(R"([{{"n":"no2","u":"ug/m3","v":{:.1f},"t":{}.{:03d}}}])", reading(n), t_ms / 1000,
                         static_cast<int>(t_ms % 1000));
    case BenchPayload::kSenmlCbor: {
      std::string out;
      out.push_back(static_cast<char>(0x81));  // array(1)
      out.push_back(static_cast<char>(0xA3));  // map(3)
      out.push_back(0x00);                     // n
      out.push_back(static_cast<char>(0x63));  // text(3)
      out += "no2";
      out.push_back(0x02);  // v
      put_double(out, reading(n));
      out.push_back(0x06);  // t
      put_double(out, static_cast<double>(t_ms) / 1000.0);
      return out;
    }
    case BenchPayload::kLpp: {
      const int tenths = static_cast<int>(reading(n) * 10);
      return std::string{0x01, 0x67, static_cast<char>((tenths >> 8) & 0xFF), static_cast<char>(tenths & 0xFF)};
    }
    case BenchPayload::kChirpstack: {
      const int64_t s = t_ms / 1000;
      const int ms = static_cast<int>(t_ms % 1000);
      // UTC date-time from epoch seconds (civil-from-days).
      int64_t days = s / 86400, rem = s % 86400;
      days += 719468;
      const int64_t era = days / 146097, doe = days - era * 146097;
      const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
      const int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
      return fmt::format(
          R"({{"deduplicationId":"bench-{}","time":"{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z",)"
          R"("deviceInfo":{{"tenantId":"bench","tenantName":"Bench","applicationId":"bench-app",)"
          R"("applicationName":"Bench","deviceProfileId":"bench","deviceProfileName":"Bench",)"
          R"("deviceName":"bench-{}","devEui":"{}"}},"devAddr":"00189440","adr":true,"dr":5,"fCnt":{},)"
          R"("fPort":1,"confirmed":false,"data":"AQ==","object":{{"no2":{:.1f}}},)"
          R"("rxInfo":[{{"gatewayId":"0016c001f153a14c","uplinkId":1,"rssi":-57,"snr":9.5}}],)"
          R"("txInfo":{{"frequency":868100000,"modulation":{{"lora":{{"bandwidth":125000,"spreadingFactor":7,)"
          R"("codeRate":"CR_4_5"}}}}}}}})",
          n, y, m, d, rem / 3600, (rem / 60) % 60, rem % 60, ms, dev_eui, dev_eui, n, reading(n));
    }
  }
  return {};
}

}  // namespace urbis::app
