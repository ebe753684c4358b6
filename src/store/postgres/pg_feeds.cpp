// PostgresStore: providers, their pulls and what they pulled.
#include <array>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "store/postgres/pg_store.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

// A pull's rows go to PostgreSQL in chunks of at most this many rows or
// (about) bytes, so that one statement's parameters stay moderate.
constexpr std::size_t chunk_rows = 5000;
constexpr std::size_t chunk_bytes = std::size_t{8} << 20;

constexpr std::string_view provider_columns =
    "SELECT id, name, definition, created_at, updated_at, etag, last_modified, cursor, last_sync_at"
    " FROM providers";

ProviderRow provider_of(const Rows& r, int i) {
  return {r.text(i, 0), r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4),
          r.text(i, 5), r.text(i, 6), r.text(i, 7), r.text(i, 8)};
}

SyncRow sync_of(const Rows& r, int i) {
  SyncRow s;
  s.seq = r.integer(i, 0);
  s.provider_id = r.text(i, 1);
  s.started_at = r.text(i, 2);
  s.duration_ms = r.integer(i, 3);
  s.http_status = static_cast<int>(r.integer(i, 4));
  s.seen = r.integer(i, 5);
  s.added = r.integer(i, 6);
  s.changed = r.integer(i, 7);
  s.skipped = r.integer(i, 8);
  s.error = r.text(i, 9);
  s.trigger = r.text(i, 10);
  return s;
}

struct Counts {
  std::int64_t added = 0, changed = 0;
};

// N text[] parameters (pg::ArrayLiteral), one element per row, cut into
// chunks (see chunk_rows). A NUL byte in a pulled value is stored as U+FFFD,
// as events store it.
template <std::size_t N>
class Columns {
 public:
  void add(const std::array<std::string_view, N>& row) {
    for (std::size_t c = 0; c < N; ++c) columns_[c].add(row[c]);
  }
  bool full() const {
    std::size_t bytes = 0;
    for (const pg::ArrayLiteral& column : columns_) bytes += column.bytes();
    return columns_[0].size() >= chunk_rows || bytes >= chunk_bytes;
  }
  // Moves the arrays to params and starts an empty chunk.
  void move_to(pg::Params& params) {
    for (pg::ArrayLiteral& column : columns_) params.push_back(column.take());
  }

 private:
  std::array<pg::ArrayLiteral, N> columns_;
};

// SQLite writes a pull's rows one at a time, so a key that comes twice in a
// pull is written twice: a repeat with the same values as the key's previous
// occurrence does nothing, one with other values is a change (the last wins).
// Rounds reproduce that in bulk: round k holds, for every key, its k-th
// occurrence that differs from the one before it. A key is unique within a
// round (as ON CONFLICT DO UPDATE requires), and the rounds run in order.
template <class Row, class Key, class Same>
std::vector<std::vector<const Row*>> rounds_of(const std::vector<Row>& rows, Key key, Same same) {
  struct Seen {
    const Row* last = nullptr;
    std::size_t round = 0;
  };
  using K = std::decay_t<decltype(key(rows.front()))>;
  std::unordered_map<K, Seen> seen;
  seen.reserve(rows.size());
  std::vector<std::vector<const Row*>> rounds;
  for (const Row& row : rows) {
    auto [it, first] = seen.try_emplace(key(row), Seen{&row, 0});
    if (!first) {
      if (same(*it->second.last, row)) continue;
      it->second = Seen{&row, it->second.round + 1};
    }
    if (rounds.size() <= it->second.round) rounds.resize(it->second.round + 1);
    rounds[it->second.round].push_back(&row);
  }
  return rounds;
}

