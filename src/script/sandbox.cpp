#include "script/sandbox.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "util/utf8.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr int hook_every = 1000;  // instructions between budget checks
constexpr int max_depth = 16;     // nesting of JSON converted to Lua
constexpr int max_output_depth = 32;

// Thrown from the count hook when a budget runs out. It is not a Lua error:
// Lua's C++ build catches it at the nearest protected call as a bare failure
// without running any message handler (a handler runs with hooks off when
// the error comes from a hook, so `xpcall(f, function() while true do end
// end)` would otherwise spin for ever). From then on every instruction throws
// again, so a `pcall` that catches it cannot carry on.
struct BudgetExhausted {};

Sandbox* sandbox_of(lua_State* L) {
  void* ud = nullptr;
  lua_getallocf(L, &ud);
  return static_cast<Sandbox*>(ud);
}

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
    if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "__gc metamethods are not allowed here");
    lua_pop(L, 1);
  }
  return call_original(L);
}

// At most this many elements for one call of a table function: a length
// taken from a __len metamethod could otherwise make table.insert, remove or
// move loop in C for ever. No table of a sandbox's memory comes near it.
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
  std::size_t cap = sandbox_of(L)->memory_limit;
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
// metatable), so that no code can change what later runs in the same pooled
// state see.
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

void open_libraries(lua_State* L) {
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
}

}  // namespace

Sandbox::~Sandbox() {
  if (L) lua_close(L);
}

bool Sandbox::open(std::size_t memory_bytes) {
  memory_limit = memory_bytes;
  L = lua_newstate(&Sandbox::allocate, this);
  if (!L) return false;
  open_libraries(L);
  lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, hook_every);
  return true;
}

void Sandbox::arm(std::size_t instruction_budget, std::chrono::steady_clock::time_point until) {
  instructions = 0;
  budget = instruction_budget;
  deadline = until;
  exhausted = Exhausted::none;
  peak = used;
  lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, hook_every);
}

Exhausted Sandbox::disarm() {
  Exhausted was = exhausted;
  exhausted = Exhausted::none;
  lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, hook_every);  // after a budget ran out it fired on each
  return was;
}

void* Sandbox::allocate(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* s = static_cast<Sandbox*>(ud);
  std::size_t old = ptr ? osize : 0;  // without ptr, osize is a type tag
  if (nsize == 0) {
    s->used -= old;
    std::free(ptr);
    return nullptr;
  }
  if (nsize > old && s->used + (nsize - old) > s->memory_limit) return nullptr;
  void* p = std::realloc(ptr, nsize);
  if (p) {
    s->used = s->used - old + nsize;
    s->peak = std::max(s->peak, s->used);
  }
  return p;
}

void Sandbox::stop(Exhausted why) {
  exhausted = why;
  lua_sethook(L, &Sandbox::count_hook, LUA_MASKCOUNT, 1);
  throw BudgetExhausted{};
}

void Sandbox::count_hook(lua_State* L, lua_Debug*) {
  Sandbox* s = sandbox_of(L);
  s->instructions += hook_every;
  if (s->exhausted != Exhausted::none) throw BudgetExhausted{};
  if (s->instructions > s->budget) s->stop(Exhausted::instructions);
  if (std::chrono::steady_clock::now() > s->deadline) s->stop(Exhausted::time);
}

