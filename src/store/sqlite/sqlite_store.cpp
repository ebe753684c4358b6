#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <set>
#include <stdexcept>

#include "observability/log_value.h"
#include "observability/metrics.h"
#include "store/migrations.h"
#include "store/sqlite/integrity.h"
#include "store/sqlite/sqlite_status.h"
#include "util/time.h"

namespace daisy {
namespace asio = boost::asio;
using sqlite::Connection;

namespace {

void configure(Connection& db, const std::string& path) {
  // WAL lets readers run beside the single writer.
  if (int rc = db.exec("PRAGMA journal_mode=WAL"); rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
      throw std::runtime_error("the database file " + path + " is corrupt or is not a SQLite database (" +
                               db.last_error() + "): restore it from a backup");
    }
    throw std::runtime_error("cannot enable WAL: " + db.last_error());
  }
  // Commits do not wait for the disk; with synchronous_full the group writer's
  // sync thread makes them durable before they are acknowledged (see
  // wal_sync below), which is FULL's guarantee without stalling the writer.
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec("PRAGMA foreign_keys=ON");
  // The writer keeps the hot pages of every index in memory: with the default
  // 2 MiB cache, inserts into the event indexes re-read most pages from the OS
  // (a copy per page) before changing them.
  db.exec("PRAGMA cache_size=-16384");
}

// No mmap: mapped pages count in the process's RSS, so one export of a big
// table would show the whole file as resident memory.
void configure_reader(Connection& db) { db.exec("PRAGMA cache_size=-16384"); }

}  // namespace

SqliteStore::SqliteStore(SqliteOptions options, Metrics* metrics)
    : options_(std::move(options)), event_index_(options_.event_index) {
  auto connection = std::make_unique<Connection>(options_.path, Connection::Mode::read_write);
  configure(*connection, options_.path);
  // Damaged pages are found here, and said to be damage, rather than as a
  // failing migration or query later. Bounded: a large database that is not
  // checked in time is left to `daisy check`.
  auto verdict = sqlite::check_integrity(*connection, false, options_.start_check_budget);
  if (verdict.state == sqlite::IntegrityVerdict::State::corrupt) {
    throw std::runtime_error("the database file " + options_.path + " is corrupt (" + verdict.problems +
                             "): restore it from a backup; `daisy check` prints the full report");
  }
  if (verdict.state == sqlite::IntegrityVerdict::State::unfinished) {
    spdlog::warn(
        "msg=\"the start-up check of the database did not finish in time; run daisy check to check it all\" "
        "budget_ms={}",
        options_.start_check_budget.count());
  }
  // SQLite's own automatic checkpoint would run on the writer after every
  // commit once the WAL holds 256 frames (and, while reads overlap and the WAL
  // cannot restart, after every commit): two syncs each, which every commit
  // behind it waits for. The checkpointer runs them on a thread of its own.
  checkpointer_ =
      std::make_unique<sqlite::WalCheckpointer>(options_.path, sqlite::WalCheckpointer::Options{}, &wal_restart_gate_);
  checkpointer_->attach(connection->handle());
  // A WAL that grew (a long read held it, or large commits outran the
  // checkpoints) is cut back to 64 MiB at its next restart rather than
  // keeping its peak size on disk.
  connection->exec("PRAGMA journal_size_limit=67108864");
  sqlite::GroupWriter::Sync sync;
  if (options_.synchronous_full) sync = [this] { return sync_wal(); };
  sqlite::GroupWriter::Background index_events = [this](Connection& db) {
    sqlite::WalCheckpointer::IgnoringCommitSizes index_step(*checkpointer_);
    return event_index_.step(db);
  };
  writer_ = std::make_unique<sqlite::GroupWriter>(std::move(connection), metrics, 2048, std::move(sync),
                                                  std::move(index_events));
  if (metrics) {
    metrics->add_collector([this](std::string& out) {
      out +=
          "# HELP daisy_event_index_pending Stored events whose index entries are held in memory, not yet written to "
          "the index tables.\n";
      out += "# TYPE daisy_event_index_pending gauge\n";
      out += fmt::format("daisy_event_index_pending {}\n", event_index_.pending());
      checkpointer_->render_metrics(out);
    });
  }
}

SqliteStore::~SqliteStore() {
  close();
  if (wal_fd_ >= 0) ::close(wal_fd_);
}

// fdatasync of the WAL file: a sync applies to the file, whichever descriptor
// wrote it, so our own read-only descriptor serves. The writer connection
// keeps the WAL file in place (it is removed only when the last connection
// closes), so the descriptor stays valid; it is opened at the first sync,
// after the first commit has created the file.
bool SqliteStore::sync_wal() {
  if (wal_fd_ < 0) {
    wal_fd_ = ::open((options_.path + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
    if (wal_fd_ < 0) {
      spdlog::error("msg=\"cannot open the WAL file to sync it\" path=\"{}-wal\" error={}", options_.path,
                    log_value(std::strerror(errno)));
      return false;
    }
  }
  return ::fdatasync(wal_fd_) == 0;
}

void SqliteStore::close() {
  // Checkpoints go back to the writer first: the last connection to close
  // checkpoints the whole WAL and removes it.
  if (checkpointer_) checkpointer_->stop();
  if (writer_) writer_->close();
}

SqliteStore::ReaderLease SqliteStore::reader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(*this, std::move(c));
    }
  }
  auto c = std::make_unique<Connection>(options_.path, Connection::Mode::read_only);
  configure_reader(*c);
  return ReaderLease(*this, std::move(c));
}

