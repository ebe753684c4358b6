// The store under faults, on SQLite: a disk that refuses writes (a file-size
// limit set on the running server stands in for a full disk), a data dir whose
// database file is gone or empty, a damaged database file, and `daisy check`.
// PostgreSQL's faults are in cluster_test.cpp.
#include <sys/resource.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "harness.h"
#include "postgres_server.h"

namespace daisy_e2e {
namespace {

namespace fs = std::filesystem;

class StorageFaultsTest : public OwnedServers {
 protected:
  void SetUp() override {
    if (on_postgres()) GTEST_SKIP() << "SQLite faults: this pass runs on PostgreSQL (its faults: cluster_test.cpp)";
  }

  static std::vector<std::string> with_store(DaisyProcess& d, std::vector<std::string> args) {
    for (std::string& a : d.store_args()) args.push_back(std::move(a));
    return args;
  }

  // The soft limit only: raising it again needs no privilege.
  static void set_file_size_limit(pid_t pid, rlim_t bytes) {
    struct rlimit now {};
    ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &now), 0) << std::strerror(errno);
    struct rlimit limit {
      std::min(bytes, now.rlim_max), now.rlim_max
    };
    ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr), 0) << std::strerror(errno);
  }
};

// While the disk refuses writes, writes answer 503 and /readyz says not
// ready; once it takes them again, both recover without a restart.
TEST_F(StorageFaultsTest, ReadyzFollowsWhetherWritesSucceed) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_EQ(d.create_app("before").status, 201);
  ASSERT_EQ(d.get("/readyz").status, 200);

  set_file_size_limit(d.pid(), 1);  // no file may grow past its first byte
  int refused = 0;
  for (int i = 0; i < 20 && refused == 0; ++i) {
    HttpResponse r = d.create_app("during-" + std::to_string(i));
    if (r.status == 503)
      ++refused;
    else
      EXPECT_EQ(r.status, 201) << r.summary();
  }
  EXPECT_GT(refused, 0) << "no write failed with the file-size limit at one byte";
  HttpResponse not_ready = d.get("/readyz");
  EXPECT_TRUE(IsProblem(not_ready, 503, "not-ready")) << not_ready.summary();
  EXPECT_EQ(d.get("/healthz").status, 200) << "the process itself is alive";

  set_file_size_limit(d.pid(), RLIM_INFINITY);
  EXPECT_TRUE(eventually([&] { return d.create_app("after").status == 201; }, 10s));
  EXPECT_EQ(d.get("/readyz").status, 200);
  EXPECT_TRUE(d.running());
}

// A data dir that served before keeps a node id: if its database file is
// then missing or empty, starting would silently begin with no data.
TEST_F(StorageFaultsTest, ALostDatabaseInAUsedDataDirIsRefused) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  ASSERT_EQ(d.create_app("kept").status, 201);
  ASSERT_TRUE(d.stop().exited);
  const std::string db = d.data_dir() + "/daisy.db";
  ASSERT_TRUE(fs::exists(d.data_dir() + "/node-id"));

  for (bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "missing" : "empty");
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
    if (!remove) std::ofstream(db).close();  // zero bytes
    EXPECT_FALSE(d.start()) << "started on a lost database";
    std::string err = d.err_text();
    EXPECT_NE(err.find(remove ? "is missing" : "is empty"), std::string::npos) << err;
    EXPECT_NE(err.find("node-id"), std::string::npos) << "the message says how to start afresh: " << err;
    EXPECT_FALSE(fs::exists(db) && fs::file_size(db) > 0) << "nothing was created";
  }
  // Removing node-id, as the message says, starts afresh.
  fs::remove(d.data_dir() + "/node-id");
  ASSERT_TRUE(d.start()) << d.start_error();
  EXPECT_EQ(d.get("/readyz").status, 200);
}

// Damage in the data pages is found at start and named as damage.
TEST_F(StorageFaultsTest, ADamagedDatabaseIsReportedAsSuch) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(d.create_app("app-" + std::to_string(i)).status, 201);
  ASSERT_TRUE(d.stop().exited);
  const std::string db = d.data_dir() + "/daisy.db";

  RunResult sound = run_daisy(with_store(d, {"check"}));
  EXPECT_EQ(sound.status.code, 0) << sound.out << sound.err;
  EXPECT_NE(sound.out.find(": ok"), std::string::npos) << sound.out;

  // Overwrite the middle pages of the file (the header and schema stay).
  auto size = fs::file_size(db);
  ASSERT_GT(size, 4u * 4096);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(2 * 4096));
    std::string junk(size - 3 * 4096, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  EXPECT_FALSE(d.start()) << "started on a damaged database";
  std::string err = d.err_text();
  EXPECT_NE(err.find("is corrupt"), std::string::npos) << err;
  EXPECT_EQ(err.find("migration"), std::string::npos) << "reported as a failed migration: " << err;

  RunResult damaged = run_daisy(with_store(d, {"check"}));
  EXPECT_EQ(damaged.status.code, 1) << damaged.out << damaged.err;
  std::fprintf(stderr, "daisy check said: %s\n", damaged.out.c_str());
  EXPECT_NE(damaged.out.find("damaged"), std::string::npos) << damaged.out;

  // A file that is not a database at all.
  {
    std::ofstream f(db, std::ios::trunc | std::ios::binary);
    f << std::string(8192, 'x');
  }
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(db + suffix);
  EXPECT_FALSE(d.start());
  err = d.err_text();
  EXPECT_NE(err.find("is corrupt or is not a SQLite database"), std::string::npos) << err;
}

}  // namespace
}  // namespace daisy_e2e
