#include "store/postgres/pg_store.h"

#include <fmt/format.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>
#include <set>

#include "store/migrations.h"
#include "store/postgres/pg_locks.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

namespace {

// Session settings pinned whatever the database's defaults: the store's
// reasoning assumes read committed, and an acknowledged write must be in the
// WAL. Reads that outlive their budget are cancelled (too costly). A write
// waits at most lock_timeout for a lock (then 503), and a session left idle
// inside a transaction (its node stalled) is ended by the server, so it
// cannot hold the locks that every node's writes need.
std::string reader_setup(const PostgresOptions& o) {
  return fmt::format(
      "SET default_transaction_isolation = 'read committed'; SET statement_timeout = {}; SET lock_timeout = {}",
      o.read_timeout_ms, o.read_timeout_ms);
}

const std::string writer_setup =
    "SET default_transaction_isolation = 'read committed'; SET synchronous_commit = on;"
    " SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '60s'; SET statement_timeout = '300s'";

// /readyz answers 503 when a write has waited this long.
constexpr auto stalled_writes = std::chrono::seconds(10);

}  // namespace

PostgresStore::PostgresStore(PostgresOptions options, Metrics* metrics)
    : options_(std::move(options)),
      readers_(options_.conninfo, options_.max_readers, reader_setup(options_)),
      writer_(std::make_unique<pg::Writer>(options_.conninfo, writer_setup, options_.writer_threads, metrics)) {}

PostgresStore::~PostgresStore() { close(); }

void PostgresStore::close() {
  if (writer_) writer_->close();
  node_lock_.reset();
}

asio::awaitable<Status> PostgresStore::completion(std::function<void(pg::Writer::Done)> start) {
  auto initiate = [start = std::move(start)](auto handler) mutable {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<Handler>(std::move(handler));
    start([executor, shared](Status status) {
      asio::post(executor, [shared, status = std::move(status)]() mutable { (*shared)(std::move(status)); });
    });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Status)>(std::move(initiate),
                                                                                       asio::use_awaitable);
}

asio::awaitable<Status> PostgresStore::write(pg::Writer::Work work, bool by_runner) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  if (by_runner) runner_writes_.fetch_add(1, std::memory_order_relaxed);
  std::function<void(pg::Writer::Done)> start = [this, work = std::move(work)](pg::Writer::Done done) mutable {
    writer_->submit(std::move(work), std::move(done));
  };
  co_return co_await completion(std::move(start));
}

Result<std::vector<int>> PostgresStore::migrate() {
  auto connected = pg::connect(options_.conninfo, "");
  if (!connected.is_ok()) return connected.status();
  Connection& db = *connected.value();
  auto fail = [&](const Rows& r, const std::string& what) {
    db.exec("ROLLBACK");
    return Status::internal(fmt::format("{}: {}", what, r.status().message()));
  };
  // Held by this session until it ends (with the connection, below).
  if (Rows r = db.query("SELECT pg_advisory_lock($1)", pg::locks::migrations); !r.ok()) {
    return Status::unavailable("cannot take the migration lock: " + r.status().message());
  }
  if (Rows r = db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
      !r.ok()) {
    return Status::unavailable("cannot create schema_migrations: " + r.status().message());
  }
  std::set<int> applied;
  Rows versions = db.exec("SELECT version FROM schema_migrations");
  if (!versions.ok()) return versions.status();
  for (int i = 0; i < versions.size(); ++i) applied.insert(static_cast<int>(versions.integer(i, 0)));
  const auto& all = postgres_migrations();
  int newest_known = all.empty() ? 0 : all.back().version;
  if (!applied.empty() && *applied.rbegin() > newest_known) {
    return Status::internal(
        fmt::format("the database has schema version {} but this daisy knows only up to {}: upgrade daisy",
                    *applied.rbegin(), newest_known));
  }
  std::vector<int> done;
  for (const auto& m : all) {
    if (applied.count(m.version)) continue;
    if (Rows r = db.exec("BEGIN"); !r.ok()) return r.status();
    if (Rows r = db.exec(m.sql); !r.ok()) return fail(r, fmt::format("migration {} ({}) failed", m.version, m.name));
    Rows record = db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.version,
                           m.name, now_utc());
    if (!record.ok()) return fail(record, "cannot record migration");
    if (Rows r = db.exec("COMMIT"); !r.ok()) return fail(r, "cannot commit migration");
    done.push_back(m.version);
  }
  return done;
}

