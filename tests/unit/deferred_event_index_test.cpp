#include "store/sqlite/deferred_event_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/sqlite_store.h"
#include "test_support.h"

using daisy::sqlite::Connection;
using daisy::sqlite::DeferredEventIndex;
using daisy::sqlite::DeferredIndexOptions;
using daisy::sqlite::GroupWriter;
using daisy::sqlite::IndexEntry;
using daisy::sqlite::RecentQuery;
using Pairs = std::vector<std::pair<std::int64_t, std::int64_t>>;

namespace {

// A migrated database and a connection to it, as the writer has.
struct Database {
  daisy::test::TempDir dir;
  std::string path = (dir.path() / "d.db").string();
  Database() {
    daisy::SqliteStore store(daisy::SqliteOptions{path, false}, nullptr);
    EXPECT_TRUE(store.migrate().is_ok());
  }
  std::int64_t scalar(const char* sql) {
    Connection db(path, Connection::Mode::read_only);
    auto stmt = db.prepare(sql);
    EXPECT_EQ(stmt.step(), SQLITE_ROW) << sql;
    return stmt.integer(0);
  }
};

// Entry i: session i % 3, app a/b alternating, category c<i%2>, name n<i%4>,
// time 1000 - 10 * i (arrival order reverses time order).
std::vector<IndexEntry> entries(int from, int to) {
  static const std::string apps[] = {"app-a", "app-b"}, categories[] = {"c0", "c1"}, names[] = {"n0", "n1", "n2", "n3"};
  std::vector<IndexEntry> out;
  for (int i = from; i < to; ++i) {
    out.push_back({i, 1000 - 10 * i, i % 3 + 1, categories[i % 2], names[i % 4], apps[i % 2]});
  }
  return out;
}

// Steps until every entry is written; the steps that reported a backlog.
int write_all(DeferredEventIndex& index, Connection& db) {
  int steps = 0;
  for (int calls = 0; index.pending() > 0; ++calls) {
    if (calls >= 5000) {
      ADD_FAILURE() << "the generation was never written";
      break;
    }
    // None while the generation is sorted on its own thread.
    if (index.step(db) == GroupWriter::Backlog::none) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } else {
      ++steps;
    }
  }
  return steps;
}

TEST(DeferredEventIndex, MatchesFiltersInTimeThenArrivalOrderUpToTheLimit) {
  DeferredEventIndex index;
  index.add(entries(1, 13));
  EXPECT_EQ(index.pending(), 12u);

  RecentQuery by_session;
  by_session.session_seq = 2;  // entries 1, 4, 7, 10
  EXPECT_EQ(index.match(by_session, 100), (Pairs{{900, 10}, {930, 7}, {960, 4}, {990, 1}}));
  EXPECT_EQ(index.match(by_session, 2), (Pairs{{900, 10}, {930, 7}}));

  RecentQuery filtered;
  filtered.category = "c1";  // odd entries
  filtered.app_id = "app-b";
  filtered.name = "n1";     // 1, 5, 9
  filtered.since_ns = 911;  // inclusive: 910 (entry 9) is just outside
  EXPECT_EQ(index.match(filtered, 100), (Pairs{{950, 5}, {990, 1}}));

  RecentQuery after;
  after.after = std::pair<std::int64_t, std::int64_t>{930, 7};
  after.until_ns = 980;
  EXPECT_EQ(index.match(after, 100), (Pairs{{940, 6}, {950, 5}, {960, 4}, {970, 3}}));

  RecentQuery none;
  none.category = "unknown";
  EXPECT_TRUE(index.match(none, 100).empty());
}

// Scans take the lock a slice at a time; commits add meanwhile, growing (and
// moving) the generation's entries past its reservation. Each scan still
// finds every entry held when it began, in order.
TEST(DeferredEventIndex, AScanSeesEveryEntryHeldWhenItBeganWhileCommitsAddMore) {
  DeferredEventIndex index;
  index.add(entries(1, 20001));
  std::atomic<bool> adding{true};
  std::thread writer([&] {
    for (int from = 20001; from < 120001; from += 1000) index.add(entries(from, from + 1000));
    adding = false;
  });
  RecentQuery even;
  even.category = "c0";  // the even entries
  int scans = 0;
  do {
    Pairs found = index.match(even, 1000000);
    std::size_t early = 0;
    for (const auto& [ts, seq] : found) {
      EXPECT_EQ(seq % 2, 0);
      if (seq <= 20000) ++early;
    }
    EXPECT_EQ(early, 10000u);
    EXPECT_TRUE(std::is_sorted(found.begin(), found.end()));
    ++scans;
  } while (adding || scans < 2);
  writer.join();
  EXPECT_EQ(index.match(even, 1000000).size(), 60000u);
}

