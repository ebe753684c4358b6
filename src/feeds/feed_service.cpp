#include "feeds/feed_service.h"

#include <boost/json/serialize.hpp>

#include "live/publish.h"
#include "store/record_json.h"

#include <spdlog/spdlog.h>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <random>

#include "feeds/fever_xml.h"
#include "feeds/json_feed.h"
#include "observability/log_value.h"
#include "util/ids.h"
#include "util/thread_name.h"
#include "util/time.h"

namespace daisy::feeds {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct FeedService::Tracked {
  ProviderRow row;  // pull state kept current after each pull
  ProviderDefinition definition;
  Clock::time_point next_due;
  int failures = 0;
  bool pulling = false;
  std::vector<Waiter> waiters;
};

namespace {

// The interval give or take 10%, so providers added together drift apart.
Clock::duration jittered(std::chrono::seconds interval) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.9, 1.1);
  return std::chrono::duration_cast<Clock::duration>(interval * factor(rng));
}

// After n failures in a row: the interval doubled n times, at most an hour
// (or the interval, when that is longer).
std::chrono::seconds backoff(int interval_s, int failures) {
  std::int64_t cap = std::max<std::int64_t>(interval_s, 3600);
  std::int64_t delay = interval_s;
  for (int i = 0; i < failures && delay < cap; ++i) delay *= 2;
  return std::chrono::seconds(std::min(delay, cap));
}

std::string with_query(const std::string& url, const std::string& name, const std::string& value) {
  std::string out = url;
  out += url.find('?') == std::string::npos ? '?' : '&';
  out += name;
  out += '=';
  static constexpr char hex[] = "0123456789ABCDEF";
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Parsing runs as its own coroutine on the parse thread (co_spawn there): a
// plain post to the pool would resume this coroutine on its own executor.
asio::awaitable<std::variant<FeverFeed, std::string>> parse_fever_task(std::string body) {
  co_return parse_fever_xml(body);
}

asio::awaitable<std::variant<JsonPage, std::string>> parse_json_task(std::string body, std::string items_path,
                                                                     std::string id_field) {
  co_return parse_json_page(body, items_path, id_field);
}

std::string trimmed_base(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// A fever-xml feed's plans as the provider's rows (their fields moved out),
// each with an id that a later pull of the same plan gives again.
std::vector<PlanRow> plan_rows(const std::string& provider_id, std::vector<FeverPlan>& plans) {
  std::vector<PlanRow> rows;
  rows.reserve(plans.size());
  for (FeverPlan& p : plans) {
    PlanRow r;
    r.id = name_based_uuid(provider_id + '\n' + p.base_plan_id + '\n' + p.plan_id);
    r.base_plan_id = std::move(p.base_plan_id);
    r.plan_id = std::move(p.plan_id);
    r.title = std::move(p.title);
    r.sell_mode = std::move(p.sell_mode);
    r.starts_local = std::move(p.starts_local);
    r.ends_local = std::move(p.ends_local);
    r.min_price = std::move(p.min_price);
    r.max_price = std::move(p.max_price);
    r.attributes = std::move(p.attributes);
    rows.push_back(std::move(r));
  }
  return rows;
}

// Adds a json page to the pull's write: its counts to the sync record, its
// skip reasons to skip_reasons (up to 10 in all), its items to the write (their
// ids and data moved out; the page keeps as many items, emptied).
void take_json_page(const std::string& provider_id, JsonPage& page, PullWrite& write,
                    std::vector<std::string>& skip_reasons) {
  write.sync.seen += static_cast<std::int64_t>(page.items.size());
  write.sync.skipped += static_cast<std::int64_t>(page.skipped);
  for (auto& reason : page.skip_reasons) {
    if (skip_reasons.size() < 10) skip_reasons.push_back(std::move(reason));
  }
  for (JsonItem& item : page.items) {
    ItemRow r;
    r.provider_id = provider_id;
    r.item_id = std::move(item.id);
    r.data = std::move(item.data);
    write.items.push_back(std::move(r));
  }
}

}  // namespace

FeedService::FeedService(FeedStore& store, ClusterStore& leases, FeedSettings settings)
    : store_(store),
      leases_(leases),
      settings_(settings),
      fetcher_(std::make_unique<net::Fetcher>(settings.allow_private_targets)) {}

FeedService::~FeedService() { stop(); }

bool FeedService::reload_providers() {
  // Known before the read: a provider added here afterwards is not dropped,
  // whatever the read saw.
  std::vector<std::string> known;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, tracked] : providers_) known.push_back(id);
  }
  std::set<std::string> stored;
  Page page;
  page.limit = 1000;
  for (;;) {
    auto rows = store_.list_providers(page);
    if (!rows.is_ok()) {
      spdlog::error("msg=\"cannot load providers\" error={}", log_value(rows.status().message()));
      return false;
    }
    for (const ProviderRow& row : rows.value()) {
      stored.insert(row.id);
      provider_changed(row, true);
    }
    if (rows.value().size() < page.limit) break;
    page.after = rows.value().back().id;
  }
  for (const auto& id : known) {
    if (!stored.count(id)) provider_removed(id);
  }
  return true;
}

