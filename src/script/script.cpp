#include "script/script.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

#include "script/sandbox.h"
#include "util/utf8.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr std::size_t max_idle_states = 8;
constexpr std::size_t max_log_line_bytes = 1000;
constexpr std::int64_t max_http_timeout_ms = 30000;
constexpr const char* chunk_name = "=script";

// What a run in progress is given and what it gathers; the ctx functions
// reach it through their state, and only while the run lasts.
struct RunContext {
  const ScriptCall* call = nullptr;
  const ScriptLimits* limits = nullptr;
  const json::value* data = nullptr;
  const json::value* record = nullptr;
  const std::string* entry = nullptr;
  ScriptRun* run = nullptr;
  std::size_t dropped_logs = 0;
  bool quick = false;  // on an I/O thread: an HTTP call stops the run (Exhausted::slice)
};

}  // namespace

struct Script::State : Sandbox {
  int chunk_ref = LUA_NOREF;
  int env_meta = LUA_NOREF;
  // What every run's ctx shares, made at the first run: {data, log, request}.
  // The data proxies are read-only and keep what they converted (weakly), so
  // later runs of this state read it without converting it again.
  int shared_ctx = LUA_NOREF;
  RunContext* current = nullptr;  // null between runs
};

namespace {

// The state of a ctx function's run (its upvalue 1).
Script::State& state_of(lua_State* L) { return *static_cast<Script::State*>(lua_touserdata(L, lua_upvalueindex(1))); }

RunContext& context_of(lua_State* L) {
  Script::State& state = state_of(L);
  if (!state.current) luaL_error(L, "ctx is only valid during its run");
  return *state.current;
}

int refuse_data_write(lua_State* L) { return luaL_error(L, "ctx.data is read-only"); }

void push_data(lua_State* L, const json::value& v);

// ctx.data's tables: empty proxies whose __index converts what is read (upvalue
// 1: the JSON node, 2: a cache of what was converted).
int data_index(lua_State* L) {
  const auto* node = static_cast<const json::value*>(lua_touserdata(L, lua_upvalueindex(1)));
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  const json::value* child = nullptr;
  if (node->is_object() && lua_type(L, 2) == LUA_TSTRING) {
    std::size_t n = 0;
    const char* key = lua_tolstring(L, 2, &n);
    child = node->get_object().if_contains(std::string_view(key, n));
  } else if (node->is_array() && lua_isinteger(L, 2)) {
    lua_Integer i = lua_tointeger(L, 2);
    const auto& a = node->get_array();
    if (i >= 1 && static_cast<std::size_t>(i) <= a.size()) child = &a[static_cast<std::size_t>(i - 1)];
  }
  if (!child) return 0;
  push_data(L, *child);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, lua_upvalueindex(2));
  return 1;
}

int data_length(lua_State* L) {
  const auto* node = static_cast<const json::value*>(lua_touserdata(L, lua_upvalueindex(1)));
  lua_pushinteger(L, node->is_array() ? static_cast<lua_Integer>(node->get_array().size()) : 0);
  return 1;
}

// The iterator of pairs(ctx.data...): upvalue 1 the node, 2 the position.
int data_next(lua_State* L) {
  const auto* node = static_cast<const json::value*>(lua_touserdata(L, lua_upvalueindex(1)));
  lua_Integer position = lua_tointeger(L, lua_upvalueindex(2));
  std::size_t size = node->is_object() ? node->get_object().size() : node->get_array().size();
  if (position < 0 || static_cast<std::size_t>(position) >= size) return 0;
  if (node->is_object()) {
    auto key = (node->get_object().begin() + position)->key();
    lua_pushlstring(L, key.data(), key.size());
  } else {
    lua_pushinteger(L, position + 1);
  }
  lua_pushinteger(L, position + 1);
  lua_replace(L, lua_upvalueindex(2));
  lua_pushvalue(L, -1);
  lua_gettable(L, 1);  // through data_index
  return 2;
}

