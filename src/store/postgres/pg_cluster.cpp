// PostgresStore: what lets several nodes share the database: versions of the
// state nodes keep in memory (bumped by triggers, see migration 0007) and
// named leases.
#include "store/postgres/pg_store.h"

namespace daisy {
namespace asio = boost::asio;
using pg::Connection;
using pg::Rows;

Result<std::vector<std::pair<std::string, std::int64_t>>> PostgresStore::change_versions() {
  return read([&](Connection& db) {
    return pg::all_rows(db.exec("SELECT kind, version FROM change_versions"),
                        [](const Rows& r, int i) { return std::make_pair(r.text(i, 0), r.integer(i, 1)); });
  });
}

asio::awaitable<Result<bool>> PostgresStore::try_lease(std::string name, std::string holder, std::int64_t now_ms,
                                                       std::int64_t ttl_ms) {
  std::function<Status(Connection&, bool&)> work = [name = std::move(name), holder = std::move(holder), now_ms, ttl_ms](
                                                       Connection& db, bool& taken) {
    // Inserted, or updated only when expired or already ours: a row comes
    // back exactly when the lease is now ours.
    Rows r = db.query(
        "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms"
        " WHERE leases.until_ms <= $4 OR leases.holder = excluded.holder RETURNING holder",
        name, holder, now_ms + ttl_ms, now_ms);
    if (!r.ok()) return r.status();
    taken = !r.empty();
    return Status::ok();
  };
  co_return co_await write_returning(std::move(work));
}

}  // namespace daisy