bool FeedService::provider_pulled(const std::string& id) {
  auto row = store_.get_provider(id);
  if (!row.is_ok()) return row.status().code() == Status::Code::not_found;  // its deletion reloads providers
  {
    std::lock_guard lock(mu_);
    auto it = providers_.find(id);
    if (it == providers_.end()) return true;
    Tracked& tracked = *it->second;
    // Only the pull state: the definition follows the providers' own version.
    if (tracked.row.updated_at == row.value().updated_at) {
      tracked.row.etag = row.value().etag;
      tracked.row.last_modified = row.value().last_modified;
      tracked.row.cursor = row.value().cursor;
    }
    tracked.row.last_sync_at = row.value().last_sync_at;
  }
  refresh_index_in_force(id);
  return true;
}

bool FeedService::start() {
  if (!reload_providers()) return false;
  asio::co_spawn(io_, schedule_loop(), asio::detached);
  asio::post(parse_pool_, [] { name_this_thread("daisy-parse"); });
  thread_ = std::thread([this] {
    name_this_thread("daisy-feeds");
    io_.run();
  });
  return true;
}

void FeedService::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  io_.stop();
  if (thread_.joinable()) thread_.join();
  parse_pool_.join();
  fetcher_.reset();
  std::lock_guard lock(mu_);
  providers_.clear();  // waiters hold executors of the HTTP threads: drop them while those live
}

void FeedService::provider_changed(const ProviderRow& row, bool from_store) {
  auto definition = provider_definition_from_json(row.definition);
  if (!definition) {
    spdlog::error("msg=\"stored provider definition is unreadable; provider skipped\" provider={}", row.id);
    return;
  }
  {
    std::lock_guard lock(mu_);
    // Handlers resume on different threads, so changes can arrive out of
    // order: a deleted provider stays deleted, and an older row never
    // replaces a newer one.
    if (deleted_.count(row.id)) return;
    auto& tracked = providers_[row.id];
    if (tracked && !from_store && row.updated_at < tracked->row.updated_at) return;
    if (!tracked) {
      tracked = std::make_shared<Tracked>();
      tracked->next_due = Clock::now();  // a new provider (or a restart) pulls soon
    }
    tracked->row = row;
    tracked->definition = std::move(*definition);
  }
  // The time zone (or the format) may have changed what the index holds.
  refresh_index_in_force(row.id);
}

void FeedService::provider_removed(const std::string& id) {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    deleted_.insert(id);  // ids are UUIDv7: never given again
    auto it = providers_.find(id);
    if (it == providers_.end()) return;
    waiters.swap(it->second->waiters);  // a pull in progress ends unheard: answer its waiters now
    providers_.erase(it);
  }
  {
    std::lock_guard refreshing(refresh_mu_);  // after any refresh that read the plans before the delete
    index_.replace(id, {});
  }
  PullResult gone;
  gone.status = Status::not_found("provider");
  for (auto& w : waiters) w(gone);
}

std::optional<FeedService::ProviderView> FeedService::find_by_name(const std::string& name) const {
  std::lock_guard lock(mu_);
  for (const auto& [id, tracked] : providers_) {
    if (tracked->definition.name == name) return ProviderView{id, tracked->definition, tracked->row.last_sync_at};
  }
  return std::nullopt;
}

