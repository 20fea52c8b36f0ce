#include "storage/sqlite/entity_store_sqlite.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

#include "model/entity_json.hpp"
#include "model/json_format.hpp"

namespace urbis::storage::sqlite {

using model::AppendMode;
using model::ChangeEvent;
using model::Entity;
using model::WriteOutcome;

namespace {

// The schema, one forward step per version. Never edit a released step: add a
// new one (docs/formats/storage.md, "Migration policy"). A rowid table: rows
// carry whole documents, for which SQLite advises against WITHOUT ROWID.
constexpr Migration kMigrations[] = {
    {1,
     "CREATE TABLE entities("
     "  tenant TEXT NOT NULL,"
     "  id TEXT NOT NULL,"
     "  types TEXT NOT NULL,"
     "  created_unix_ms INTEGER NOT NULL,"
     "  modified_unix_ms INTEGER NOT NULL,"
     "  doc TEXT NOT NULL,"
     "  PRIMARY KEY(tenant, id));"},
};

constexpr std::string_view kUpsert =
    "INSERT INTO entities(tenant, id, types, created_unix_ms, modified_unix_ms, doc) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(tenant, id) DO UPDATE SET types = excluded.types, created_unix_ms = excluded.created_unix_ms, "
    "modified_unix_ms = excluded.modified_unix_ms, doc = excluded.doc";
constexpr std::string_view kDelete = "DELETE FROM entities WHERE tenant = ?1 AND id = ?2";

model::EntityParseOptions stored_form() {
  model::EntityParseOptions o;
  o.read_sys_attrs = true;
  return o;
}

std::string types_json(const Entity& e) {
  boost::json::array a;
  for (const std::string& t : e.types) a.emplace_back(t);
  return model::to_json(a);
}

std::string first_type(const Entity& e) { return e.types.empty() ? std::string() : e.types.front(); }

std::vector<std::string> attribute_names(const Entity& e) {
  std::vector<std::string> out;
  for (const auto& [name, inst] : e.attributes) out.push_back(name);
  return out;
}

}  // namespace

// One write: its input, and what the last run of its work item decided.
struct SqliteEntityStore::Op {
  enum class Type { kCreate, kReplace, kMerge, kAppend, kUpsertReplace, kUpsertMerge, kDeleteAttribute, kDeleteEntity };
  Type type;
  std::string tenant;
  std::string id;
  Entity entity;  // the document, patch or attributes
  AppendMode mode = AppendMode::kOverwrite;
  std::string attribute, dataset_id;
  bool all_instances = false;
  model::WriteDone done;
  uint64_t seq = 0;  // call order, for the fault hook

  // Output of execute(), overwritten when the writer reruns it.
  Status logical;       // NotFound / AlreadyExists: nothing was written
  bool created = false;
  bool deleted = false;
  bool unchanged = false;  // nothing to write (e.g. noOverwrite kept everything)
  std::shared_ptr<const Entity> result;
  std::shared_ptr<const std::string> doc;
  std::vector<std::string> not_updated;
  std::vector<std::string> touched;
  std::string deleted_type;
};

uint64_t SqliteEntityStore::key_hash(const std::string& tenant, const std::string& id) {
  // The length of the tenant keeps ("a", "bc") and ("ab", "c") apart.
  const size_t h1 = std::hash<std::string>{}(tenant), h2 = std::hash<std::string>{}(id);
  return (h1 * 0x9E3779B97F4A7C15ull) ^ h2 ^ (tenant.size() << 1);
}

int SqliteEntityStore::schema_version() { return std::rbegin(kMigrations)->version; }

SqliteEntityStore::SqliteEntityStore(model::ChangeBus& bus, EntityStoreOptions options)
    : bus_(bus),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : static_cast<const Clock&>(system_clock_)) {}

SqliteEntityStore::~SqliteEntityStore() { writer_.reset(); }