bool PostgresStore::writes_go_through() { return writer_->stalled_for() <= stalled_writes; }

bool PostgresStore::answers() {
  std::lock_guard lock(health_mu_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!health_ || health_->broken()) {
      auto c = pg::connect(options_.conninfo, "SET statement_timeout = 2000");
      if (!c.is_ok()) return false;
      health_ = std::move(c.value());
    }
    if (health_->exec("SELECT 1").ok()) return true;
    if (!health_->broken()) return false;
  }
  return false;
}

Status PostgresStore::claim_node() {
  auto c = pg::connect(options_.conninfo, "");
  if (!c.is_ok()) return c.status();
  Rows r = c.value()->query("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", options_.node_id);
  if (!r.ok()) return r.status();
  if (!r.boolean(0, 0)) {
    return Status::conflict(fmt::format(
        "another running node has this node id ({}): each node needs a data dir of its own", options_.node_id));
  }
  node_lock_ = std::move(c.value());
  return Status::ok();
}

// The lock is the session's: a restarted server (or a dropped connection)
// took it away, and it is taken again on a new connection.
Status PostgresStore::keep_node_claim() {
  if (node_lock_ && node_lock_->exec("SELECT 1").ok()) return Status::ok();
  if (node_lock_ && !node_lock_->broken()) return Status::unavailable("the node id's connection failed a query");
  node_lock_.reset();
  return claim_node();
}

Result<std::optional<std::string>> PostgresStore::get_setting(std::string_view key) {
  return read([&](Connection& db) -> Result<std::optional<std::string>> {
    Rows r = db.query("SELECT value FROM settings WHERE key = $1", key);
    if (!r.ok()) return r.status();
    if (r.empty()) return std::optional<std::string>();
    return std::optional<std::string>(r.text(0, 0));
  });
}

