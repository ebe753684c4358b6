#include "runtime/daisy_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "api/routes.h"
#include "auth/admin_token.h"
#include "auth/authenticator.h"
#include "auth/key_rate_limiter.h"
#include "events/events_state.h"
#include "feeds/feed_service.h"
#include "forms/form_cache.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "jobs/integration_registry.h"
#include "jobs/job_runner.h"
#include "live/live_bus.h"
#include "observability/log_value.h"
#include "observability/metrics.h"
#include "observability/process_metrics.h"
#include "rpc/rpc_server.h"
#include "runtime/cluster_sync.h"
#include "runtime/data_dir_lock.h"
#include "runtime/memory_release.h"
#include "runtime/pg_live_relay.h"
#include "runtime/retention.h"
#include "runtime/systemd_notify.h"
#include "store/postgres/pg_store.h"
#include "store/record_json.h"
#include "store/sqlite/integrity.h"
#include "store/sqlite/sqlite_store.h"
#include "util/ids.h"

namespace daisy {
namespace {

// True for a PostgreSQL connection string: a postgres:// or postgresql://
// URI, or a libpq keyword string (host=... dbname=...).
bool is_postgres(std::string_view db) {
  return db.starts_with("postgres://") || db.starts_with("postgresql://") ||
         (!db.starts_with("sqlite:") && db.find('=') != std::string_view::npos);
}

// This node's name among the nodes sharing a database: kept in the data dir
// so that a restarted node knows the job leases it held (and takes those jobs
// up at once instead of waiting for the leases to expire). Without a writable
// data dir, a name for this run only.
std::string node_id(const Config& config) {
  std::string path = config.data_dir + "/node-id";
  std::string id;
  if (std::ifstream in(path); in) std::getline(in, id);
  if (is_uuid(id)) return id;
  id = new_uuid_v7();
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  std::ofstream out(path, std::ios::trunc);
  out << id << "\n";
  out.close();
  if (!out) spdlog::warn("msg=\"cannot keep the node id in the data dir\" path={}", log_value(path));
  return id;
}

// A data dir that has served before (it keeps a node id) whose database file
// is missing or empty has lost its data: starting would create an empty
// database and look healthy. Refused, with what to do.
std::string refuse_lost_database(const Config& config, const std::string& db_path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(fs::path(config.data_dir) / "node-id", ec)) return {};
  auto parent = fs::weakly_canonical(fs::path(db_path), ec).parent_path();
  if (parent != fs::weakly_canonical(fs::path(config.data_dir), ec)) return {};
  bool missing = !fs::exists(db_path, ec);
  if (!missing && fs::file_size(db_path, ec) > 0) return {};
  return "the data dir " + config.data_dir + " has been used before (it holds a node-id), but its database " + db_path +
         (missing ? " is missing" : " is empty") + ": restore the database from a backup, or remove " +
         config.data_dir + "/node-id to start afresh with an empty one";
}

// Opens the store named by --db. serving: for `daisy serve`, whose node id
// (kept in the data dir) matters; one-shot commands (migrate, admin-token)
// neither need it nor create a data dir on PostgreSQL.
std::unique_ptr<Store> open_store(const Config& config, Metrics* metrics, std::string& error, bool serving) {
  std::string db = effective_db(config);
  if (is_postgres(db)) {
    PostgresOptions options;
    options.conninfo = db;
    options.node_id = serving ? node_id(config) : new_uuid_v7();
    return std::make_unique<PostgresStore>(options, metrics);
  }
  if (db.rfind("sqlite:", 0) != 0) {
    error = "unsupported --db: use sqlite:<path>, postgres://user:password@host:port/dbname or a libpq keyword string";
    return nullptr;
  }
  SqliteOptions options;
  options.path = db.substr(7);
  if (std::string refusal = refuse_lost_database(config, options.path); !refusal.empty()) {
    error = refusal;
    return nullptr;
  }
  options.event_index.generation_age = std::chrono::milliseconds(config.event_index_delay_ms);
  if (config.sqlite_synchronous == "full") {
    options.synchronous_full = true;
  } else if (config.sqlite_synchronous == "normal") {
    options.synchronous_full = false;
  } else {
    error = "--sqlite-synchronous must be full or normal";
    return nullptr;
  }
  std::error_code ec;
  auto parent = std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    error = "cannot create " + parent.string() + ": " + ec.message();
    return nullptr;
  }
  try {
    return std::make_unique<SqliteStore>(options, metrics);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}

void print_admin_token(const std::string& token) {
  std::printf(
      "\nDaisy admin token (shown only this once; only its hash is stored):\n\n  %s\n\n"
      "Use it as: Authorization: Bearer <token>\n\n",
      token.c_str());
  std::fflush(stdout);
}

// Where a person starts: the console, on stdout beside the admin token.
void print_console_url(const std::string& host, std::uint16_t port) {
  std::string shown = host == "0.0.0.0" || host == "::" ? std::string("127.0.0.1") : host;
  if (shown.find(':') != std::string::npos) shown = "[" + shown + "]";
  std::printf("Daisy console: http://%s:%u/ui  (API reference: /docs)\n", shown.c_str(), static_cast<unsigned>(port));
  std::fflush(stdout);
}

// SQLite: the process that writes the database must own the data dir (a
// running server keeps state in memory that another writer would bypass).
// PostgreSQL needs no data dir for one-shot commands.
bool lock_for_sqlite(const Config& config, DataDirLock& lock) {
  if (is_postgres(effective_db(config))) return true;
  std::string error;
  lock = DataDirLock::acquire(config.data_dir, error);
  if (!lock.held()) spdlog::critical("msg=\"cannot open the store\" error={}", log_value(error));
  return lock.held();
}

bool run_migrations(Store& store) {
  auto applied = store.migrate();
  if (!applied.is_ok()) {
    spdlog::critical("msg=\"migration failed\" error={}", log_value(applied.status().message()));
    return false;
  }
  for (int v : applied.value()) spdlog::info("msg=\"migration applied\" version={}", v);
  return true;
}

// Installs the admin token (see auth/admin_token.h) and shows a generated one.
bool establish_admin(const Config& config, Store& store, Authenticator& auth) {
  auto admin = establish_admin_token(config.admin_token, store, auth);
  if (!admin.is_ok()) {
    spdlog::critical("msg=\"cannot establish the admin token\" error={}", log_value(admin.status().message()));
    return false;
  }
  if (admin.value().replaced_stored) {
    spdlog::info("msg=\"the configured admin token (--admin-token or DAISY_ADMIN_TOKEN) replaced the stored one\"");
  }
  if (!admin.value().generated.empty()) print_admin_token(admin.value().generated);
  return true;
}

// The store of a one-shot command (migrate, admin-token), holding the data
// dir's lock on SQLite; null (and logged) when either cannot be had.
std::unique_ptr<Store> open_store_for_command(const Config& config, DataDirLock& lock) {
  if (!lock_for_sqlite(config, lock)) return nullptr;
  std::string error;
  auto store = open_store(config, nullptr, error, false);
  if (!store) spdlog::critical("msg=\"cannot open the store\" error={}", log_value(error));
  return store;
}

}  // namespace

