#include "devices/decoders/cbor.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "devices/decoders/encoding.hpp"

namespace urbis::devices {

namespace json = boost::json;

namespace {

constexpr uint8_t kBreak = 0xff;

class Reader {
 public:
  Reader(std::string_view in, const CborOptions& o) : in_(in), o_(o) {}

  Status item(json::value& out, size_t depth) {
    if (depth > o_.max_depth) return fail("nesting deeper than " + std::to_string(o_.max_depth));
    if (pos_ >= in_.size()) return truncated("a data item");
    const size_t start = pos_;
    const uint8_t ib = byte();
    const int major = ib >> 5;
    const int info = ib & 31;
    if (major == 7) return simple(info, start, out);
    uint64_t arg = 0;
    bool indefinite = false;
    if (Status s = argument(info, start, arg, indefinite); !s.ok()) return s;
    if (indefinite && (major == 0 || major == 1 || major == 6))
      return fail_at(start, "indefinite length on an integer or tag");
    switch (major) {
      case 0:
        out = arg;
        if (arg <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) out = static_cast<int64_t>(arg);
        return Status::Ok();
      case 1:
        if (arg <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          out = -1 - static_cast<int64_t>(arg);
        } else {
          out = -1.0 - static_cast<double>(arg);
        }
        return Status::Ok();
      case 2:
      case 3: {
        std::string s;
        if (Status st = string(major, arg, indefinite, start, s); !st.ok()) return st;
        if (major == 2) {
          out = json::string(base64url_encode(s));
        } else {
          out = json::string(s);
        }
        return Status::Ok();
      }
      case 4: {
        json::array a;
        for (uint64_t i = 0; indefinite || i < arg; ++i) {
          if (indefinite && at_break()) break;
          json::value v;
          if (Status s = item(v, depth + 1); !s.ok()) return s;
          a.push_back(std::move(v));
        }
        out = std::move(a);
        return Status::Ok();
      }
      case 5: {
        json::object m;
        for (uint64_t i = 0; indefinite || i < arg; ++i) {
          if (indefinite && at_break()) break;
          std::string key;
          if (Status s = map_key(key); !s.ok()) return s;
          json::value v;
          if (Status s = item(v, depth + 1); !s.ok()) return s;
          if (m.contains(key)) return fail_at(start, "repeated map key '" + key + "'");
          m.emplace(key, std::move(v));
        }
        out = std::move(m);
        return Status::Ok();
      }
      case 6:  // tag: the content stands for itself
        return item(out, depth + 1);
    }
    return fail_at(start, "unknown major type");  // unreachable: major is 3 bits
  }

  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  Status fail(const std::string& what) const { return fail_at(pos_, what); }

 private:
  uint8_t byte() { return static_cast<uint8_t>(in_[pos_++]); }

  Status fail_at(size_t at, const std::string& what) const {
    return InvalidArgument("cbor: " + what + " at byte " + std::to_string(at));
  }
  Status truncated(const std::string& what) const {
    return InvalidArgument("cbor: truncated at byte " + std::to_string(in_.size()) + " (" + what + " expected)");
  }

  // Consumes a break byte if it is next (ending an indefinite-length item).
  bool at_break() {
    if (pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) == kBreak) {
      ++pos_;
      return true;
    }
    return false;
  }

  Status uint_bytes(size_t n, uint64_t& out) {
    if (in_.size() - pos_ < n) return truncated(std::to_string(n) + "-byte argument");
    out = 0;
    for (size_t i = 0; i < n; ++i) out = (out << 8) | byte();
    return Status::Ok();
  }

  Status argument(int info, size_t start, uint64_t& out, bool& indefinite) {
    if (info < 24) {
      out = static_cast<uint64_t>(info);
      return Status::Ok();
    }
    switch (info) {
      case 24: return uint_bytes(1, out);
      case 25: return uint_bytes(2, out);
      case 26: return uint_bytes(4, out);
      case 27: return uint_bytes(8, out);
      case 31: indefinite = true; return Status::Ok();
    }
    return fail_at(start, "reserved additional information " + std::to_string(info));
  }