asio::awaitable<Status> SqliteStore::write(sqlite::GroupWriter::Work work,
                                           sqlite::GroupWriter::AfterCommit after_commit) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  auto initiate = [this, work = std::move(work), after_commit = std::move(after_commit)](auto handler) mutable {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<Handler>(std::move(handler));
    writer_->submit(
        std::move(work),
        [executor, shared](Status status) {
          asio::post(executor, [shared, status = std::move(status)]() mutable { (*shared)(std::move(status)); });
        },
        std::move(after_commit));
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Status)>(std::move(initiate),
                                                                                       asio::use_awaitable);
}

Result<std::vector<int>> SqliteStore::migrate() {
  Connection db(options_.path, Connection::Mode::read_write);
  configure(db, options_.path);
  // Migrations commit on this connection, without the writer's sync thread.
  if (options_.synchronous_full) db.exec("PRAGMA synchronous=FULL");
  if (db.exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)") != SQLITE_OK) {
    return Status::unavailable("cannot create schema_migrations: " + db.last_error());
  }
  if (db.exec("BEGIN IMMEDIATE") != SQLITE_OK) {
    return Status::unavailable("cannot lock the database for migration: " + db.last_error());
  }
  std::set<int> applied;
  {
    auto stmt = db.prepare("SELECT version FROM schema_migrations");
    while (stmt.step() == SQLITE_ROW) applied.insert(static_cast<int>(stmt.integer(0)));
  }
  const auto& all = sqlite_migrations();
  int newest_known = all.empty() ? 0 : all.back().version;
  if (!applied.empty() && *applied.rbegin() > newest_known) {
    db.exec("ROLLBACK");
    return Status::internal(
        fmt::format("the database has schema version {} but this daisy knows only up to {}: upgrade daisy",
                    *applied.rbegin(), newest_known));
  }
  std::vector<int> done;
  for (const auto& m : all) {
    if (applied.count(m.version)) continue;
    if (db.exec(m.sql) != SQLITE_OK) {
      std::string error = db.last_error();
      db.exec("ROLLBACK");
      return Status::internal(fmt::format("migration {} ({}) failed: {}", m.version, m.name, error));
    }
    auto stmt = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    stmt.bind(1, static_cast<std::int64_t>(m.version)).bind(2, m.name).bind(3, now_utc());
    if (stmt.step() != SQLITE_DONE) {
      db.exec("ROLLBACK");
      return Status::internal("cannot record migration: " + db.last_error());
    }
    done.push_back(m.version);
  }
  if (db.exec("COMMIT") != SQLITE_OK) {
    db.exec("ROLLBACK");
    return Status::unavailable("cannot commit migrations: " + db.last_error());
  }
  // Before any write: the events whose index entries may not all be written.
  if (Status s = event_index_.recover(db); !s.is_ok()) return s;
  return done;
}

bool SqliteStore::writes_go_through() { return writer_->writing(); }

bool SqliteStore::answers() {
  try {
    auto db = reader();
    auto stmt = db->prepare("SELECT 1");
    return stmt.step() == SQLITE_ROW;
  } catch (const std::exception&) {
    return false;
  }
}

