#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "observability/metrics.h"
#include "store/migrations.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_jobs.h"
#include "store/sqlite/sqlite_status.h"
#include "test_support.h"
#include "util/ids.h"
#include "util/time.h"

namespace {

using namespace daisy;
using daisy::test::run_awaitable;
using Code = Status::Code;

Sha256 hash_of(std::string_view s) { return sha256(s); }

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("daisy.db");
    store_ = open();
    auto applied = store_->migrate();
    ASSERT_TRUE(applied.is_ok()) << applied.status().message();
  }

  std::unique_ptr<SqliteStore> open(bool synchronous_full = false) {
    return std::make_unique<SqliteStore>(SqliteOptions{path_, synchronous_full}, &metrics_);
  }

  App new_app(std::string name) { return App{new_uuid_v7(), std::move(name), now_utc()}; }

  Status create(const App& app, const Sha256& hash) { return run_awaitable(store_->create_app(app, hash)); }
  Status remove(const std::string& id) { return run_awaitable(store_->delete_app(id)); }
  Status set_token(const std::string& id, const Sha256& hash) { return run_awaitable(store_->set_app_token(id, hash)); }

  std::vector<std::string> ids(const Page& page) {
    auto apps = store_->list_apps(page);
    EXPECT_TRUE(apps.is_ok());
    std::vector<std::string> out;
    if (apps.is_ok()) {
      for (const auto& a : apps.value()) out.push_back(a.id);
    }
    return out;
  }

  std::set<std::string> token_owners() {
    auto tokens = store_->app_tokens();
    EXPECT_TRUE(tokens.is_ok());
    std::set<std::string> out;
    if (tokens.is_ok()) {
      for (const auto& t : tokens.value()) out.insert(t.app_id);
    }
    return out;
  }

  daisy::test::TempDir dir_;
  std::string path_;
  Metrics metrics_;
  std::unique_ptr<SqliteStore> store_;
};

TEST(SqliteMigrations, AreEmbeddedInOrder) {
  const auto& all = sqlite_migrations();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().version, 1);
  EXPECT_STREQ(all.front().name, "0001_init");
  EXPECT_NE(std::string(all.front().sql).find("CREATE TABLE apps"), std::string::npos);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].version, all[i].version);
}

TEST(SqliteStoreMigrate, AppliesVersionOneThenIsANoOp) {
  daisy::test::TempDir dir;
  std::string path = dir.file("fresh.db");
  {
    SqliteStore store(SqliteOptions{path, false}, nullptr);
    auto first = store.migrate();
    ASSERT_TRUE(first.is_ok()) << first.status().message();
    ASSERT_FALSE(first.value().empty());
    EXPECT_EQ(first.value().front(), 1);
    EXPECT_EQ(first.value().size(), sqlite_migrations().size());

    auto second = store.migrate();
    ASSERT_TRUE(second.is_ok());
    EXPECT_TRUE(second.value().empty());
  }
  {
    SqliteStore reopened(SqliteOptions{path, false}, nullptr);
    auto third = reopened.migrate();
    ASSERT_TRUE(third.is_ok());
    EXPECT_TRUE(third.value().empty());
  }
  sqlite::Connection db(path, sqlite::Connection::Mode::read_only);
  auto stmt = db.prepare("SELECT version, name FROM schema_migrations ORDER BY version");
  ASSERT_EQ(stmt.step(), SQLITE_ROW);
  EXPECT_EQ(stmt.integer(0), 1);
  EXPECT_EQ(stmt.text(1), "0001_init");
}

TEST(SqliteStoreMigrate, RefusesADatabaseFromANewerDaisy) {
  daisy::test::TempDir dir;
  std::string path = dir.file("newer.db");
  SqliteStore store(SqliteOptions{path, false}, nullptr);
  ASSERT_TRUE(store.migrate().is_ok());
  {
    sqlite::Connection db(path, sqlite::Connection::Mode::read_write);
    ASSERT_EQ(db.exec("INSERT INTO schema_migrations VALUES (9999, '9999_future', 'x')"), SQLITE_OK);
  }
  auto result = store.migrate();
  EXPECT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), Code::internal);
  EXPECT_NE(result.status().message().find("9999"), std::string::npos) << result.status().message();
}

