#include "script/rule_engine.h"

// Debian's lua5.4-c++ build: the API has C++ linkage and Lua errors unwind as
// C++ exceptions, so these headers are included without extern "C".
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>

#include <fmt/format.h>
#include <boost/json/array.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace daisy {
namespace json = boost::json;

namespace {

constexpr int hook_every = 1000;  // instructions between budget checks
constexpr int max_depth = 16;     // nesting of answers converted to Lua
constexpr std::size_t max_idle_states = 16;

// Thrown from the count hook when a budget runs out. It is not a Lua error:
// Lua's C++ build catches it at the nearest protected call as a bare failure
// without running any message handler (a handler runs with hooks off when
// the error comes from a hook, so `xpcall(f, function() while true do end
// end)` would otherwise spin for ever). From then on every instruction throws
// again, so a `pcall` that catches it cannot carry on.
struct BudgetExhausted {};

enum class Exhausted { none, instructions, time };

}  // namespace

struct RuleSet::State {
  lua_State* L = nullptr;
  std::size_t used = 0;
  std::size_t memory_limit = 0;
  std::size_t instructions = 0;
  std::size_t budget = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  Exhausted exhausted = Exhausted::none;
  std::vector<int> rule_refs;
  // The answers being evaluated; null between evaluations, so an `answers`
  // table a rule smuggled out (say into the string library) reads nothing.
  const json::object* answers = nullptr;
  // Registry references to the metatables every evaluation uses; made once.
  int answers_meta = LUA_NOREF;
  int env_meta = LUA_NOREF;

  ~State() {
    if (L) lua_close(L);
  }

  static void* allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
    auto* s = static_cast<State*>(ud);
    std::size_t old = ptr ? osize : 0;  // without ptr, osize is a type tag
    if (nsize == 0) {
      s->used -= old;
      std::free(ptr);
      return nullptr;
    }
    if (nsize > old && s->used + (nsize - old) > s->memory_limit) return nullptr;
    void* p = std::realloc(ptr, nsize);
    if (p) s->used = s->used - old + nsize;
    return p;
  }

  static void count_hook(lua_State* L, lua_Debug*) {
    void* ud = nullptr;
    lua_getallocf(L, &ud);
    auto* s = static_cast<State*>(ud);
    s->instructions += hook_every;
    if (s->exhausted == Exhausted::none) {
      if (s->instructions > s->budget) {
        s->exhausted = Exhausted::instructions;
      } else if (std::chrono::steady_clock::now() > s->deadline) {
        s->exhausted = Exhausted::time;
      } else {
        return;
      }
      lua_sethook(L, &count_hook, LUA_MASKCOUNT, 1);
    }
    throw BudgetExhausted{};
  }
};

namespace {

void push_object(lua_State* L, const json::object& o, int depth);

void push_json(lua_State* L, const json::value& v, int depth) {
  if (depth > max_depth) {
    lua_pushnil(L);
    return;
  }
  luaL_checkstack(L, 4, "answers nested too deeply");
  switch (v.kind()) {
    case json::kind::null:
      lua_pushnil(L);
      break;
    case json::kind::bool_:
      lua_pushboolean(L, v.get_bool());
      break;
    case json::kind::int64:
      lua_pushinteger(L, static_cast<lua_Integer>(v.get_int64()));
      break;
    case json::kind::uint64:
      lua_pushnumber(L, static_cast<lua_Number>(v.get_uint64()));
      break;
    case json::kind::double_:
      lua_pushnumber(L, v.get_double());
      break;
    case json::kind::string: {
      const auto& s = v.get_string();
      lua_pushlstring(L, s.data(), s.size());
      break;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      lua_createtable(L, static_cast<int>(a.size()), 0);
      lua_Integer i = 1;
      for (const auto& item : a) {
        push_json(L, item, depth + 1);
        lua_rawseti(L, -2, i++);
      }
      break;
    }
    case json::kind::object:
      push_object(L, v.get_object(), depth);
      break;
  }
}

void push_object(lua_State* L, const json::object& o, int depth) {
  lua_createtable(L, 0, static_cast<int>(o.size()));
  for (const auto& field : o) {
    lua_pushlstring(L, field.key().data(), field.key().size());
    push_json(L, field.value(), depth + 1);
    lua_rawset(L, -3);
  }
}

struct Evaluation {
  RuleSet::State* state;
  const std::vector<Rule>* rules;
  const json::object* answers;
  std::size_t budget;        // per rule
  std::size_t total_budget;  // for the whole evaluation
  std::vector<RuleOutcome>* outcomes;
};

std::string error_text(lua_State* L, int rc, Exhausted exhausted = Exhausted::none) {
  if (exhausted == Exhausted::instructions) return "exceeded its instruction budget";
  if (exhausted == Exhausted::time) return "exceeded its time budget";
  if (rc == LUA_ERRMEM) return "exceeded its memory limit";
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
  return msg ? msg : "raised an error that is not a string";
}

}  // namespace