int data_pairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, &data_next, 2);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void push_data(lua_State* L, const json::value& v) {
  if (!v.is_structured()) {
    push_json(L, v);
    return;
  }
  luaL_checkstack(L, 6, "ctx.data nested too deeply");
  void* node = const_cast<json::value*>(&v);  // read only: the closures never write through it
  lua_newtable(L);                            // the proxy, empty for ever
  lua_createtable(L, 0, 5);
  lua_pushlightuserdata(L, node);
  lua_newtable(L);  // the cache, weak-valued: a collection may drop what no run holds
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "v");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_pushcclosure(L, &data_index, 2);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, &refuse_data_write);
  lua_setfield(L, -2, "__newindex");
  lua_pushlightuserdata(L, node);
  lua_pushcclosure(L, &data_length, 1);
  lua_setfield(L, -2, "__len");
  lua_pushlightuserdata(L, node);
  lua_pushcclosure(L, &data_pairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

int ctx_log(lua_State* L) {
  RunContext& ctx = context_of(L);
  int n = lua_gettop(L);
  std::string line;
  for (int i = 1; i <= n && line.size() < max_log_line_bytes; ++i) {
    std::size_t length = 0;
    const char* text = luaL_tolstring(L, i, &length);
    if (i > 1) line += ' ';
    line.append(text, std::min(length, max_log_line_bytes));
    lua_pop(L, 1);
  }
  if (ctx.run->logs.size() >= ctx.limits->max_log_lines) {
    ++ctx.dropped_logs;
    return 0;
  }
  std::replace_if(
      line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  ctx.run->logs.push_back(sanitize_utf8(utf8_prefix(line, max_log_line_bytes)));
  return 0;
}

// The host of an http(s) URL, lower-cased; "" when the URL is not one.
std::string host_of(std::string_view url) {
  std::size_t start = 0;
  if (url.rfind("https://", 0) == 0) {
    start = 8;
  } else if (url.rfind("http://", 0) == 0) {
    start = 7;
  } else {
    return {};
  }
  std::string_view authority = url.substr(start, url.find_first_of("/?#", start) - start);
  if (authority.find('@') != std::string_view::npos) return {};  // credentials in a URL hide the host
  std::string_view host = authority;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  std::string lower(host);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

std::string string_field(lua_State* L, int table, const char* name, const char* fallback) {
  lua_getfield(L, table, name);
  std::string value = fallback;
  if (lua_type(L, -1) == LUA_TSTRING) {
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    value.assign(s, n);
  } else if (!lua_isnil(L, -1)) {
    luaL_error(L, "ctx.http.request: %s must be a string", name);
  }
  lua_pop(L, 1);
  return value;
}

ScriptHttpRequest read_http_request(lua_State* L, const RunContext& ctx) {
  luaL_checktype(L, 1, LUA_TTABLE);
  ScriptHttpRequest request;
  request.method = string_field(L, 1, "method", "GET");
  std::transform(request.method.begin(), request.method.end(), request.method.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  static const std::vector<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::find(methods.begin(), methods.end(), request.method) == methods.end()) {
    luaL_error(L, "ctx.http.request: method must be GET, POST, PUT, PATCH or DELETE");
  }
  request.url = string_field(L, 1, "url", "");
  std::string host = host_of(request.url);
  if (host.empty()) luaL_error(L, "ctx.http.request: url must be an http:// or https:// URL");
  const auto& allowed = ctx.call->allowed_hosts;
  if (std::find(allowed.begin(), allowed.end(), host) == allowed.end()) {
    luaL_error(L, "ctx.http.request: %s is not in the integration's allowed_hosts", host.c_str());
  }
  if (lua_getfield(L, 1, "headers") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        luaL_error(L, "ctx.http.request: headers must map names to strings");
      }
      std::string name = lua_tostring(L, -2), value = lua_tostring(L, -1);
      if ((name + value).find_first_of("\r\n") != std::string::npos) {
        luaL_error(L, "ctx.http.request: a header holds a line break");
      }
      request.headers.emplace_back(std::move(name), std::move(value));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "json") != LUA_TNIL) {
    std::string error;
    auto body = to_json(L, -1, error);
    if (!body) luaL_error(L, "ctx.http.request: json cannot be sent: %s", error.c_str());
    request.body = json::serialize(*body);
    request.headers.emplace_back("Content-Type", "application/json");
  } else {
    request.body = string_field(L, 1, "body", "");
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "timeout_ms");
  lua_Integer timeout = lua_isnil(L, -1) ? 5000 : luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  request.timeout = std::chrono::milliseconds(std::clamp<lua_Integer>(timeout, 1, max_http_timeout_ms));
  return request;
}

void push_http_response(lua_State* L, const ScriptHttpResponse& response) {
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, response.status);
  lua_setfield(L, -2, "status");
  lua_createtable(L, 0, static_cast<int>(response.headers.size()));
  for (const auto& [name, value] : response.headers) {
    lua_pushlstring(L, value.data(), value.size());
    lua_setfield(L, -2, name.c_str());
  }
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, response.body.data(), response.body.size());
  lua_setfield(L, -2, "body");
  if (!response.body.empty()) {
    json::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (!ec) {
      push_json(L, parsed);
      lua_setfield(L, -2, "json");
    }
  }
  if (!response.error.empty()) {
    lua_pushlstring(L, response.error.data(), response.error.size());
    lua_setfield(L, -2, "error");
  }
}