void FeedService::refresh_index_in_force(const std::string& provider_id) {
  // One refresh at a time, so an older read never replaces a newer one.
  std::lock_guard refreshing(refresh_mu_);
  std::optional<std::string> timezone;  // nullopt: not a fever-xml provider (any more)
  {
    std::lock_guard lock(mu_);
    auto it = providers_.find(provider_id);
    if (it != providers_.end() && it->second->definition.format == FeedFormat::fever_xml) {
      timezone = it->second->definition.timezone;
    }
  }
  if (!timezone) {
    index_.replace(provider_id, {});
    return;
  }
  auto plans = store_.searchable_plans(provider_id);
  if (!plans.is_ok()) {
    spdlog::error("msg=\"cannot read plans for the search index\" provider={} error={}", provider_id,
                  log_value(plans.status().message()));
    return;
  }
  index_.replace(provider_id, search_plans(plans.value(), *timezone));
}

void FeedService::render_metrics(std::string& out) const {
  static constexpr const char* triggers[] = {"schedule", "manual", "fresh"};
  static constexpr const char* outcomes[] = {"ok", "error"};
  out += "# HELP daisy_feed_pulls_total Provider pulls ended, by trigger and outcome.\n";
  out += "# TYPE daisy_feed_pulls_total counter\n";
  for (std::size_t t = 0; t < 3; ++t) {
    for (std::size_t o = 0; o < 2; ++o) {
      out += "daisy_feed_pulls_total{trigger=\"";
      out += triggers[t];
      out += "\",outcome=\"";
      out += outcomes[o];
      out += "\"} " + std::to_string(pulls_[t][o].load(std::memory_order_relaxed)) + "\n";
    }
  }
  std::size_t providers;
  {
    std::lock_guard lock(mu_);
    providers = providers_.size();
  }
  out += "# HELP daisy_feed_providers Providers configured.\n# TYPE daisy_feed_providers gauge\n";
  out += "daisy_feed_providers " + std::to_string(providers) + "\n";
  out += "# HELP daisy_feed_search_plans Plans /search can return.\n# TYPE daisy_feed_search_plans gauge\n";
  out += "daisy_feed_search_plans " + std::to_string(index_.snapshot()->plans.size()) + "\n";
}

void FeedService::start_pull(const std::string& id, const std::string& trigger, Waiter waiter) {
  bool spawn = false;
  {
    std::lock_guard lock(mu_);
    auto it = providers_.find(id);
    if (stopped_ || it == providers_.end()) {
      PullResult none;
      none.status = stopped_ ? Status::unavailable("the feeds are shutting down") : Status::not_found("provider");
      if (waiter) waiter(std::move(none));
      return;
    }
    Tracked& tracked = *it->second;
    if (waiter) tracked.waiters.push_back(std::move(waiter));
    if (!tracked.pulling) tracked.pulling = spawn = true;
  }
  if (spawn) asio::co_spawn(io_, run_pull(id, trigger), asio::detached);
}

