// Bulk import input: a JSON array of device objects (the create body), or CSV
// text with a header row. Both become one DeviceSpec (or one error) per row,
// so every row is validated by the same parse_device_spec() as a single
// create and gets its own report line.
//
// CSV (RFC 4180: comma separated, "quoted" fields with "" for a quote, CRLF or
// LF line ends). Header names, case-insensitive, any order, only `id`
// required: id, tenant, name, profile, longitude (or lon), latitude (or lat),
// altitude (or alt), tags (separated by ';'), state, firmware, certificate
// (true/false). An empty cell means "not given". An unknown header name fails
// the whole import, naming it (a misspelt column must not silently drop data).
//
//   id,tenant,name,latitude,longitude,tags
//   aq-001,default,Main St air,45.07,7.68,air;street
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "devices/registry/device.hpp"

namespace urbis::devices {

inline constexpr size_t kMaxImportRows = 10000;

struct ImportRow {
  size_t row = 0;      // 1-based, counting data rows only (not the CSV header)
  std::string id;      // as given, for the report, even when invalid
  Result<DeviceSpec> spec = InvalidArgument("row: empty");
};

// Fails as a whole (InvalidArgument) only when the document itself is unusable:
// not a JSON array, CSV without a header or `id` column, unknown column,
// unbalanced quotes, more than kMaxImportRows rows.
Result<std::vector<ImportRow>> parse_import_json(const boost::json::value& v);
Result<std::vector<ImportRow>> parse_import_csv(std::string_view text);

}  // namespace urbis::devices
