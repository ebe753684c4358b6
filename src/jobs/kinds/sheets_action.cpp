#include "jobs/kinds/sheets_action.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <random>
#include <unordered_set>

#include "domain/answer_text.h"
#include "domain/form.h"
#include "jobs/kinds/sheets_api.h"
#include "jobs/retry_policy.h"
#include "observability/log_value.h"
#include "util/iso8601.h"
#include "util/time.h"
#include "util/utf8.h"

namespace daisy::jobs {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

constexpr std::array<std::string_view, 5> sheets_calls = {"append", "update", "get", "spreadsheet", "batch_update"};
// Google's advice for a request's payload; a batch stops short of it.
constexpr std::size_t max_batch_bytes = 2'000'000;
constexpr std::size_t max_cell_bytes = 50'000;  // Google's limit for a cell
// A job made this long after its response was received is a replay (or a
// late integration): its row may be in the tab already.
constexpr std::int64_t late_job_ns = 1'000'000'000;
constexpr std::size_t max_rows_remembered = 200'000;

std::size_t call_index(std::string_view call) {
  for (std::size_t i = 0; i < sheets_calls.size(); ++i) {
    if (sheets_calls[i] == call) return i;
  }
  return 0;
}

// Google's advice for retries: min(2^n s + a random part of a second, 64 s).
std::chrono::milliseconds google_backoff(int n) {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::int64_t jitter_ms = std::uniform_int_distribution<std::int64_t>(0, 999)(generator);
  std::int64_t base_ms = n >= 6 ? 64'000 : (std::int64_t{1} << n) * 1000;
  return std::chrono::milliseconds(std::min<std::int64_t>(base_ms + jitter_ms, 64'000));
}

std::string text_of(simdjson::dom::element e) {
  std::string_view s;
  return e.get_string().get(s) ? std::string() : std::string(s);
}

// A value as a cell: numbers and booleans as such, text as text (RAW: never
// a formula), lists and geopoints as the export writes them, nothing as "".
json::value cell_of(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::STRING:
      return json::string(utf8_prefix(text_of(e), max_cell_bytes));
    case simdjson::dom::element_type::BOOL:
      return bool(e.get_bool().value_unsafe());
    case simdjson::dom::element_type::INT64:
      return e.get_int64().value_unsafe();
    case simdjson::dom::element_type::UINT64:
      return e.get_uint64().value_unsafe();
    case simdjson::dom::element_type::DOUBLE:
      return e.get_double().value_unsafe();
    case simdjson::dom::element_type::NULL_VALUE:
      return json::string();
    default:
      return json::string(utf8_prefix(answer_text(e), max_cell_bytes));
  }
}

// The integration's columns: (key, header label), the id column last when
// the config leaves it out (it is then hidden).
std::vector<std::pair<std::string, std::string>> wanted_columns(const SheetsConfig& config,
                                                                const std::vector<Question>& questions) {
  std::vector<std::string> keys = config.columns;
  if (keys.empty()) {
    keys.assign(std::begin(sheet_metadata_columns), std::end(sheet_metadata_columns));
    for (const Question& q : questions) keys.push_back(q.key);
  }
  if (std::find(keys.begin(), keys.end(), "response_id") == keys.end()) keys.emplace_back("response_id");
  std::unordered_map<std::string, int> label_uses;
  for (const Question& q : questions) ++label_uses[q.label];
  for (std::string_view name : sheet_metadata_columns) label_uses[std::string(name)] += 2;
  std::vector<std::pair<std::string, std::string>> columns;
  for (const std::string& key : keys) {
    auto q = std::find_if(questions.begin(), questions.end(), [&](const Question& q) { return q.key == key; });
    bool own_label = q != questions.end() && !q->label.empty() && label_uses[q->label] == 1;
    columns.emplace_back(key, own_label ? q->label : key);
  }
  return columns;
}

// The integer at this path of objects; nullopt when any step is missing.
std::optional<std::int64_t> int_at(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* at = &v;
  for (std::string_view key : path) {
    at = at->is_object() ? at->as_object().if_contains(key) : nullptr;
    if (!at) return std::nullopt;
  }
  return at->is_int64() ? std::optional<std::int64_t>(at->as_int64()) : std::nullopt;
}

bool says_no_such_range(const net::FetchResult& result) {
  return result.status == 400 && result.body.find("Unable to parse range") != std::string::npos;
}

}  // namespace

asio::awaitable<AttemptOutcome> SheetsAction::deliver(const ActiveIntegration& integration, const JobRow& job) {
  std::vector<JobRow> one(1, job);
  std::vector<AttemptOutcome> outcomes = co_await deliver_batch(integration, one);
  co_return std::move(outcomes.front());
}

asio::awaitable<std::vector<AttemptOutcome>> SheetsAction::deliver_batch(const ActiveIntegration& integration,
                                                                         const std::vector<JobRow>& jobs) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  Sheet& sheet = sheets_[integration.id];  // stays valid: elements of an unordered_map do not move
  if (!sheet.filling) sheet.filling = std::make_unique<asio::steady_timer>(services_.io);
  auto waiter = std::make_shared<Waiter>();
  waiter->jobs = jobs;
  waiter->outcomes.resize(jobs.size());
  waiter->arrived = steady_clock::now();
  waiter->wake = std::make_unique<asio::steady_timer>(services_.io, asio::steady_timer::time_point::max());
  sheet.queue.push_back(waiter);
  std::size_t waiting_rows = 0;
  for (const auto& w : sheet.queue) waiting_rows += w->jobs.size() - w->taken;
  if (!sheet.leading) {
    sheet.leading = true;
    waiter->lead = true;
  } else if (waiting_rows >= static_cast<std::size_t>(config.batch_max_rows)) {
    sheet.filling->cancel();  // a full batch is waiting
  }
  while (waiter->done < waiter->jobs.size()) {
    if (waiter->lead) {
      co_await lead_round(integration, sheet);
      continue;
    }
    waiter->wake->expires_at(asio::steady_timer::time_point::max());
    co_await waiter->wake->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (waiter->lead) {
    sheet.leading = false;
    std::erase(sheet.queue, waiter);
    if (!sheet.queue.empty()) {
      sheet.leading = true;
      sheet.queue.front()->lead = true;
      sheet.queue.front()->wake->cancel();
    }
  }
  co_return std::move(waiter->outcomes);
}

asio::awaitable<void> SheetsAction::lead_round(const ActiveIntegration& integration, Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  // Rows join the oldest waiting one for up to batch_max_ms.
  auto deadline = sheet.queue.front()->arrived + std::chrono::milliseconds(config.batch_max_ms);
  for (;;) {
    std::size_t waiting_rows = 0;
    for (const auto& w : sheet.queue) waiting_rows += w->jobs.size() - w->taken;
    if (waiting_rows >= static_cast<std::size_t>(config.batch_max_rows) || steady_clock::now() >= deadline) break;
    sheet.filling->expires_at(deadline);
    co_await sheet.filling->async_wait(asio::as_tuple(asio::use_awaitable));
  }
  std::vector<Item> items = take_batch(config, sheet);
  if (!items.empty()) co_await send_batch(integration, sheet, items);
  for (auto it = sheet.queue.begin(); it != sheet.queue.end();) {
    Waiter& w = **it;
    if (w.done < w.jobs.size()) {
      ++it;
      continue;
    }
    if (!w.lead) w.wake->cancel();
    it = sheet.queue.erase(it);
  }
}

std::vector<SheetsAction::Item> SheetsAction::take_batch(const SheetsConfig& config, Sheet& sheet) {
  std::vector<Item> items;
  std::size_t bytes = 0;
  for (const auto& w : sheet.queue) {
    while (w->taken < w->jobs.size() && items.size() < static_cast<std::size_t>(config.batch_max_rows)) {
      // A row is smaller than its response's JSON: the payloads' sum bounds the request.
      std::size_t size = w->jobs[w->taken].payload.size();
      if (!items.empty() && bytes + size > max_batch_bytes) return items;
      bytes += size;
      items.push_back(Item{w.get(), w->taken++});
    }
  }
  return items;
}

asio::awaitable<void> SheetsAction::send_batch(const ActiveIntegration& integration, Sheet& sheet,
                                               const std::vector<Item>& items) {
  if (auto failure = co_await make_header(integration, sheet)) {
    for (const Item& item : items) fail(integration, *failure, item);
    co_return;
  }
  std::vector<Row> appends, updates;
  for (const Item& item : items) {
    const JobRow& job = item.job();
    simdjson::dom::element response;
    if (parser_.parse(job.payload).get(response) || response.type() != simdjson::dom::element_type::OBJECT) {
      fail(integration, Failure{{}, "the job's payload is not a response"}, item);
      continue;
    }
    Row row{&item, text_of(response["id"]), row_of_response(sheet.tab, response)};
    if (job.type == trigger_response_updated) {
      updates.push_back(std::move(row));
      continue;
    }
    auto received = parse_timestamp_ns(text_of(response["received_at"]));
    auto created = parse_timestamp_ns(job.created_at);
    row.check = job.attempts > 1 || (received && created && *created - *received > late_job_ns);
    appends.push_back(std::move(row));
  }
  std::vector<Row> rewrites = place_corrections(integration, sheet, std::move(updates), appends);
  std::vector<Row> twins = take_twins(appends);
  co_await drop_rows_already_there(integration, sheet, appends);
  if (!appends.empty()) co_await append_rows(integration, sheet, appends);
  for (const Row& twin : twins) {
    auto known = sheet.tab.row_of.find(twin.response_id);
    if (known != sheet.tab.row_of.end()) {
      succeed(sheet, *twin.item, known->second, "appended once, with another job of the same response");
    } else {  // the other job's append failed: this one is retried, and looks before appending
      fail(integration, Failure{{}, "another job of the same response in this batch was not appended"}, *twin.item);
    }
  }
  co_await rewrite_rows(integration, sheet, rewrites);
}

std::vector<SheetsAction::Row> SheetsAction::take_twins(std::vector<Row>& appends) {
  // Two jobs of one response in a batch (a replay beside the original job):
  // one row; the later job is settled by the first one's append.
  std::vector<Row> firsts, twins;
  std::unordered_set<std::string> seen;
  for (Row& row : appends) (seen.insert(row.response_id).second ? firsts : twins).push_back(std::move(row));
  appends = std::move(firsts);
  return twins;
}

std::vector<SheetsAction::Row> SheetsAction::place_corrections(const ActiveIntegration& integration, Sheet& sheet,
                                                               std::vector<Row> updates, std::vector<Row>& appends) {
  // A correction goes to its row; one whose row is not known yet waits for
  // its response's append, or is appended when no append will come.
  std::vector<Row> rewrites;
  for (Row& row : updates) {
    if (sheet.tab.row_of.contains(row.response_id)) {
      rewrites.push_back(std::move(row));
      continue;
    }
    bool appended_here =
        std::any_of(appends.begin(), appends.end(), [&](const Row& a) { return a.response_id == row.response_id; });
    std::optional<long> stored_row;
    bool append_pending = false;
    auto jobs = services_.store.jobs_of_source(row.response_id);
    for (const JobRow& other : jobs.is_ok() ? jobs.value() : std::vector<JobRow>{}) {
      if (other.integration_id != integration.id || other.type != trigger_response_created) continue;
      simdjson::dom::element output;
      std::int64_t n = 0;
      if (other.status == "succeeded" && !parser_.parse(other.output).get(output) && !output["row"].get(n) && n > 0) {
        stored_row = n;
      } else if (other.status != "succeeded" && other.status != "cancelled" && other.status != "dead") {
        append_pending = true;
      }
    }
    if (stored_row) sheet.tab.row_of[row.response_id] = *stored_row;
    if (stored_row || appended_here) {
      rewrites.push_back(std::move(row));  // after this batch's append
    } else if (append_pending) {
      fail(integration, Failure{{}, "the response's row is not in the sheet yet: its append comes first"}, *row.item);
    } else {
      row.check = true;
      appends.push_back(std::move(row));
    }
  }
  return rewrites;
}

asio::awaitable<void> SheetsAction::drop_rows_already_there(const ActiveIntegration& integration, Sheet& sheet,
                                                            std::vector<Row>& appends) {
  if (std::none_of(appends.begin(), appends.end(), [](const Row& r) { return r.check; })) co_return;
  ++checks_;
  auto ids = co_await read_ids(integration, sheet);
  if (auto* failure = std::get_if<Failure>(&ids)) {
    for (const Row& row : appends) fail(integration, *failure, *row.item);
    appends.clear();
    co_return;
  }
  const auto& found = std::get<std::unordered_map<std::string, long>>(ids);
  std::erase_if(appends, [&](const Row& row) {
    auto it = row.check ? found.find(row.response_id) : found.end();
    if (it == found.end()) return false;
    succeed(sheet, *row.item, it->second, "already in the sheet: not appended again");
    return true;
  });
}

asio::awaitable<void> SheetsAction::append_rows(const ActiveIntegration& integration, Sheet& sheet,
                                                std::vector<Row>& appends) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  json::array cells;
  for (Row& row : appends) cells.emplace_back(std::move(row.cells));
  auto started = steady_clock::now();
  std::string started_at = now_utc();
  net::FetchResult result = co_await send(integration, sheet, "append",
                                          [&](std::string_view token) { return values_append(config, cells, token); });
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started).count();
  json::value reply = result.status == 200 ? reply_json(result) : json::value();
  const json::value* range = nullptr;
  if (reply.is_object()) {
    if (const json::value* u = reply.as_object().if_contains("updates"); u && u->is_object()) {
      range = u->as_object().if_contains("updatedRange");
    }
  }
  std::optional<long> first = range && range->is_string() ? first_row_of_range(range->as_string()) : std::nullopt;
  Failure failed{result, "Google's reply does not say where the rows went"};  // written: the next attempt finds them
  if (result.status != 200) failed = failure_of(config, sheet, result);       // once: a 429 pauses once
  for (std::size_t i = 0; i < appends.size(); ++i) {
    AttemptOutcome& outcome = appends[i].item->outcome();
    outcome.attempt.started_at = started_at;
    outcome.attempt.duration_ms = took;
    if (first) {
      succeed(sheet, *appends[i].item, *first + static_cast<long>(i));
    } else {
      fail(integration, failed, *appends[i].item);
    }
  }
  if (first) rows_written_ += appends.size();
}

