#include "devices/decoders/decoder.hpp"

#include <array>

#include "devices/decoders/internal.hpp"

namespace urbis::devices {

namespace {

struct NameEntry {
  std::string_view name;
  Format format;
};
// The first entry of each format is its canonical name.
// "senml-json"/"senml-cbor": the spelling a topic level can hold ('+' is an
// MQTT wildcard), accepted everywhere so one name works in topics, profiles and URLs.
constexpr std::array<NameEntry, 11> kNames{{
    {"json", Format::kJson},
    {"senml+json", Format::kSenmlJson},
    {"senml+cbor", Format::kSenmlCbor},
    {"lpp", Format::kCayenneLpp},
    {"chirpstack", Format::kChirpstackV4},
    {"tts", Format::kTtsV3},
    {"senml", Format::kSenmlJson},
    {"cayenne", Format::kCayenneLpp},
    {"ttn", Format::kTtsV3},
    {"senml-json", Format::kSenmlJson},
    {"senml-cbor", Format::kSenmlCbor},
}};

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::optional<Format> format_from_name(std::string_view name) {
  for (const auto& e : kNames)
    if (e.name == name) return e.format;
  return std::nullopt;
}

std::string_view format_name(Format f) {
  for (const auto& e : kNames)
    if (e.format == f) return e.name;
  return "?";
}

bool is_envelope(Format f) { return f == Format::kChirpstackV4 || f == Format::kTtsV3; }

Result<Decoded> decode(Format f, std::string_view payload, const DecodeOptions& o) {
  Result<Decoded> r = InvalidArgument("unknown format");
  switch (f) {
    case Format::kJson: r = detail::decode_json(payload, o); break;
    case Format::kSenmlJson: r = detail::decode_senml_json(payload, o); break;
    case Format::kSenmlCbor: r = detail::decode_senml_cbor(payload, o); break;
    case Format::kCayenneLpp: r = detail::decode_lpp(payload, o); break;
    case Format::kChirpstackV4: r = detail::decode_chirpstack(payload, o); break;
    case Format::kTtsV3: r = detail::decode_tts(payload, o); break;
  }
  if (r.ok() && r->readings.size() > o.max_readings) {
    return InvalidArgument(std::string(format_name(f)) + ": " + std::to_string(r->readings.size()) +
                           " readings, more than the limit of " + std::to_string(o.max_readings));
  }
  return r;
}

std::optional<ChirpstackTopic> parse_chirpstack_topic(std::string_view topic) {
  // application/<app>/device/<devEUI>/event/<event>
  std::array<std::string_view, 6> part;
  size_t n = 0;
  while (n < part.size()) {
    const size_t slash = topic.find('/');
    part[n++] = topic.substr(0, slash);
    if (slash == std::string_view::npos) {
      topic = {};
      break;
    }
    topic.remove_prefix(slash + 1);
    if (n == part.size()) return std::nullopt;  // more levels than the shape has
  }
  if (n != part.size() || part[0] != "application" || part[1].empty() || part[2] != "device" ||
      part[3].size() != 16 || part[4] != "event" || part[5].empty())
    return std::nullopt;
  ChirpstackTopic t;
  t.application_id = part[1];
  for (char c : part[3]) {
    if (!is_hex(c)) return std::nullopt;
    t.dev_eui += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  t.event = part[5];
  return t;
}

}  // namespace urbis::devices
