// SqliteStore: providers, their pulls and what they pulled.
#include "store/sqlite/sqlite_status.h"
#include "store/sqlite/sqlite_store.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;
using sqlite::Statement;

namespace {

ProviderRow read_provider(Statement& stmt) {
  return {stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4),
          stmt.text(5), stmt.text(6), stmt.text(7), stmt.text(8)};
}

struct Counts {
  std::int64_t added = 0, changed = 0;
};

Status write_plans(Connection& db, const PullWrite& pull, const std::string& now, Counts& counts) {
  for (const std::string& base : pull.online_base_plans) {
    auto seen = db.prepare(
        "INSERT INTO online_base_plans (provider_id, base_plan_id, first_seen_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING");
    seen.bind_ref(1, pull.provider_id).bind_ref(2, base).bind_ref(3, now);
    if (Status s = sqlite::status_of(seen.step(), db); !s.is_ok()) return s;
  }
  for (const PlanRow& p : pull.plans) {
    auto find = db.prepare(
        "SELECT title, sell_mode, starts_local, ends_local, min_price, max_price, attributes"
        " FROM plans WHERE provider_id = ? AND base_plan_id = ? AND plan_id = ?");
    find.bind_ref(1, pull.provider_id).bind_ref(2, p.base_plan_id).bind_ref(3, p.plan_id);
    int rc = find.step();
    if (rc == SQLITE_ROW) {
      PlanRow stored{.base_plan_id = p.base_plan_id,
                     .plan_id = p.plan_id,
                     .id = {},
                     .title = find.text(0),
                     .sell_mode = find.text(1),
                     .starts_local = find.text(2),
                     .ends_local = find.text(3),
                     .min_price = find.text(4),
                     .max_price = find.text(5),
                     .attributes = find.text(6)};
      if (same_plan_values(stored, p)) continue;
      auto update = db.prepare(
          "UPDATE plans SET title = ?, sell_mode = ?, starts_local = ?, ends_local = ?, min_price = ?,"
          " max_price = ?, attributes = ?, updated_at = ?"
          " WHERE provider_id = ? AND base_plan_id = ? AND plan_id = ?");
      update.bind_ref(1, p.title).bind_ref(2, p.sell_mode).bind_ref(3, p.starts_local).bind_ref(4, p.ends_local);
      update.bind_ref(5, p.min_price).bind_ref(6, p.max_price).bind_ref(7, p.attributes).bind_ref(8, now);
      update.bind_ref(9, pull.provider_id).bind_ref(10, p.base_plan_id).bind_ref(11, p.plan_id);
      if (Status s = sqlite::status_of(update.step(), db); !s.is_ok()) return s;
      ++counts.changed;
    } else if (rc == SQLITE_DONE) {
      auto insert = db.prepare(
          "INSERT INTO plans (provider_id, base_plan_id, plan_id, id, title, sell_mode, starts_local, ends_local,"
          " min_price, max_price, attributes, first_seen_at, updated_at)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      insert.bind_ref(1, pull.provider_id).bind_ref(2, p.base_plan_id).bind_ref(3, p.plan_id).bind_ref(4, p.id);
      insert.bind_ref(5, p.title).bind_ref(6, p.sell_mode).bind_ref(7, p.starts_local).bind_ref(8, p.ends_local);
      insert.bind_ref(9, p.min_price).bind_ref(10, p.max_price).bind_ref(11, p.attributes);
      insert.bind_ref(12, now).bind_ref(13, now);
      if (Status s = sqlite::status_of(insert.step(), db); !s.is_ok()) return s;
      ++counts.added;
    } else {
      return sqlite::status_of(rc, db);
    }
  }
  return Status::ok();
}

Status write_items(Connection& db, const PullWrite& pull, const std::string& now, Counts& counts) {
  for (const ItemRow& item : pull.items) {
    auto find = db.prepare("SELECT data FROM items WHERE provider_id = ? AND item_id = ?");
    find.bind_ref(1, pull.provider_id).bind_ref(2, item.item_id);
    int rc = find.step();
    if (rc == SQLITE_ROW) {
      if (find.text(0) == item.data) continue;
      auto update = db.prepare("UPDATE items SET data = ?, updated_at = ? WHERE provider_id = ? AND item_id = ?");
      update.bind_ref(1, item.data).bind_ref(2, now).bind_ref(3, pull.provider_id).bind_ref(4, item.item_id);
      if (Status s = sqlite::status_of(update.step(), db); !s.is_ok()) return s;
      ++counts.changed;
    } else if (rc == SQLITE_DONE) {
      auto insert = db.prepare(
          "INSERT INTO items (provider_id, item_id, data, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?)");
      insert.bind_ref(1, pull.provider_id).bind_ref(2, item.item_id).bind_ref(3, item.data);
      insert.bind_ref(4, now).bind_ref(5, now);
      if (Status s = sqlite::status_of(insert.step(), db); !s.is_ok()) return s;
      ++counts.added;
    } else {
      return sqlite::status_of(rc, db);
    }
  }
  return Status::ok();
}

SyncRow read_sync(Statement& stmt) {
  SyncRow r;
  r.seq = stmt.integer(0);
  r.provider_id = stmt.text(1);
  r.started_at = stmt.text(2);
  r.duration_ms = stmt.integer(3);
  r.http_status = static_cast<int>(stmt.integer(4));
  r.seen = stmt.integer(5);
  r.added = stmt.integer(6);
  r.changed = stmt.integer(7);
  r.skipped = stmt.integer(8);
  r.error = stmt.text(9);
  r.trigger = stmt.text(10);
  return r;
}

}  // namespace