asio::awaitable<void> SheetsAction::rewrite_rows(const ActiveIntegration& integration, Sheet& sheet,
                                                 std::vector<Row>& rewrites) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  for (Row& row : rewrites) {
    auto known = sheet.tab.row_of.find(row.response_id);
    if (known == sheet.tab.row_of.end()) {
      fail(integration, Failure{{}, "the response's row is not in the sheet yet: its append comes first"}, *row.item);
      continue;
    }
    long at = known->second;
    std::string range = quoted_tab(config.sheet) + "!A" + std::to_string(at);
    json::array cells;  // one row (json::array{row} would copy the row instead)
    cells.emplace_back(std::move(row.cells));
    auto started = steady_clock::now();
    row.item->outcome().attempt.started_at = now_utc();
    net::FetchResult result = co_await send(integration, sheet, "update", [&](std::string_view token) {
      return values_update(config, range, cells, token);
    });
    row.item->outcome().attempt.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started).count();
    if (result.status == 200) {
      succeed(sheet, *row.item, at);
    } else {
      fail(integration, failure_of(config, sheet, result), *row.item);
    }
  }
}

asio::awaitable<std::optional<SheetsAction::Failure>> SheetsAction::make_header(const ActiveIntegration& integration,
                                                                                Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  auto form = services_.form_of(integration.definition.source_id);
  if (!form.is_ok()) co_return Failure{{}, "cannot read the form: " + form.status().message()};
  json::error_code ec;
  json::value stored = json::parse(form.value().definition, ec);
  std::optional<FormDefinition> definition = ec ? std::nullopt : definition_from_json(stored);
  if (!definition) co_return Failure{{}, "cannot read the form's definition"};
  std::string made_for = config.spreadsheet_id + '\n' + config.sheet + '\n' + std::to_string(form.value().version);
  for (const auto& c : config.columns) made_for += '\n' + c;
  Tab& tab = sheet.tab;
  if (tab.made_for == made_for) co_return std::nullopt;

  auto found = co_await read_header(integration, sheet);
  if (auto* failure = std::get_if<Failure>(&found)) co_return std::move(*failure);
  auto& [header, sheet_id] = std::get<FoundHeader>(found);
  // Each column keeps the place its label has in the header; new ones go at the right.
  const std::size_t written_width = header.size();
  std::vector<bool> used(header.size(), false);
  tab.column_of.clear();
  for (const auto& [key, label] : wanted_columns(config, definition->questions)) {
    auto same = std::find(header.begin(), header.end(), label);
    while (same != header.end() && used[static_cast<std::size_t>(same - header.begin())]) {
      same = std::find(same + 1, header.end(), label);
    }
    std::size_t at = static_cast<std::size_t>(same - header.begin());
    if (same == header.end()) {
      header.push_back(label);
      used.push_back(true);
    }
    used[at] = true;
    tab.column_of[key] = at;
  }
  tab.id_column = tab.column_of.at("response_id");
  if (header.size() > written_width) {
    if (auto failure = co_await write_header(integration, sheet, header)) co_return failure;
  }
  bool id_left_out = !config.columns.empty() &&
                     std::find(config.columns.begin(), config.columns.end(), "response_id") == config.columns.end();
  if (id_left_out && tab.id_column >= written_width) co_await hide_id_column(integration, sheet, sheet_id);
  tab.header = std::move(header);
  tab.made_for = std::move(made_for);
  co_return std::nullopt;
}