// `answers` is filled lazily: a field becomes a Lua value the first time a
// rule reads it (most rules read two or three of many answers); pairs()
// converts the rest first. Upvalue 1 of both closures is the State.
static const json::object* current_answers(lua_State* L) {
  return static_cast<RuleSet::State*>(lua_touserdata(L, lua_upvalueindex(1)))->answers;
}

static int lazy_answer(lua_State* L) {
  const json::object* answers = current_answers(L);
  if (!answers) return 0;
  std::size_t length = 0;
  const char* key = lua_tolstring(L, 2, &length);
  if (!key || lua_type(L, 2) != LUA_TSTRING) return 0;
  auto it = answers->find(std::string_view(key, length));
  if (it == answers->end()) return 0;
  push_json(L, it->value(), 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);  // cache in the table itself
  return 1;
}

static int all_answers(lua_State* L) {
  const json::object* answers = current_answers(L);
  if (!answers) return 0;
  for (const auto& field : *answers) {
    lua_pushlstring(L, field.key().data(), field.key().size());
    push_json(L, field.value(), 1);
    lua_rawset(L, 1);
  }
  lua_getglobal(L, "next");
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// Runs inside lua_pcall: builds the environment, then calls each rule under its
// own protected call so that one failing rule does not stop the others.
static int run_rules(lua_State* L) {
  auto* e = static_cast<Evaluation*>(lua_touserdata(L, 1));
  RuleSet::State* state = e->state;
  if (state->answers_meta == LUA_NOREF) {
    lua_createtable(L, 0, 3);
    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, &lazy_answer, 1);
    lua_setfield(L, -2, "__index");
    lua_pushlightuserdata(L, state);
    lua_pushcclosure(L, &all_answers, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    state->answers_meta = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");  // the shared globals stay out of reach
    state->env_meta = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_createtable(L, 0, 2);  // env: fresh per evaluation
  lua_createtable(L, 0, 4);  // answers: filled on first read
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->answers_meta);
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "answers");
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");  // _G is this evaluation's environment, not the shared globals
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->env_meta);
  lua_setmetatable(L, -2);
  int env = lua_gettop(L);
  std::size_t spent = 0;
  for (std::size_t i = 0; i < e->rules->size(); ++i) {
    const Rule& rule = (*e->rules)[i];
    RuleOutcome& out = (*e->outcomes)[i];
    if (spent >= e->total_budget || state->exhausted == Exhausted::time) {
      out.passed = false;
      out.message = rule.message + (state->exhausted == Exhausted::time
                                        ? " (the check could not be evaluated: the rules of this form exhausted "
                                          "their time budget)"
                                        : " (the check could not be evaluated: the rules of this form exhausted "
                                          "their shared instruction budget)");
      continue;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, state->rule_refs[i]);
    lua_pushvalue(L, env);
    lua_setupvalue(L, -2, 1);  // the chunk's only upvalue is _ENV
    state->instructions = 0;
    state->budget = std::min(e->budget, e->total_budget - spent);
    lua_sethook(L, &RuleSet::State::count_hook, LUA_MASKCOUNT, hook_every);
    int rc = lua_pcall(L, 0, 1, 0);
    spent += state->instructions;
    Exhausted exhausted = state->exhausted;
    if (exhausted == Exhausted::instructions) state->exhausted = Exhausted::none;  // the next rule has its own
    if (rc == LUA_OK && exhausted == Exhausted::none) {
      out.passed = lua_toboolean(L, -1);
      if (!out.passed) out.message = rule.message;
    } else {
      out.passed = false;
      out.message = rule.message + " (the check could not be evaluated: " + error_text(L, rc, exhausted) + ")";
    }
    lua_settop(L, env);
  }
  return 0;
}

