// The daisy command line: serve, migrate, check, backup, admin-token, version.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "observability/log_format.h"
#include "runtime/backup_command.h"
#include "runtime/config.h"
#include "runtime/daisy_server.h"

namespace {

void setup_logging(const std::string& level, const std::string& format) {
  daisy::set_log_format(format == "json" ? daisy::LogFormat::json : daisy::LogFormat::logfmt);
  auto logger = spdlog::stderr_logger_mt("daisy");
  logger->set_formatter(daisy::make_log_formatter());
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void add_store_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--data-dir", c.data_dir, "Directory for the embedded database")
      ->envname("DAISY_DATA_DIR")
      ->capture_default_str();
  cmd.add_option("--db", c.db,
                 "Database: sqlite:<path> (default sqlite:<data-dir>/daisy.db), "
                 "postgres://user:password@host:port/dbname or a libpq keyword string")
      ->envname("DAISY_DB");
  cmd.add_option("--sqlite-synchronous", c.sqlite_synchronous,
                 "full: acknowledged writes survive power loss; normal: they survive a crash")
      ->envname("DAISY_SQLITE_SYNCHRONOUS")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  cmd.add_option("--log-level", c.log_level, "trace, debug, info, warn, error")
      ->envname("DAISY_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  cmd.add_option("--log-format", c.log_format,
                 "logfmt (key=value) or json (one object per line, for log shippers); access lines too")
      ->envname("DAISY_LOG_FORMAT")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();
}

// The HTTP endpoint: where it listens, who administers it, how much a request
// may carry.
void add_listen_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--listen", c.listen, "Address to listen on, host:port (port 0: any free port)")
      ->envname("DAISY_LISTEN")
      ->capture_default_str();
  cmd.add_option("--grpc-listen", c.grpc_listen,
                 "Address of the gRPC interface, host:port (port 0: any free port), or off")
      ->envname("DAISY_GRPC_LISTEN")
      ->capture_default_str();
  cmd.add_option("--admin-token", c.admin_token,
                 "Admin token (at least 16 characters); without it one is generated on first start")
      ->envname("DAISY_ADMIN_TOKEN");
  cmd.add_option("--threads", c.threads, "I/O threads (default: one per core)")
      ->envname("DAISY_THREADS")
      ->check(CLI::Range(0u, 256u));
  cmd.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body")
      ->envname("DAISY_MAX_BODY_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd.add_option("--max-batch-body-bytes", c.max_batch_body_bytes, "Largest request body on batch endpoints")
      ->envname("DAISY_MAX_BATCH_BODY_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd.add_option("--max-header-bytes", c.max_header_bytes, "Largest request header")
      ->envname("DAISY_MAX_HEADER_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20))
      ->capture_default_str();
}

void add_event_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--event-max-skew", c.event_max_skew_seconds,
                 "Seconds an event's timestamp may be ahead of the server's clock")
      ->envname("DAISY_EVENT_MAX_SKEW")
      ->check(CLI::Range(0u, 86'400u))
      ->capture_default_str();
  cmd.add_option("--event-rejections-cap", c.event_rejections_cap,
                 "Rejected events kept for monitoring; the oldest are dropped beyond it")
      ->envname("DAISY_EVENT_REJECTIONS_CAP")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
      ->capture_default_str();
  cmd.add_option("--event-index-delay-ms", c.event_index_delay_ms,
                 "Longest time new events' index entries are held in memory before being written in bulk "
                 "(queries see them either way)")
      ->envname("DAISY_EVENT_INDEX_DELAY_MS")
      ->check(CLI::Range(0u, 3'600'000u))
      ->capture_default_str();
}

// The work beyond requests: integrations' callbacks, jobs, other nodes and
// what outbound calls may reach.
void add_background_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--public-url", c.public_url,
                 "This server's URL as the microservices of redis integrations reach it, for their callbacks "
                 "(default: http://<listen address>)")
      ->envname("DAISY_PUBLIC_URL")
      ->check([](const std::string& url) {
        return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0
                   ? std::string()
                   : std::string("must be an http:// or https:// URL");
      });
  cmd.add_option("--job-lease-ms", c.job_lease_ms,
                 "How long a claimed job is held: a job whose node died is taken up by another node once this "
                 "has passed (a node restarted with the same data dir takes its own back at once)")
      ->envname("DAISY_JOB_LEASE_MS")
      ->check(CLI::Range(1000u, 86'400'000u))
      ->capture_default_str();
  cmd.add_option("--cluster-poll-ms", c.cluster_poll_ms,
                 "PostgreSQL: how often to look for changes made through other nodes (tokens, forms, event types, "
                 "integrations, providers)")
      ->envname("DAISY_CLUSTER_POLL_MS")
      ->check(CLI::Range(100u, 60'000u))
      ->capture_default_str();
  cmd.add_flag("--allow-private-targets", c.allow_private_targets,
               "Let provider pulls, webhooks and Redis integrations reach loopback, private and link-local addresses "
               "(refused by default)")
      ->envname("DAISY_ALLOW_PRIVATE_TARGETS");
  cmd.add_option("--feed-max-bytes", c.feed_max_bytes,
                 "Largest provider response a pull accepts (json/daisy: all its pages together)")
      ->envname("DAISY_FEED_MAX_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{4} << 30))
      ->capture_default_str();
}

// How long records are kept (runtime/retention.h).
void add_retention_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--event-retention-days", c.event_retention_days,
                 "Delete events received more than this many days ago (0: keep them for ever)")
      ->envname("DAISY_EVENT_RETENTION_DAYS")
      ->check(CLI::Range(0u, 36'500u))
      ->capture_default_str();
  cmd.add_option("--response-retention-days", c.response_retention_days,
                 "Delete responses last changed more than this many days ago, with their revisions and jobs "
                 "(0: keep them for ever)")
      ->envname("DAISY_RESPONSE_RETENTION_DAYS")
      ->check(CLI::Range(0u, 36'500u))
      ->capture_default_str();
  cmd.add_option("--job-retention-days", c.job_retention_days,
                 "Delete jobs that ended (succeeded, dead, cancelled) more than this many days ago, with their "
                 "attempts (0: keep them for ever)")
      ->envname("DAISY_JOB_RETENTION_DAYS")
      ->check(CLI::Range(0u, 36'500u))
      ->capture_default_str();
  cmd.add_option("--retention-interval", c.retention_interval_seconds,
                 "Seconds between two retention passes (the first runs at start-up)")
      ->envname("DAISY_RETENTION_INTERVAL")
      ->check(CLI::Range(1u, 86'400u))
      ->capture_default_str();
}

// How much load the server takes, and for how long requests, rules and a
// shutdown may run.
void add_load_options(CLI::App& cmd, daisy::Config& c) {
  cmd.add_option("--max-in-flight", c.max_in_flight, "Requests handled at once; beyond it 503 with Retry-After")
      ->envname("DAISY_MAX_IN_FLIGHT")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd.add_option("--max-streams", c.max_streams, "Live streams (GET /v1/stream) open at once; beyond it 503")
      ->envname("DAISY_MAX_STREAMS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd.add_option("--stream-ring", c.stream_ring_messages,
                 "Recent stream messages held in memory: how far a stream may fall behind, and how far back "
                 "Last-Event-ID resumes")
      ->envname("DAISY_STREAM_RING")
      ->check(CLI::Range(std::size_t{100}, std::size_t{10'000'000}))
      ->capture_default_str();
  cmd.add_option("--stream-heartbeat-ms", c.stream_heartbeat_ms,
                 "A quiet live stream gets a heartbeat comment this often")
      ->envname("DAISY_STREAM_HEARTBEAT_MS")
      ->check(CLI::Range(100u, 600'000u))
      ->capture_default_str();
  cmd.add_option("--console-dir", c.console_dir,
                 "Serve the console (/ui, /docs) from this directory, read on each request (developing web/console), "
                 "instead of the files built into the binary")
      ->envname("DAISY_CONSOLE_DIR")
      ->check(CLI::ExistingDirectory);
  cmd.add_option("--reader-threads", c.reader_threads,
                 "Threads that run heavy reads (listings, queries, exports); 0: one per core")
      ->envname("DAISY_READER_THREADS")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  cmd.add_option("--reader-queue", c.reader_queue, "Heavy reads waiting for a reader at most; beyond it 503")
      ->envname("DAISY_READER_QUEUE")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd.add_option("--reader-wait-ms", c.reader_wait_ms,
                 "Longest a heavy read waits for a reader; past it 503 without running it")
      ->envname("DAISY_READER_WAIT_MS")
      ->check(CLI::Range(1u, 600'000u))
      ->capture_default_str();
  cmd.add_option("--max-connections", c.max_connections, "Open client connections at most")
      ->envname("DAISY_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str();
  cmd.add_option("--header-timeout-ms", c.header_timeout_ms,
                 "Time allowed from a request's first byte to the end of its header")
      ->envname("DAISY_HEADER_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--body-timeout-ms", c.body_timeout_ms, "Time allowed to receive a body")
      ->envname("DAISY_BODY_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--idle-timeout-ms", c.idle_timeout_ms, "Keep-alive wait for the next request")
      ->envname("DAISY_IDLE_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--write-timeout-ms", c.write_timeout_ms, "Time allowed to send one reply")
      ->envname("DAISY_WRITE_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--rule-time-budget-ms", c.rule_time_budget_ms,
                 "Wall time for all the rules of one submission (a backstop: instruction and memory budgets "
                 "stop a runaway rule first)")
      ->envname("DAISY_RULE_TIME_BUDGET_MS")
      ->check(CLI::Range(1u, 60'000u))
      ->capture_default_str();
  cmd.add_option("--shutdown-grace-ms", c.shutdown_grace_ms,
                 "On SIGTERM/SIGINT: in-flight requests may finish within it; the process ends when it has passed")
      ->envname("DAISY_SHUTDOWN_GRACE_MS")
      ->capture_default_str();
}

// The commands, owned by the app they were added to.
struct Commands {
  CLI::App* serve = nullptr;
  CLI::App* migrate = nullptr;
  CLI::App* check = nullptr;
  CLI::App* backup = nullptr;
  CLI::App* admin_token = nullptr;
  CLI::App* version = nullptr;
};

// Adds every command to app. Their options write to config, admin-token's
// --reset to reset and backup's --to to backup_to: all must outlive parsing.
Commands add_commands(CLI::App& app, daisy::Config& config, bool& reset, std::string& backup_to) {
  Commands commands;
  commands.serve = app.add_subcommand("serve", "Run the HTTP server");
  add_store_options(*commands.serve, config);
  add_listen_options(*commands.serve, config);
  add_event_options(*commands.serve, config);
  add_background_options(*commands.serve, config);
  add_retention_options(*commands.serve, config);
  add_load_options(*commands.serve, config);

  commands.migrate = app.add_subcommand("migrate", "Apply pending database migrations and exit");
  add_store_options(*commands.migrate, config);

  commands.check = app.add_subcommand(
      "check", "Check the SQLite database page by page (PRAGMA integrity_check); exit 0 when it is sound");
  add_store_options(*commands.check, config);

  commands.backup = app.add_subcommand(
      "backup",
      "Copy the SQLite database to a new file while a server may be writing to it (a consistent snapshot); "
      "restore by putting the file as daisy.db in an empty data dir");
  add_store_options(*commands.backup, config);
  commands.backup->add_option("--to", backup_to, "The backup file to create (refused if it exists)")->required();

  commands.admin_token = app.add_subcommand(
      "admin-token", "With --reset: make a new admin token, store its hash and print it (the old one stops working)");
  add_store_options(*commands.admin_token, config);
  commands.admin_token->add_flag("--reset", reset, "Replace the admin token (stop the server first on SQLite)")
      ->required();

  commands.version = app.add_subcommand("version", "Print the version and exit");
  return commands;
}

// Runs the command the parsed app names and returns its exit code; when it
// names none, prints the help and returns 2.
int run_command(const CLI::App& app, const Commands& commands, const daisy::Config& config,
                const std::string& backup_to) {
  if (app.get_subcommands().empty()) {
    std::fprintf(stderr, "%s\ndaisy: name a command (serve, migrate, check, backup, admin-token, version)\n",
                 app.help().c_str());
    return 2;
  }

  if (commands.version->parsed()) {
    std::printf("daisy %s\n", DAISY_VERSION);
    return 0;
  }
  setup_logging(config.log_level, config.log_format);
  if (commands.serve->parsed()) return daisy::serve(config);
  if (commands.migrate->parsed()) return daisy::migrate(config);
  if (commands.check->parsed()) return daisy::check(config);
  if (commands.backup->parsed()) return daisy::backup(config, backup_to);
  if (commands.admin_token->parsed()) return daisy::reset_admin_token(config);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Daisy: collect data, store it durably, act on it.", "daisy"};
  // At most one command; none is reported after parsing, so that an unknown
  // flag is named as such rather than as a missing command.
  app.require_subcommand(0, 1);
  app.set_version_flag("-V,--version", std::string("daisy ") + DAISY_VERSION);
  daisy::Config config;
  bool reset = false;
  std::string backup_to;
  Commands commands = add_commands(app, config, reset, backup_to);

  CLI11_PARSE(app, argc, argv);
  return run_command(app, commands, config, backup_to);
}