asio::awaitable<std::variant<SheetsAction::FoundHeader, SheetsAction::Failure>> SheetsAction::read_header(
    const ActiveIntegration& integration, Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  std::string header_range = quoted_tab(config.sheet) + "!1:1";
  net::FetchResult got = co_await send(integration, sheet, "get",
                                       [&](std::string_view token) { return values_get(config, header_range, token); });
  FoundHeader found;
  if (says_no_such_range(got)) {
    json::array add{json::object{{"addSheet", json::object{{"properties", json::object{{"title", config.sheet}}}}}}};
    net::FetchResult added = co_await send(integration, sheet, "batch_update",
                                           [&](std::string_view token) { return batch_update(config, add, token); });
    if (added.status == 400 && added.body.find("already exists") != std::string::npos) {
      // Another node made it meanwhile: read its header.
      got = co_await send(integration, sheet, "get",
                          [&](std::string_view token) { return values_get(config, header_range, token); });
      co_return header_of(config, sheet, got);
    }
    if (added.status != 200) co_return failure_of(config, sheet, added);
    json::value reply = reply_json(added);
    const json::value* replies = reply.is_object() ? reply.as_object().if_contains("replies") : nullptr;
    if (replies && replies->is_array() && !replies->as_array().empty()) {
      found.sheet_id = int_at(replies->as_array()[0], {"addSheet", "properties", "sheetId"});
    }
    spdlog::info("msg=\"sheets tab created\" integration={} tab={}", integration.id, log_value(config.sheet));
    co_return found;
  }
  co_return header_of(config, sheet, got);
}

