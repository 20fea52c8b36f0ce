#include "ngsild/temporal/temporal_params.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "model/entity_json.hpp"

namespace urbis::ngsild::temporal {

namespace {

constexpr int64_t kSecondMs = 1000;
constexpr int64_t kMinuteMs = 60 * kSecondMs;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kWeekMs = 7 * kDayMs;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

ParamError bad(std::string param, std::string detail) {
  return {"BadRequestData", std::move(param), std::move(detail)};
}

// A time zone typed as "+01:00" in a URL arrives as " 01:00" ('+' is a space
// in a query string): say so instead of leaving the client to guess.
std::string plus_hint(std::string_view value) {
  return value.find(' ') == std::string_view::npos ? std::string()
                                                    : " (a '+' in a URL query reads as a space: send it as %2B)";
}

// Splits a comma-separated list, trimming nothing (NGSI-LD lists have no spaces).
std::vector<std::string_view> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

std::string_view aggr_method_name(AggrMethod m) {
  switch (m) {
    case AggrMethod::kTotalCount: return "totalCount";
    case AggrMethod::kDistinctCount: return "distinctCount";
    case AggrMethod::kSum: return "sum";
    case AggrMethod::kAvg: return "avg";
    case AggrMethod::kMin: return "min";
    case AggrMethod::kMax: return "max";
    case AggrMethod::kStddev: return "stddev";
    case AggrMethod::kSumsq: return "sumsq";
  }
  return "";
}

std::optional<Duration> parse_duration(std::string_view s) {
  if (s.size() < 3 || s[0] != 'P') return std::nullopt;
  // Designators in the order they must appear; the unit of each in ms (0 for
  // the calendar ones, counted in months instead).
  struct Unit {
    char designator;
    bool time_part;
    int64_t ms;
    int64_t months;
  };
  static constexpr Unit kUnits[] = {{'Y', false, 0, 12}, {'M', false, 0, 1}, {'W', false, kWeekMs, 0},
                                    {'D', false, kDayMs, 0}, {'H', true, kHourMs, 0}, {'M', true, kMinuteMs, 0},
                                    {'S', true, kSecondMs, 0}};
  Duration d;
  size_t i = 1;
  size_t next_unit = 0;  // units before this one are used up
  bool in_time = false;
  bool any = false;
  bool fraction_seen = false;
  bool time_element = false;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      while (next_unit < std::size(kUnits) && !kUnits[next_unit].time_part) ++next_unit;
      continue;
    }
    if (fraction_seen) return std::nullopt;  // only the last element may have a fraction
    size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start || i - start > 12) return std::nullopt;
    int64_t whole = 0;
    std::from_chars(s.data() + start, s.data() + i, whole);
    double fraction = 0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      size_t fstart = ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i == fstart) return std::nullopt;
      std::string digits = "0." + std::string(s.substr(fstart, i - fstart));
      fraction = std::strtod(digits.c_str(), nullptr);
      fraction_seen = true;
    }
    if (i >= s.size()) return std::nullopt;
    char designator = s[i++];
    size_t u = next_unit;
    while (u < std::size(kUnits) && (kUnits[u].designator != designator || kUnits[u].time_part != in_time)) ++u;
    if (u == std::size(kUnits)) return std::nullopt;
    const Unit& unit = kUnits[u];
    next_unit = u + 1;
    if (unit.months) {
      if (fraction_seen) return std::nullopt;  // a fraction of a month has no fixed length
      d.months += whole * unit.months;
    } else {
      int64_t add = 0;
      if (__builtin_mul_overflow(whole, unit.ms, &add)) return std::nullopt;
      add += static_cast<int64_t>(std::llround(fraction * static_cast<double>(unit.ms)));
      if (__builtin_add_overflow(d.ms, add, &d.ms)) return std::nullopt;
    }
    any = true;
    time_element = in_time;
  }
  // "PT" with nothing after it, or "P1DT".
  if (!any || (in_time && !time_element)) return std::nullopt;
  return d;
}

int64_t add_duration(int64_t t_ms, const Duration& d, int64_t n) {
  using namespace std::chrono;
  if (d.months != 0 && n != 0) {
    const int64_t day_number = t_ms >= 0 ? t_ms / kDayMs : -((-t_ms + kDayMs - 1) / kDayMs);
    const int64_t in_day = t_ms - day_number * kDayMs;
    year_month_day ymd{sys_days{days{day_number}}};
    int64_t total = static_cast<int64_t>(int(ymd.year())) * 12 + (unsigned(ymd.month()) - 1) + d.months * n;
    int64_t y = total >= 0 ? total / 12 : -((-total + 11) / 12);
    unsigned m = static_cast<unsigned>(total - y * 12) + 1;
    year_month_day_last last{year{int(y)} / month{m} / std::chrono::last};
    unsigned dd = std::min(unsigned(ymd.day()), unsigned(last.day()));
    sys_days moved{year{int(y)} / month{m} / day{dd}};
    t_ms = static_cast<int64_t>(moved.time_since_epoch().count()) * kDayMs + in_day;
  }
  return t_ms + d.ms * n;
}

int64_t TemporalParams::from_ms() const {
  switch (timerel) {
    case TimeRel::kAfter: return time_at_ms + 1;  // exclusive
    case TimeRel::kBetween: return time_at_ms;
    default: return std::numeric_limits<int64_t>::min();
  }
}

int64_t TemporalParams::to_ms() const {
  switch (timerel) {
    case TimeRel::kBefore: return time_at_ms;
    case TimeRel::kBetween: return end_time_at_ms;
    default: return std::numeric_limits<int64_t>::max();
  }
}