asio::awaitable<void> FeedService::run_pull(std::string id, std::string trigger) {
  ProviderRow row;
  ProviderDefinition definition;
  {
    std::lock_guard lock(mu_);
    auto it = providers_.find(id);
    if (it == providers_.end()) co_return;
    row = it->second->row;
    definition = it->second->definition;
  }
  // Another node holds this provider's lease: it pulls it this interval, and
  // what it stores reaches this node's index through ClusterSync. A pull that
  // someone waits for runs all the same.
  if (trigger == "schedule") {
    std::int64_t interval_ms = static_cast<std::int64_t>(definition.interval_s) * 1000;
    auto lease = co_await leases_.try_lease("pull:" + id, settings_.node_id, now_ms(), interval_ms);
    std::lock_guard lock(mu_);
    auto it = providers_.find(id);
    if (it == providers_.end()) co_return;
    if (lease.is_ok() && !lease.value() && it->second->waiters.empty()) {
      it->second->next_due = Clock::now() + jittered(std::chrono::seconds(definition.interval_s));
      it->second->pulling = false;
      co_return;
    }
  }
  PullResult result;
  try {
    result = co_await pull_once(row, definition, trigger);
  } catch (const std::exception& e) {
    // Whatever went wrong, the provider is pulled again later and its waiters are answered.
    result.status = Status::internal(std::string("the pull failed: ") + e.what());
    result.sync.error = result.status.message();
  }
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = providers_.find(id);
    if (it != providers_.end()) {
      Tracked& tracked = *it->second;
      if (result.ok()) {
        tracked.failures = 0;
        tracked.next_due = Clock::now() + jittered(std::chrono::seconds(definition.interval_s));
        if (tracked.row.updated_at == row.updated_at) {  // else changed meanwhile: its state was reset
          tracked.row.etag = row.etag;
          tracked.row.last_modified = row.last_modified;
          tracked.row.cursor = row.cursor;
        }
        tracked.row.last_sync_at = row.last_sync_at;
      } else {
        ++tracked.failures;
        tracked.next_due = Clock::now() + jittered(backoff(definition.interval_s, tracked.failures));
      }
      tracked.pulling = false;
      waiters.swap(tracked.waiters);
    }
  }
  std::size_t trigger_index = trigger == "schedule" ? 0 : trigger == "manual" ? 1 : 2;
  pulls_[trigger_index][result.ok() ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
  if (!result.ok()) {
    spdlog::warn("msg=\"provider pull failed\" provider={} name={} trigger={} http_status={} error={}", id,
                 log_value(definition.name), trigger, result.sync.http_status,
                 log_value(result.status.is_ok() ? result.sync.error : result.status.message()));
  } else {
    spdlog::info(
        "msg=\"provider pulled\" provider={} name={} trigger={} http_status={} seen={} new={} changed={} "
        "skipped={} duration_ms={}",
        id, log_value(definition.name), trigger, result.sync.http_status, result.sync.seen, result.sync.added,
        result.sync.changed, result.sync.skipped, result.sync.duration_ms);
  }
  for (auto& w : waiters) w(result);
}

// One pull in progress: what it will write, and what its result and its log
// need besides.
struct FeedService::Pull {
  Clock::time_point started = Clock::now();  // the pull's clock starts with it
  std::shared_ptr<PullWrite> write = std::make_shared<PullWrite>();
  std::vector<std::string> skip_reasons;  // the first few, logged with a successful pull
  bool timed_out = false;                 // the pull ended at its own timeout_ms
  bool pages_kept = false;                // json/daisy: pages read before a later page failed are stored
};

// Where a json or daisy provider's pages come from, and how they are read. A
// daisy provider is another Daisy's form, whose responses are read with its
// admin token.
struct FeedService::JsonSource {
  explicit JsonSource(const ProviderDefinition& def);

  bool daisy;
  std::string base;          // the first page's URL
  std::string cursor_param;  // empty: the provider cannot be asked for a next page
  std::string items_path, id_field;
  std::vector<std::pair<std::string, std::string>> headers;
};

FeedService::JsonSource::JsonSource(const ProviderDefinition& def)
    : daisy(def.format == FeedFormat::daisy),
      base(daisy ? trimmed_base(def.url) + "/v1/forms/" + def.form_id + "/responses?limit=1000" : def.url),
      cursor_param(daisy ? "after" : def.cursor_param),
      items_path(daisy ? "items" : def.items_path),
      id_field(daisy ? "id" : def.id_field),
      headers(def.headers) {
  if (daisy) headers.emplace_back("Authorization", "Bearer " + def.token);
}

asio::awaitable<PullResult> FeedService::pull_once(ProviderRow& row, const ProviderDefinition& def,
                                                   std::string trigger) {
  Pull pull;
  pull.write->provider_id = row.id;
  pull.write->definition_updated_at = row.updated_at;
  SyncRow& sync = pull.write->sync;
  sync.provider_id = row.id;
  sync.started_at = now_utc();
  sync.trigger = trigger;
  if (def.format == FeedFormat::fever_xml) {
    co_await pull_fever_xml(row, def, pull);
  } else {
    co_await pull_json_pages(row, def, pull);
  }
  co_return co_await write_pull(row, pull);
}

