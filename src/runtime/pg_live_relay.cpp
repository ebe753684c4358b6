#include "runtime/pg_live_relay.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "observability/log_value.h"
#include "store/postgres/pg_connection.h"

namespace daisy {
namespace {

using Clock = std::chrono::steady_clock;

// A node repeats its interest this often while it holds; the others keep
// sending a kind for twice as long after the last repetition.
constexpr auto interest_repeat = std::chrono::seconds(20);
constexpr auto interest_hold = std::chrono::seconds(45);
constexpr std::size_t max_batch_bytes = 512u << 10;
constexpr std::size_t max_partial_bytes = 64u << 20;

std::size_t cost_of(const live::LiveMessage& m) {
  return (m.data ? m.data->size() : 0) + m.app_id.size() + m.form_id.size() + m.category.size() +
         m.integration_id.size() + 64;
}

// The longest prefix of text under `limit` bytes that does not split a UTF-8
// sequence (a payload must be valid text).
std::size_t cut_at(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text.size();
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return end;
}

}  // namespace

PgLiveRelay::PgLiveRelay(std::string conninfo, live::LiveBus& bus) : conninfo_(std::move(conninfo)), bus_(bus) {}

PgLiveRelay::~PgLiveRelay() { stop(); }

void PgLiveRelay::start() {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  bus_.set_relay([this](const std::shared_ptr<const live::LiveMessage>& m) { queue(m); });
  thread_ = std::thread([this] { run(); });
}

void PgLiveRelay::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(wake_fd_);
  wake_fd_ = -1;
  conn_.reset();
}

void PgLiveRelay::queue(const std::shared_ptr<const live::LiveMessage>& m) {
  {
    std::lock_guard lock(mu_);
    std::size_t cost = cost_of(*m);
    if (queued_bytes_ + cost > max_queued_bytes) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += cost;
    bool was_empty = queued_.empty();
    queued_.push_back(m);
    if (!was_empty) return;  // the thread was already told
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
}

bool PgLiveRelay::connect() {
  if (Clock::now() < next_connect_) return false;
  next_connect_ = Clock::now() + std::chrono::seconds(1);
  try {
    auto conn = std::make_unique<pg::Connection>(conninfo_);
    pg::Rows listen = conn->exec(std::string("LISTEN ") + channel);
    if (!listen.ok()) throw std::runtime_error(listen.status().message());
    conn_ = std::move(conn);
    partial_.clear();
    advertised_ = 0;  // tell the others again what this node wants
    return true;
  } catch (const std::exception& e) {
    failures_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("msg=\"live relay cannot connect to PostgreSQL\" error={}",
                 log_value(pg::redact(e.what(), conninfo_)));
    return false;
  }
}

void PgLiveRelay::run() {
  while (!stopping_) {
    if (!conn_ && !connect()) {
      // Messages published meanwhile are not carried: drop what piles up.
      {
        std::lock_guard lock(mu_);
        dropped_.fetch_add(queued_.size(), std::memory_order_relaxed);
        queued_.clear();
        queued_bytes_ = 0;
      }
      pollfd wake{wake_fd_, POLLIN, 0};
      ::poll(&wake, 1, 200);
      std::uint64_t drained = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &drained, sizeof drained);
      continue;
    }
    pollfd fds[2] = {{PQsocket(conn_->handle()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, 100);
    if (fds[1].revents & POLLIN) {
      std::uint64_t drained = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &drained, sizeof drained);
    }
    if (stopping_) break;
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      if (PQconsumeInput(conn_->handle()) == 0) {
        failures_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("msg=\"live relay lost its PostgreSQL connection\" error={}",
                     log_value(pg::redact(conn_->last_error(), conninfo_)));
        conn_.reset();
        continue;
      }
    }
    receive();
    if (!send_pending()) {
      failures_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("msg=\"live relay could not send\" error={}", log_value(pg::redact(conn_->last_error(), conninfo_)));
      conn_.reset();
    }
  }
}