  Status string(int major, uint64_t len, bool indefinite, size_t start, std::string& out) {
    if (!indefinite) {
      if (len > in_.size() - pos_)
        return truncated((major == 2 ? "byte string of " : "text string of ") + std::to_string(len) + " bytes");
      out.append(in_.substr(pos_, static_cast<size_t>(len)));
      pos_ += static_cast<size_t>(len);
      return Status::Ok();
    }
    // Chunks: definite-length strings of the same major type, then a break.
    while (!at_break()) {
      if (pos_ >= in_.size()) return truncated("a string chunk or break");
      const size_t chunk_start = pos_;
      const uint8_t ib = byte();
      if ((ib >> 5) != major || (ib & 31) == 31) return fail_at(chunk_start, "bad chunk in an indefinite-length string");
      uint64_t chunk_len = 0;
      bool ignored = false;
      if (Status s = argument(ib & 31, chunk_start, chunk_len, ignored); !s.ok()) return s;
      if (Status s = string(major, chunk_len, false, chunk_start, out); !s.ok()) return s;
    }
    (void)start;
    return Status::Ok();
  }

  Status map_key(std::string& key) {
    if (pos_ >= in_.size()) return truncated("a map key");
    const size_t start = pos_;
    const int major = static_cast<uint8_t>(in_[pos_]) >> 5;
    if (major != 0 && major != 1 && major != 3) return fail_at(start, "map key that is neither an integer nor text");
    json::value k;
    if (Status s = item(k, o_.max_depth); !s.ok()) return s;  // integers and text have no nesting
    if (k.is_string()) {
      key = std::string(k.get_string());
    } else if (k.is_int64()) {
      key = o_.key_name ? o_.key_name(k.get_int64()) : std::to_string(k.get_int64());
    } else {
      return fail_at(start, "integer map key out of range");
    }
    return Status::Ok();
  }

  Status simple(int info, size_t start, json::value& out) {
    switch (info) {
      case 20: out = false; return Status::Ok();
      case 21: out = true; return Status::Ok();
      case 22:
      case 23: out = nullptr; return Status::Ok();
      case 25: {
        uint64_t h = 0;
        if (Status s = uint_bytes(2, h); !s.ok()) return s;
        out = half_to_double(static_cast<uint16_t>(h));
        return Status::Ok();
      }
      case 26: {
        uint64_t b = 0;
        if (Status s = uint_bytes(4, b); !s.ok()) return s;
        const auto bits = static_cast<uint32_t>(b);
        float f;
        std::memcpy(&f, &bits, sizeof f);
        out = static_cast<double>(f);
        return Status::Ok();
      }
      case 27: {
        uint64_t b = 0;
        if (Status s = uint_bytes(8, b); !s.ok()) return s;
        double d;
        std::memcpy(&d, &b, sizeof d);
        out = d;
        return Status::Ok();
      }
      case 31: return fail_at(start, "unexpected break");
    }
    return fail_at(start, "unsupported simple value");
  }

  static double half_to_double(uint16_t h) {
    const int exp = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    double v;
    if (exp == 0) {
      v = std::ldexp(mant, -24);
    } else if (exp != 31) {
      v = std::ldexp(mant + 1024, exp - 25);
    } else {
      v = mant == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    }
    return (h & 0x8000) ? -v : v;
  }

  std::string_view in_;
  const CborOptions& o_;
  size_t pos_ = 0;
};

}  // namespace

Result<json::value> cbor_to_json(std::string_view bytes, const CborOptions& options) {
  Reader r(bytes, options);
  json::value v;
  if (Status s = r.item(v, 0); !s.ok()) return s;
  if (!r.done()) return r.fail("trailing bytes after the data item");
  return v;
}

}  // namespace urbis::devices