std::variant<SheetsAction::FoundHeader, SheetsAction::Failure> SheetsAction::header_of(const SheetsConfig& config,
                                                                                       Sheet& sheet,
                                                                                       const net::FetchResult& got) {
  if (got.status != 200) return failure_of(config, sheet, got);
  FoundHeader found;
  json::value reply = reply_json(got);
  const json::value* values = reply.is_object() ? reply.as_object().if_contains("values") : nullptr;
  if (values && values->is_array() && !values->as_array().empty() && values->as_array()[0].is_array()) {
    for (const json::value& cell : values->as_array()[0].as_array()) {
      found.header.push_back(cell.is_string() ? std::string(cell.as_string()) : json::serialize(cell));
    }
  }
  return found;
}

asio::awaitable<std::optional<SheetsAction::Failure>> SheetsAction::write_header(
    const ActiveIntegration& integration, Sheet& sheet, const std::vector<std::string>& header) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  json::array cells;  // one row (json::array{row} would copy the row instead)
  cells.emplace_back(json::array(header.begin(), header.end()));
  std::string range = quoted_tab(config.sheet) + "!A1";
  auto put_header = [&](std::string_view token) { return values_update(config, range, cells, token); };
  // A new tab has 26 columns, and a write past them is refused: a wider
  // header first adds the columns it needs (also when a refusal says so).
  constexpr std::size_t new_tab_columns = 26;
  net::FetchResult put;
  if (header.size() <= new_tab_columns) put = co_await send(integration, sheet, "update", put_header);
  if (header.size() > new_tab_columns ||
      (put.status == 400 && put.body.find("exceeds grid limits") != std::string::npos)) {
    if (auto failure = co_await widen_tab(integration, sheet, header.size())) co_return failure;
    put = co_await send(integration, sheet, "update", put_header);
  }
  if (put.status != 200) co_return failure_of(config, sheet, put);
  co_return std::nullopt;
}