int ctx_http_request(lua_State* L) {
  RunContext& ctx = context_of(L);
  if (ctx.quick) state_of(L).stop(Exhausted::slice);
  if (!ctx.call->http) return luaL_error(L, "ctx.http.request: this run cannot make HTTP requests");
  if (ctx.run->http_calls >= ctx.limits->max_http_calls) {
    return luaL_error(L, "ctx.http.request: more than %d requests in one run", int(ctx.limits->max_http_calls));
  }
  ScriptHttpRequest request = read_http_request(L, ctx);
  auto left = state_of(L).deadline - std::chrono::steady_clock::now();
  auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(left);
  if (left_ms.count() <= 0) return luaL_error(L, "exceeded its time budget");
  request.timeout = std::min(request.timeout, left_ms);
  ++ctx.run->http_calls;
  ScriptHttpResponse response = ctx.call->http(request);
  push_http_response(L, response);
  return 1;
}

void push_ctx(lua_State* L, Script::State* state, const RunContext& ctx) {
  if (state->shared_ctx == LUA_NOREF) {
    lua_createtable(L, 0, 3);
    push_data(L, *ctx.data);
    lua_setfield(L, -2, "data");
    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, &ctx_log, 1);
    lua_setfield(L, -2, "log");
    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, &ctx_http_request, 1);
    lua_setfield(L, -2, "request");
    state->shared_ctx = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  // ctx and ctx.http are fresh tables, so that what a run writes in them
  // never reaches the next run.
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->shared_ctx);
  int shared = lua_gettop(L);
  lua_createtable(L, 0, 5);
  lua_getfield(L, shared, "data");
  lua_setfield(L, -2, "data");
  lua_getfield(L, shared, "log");
  lua_setfield(L, -2, "log");
  lua_createtable(L, 0, 1);
  lua_getfield(L, shared, "request");
  lua_setfield(L, -2, "request");
  lua_setfield(L, -2, "http");
  lua_pushstring(L, ctx.call->integration_id.c_str());
  lua_setfield(L, -2, "integration_id");
  lua_pushstring(L, ctx.call->trigger.c_str());
  lua_setfield(L, -2, "trigger");
  lua_remove(L, shared);
}

// Runs inside lua_pcall (argument 1: the State): the chunk in a fresh
// environment, then the entry with the record and ctx (when there is a run).
int run_entry(lua_State* L) {
  auto* state = static_cast<Script::State*>(lua_touserdata(L, 1));
  RunContext& ctx = *state->current;
  push_run_environment(L, state->env_meta);
  int env = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->chunk_ref);
  lua_pushvalue(L, env);
  lua_setupvalue(L, -2, 1);  // the chunk's only upvalue is _ENV
  lua_call(L, 0, 0);
  if (lua_getfield(L, env, ctx.entry->c_str()) != LUA_TFUNCTION) {
    return luaL_error(L, "the code does not define function %s", ctx.entry->c_str());
  }
  if (!ctx.record) return 0;  // compiling: the definition is there
  push_json(L, *ctx.record);
  push_ctx(L, state, ctx);
  lua_call(L, 2, 1);
  return 1;
}

std::unique_ptr<Script::State> make_state(const std::string& code, const ScriptLimits& limits, std::string& error) {
  auto state = std::make_unique<Script::State>();
  if (!state->open(limits.memory_bytes)) {
    error = "the script's sandbox could not be made";
    return nullptr;
  }
  int rc = luaL_loadbufferx(state->L, code.data(), code.size(), chunk_name, "t");
  if (rc != LUA_OK) {
    error = sandbox_error_text(state->L, rc);
    return nullptr;
  }
  state->chunk_ref = luaL_ref(state->L, LUA_REGISTRYINDEX);
  return state;
}

}  // namespace

json::object ScriptRun::to_json() const {
  json::object o;
  o["ok"] = ok;
  o["output"] = output;
  if (!ok) o["error"] = error;
  json::array lines;
  for (const auto& line : logs) lines.emplace_back(line);
  o["logs"] = std::move(lines);
  o["cost"] = json::object{
      {"instructions", instructions}, {"memory_bytes", memory_bytes}, {"http_calls", http_calls}, {"ms", ms}};
  return o;
}