std::vector<std::string> Sandbox::reachable_names() {
  std::vector<std::string> names;
  Sandbox sandbox;
  if (!sandbox.open(8 * 1024 * 1024)) return names;
  lua_State* L = sandbox.L;
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

void push_run_environment(lua_State* L, int& meta) {
  if (meta == LUA_NOREF) {
    lua_createtable(L, 0, 2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    meta = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
  lua_rawgeti(L, LUA_REGISTRYINDEX, meta);
  lua_setmetatable(L, -2);
}

std::string sandbox_error_text(lua_State* L, int rc, Exhausted exhausted) {
  if (exhausted == Exhausted::instructions) return "exceeded its instruction budget";
  if (exhausted == Exhausted::time) return "exceeded its time budget";
  if (rc == LUA_ERRMEM) return "exceeded its memory limit";
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : nullptr;
  return msg ? msg : "raised an error that is not a string";
}

void push_json(lua_State* L, const json::value& v, int depth) {
  if (depth > max_depth) {
    lua_pushnil(L);
    return;
  }
  luaL_checkstack(L, 4, "values nested too deeply");
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
    case json::kind::object: {
      const auto& o = v.get_object();
      lua_createtable(L, 0, static_cast<int>(o.size()));
      for (const auto& field : o) {
        lua_pushlstring(L, field.key().data(), field.key().size());
        push_json(L, field.value(), depth + 1);
        lua_rawset(L, -3);
      }
      break;
    }
  }
}

namespace {

std::optional<json::value> table_to_json(lua_State* L, int index, int depth, std::string& error);

std::optional<json::value> value_to_json(lua_State* L, int index, int depth, std::string& error) {
  switch (lua_type(L, index)) {
    case LUA_TNIL:
      return json::value(nullptr);
    case LUA_TBOOLEAN:
      return json::value(lua_toboolean(L, index) != 0);
    case LUA_TNUMBER: {
      if (lua_isinteger(L, index)) return json::value(static_cast<std::int64_t>(lua_tointeger(L, index)));
      double d = lua_tonumber(L, index);
      if (!std::isfinite(d)) {
        error = "a number that is not finite (JSON has no NaN or infinity)";
        return std::nullopt;
      }
      return json::value(d);
    }
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, index, &n);
      return json::value(json::string(sanitize_utf8(std::string_view(s, n))));
    }
    case LUA_TTABLE:
      return table_to_json(L, index, depth, error);
    default:
      error = std::string("a ") + lua_typename(L, lua_type(L, index)) +
              " (only nil, booleans, numbers, strings "
              "and tables become JSON)";
      return std::nullopt;
  }
}

std::optional<json::value> table_to_json(lua_State* L, int index, int depth, std::string& error) {
  if (depth > max_output_depth) {
    error = "tables nested more than 32 deep (or a table that contains itself)";
    return std::nullopt;
  }
  if (!lua_checkstack(L, 4)) {
    error = "tables nested too deeply";
    return std::nullopt;
  }
  index = lua_absindex(L, index);
  lua_Unsigned length = lua_rawlen(L, index);
  std::size_t keys = 0;
  lua_pushnil(L);
  while (lua_next(L, index)) {
    ++keys;
    lua_pop(L, 1);
  }
  if (length > 0 && keys == length) {
    json::array a;
    a.reserve(length);
    for (lua_Unsigned i = 1; i <= length; ++i) {
      lua_rawgeti(L, index, static_cast<lua_Integer>(i));
      auto item = value_to_json(L, -1, depth + 1, error);
      lua_pop(L, 1);
      if (!item) return std::nullopt;
      a.emplace_back(std::move(*item));
    }
    return json::value(std::move(a));
  }
  json::object o;
  lua_pushnil(L);
  while (lua_next(L, index)) {
    std::string key;
    if (lua_type(L, -2) == LUA_TSTRING) {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, -2, &n);
      key = sanitize_utf8(std::string_view(s, n));
    } else if (lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
      key = std::to_string(lua_tointeger(L, -2));
    } else {
      lua_pop(L, 2);
      error = "a table key that is neither a string nor an integer";
      return std::nullopt;
    }
    auto item = value_to_json(L, -1, depth + 1, error);
    lua_pop(L, 1);
    if (!item) {
      lua_pop(L, 1);
      return std::nullopt;
    }
    o[key] = std::move(*item);
  }
  return json::value(std::move(o));
}

}  // namespace

std::optional<json::value> to_json(lua_State* L, int index, std::string& error) {
  return value_to_json(L, index, 0, error);
}

}  // namespace daisy