// The event types and unknown-type policies in force, from the store.
bool load_events_state(const Config& config, Store& store, events::EventsState& events) {
  events.settings.max_future_skew_ns = static_cast<std::int64_t>(config.event_max_skew_seconds) * 1'000'000'000;
  events.settings.rejection_cap = config.event_rejections_cap;
  events.settings.max_inflated_bytes = config.max_batch_body_bytes;
  auto types = store.list_event_types();
  auto rejecting = store.apps_rejecting_unknown_event_types();
  if (!types.is_ok() || !rejecting.is_ok()) {
    spdlog::critical("msg=\"cannot load event types\" error={}",
                     log_value((types.is_ok() ? rejecting.status() : types.status()).message()));
    return false;
  }
  try {
    events.types.load(types.value());
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"cannot load event types\" error={}", log_value(e.what()));
    return false;
  }
  events.unknown_types.load(rejecting.value());
  return true;
}

int migrate(const Config& config) {
  DataDirLock lock;
  auto store = open_store_for_command(config, lock);
  if (!store) return 1;
  bool ok = run_migrations(*store);
  store->close();
  return ok ? 0 : 1;
}

int reset_admin_token(const Config& config) {
  DataDirLock lock;
  auto store = open_store_for_command(config, lock);
  if (!store) return 1;
  if (!run_migrations(*store)) return 1;
  auto token = daisy::reset_admin_token(*store);
  store->close();
  if (!token.is_ok()) {
    spdlog::critical("msg=\"cannot reset the admin token\" error={}", log_value(token.status().message()));
    return 1;
  }
  print_admin_token(token.value());
  if (is_postgres(effective_db(config))) {
    std::printf("Running nodes keep the old token until they restart.\n");
  }
  return 0;
}

