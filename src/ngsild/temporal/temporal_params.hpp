// The temporal query parameters of the NGSI-LD Temporal API (ETSI GS CIM 009
// v1.8 clauses 4.11, 5.7.3, 5.7.4, 6.18, 6.19), parsed and checked once.
//
//   timerel=before|after|between, timeAt, endTimeAt (ISO 8601 date-times;
//   "time"/"endTime", the names before v1.4, are accepted too),
//   timeproperty=observedAt (createdAt/modifiedAt/deletedAt are refused: the
//   history keeps one time per point, the observation time),
//   lastN, options=temporalValues|aggregatedValues|sysAttrs (also format=),
//   aggrMethods, aggrPeriodDuration (ISO 8601 duration).
//
// Time window semantics (our choice where the spec only says before/after/between):
//   before   t <  timeAt
//   after    t >  timeAt             (exclusive, so that paging on with
//                                     timeAt = the Content-Range end neither
//                                     repeats nor skips an instance)
//   between  timeAt <= t < endTimeAt
//   (none)   the whole history
//
// Errors name the parameter (ParamError::param) and carry the NGSI-LD problem
// type: BadRequestData for a malformed or inconsistent value,
// OperationNotSupported (422) for a valid request this server cannot answer.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.hpp"

namespace urbis::ngsild::temporal {

enum class TimeRel : uint8_t { kNone, kBefore, kAfter, kBetween };

enum class AggrMethod : uint8_t { kTotalCount, kDistinctCount, kSum, kAvg, kMin, kMax, kStddev, kSumsq };

// "totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq".
std::string_view aggr_method_name(AggrMethod m);

// An ISO 8601 duration split into its calendar part (years and months, whose
// length varies) and its fixed part (weeks, days, hours, minutes, seconds; a
// day is 24 h: times are UTC).
struct Duration {
  int64_t months = 0;
  int64_t ms = 0;
  bool zero() const { return months == 0 && ms == 0; }
  bool operator==(const Duration&) const = default;
};

// "P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S" (the last given element may have a
// fraction: "PT0.5S", "PT1.5H"), kept to the millisecond. "PT0S" and "P0D"
// are valid (zero). nullopt for anything else: "", "P", "PT", "1H", "P1H",
// "PT1D", "-P1D", "P1Y2Y", combined date-time forms ("P0001-02-03").
std::optional<Duration> parse_duration(std::string_view s);

// `t` plus `n` times `d`, adding calendar months to the UTC date first (the
// day clamped to the end of a shorter month: Jan 31 + P1M = Feb 28/29), then
// the fixed part. n >= 0.
int64_t add_duration(int64_t t_ms, const Duration& d, int64_t n = 1);

enum class Format : uint8_t { kNormalized, kTemporalValues, kAggregated };

struct TemporalParams {
  TimeRel timerel = TimeRel::kNone;
  int64_t time_at_ms = 0;      // with timerel
  int64_t end_time_at_ms = 0;  // with kBetween
  std::optional<size_t> last_n;
  Format format = Format::kNormalized;
  bool sys_attrs = false;
  std::vector<AggrMethod> aggr_methods;  // kAggregated: at least one, no duplicates, in request order
  Duration aggr_period;                  // zero = one period over the whole range

  // The window as a half-open range [from, to) of epoch milliseconds.
  int64_t from_ms() const;
  int64_t to_ms() const;
};

struct ParamError {
  std::string type;   // "BadRequestData" or "OperationNotSupported" (short NGSI-LD problem type)
  std::string param;  // the offending parameter, e.g. "timeAt"
  std::string detail;
};

// Reads the parameters through `get` (a request's query parameters: the value
// of a name, or nullopt when absent).
using ParamGetter = std::function<std::optional<std::string_view>(std::string_view)>;
std::variant<TemporalParams, ParamError> parse_temporal_params(const ParamGetter& get);

}  // namespace urbis::ngsild::temporal