// Runs an upsert over rows, chunk by chunk. sql takes $1 the provider id, $2
// the pull's time and then one text[] per column, and returns (xmax = 0) for
// each row it inserted or changed: true counts as added, false as changed (a
// row version this statement inserted has no xmax; one written by its DO
// UPDATE carries the row lock ON CONFLICT took). Unchanged rows return nothing.
template <std::size_t N, class Row, class Fields>
Status upsert(Connection& db, const std::string& sql, const PullWrite& pull, const std::vector<const Row*>& rows,
              Fields fields, Counts& counts) {
  Columns<N> columns;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    columns.add(fields(*rows[i]));
    if (!columns.full() && i + 1 < rows.size()) continue;
    pg::Params params{pg::Param(pull.provider_id), pg::Param(pull.synced_at)};
    columns.move_to(params);
    Rows r = db.run(sql, params);
    if (!r.ok()) return r.status();
    for (int j = 0; j < r.size(); ++j) ++(r.boolean(j, 0) ? counts.added : counts.changed);
  }
  return Status::ok();
}

Status write_plans(Connection& db, const PullWrite& pull, Counts& counts) {
  static const std::string seen_sql =
      "INSERT INTO online_base_plans (provider_id, base_plan_id, first_seen_at)"
      " SELECT $1::text, b, $2::text FROM unnest($3::text[]) AS b ON CONFLICT DO NOTHING";
  Columns<1> bases;
  for (std::size_t i = 0; i < pull.online_base_plans.size(); ++i) {
    bases.add({pull.online_base_plans[i]});
    if (!bases.full() && i + 1 < pull.online_base_plans.size()) continue;
    pg::Params params{pg::Param(pull.provider_id), pg::Param(pull.synced_at)};
    bases.move_to(params);
    if (Rows r = db.run(seen_sql, params); !r.ok()) return r.status();
  }

  static const std::string plans_sql =
      "INSERT INTO plans AS p (provider_id, base_plan_id, plan_id, id, title, sell_mode, starts_local,"
      " ends_local, min_price, max_price, attributes, first_seen_at, updated_at)"
      " SELECT $1::text, u.base_plan_id, u.plan_id, u.id, u.title, u.sell_mode, u.starts_local, u.ends_local,"
      " u.min_price, u.max_price, u.attributes, $2::text, $2::text"
      " FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
      " $10::text[], $11::text[], $12::text[])"
      " AS u(base_plan_id, plan_id, id, title, sell_mode, starts_local, ends_local, min_price, max_price,"
      " attributes)"
      " ON CONFLICT (provider_id, base_plan_id, plan_id) DO UPDATE SET title = excluded.title,"
      " sell_mode = excluded.sell_mode, starts_local = excluded.starts_local, ends_local = excluded.ends_local,"
      " min_price = excluded.min_price, max_price = excluded.max_price, attributes = excluded.attributes,"
      " updated_at = excluded.updated_at"
      " WHERE (p.title, p.sell_mode, p.starts_local, p.ends_local, p.min_price, p.max_price, p.attributes)"
      " IS DISTINCT FROM (excluded.title, excluded.sell_mode, excluded.starts_local, excluded.ends_local,"
      " excluded.min_price, excluded.max_price, excluded.attributes)"
      " RETURNING xmax = 0";
  auto key = [](const PlanRow& p) { return std::to_string(p.base_plan_id.size()) + ':' + p.base_plan_id + p.plan_id; };

  auto fields = [](const PlanRow& p) {
    return std::array<std::string_view, 10>{p.base_plan_id, p.plan_id,    p.id,        p.title,     p.sell_mode,
                                            p.starts_local, p.ends_local, p.min_price, p.max_price, p.attributes};
  };
  auto rounds = rounds_of(pull.plans, key, same_plan_values);
  for (const auto& round : rounds) {
    if (Status s = upsert<10>(db, plans_sql, pull, round, fields, counts); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status write_items(Connection& db, const PullWrite& pull, Counts& counts) {
  static const std::string items_sql =
      "INSERT INTO items AS i (provider_id, item_id, data, first_seen_at, updated_at)"
      " SELECT $1::text, u.item_id, u.data, $2::text, $2::text FROM unnest($3::text[], $4::text[]) AS u(item_id, data)"
      " ON CONFLICT (provider_id, item_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at"
      " WHERE i.data IS DISTINCT FROM excluded.data"
      " RETURNING xmax = 0";
  auto key = [](const ItemRow& item) { return std::string_view(item.item_id); };
  auto same = [](const ItemRow& a, const ItemRow& b) { return a.data == b.data; };
  auto fields = [](const ItemRow& item) { return std::array<std::string_view, 2>{item.item_id, item.data}; };
  auto rounds = rounds_of(pull.items, key, same);
  for (const auto& round : rounds) {
    if (Status s = upsert<2>(db, items_sql, pull, round, fields, counts); !s.is_ok()) return s;
  }
  return Status::ok();
}

}  // namespace

asio::awaitable<Status> PostgresStore::create_provider(ProviderRow row) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  pg::Writer::Work work = [row = std::move(row)](Connection& db) {
    return db
        .query("INSERT INTO providers (id, name, definition, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
               row.id, row.name, row.definition, row.created_at, row.updated_at)
        .status();
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<ProviderRow>> PostgresStore::list_providers(const Page& page) {
  return read([&](Connection& db) {
    Rows r = db.query(std::string(provider_columns) + " WHERE id > $1 ORDER BY id LIMIT $2", page.after, page.limit);
    return pg::all_rows(r, provider_of);
  });
}

Result<ProviderRow> PostgresStore::get_provider(std::string_view id) {
  return read([&](Connection& db) {
    return pg::first_row(db.query(std::string(provider_columns) + " WHERE id = $1", id), provider_of, "provider");
  });
}

asio::awaitable<Status> PostgresStore::update_provider(ProviderRow row) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  pg::Writer::Work work = [row = std::move(row)](Connection& db) {
    Rows r = db.query(
        "UPDATE providers SET name = $1, definition = $2, updated_at = $3, etag = $4, last_modified = $5,"
        " cursor = $6 WHERE id = $7",
        row.name, row.definition, row.updated_at, row.etag, row.last_modified, row.cursor, row.id);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::not_found("provider");
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::delete_provider(std::string id) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  pg::Writer::Work work = [id = std::move(id)](Connection& db) {
    // Waits for a pull of this provider that holds its row (store_pull), so
    // what that pull wrote is committed and deleted below.
    Rows r = db.query("DELETE FROM providers WHERE id = $1", id);
    if (!r.ok()) return r.status();
    if (r.affected() == 0) return Status::not_found("provider");
    for (const char* sql :
         {"DELETE FROM plans WHERE provider_id = $1", "DELETE FROM online_base_plans WHERE provider_id = $1",
          "DELETE FROM items WHERE provider_id = $1", "DELETE FROM provider_syncs WHERE provider_id = $1"}) {
      if (Rows purge = db.query(sql, id); !purge.ok()) return purge.status();
    }
    return Status::ok();
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Result<SyncRow>> PostgresStore::store_pull(std::shared_ptr<PullWrite> pull) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  std::function<Status(Connection&, SyncRow&)> work = [pull](Connection& db, SyncRow& stored) {
    // May run again (see pg::Writer): start from the pull's own record.
    stored = pull->sync;
    // Holding the provider's row until commit keeps the check below true
    // while this pull writes, orders pulls of one provider (so they count
    // exactly), and makes delete_provider wait (so nothing is left behind).
    Rows provider = db.query("SELECT updated_at FROM providers WHERE id = $1 FOR NO KEY UPDATE", pull->provider_id);
    if (!provider.ok()) return provider.status();
    if (provider.empty()) return Status::not_found("provider");
    bool unchanged = provider.view(0, 0) == pull->definition_updated_at;
    if (pull->success && !unchanged) {
      // Pulled under a definition that has been replaced (another URL, perhaps):
      // what it brought may not belong to the provider any more.
      stored.seen = stored.skipped = 0;
      if (stored.error.empty()) stored.error = "the provider was changed during the pull; its results were dropped";
    } else if (pull->success) {
      Counts counts;
      if (Status s = write_plans(db, *pull, counts); !s.is_ok()) return s;
      if (Status s = write_items(db, *pull, counts); !s.is_ok()) return s;
      stored.added = counts.added;
      stored.changed = counts.changed;
      Rows state =
          db.query("UPDATE providers SET etag = $1, last_modified = $2, cursor = $3, last_sync_at = $4 WHERE id = $5",
                   pull->etag, pull->last_modified, pull->cursor, pull->synced_at, pull->provider_id);
      if (!state.ok()) return state.status();
    }
    Rows insert = db.query(
        "INSERT INTO provider_syncs (provider_id, started_at, duration_ms, http_status, seen, new, changed,"
        " skipped, error, trigger) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq",
        stored.provider_id, stored.started_at, stored.duration_ms, stored.http_status, stored.seen, stored.added,
        stored.changed, stored.skipped, stored.error, stored.trigger);
    if (!insert.ok()) return insert.status();
    stored.seq = insert.integer(0, 0);
    // A provider keeps its last 1,000 sync records.
    return db
        .query(
            "DELETE FROM provider_syncs WHERE provider_id = $1 AND seq <= (SELECT seq FROM provider_syncs"
            " WHERE provider_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET 1000)",
            stored.provider_id)
        .status();
  };
  co_return co_await write_returning(std::move(work));
}

Result<std::vector<SyncRow>> PostgresStore::list_syncs(std::string_view provider_id, std::int64_t before_seq,
                                                       std::size_t limit) {
  return read([&](Connection& db) {
    // A range on provider_id, not "=": with "=" the planner walks the seq
    // primary key backwards (its order is the heap's), reading every other
    // provider's records to reach a rarely pulled one's; ordered by
    // (provider_id, seq) only provider_syncs_by_provider serves the query.
    Rows r = db.query(
        "SELECT seq, provider_id, started_at, duration_ms, http_status, seen, new, changed, skipped, error, trigger"
        " FROM provider_syncs WHERE provider_id >= $1 AND provider_id <= $1 AND seq < $2"
        " ORDER BY provider_id DESC, seq DESC LIMIT $3",
        provider_id, before_seq > 0 ? before_seq : INT64_MAX, limit);
    return pg::all_rows(r, sync_of);
  });
}

Result<std::vector<SearchablePlan>> PostgresStore::searchable_plans(std::string_view provider_id) {
  return read([&](Connection& db) {
    Rows r = db.query(
        "SELECT p.id, p.title, p.starts_local, p.ends_local, p.min_price, p.max_price FROM plans p"
        " JOIN online_base_plans b ON b.provider_id = p.provider_id AND b.base_plan_id = p.base_plan_id"
        " WHERE p.provider_id = $1",
        provider_id);
    return pg::all_rows(r, [](const Rows& rows, int i) {
      return SearchablePlan{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2),
                            rows.text(i, 3), rows.text(i, 4), rows.text(i, 5)};
    });
  });
}

Result<std::vector<ItemRow>> PostgresStore::list_items(std::string_view provider_id, std::string_view after,
                                                       std::size_t limit) {
  return read([&](Connection& db) {
    // item_id is COLLATE "C" (0004_feeds.sql): byte order, as in SQLite.
    Rows r = db.query(
        "SELECT provider_id, item_id, data, first_seen_at, updated_at FROM items"
        " WHERE provider_id = $1 AND item_id > $2 ORDER BY item_id LIMIT $3",
        provider_id, after, limit);
    return pg::all_rows(r, [](const Rows& rows, int i) {
      return ItemRow{rows.text(i, 0), rows.text(i, 1), rows.text(i, 2), rows.text(i, 3), rows.text(i, 4)};
    });
  });
}

}  // namespace daisy