Result<std::optional<std::string>> SqliteStore::get_setting(std::string_view key) {
  auto db = reader();
  auto stmt = db->prepare("SELECT value FROM settings WHERE key = ?");
  stmt.bind(1, key);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(stmt.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return sqlite::status_of(rc, *db);
}

static sqlite::GroupWriter::Work put_setting_work(std::string key, std::string value) {
  return [key = std::move(key), value = std::move(value)](Connection& db) {
    auto stmt = db.prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    stmt.bind(1, key).bind(2, value);
    return sqlite::status_of(stmt.step(), db);
  };
}

asio::awaitable<Status> SqliteStore::put_setting(std::string key, std::string value) {
  sqlite::GroupWriter::Work work = put_setting_work(std::move(key), std::move(value));
  co_return co_await write(std::move(work));
}

Status SqliteStore::put_setting_blocking(std::string key, std::string value) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  writer_->submit(put_setting_work(std::move(key), std::move(value)),
                  [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

namespace {

constexpr const char* app_columns =
    "id, name, created_at, unknown_event_types, coalesce(publishable_key, ''), allowed_origins, forms,"
    " events_per_second, burst";

// The app whose app_columns start at column `first`.
App app_of(const sqlite::Statement& stmt, int first = 0) {
  auto text = [&](int i) { return stmt.text(first + i); };
  App app{text(0), text(1), text(2), text(3)};
  app.access = {text(4), split_words(text(5)), split_words(text(6)), stmt.integer(first + 7), stmt.integer(first + 8)};
  return app;
}

}  // namespace

asio::awaitable<Status> SqliteStore::create_app(App app, Sha256 token_hash) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [app = std::move(app), token_hash](Connection& db) {
    auto stmt = db.prepare(
        "INSERT INTO apps (id, name, token_hash, created_at, publishable_key, allowed_origins, forms,"
        " events_per_second, burst) VALUES (?, ?, ?, ?, nullif(?, ''), ?, ?, ?, ?)");
    const AppAccess& a = app.access;
    stmt.bind(1, app.id).bind(2, app.name).bind_blob(3, bytes_of(token_hash)).bind(4, app.created_at);
    stmt.bind(5, a.publishable_key).bind(6, join_words(a.allowed_origins)).bind(7, join_words(a.forms));
    stmt.bind(8, a.events_per_second).bind(9, a.burst);
    return sqlite::status_of(stmt.step(), db);
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<App>> SqliteStore::list_apps(const Page& page) {
  auto db = reader();
  auto stmt = db->prepare_text(
      fmt::format("SELECT {} FROM apps WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?", app_columns));
  stmt.bind(1, page.after).bind(2, static_cast<std::int64_t>(page.limit));
  std::vector<App> apps;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) apps.push_back(app_of(stmt));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return apps;
}

Result<App> SqliteStore::get_app(std::string_view id) {
  auto db = reader();
  auto stmt = db->prepare_text(fmt::format("SELECT {} FROM apps WHERE id = ? AND deleted_at IS NULL", app_columns));
  stmt.bind(1, id);
  int rc = stmt.step();
  if (rc == SQLITE_ROW) return app_of(stmt);
  if (rc == SQLITE_DONE) return Status::not_found("app");
  return sqlite::status_of(rc, *db);
}

asio::awaitable<Status> SqliteStore::delete_app(std::string id) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [id = std::move(id)](Connection& db) {
    auto stmt = db.prepare(
        "UPDATE apps SET deleted_at = ?, token_hash = NULL, publishable_key = NULL WHERE id = ? AND deleted_at IS "
        "NULL");
    stmt.bind(1, now_utc()).bind(2, id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("app");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::set_app_token(std::string id, Sha256 token_hash) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [id = std::move(id), token_hash](Connection& db) {
    auto stmt = db.prepare("UPDATE apps SET token_hash = ? WHERE id = ? AND deleted_at IS NULL");
    stmt.bind_blob(1, bytes_of(token_hash)).bind(2, id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("app");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::set_publishable_key(std::string id, std::string key) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [id = std::move(id), key = std::move(key)](Connection& db) {
    auto stmt = db.prepare("UPDATE apps SET publishable_key = ? WHERE id = ? AND deleted_at IS NULL");
    stmt.bind(1, key).bind(2, id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("app");
    return s;
  };
  co_return co_await write(std::move(work));
}

asio::awaitable<Status> SqliteStore::update_app_settings(App app) {
  // g++ 12 mis-destroys a lambda built in the same expression as co_await.
  sqlite::GroupWriter::Work work = [app = std::move(app)](Connection& db) {
    auto stmt = db.prepare(
        "UPDATE apps SET unknown_event_types = ?, allowed_origins = ?, forms = ?, events_per_second = ?, burst = ?"
        " WHERE id = ? AND deleted_at IS NULL");
    const AppAccess& a = app.access;
    stmt.bind(1, app.unknown_event_types).bind(2, join_words(a.allowed_origins)).bind(3, join_words(a.forms));
    stmt.bind(4, a.events_per_second).bind(5, a.burst).bind(6, app.id);
    Status s = sqlite::status_of(stmt.step(), db);
    if (s.is_ok() && sqlite3_changes(db.handle()) == 0) return Status::not_found("app");
    return s;
  };
  co_return co_await write(std::move(work));
}

Result<std::vector<std::string>> SqliteStore::apps_rejecting_unknown_event_types() {
  auto db = reader();
  auto stmt = db->prepare("SELECT id FROM apps WHERE deleted_at IS NULL AND unknown_event_types = 'reject'");
  std::vector<std::string> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) out.push_back(stmt.text(0));
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

Result<std::vector<AppToken>> SqliteStore::app_tokens() {
  auto db = reader();
  auto stmt =
      db->prepare_text(fmt::format("SELECT token_hash, {} FROM apps WHERE token_hash IS NOT NULL", app_columns));
  std::vector<AppToken> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    AppToken t;
    std::string h = stmt.blob(0);
    if (h.size() != t.token_hash.size()) continue;
    std::copy(h.begin(), h.end(), t.token_hash.begin());
    App app = app_of(stmt, 1);
    t.app_id = std::move(app.id);
    t.access = std::move(app.access);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return sqlite::status_of(rc, *db);
  return out;
}

}  // namespace daisy