asio::awaitable<void> FeedService::pull_fever_xml(const ProviderRow& row, const ProviderDefinition& def, Pull& pull) {
  PullWrite& write = *pull.write;
  SyncRow& sync = write.sync;
  net::FetchRequest request{
      def.url,  def.headers,      std::chrono::milliseconds(def.timeout_ms), settings_.max_response_bytes,
      row.etag, row.last_modified};
  net::FetchResult fetched = co_await fetcher_->fetch(std::move(request));
  sync.http_status = static_cast<int>(fetched.status);
  write.etag = row.etag;
  write.last_modified = row.last_modified;
  if (!fetched.error.empty()) {
    sync.error = fetched.error;
    pull.timed_out = fetched.timed_out;
    co_return;
  }
  if (fetched.status == 304) co_return;  // unchanged since the last pull: nothing to parse
  if (fetched.status < 200 || fetched.status > 299) {
    sync.error = "the provider answered HTTP " + std::to_string(fetched.status);
    co_return;
  }
  auto parsed = co_await asio::co_spawn(parse_pool_, parse_fever_task(std::move(fetched.body)), asio::use_awaitable);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    sync.error = *error;
    co_return;
  }
  FeverFeed& feed = std::get<FeverFeed>(parsed);
  sync.seen = static_cast<std::int64_t>(feed.plans.size());
  sync.skipped = static_cast<std::int64_t>(feed.skipped);
  pull.skip_reasons = std::move(feed.skip_reasons);
  write.online_base_plans = std::move(feed.online_base_plans);
  write.plans = plan_rows(row.id, feed.plans);
  write.etag = fetched.etag;
  write.last_modified = fetched.last_modified;
}

asio::awaitable<void> FeedService::pull_json_pages(const ProviderRow& row, const ProviderDefinition& def, Pull& pull) {
  const JsonSource source(def);
  auto deadline = pull.started + std::chrono::milliseconds(def.timeout_ms);
  std::string cursor = row.cursor;
  // The size limit holds for the pull as a whole, not per page. Pages read
  // before the time or size runs out are kept, with the cursor they reached:
  // the next pull goes on from there, so a long backlog is read over several.
  std::size_t bytes_left = settings_.max_response_bytes;
  bool provider_cursors = false;  // the provider pages with next_cursor (else the last id is the cursor)
  for (std::size_t page = 0; page < settings_.max_pages; ++page) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;  // only after a page: the first has the whole timeout
    std::string url = !cursor.empty() && !source.cursor_param.empty()
                          ? with_query(source.base, source.cursor_param, cursor)
                          : source.base;
    net::FetchRequest request{url, source.headers, left, bytes_left, "", ""};
    std::optional<JsonPage> got = co_await read_json_page(std::move(request), page, source, bytes_left, pull);
    if (!got) break;
    std::string last_id = got->items.empty() ? std::string() : got->items.back().id;
    take_json_page(row.id, *got, *pull.write, pull.skip_reasons);
    if (got->next_cursor && !got->next_cursor->empty() && *got->next_cursor != cursor && !got->items.empty()) {
      provider_cursors = true;
      cursor = *got->next_cursor;
      if (source.cursor_param.empty()) break;  // no way to ask for the next page
      continue;
    }
    // The last page. A provider that pages with cursors is asked again from
    // the last cursor it gave (the daisy format gives one only with a full
    // page; unchanged items count as seen only); one that does not is asked
    // for what follows the last id.
    if (!provider_cursors && !source.daisy && !last_id.empty() && !source.cursor_param.empty()) cursor = last_id;
    break;
  }
  pull.write->cursor = cursor;
  pull.pages_kept = !pull.write->items.empty();
}

asio::awaitable<std::optional<JsonPage>> FeedService::read_json_page(net::FetchRequest request, std::size_t page,
                                                                     const JsonSource& source, std::size_t& bytes_left,
                                                                     Pull& pull) {
  SyncRow& sync = pull.write->sync;
  net::FetchResult fetched = co_await fetcher_->fetch(std::move(request));
  if (!fetched.error.empty() && page > 0 && (fetched.timed_out || fetched.too_large)) co_return std::nullopt;
  sync.http_status = static_cast<int>(fetched.status);
  if (!fetched.error.empty()) {
    sync.error = page == 0 ? fetched.error : "page " + std::to_string(page + 1) + ": " + fetched.error;
    pull.timed_out = fetched.timed_out;
    co_return std::nullopt;
  }
  bytes_left -= std::min(bytes_left, fetched.body.size());
  if (fetched.status < 200 || fetched.status > 299) {
    sync.error = "the provider answered HTTP " + std::to_string(fetched.status);
    co_return std::nullopt;
  }
  auto parsed = co_await asio::co_spawn(
      parse_pool_, parse_json_task(std::move(fetched.body), source.items_path, source.id_field), asio::use_awaitable);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    sync.error = *error;
    co_return std::nullopt;
  }
  co_return std::move(std::get<JsonPage>(parsed));
}

