#include <fmt/format.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "model/entity_json.hpp"
#include "model/entity_store.hpp"
#include "ngsild/api/history.hpp"
#include "ngsild/api/params.hpp"
#include "tsdb/time_series_store.hpp"
#include "ngsild/api/routes.hpp"

namespace urbis::ngsild {

namespace json = boost::json;
namespace bhttp = boost::beast::http;
using bhttp::verb;

namespace {

enum class Op : uint8_t { kCreate, kUpsert, kUpdate, kMerge, kDelete };

// The outcome of a batch, collected from the writer thread as each write
// commits; the last one records the history of the whole batch in one append
// (one commit instead of one per entity) and answers (GS CIM 009, 5.2.16
// BatchOperationResult).
class BatchResult : public std::enable_shared_from_this<BatchResult> {
 public:
  BatchResult(Op op, size_t n, tsdb::TimeSeriesStore* history, http::Reply reply)
      : op_(op), remaining_(n), history_(history), reply_(std::move(reply)) {}

  void success(std::string id, bool created, std::vector<tsdb::Measurement> points) {
    {
      std::lock_guard lock(mu_);
      success_.emplace_back(std::move(id), created);
      for (tsdb::Measurement& m : points) points_.push_back(std::move(m));
    }
    finish_one();
  }
  void failure(std::string id, const http::Response& problem) {
    {
      std::lock_guard lock(mu_);
      json::object e;
      e["entityId"] = std::move(id);
      boost::system::error_code ec;
      e["error"] = json::parse(problem.body, ec);
      errors_.emplace_back(std::move(e));
    }
    finish_one();
  }

 private:
  void finish_one() {
    if (remaining_.fetch_sub(1) != 1) return;
    if (history_ && !points_.empty()) {
      // Every write has completed: nothing touches points_ any more.
      history_->append(std::move(points_), [self = shared_from_this()](const Status& st) {
        if (!st.ok()) return self->reply_(error_from(st));
        self->answer();
      });
      return;
    }
    answer();
  }

  void answer() {
    std::lock_guard lock(mu_);
    if (errors_.empty()) {
      bool any_created = false;
      for (auto& [id, created] : success_) any_created = any_created || created;
      if ((op_ == Op::kCreate) || (op_ == Op::kUpsert && any_created)) {
        json::array ids;
        for (auto& [id, created] : success_)
          if (created) ids.emplace_back(id);
        return reply_(http::Response::json(ids, bhttp::status::created));
      }
      return reply_(no_content());
    }
    json::object body;
    json::array ok;
    for (auto& [id, created] : success_) ok.emplace_back(id);
    body["success"] = std::move(ok);
    body["errors"] = std::move(errors_);
    reply_(http::Response::json(body, bhttp::status::multi_status));
  }