asio::awaitable<std::optional<SheetsAction::Failure>> SheetsAction::widen_tab(const ActiveIntegration& integration,
                                                                              Sheet& sheet, std::size_t columns) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  std::optional<TabGrid> grid = co_await tab_grid(integration, sheet);
  if (!grid || grid->columns >= static_cast<std::int64_t>(columns)) co_return std::nullopt;
  json::object more{{"sheetId", grid->sheet_id},
                    {"dimension", "COLUMNS"},
                    {"length", static_cast<std::int64_t>(columns) - grid->columns}};
  json::array requests{json::object{{"appendDimension", std::move(more)}}};
  net::FetchResult widened = co_await send(integration, sheet, "batch_update", [&](std::string_view token) {
    return batch_update(config, requests, token);
  });
  if (widened.status != 200) co_return failure_of(config, sheet, widened);
  co_return std::nullopt;
}

asio::awaitable<std::optional<SheetsAction::TabGrid>> SheetsAction::tab_grid(const ActiveIntegration& integration,
                                                                             Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  net::FetchResult meta = co_await send(integration, sheet, "spreadsheet",
                                        [&](std::string_view token) { return spreadsheet_get(config, token); });
  json::value reply = meta.status == 200 ? reply_json(meta) : json::value();
  const json::value* tabs = reply.is_object() ? reply.as_object().if_contains("sheets") : nullptr;
  for (const json::value& t : tabs && tabs->is_array() ? tabs->as_array() : json::array{}) {
    const json::value* properties = t.is_object() ? t.as_object().if_contains("properties") : nullptr;
    const json::value* title =
        properties && properties->is_object() ? properties->as_object().if_contains("title") : nullptr;
    if (!title || !title->is_string() || title->as_string() != config.sheet) continue;
    auto id = int_at(*properties, {"sheetId"});
    auto columns = int_at(*properties, {"gridProperties", "columnCount"});
    if (id) co_return TabGrid{*id, columns.value_or(0)};
  }
  co_return std::nullopt;
}