namespace {

int refuse_write(lua_State* L) { return luaL_error(L, "the standard libraries are read-only"); }

// Guards around library functions whose C loops run outside the reach of the
// instruction hook. Each checks its arguments, then calls the original (its
// upvalue 1) with the same arguments.
int call_original(lua_State* L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// Finalizers run with hooks off, so a `__gc` that loops could never be
// stopped: metatables with one are refused.
int guarded_setmetatable(lua_State* L) {
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed in rules");
    lua_pop(L, 1);
  }
  return call_original(L);
}

// At most this many elements for one call of a table function: a length
// taken from a __len metamethod could otherwise make table.insert, remove or
// move loop in C for ever. No table of a rule's state (8 MiB) comes near it.
constexpr lua_Integer max_table_span = 1 << 22;

int guarded_table_call(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (luaL_len(L, 1) > max_table_span) return luaL_error(L, "the table is too long for this function");
  return call_original(L);
}

int guarded_table_move(lua_State* L) {
  lua_Integer from = luaL_checkinteger(L, 2);
  lua_Integer to = luaL_checkinteger(L, 3);
  if (to >= from && (to - from > max_table_span || from < 0)) {
    return luaL_error(L, "table.move: too many elements to move");
  }
  return call_original(L);
}

// string.rep("", n) loops n times in C making nothing: refuse any result
// longer than the state's memory cap up front, and answer the empty case.
int guarded_string_rep(lua_State* L) {
  std::size_t length = 0, separator = 0;
  luaL_checklstring(L, 1, &length);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &separator);
  if (n <= 0 || length + separator == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  std::size_t cap = static_cast<RuleSet::State*>(ud)->memory_limit;
  if (static_cast<std::size_t>(n) > cap / (length + separator)) return luaL_error(L, "exceeded its memory limit");
  return call_original(L);
}

void guard(lua_State* L, const char* library, const char* name, lua_CFunction guard_function) {
  if (library)
    lua_getglobal(L, library);
  else
    lua_pushglobaltable(L);
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, guard_function, 1);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

// Replaces each library table with a read-only proxy (and hides the string
// metatable), so that no rule can change what later evaluations in the same
// pooled state see.
void make_libraries_read_only(lua_State* L) {
  for (const char* name : {"string", "table", "math", "utf8"}) {
    lua_getglobal(L, name);  // the real table
    lua_newtable(L);         // its proxy
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, &refuse_write);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setglobal(L, name);
    lua_pop(L, 1);
  }
  // ("x"):upper() looks methods up through the string metatable.
  lua_pushliteral(L, "");
  if (lua_getmetatable(L, -1)) {
    lua_getglobal(L, "string");
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

// Creates a sandboxed state with every rule loaded; returns an error per rule
// that does not compile.
std::unique_ptr<RuleSet::State> make_state(const std::vector<Rule>& rules, const RuleLimits& limits,
                                           std::vector<FieldError>* errors) {
  auto s = std::make_unique<RuleSet::State>();
  s->memory_limit = limits.memory_bytes;
  s->L = lua_newstate(&RuleSet::State::allocate, s.get());
  if (!s->L) return nullptr;
  lua_State* L = s->L;
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_MATHLIBNAME, luaopen_math},
                                  {LUA_UTF8LIBNAME, luaopen_utf8}};
  for (const auto& lib : libs) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }
  for (const char* name :
       {"load", "loadstring", "dofile", "loadfile", "require", "collectgarbage", "print", "rawset", "warn", "_G"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }
  // string.dump reaches bytecode; Lua patterns (find, match, gmatch, gsub)
  // backtrack inside C, where the instruction hook never fires, so one
  // pattern could hold a thread for minutes.
  lua_getglobal(L, "string");
  for (const char* name : {"dump", "find", "match", "gmatch", "gsub"}) {
    lua_pushnil(L);
    lua_setfield(L, -2, name);
  }
  lua_pop(L, 1);
  guard(L, nullptr, "setmetatable", &guarded_setmetatable);
  guard(L, "string", "rep", &guarded_string_rep);
  for (const char* name : {"insert", "remove", "concat", "unpack", "sort"})
    guard(L, "table", name, &guarded_table_call);
  guard(L, "table", "move", &guarded_table_move);
  make_libraries_read_only(L);
  lua_sethook(L, &RuleSet::State::count_hook, LUA_MASKCOUNT, hook_every);

  bool ok = true;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::string code = "return (" + rules[i].check + "\n)";
    std::string chunk = "=rule " + rules[i].name;
    int rc = luaL_loadbufferx(L, code.data(), code.size(), chunk.c_str(), "t");
    if (rc != LUA_OK) {
      if (errors) {
        errors->push_back(
            {fmt::format("rules[{}].check", i), "does not compile as a Lua expression: " + error_text(L, rc)});
      }
      lua_pop(L, 1);
      ok = false;
      continue;
    }
    s->rule_refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
  }
  if (!ok) return nullptr;
  return s;
}

}  // namespace

