#include "script/rule_engine.h"

#include <fmt/format.h>
#include <boost/json/array.hpp>

#include <algorithm>
#include <chrono>

#include "script/sandbox.h"

namespace daisy {
namespace json = boost::json;

namespace {

constexpr std::size_t max_idle_states = 16;

}  // namespace

struct RuleSet::State : Sandbox {
  std::vector<int> rule_refs;
  // The answers being evaluated; null between evaluations, so an `answers`
  // table a rule smuggled out (say into the string library) reads nothing.
  const json::object* answers = nullptr;
  // Registry references to the metatables every evaluation uses; made once.
  int answers_meta = LUA_NOREF;
  int env_meta = LUA_NOREF;
};

namespace {

struct Evaluation {
  RuleSet::State* state;
  const std::vector<Rule>* rules;
  const json::object* answers;
  std::size_t budget;        // per rule
  std::size_t total_budget;  // for the whole evaluation
  std::vector<RuleOutcome>* outcomes;
};

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
  }
  push_run_environment(L, state->env_meta);  // fresh per evaluation
  lua_createtable(L, 0, 4);                  // answers: filled on first read
  lua_rawgeti(L, LUA_REGISTRYINDEX, state->answers_meta);
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "answers");
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
    lua_setupvalue(L, -2, 1);                                                   // the chunk's only upvalue is _ENV
    state->arm(std::min(e->budget, e->total_budget - spent), state->deadline);  // exhausted is none here
    int rc = lua_pcall(L, 0, 1, 0);
    spent += state->instructions;
    Exhausted exhausted = state->exhausted;
    if (exhausted == Exhausted::instructions) state->exhausted = Exhausted::none;  // the next rule has its own
    if (rc == LUA_OK && exhausted == Exhausted::none) {
      out.passed = lua_toboolean(L, -1);
      if (!out.passed) out.message = rule.message;
    } else {
      out.passed = false;
      out.message = rule.message + " (the check could not be evaluated: " + sandbox_error_text(L, rc, exhausted) + ")";
    }
    lua_settop(L, env);
  }
  return 0;
}

namespace {

// Creates a sandboxed state with every rule loaded; returns an error per rule
// that does not compile.
std::unique_ptr<RuleSet::State> make_state(const std::vector<Rule>& rules, const RuleLimits& limits,
                                           std::vector<FieldError>* errors) {
  auto s = std::make_unique<RuleSet::State>();
  if (!s->open(limits.memory_bytes)) return nullptr;
  lua_State* L = s->L;

  bool ok = true;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    std::string code = "return (" + rules[i].check + "\n)";
    std::string chunk = "=rule " + rules[i].name;
    int rc = luaL_loadbufferx(L, code.data(), code.size(), chunk.c_str(), "t");
    if (rc != LUA_OK) {
      if (errors) {
        errors->push_back(
            {fmt::format("rules[{}].check", i), "does not compile as a Lua expression: " + sandbox_error_text(L, rc)});
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

std::vector<std::string> RuleSet::sandbox_names() { return Sandbox::reachable_names(); }

RuleSet::RuleSet(std::vector<Rule> rules, RuleLimits limits)
    : rules_(std::move(rules)), limits_(limits), pool_(std::make_unique<SandboxPool<State>>(max_idle_states)) {}

RuleSet::~RuleSet() = default;

std::unique_ptr<RuleSet::State> RuleSet::acquire() const {
  if (auto state = pool_->take()) return state;
  return make_state(rules_, limits_, nullptr);
}

void RuleSet::release(std::unique_ptr<State> state) const { pool_->give_back(std::move(state)); }

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
  state->arm(limits_.instruction_budget, std::chrono::steady_clock::now() + limits_.time_budget);
  lua_pushcfunction(L, &run_rules);
  lua_pushlightuserdata(L, &e);
  int rc = lua_pcall(L, 1, 0, 0);
  state->answers = nullptr;
  Exhausted exhausted = state->disarm();
  if (rc != LUA_OK) {
    std::string reason = sandbox_error_text(L, rc, exhausted);
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
