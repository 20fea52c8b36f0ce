#include "http/data_routes.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "model/entity_json.hpp"

namespace urbis::http {

namespace json = boost::json;

namespace {

constexpr size_t kMaxHistoryPoints = 100000;

// "default" names the default tenant, as in ingest topics.
std::string tenant_of(const Request& req) {
  std::string t(req.query_param("tenant").value_or(""));
  return t == "default" ? std::string() : t;
}

Response bad_request(std::string_view detail, std::string_view field) {
  return problem(bhttp::status::bad_request, "https://uri.etsi.org/ngsi-ld/errors/BadRequestData", "Bad request",
                 detail, {{"field", field}});
}

// ISO 8601 or epoch milliseconds.
std::optional<int64_t> parse_time(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) return v;
  return model::parse_datetime_ms(s);
}

json::value point_value(const tsdb::Value& v) {
  switch (v.kind) {
    case tsdb::Value::Kind::kNumber: return v.number;
    case tsdb::Value::Kind::kBool: return v.number != 0;
    case tsdb::Value::Kind::kString: return json::string(v.text);
    case tsdb::Value::Kind::kJson: {
      boost::system::error_code ec;
      auto parsed = json::parse(v.text, ec);
      return ec ? json::value(json::string(v.text)) : parsed;
    }
  }
  return nullptr;
}

}  // namespace

Status register_data_routes(Router& router, model::EntityStore& state, tsdb::TimeSeriesStore& history) {
  auto st = router.add(bhttp::verb::get, "/api/v1/entities/{entityId}",
                       "Current state of one entity (NGSI-LD normalized JSON); ?tenant=",
                       [&state](const Request& req) {
                         std::string tenant = tenant_of(req);
                         std::string id(*req.param("entityId"));
                         auto e = state.get(tenant, id);
                         if (!e) {
                           return problem(bhttp::status::not_found,
                                          "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound", "Not found",
                                          "no entity '" + id + "' in tenant '" + tenant + "'",
                                          {{"field", "entityId"}});
                         }
                         Response r;
                         r.body = model::entity_to_text(*e);
                         return r;
                       });
  if (!st.ok()) return st;
  return router.add(
      bhttp::verb::get, "/api/v1/history/{entityId}/{attribute}",
      "History of one attribute; ?tenant=&from=&to=&limit=&order=asc|desc", [&history](const Request& req) {
        tsdb::RangeQuery q;
        q.key.tenant = tenant_of(req);
        q.key.entity_id = std::string(*req.param("entityId"));
        q.key.attribute = std::string(*req.param("attribute"));
        q.key.dataset_id = std::string(req.query_param("datasetId").value_or(""));
        if (auto f = req.query_param("from")) {
          auto t = parse_time(*f);
          if (!t) return bad_request("from: expected ISO 8601 or epoch milliseconds", "from");
          q.from_ms = *t;
        }
        if (auto f = req.query_param("to")) {
          auto t = parse_time(*f);
          if (!t) return bad_request("to: expected ISO 8601 or epoch milliseconds", "to");
          q.to_ms = *t;
        }
        q.limit = kMaxHistoryPoints;
        if (auto l = req.query_param("limit")) {
          size_t n = 0;
          auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
          if (ec != std::errc() || p != l->data() + l->size() || n == 0 || n > kMaxHistoryPoints)
            return bad_request("limit: expected 1.." + std::to_string(kMaxHistoryPoints), "limit");
          q.limit = n;
        }
        if (auto o = req.query_param("order")) {
          if (*o != "asc" && *o != "desc") return bad_request("order: expected asc or desc", "order");
          q.descending = *o == "desc";
        }
        auto points = history.range(q);
        if (!points.ok()) {
          return problem(bhttp::status::internal_server_error, "https://uri.etsi.org/ngsi-ld/errors/InternalError",
                         "Internal error", points.status().message());
        }
        json::array arr;
        arr.reserve(points->size());
        for (const auto& p : *points) {
          json::array row;
          row.emplace_back(p.t_ms);
          row.emplace_back(point_value(p.value));
          arr.emplace_back(std::move(row));
        }
        json::object out;
        out["entityId"] = q.key.entity_id;
        out["attribute"] = q.key.attribute;
        out["points"] = std::move(arr);
        return Response::json(out);
      });
}

}  // namespace urbis::http