TEST(DeferredEventIndex, WritesAFrozenGenerationInSlicesThenForgetsIt) {
  Database database;
  Connection db(database.path, Connection::Mode::read_write);
  DeferredIndexOptions options;
  options.generation_entries = 10;
  options.generation_age = std::chrono::hours(1);
  options.entries_per_step = 7;
  DeferredEventIndex index(options);

  index.add(entries(1, 6));
  EXPECT_EQ(index.step(db), GroupWriter::Backlog::none) << "5 entries: neither big nor old enough";
  index.add(entries(6, 26));
  int steps = write_all(index, db);
  // 25 entries x 4 tables in slices of 7.
  EXPECT_GE(steps, 25 * 4 / 7);
  EXPECT_EQ(index.pending(), 0u);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_session"), 25);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_time"), 25);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_category WHERE category = 'c1'"), 13);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_app WHERE app_id = 'app-a'"), 12);
  EXPECT_EQ(database.scalar("SELECT indexed_through FROM event_index_state"), 25);
}

// A written generation is emptied and reused for the next one (for its
// memory): nothing of the old one may show through, in memory or in the
// tables, and the next one is written and forgotten the same way.
TEST(DeferredEventIndex, TheNextGenerationStartsEmptyWhenAWrittenOneIsReused) {
  Database database;
  Connection db(database.path, Connection::Mode::read_write);
  DeferredIndexOptions options;
  options.generation_entries = 10;
  options.generation_age = std::chrono::hours(1);
  DeferredEventIndex index(options);
  for (int round = 0; round < 3; ++round) {
    const int from = 1 + 30 * round;
    index.add(entries(from, from + 30));
    EXPECT_EQ(index.pending(), 30u);
    RecentQuery by_session;
    by_session.session_seq = from % 3 + 1;  // every third entry of this round, from `from`
    Pairs found = index.match(by_session, 100);
    ASSERT_EQ(found.size(), 10u) << "round " << round;
    for (const auto& [ts, seq] : found) {
      EXPECT_GE(seq, from);
      EXPECT_EQ((seq - from) % 3, 0);
    }
    RecentQuery c1;
    c1.category = "c1";
    EXPECT_EQ(index.match(c1, 100).size(), 15u) << "round " << round;
    write_all(index, db);
    EXPECT_EQ(index.pending(), 0u);
    EXPECT_TRUE(index.match(c1, 100).empty());
    EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_time"), from + 29);
    EXPECT_EQ(database.scalar("SELECT indexed_through FROM event_index_state"), from + 29);
  }
}

// Scans hold a generation while the writer writes it out: it must not be
// emptied for reuse under them. Each scan finds only what it asked for, in
// order, each entry once.
TEST(DeferredEventIndex, ScansWhileGenerationsAreWrittenAndReusedFindOnlyTheirMatches) {
  Database database;
  DeferredIndexOptions options;
  options.generation_entries = 2000;
  options.generation_age = std::chrono::milliseconds(1);
  DeferredEventIndex index(options);
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    Connection db(database.path, Connection::Mode::read_write);
    for (int from = 1; from < 60001; from += 500) {
      index.add(entries(from, from + 500));
      index.step(db);
    }
    write_all(index, db);
    writing = false;
  });
  RecentQuery even;
  even.category = "c0";
  int scans = 0;
  do {
    Pairs found = index.match(even, 1000000);
    for (const auto& [ts, seq] : found) {
      EXPECT_EQ(seq % 2, 0);
      EXPECT_EQ(ts, 1000 - 10 * seq);
    }
    EXPECT_TRUE(std::adjacent_find(found.begin(), found.end()) == found.end());
    EXPECT_TRUE(std::is_sorted(found.begin(), found.end()));
    ++scans;
  } while (writing || scans < 2);
  writer.join();
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_category WHERE category = 'c0'"), 30000);
}

