#pragma once
// An organisation's Lua code, run by Daisy: script actions (`function
// run(record, ctx)`) and payload transforms (`function transform(payload,
// ctx)`), in the sandbox of rules (sandbox.h) with their own budgets.
//
// Each run executes the chunk in a fresh environment (so globals never
// outlive a run), then calls the entry function with the record (as Lua
// tables) and `ctx`:
// - ctx.data: the integration's lookup tables (JSON, read-only; converted to
//   Lua as they are read, so a large table costs only what a run reads);
// - ctx.log(...): its arguments joined by spaces, one line (bounded);
// - ctx.http.request{method, url, headers, json|body, timeout_ms}: through
//   the caller's ScriptHttp, to the allowed hosts only; answers {status,
//   headers, body, json} ({status = 0, error} when no answer came);
// - ctx.integration_id, ctx.trigger.
// What the entry returns becomes JSON (tables with keys 1..n are arrays).
//
// Runs are blocking (an HTTP call waits on the calling thread): callers run
// them on a worker pool, never on an I/O thread, except run_quickly's, which
// cannot block. Thread-safe; prepared states are pooled per Script.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace daisy {

template <class State>
class SandboxPool;
enum class Exhausted;

struct ScriptLimits {
  std::size_t instructions = 1'000'000;         // per run: tens of milliseconds at most
  std::size_t memory_bytes = 16 * 1024 * 1024;  // per Lua state
  std::chrono::milliseconds time{2000};         // a run's wall time, its HTTP calls included
  std::size_t max_http_calls = 10;              // per run
  std::size_t max_log_lines = 100;              // per run, each cut at 1,000 bytes
  std::size_t max_output_bytes = 256 * 1024;    // the returned value as JSON text
};

struct ScriptHttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
};

struct ScriptHttpResponse {
  long status = 0;  // 0: no answer (error says why)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string error;
};

// Makes one request and waits for its end; called on the run's thread.
using ScriptHttp = std::function<ScriptHttpResponse(const ScriptHttpRequest&)>;

// What one run is given besides the record.
struct ScriptCall {
  ScriptHttp http;  // empty: ctx.http.request fails
  std::vector<std::string> allowed_hosts;
  std::string integration_id;
  std::string trigger;
};

struct ScriptRun {
  bool ok = false;
  boost::json::value output;  // what the entry returned (null for nil)
  std::string error;          // when !ok: the message, with the line ("script:4: ...")
  std::vector<std::string> logs;
  std::size_t instructions = 0;  // counted in steps of 1,000
  std::size_t memory_bytes = 0;  // the state's peak during the run
  std::size_t http_calls = 0;
  double ms = 0;

  // {output, logs, cost: {instructions, memory_bytes, http_calls, ms}}, and error when failed.
  boost::json::object to_json() const;
};

class Script {
 public:
  // Compiles `code` and runs its top level once, which must define the
  // function `entry` ("run" or "transform"). The error names the line.
  static std::variant<std::shared_ptr<const Script>, std::string> compile(std::string code, std::string entry,
                                                                          boost::json::value data,
                                                                          ScriptLimits limits = {});
  ~Script();

  ScriptRun run(const boost::json::value& record, const ScriptCall& call) const;

  // The same run on the caller's thread (an I/O thread's), when it is short:
  // at most quick_instructions and quick_time, and no HTTP call. A run that
  // would do more is stopped there and nullopt returned, with nothing of it
  // kept (its log lines included); the caller then run()s it in full on a
  // worker. Most lookups fit, and save two thread hand-overs.
  std::optional<ScriptRun> run_quickly(const boost::json::value& record, const ScriptCall& call) const;
  static constexpr std::size_t quick_instructions = 20'000;
  static constexpr std::chrono::microseconds quick_time{1000};

  const ScriptLimits& limits() const { return limits_; }

  struct State;  // a prepared sandbox; defined in script.cpp

 private:
  Script(std::string code, std::string entry, boost::json::value data, ScriptLimits limits);
  std::unique_ptr<State> acquire(std::string* error) const;
  void release(std::unique_ptr<State> state) const;
  // A run with these budgets; `quick`: stopped (Exhausted::slice) by an HTTP call.
  ScriptRun execute(const boost::json::value& record, const ScriptCall& call, std::size_t instructions,
                    std::chrono::steady_clock::duration time, bool quick, Exhausted& exhausted) const;

  std::string code_;
  std::string entry_;
  boost::json::value data_;
  ScriptLimits limits_;
  std::unique_ptr<SandboxPool<State>> pool_;
};

}  // namespace daisy