int check(const Config& config) {
  std::string db = effective_db(config);
  if (is_postgres(db) || db.rfind("sqlite:", 0) != 0) {
    std::fprintf(stderr, "daisy check: checks SQLite databases; for PostgreSQL use its own tools (amcheck)\n");
    return 2;
  }
  std::string path = db.substr(7);
  if (!std::filesystem::exists(path)) {
    std::fprintf(stderr, "daisy check: %s does not exist\n", path.c_str());
    return 2;
  }
  try {
    sqlite::Connection connection(path, sqlite::Connection::Mode::read_only);
    auto verdict = sqlite::check_integrity(connection, true, std::chrono::hours(24 * 365));
    if (verdict.state == sqlite::IntegrityVerdict::State::ok) {
      std::printf("%s: ok\n", path.c_str());
      return 0;
    }
    std::printf("%s: damaged: %s\n", path.c_str(), verdict.problems.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::printf("%s: cannot be checked: %s\n", path.c_str(), e.what());
    return 1;
  }
}

namespace {

// --threads, or one per core: the HTTP server's I/O threads and the RPC
// server's pool alike.
unsigned io_threads_of(const Config& config) {
  return config.threads ? config.threads : std::max(1u, std::thread::hardware_concurrency());
}

// The HTTP server's settings; none (logged) when --listen is not host:port.
std::optional<http::ServerConfig> server_config_of(const Config& config) {
  http::ServerConfig server_config;
  if (!parse_listen(config.listen, server_config.host, server_config.port)) {
    spdlog::critical("msg=\"--listen must be host:port\" value={}", log_value(config.listen));
    return std::nullopt;
  }
  server_config.threads = io_threads_of(config);
  server_config.max_header_bytes = config.max_header_bytes;
  server_config.max_body_bytes = config.max_body_bytes;
  server_config.max_batch_body_bytes = config.max_batch_body_bytes;
  server_config.header_timeout = std::chrono::milliseconds(config.header_timeout_ms);
  server_config.body_timeout = std::chrono::milliseconds(config.body_timeout_ms);
  server_config.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_config.write_timeout = std::chrono::milliseconds(config.write_timeout_ms);
  server_config.shutdown_grace = std::chrono::milliseconds(config.shutdown_grace_ms);
  server_config.exit_after_grace = true;
  server_config.max_connections = config.max_connections;
  return server_config;
}

// The store of `daisy serve`, migrated, with this node claimed; null (and
// logged) when any of these fails.
std::unique_ptr<Store> open_serving_store(const Config& config, Metrics& metrics) {
  std::string error;
  auto store = open_store(config, &metrics, error, true);
  if (!store) {
    spdlog::critical("msg=\"cannot open the store\" error={}", log_value(error));
    return nullptr;
  }
  if (!run_migrations(*store)) return nullptr;
  if (Status claimed = store->claim_node(); !claimed.is_ok()) {
    spdlog::critical("msg=\"cannot start this node\" error={}", log_value(claimed.message()));
    return nullptr;
  }
  return store;
}

bool load_app_tokens(Store& store, Authenticator& auth) {
  auto tokens = store.app_tokens();
  if (!tokens.is_ok()) {
    spdlog::critical("msg=\"cannot load app tokens\" error={}", log_value(tokens.status().message()));
    return false;
  }
  auth.replace_app_tokens(tokens.value());
  return true;
}

http::ReaderPoolSettings reader_settings_of(const Config& config) {
  http::ReaderPoolSettings settings;
  settings.threads = config.reader_threads ? config.reader_threads : std::max(1u, std::thread::hardware_concurrency());
  settings.max_queued = config.reader_queue;
  settings.max_wait = std::chrono::milliseconds(config.reader_wait_ms);
  return settings;
}

RuleLimits rule_limits_of(const Config& config) {
  RuleLimits limits;
  limits.time_budget = std::chrono::milliseconds(config.rule_time_budget_ms);
  return limits;
}

// Reads (and on a first start writes) this node's id: see node_id().
feeds::FeedSettings feed_settings_of(const Config& config) {
  feeds::FeedSettings settings;
  settings.node_id = node_id(config);
  settings.allow_private_targets = config.allow_private_targets;
  settings.max_response_bytes = config.feed_max_bytes;
  return settings;
}

// The store must outlive the retention given these settings.
RetentionSettings retention_settings_of(const Config& config, Store& store) {
  RetentionSettings settings;
  auto days = [](unsigned n) -> std::optional<std::chrono::hours> {
    if (n == 0) return std::nullopt;
    return std::chrono::hours(24) * n;
  };
  settings.events = days(config.event_retention_days);
  settings.responses = days(config.response_retention_days);
  settings.jobs = days(config.job_retention_days);
  settings.interval = std::chrono::seconds(config.retention_interval_seconds);
  settings.node_id = node_id(config);
  settings.request_writes = [&store] { return store.request_writes(); };
  return settings;
}

void start_retention(Retention& retention, Metrics& metrics) {
  metrics.add_collector([&retention](std::string& out) { retention.render_metrics(out); });
  retention.start();
}

// The settings read from store, which must outlive the job runner given them.
jobs::JobRunnerSettings job_runner_settings_of(const Config& config, Store& store) {
  jobs::JobRunnerSettings settings;
  settings.allow_private_targets = config.allow_private_targets;
  settings.lease = std::chrono::milliseconds(config.job_lease_ms);
  settings.payload_of = [&store](const JobRow& job) { return job_payload(store, job); };
  settings.form_of = [&store](std::string_view form_id) { return store.get_form(form_id); };
  return settings;
}

// The port the server listens on (the one given by port 0 included); none
// (logged) when it cannot listen.
std::optional<std::uint16_t> listen_port(http::Server& server) {
  try {
    return server.listen();
  } catch (const std::exception& e) {
    spdlog::critical("msg=\"cannot start\" error={}", log_value(e.what()));
    return std::nullopt;
  }
}

// Where the microservices of integrations call this node back, without a
// trailing slash: --public-url, or else the address listened on (loopback
// when that is every interface).
std::string callback_base_of(const Config& config, const http::ServerConfig& server_config, std::uint16_t port) {
  std::string base = config.public_url;
  if (base.empty()) {
    bool any = server_config.host == "0.0.0.0" || server_config.host == "::" || server_config.host.empty();
    std::string host = any ? "127.0.0.1" : server_config.host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    base = "http://" + host + ":" + std::to_string(port);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// Has cluster reload what other nodes change; the objects given must outlive
// it. The reloads may race this node's own changes: each replaces what is in
// memory only if no local change ran during its read, and is otherwise tried
// again at the next poll.
void follow_other_nodes(ClusterSync& cluster, Store& store, Authenticator& auth, forms::FormCache& forms,
                        events::EventsState& events, jobs::IntegrationRegistry& integrations,
                        feeds::FeedService& feeds) {
  cluster.on("apps", [&store, &auth, &events](const std::string&) {
    std::uint64_t tokens_seen = auth.local_changes();
    std::uint64_t policies_seen = events.unknown_types.local_changes();
    auto tokens = store.app_tokens();
    auto rejecting = store.apps_rejecting_unknown_event_types();
    if (!tokens.is_ok() || !rejecting.is_ok()) return false;
    bool tokens_loaded = auth.replace_app_tokens_if_unchanged(tokens.value(), tokens_seen);
    bool policies_loaded = events.unknown_types.load_if_unchanged(rejecting.value(), policies_seen);
    return tokens_loaded && policies_loaded;
  });
  cluster.on("forms", [&forms](const std::string&) {
    forms.clear();
    return true;
  });
  cluster.on("event_types", [&store, &events](const std::string&) {
    std::uint64_t types_seen = events.types.local_changes();
    auto types = store.list_event_types();
    if (!types.is_ok()) return false;
    try {
      return events.types.load_if_unchanged(types.value(), types_seen);
    } catch (const std::exception& e) {
      spdlog::error("msg=\"cannot load event types\" error={}", log_value(e.what()));
      return false;
    }
  });
  cluster.on("integrations", [&integrations, &store](const std::string&) { return integrations.reload(store); });
  cluster.on("providers", [&feeds](const std::string&) { return feeds.reload_providers(); });
  cluster.on("pulls:", [&feeds](const std::string& kind) { return feeds.provider_pulled(kind.substr(6)); });
}

// Once the server has drained: stops what works in the background, all of
// which writes to the store, and only then flushes and closes the store.
void stop_and_close(ClusterSync& cluster, Retention& retention, feeds::FeedService& feeds, jobs::JobRunner& job_runner,
                    Store& store) {
  cluster.stop();
  retention.stop();
  feeds.stop();
  job_runner.stop();
  spdlog::info("msg=\"connections drained; flushing the store\"");
  store.close();
  spdlog::info("msg=stopped");
}

live::LiveLimits live_limits_of(const Config& config) {
  live::LiveLimits limits;
  limits.max_subscriptions = config.max_streams;
  limits.ring_messages = config.stream_ring_messages;
  return limits;
}

void render_live_metrics(const live::LiveBus& live, std::string& out) {
  out += "# HELP daisy_streams_open Live streams (GET /v1/stream) open now.\n";
  out += "# TYPE daisy_streams_open gauge\n";
  out += fmt::format("daisy_streams_open {}\n", live.open());
  out += "# HELP daisy_stream_messages_total Messages published to the live streams.\n";
  out += "# TYPE daisy_stream_messages_total counter\n";
  out += fmt::format("daisy_stream_messages_total {}\n", live.published());
  out += "# HELP daisy_stream_resets_total Streams ended because they fell out of the ring of recent messages.\n";
  out += "# TYPE daisy_stream_resets_total counter\n";
  out += fmt::format("daisy_stream_resets_total {}\n", live.resets());
}

// The alerts' view of /readyz (deploy/prometheus/alerts.yml): whether the
// database answers, and whether writes go through as well.
void render_store_health(Store& store, std::string_view backend, std::string& out) {
  out += "# HELP daisy_store_up 1 when the database answers a trivial query (PostgreSQL: is reachable).\n";
  out += "# TYPE daisy_store_up gauge\n";
  bool up = store.answers();  // one query a scrape: ready is up and writing
  out += fmt::format("daisy_store_up{{backend=\"{}\"}} {}\n", backend, up ? 1 : 0);
  out += "# HELP daisy_ready 1 when GET /readyz answers 200: the database answers and writes go through.\n";
  out += "# TYPE daisy_ready gauge\n";
  out += fmt::format("daisy_ready{{backend=\"{}\"}} {}\n", backend, up && store.writes_go_through() ? 1 : 0);
}

// What a stop does first, on the thread that begins it: systemd hears of it,
// and the live streams end (so that draining does not wait for them).
// When the HTTP server begins to stop: the gRPC server too (`grpc`, set once
// it serves: null when it is off), so that both drain together and neither
// takes new work while the other finishes.
std::function<void()> on_stop_of(live::LiveBus& live, SystemdNotifier& systemd, rpc::RpcServer*& grpc) {
  return [&live, &systemd, &grpc] {
    systemd.stopping();
    live.close();
    if (grpc) grpc->begin_stop(rpc::RpcServer::stop_grace);
  };
}

// Nodes sharing a PostgreSQL database pass their live messages to each other
// (null with SQLite).
std::unique_ptr<PgLiveRelay> start_live_relay(const Config& config, live::LiveBus& live, Metrics& metrics) {
  if (!is_postgres(effective_db(config))) return nullptr;
  auto relay = std::make_unique<PgLiveRelay>(effective_db(config), live);
  relay->start();
  metrics.add_collector([&relay = *relay](std::string& out) { relay.render_metrics(out); });
  return relay;
}

// The process, the build, the disk and the store's health at each scrape.
void add_health_metrics(Metrics& metrics, const Config& config, Store& store) {
  metrics.add_collector([&config, &store](std::string& out) {
    render_process_metrics(out);
    render_build_info(out);
    render_data_dir_metrics(config.data_dir, out);
    render_store_health(store, is_postgres(effective_db(config)) ? "postgres" : "sqlite", out);
  });
}

// The line tests and operators wait for (the gRPC one comes before it), and
// the console's address for a person at a terminal.
void announce_listening(const Config& config, const http::ServerConfig& server_config, std::uint16_t port) {
  spdlog::info("msg=listening address={}:{} threads={} db={} version={}", server_config.host, port,
               server_config.threads, log_value(pg::redact(effective_db(config), effective_db(config))), DAISY_VERSION);
  print_console_url(server_config.host, port);
}

// The gRPC server of --grpc-listen, serving; null when it is off, nullopt
// (logged) when it cannot listen.
std::optional<std::unique_ptr<rpc::RpcServer>> grpc_server_of(const Config& config, const rpc::RpcContext& ctx,
                                                              Metrics& metrics) {
  if (config.grpc_listen == "off") return std::unique_ptr<rpc::RpcServer>();
  rpc::RpcSettings settings;
  if (!parse_listen(config.grpc_listen, settings.host, settings.port)) {
    spdlog::critical("msg=\"--grpc-listen must be host:port or off\" value={}", log_value(config.grpc_listen));
    return std::nullopt;
  }
  settings.threads = io_threads_of(config);
  settings.max_message_bytes = config.max_batch_body_bytes;
  auto server = std::make_unique<rpc::RpcServer>(settings, ctx);
  std::string error;
  auto port = server->start(error);
  if (!port) {
    spdlog::critical("msg=\"cannot start\" error={}", log_value(error));
    return std::nullopt;
  }
  spdlog::info("msg=\"grpc listening\" address={}:{}", settings.host, *port);
  metrics.add_collector([&grpc = *server](std::string& out) { grpc.render_metrics(out); });
  return server;
}

}  // namespace

int serve(const Config& config) {
  // A file-size limit (ulimit -f) must fail the write that crosses it, which
  // the store reports and /readyz shows, not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  std::optional<http::ServerConfig> server_config = server_config_of(config);
  if (!server_config) return 2;

  // The parts below are declared in the order they start, and each refers
  // only to parts above it (but for the metrics' collectors, called only by
  // the server's /metrics): so each is destroyed before what it uses, and an
  // early return tears down only what was built.
  std::string error;
  DataDirLock data_dir_lock = DataDirLock::acquire(config.data_dir, error);
  if (!data_dir_lock.held()) {
    spdlog::critical("msg=\"cannot start\" error={}", log_value(error));
    return 1;
  }
  Metrics metrics;
  live::LiveBus live(live_limits_of(config));
  metrics.add_collector([&live](std::string& out) { render_live_metrics(live, out); });
  std::unique_ptr<Store> store = open_serving_store(config, metrics);
  if (!store) return 1;
  add_health_metrics(metrics, config, *store);
  std::unique_ptr<PgLiveRelay> live_relay = start_live_relay(config, live, metrics);
  // Changes made through other nodes on the same database (none with SQLite):
  // what the loads below read is current up to this mark.
  ClusterSync cluster(*store, std::chrono::milliseconds(config.cluster_poll_ms));
  cluster.mark_current();
  Authenticator auth;
  if (!load_app_tokens(*store, auth)) return 1;

  forms::FormCache forms(*store, rule_limits_of(config));
  events::EventsState events;
  if (!load_events_state(config, *store, events)) return 1;
  metrics.add_collector([&events](std::string& out) { events.render_metrics(out); });
  feeds::FeedService feeds(*store, *store, feed_settings_of(config));
  feeds.set_live(&live);
  if (!feeds.start()) return 1;
  metrics.add_collector([&feeds](std::string& out) { feeds.render_metrics(out); });
  jobs::IntegrationRegistry integrations;
  if (!integrations.load(*store)) return 1;
  jobs::JobRunner job_runner(*store, integrations, job_runner_settings_of(config, *store));
  job_runner.set_live(&live);
  metrics.add_collector([&job_runner](std::string& out) { job_runner.render_metrics(out); });
  http::ReaderPool readers(reader_settings_of(config));
  metrics.add_collector([&readers](std::string& out) { readers.render_metrics(out); });
  KeyRateLimiter key_limits;
  api::ApiContext ctx{*store,
                      auth,
                      &metrics,
                      &forms,
                      &events,
                      &feeds,
                      &integrations,
                      &job_runner,
                      &readers,
                      &live,
                      std::chrono::milliseconds(config.stream_heartbeat_ms),
                      config.console_dir,
                      &key_limits};
  http::Router router;
  api::register_routes(router, ctx);
  metrics.set_routes(router.route_labels());
  http::Dispatcher dispatcher(router, auth, metrics, config.max_in_flight, &readers);
  server_config->live_wait = std::chrono::milliseconds(config.stream_heartbeat_ms) + std::chrono::seconds(30);
  SystemdNotifier systemd;
  rpc::RpcServer* grpc_to_stop = nullptr;  // on_stop runs only within server.run(), once it is set
  server_config->on_stop = on_stop_of(live, systemd, grpc_to_stop);
  http::Server server(*server_config, dispatcher, metrics);
  std::optional<std::uint16_t> port = listen_port(server);
  if (!port) return 1;
  // The admin token is established once the port is ours, so that a start
  // that cannot listen never generates (and loses) a token; connections wait
  // in the backlog until server.run() below.
  if (!establish_admin(config, *store, auth)) return 1;
  auto grpc = grpc_server_of(
      config, {*store, auth, forms, events, &integrations, &job_runner, &live, config.max_in_flight}, metrics);
  if (!grpc) return 1;
  grpc_to_stop = grpc->get();
  announce_listening(config, *server_config, *port);
  job_runner.set_callback_base(callback_base_of(config, *server_config, *port));
  job_runner.start();
  follow_other_nodes(cluster, *store, auth, forms, events, integrations, feeds);
  cluster.start();
  Retention retention(*store, *store, retention_settings_of(config, *store));
  start_retention(retention, metrics);
  MemoryReleaser memory;
  systemd.ready(fmt::format("serving on {}:{}", server_config->host, *port),
                [&server](std::chrono::milliseconds max_age) { return server.responsive(max_age); });

  server.run();
  systemd.stop_watchdog();
  grpc->reset();
  readers.stop();
  stop_and_close(cluster, retention, feeds, job_runner, *store);
  return 0;
}

}  // namespace daisy