Script::Script(std::string code, std::string entry, json::value data, ScriptLimits limits)
    : code_(std::move(code)),
      entry_(std::move(entry)),
      data_(std::move(data)),
      limits_(limits),
      pool_(std::make_unique<SandboxPool<State>>(max_idle_states)) {}

Script::~Script() = default;

std::variant<std::shared_ptr<const Script>, std::string> Script::compile(std::string code, std::string entry,
                                                                         json::value data, ScriptLimits limits) {
  std::shared_ptr<Script> script(new Script(std::move(code), std::move(entry), std::move(data), limits));
  std::string error;
  auto state = make_state(script->code_, limits, error);
  if (!state) return error;
  // The top level runs once, with the run's budgets, to check the definition.
  ScriptRun probe;
  ScriptCall call;
  RunContext ctx{&call, &limits, &script->data_, nullptr, &script->entry_, &probe};
  state->current = &ctx;
  state->arm(limits.instructions, std::chrono::steady_clock::now() + limits.time);
  lua_pushcfunction(state->L, &run_entry);
  lua_pushlightuserdata(state->L, state.get());
  int rc = lua_pcall(state->L, 1, 0, 0);
  Exhausted exhausted = state->disarm();
  state->current = nullptr;
  if (rc != LUA_OK) return sandbox_error_text(state->L, rc, exhausted);
  lua_settop(state->L, 0);
  script->release(std::move(state));
  return std::shared_ptr<const Script>(std::move(script));
}

std::unique_ptr<Script::State> Script::acquire(std::string* error) const {
  if (auto state = pool_->take()) return state;
  std::string ignored;
  return make_state(code_, limits_, error ? *error : ignored);
}

void Script::release(std::unique_ptr<State> state) const { pool_->give_back(std::move(state)); }

ScriptRun Script::run(const json::value& record, const ScriptCall& call) const {
  Exhausted exhausted = Exhausted::none;
  return execute(record, call, limits_.instructions, limits_.time, false, exhausted);
}

std::optional<ScriptRun> Script::run_quickly(const json::value& record, const ScriptCall& call) const {
  Exhausted exhausted = Exhausted::none;
  bool fewer_instructions = quick_instructions < limits_.instructions;
  bool less_time = quick_time < limits_.time;
  ScriptRun run = execute(record, call, fewer_instructions ? quick_instructions : limits_.instructions,
                          less_time ? std::chrono::steady_clock::duration(quick_time) : limits_.time, true, exhausted);
  // Stopped by the slice, not by the script's own budgets: it needs a worker.
  if (exhausted == Exhausted::slice || (exhausted == Exhausted::instructions && fewer_instructions) ||
      (exhausted == Exhausted::time && less_time)) {
    return std::nullopt;
  }
  return run;
}

ScriptRun Script::execute(const json::value& record, const ScriptCall& call, std::size_t instructions,
                          std::chrono::steady_clock::duration time, bool quick, Exhausted& exhausted) const {
  ScriptRun run;
  auto started = std::chrono::steady_clock::now();
  auto state = acquire(&run.error);
  if (!state) return run;
  lua_State* L = state->L;
  RunContext ctx{&call, &limits_, &data_, &record, &entry_, &run};
  ctx.quick = quick;
  state->current = &ctx;
  state->arm(instructions, started + time);
  lua_pushcfunction(L, &run_entry);
  lua_pushlightuserdata(L, state.get());
  int rc = lua_pcall(L, 1, 1, 0);
  run.instructions = state->instructions;
  exhausted = state->disarm();
  run.memory_bytes = state->peak;
  if (rc == LUA_OK) {
    std::string error;
    auto output = to_json(L, -1, error);
    if (!output) {
      run.error = entry_ + " returned " + error;
    } else if (json::serialize(*output).size() > limits_.max_output_bytes) {
      run.error = entry_ + " returned more than " + std::to_string(limits_.max_output_bytes) + " bytes of JSON";
    } else {
      run.output = std::move(*output);
      run.ok = true;
    }
  } else {
    run.error = sandbox_error_text(L, rc, exhausted);
  }
  state->current = nullptr;
  if (ctx.dropped_logs > 0) run.logs.push_back("(" + std::to_string(ctx.dropped_logs) + " more lines not kept)");
  lua_settop(L, 0);
  release(std::move(state));
  run.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return run;
}

}  // namespace daisy
