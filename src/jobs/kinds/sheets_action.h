#pragma once
// Google Sheets integrations: each response of the form becomes a row of
// one tab, its columns the form's questions (and metadata), its first row
// the header.
//
// Rows are sent in batches: the due jobs of one integration wait up to
// batch_max_ms for others to join them, then go in one values:append of up
// to batch_max_rows rows (and about 2 MB); a batch is one attempt of each of
// its jobs. One batch per integration is under way at a time in a process.
// A correction (response.updated) rewrites its row in place (values.update)
// at the row the append reported, which the created job keeps as its output
// ({"row": n}). Before rows whose earlier attempt may have reached Google
// (a retry, or a replay) are appended, the tab's response_id column is read
// and those already there are not written again.
//
// Every request waits for its integration's turn (max_requests_per_minute;
// turns come from the store where it paces integrations, so every node
// shares them). 429 pauses the integration with Google's truncated
// exponential backoff (min(2^n s + jitter, 64 s)) and never buries a job;
// 5xx and no answer retry with that backoff within the retry schedule; 401
// fetches a new token once; 403 and 404 fail the jobs with a message naming
// what to fix, which the integration reports as its last_error.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>

#include <simdjson.h>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "jobs/kinds/action_kind.h"
#include "jobs/kinds/google_token.h"
#include "jobs/kinds/sheets_config.h"

namespace daisy::jobs {

class SheetsAction final : public ActionKind {
 public:
  explicit SheetsAction(const ActionKindServices& services) : services_(services), tokens_(services.fetcher) {}
  boost::asio::awaitable<AttemptOutcome> deliver(const ActiveIntegration& integration, const JobRow& job) override;
  std::size_t max_batch() const override { return 10000; }
  boost::asio::awaitable<std::vector<AttemptOutcome>> deliver_batch(const ActiveIntegration& integration,
                                                                    const std::vector<JobRow>& jobs) override;
  // An append whose outcome never came: failed, and checked before the next.
  AttemptOutcome settle_unanswered(const ActiveIntegration& integration, const JobRow& job) override;
  void render_metrics(std::string& out) const override;

 private:
  // One deliver_batch call: its jobs, waiting for the batches that carry them.
  struct Waiter {
    std::vector<JobRow> jobs;
    std::vector<AttemptOutcome> outcomes;
    std::size_t taken = 0;  // jobs[0, taken) are in a batch
    std::size_t done = 0;
    bool lead = false;  // this call sends the integration's batches now
    std::chrono::steady_clock::time_point arrived;
    std::unique_ptr<boost::asio::steady_timer> wake;
  };
  // A job of a batch: where its outcome goes.
  struct Item {
    Waiter* waiter;
    std::size_t index;
    const JobRow& job() const { return waiter->jobs[index]; }
    AttemptOutcome& outcome() const { return waiter->outcomes[index]; }
  };
  // The tab as this process knows it.
  struct Tab {
    std::string made_for;  // the config and form version the header was made for ("" not yet)
    std::vector<std::string> header;
    std::unordered_map<std::string, std::size_t> column_of;  // column key -> 0-based column
    std::size_t id_column = 0;
    std::unordered_map<std::string, long> row_of;  // response id -> row, as appended by this process
  };
  // One integration's state.
  struct Sheet {
    std::deque<std::shared_ptr<Waiter>> queue;
    bool leading = false;
    std::unique_ptr<boost::asio::steady_timer> filling;  // the leader waits on it for rows to join
    Tab tab;
    std::chrono::steady_clock::time_point next_turn{}, paused_until{};
    int quota_errors = 0;   // 429s in a row
    int server_errors = 0;  // 5xx and unanswered requests in a row
  };
  // What a failed request makes of the jobs it carried.
  struct Failure {
    net::FetchResult result;  // the request's, when one was answered
    std::string error;
    std::chrono::milliseconds quota_wait{0};  // 429: retried after this, never buried
    std::chrono::milliseconds backoff{0};     // 5xx, no answer: the least wait before a retry
  };

  // A response's row as a batch carries it.
  struct Row {
    const Item* item;
    std::string response_id;
    boost::json::array cells;
    bool check = false;  // may be in the tab already: looked for before it is appended
  };
  struct FoundHeader {
    std::vector<std::string> header;
    std::optional<std::int64_t> sheet_id;  // known when the tab was just made
  };

