#include "devices/registry/import.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace urbis::devices {

namespace json = boost::json;

namespace {

// Splits CSV text into records of fields. Quoted fields may hold commas,
// quotes ("") and line breaks.
Result<std::vector<std::vector<std::string>>> split_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  auto end_record = [&]() {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
    // A blank line is no record.
    if (!(record.size() == 1 && record[0].empty())) records.push_back(std::move(record));
    record.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // CRLF: the '\n' ends the record.
    } else if (c == '\n') {
      ++line;
      end_record();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) return InvalidArgument("csv: line " + std::to_string(line) + ": unterminated quoted field");
  if (field_started || !record.empty()) end_record();
  return records;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

enum class Column { kId, kTenant, kName, kProfile, kLon, kLat, kAlt, kTags, kState, kFirmware, kCertificate };

std::optional<Column> column_of(std::string_view h) {
  static const std::pair<std::string_view, Column> kNames[] = {
      {"id", Column::kId},           {"tenant", Column::kTenant},     {"name", Column::kName},
      {"profile", Column::kProfile}, {"longitude", Column::kLon},     {"lon", Column::kLon},
      {"latitude", Column::kLat},    {"lat", Column::kLat},           {"altitude", Column::kAlt},
      {"alt", Column::kAlt},         {"tags", Column::kTags},         {"state", Column::kState},
      {"firmware", Column::kFirmware}, {"certificate", Column::kCertificate},
  };
  for (const auto& [n, c] : kNames) {
    if (n == h) return c;
  }
  return std::nullopt;
}

Result<double> number_cell(const std::string& s, std::string_view field) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return InvalidArgument(std::string(field) + ": expected a number");
  return v;
}

// One CSV record as the JSON object a create body would be.
Result<json::object> record_to_object(const std::vector<Column>& columns, const std::vector<std::string>& cells) {
  if (cells.size() > columns.size())
    return InvalidArgument("row: " + std::to_string(cells.size()) + " fields but " + std::to_string(columns.size()) +
                           " columns in the header");
  json::object o;
  std::optional<double> lon, lat, alt;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string v = trim(cells[i]);
    if (v.empty()) continue;
    switch (columns[i]) {
      case Column::kId: o["id"] = v; break;
      case Column::kTenant: o["tenant"] = v; break;
      case Column::kName: o["name"] = v; break;
      case Column::kProfile: o["profile"] = v; break;
      case Column::kState: o["state"] = v; break;
      case Column::kFirmware: o["firmware"] = v; break;
      case Column::kLon:
      case Column::kLat:
      case Column::kAlt: {
        const char* name = columns[i] == Column::kLon ? "longitude" : columns[i] == Column::kLat ? "latitude" : "altitude";
        auto n = number_cell(v, name);
        if (!n.ok()) return n.status();
        (columns[i] == Column::kLon ? lon : columns[i] == Column::kLat ? lat : alt) = *n;
        break;
      }
      case Column::kTags: {
        json::array tags;
        size_t start = 0;
        while (start <= v.size()) {
          size_t end = v.find(';', start);
          if (end == std::string::npos) end = v.size();
          std::string t = trim(std::string_view(v).substr(start, end - start));
          if (!t.empty()) tags.emplace_back(json::string(t));
          start = end + 1;
        }
        o["tags"] = std::move(tags);
        break;
      }
      case Column::kCertificate: {
        std::string b = lower(v);
        if (b != "true" && b != "false") return InvalidArgument("certificate: expected true or false");
        o["certificate"] = b == "true";
        break;
      }
    }
  }
  if (lon || lat || alt) {
    if (!lon) return InvalidArgument("longitude: required with latitude");
    if (!lat) return InvalidArgument("latitude: required with longitude");
    json::array c{*lon, *lat};
    if (alt) c.emplace_back(*alt);
    o["location"] = json::object{{"type", "Point"}, {"coordinates", std::move(c)}};
  }
  return o;
}

std::string id_of(const json::value& v) {
  if (v.is_object()) {
    if (auto id = v.as_object().if_contains("id"); id && id->is_string()) return std::string(id->as_string());
  }
  return {};
}

}  // namespace

Result<std::vector<ImportRow>> parse_import_json(const json::value& v) {
  if (!v.is_array()) return InvalidArgument("body: expected a JSON array of devices");
  const json::array& a = v.as_array();
  if (a.size() > kMaxImportRows)
    return InvalidArgument("body: more than " + std::to_string(kMaxImportRows) + " devices in one import");
  std::vector<ImportRow> rows;
  rows.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) rows.push_back({i + 1, id_of(a[i]), parse_device_spec(a[i])});
  return rows;
}

Result<std::vector<ImportRow>> parse_import_csv(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // spreadsheet BOM
  auto records = split_csv(text);
  if (!records.ok()) return records.status();
  if (records->empty()) return InvalidArgument("csv: no header row");
  std::vector<Column> columns;
  bool have_id = false;
  for (const auto& h : (*records)[0]) {
    std::string name = lower(trim(h));
    auto c = column_of(name);
    if (!c) return InvalidArgument("csv: unknown column '" + name + "'");
    if (std::find(columns.begin(), columns.end(), *c) != columns.end())
      return InvalidArgument("csv: column '" + name + "' appears twice");
    have_id = have_id || *c == Column::kId;
    columns.push_back(*c);
  }
  if (!have_id) return InvalidArgument("csv: the header has no 'id' column");
  if (records->size() - 1 > kMaxImportRows)
    return InvalidArgument("csv: more than " + std::to_string(kMaxImportRows) + " devices in one import");
  std::vector<ImportRow> rows;
  for (size_t i = 1; i < records->size(); ++i) {
    ImportRow r;
    r.row = i;
    const auto& cells = (*records)[i];
    for (size_t c = 0; c < cells.size() && c < columns.size(); ++c) {
      if (columns[c] == Column::kId) r.id = trim(cells[c]);
    }
    auto o = record_to_object(columns, cells);
    r.spec = o.ok() ? parse_device_spec(json::value(std::move(*o))) : Result<DeviceSpec>(o.status());
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace urbis::devices