Result<std::unique_ptr<SqliteEntityStore>> SqliteEntityStore::open(const std::string& path, model::ChangeBus& bus,
                                                                    EntityStoreOptions options) {
  DatabaseOptions dbo;
  dbo.synchronous = options.synchronous;
  Result<Database> db = Database::open(path, dbo);
  if (!db.ok()) return db.status();
  if (Status s = db->migrate(kMigrations); !s.ok()) return s;
  if (Status s = db->exec(fmt::format("PRAGMA cache_size = -{}", options.cache_kib)); !s.ok()) return s;
  const WriterOptions wo = options.writer;
  std::unique_ptr<SqliteEntityStore> store(new SqliteEntityStore(bus, std::move(options)));
  if (path != ":memory:") {
    if (Status s = store->load(path); !s.ok()) return s;
  }
  // Any rollback (a failed batch before its rerun, a failed COMMIT, SQLite's
  // own after a full disk) undoes every pending result.
  sqlite3_rollback_hook(
      db->handle(), [](void* self) { static_cast<SqliteEntityStore*>(self)->pending_.clear(); }, store.get());
  store->writer_ = std::make_unique<SqliteWriter>(std::move(db).value(), wo);
  return store;
}

Status SqliteEntityStore::load(const std::string& path) {
  DatabaseOptions ro;
  ro.create = false;
  ro.query_only = true;
  Result<Database> opened = Database::open(path, ro);
  if (!opened.ok()) return opened.status();
  Database& db = opened.value();
  Result<Statement> st = db.prepare("SELECT tenant, id, doc FROM entities");
  if (!st.ok()) return st.status();
  for (;;) {
    Result<bool> row = st->step();
    if (!row.ok()) return row.status();
    if (!row.value()) break;
    const std::string tenant = st->column_text(0), id = st->column_text(1);
    Result<Entity> e = model::entity_from_text(st->column_text(2), stored_form());
    if (!e.ok() || e->id != id) {
      return {Code::kCorruption, fmt::format("{}: entity '{}' of tenant '{}' does not parse: {}", path, id, tenant,
                                             e.ok() ? "its id differs" : e.status().message())};
    }
    index_.put(tenant, std::make_shared<const Entity>(std::move(e).value()));
  }
  return Status::Ok();
}

void SqliteEntityStore::submit(std::shared_ptr<Op> op) {
  op->seq = ++write_seq_;
  {
    std::lock_guard lock(inflight_mu_);
    ++inflight_[key_hash(op->tenant, op->id)];
  }
  writer_->submit([this, op](Database& db) { return execute(db, *op); },
                  [this, op](const Status& s) { complete(*op, s); });
}

std::string SqliteEntityStore::pending_key(const std::string& tenant, const std::string& id) {
  std::string k;
  k.reserve(tenant.size() + 1 + id.size());
  k.append(tenant).push_back('\0');
  k.append(id);
  return k;
}

std::shared_ptr<const Entity> SqliteEntityStore::current(const Op& op) {
  {
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(key_hash(op.tenant, op.id));
    if (it != inflight_.end() && it->second == 1) return index_.get(op.tenant, op.id);
  }
  // Another write to this entity is in flight: an earlier item of this
  // transaction may have changed it.
  if (auto it = pending_.find(pending_key(op.tenant, op.id)); it != pending_.end()) return it->second.entity;
  return index_.get(op.tenant, op.id);
}