// A step stops at its time limit after the statement that crossed it (one
// statement: up to 64 rows of one table), so with no time at all each step
// writes one statement's rows; the whole generation is written all the same.
TEST(DeferredEventIndex, AStepStopsAtItsTimeLimit) {
  Database database;
  Connection db(database.path, Connection::Mode::read_write);
  DeferredIndexOptions options;
  options.generation_entries = 100;
  options.step_time = std::chrono::microseconds(0);
  DeferredEventIndex index(options);
  index.add(entries(1, 101));  // 100 events: 400 table rows, 2 statements per table
  int steps = write_all(index, db);
  // The last statement's step reports no backlog: 8 statements, 7 steps counted.
  EXPECT_EQ(steps, 7);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_session"), 100);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_app"), 100);
  EXPECT_EQ(database.scalar("SELECT indexed_through FROM event_index_state"), 100);
}

TEST(DeferredEventIndex, TooManyPendingEntriesHoldWritesBack) {
  Database database;
  Connection db(database.path, Connection::Mode::read_write);
  DeferredIndexOptions options;
  options.generation_entries = 4;
  options.entries_per_step = 1;
  options.max_pending = 6;
  DeferredEventIndex index(options);
  index.add(entries(1, 11));  // one generation of 10 events: 40 table rows
  int steps = 1;
  while (index.step(db) == GroupWriter::Backlog::too_much) ++steps;
  // Writes may go on once 6 events' worth is left unwritten (16 rows written),
  // well before the whole generation is.
  EXPECT_EQ(steps, 16);
  EXPECT_EQ(index.pending(), 10u) << "the generation stays readable in memory until it is all written";
}

TEST(DeferredEventIndex, RecoverReadsBackTheEventsAfterTheLastWrittenGeneration) {
  Database database;
  {
    Connection db(database.path, Connection::Mode::read_write);
    db.exec("INSERT INTO sessions (seq, session_id) VALUES (1, 's1'), (2, 's2')");
    for (int i = 1; i <= 5; ++i) {
      std::string sql =
          "INSERT INTO events (seq, id, app_id, session_id, session_seq, category, name, ts, data, "
          "received_at) VALUES (" +
          std::to_string(i) + ", 'e" + std::to_string(i) + "', 'app', 's', " + std::to_string(i % 2 + 1) +
          ", 'c', 'n', " + std::to_string(100 * i) + ", '{}', 0)";
      ASSERT_EQ(db.exec(sql.c_str()), SQLITE_OK) << db.last_error();
    }
    db.exec("UPDATE event_index_state SET indexed_through = 2");
  }
  Connection db(database.path, Connection::Mode::read_write);
  DeferredEventIndex index;
  ASSERT_TRUE(index.recover(db).is_ok());
  EXPECT_EQ(index.pending(), 3u);
  RecentQuery session;
  session.session_seq = 2;  // odd seqs after 2
  EXPECT_EQ(index.match(session, 10), (Pairs{{300, 3}, {500, 5}}));
  // Recovering again (e.g. a second migrate) adds nothing twice.
  ASSERT_TRUE(index.recover(db).is_ok());
  EXPECT_EQ(index.pending(), 3u);
}

}  // namespace

namespace {

TEST(DeferredEventIndex, AFailedSliceLeavesNoTransactionOpenAndIsRetried) {
  Database database;
  Connection db(database.path, Connection::Mode::read_write);
  DeferredIndexOptions options;
  options.generation_entries = 4;
  options.max_pending = 1;  // behind from the start: each step waits for the sort and writes
  DeferredEventIndex index(options);
  index.add(entries(1, 5));
  // The time table is missing: preparing its INSERT fails inside the slice.
  ASSERT_EQ(db.exec("ALTER TABLE event_idx_time RENAME TO hidden"), SQLITE_OK) << db.last_error();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(index.step(db), GroupWriter::Backlog::too_much) << "backpressure holds while slices fail";
  }
  EXPECT_EQ(index.pending(), 4u) << "nothing is dropped from memory while a slice fails";
  ASSERT_EQ(db.exec("BEGIN IMMEDIATE"), SQLITE_OK) << "a failed slice left its transaction open: " << db.last_error();
  ASSERT_EQ(db.exec("ROLLBACK"), SQLITE_OK);

  ASSERT_EQ(db.exec("ALTER TABLE hidden RENAME TO event_idx_time"), SQLITE_OK) << db.last_error();
  for (int i = 0; i < 200 && index.pending() > 0; ++i) index.step(db);
  EXPECT_EQ(index.pending(), 0u);
  EXPECT_EQ(database.scalar("SELECT count(*) FROM event_idx_time"), 4);
  EXPECT_EQ(database.scalar("SELECT indexed_through FROM event_index_state"), 4);
}

}  // namespace