  std::mutex mu_;
  Op op_;
  std::atomic<size_t> remaining_;
  tsdb::TimeSeriesStore* history_;
  http::Reply reply_;
  std::vector<tsdb::Measurement> points_;
  std::vector<std::pair<std::string, bool>> success_;
  json::array errors_;
};

// The history points of a committed entity, when the API records history.
std::vector<tsdb::Measurement> points_of(const ApiDeps& deps, const std::string& tenant,
                                         const std::shared_ptr<const model::Entity>& e,
                                         const std::vector<std::string>* names) {
  if (!deps.history || !e) return {};
  return history_points(tenant, *e, names);
}

std::vector<std::string> names_of(const model::Entity& e) {
  std::vector<std::string> out;
  for (const auto& [name, instances] : e.attributes) out.push_back(name);
  return out;
}

std::string id_of(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_object()) {
    const json::object& o = v.as_object();
    for (const char* k : {"id", "@id"})
      if (const json::value* id = o.if_contains(k); id && id->is_string()) return std::string(id->as_string());
  }
  return {};
}

void run_batch(const ApiDeps& deps, const Call& call, http::Reply reply, Op op) {
  if (!call.body.is_array())
    return reply(error(ErrorType::kInvalidRequest, "body: expected a JSON array", "body"));
  const json::array& items = call.body.as_array();
  if (items.empty()) return reply(error(ErrorType::kBadRequestData, "body: empty array", "body"));
  if (items.size() > deps.limits.max_batch)
    return reply(error(ErrorType::kBadRequestData,
                       "body: " + std::to_string(items.size()) + " entities, above the batch maximum of " +
                           std::to_string(deps.limits.max_batch),
                       "body"));
  bool merge_existing = op == Op::kUpsert && has_option(call, "update");
  bool no_overwrite = op == Op::kUpdate && has_option(call, "noOverwrite");
  auto result = std::make_shared<BatchResult>(op, items.size(), deps.history, std::move(reply));
  // Entities named twice in one batch would race each other; the spec leaves
  // the order open, the store applies writes in call order, which is the
  // array order.
  for (size_t i = 0; i < items.size(); ++i) {
    const json::value& item = items[i];
    std::string id = id_of(item);
    std::string where = fmt::format("[{}]", i);
    if (op == Op::kDelete) {
      if (!item.is_string() || !model::looks_like_uri(id)) {
        result->failure(id, error(ErrorType::kBadRequestData, where + ": expected an entity id (a URI)", "body"));
        continue;
      }
      deps.store->delete_entity(call.tenant, id, [result, id](Result<model::WriteOutcome> r) {
        if (!r.ok()) return result->failure(id, error_from(r.status(), "id"));
        result->success(id, false, {});
      });
      continue;
    }
    auto e = entity_from_body(call, item, /*fragment=*/op == Op::kUpdate || op == Op::kMerge);
    if (e.ok() && e->id.empty()) e = InvalidArgument("id: required");
    if (!e.ok()) {
      result->failure(id, error_from(Status(e.status().code(), where + " " + e.status().message())));
      continue;
    }
    auto names = std::make_shared<std::vector<std::string>>(names_of(*e));
    auto done_plain = [&deps, tenant = call.tenant, names, result, id](Result<model::WriteOutcome> r) {
      if (!r.ok()) return result->failure(id, error_from(r.status(), "id"));
      std::vector<std::string> written;
      for (const std::string& n : *names)
        if (std::find(r->not_updated.begin(), r->not_updated.end(), n) == r->not_updated.end()) written.push_back(n);
      result->success(id, false, points_of(deps, tenant, r->entity, &written));
    };
    switch (op) {
      case Op::kCreate:
        deps.store->create(call.tenant, std::move(*e), [&deps, tenant = call.tenant, result, id](Result<model::WriteOutcome> r) {
          if (!r.ok()) return result->failure(id, error_from(r.status(), "id"));
          result->success(id, true, points_of(deps, tenant, r->entity, nullptr));
        });
        break;
      case Op::kUpsert: {
        bool existed = deps.store->get(call.tenant, id) != nullptr;
        deps.store->upsert(call.tenant, std::move(*e), merge_existing,
                           [&deps, tenant = call.tenant, names, merge_existing, result, id,
                            existed](Result<model::WriteOutcome> r) {
                             if (!r.ok()) return result->failure(id, error_from(r.status(), "id"));
                             const bool all = !existed || !merge_existing;
                             result->success(id, !existed, points_of(deps, tenant, r->entity, all ? nullptr : names.get()));
                           });
        break;
      }
      case Op::kUpdate:
        deps.store->append(call.tenant, id, std::move(*e),
                           no_overwrite ? model::AppendMode::kNoOverwrite : model::AppendMode::kOverwrite,
                           done_plain);
        break;
      case Op::kMerge: deps.store->merge(call.tenant, std::move(*e), done_plain); break;
      case Op::kDelete: break;
    }
  }
}

}  // namespace

Status register_batch_routes(http::Router& router, const ApiDeps& deps) {
  struct Def {
    const char* pattern;
    const char* summary;
    Op op;
  };
  const Def defs[] = {
      {"/ngsi-ld/v1/entityOperations/create", "NGSI-LD batch create (201 ids, or 207 BatchOperationResult)",
       Op::kCreate},
      {"/ngsi-ld/v1/entityOperations/upsert",
       "NGSI-LD batch upsert; options=replace (default) or update (201 created ids, 204, or 207)", Op::kUpsert},
      {"/ngsi-ld/v1/entityOperations/update", "NGSI-LD batch update of existing entities; options=noOverwrite",
       Op::kUpdate},
      {"/ngsi-ld/v1/entityOperations/merge", "NGSI-LD batch merge-patch of existing entities", Op::kMerge},
      {"/ngsi-ld/v1/entityOperations/delete", "NGSI-LD batch delete (body: array of entity ids)", Op::kDelete},
  };
  for (const Def& d : defs) {
    Op op = d.op;
    Status st = add_api_route(router, deps, verb::post, d.pattern, d.summary, BodyKind::kJson,
                              [op](const ApiDeps& deps, Call call, http::Reply reply) {
                                run_batch(deps, call, std::move(reply), op);
                              });
    if (!st.ok()) return st;
  }
  return Status();
}

}  // namespace urbis::ngsild