std::variant<TemporalParams, ParamError> parse_temporal_params(const ParamGetter& get) {
  TemporalParams p;
  auto first_of = [&](std::string_view a, std::string_view b) -> std::pair<std::string_view, std::optional<std::string_view>> {
    if (auto v = get(a)) return {a, v};
    if (auto v = get(b)) return {b, v};
    return {a, std::nullopt};
  };

  // --- time window
  auto timerel = get("timerel");
  auto [time_name, time_at] = first_of("timeAt", "time");
  auto [end_name, end_time_at] = first_of("endTimeAt", "endTime");
  if (timerel) {
    if (*timerel == "before") p.timerel = TimeRel::kBefore;
    else if (*timerel == "after") p.timerel = TimeRel::kAfter;
    else if (*timerel == "between") p.timerel = TimeRel::kBetween;
    else return bad("timerel", "timerel: expected before, after or between, got '" + std::string(*timerel) + "'");
    if (!time_at) return bad("timeAt", "timeAt: required with timerel=" + std::string(*timerel));
    auto t = model::parse_datetime_ms(*time_at);
    if (!t) return bad(std::string(time_name), std::string(time_name) + ": expected an ISO 8601 date-time, got '" + std::string(*time_at) + "'" + plus_hint(*time_at));
    p.time_at_ms = *t;
    if (p.timerel == TimeRel::kBetween) {
      if (!end_time_at) return bad("endTimeAt", "endTimeAt: required with timerel=between");
      auto e = model::parse_datetime_ms(*end_time_at);
      if (!e) return bad(std::string(end_name), std::string(end_name) + ": expected an ISO 8601 date-time, got '" + std::string(*end_time_at) + "'" + plus_hint(*end_time_at));
      if (*e <= *t) return bad(std::string(end_name), std::string(end_name) + ": must be after " + std::string(time_name));
      p.end_time_at_ms = *e;
    }
  } else if (time_at) {
    return bad("timerel", "timerel: required with " + std::string(time_name));
  } else if (end_time_at) {
    return bad("timerel", "timerel: required with " + std::string(end_name));
  }

  if (auto tp = get("timeproperty")) {
    if (*tp == "createdAt" || *tp == "modifiedAt" || *tp == "deletedAt") {
      return ParamError{"OperationNotSupported", "timeproperty",
                        "timeproperty: only observedAt is supported (the history keeps the observation time of each "
                        "instance, not " + std::string(*tp) + ")"};
    }
    if (*tp != "observedAt") return bad("timeproperty", "timeproperty: expected observedAt, createdAt, modifiedAt or deletedAt, got '" + std::string(*tp) + "'");
  }

  if (auto n = get("lastN")) {
    size_t v = 0;
    auto [ptr, ec] = std::from_chars(n->data(), n->data() + n->size(), v);
    if (ec != std::errc() || ptr != n->data() + n->size() || v == 0) {
      return bad("lastN", "lastN: expected a positive integer, got '" + std::string(*n) + "'");
    }
    p.last_n = v;
  }

  // --- representation: options= (and format=, its v1.8 spelling for the representation)
  bool temporal_values = false, aggregated = false;
  for (std::string_view name : {std::string_view("options"), std::string_view("format")}) {
    auto v = get(name);
    if (!v) continue;
    for (auto o : split_list(*v)) {
      if (o == "temporalValues" || o == "simplified" || o == "keyValues") temporal_values = true;
      else if (o == "aggregatedValues") aggregated = true;
      else if (o == "sysAttrs" && name == "options") p.sys_attrs = true;
      else if (o == "normalized") continue;
      else return bad(std::string(name), std::string(name) + ": unknown value '" + std::string(o) + "' (expected temporalValues, aggregatedValues, sysAttrs or normalized)");
    }
  }
  if (temporal_values && aggregated) {
    return bad("options", "options: temporalValues and aggregatedValues exclude each other");
  }
  p.format = aggregated ? Format::kAggregated : temporal_values ? Format::kTemporalValues : Format::kNormalized;

  if (aggregated) {
    auto methods = get("aggrMethods");
    if (!methods || methods->empty()) return bad("aggrMethods", "aggrMethods: required with options=aggregatedValues");
    for (auto m : split_list(*methods)) {
      std::optional<AggrMethod> found;
      for (int i = 0; i <= static_cast<int>(AggrMethod::kSumsq); ++i) {
        if (aggr_method_name(static_cast<AggrMethod>(i)) == m) found = static_cast<AggrMethod>(i);
      }
      if (!found) {
        return bad("aggrMethods", "aggrMethods: unknown method '" + std::string(m) +
                                      "' (expected totalCount, distinctCount, sum, avg, min, max, stddev, sumsq)");
      }
      if (std::find(p.aggr_methods.begin(), p.aggr_methods.end(), *found) == p.aggr_methods.end()) {
        p.aggr_methods.push_back(*found);
      }
    }
    if (auto d = get("aggrPeriodDuration")) {
      auto parsed = parse_duration(*d);
      if (!parsed) {
        return bad("aggrPeriodDuration", "aggrPeriodDuration: expected an ISO 8601 duration such as PT1H or P1D, got '" +
                                             std::string(*d) + "'");
      }
      if (parsed->ms < 0) return bad("aggrPeriodDuration", "aggrPeriodDuration: must not be negative");
      p.aggr_period = *parsed;
    }
  }
  return p;
}

}  // namespace urbis::ngsild::temporal