std::variant<std::shared_ptr<RuleSet>, std::vector<FieldError>> RuleSet::compile(const std::vector<Rule>& rules,
                                                                                 RuleLimits limits) {
  std::vector<FieldError> errors;
  auto state = make_state(rules, limits, &errors);
  if (!state) {
    if (errors.empty()) errors.push_back({"rules", "the rules could not be prepared"});
    return errors;
  }
  std::shared_ptr<RuleSet> set(new RuleSet(rules, limits));
  set->release(std::move(state));
  return set;
}

std::vector<std::string> RuleSet::sandbox_names() {
  std::vector<std::string> names;
  auto state = make_state({}, RuleLimits{}, nullptr);
  if (!state) return names;
  lua_State* L = state->L;
  lua_pushglobaltable(L);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    std::string name = lua_tostring(L, -2);
    names.push_back(name);
    // A library is a read-only proxy: its members are in its metatable's __index.
    if (lua_type(L, -1) == LUA_TTABLE && lua_getmetatable(L, -1)) {
      if (lua_getfield(L, -1, "__index") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          names.push_back(name + "." + lua_tostring(L, -2));
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 2);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  std::sort(names.begin(), names.end());
  return names;
}

RuleSet::RuleSet(std::vector<Rule> rules, RuleLimits limits) : rules_(std::move(rules)), limits_(limits) {}

RuleSet::~RuleSet() = default;

std::unique_ptr<RuleSet::State> RuleSet::acquire() const {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
  }
  return make_state(rules_, limits_, nullptr);
}

void RuleSet::release(std::unique_ptr<State> state) const {
  if (!state) return;
  if (state->used > state->memory_limit / 2) {
    lua_gc(state->L, LUA_GCCOLLECT);
    if (state->used > state->memory_limit / 2) return;  // drop a state that stays bloated
  }
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_states) idle_.push_back(std::move(state));
}

std::vector<RuleOutcome> RuleSet::evaluate(const json::object& answers) const {
  std::vector<RuleOutcome> outcomes(rules_.size());
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    outcomes[i].rule = rules_[i].name;
    outcomes[i].reject = rules_[i].reject;
  }
  if (rules_.empty()) return outcomes;
  auto state = acquire();
  if (!state) {
    for (auto& o : outcomes) o.message = "the rules could not be prepared";
    return outcomes;
  }
  Evaluation e{state.get(), &rules_, &answers, limits_.instruction_budget, limits_.total_budget, &outcomes};
  lua_State* L = state->L;
  state->answers = &answers;
  state->exhausted = Exhausted::none;
  state->deadline = std::chrono::steady_clock::now() + limits_.time_budget;
  lua_pushcfunction(L, &run_rules);
  lua_pushlightuserdata(L, &e);
  int rc = lua_pcall(L, 1, 0, 0);
  state->answers = nullptr;
  Exhausted exhausted = state->exhausted;
  state->exhausted = Exhausted::none;
  lua_sethook(L, &RuleSet::State::count_hook, LUA_MASKCOUNT, hook_every);
  if (rc != LUA_OK) {
    std::string reason = error_text(L, rc, exhausted);
    lua_pop(L, 1);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].message.empty() && !outcomes[i].passed) {
        outcomes[i].message = rules_[i].message + " (the check could not be evaluated: " + reason + ")";
      }
    }
  }
  lua_settop(L, 0);
  release(std::move(state));
  return outcomes;
}

}  // namespace daisy