asio::awaitable<PullResult> FeedService::write_pull(ProviderRow& row, Pull& pull) {
  PullWrite& write = *pull.write;
  SyncRow& sync = write.sync;
  sync.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - pull.started).count();
  if (sync.error.empty() && !pull.skip_reasons.empty()) {
    // Recorded with a successful pull: what was skipped, and why (the first few).
    spdlog::warn("msg=\"provider items skipped\" provider={} skipped={} first={}", row.id, sync.skipped,
                 log_value(pull.skip_reasons.front()));
  }
  write.success = sync.error.empty() || pull.pages_kept;
  write.synced_at = now_utc();
  if (!write.success) {
    write.plans.clear();
    write.items.clear();
  }
  auto stored = co_await store_.store_pull(pull.write);
  PullResult result;
  result.timed_out = pull.timed_out;
  if (!stored.is_ok()) {
    result.status = stored.status();
    result.sync = sync;
    co_return result;
  }
  result.sync = stored.value();
  live::publish(live_, live::Kind::sync_finished, {},
                [&result] { return boost::json::serialize(sync_json(result.sync)); });
  if (write.success) {
    row.etag = write.etag;
    row.last_modified = write.last_modified;
    row.cursor = write.cursor;
    row.last_sync_at = write.synced_at;
    refresh_index_in_force(row.id);
  }
  co_return result;
}

asio::awaitable<void> FeedService::schedule_loop() {
  asio::steady_timer timer(io_);
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    std::vector<std::string> due;
    {
      std::lock_guard lock(mu_);
      auto now = Clock::now();
      for (const auto& [id, tracked] : providers_) {
        if (tracked->definition.enabled && !tracked->pulling && tracked->next_due <= now) due.push_back(id);
      }
    }
    for (const auto& id : due) start_pull(id, "schedule", {});
  }
}

asio::awaitable<std::vector<std::optional<PullResult>>> FeedService::pull(std::vector<PullAsk> asks,
                                                                          std::string trigger) {
  using Results = std::vector<std::optional<PullResult>>;
  auto initiate = [this, asks = std::move(asks), trigger = std::move(trigger)](auto handler) mutable {
    using Handler = std::decay_t<decltype(handler)>;
    auto executor = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
    // Every callback below runs on the caller's executor (one thread), so the
    // shared state needs no lock. Each ask ends once: by its pull or its deadline.
    struct Wait {
      Handler handler;
      Results results;
      std::vector<bool> ended;
      std::vector<std::unique_ptr<asio::steady_timer>> timers;
      std::size_t remaining;
      Wait(Handler h, std::size_t n) : handler(std::move(h)), results(n), ended(n, false), timers(n), remaining(n) {}
      void end(std::size_t i, std::optional<PullResult> result) {
        if (ended[i]) return;
        ended[i] = true;
        results[i] = std::move(result);
        if (timers[i]) timers[i]->cancel();
        if (--remaining == 0) {
          for (auto& t : timers) t.reset();
          handler(std::move(results));
        }
      }
    };
    auto wait = std::make_shared<Wait>(std::move(handler), asks.size());
    if (asks.empty()) {
      asio::post(executor, [wait] { wait->handler(Results()); });
      return;
    }
    for (std::size_t i = 0; i < asks.size(); ++i) {
      if (!asks[i].deadline) continue;
      wait->timers[i] = std::make_unique<asio::steady_timer>(executor, *asks[i].deadline);
      wait->timers[i]->async_wait([wait, i](const boost::system::error_code& ec) {
        if (!ec) wait->end(i, std::nullopt);
      });
    }
    for (std::size_t i = 0; i < asks.size(); ++i) {
      start_pull(asks[i].provider_id, trigger, [executor, wait, i](PullResult result) {
        asio::post(executor, [wait, i, result = std::move(result)]() mutable { wait->end(i, std::move(result)); });
      });
    }
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Results)>(std::move(initiate),
                                                                                        asio::use_awaitable);
}

}  // namespace daisy::feeds
