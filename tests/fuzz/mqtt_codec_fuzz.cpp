// libFuzzer target for the MQTT codec (src/mqtt/codec).
//
// For each version: frame() the input, decode() the framed packet, and when it
// decodes, encode() it again: the bytes must be as long as encoded_size() says
// and must decode to an equal packet. decode() is also run on the raw input,
// whatever its framing, and the standalone property block gets the same round
// trip. Any disagreement aborts, which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "mqtt/codec/codec.hpp"

using namespace urbis::mqtt;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mqtt_codec_fuzz: %s\n", what);
  std::abort();
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void round_trip(std::span<const uint8_t> in, Version v) {
  Packet p;
  DecodeError err;
  if (!decode(in, v, p, err)) {
    if (err.reason < 0x80) die("decode failed with a success reason code");
    return;
  }
  std::string out;
  encode(p, v, out);
  if (out.size() != encoded_size(p, v)) die("encoded_size differs from encode");
  Frame f = frame(as_bytes(out), out.size());
  if (f.state != Frame::State::kComplete || f.total() != out.size()) die("re-encoded frame bad");
  Packet q;
  if (!decode(as_bytes(out), v, q, err)) {
    std::fprintf(stderr, "re-decode: %s\n", err.message.c_str());
    die("re-encoded packet does not decode");
  }
  if (!(p == q)) die("re-decoded packet differs");
  // Decoding into a Packet that already holds a value must give the same result.
  if (!decode(in, v, q, err) || !(p == q)) die("decode into a used Packet differs");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  for (Version v : {Version::v311, Version::v5}) {
    Frame f = frame(in, 1 << 20);
    if (f.state == Frame::State::kComplete) {
      if (f.total() > in.size()) die("frame longer than input");
      round_trip(in.first(f.total()), v);
    }
    Packet p;
    DecodeError err;
    (void)decode(in, v, p, err);
  }
  if (auto v = connect_version(in)) {
    Packet p;
    DecodeError e;
    if (decode(in, Version::v5, p, e) && std::get<Connect>(p).version != *v)
      die("connect_version disagrees with decode");
  }
  Properties props;
  DecodeError err;
  if (decode_properties(in, props, err)) {
    std::string out;
    encode_properties(props, out);
    Properties back;
    if (!decode_properties(as_bytes(out), back, err) || !(back == props))
      die("property block round trip differs");
  }
  for (auto fn : {valid_utf8, valid_topic_name, valid_topic_filter})
    (void)fn(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