asio::awaitable<void> SheetsAction::hide_id_column(const ActiveIntegration& integration, Sheet& sheet,
                                                   std::optional<std::int64_t> sheet_id) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  if (!sheet_id) {
    if (auto grid = co_await tab_grid(integration, sheet)) sheet_id = grid->sheet_id;
  }
  if (!sheet_id) {
    spdlog::warn("msg=\"cannot hide the sheet's response_id column: no sheetId\" integration={}", integration.id);
    co_return;
  }
  json::object range{{"sheetId", *sheet_id},
                     {"dimension", "COLUMNS"},
                     {"startIndex", sheet.tab.id_column},
                     {"endIndex", sheet.tab.id_column + 1}};
  json::object hide{{"range", range}, {"properties", json::object{{"hiddenByUser", true}}}, {"fields", "hiddenByUser"}};
  json::array requests{json::object{{"updateDimensionProperties", std::move(hide)}}};
  net::FetchResult hidden = co_await send(integration, sheet, "batch_update", [&](std::string_view token) {
    return batch_update(config, requests, token);
  });
  if (hidden.status != 200) {
    spdlog::warn("msg=\"cannot hide the sheet's response_id column\" integration={} error={}", integration.id,
                 log_value(google_error(hidden)));
  }
}

asio::awaitable<net::FetchResult> SheetsAction::send(const ActiveIntegration& integration, Sheet& sheet,
                                                     std::string_view call,
                                                     const std::function<net::FetchRequest(std::string_view)>& make) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  for (int attempt = 0;; ++attempt) {
    co_await take_turn(integration, sheet);
    AccessToken token = co_await tokens_.token(config.service_account);
    if (token.token.empty()) {
      net::FetchResult refused;
      refused.error = token.error;
      co_return refused;
    }
    ++requests_[call_index(call)];
    auto started = steady_clock::now();
    net::FetchResult result = co_await services_.fetcher.fetch(make(token.token));
    services_.attempt_seconds.observe(std::chrono::duration<double>(steady_clock::now() - started).count());
    // An expired or revoked token: a new one, once.
    if (result.status != 401 || attempt > 0) co_return result;
    tokens_.forget(config.service_account);
  }
}