asio::awaitable<Status> SqliteStore::create_provider(ProviderRow row) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [row = std::move(row)](Connection& db) {
    auto stmt =
        db.prepare("INSERT INTO providers (id, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?)");
    stmt.bind(1, row.id).bind(2, row.name).bind(3, row.definition).bind(4, row.created_at).bind(5, row.updated_at);
    return sqlite::status_of(stmt.step(), db);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<ProviderRow>> SqliteStore::list_providers(const Page& page) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT id, name, definition, created_at, updated_at, etag, last_modified, cursor, last_sync_at"
      " FROM providers WHERE id > ? ORDER BY id LIMIT ?");
  stmt.bind(1, page.after).bind(2, static_cast<std::int64_t>(page.limit));
  std::vector<ProviderRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_provider(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<ProviderRow> SqliteStore::get_provider(std::string_view id) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT id, name, definition, created_at, updated_at, etag, last_modified, cursor, last_sync_at"
      " FROM providers WHERE id = ?");
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return read_provider(stmt);
  if (rc == SQLITE_DONE) return Status::not_found("provider");
  return sqlite::status_of(rc, *db);
}

asio::awaitable<Status> SqliteStore::update_provider(ProviderRow row) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [row = std::move(row)](Connection& db) {
    auto stmt = db.prepare(
        "UPDATE providers SET name = ?, definition = ?, updated_at = ?, etag = ?, last_modified = ?, cursor = ?"
        " WHERE id = ?");
    stmt.bind(1, row.name).bind(2, row.definition).bind(3, row.updated_at).bind(4, row.etag);
    stmt.bind(5, row.last_modified).bind(6, row.cursor).bind(7, row.id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("provider");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::delete_provider(std::string id) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [id = std::move(id)](Connection& db) {
    auto stmt = db.prepare("DELETE FROM providers WHERE id = ?");
    stmt.bind(1, id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (!s.is_ok()) return s;
    if (sqlite3_changes(db.handle()) == 0) return Status::not_found("provider");
    for (const char* sql :
         {"DELETE FROM plans WHERE provider_id = ?", "DELETE FROM online_base_plans WHERE provider_id = ?",
          "DELETE FROM items WHERE provider_id = ?", "DELETE FROM provider_syncs WHERE provider_id = ?"}) {
      auto purge = db.prepare_text(sql);
      purge.bind(1, id);
      if (Status p = sqlite::status_of(purge.step(), db); !p.is_ok()) return p;
    }
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<SyncRow>> SqliteStore::store_pull(std::shared_ptr<PullWrite> pull) {
  auto stored = std::make_shared<SyncRow>();
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [pull, stored](Connection& db) {
    // May run twice (see GroupWriter): start from the pull's own record.
    *stored = pull->sync;
    bool unchanged;
    {
      auto exists = db.prepare("SELECT updated_at FROM providers WHERE id = ?");
      exists.bind_ref(1, pull->provider_id);
      if (exists.step() != SQLITE_ROW) return Status::not_found("provider");
      unchanged = exists.text(0) == pull->definition_updated_at;
    }
    if (pull->success && !unchanged) {
      // Pulled under a definition that has been replaced (another URL, perhaps):
      // what it brought may not belong to the provider any more.
      stored->seen = stored->skipped = 0;
      if (stored->error.empty()) stored->error = "the provider was changed during the pull; its results were dropped";
    } else if (pull->success) {
      Counts counts;
      std::string now = pull->synced_at;
      if (Status s = write_plans(db, *pull, now, counts); !s.is_ok()) return s;
      if (Status s = write_items(db, *pull, now, counts); !s.is_ok()) return s;
      stored->added = counts.added;
      stored->changed = counts.changed;
      auto state = db.prepare(
          "UPDATE providers SET etag = ?, last_modified = ?, cursor = ?, last_sync_at = ?"
          " WHERE id = ?");
      state.bind_ref(1, pull->etag).bind_ref(2, pull->last_modified).bind_ref(3, pull->cursor);
      state.bind_ref(4, pull->synced_at).bind_ref(5, pull->provider_id);
      if (Status s = sqlite::status_of(state.step(), db); !s.is_ok()) return s;
    }
    auto insert = db.prepare(
        "INSERT INTO provider_syncs (provider_id, started_at, duration_ms, http_status, seen, new, changed,"
        " skipped, error, trigger) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind_ref(1, stored->provider_id).bind_ref(2, stored->started_at).bind(3, stored->duration_ms);
    insert.bind(4, std::int64_t{stored->http_status}).bind(5, stored->seen).bind(6, stored->added);
    insert.bind(7, stored->changed).bind(8, stored->skipped).bind_ref(9, stored->error).bind_ref(10, stored->trigger);
    if (Status s = sqlite::status_of(insert.step(), db); !s.is_ok()) return s;
    stored->seq = sqlite3_last_insert_rowid(db.handle());
    // A provider keeps its last 1,000 sync records.
    auto trim = db.prepare(
        "DELETE FROM provider_syncs WHERE provider_id = ? AND seq <= (SELECT seq FROM provider_syncs"
        " WHERE provider_id = ? ORDER BY seq DESC LIMIT 1 OFFSET 1000)");
    trim.bind_ref(1, stored->provider_id).bind_ref(2, stored->provider_id);
    return sqlite::status_of(trim.step(), db);
  };
  Status status = co_await write(std::move(work));
  if (!status.is_ok()) co_return status;
  co_return *stored;
}

Result<std::vector<SyncRow>> SqliteStore::list_syncs(std::string_view provider_id, std::int64_t before_seq,
                                                     std::size_t limit) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT seq, provider_id, started_at, duration_ms, http_status, seen, new, changed, skipped, error, trigger"
      " FROM provider_syncs WHERE provider_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?");
  stmt.bind(1, provider_id).bind(2, before_seq > 0 ? before_seq : INT64_MAX).bind(3, static_cast<std::int64_t>(limit));
  std::vector<SyncRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(read_sync(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<SearchablePlan>> SqliteStore::searchable_plans(std::string_view provider_id) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT p.id, p.title, p.starts_local, p.ends_local, p.min_price, p.max_price FROM plans p"
      " JOIN online_base_plans b ON b.provider_id = p.provider_id AND b.base_plan_id = p.base_plan_id"
      " WHERE p.provider_id = ?");
  stmt.bind(1, provider_id);
  std::vector<SearchablePlan> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.push_back({stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4), stmt.text(5)});
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<ItemRow>> SqliteStore::list_items(std::string_view provider_id, std::string_view after,
                                                     std::size_t limit) {
  auto db = reader();
  auto stmt = db->prepare(
      "SELECT provider_id, item_id, data, first_seen_at, updated_at FROM items"
      " WHERE provider_id = ? AND item_id > ? ORDER BY item_id LIMIT ?");
  stmt.bind(1, provider_id).bind(2, after).bind(3, static_cast<std::int64_t>(limit));
  std::vector<ItemRow> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    out.push_back({stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4)});
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

}  // namespace daisy
