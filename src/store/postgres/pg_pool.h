#pragma once
// Connections to one PostgreSQL database, lent to one user at a time. A
// connection found broken is dropped when it comes back, so a restarted
// server is reconnected to by the next lease.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/status.h"

namespace daisy::pg {

class Pool {
 public:
  // setup_sql runs on every new connection (session settings).
  Pool(std::string conninfo, std::size_t max_connections, std::string setup_sql);

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> c) : pool_(pool), connection_(std::move(c)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;  // would drop the held connection without giving it back
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // A connection, new when none is idle; unavailable when the database cannot
  // be reached, or when every connection stays lent for `wait`.
  Result<Lease> acquire(std::chrono::milliseconds wait = std::chrono::milliseconds(2000));
  const std::string& conninfo() const { return conninfo_; }

 private:
  void give_back(std::unique_ptr<Connection> c);

  std::string conninfo_;
  std::size_t max_;
  std::string setup_sql_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t lent_ = 0;
};

// Opens a connection and runs setup_sql on it; unavailable when it cannot.
Result<std::unique_ptr<Connection>> connect(const std::string& conninfo, const std::string& setup_sql);

}  // namespace daisy::pg
