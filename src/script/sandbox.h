#pragma once
// The Lua 5.4 sandbox that rules (rule_engine.h) and scripts (script.h) run
// in: one lua_State with its budgets.
//
// What code can reach: only the base library (minus load, loadstring, dofile,
// loadfile, require, collectgarbage, print, rawset, warn), string (minus dump
// and the pattern functions find, match, gmatch and gsub, which backtrack in
// C beyond the reach of the instruction count), table, math and utf8, all
// read-only; text chunks only. Library calls whose C loops the hook cannot
// see are guarded: string.rep is capped by the memory limit, the table
// functions by a length, and setmetatable refuses __gc (finalizers run with
// hooks off).
//
// Budgets: instructions and wall time (arm), memory per state. A budget that
// runs out stops the code whatever it is running (xpcall message handlers,
// pcall in a loop, metamethods, table.sort callbacks): from then on every
// instruction fails and no message handler is called.

// Debian's lua5.4-c++ build: the API has C++ linkage and Lua errors unwind as
// C++ exceptions, so these headers are included without extern "C".
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace daisy {

// Which budget ran out, if any. `slice`: a quick run (Script::run_quickly)
// left what it may do on the caller's thread.
enum class Exhausted { none, instructions, time, slice };

class Sandbox {
 public:
  Sandbox() = default;
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // Makes the state with the libraries above; false when it cannot.
  bool open(std::size_t memory_bytes);
  // Starts counting a run: at most `budget` instructions, until `deadline`.
  void arm(std::size_t budget, std::chrono::steady_clock::time_point deadline);
  // Ends a run's count; which budget ran out during it.
  Exhausted disarm();
  // Stops the run now, as a budget that runs out does: the protected call
  // fails, and nothing the code does (pcall included) carries on.
  [[noreturn]] void stop(Exhausted why);

  lua_State* L = nullptr;
  std::size_t used = 0;  // bytes the state holds now
  std::size_t peak = 0;  // the most it held since arm()
  std::size_t memory_limit = 0;
  std::size_t instructions = 0;  // counted since arm(), in steps of the hook
  std::size_t budget = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  Exhausted exhausted = Exhausted::none;

  // Every name code can reach in a fresh sandbox: globals, and "lib.name"
  // for the members of each library table.
  static std::vector<std::string> reachable_names();

 private:
  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize);
  static void count_hook(lua_State* L, lua_Debug* debug);
};

// Prepared states of one kind (the rules of one form, one script), kept
// between runs: taking one costs nothing, making one costs a state and a
// compile. A state left holding more than half its memory limit after a
// full collection is dropped instead of kept.
template <class State>  // derived from Sandbox
class SandboxPool {
 public:
  explicit SandboxPool(std::size_t max_idle) : max_idle_(max_idle) {}
  // An idle state, or null when none is.
  std::unique_ptr<State> take() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return nullptr;
    auto state = std::move(idle_.back());
    idle_.pop_back();
    return state;
  }
  void give_back(std::unique_ptr<State> state) {
    if (!state) return;
    if (state->used > state->memory_limit / 2) {
      lua_gc(state->L, LUA_GCCOLLECT);
      if (state->used > state->memory_limit / 2) return;
    }
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(state));
  }

 private:
  std::size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<State>> idle_;
};

// Pushes a fresh environment for one run: its reads fall back to the
// shared globals (which stay out of reach: no __metatable), its writes stay
// in it, and its _G is itself. `meta` caches the metatable's registry
// reference (LUA_NOREF at first).
void push_run_environment(lua_State* L, int& meta);

// The message of a failed protected call (its error object on the top of
// the stack), or the budget that ran out.
std::string sandbox_error_text(lua_State* L, int rc, Exhausted exhausted = Exhausted::none);

// Pushes a JSON value as Lua values (objects and arrays as tables, null as
// nil); deeper than 16 levels is nil.
void push_json(lua_State* L, const boost::json::value& v, int depth = 0);

// The Lua value at `index` as JSON: a table whose keys are 1..n is an array,
// other tables objects (keys must be strings or numbers); functions and other
// userdata are refused. Nullopt with `error` set when it cannot be.
std::optional<boost::json::value> to_json(lua_State* L, int index, std::string& error);

}  // namespace daisy