Status SqliteEntityStore::execute(Database& db, Op& op) {
  op.logical = Status::Ok();
  op.created = op.deleted = op.unchanged = false;
  op.result.reset();
  op.doc.reset();
  op.not_updated.clear();
  op.touched.clear();
  if (options_.fault_hook) {
    if (Status s = options_.fault_hook(db, op.seq); !s.ok()) return s;
  }
  const std::shared_ptr<const Entity> cur = current(op);
  // modifiedAt grows with every write of an entity, by a millisecond past the
  // previous one when the clock has not moved (writes in one group commit):
  // a write's instances are then exactly those stamped with the entity's
  // modifiedAt (the API's history relies on it), and modifiedAt orders writes.
  // Never more than kMaxLead ahead of the clock: an entity stamped in the
  // future (a clock set back by NTP after a wrong boot date) returns to the
  // clock's time instead of dragging every later write along.
  int64_t now = clock_.unix_ms();
  constexpr int64_t kMaxLead = 1000;
  if (cur && now <= cur->modified_at_ms && cur->modified_at_ms - now < kMaxLead) now = cur->modified_at_ms + 1;
  auto missing = [&] {
    op.logical = NotFound(fmt::format("entity '{}' not found", op.id));
    return Status::Ok();
  };

  using T = Op::Type;
  if ((op.type == T::kCreate || op.type == T::kReplace || op.type == T::kUpsertReplace ||
       op.type == T::kUpsertMerge) &&
      (op.id.empty() || op.entity.types.empty())) {
    op.logical = InvalidArgument("an entity needs an id and at least one type");
    return Status::Ok();
  }
  if (op.id.empty()) return missing();

  Entity next;
  switch (op.type) {
    case T::kCreate:
      if (cur) {
        op.logical = Status(Code::kAlreadyExists, fmt::format("entity '{}' already exists", op.id));
        return Status::Ok();
      }
      next = op.entity;
      model::stamp_new(next, now);
      op.created = true;
      break;
    case T::kUpsertReplace:
    case T::kUpsertMerge:
      if (!cur) {
        next = op.entity;
        model::stamp_new(next, now);
        op.created = true;
      } else if (op.type == T::kUpsertReplace) {
        next = model::replace_entity(*cur, op.entity, now);
      } else {
        next = *cur;
        model::merge_entity(next, op.entity, now);
        op.touched = attribute_names(op.entity);
      }
      break;
    case T::kReplace:
      if (!cur) return missing();
      next = model::replace_entity(*cur, op.entity, now);
      break;
    case T::kMerge:
      if (!cur) return missing();
      next = *cur;
      model::merge_entity(next, op.entity, now);
      op.touched = attribute_names(op.entity);
      break;
    case T::kAppend: {
      if (!cur) return missing();
      next = *cur;
      op.not_updated = model::append_attributes(next, op.entity, op.mode, now);
      if (next.modified_at_ms == cur->modified_at_ms && next == *cur) {
        op.unchanged = true;
        op.result = cur;
        return Status::Ok();
      }
      for (const std::string& n : attribute_names(op.entity))
        if (std::find(op.not_updated.begin(), op.not_updated.end(), n) == op.not_updated.end()) op.touched.push_back(n);
      break;
    }
    case T::kDeleteAttribute: {
      if (!cur) return missing();
      next = *cur;
      if (Status s = model::delete_attribute(next, op.attribute, op.dataset_id, op.all_instances, now); !s.ok()) {
        op.logical = s;
        return Status::Ok();
      }
      op.touched = {op.attribute};
      break;
    }
    case T::kDeleteEntity: {
      if (!cur) return missing();
      Result<Statement*> st = db.cached(kDelete);
      if (!st.ok()) return st.status();
      if (Status s = (*st)->bind_text(1, op.tenant); !s.ok()) return s;
      if (Status s = (*st)->bind_text(2, op.id); !s.ok()) return s;
      if (Status s = (*st)->run(); !s.ok()) return s;
      op.deleted = true;
      op.deleted_type = first_type(*cur);
      pending_[pending_key(op.tenant, op.id)] = Pending{op.seq, nullptr};  // last step: see the design note
      return Status::Ok();
    }
  }

  auto doc = std::make_shared<const std::string>(model::entity_to_text(next, {.sys_attrs = true}));
  Result<Statement*> st = db.cached(kUpsert);
  if (!st.ok()) return st.status();
  Statement& s = **st;
  for (Status b : {s.bind_text(1, op.tenant), s.bind_text(2, next.id), s.bind_text(3, types_json(next)),
                   s.bind(4, next.created_at_ms), s.bind(5, next.modified_at_ms), s.bind_text(6, *doc)}) {
    if (!b.ok()) return b;
  }
  if (Status r = s.run(); !r.ok()) return r;
  op.result = std::make_shared<const Entity>(std::move(next));
  op.doc = std::move(doc);
  pending_[pending_key(op.tenant, op.id)] = Pending{op.seq, op.result};  // last step: see the design note
  return Status::Ok();
}

