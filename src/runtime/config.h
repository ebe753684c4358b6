#pragma once
// Everything `daisy serve` can be told, with its defaults. Filled from flags
// and DAISY_* environment variables by the command line in main.cpp.

#include <string>

#include "http/server.h"

namespace daisy {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string grpc_listen = "127.0.0.1:9090";  // "off": no gRPC server
  std::string data_dir = "./daisy-data";
  std::string db;  // default: sqlite:<data_dir>/daisy.db
  std::string admin_token;
  unsigned threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_batch_body_bytes = 16 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_in_flight = 4096;
  std::size_t max_connections = 10'000;
  // The readers (http/reader_pool.h): threads (0: one per core), queue bound
  // and longest wait in the queue.
  unsigned reader_threads = 0;
  std::size_t reader_queue = 64;
  unsigned reader_wait_ms = 2000;
  unsigned header_timeout_ms = 10'000;
  unsigned body_timeout_ms = 30'000;
  unsigned idle_timeout_ms = 60'000;
  unsigned write_timeout_ms = 30'000;
  unsigned shutdown_grace_ms = 15'000;
  std::string sqlite_synchronous = "full";     // full | normal
  unsigned event_max_skew_seconds = 60;        // how far in the future an event's timestamp may be
  std::size_t event_rejections_cap = 100'000;  // rejected events kept
  unsigned event_index_delay_ms = 1000;        // longest an event's index entries wait in memory
  // This server's URL as the microservices of redis integrations reach it
  // (their callbacks); empty: http://<listen address>.
  std::string public_url;
  bool allow_private_targets = false;       // provider pulls and webhooks may reach internal addresses
  std::size_t feed_max_bytes = 256u << 20;  // largest provider response
  std::string log_level = "info";
  std::string log_format = "logfmt";  // or json
  // Wall time for all the rules of one submission (the instruction and memory
  // budgets usually stop a runaway rule first).
  unsigned rule_time_budget_ms = 250;
  // How long a job runner's claim holds a job: a node that dies holding it,
  // its job is taken up by another (or itself, restarted) once this passes.
  unsigned job_lease_ms = 600'000;
  // How often a node looks for changes made through other nodes sharing its
  // PostgreSQL database (app tokens, forms, event types, integrations, providers).
  unsigned cluster_poll_ms = 1000;
  // Live streams (GET /v1/stream): how many may be open, how many recent
  // messages the server holds for slow readers and resumes, and how long a
  // quiet stream waits before a heartbeat comment.
  std::size_t max_streams = 2000;
  std::size_t stream_ring_messages = 10000;
  unsigned stream_heartbeat_ms = 15000;
  // Retention (runtime/retention.h), in days; 0: kept for ever. Jobs: the
  // ended ones (succeeded, dead, cancelled), with their attempts.
  unsigned event_retention_days = 0;
  unsigned response_retention_days = 0;
  unsigned job_retention_days = 30;
  unsigned retention_interval_seconds = 600;  // between two passes
  // Non-empty: the console's files are read from here instead of the binary.
  std::string console_dir;
};

// The database location after defaults: "sqlite:<path>", or a PostgreSQL
// connection string.
std::string effective_db(const Config& config);

// Splits host:port (also [v6]:port). Returns false when malformed.
bool parse_listen(const std::string& listen, std::string& host, unsigned short& port);

}  // namespace daisy