  boost::asio::awaitable<void> lead_round(const ActiveIntegration& integration, Sheet& sheet);
  std::vector<Item> take_batch(const SheetsConfig& config, Sheet& sheet);
  boost::asio::awaitable<void> send_batch(const ActiveIntegration& integration, Sheet& sheet,
                                          const std::vector<Item>& items);
  // The corrections that have a row to rewrite; the others fail (their
  // append is still to come) or join the appends (none will come).
  std::vector<Row> place_corrections(const ActiveIntegration& integration, Sheet& sheet, std::vector<Row> updates,
                                     std::vector<Row>& appends);
  // Rows found in the tab's id column are done, not appended again.
  boost::asio::awaitable<void> drop_rows_already_there(const ActiveIntegration& integration, Sheet& sheet,
                                                       std::vector<Row>& appends);
  boost::asio::awaitable<void> append_rows(const ActiveIntegration& integration, Sheet& sheet,
                                           std::vector<Row>& appends);
  boost::asio::awaitable<void> rewrite_rows(const ActiveIntegration& integration, Sheet& sheet,
                                            std::vector<Row>& rewrites);
  // Makes the tab's header match the form's current columns (once per form
  // version and config): the tab made when missing, new columns added at the right.
  boost::asio::awaitable<std::optional<Failure>> make_header(const ActiveIntegration& integration, Sheet& sheet);
  boost::asio::awaitable<std::variant<FoundHeader, Failure>> read_header(const ActiveIntegration& integration,
                                                                         Sheet& sheet);
  // Writes the header row, adding columns to the tab first when it has too few.
  boost::asio::awaitable<std::optional<Failure>> write_header(const ActiveIntegration& integration, Sheet& sheet,
                                                              const std::vector<std::string>& header);
  // Adds columns to the tab until it has this many.
  boost::asio::awaitable<std::optional<Failure>> widen_tab(const ActiveIntegration& integration, Sheet& sheet,
                                                           std::size_t columns);
  struct TabGrid {
    std::int64_t sheet_id = 0;
    std::int64_t columns = 0;
  };
  // The tab's sheetId and column count (spreadsheets.get); nullopt when not found.
  boost::asio::awaitable<std::optional<TabGrid>> tab_grid(const ActiveIntegration& integration, Sheet& sheet);
  // The header in a values.get reply of row 1.
  std::variant<FoundHeader, Failure> header_of(const SheetsConfig& config, Sheet& sheet, const net::FetchResult& got);
  boost::asio::awaitable<void> hide_id_column(const ActiveIntegration& integration, Sheet& sheet,
                                              std::optional<std::int64_t> sheet_id);
  // Sends a call made with the current token, in the integration's turn;
  // once more with a new token on 401.
  boost::asio::awaitable<net::FetchResult> send(const ActiveIntegration& integration, Sheet& sheet,
                                                std::string_view call,
                                                const std::function<net::FetchRequest(std::string_view)>& make);
  boost::asio::awaitable<void> take_turn(const ActiveIntegration& integration, Sheet& sheet);
  // The response ids in the tab's id column, with their rows.
  boost::asio::awaitable<std::variant<std::unordered_map<std::string, long>, Failure>> read_ids(
      const ActiveIntegration& integration, Sheet& sheet);
  // A response's row: its cells by the tab's columns.
  boost::json::array row_of_response(const Tab& tab, simdjson::dom::element response) const;
  static std::vector<Row> take_twins(std::vector<Row>& appends);
  void succeed(Sheet& sheet, const Item& item, long row, std::string note = "");
  void fail(const ActiveIntegration& integration, const Failure& failure, const Item& item);
  // What a failed request makes of its jobs; a 429 also pauses the integration.
  Failure failure_of(const SheetsConfig& config, Sheet& sheet, const net::FetchResult& result);

  ActionKindServices services_;
  GoogleTokens tokens_;
  simdjson::dom::parser parser_;
  std::unordered_map<std::string, Sheet> sheets_;  // by integration id; runner thread only

  std::atomic<std::uint64_t> rows_written_{0}, quota_waits_{0}, quota_errors_{0}, checks_{0};
  std::array<std::atomic<std::uint64_t>, 5> requests_{};  // by sheets_calls
};

}  // namespace daisy::jobs