bool PgLiveRelay::send_pending() {
  std::string text;
  live::KindMask wanted = bus_.local_interest();
  bool new_kinds = (wanted & ~advertised_) != 0;
  if (new_kinds || (wanted != 0 && Clock::now() - advertised_at_ >= interest_repeat)) {
    live::append_wire_interest(wanted, text);
    advertised_ = wanted;
    advertised_at_ = Clock::now();
  } else if (wanted == 0) {
    advertised_ = 0;
  }
  std::size_t messages = 0;
  {
    std::lock_guard lock(mu_);
    while (!queued_.empty() && text.size() < max_batch_bytes) {
      live::append_wire_message(*queued_.front(), text);
      queued_bytes_ -= cost_of(*queued_.front());
      queued_.pop_front();
      ++messages;
    }
    if (!queued_.empty()) {
      std::uint64_t one = 1;  // the rest in the next round
      [[maybe_unused]] ssize_t w = ::write(wake_fd_, &one, sizeof one);
    }
  }
  if (text.empty()) return true;
  if (!send_text(text)) return false;
  sent_.fetch_add(messages, std::memory_order_relaxed);
  receive();  // libpq may have read notifications while it waited for the replies
  return true;
}

// Payloads are "<i>/<n>\n<piece>": piece i of n of one text.
bool PgLiveRelay::send_text(const std::string& text) {
  std::vector<std::string> payloads;
  std::string_view rest = text;
  while (!rest.empty()) {
    std::size_t take = cut_at(rest, max_payload_bytes);
    payloads.emplace_back(rest.substr(0, take));
    rest.remove_prefix(take);
  }
  bool many = payloads.size() > 1;
  if (many && !conn_->exec("BEGIN").ok()) return false;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    std::string payload = std::to_string(i) + "/" + std::to_string(payloads.size()) + "\n" + payloads[i];
    if (!conn_->query("SELECT pg_notify($1, $2)", channel, payload).ok()) {
      if (many) conn_->exec("ROLLBACK");
      return false;
    }
  }
  return !many || conn_->exec("COMMIT").ok();
}

void PgLiveRelay::receive() {
  if (!conn_) return;
  int self = PQbackendPID(conn_->handle());
  while (PGnotify* n = PQnotifies(conn_->handle())) {
    if (n->be_pid != self && n->extra) take_piece(n->be_pid, n->extra);
    PQfreemem(n);
  }
}

void PgLiveRelay::take_piece(int sender, std::string_view payload) {
  std::size_t slash = payload.find('/');
  std::size_t newline = payload.find('\n');
  if (slash == std::string_view::npos || newline == std::string_view::npos || slash > newline) return;
  std::size_t i = 0;
  std::size_t n = 0;
  std::from_chars(payload.data(), payload.data() + slash, i);
  std::from_chars(payload.data() + slash + 1, payload.data() + newline, n);
  std::string_view piece = payload.substr(newline + 1);
  if (n == 0 || i >= n) return;
  if (n == 1) {
    deliver(piece);
    return;
  }
  std::string& so_far = partial_[sender];
  if (i == 0) so_far.clear();
  so_far.append(piece);
  if (so_far.size() > max_partial_bytes) {
    partial_.erase(sender);
    return;
  }
  if (i + 1 == n) {
    deliver(so_far);
    partial_.erase(sender);
  }
}

void PgLiveRelay::deliver(std::string_view text) {
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    std::optional<live::WireLine> parsed = live::parse_wire_line(line);
    if (!parsed) continue;
    if (parsed->interest) bus_.add_remote_interest(*parsed->interest, interest_hold);
    if (parsed->message) {
      received_.fetch_add(1, std::memory_order_relaxed);
      bus_.publish_relayed(std::move(*parsed->message));
    }
  }
}

void PgLiveRelay::render_metrics(std::string& out) const {
  auto counter = [&out](std::string_view name, std::string_view help, std::uint64_t value) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
  };
  counter("daisy_stream_relay_sent_total", "Live messages sent to the other nodes (PostgreSQL NOTIFY).",
          sent_.load(std::memory_order_relaxed));
  counter("daisy_stream_relay_received_total", "Live messages received from the other nodes.",
          received_.load(std::memory_order_relaxed));
  counter("daisy_stream_relay_dropped_total",
          "Live messages not sent to the other nodes (connection down or queue full).",
          dropped_.load(std::memory_order_relaxed));
  counter("daisy_stream_relay_failures_total", "Connection failures of the live relay.",
          failures_.load(std::memory_order_relaxed));
}

}  // namespace daisy