TEST_F(SqliteStoreTest, Ready) { EXPECT_TRUE(store_->ready()); }

TEST_F(SqliteStoreTest, Settings) {
  auto missing = store_->get_setting("admin_token_sha256");
  ASSERT_TRUE(missing.is_ok());
  EXPECT_FALSE(missing.value().has_value());

  EXPECT_TRUE(store_->put_setting_blocking("k", "v1").is_ok());
  auto v1 = store_->get_setting("k");
  ASSERT_TRUE(v1.is_ok());
  EXPECT_EQ(v1.value(), "v1");

  EXPECT_TRUE(store_->put_setting_blocking("k", "v2").is_ok());  // replaces
  EXPECT_EQ(store_->get_setting("k").value(), "v2");

  EXPECT_TRUE(run_awaitable(store_->put_setting("other", "x y z")).is_ok());
  EXPECT_EQ(store_->get_setting("other").value(), "x y z");
  EXPECT_EQ(store_->get_setting("k").value(), "v2");
}

TEST_F(SqliteStoreTest, CreateAndGetApp) {
  App app = new_app("Checkout web");
  ASSERT_TRUE(create(app, hash_of("t1")).is_ok());
  auto got = store_->get_app(app.id);
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got.value().id, app.id);
  EXPECT_EQ(got.value().name, "Checkout web");
  EXPECT_EQ(got.value().created_at, app.created_at);

  auto absent = store_->get_app(new_uuid_v7());
  EXPECT_FALSE(absent.is_ok());
  EXPECT_EQ(absent.status().code(), Code::not_found);
}

TEST_F(SqliteStoreTest, NamesRoundTripExactly) {
  App app = new_app(std::string("caf\xc3\xa9 \"quoted\" 'single' ") + std::string(150, 'x'));
  ASSERT_TRUE(create(app, hash_of("t")).is_ok());
  EXPECT_EQ(store_->get_app(app.id).value().name, app.name);
}

TEST_F(SqliteStoreTest, ListPaginatesById) {
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    App app = new_app("app " + std::to_string(i));
    ASSERT_TRUE(create(app, hash_of("t" + std::to_string(i))).is_ok());
    created.push_back(app.id);
  }
  ASSERT_TRUE(std::is_sorted(created.begin(), created.end()));

  EXPECT_EQ(ids(Page{}), created);  // default limit 50
  EXPECT_EQ(ids(Page{2, ""}), (std::vector<std::string>{created[0], created[1]}));
  EXPECT_EQ(ids(Page{2, created[1]}), (std::vector<std::string>{created[2], created[3]}));
  EXPECT_EQ(ids(Page{2, created[3]}), (std::vector<std::string>{created[4]}));
  EXPECT_TRUE(ids(Page{2, created[4]}).empty());
  EXPECT_EQ(ids(Page{10, "0"}), created);  // any cursor string works: ids compare as text
  EXPECT_TRUE(ids(Page{10, "g"}).empty());

  auto apps = store_->list_apps(Page{1, ""});
  ASSERT_TRUE(apps.is_ok());
  ASSERT_EQ(apps.value().size(), 1u);
  EXPECT_EQ(apps.value()[0].name, "app 0");
}

TEST_F(SqliteStoreTest, DeleteApp) {
  App a = new_app("a"), b = new_app("b");
  ASSERT_TRUE(create(a, hash_of("ta")).is_ok());
  ASSERT_TRUE(create(b, hash_of("tb")).is_ok());

  EXPECT_TRUE(remove(a.id).is_ok());
  EXPECT_EQ(store_->get_app(a.id).status().code(), Code::not_found);
  EXPECT_EQ(ids(Page{}), (std::vector<std::string>{b.id}));
  EXPECT_EQ(token_owners(), (std::set<std::string>{b.id}));

  EXPECT_EQ(remove(a.id).code(), Code::not_found) << "already deleted";
  EXPECT_EQ(remove(new_uuid_v7()).code(), Code::not_found);
  EXPECT_EQ(set_token(a.id, hash_of("new")).code(), Code::not_found) << "deleted apps get no token";
}