asio::awaitable<void> SheetsAction::take_turn(const ActiveIntegration& integration, Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  const std::int64_t interval_us = 60'000'000 / config.max_requests_per_minute;
  const std::int64_t now_us = now_ms() * 1000;
  auto now = steady_clock::now();
  steady_clock::time_point at;
  auto shared = co_await services_.store.take_request_turn(integration.id, interval_us, now_us);
  if (!shared.is_ok()) {
    spdlog::warn("msg=\"cannot take a shared turn: pacing in this process\" integration={} error={}", integration.id,
                 log_value(shared.status().message()));
  }
  if (shared.is_ok() && shared.value()) {
    at = now + std::chrono::microseconds(*shared.value() - now_us);
  } else {
    at = std::max(now, sheet.next_turn);
    sheet.next_turn = at + std::chrono::microseconds(interval_us);
  }
  at = std::max(at, sheet.paused_until);
  if (at <= steady_clock::now()) co_return;
  ++quota_waits_;
  asio::steady_timer wait(services_.io, at);
  co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<std::variant<std::unordered_map<std::string, long>, SheetsAction::Failure>> SheetsAction::read_ids(
    const ActiveIntegration& integration, Sheet& sheet) {
  const SheetsConfig& config = config_of<SheetsConfig>(integration);
  std::string letters = column_letters(sheet.tab.id_column);
  std::string range = quoted_tab(config.sheet) + "!" + letters + ":" + letters;
  net::FetchResult got = co_await send(integration, sheet, "get",
                                       [&](std::string_view token) { return values_get(config, range, token); });
  if (got.status != 200) co_return failure_of(config, sheet, got);
  json::value reply = reply_json(got);
  std::unordered_map<std::string, long> rows;
  const json::value* values = reply.is_object() ? reply.as_object().if_contains("values") : nullptr;
  if (values && values->is_array()) {
    long row = 0;
    for (const json::value& cells : values->as_array()) {
      ++row;
      if (row == 1 || !cells.is_array() || cells.as_array().empty() || !cells.as_array()[0].is_string()) continue;
      rows.emplace(std::string(cells.as_array()[0].as_string()), row);
    }
  }
  co_return rows;
}

json::array SheetsAction::row_of_response(const Tab& tab, simdjson::dom::element response) const {
  json::array cells(tab.header.size(), json::string());
  simdjson::dom::element answers;
  bool has_answers = response["answers"].get(answers) == simdjson::SUCCESS;
  for (const auto& [key, column] : tab.column_of) {
    simdjson::dom::element value;
    bool missing = false;
    if (key == "response_id") {
      missing = response["id"].get(value) != simdjson::SUCCESS;
    } else if (std::find(std::begin(sheet_metadata_columns), std::end(sheet_metadata_columns), key) !=
               std::end(sheet_metadata_columns)) {
      missing = response[key].get(value) != simdjson::SUCCESS;
    } else {
      missing = !has_answers || answers[key].get(value) != simdjson::SUCCESS;
    }
    if (!missing && column < cells.size()) cells[column] = cell_of(value);
  }
  return cells;
}

SheetsAction::Failure SheetsAction::failure_of(const SheetsConfig& config, Sheet& sheet,
                                               const net::FetchResult& result) {
  Failure failure{result, google_error(result)};
  if (result.status == 429) {
    auto backoff = google_backoff(sheet.quota_errors++);
    sheet.paused_until = steady_clock::now() + backoff;
    failure.quota_wait = backoff;
    failure.error =
        "Google's write quota is used up (" + failure.error + "): waiting " + std::to_string(backoff.count()) + " ms";
    ++quota_errors_;
  } else if (result.status == 403) {
    failure.error = "Google refused access to spreadsheet " + config.spreadsheet_id + " (" + failure.error +
                    "): share it with " + config.service_account.client_email + " as an editor";
  } else if (result.status == 404) {
    failure.error =
        "Google has no spreadsheet " + config.spreadsheet_id + " (" + failure.error + "): check config.spreadsheet_id";
  } else if (!result.error.empty() || result.status >= 500) {
    failure.backoff = google_backoff(sheet.server_errors++);
  }
  return failure;
}

void SheetsAction::succeed(Sheet& sheet, const Item& item, long row, std::string note) {
  AttemptOutcome& outcome = item.outcome();
  outcome.status = "succeeded";
  outcome.attempt.outcome = "succeeded";
  outcome.attempt.http_status = 200;
  outcome.attempt.error = std::move(note);
  outcome.output = json::serialize(json::object{{"row", row}});
  outcome.receiver = AttemptOutcome::Receiver::answering;
  if (sheet.tab.row_of.size() >= max_rows_remembered) sheet.tab.row_of.clear();
  simdjson::dom::element response;
  if (!parser_.parse(item.job().payload).get(response)) sheet.tab.row_of[text_of(response["id"])] = row;
  ++item.waiter->done;
  sheet.quota_errors = 0;
  sheet.server_errors = 0;
  outcome.integration_error = "";
}

void SheetsAction::fail(const ActiveIntegration& integration, const Failure& failure, const Item& item) {
  AttemptOutcome& outcome = item.outcome();
  outcome.attempt.outcome = failure.result.timed_out ? "timeout" : "failed";
  outcome.attempt.http_status = static_cast<int>(failure.result.status);
  outcome.attempt.error = error_excerpt(failure.error);
  if (failure.quota_wait.count() > 0) {
    // Quota refills: the job waits, however long the storm, and is never buried for it.
    outcome.status = "failed";
    outcome.due_ms = now_ms() + failure.quota_wait.count();
  } else {
    std::optional<std::chrono::seconds> wait;
    if (failure.backoff.count() > 0) wait = std::chrono::ceil<std::chrono::seconds>(failure.backoff);
    fail_or_bury(outcome, integration.definition.retry_schedule_s, item.job().attempts, wait);
  }
  outcome.integration_error = now_utc() + " " + error_excerpt(failure.error);
  ++item.waiter->done;
}

AttemptOutcome SheetsAction::settle_unanswered(const ActiveIntegration& integration, const JobRow& job) {
  return unrecorded_attempt_failed(integration, job);
}

void SheetsAction::render_metrics(std::string& out) const {
  out += "# HELP daisy_sheets_requests_total Google Sheets API requests sent, by call.\n";
  out += "# TYPE daisy_sheets_requests_total counter\n";
  for (std::size_t i = 0; i < sheets_calls.size(); ++i) {
    out += "daisy_sheets_requests_total{call=\"" + std::string(sheets_calls[i]) + "\"} " +
           std::to_string(requests_[i].load(std::memory_order_relaxed)) + "\n";
  }
  auto counter = [&out](std::string_view name, std::string_view help, std::uint64_t value) {
    out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " + std::string(name) + " counter\n" +
           std::string(name) + " " + std::to_string(value) + "\n";
  };
  counter("daisy_sheets_rows_written_total", "Rows appended to Google Sheets.", rows_written_.load());
  counter("daisy_sheets_token_requests_total", "Access tokens asked of Google's token endpoint.", tokens_.fetched());
  counter("daisy_sheets_quota_waits_total", "Sheets requests that waited for their integration's turn.",
          quota_waits_.load());
  counter("daisy_sheets_quota_errors_total", "Sheets requests Google refused with 429 (quota used up).",
          quota_errors_.load());
  counter("daisy_sheets_id_checks_total", "Reads of a tab's response_id column before rows were appended again.",
          checks_.load());
}

}  // namespace daisy::jobs
