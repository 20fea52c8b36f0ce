// Fuzz target: the JSON measurement decoder behind the ingest topics.
// Input: "<topic after the prefix>\n<payload>". Decoding must never crash;
// what decodes must be well-formed (an id, a type, one point per attribute).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ingest/json_ingest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view topic = nl == std::string_view::npos ? in : in.substr(0, nl);
  std::string_view payload = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  auto r = urbis::ingest::decode_json_measurements(topic, payload, 1795594500000, "");
  if (r.ok()) {
    if (r->entity_id.empty() || r->entity_type.empty() || r->measurements.empty()) std::abort();
    for (const auto& m : r->measurements) {
      if (m.key.entity_id != r->entity_id || m.key.attribute.empty()) std::abort();
    }
  }
  return 0;
}
