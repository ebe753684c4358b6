// Event listings scan their index table in slices of a read transaction each
// (so that a long scan does not hold the WAL back); a scan resumed after each
// slice must return exactly what one uninterrupted scan returns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support.h"

namespace {

using namespace daisy;

constexpr int event_count = 30000;

// Event i (seq i + 1): session i % 50, app a/b alternating, category c<i%3>,
// name "rare" once in 997 events, else "common"; time order differs from
// arrival order (ts decreases within blocks of 10).
std::int64_t ts_of(int i) { return 1'000'000 + (i / 10) * 100 + (9 - i % 10); }
std::string name_of(int i) { return i % 997 == 0 ? "rare" : "common"; }
std::string app_of(int i) { return i % 2 ? "app-b" : "app-a"; }
std::string category_of(int i) { return "c" + std::to_string(i % 3); }
std::string session_of(int i) { return "00000000-0000-4000-8000-" + std::to_string(100000000000 + i % 50); }

// The events, written straight into the tables and their index tables, as
// if the deferred index had written them.
void seed(const std::string& path) {
  sqlite::Connection db(path, sqlite::Connection::Mode::read_write);
  ASSERT_EQ(db.exec("BEGIN"), SQLITE_OK);
  for (int s = 0; s < 50; ++s) {
    auto stmt = db.prepare("INSERT INTO sessions (seq, session_id) VALUES (?, ?)");
    stmt.bind(1, std::int64_t{s + 1}).bind(2, session_of(s));
    ASSERT_EQ(stmt.step(), SQLITE_DONE);
  }
  auto insert = db.prepare(
      "INSERT INTO events (seq, id, app_id, session_id, session_seq, category, name, ts, data, received_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', 0)");
  for (int i = 0; i < event_count; ++i) {
    insert.bind(1, std::int64_t{i + 1})
        .bind(2, "id-" + std::to_string(i))
        .bind(3, app_of(i))
        .bind(4, session_of(i))
        .bind(5, std::int64_t{i % 50 + 1})
        .bind(6, category_of(i))
        .bind(7, name_of(i))
        .bind(8, ts_of(i));
    ASSERT_EQ(insert.step(), SQLITE_DONE);
    insert.reset();
  }
  for (const char* sql : {"INSERT INTO event_idx_session SELECT session_seq, ts, seq FROM events",
                          "INSERT INTO event_idx_time SELECT ts, seq, name FROM events",
                          "INSERT INTO event_idx_category SELECT category, ts, seq, name FROM events",
                          "INSERT INTO event_idx_app SELECT app_id, ts, seq FROM events",
                          "UPDATE event_index_state SET indexed_through = (SELECT max(seq) FROM events)"}) {
    ASSERT_EQ(db.exec(sql), SQLITE_OK) << sql;
  }
  ASSERT_EQ(db.exec("COMMIT"), SQLITE_OK);
}

// What a filter should return: the matching events in (ts, seq) order.
std::vector<std::int64_t> expected(const EventFilter& f) {
  std::vector<std::pair<std::int64_t, std::int64_t>> keys;
  for (int i = 0; i < event_count; ++i) {
    if (!f.session_id.empty() && session_of(i) != f.session_id) continue;
    if (!f.category.empty() && category_of(i) != f.category) continue;
    if (!f.name.empty() && name_of(i) != f.name) continue;
    if (!f.app_id.empty() && app_of(i) != f.app_id) continue;
    std::pair key(ts_of(i), std::int64_t{i + 1});
    if (f.since_ns && key.first < *f.since_ns) continue;
    if (f.until_ns && key.first >= *f.until_ns) continue;
    if (f.after && key <= *f.after) continue;
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::int64_t> out;
  for (std::size_t k = 0; k < keys.size() && k < f.limit; ++k) out.push_back(keys[k].second);
  return out;
}

std::vector<std::int64_t> seqs(const std::vector<EventRow>& rows) {
  std::vector<std::int64_t> out;
  for (const EventRow& e : rows) out.push_back(e.seq);
  return out;
}

class EventScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("daisy.db");
    {
      SqliteStore store(SqliteOptions{path_, false}, nullptr);
      ASSERT_TRUE(store.migrate().is_ok());
    }
    seed(path_);
  }

  std::unique_ptr<SqliteStore> open(std::chrono::microseconds slice) {
    SqliteOptions options{path_, false};
    options.scan_slice = slice;
    return std::make_unique<SqliteStore>(options, nullptr);
  }

  test::TempDir dir_;
  std::string path_;
};

std::vector<EventFilter> filters() {
  std::vector<EventFilter> out;
  auto add = [&out](auto&& set) {
    EventFilter f;
    f.limit = 1000;
    set(f);
    out.push_back(f);
  };
  add([](EventFilter& f) { f.name = "rare"; });                                  // time table, row filter
  add([](EventFilter& f) { f.name = "no-such-name"; });                          // matches nothing
  add([](EventFilter& f) { f.category = "c1", f.name = "rare"; });               // category table
  add([](EventFilter& f) { f.app_id = "app-b", f.name = "rare"; });              // app table, name on the event
  add([](EventFilter& f) { f.app_id = "app-a", f.category = "c2"; });            // category table, app on the event
  add([](EventFilter& f) { f.session_id = session_of(7), f.name = "common"; });  // session table
  add([](EventFilter& f) {                                                       // a window and a cursor
    f.name = "rare";
    f.since_ns = ts_of(5000);
    f.until_ns = ts_of(25000);
    f.after = std::pair(ts_of(9970), std::int64_t{9971});
  });
  add([](EventFilter& f) { f.category = "c0", f.limit = 7; });  // stops at its limit
  return out;
}

TEST_F(EventScanTest, AScanInManySlicesReturnsWhatOneScanReturns) {
  auto whole = open(std::chrono::seconds(10));
  auto sliced = open(std::chrono::microseconds(1));  // a slice ends every 10,000 SQLite steps
  for (const EventFilter& f : filters()) {
    auto want = expected(f);
    auto one = whole->list_events(f);
    auto many = sliced->list_events(f);
    ASSERT_TRUE(one.is_ok()) << one.status().message();
    ASSERT_TRUE(many.is_ok()) << many.status().message();
    EXPECT_EQ(seqs(one.value()), want) << "name=" << f.name << " category=" << f.category << " app=" << f.app_id;
    EXPECT_EQ(seqs(many.value()), want) << "name=" << f.name << " category=" << f.category << " app=" << f.app_id;
  }
  EXPECT_EQ(expected(filters()[0]).size(), 31u);  // the seed has what the filters look for
}

TEST_F(EventScanTest, PagesThroughSlicedScansWithoutSkippingOrRepeating) {
  auto sliced = open(std::chrono::microseconds(1));
  EventFilter f;
  f.name = "rare";
  f.limit = 4;
  std::vector<std::int64_t> all;
  for (int page = 0; page < 20; ++page) {
    auto rows = sliced->list_events(f);
    ASSERT_TRUE(rows.is_ok()) << rows.status().message();
    if (rows.value().empty()) break;
    for (const EventRow& e : rows.value()) all.push_back(e.seq);
    f.after = std::pair(rows.value().back().ts_ns, rows.value().back().seq);
  }
  f.after.reset();
  f.limit = 1000;
  EXPECT_EQ(all, expected(f));
}

}  // namespace