TEST_F(SqliteStoreTest, SetAppTokenAndAppTokens) {
  App a = new_app("a"), b = new_app("b");
  ASSERT_TRUE(create(a, hash_of("ta")).is_ok());
  ASSERT_TRUE(create(b, hash_of("tb")).is_ok());
  ASSERT_TRUE(set_token(a.id, hash_of("ta2")).is_ok());

  auto tokens = store_->app_tokens();
  ASSERT_TRUE(tokens.is_ok());
  ASSERT_EQ(tokens.value().size(), 2u);
  for (const auto& t : tokens.value()) {
    if (t.app_id == a.id) {
      EXPECT_EQ(t.token_hash, hash_of("ta2"));
    } else {
      EXPECT_EQ(t.app_id, b.id);
      EXPECT_EQ(t.token_hash, hash_of("tb"));
    }
  }
  EXPECT_EQ(set_token(new_uuid_v7(), hash_of("x")).code(), Code::not_found);
}

TEST_F(SqliteStoreTest, DuplicateTokenHashIsAConflict) {
  App a = new_app("a"), b = new_app("b"), c = new_app("c");
  ASSERT_TRUE(create(a, hash_of("same")).is_ok());
  Status dup = create(b, hash_of("same"));
  EXPECT_EQ(dup.code(), Code::conflict) << dup.message();
  EXPECT_EQ(store_->get_app(b.id).status().code(), Code::not_found) << "the refused write left nothing";

  ASSERT_TRUE(create(c, hash_of("other")).is_ok());
  EXPECT_EQ(set_token(c.id, hash_of("same")).code(), Code::conflict);
  EXPECT_EQ(token_owners(), (std::set<std::string>{a.id, c.id}));

  // A deleted app's hash is dropped, so it may be used again.
  ASSERT_TRUE(remove(a.id).is_ok());
  EXPECT_TRUE(set_token(c.id, hash_of("same")).is_ok());
}

TEST_F(SqliteStoreTest, DuplicateIdIsAConflict) {
  App a = new_app("a");
  ASSERT_TRUE(create(a, hash_of("t1")).is_ok());
  App again{a.id, "again", now_utc()};
  EXPECT_EQ(create(again, hash_of("t2")).code(), Code::conflict);
  EXPECT_EQ(store_->get_app(a.id).value().name, "a");
}

TEST_F(SqliteStoreTest, AFailedWriteDoesNotSpoilItsBatch) {
  App a = new_app("a"), b = new_app("b"), c = new_app("c");
  boost::asio::io_context ioc;
  std::vector<Status> results(3);
  // Submitted together, so they are likely to share a transaction.
  boost::asio::co_spawn(ioc, store_->create_app(a, hash_of("h1")),
                        [&](std::exception_ptr, Status s) { results[0] = s; });
  boost::asio::co_spawn(ioc, store_->create_app(b, hash_of("h1")),
                        [&](std::exception_ptr, Status s) { results[1] = s; });
  boost::asio::co_spawn(ioc, store_->create_app(c, hash_of("h2")),
                        [&](std::exception_ptr, Status s) { results[2] = s; });
  ioc.run();
  EXPECT_TRUE(results[0].is_ok());
  EXPECT_EQ(results[1].code(), Code::conflict);
  EXPECT_TRUE(results[2].is_ok());
  EXPECT_EQ(ids(Page{}), (std::vector<std::string>{a.id, c.id}));
}

TEST_F(SqliteStoreTest, WritesAfterCloseAreUnavailable) {
  App a = new_app("a");
  ASSERT_TRUE(create(a, hash_of("t")).is_ok());
  store_->close();
  EXPECT_EQ(create(new_app("late"), hash_of("late")).code(), Code::unavailable);
  EXPECT_EQ(store_->put_setting_blocking("k", "v").code(), Code::unavailable);
  EXPECT_TRUE(store_->get_app(a.id).is_ok()) << "reads still work";
  store_->close();  // idempotent
}

TEST_F(SqliteStoreTest, DataSurvivesReopening) {
  App a = new_app("kept");
  ASSERT_TRUE(create(a, hash_of("t")).is_ok());
  ASSERT_TRUE(store_->put_setting_blocking("k", "v").is_ok());
  store_.reset();
  store_ = open();
  ASSERT_TRUE(store_->migrate().is_ok());
  EXPECT_EQ(store_->get_app(a.id).value().name, "kept");
  EXPECT_EQ(store_->get_setting("k").value(), "v");
  EXPECT_EQ(token_owners(), (std::set<std::string>{a.id}));
}