static pg::Writer::Work put_setting_work(std::string key, std::string value) {
  return [key = std::move(key), value = std::move(value)](Connection& db) {
    return db
        .query(
            "INSERT INTO settings (key, value) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key, value)
        .status();
  };
}

asio::awaitable<Status> PostgresStore::put_setting(std::string key, std::string value) {
  pg::Writer::Work work = put_setting_work(std::move(key), std::move(value));
  co_return co_await write(std::move(work));
}

Status PostgresStore::put_setting_blocking(std::string key, std::string value) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  writer_->submit(put_setting_work(std::move(key), std::move(value)),
                  [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

// A write that changes one live app; not_found when there is none.
static Status change_app(const Rows& r) {
  if (!r.ok()) return r.status();
  if (r.affected() == 0) return Status::not_found("app");
  return Status::ok();
}

namespace {

constexpr const char* app_columns =
    "id, name, created_at, unknown_event_types, coalesce(publishable_key, ''), allowed_origins, forms,"
    " events_per_second, burst";

// Row i's app, whose app_columns start at column `first`.
App app_at(const Rows& r, int i, int first) {
  auto text = [&](int c) { return r.text(i, first + c); };
  App app{text(0), text(1), text(2), text(3)};
  app.access = {text(4), split_words(text(5)), split_words(text(6)), r.integer(i, first + 7), r.integer(i, first + 8)};
  return app;
}

App app_of(const Rows& r, int i) { return app_at(r, i, 0); }

}  // namespace

asio::awaitable<Status> PostgresStore::create_app(App app, Sha256 token_hash) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  pg::Writer::Work work = [app = std::move(app), token_hash](Connection& db) {
    const AppAccess& a = app.access;
    return db
        .query(
            "INSERT INTO apps (id, name, token_hash, created_at, publishable_key, allowed_origins, forms,"
            " events_per_second, burst) VALUES ($1, $2, $3, $4, nullif($5, ''), $6, $7, $8, $9)",
            app.id, app.name, to_hex(bytes_of(token_hash)), app.created_at, a.publishable_key,
            join_words(a.allowed_origins), join_words(a.forms), a.events_per_second, a.burst)
        .status();
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<App>> PostgresStore::list_apps(const Page& page) {
  return read([&](Connection& db) {
    Rows r = db.query(
        fmt::format("SELECT {} FROM apps WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2", app_columns),
        page.after, page.limit);
    return pg::all_rows(r, app_of);
  });
}

Result<App> PostgresStore::get_app(std::string_view id) {
  return read([&](Connection& db) {
    Rows r = db.query(fmt::format("SELECT {} FROM apps WHERE id = $1 AND deleted_at IS NULL", app_columns), id);
    return pg::first_row(r, app_of, "app");
  });
}

asio::awaitable<Status> PostgresStore::delete_app(std::string id) {
  pg::Writer::Work work = [id = std::move(id)](Connection& db) {
    return change_app(
        db.query("UPDATE apps SET deleted_at = $1, token_hash = NULL, publishable_key = NULL"
                 " WHERE id = $2 AND deleted_at IS NULL",
                 now_utc(), id));
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::set_app_token(std::string id, Sha256 token_hash) {
  pg::Writer::Work work = [id = std::move(id), token_hash](Connection& db) {
    return change_app(db.query("UPDATE apps SET token_hash = $1 WHERE id = $2 AND deleted_at IS NULL",
                               to_hex(bytes_of(token_hash)), id));
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::set_publishable_key(std::string id, std::string key) {
  pg::Writer::Work work = [id = std::move(id), key = std::move(key)](Connection& db) {
    return change_app(db.query("UPDATE apps SET publishable_key = $1 WHERE id = $2 AND deleted_at IS NULL", key, id));
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> PostgresStore::update_app_settings(App app) {
  pg::Writer::Work work = [app = std::move(app)](Connection& db) {
    const AppAccess& a = app.access;
    return change_app(
        db.query("UPDATE apps SET unknown_event_types = $1, allowed_origins = $2, forms = $3, events_per_second = $4,"
                 " burst = $5 WHERE id = $6 AND deleted_at IS NULL",
                 app.unknown_event_types, join_words(a.allowed_origins), join_words(a.forms), a.events_per_second,
                 a.burst, app.id));
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<std::string>> PostgresStore::apps_rejecting_unknown_event_types() {
  return read([&](Connection& db) -> Result<std::vector<std::string>> {
    Rows r = db.exec("SELECT id FROM apps WHERE deleted_at IS NULL AND unknown_event_types = 'reject'");
    if (!r.ok()) return r.status();
    std::vector<std::string> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  });
}

Result<std::vector<AppToken>> PostgresStore::app_tokens() {
  return read([&](Connection& db) -> Result<std::vector<AppToken>> {
    Rows r = db.query(fmt::format("SELECT token_hash, {} FROM apps WHERE token_hash IS NOT NULL", app_columns));
    if (!r.ok()) return r.status();
    std::vector<AppToken> out;
    for (int i = 0; i < r.size(); ++i) {
      AppToken t;
      std::string h = from_hex(r.view(i, 0));
      if (h.size() != t.token_hash.size()) continue;
      std::copy(h.begin(), h.end(), t.token_hash.begin());
      App app = app_at(r, i, 1);
      t.app_id = std::move(app.id);
      t.access = std::move(app.access);
      out.push_back(std::move(t));
    }
    return out;
  });
}

}  // namespace daisy
