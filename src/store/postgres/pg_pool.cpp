#include "store/postgres/pg_pool.h"

#include <stdexcept>

namespace daisy::pg {

Result<std::unique_ptr<Connection>> connect(const std::string& conninfo, const std::string& setup_sql) {
  std::unique_ptr<Connection> c;
  try {
    c = std::make_unique<Connection>(conninfo);
  } catch (const std::exception& e) {
    return Status::unavailable(e.what());
  }
  if (!setup_sql.empty()) {
    Rows r = c->exec(setup_sql);
    if (!r.ok()) return r.status();
  }
  return c;
}

Pool::Pool(std::string conninfo, std::size_t max_connections, std::string setup_sql)
    : conninfo_(std::move(conninfo)), max_(max_connections), setup_sql_(std::move(setup_sql)) {}

Pool::Lease::~Lease() {
  if (pool_ && connection_) pool_->give_back(std::move(connection_));
}

void Pool::give_back(std::unique_ptr<Connection> c) {
  {
    std::lock_guard lock(mu_);
    --lent_;
    // A connection left inside a transaction (a failed read) is not reused either.
    if (!c->broken() && PQtransactionStatus(c->handle()) == PQTRANS_IDLE) idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

Result<Pool::Lease> Pool::acquire(std::chrono::milliseconds wait) {
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !idle_.empty() || lent_ < max_; })) {
      return Status::unavailable("every database connection is busy");
    }
    ++lent_;
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
  }
  auto c = connect(conninfo_, setup_sql_);
  if (!c.is_ok()) {
    {
      std::lock_guard lock(mu_);
      --lent_;
    }
    cv_.notify_one();
    return c.status();
  }
  return Lease(this, std::move(c.value()));
}

}  // namespace daisy::pg