TEST_F(SqliteStoreTest, ConcurrentWritesAllLandWithGroupCommit) {
  store_.reset();
  store_ = open(/*synchronous_full=*/true);
  constexpr int threads = 8, per_thread = 200;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      boost::asio::io_context ioc;
      for (int i = 0; i < per_thread; ++i) {
        App app{new_uuid_v7(), "t" + std::to_string(t) + "-" + std::to_string(i), now_utc()};
        Sha256 hash = hash_of("token-" + std::to_string(t) + "-" + std::to_string(i));
        boost::asio::co_spawn(ioc, store_->create_app(std::move(app), hash),
                              [&](std::exception_ptr e, Status s) { (!e && s.is_ok() ? ok : failed)++; });
      }
      ioc.run();
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(ok.load(), threads * per_thread);
  EXPECT_EQ(failed.load(), 0);

  std::vector<std::string> all;
  Page page{1000, ""};
  for (;;) {
    auto got = ids(page);
    all.insert(all.end(), got.begin(), got.end());
    if (got.size() < page.limit) break;
    page.after = got.back();
  }
  EXPECT_EQ(all.size(), std::size_t(threads * per_thread));
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
  EXPECT_EQ(token_owners().size(), std::size_t(threads * per_thread));

  auto batches = metrics_.commit_batch_size.snapshot();
  EXPECT_DOUBLE_EQ(batches.sum, threads * per_thread) << "every write was committed once";
  EXPECT_LT(batches.count, std::uint64_t(threads * per_thread)) << "writes shared transactions";
  EXPECT_EQ(metrics_.commit_seconds.snapshot().count, batches.count);
}

}  // namespace

namespace {

TEST(ConnectionDeadline, InterruptsAQueryPastItsDeadlineAndIsClearedAfter) {
  daisy::test::TempDir dir;
  daisy::sqlite::Connection db((dir.path() / "d.db").string(), daisy::sqlite::Connection::Mode::read_write);
  const char* endless =
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) SELECT count(*) FROM n";
  db.set_deadline(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  {
    auto stmt = db.prepare(endless);
    int rc = stmt.step();
    EXPECT_EQ(rc & 0xff, SQLITE_INTERRUPT);
    daisy::Status s = daisy::sqlite::status_of(rc, db);
    EXPECT_EQ(s.code(), daisy::Status::Code::too_costly);
    EXPECT_NE(s.message().find("since/until"), std::string::npos);
  }
  db.clear_deadline();
  auto quick = db.prepare("SELECT 41 + 1");
  ASSERT_EQ(quick.step(), SQLITE_ROW);
  EXPECT_EQ(quick.integer(0), 42);
}

}  // namespace

namespace {

// The plan SQLite chooses for a query, its detail lines joined.
std::string query_plan(daisy::sqlite::Connection& db, const std::string& sql) {
  auto stmt = db.prepare_text("EXPLAIN QUERY PLAN " + sql);
  std::string plan;
  while (stmt.step() == SQLITE_ROW) plan += stmt.text(3) + "\n";
  return plan;
}

// A repeated submission lists the jobs of its record that still wait in the
// outbox, and job listings filter by status, integration or record: with a
// million jobs waiting, each must seek an index, never scan.
TEST_F(SqliteStoreTest, JobReadsSeekTheirIndexes) {
  daisy::sqlite::Connection db(path_, daisy::sqlite::Connection::Mode::read_only);
  EXPECT_NE(query_plan(db, "SELECT seq FROM job_outbox WHERE source_id = 'r'").find("job_outbox_by_source"),
            std::string::npos);
  // The statements list_jobs runs, as it builds them.
  for (auto [field, index] :
       {std::pair{&JobFilter::status, "jobs_by_status"}, std::pair{&JobFilter::integration_id, "jobs_by_integration"},
        std::pair{&JobFilter::source_id, "jobs_by_source"}}) {
    JobFilter filter;
    filter.*field = "x";
    std::string plan = query_plan(db, daisy::sqlite::list_jobs_sql(filter));
    EXPECT_NE(plan.find(index), std::string::npos) << index << ":\n" << plan;
  }
}

}  // namespace