void SqliteEntityStore::complete(Op& op, const Status& status) {
  const bool apply = status.ok() && op.logical.ok() && !op.unchanged;
  if (apply) {
    if (op.deleted) {
      index_.erase(op.tenant, op.id);
    } else {
      index_.put(op.tenant, op.result);
    }
  }
  // The index now holds this write (or it failed and the rollback emptied
  // the map); a later write of the same transaction keeps its own entry.
  if (auto it = pending_.find(pending_key(op.tenant, op.id)); it != pending_.end() && it->second.seq == op.seq) {
    pending_.erase(it);
  }
  {
    // After the index update: a later write's work item may now read memory.
    std::lock_guard lock(inflight_mu_);
    auto it = inflight_.find(key_hash(op.tenant, op.id));
    if (it != inflight_.end() && --it->second == 0) inflight_.erase(it);
  }
  if (!status.ok()) {
    if (op.done) op.done(status);
    return;
  }
  if (!op.logical.ok()) {
    if (op.done) op.done(op.logical);
    return;
  }
  if (op.done) op.done(WriteOutcome{op.deleted ? nullptr : op.result, op.not_updated});
  if (!apply) return;  // nothing changed: nothing to tell
  ChangeEvent ev;
  ev.tenant = op.tenant;
  ev.entity_id = op.id;
  ev.at_unix_ms = clock_.unix_ms();
  if (op.deleted) {
    ev.kind = ChangeEvent::Kind::kEntityDeleted;
    ev.entity_type = op.deleted_type;
    ev.entity_json = std::make_shared<const std::string>();
  } else {
    ev.kind = op.created ? ChangeEvent::Kind::kEntityCreated : ChangeEvent::Kind::kEntityUpdated;
    ev.entity_type = first_type(*op.result);
    ev.attributes = op.created ? std::vector<std::string>{} : op.touched;
    ev.entity_json = op.doc;
  }
  bus_.publish(ev);
}

// --- the write calls --------------------------------------------------------

void SqliteEntityStore::create(const std::string& tenant, Entity entity, model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kCreate;
  op->tenant = tenant;
  op->id = entity.id;
  op->entity = std::move(entity);
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::replace(const std::string& tenant, Entity entity, model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kReplace;
  op->tenant = tenant;
  op->id = entity.id;
  op->entity = std::move(entity);
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::merge(const std::string& tenant, Entity patch, model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kMerge;
  op->tenant = tenant;
  op->id = patch.id;
  op->entity = std::move(patch);
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::append(const std::string& tenant, const std::string& entity_id, Entity attrs,
                               AppendMode mode, model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kAppend;
  op->tenant = tenant;
  op->id = entity_id;
  op->entity = std::move(attrs);
  op->mode = mode;
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::upsert(const std::string& tenant, Entity entity, bool merge_existing, model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = merge_existing ? Op::Type::kUpsertMerge : Op::Type::kUpsertReplace;
  op->tenant = tenant;
  op->id = entity.id;
  op->entity = std::move(entity);
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::delete_attribute(const std::string& tenant, const std::string& entity_id,
                                         const std::string& name, const std::string& dataset_id, bool all_instances,
                                         model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kDeleteAttribute;
  op->tenant = tenant;
  op->id = entity_id;
  op->attribute = name;
  op->dataset_id = dataset_id;
  op->all_instances = all_instances;
  op->done = std::move(done);
  submit(std::move(op));
}

void SqliteEntityStore::delete_entity(const std::string& tenant, const std::string& entity_id,
                                      model::WriteDone done) {
  auto op = std::make_shared<Op>();
  op->type = Op::Type::kDeleteEntity;
  op->tenant = tenant;
  op->id = entity_id;
  op->done = std::move(done);
  submit(std::move(op));
}

Status SqliteEntityStore::flush() { return writer_->flush(); }
Status SqliteEntityStore::health() const { return writer_->health(); }

// --- reads ------------------------------------------------------------------

std::shared_ptr<const Entity> SqliteEntityStore::get(const std::string& tenant, const std::string& entity_id) const {
  return index_.get(tenant, entity_id);
}
Result<model::QueryResult> SqliteEntityStore::query(const std::string& tenant, const model::EntityQuery& q) const {
  return index_.query(tenant, q);
}
std::vector<model::TypeInfo> SqliteEntityStore::types(const std::string& tenant) const { return index_.types(tenant); }
std::vector<std::pair<std::string, size_t>> SqliteEntityStore::attributes(const std::string& tenant) const {
  return index_.attributes(tenant);
}
std::vector<std::string> SqliteEntityStore::tenants() const { return index_.tenants(); }
size_t SqliteEntityStore::size(const std::string& tenant) const { return index_.size(tenant); }

}  // namespace urbis::storage::sqlite
