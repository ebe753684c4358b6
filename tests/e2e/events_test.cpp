// Events end to end: POST /v1/events (single, batch, NDJSON, gzip), the
// envelope and timestamp checks, the default and runtime event types, each
// app's policy for unknown types, reading back (filters, cursors, sessions,
// isolation between apps), the rejections log with its cap and metrics, and
// acknowledged events surviving kill -9.
#include <boost/json.hpp>

#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "harness.h"
#include "postgres_server.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;

// ---------------------------------------------------------------- helpers

constexpr std::string_view kTs = "2021-01-01T09:15:27Z";

std::string new_session() {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t a, b;
  {
    std::lock_guard lock(mu);
    a = rng();
    b = rng();
  }
  a = (a & ~0xF000ull) | 0x4000ull;                         // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xFFFF), static_cast<unsigned long long>(a & 0xFFFF),
                static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" for a wall-clock time.
std::string iso_utc(std::chrono::system_clock::time_point tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

std::string now_plus(std::chrono::seconds s) { return iso_utc(std::chrono::system_clock::now() + s); }

std::string type_path(std::string_view category, std::string_view name) {
  return "/v1/event-types/" + url_encode(category) + "/" + url_encode(name);
}

// A timestamp text with trailing zeros of its fraction (and an empty fraction) removed,
// so that "…27.500Z" and "…27.5Z" compare equal.
std::string canon_ts(std::string s) {
  auto dot = s.find('.');
  if (dot == std::string::npos || s.empty() || s.back() != 'Z') return s;
  std::string frac = s.substr(dot + 1, s.size() - dot - 2);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return s.substr(0, dot) + (frac.empty() ? "" : "." + frac) + "Z";
}

// A sortable key for a UTC timestamp text: the fraction padded to 9 digits.
std::string ts_key(const std::string& s) {
  if (s.size() < 20) return s;
  std::string frac = s.size() > 21 && s[19] == '.' ? s.substr(20, s.size() - 21) : std::string();
  frac.resize(9, '0');
  return s.substr(0, 19) + "." + frac;
}

// 2021-01-01T09:15:27[.f…]Z
bool is_utc_text(std::string_view s) {
  if (s.size() < 20 || s.back() != 'Z') return false;
  for (std::size_t i = 0; i < 19; ++i) {
    char c = s[i];
    bool ok = (i == 4 || i == 7)     ? c == '-'
              : i == 10              ? c == 'T'
              : (i == 13 || i == 16) ? c == ':'
                                     : std::isdigit(static_cast<unsigned char>(c)) != 0;
    if (!ok) return false;
  }
  if (s.size() == 20) return true;
  if (s[19] != '.' || s.size() < 22) return false;
  for (std::size_t i = 20; i + 1 < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

json::object ev(std::string_view session, std::string_view category, std::string_view name, json::value data,
                std::string_view ts = kTs) {
  return json::object{
      {"session_id", session}, {"category", category}, {"name", name}, {"data", std::move(data)}, {"timestamp", ts}};
}

json::value pageview_data() { return J(R"({"host":"example.org","path":"/pricing"})"); }

json::object batch_of(const std::vector<json::object>& events) {
  json::array list;
  for (const auto& e : events) list.push_back(e);
  return json::object{{"events", std::move(list)}};
}

HttpResponse post_text(const DaisyProcess& d, std::string_view token, std::string_view body,
                       const Headers& extra = json_content()) {
  return d.request("POST", "/v1/events", with(bearer(token), extra), body);
}

HttpResponse post_value(const DaisyProcess& d, std::string_view token, const json::value& v) {
  return post_text(d, token, dump(v));
}

std::string gzip(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    ADD_FAILURE() << "deflateInit2 failed";
    return {};
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  EXPECT_EQ(rc, Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::vector<json::value> read_events(const DaisyProcess& d, const Headers& auth, const std::string& query = "",
                                     int limit = 1000) {
  return read_all_pages(d, "/v1/events", auth, query, limit);
}

std::vector<std::string> names_of(const std::vector<json::value>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(str(i, "name"));
  return out;
}

std::vector<std::string> ids_in(const json::value& reply) {
  std::vector<std::string> out;
  for (const auto& id : arr(reply, "ids")) out.emplace_back(id.is_string() ? id.get_string() : "?");
  return out;
}

// An errors[] entry with this field whose message contains `fragment`.
::testing::AssertionResult HasError(const json::array& errors, std::string_view field, std::string_view fragment = {}) {
  for (const auto& e : errors) {
    if (str(e, "field") == field && str(e, "message").find(fragment) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error for field '" << field << "' mentioning '" << fragment << "' in "
                                       << dump(errors);
}

::testing::AssertionResult HasError(const HttpResponse& r, std::string_view field, std::string_view fragment = {}) {
  auto base = IsProblem(r, 422, "validation-failed");
  if (!base) return base;
  return HasError(arr(r.json(), "errors"), field, fragment);
}

// The {"index", "errors"} entries of a batch reply, by index.
std::map<std::int64_t, json::array> rejected_by_index(const json::value& reply) {
  std::map<std::int64_t, json::array> out;
  for (const auto& r : arr(reply, "rejected")) out[num(r, "index")] = arr(r, "errors");
  return out;
}

std::string metrics_text(const DaisyProcess& d) {
  HttpResponse r = d.get("/metrics");
  EXPECT_EQ(r.status, 200) << r.summary();
  return r.body;
}

double rejection_counter(const std::string& text, std::string_view reason) {
  std::string series = "daisy_event_rejections_total{reason=\"" + std::string(reason) + "\"}";
  auto v = metric_value(text, series);
  EXPECT_TRUE(v.has_value()) << series << " missing from /metrics";
  return v.value_or(-1);
}

std::vector<json::value> read_rejections(const DaisyProcess& d, const std::string& query = "") {
  return read_all_pages(d, "/v1/events/rejections", d.admin(), query, 1000);
}

// ---------------------------------------------------------------- fixture

class EventsTest : public SharedServer<EventsTest> {
 public:
  static DaisyProcess::Options options() { return {}; }

 protected:
  static HttpResponse patch_policy(const std::string& app_id, std::string_view policy) {
    return server().request("PATCH", "/v1/apps/" + app_id, admin_json(),
                            dump(json::object{{"unknown_event_types", policy}}));
  }
  static HttpResponse put_type(std::string_view category, std::string_view name, std::string_view schema_json) {
    return server().request("PUT", type_path(category, name), admin_json(),
                            R"({"schema":)" + std::string(schema_json) + "}");
  }
  // Posts one event; expects 202 and returns its id.
  static std::string accept(const App& app, const json::object& event) {
    HttpResponse r = post_value(server(), app.token, event);
    EXPECT_EQ(r.status, 202) << dump(event) << " -> " << r.summary();
    return r.status == 202 ? str(r.json(), "id") : std::string();
  }
};

// ---------------------------------------------------------------- timestamps

TEST_F(EventsTest, EveryTimestampFormIsStoredAsUtc) {
  App app = make_app(server(), unique("ts-forms"));
  struct Case {
    std::string sent, want;
  };
  std::vector<Case> cases = {
      {"2021-01-01T09:15:27Z", "2021-01-01T09:15:27Z"},
      {"2021-01-01 09:15:27Z", "2021-01-01T09:15:27Z"},
      {"2021-01-01T09:15:27", "2021-01-01T09:15:27Z"},  // no offset: UTC
      {"2021-01-01 09:15:27", "2021-01-01T09:15:27Z"},
      {"2021-01-01 09:15:27.243860", "2021-01-01T09:15:27.243860Z"},
      {"2021-01-01T10:15:27+01:00", "2021-01-01T09:15:27Z"},
      {"2021-01-01T04:15:27-05:00", "2021-01-01T09:15:27Z"},
      {"2021-01-01T09:15:27+00:00", "2021-01-01T09:15:27Z"},
      {"2021-01-01T09:15:27-00:00", "2021-01-01T09:15:27Z"},
      {"2021-01-01T14:45:27.5+05:30", "2021-01-01T09:15:27.5Z"},
      {"2021-01-01T03:45:27.000001-05:30", "2021-01-01T09:15:27.000001Z"},
      {"2021-01-01 10:15:27.243860+01:00", "2021-01-01T09:15:27.243860Z"},
      {"2021-01-01T00:30:00+01:00", "2020-12-31T23:30:00Z"},  // back across a year
      {"2020-12-31T23:15:27-10:00", "2021-01-01T09:15:27Z"},  // forward across a year
      {"2020-02-29T12:00:00Z", "2020-02-29T12:00:00Z"},
      {"2021-01-01T09:15:27.000Z", "2021-01-01T09:15:27Z"},
      {"1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z"},  // before the epoch
      {"1970-01-01T00:30:00+01:00", "1969-12-31T23:30:00Z"},
  };
  // 0 to 9 fraction digits, with Z, with no offset and with a space.
  const std::string digits = "123456789";
  for (std::size_t k = 0; k <= 9; ++k) {
    std::string frac = k == 0 ? "" : "." + digits.substr(0, k);
    cases.push_back({"2021-01-01T09:15:27" + frac + "Z", "2021-01-01T09:15:27" + frac + "Z"});
    cases.push_back({"2021-01-01 09:15:27" + frac, "2021-01-01T09:15:27" + frac + "Z"});
    cases.push_back({"2021-01-01T11:15:27" + frac + "+02:00", "2021-01-01T09:15:27" + frac + "Z"});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE("timestamp " + c.sent);
    std::string session = new_session();
    std::string id = accept(app, ev(session, "ts", "form", json::object{}, c.sent));
    ASSERT_FALSE(id.empty());
    EXPECT_TRUE(is_uuid_v7(id)) << id;
    std::vector<json::value> items = read_events(server(), bearer(app.token), "session_id=" + session);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(str(items[0], "id"), id);
    std::string got = str(items[0], "timestamp");
    EXPECT_TRUE(is_utc_text(got)) << got;
    EXPECT_EQ(canon_ts(got), canon_ts(c.want)) << "stored as " << got;
  }
  // The brief's own example, character for character.
  std::string session = new_session();
  accept(app, ev(session, "ts", "form", json::object{}, "2021-01-01 09:15:27.243860"));
  auto items = read_events(server(), bearer(app.token), "session_id=" + session);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(str(items[0], "timestamp"), "2021-01-01T09:15:27.243860Z");
}

TEST_F(EventsTest, FutureAndMalformedTimestampsAreRejected) {
  App app = make_app(server(), unique("ts-bad"));
  std::string session = new_session();
  for (std::string ts : {now_plus(3600s), now_plus(120s), std::string("9999-12-31T23:59:59Z"),
                         iso_utc(std::chrono::system_clock::now() + 2h).substr(0, 19) + "+00:00"}) {
    SCOPED_TRACE("future timestamp " + ts);
    HttpResponse r = post_value(server(), app.token, ev(session, "ts", "future", json::object{}, ts));
    ASSERT_TRUE(IsValidationError(r, {"timestamp"})) << r.summary();
    EXPECT_EQ(error_message(r, "timestamp"), "timestamp is in the future");
  }
  // Within the default 60 s of skew, and in the past: accepted.
  accept(app, ev(session, "ts", "near", json::object{}, now_plus(10s)));
  accept(app, ev(session, "ts", "now", json::object{}, now_plus(0s)));
  accept(app, ev(session, "ts", "old", json::object{}, "1970-01-01T00:00:00Z"));

  const char* bad[] = {
      "2021-01-01",                       // date only
      "2021-01-01T09:15:27.1234567891Z",  // 10 fraction digits
      "2021-02-30T09:15:27Z",             // no such day
      "2021-13-01T09:15:27Z",
      "2021-01-01T24:00:00Z",
      "2021-01-01T09:60:00Z",
      "2021-01-01T09:15:27+25:00",
      "2021-01-01T09:15:27.Z",
      "2021-01-01X09:15:27Z",
      "2021-01-01T09:15:27Z junk",
      "01/01/2021 09:15:27",
      "yesterday",
      "",
  };
  for (const char* ts : bad) {
    SCOPED_TRACE(std::string("bad timestamp '") + ts + "'");
    HttpResponse r = post_value(server(), app.token, ev(session, "ts", "bad", json::object{}, ts));
    EXPECT_TRUE(IsValidationError(r, {"timestamp"})) << r.summary();
    EXPECT_NE(error_message(r, "timestamp"), "timestamp is in the future");
  }
  json::object number = ev(session, "ts", "bad", json::object{});
  number["timestamp"] = 1609492527;
  EXPECT_TRUE(IsValidationError(post_value(server(), app.token, number), {"timestamp"}));
  json::object missing = ev(session, "ts", "bad", json::object{});
  missing.erase("timestamp");
  EXPECT_TRUE(IsValidationError(post_value(server(), app.token, missing), {"timestamp"}));

  // Only the three accepted events were stored.
  auto items = read_events(server(), bearer(app.token), "session_id=" + session);
  std::vector<std::string> names = names_of(items);
  EXPECT_EQ(names, (std::vector<std::string>{"old", "now", "near"}));
}

// ---------------------------------------------------------------- envelope

TEST_F(EventsTest, EnvelopeIsChecked) {
  App app = make_app(server(), unique("envelope"));
  std::string s = new_session();
  struct Case {
    std::string label;
    json::value event;
    std::vector<std::string> fields;
  };
  auto without = [&](std::string_view key) {
    json::object e = ev(s, "c", "n", json::object{});
    e.erase(key);
    return json::value(e);
  };
  auto with_field = [&](std::string_view key, json::value v) {
    json::object e = ev(s, "c", "n", json::object{});
    e[key] = std::move(v);
    return json::value(e);
  };
  std::vector<Case> cases = {
      {"no session", without("session_id"), {"session_id"}},
      {"session not a uuid", with_field("session_id", "not-a-uuid"), {"session_id"}},
      {"session uuid without dashes", with_field("session_id", "0190c7a25b1e7c3d9f002a1b3c4d5e6f"), {"session_id"}},
      {"session a number", with_field("session_id", 12), {"session_id"}},
      {"no category", without("category"), {"category"}},
      {"empty category", with_field("category", ""), {"category"}},
      {"category a number", with_field("category", 3), {"category"}},
      {"no name", without("name"), {"name"}},
      {"empty name", with_field("name", ""), {"name"}},
      {"name of 129 characters", with_field("name", json::string(129, 'n')), {"name"}},
      {"category of 129 characters", with_field("category", json::string(129, 'c')), {"category"}},
      {"no data", without("data"), {"data"}},
      {"data null", with_field("data", nullptr), {"data"}},
      {"data an array", with_field("data", json::array{1, 2}), {"data"}},
      {"data a string", with_field("data", "x"), {"data"}},
      {"unknown field", with_field("extra", true), {"extra"}},
      {"an array, not an event", json::array{}, {""}},
      {"a string, not an event", "event", {""}},
      {"nothing", json::object{}, {"session_id", "category", "name", "data", "timestamp"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label + ": " + dump(c.event));
    HttpResponse r = post_value(server(), app.token, c.event);
    EXPECT_TRUE(IsValidationError(r, c.fields)) << r.summary();
  }

  // 128 characters (here 256 bytes) is the limit, counted in characters.
  std::string long_name;
  for (int i = 0; i < 128; ++i) long_name += "\xC3\xA9";  // é
  std::string id = accept(app, ev(s, std::string(128, 'c'), long_name, json::object{{"k", 1}}));
  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  ASSERT_EQ(items.size(), 1u) << "only the valid event is stored";
  EXPECT_EQ(str(items[0], "id"), id);
  EXPECT_EQ(str(items[0], "name"), long_name);
  EXPECT_EQ(at(items[0], "data"), J(R"({"k":1})"));

  // Who may send, and in what form.
  json::object good = ev(s, "c", "n", json::object{});
  HttpResponse admin = server().request("POST", "/v1/events", admin_json(), dump(good));
  EXPECT_TRUE(IsProblem(admin, 403, "forbidden")) << admin.summary();
  HttpResponse anonymous = server().request("POST", "/v1/events", json_content(), dump(good));
  EXPECT_EQ(anonymous.status, 401) << anonymous.summary();
  HttpResponse bad_token = post_text(server(), "dsy_app_not-a-real-token", dump(good));
  EXPECT_EQ(bad_token.status, 401) << bad_token.summary();
  HttpResponse malformed = post_text(server(), app.token, R"({"session_id": ")" + s + R"(", "category": )");
  EXPECT_TRUE(IsProblem(malformed, 400, "malformed-json")) << malformed.summary();
  HttpResponse xml = post_text(server(), app.token, dump(good), {{"Content-Type", "application/xml"}});
  EXPECT_EQ(xml.status, 415) << xml.summary();
  // text/plain is JSON too: navigator.sendBeacon sends that.
  HttpResponse text = post_text(server(), app.token, dump(good), {{"Content-Type", "text/plain;charset=UTF-8"}});
  EXPECT_EQ(text.status, 202) << text.summary();
  EXPECT_EQ(read_events(server(), bearer(app.token), "session_id=" + s).size(), 2u);
}

// ---------------------------------------------------------------- default types

TEST_F(EventsTest, DefaultTypesAreInstalled) {
  HttpResponse list = server().get("/v1/event-types", server().admin());
  ASSERT_EQ(list.status, 200) << list.summary();
  std::set<std::pair<std::string, std::string>> found;
  json::value listed = list.json();
  for (const auto& t : arr(listed, "items")) {
    found.emplace(str(t, "category"), str(t, "name"));
    EXPECT_TRUE(at(t, "schema").is_object()) << dump(t);
  }
  for (auto [c, n] : {std::pair{"page interaction", "pageview"}, std::pair{"page interaction", "cta click"},
                      std::pair{"form interaction", "submit"}}) {
    EXPECT_EQ(found.count({c, n}), 1u) << c << " / " << n << " missing from " << list.body.substr(0, 600);
    HttpResponse one = server().get(type_path(c, n), server().admin());
    ASSERT_EQ(one.status, 200) << one.summary();
    EXPECT_EQ(str(one.json(), "category"), c);
    EXPECT_EQ(str(one.json(), "name"), n);
    EXPECT_TRUE(at(one.json(), "schema").is_object());
  }
  App app = make_app(server(), unique("types-reader"));
  EXPECT_TRUE(IsProblem(server().get("/v1/event-types", bearer(app.token)), 403, "forbidden"));
  EXPECT_TRUE(IsProblem(server().get(type_path("page interaction", "pageview"), bearer(app.token)), 403, "forbidden"));
}

// The list is paged in (category, name) order; following next_cursor visits
// every type once, whatever the names hold.
TEST_F(EventsTest, EventTypesArePaged) {
  std::string category = unique("paged");
  std::vector<std::string> names = {"a", "b b", "c/d", "e\u00e9", "f%2F", "g"};
  for (const auto& n : names) ASSERT_EQ(put_type(category, n, R"({"type":"object"})").status, 201) << n;
  std::vector<std::pair<std::string, std::string>> seen;
  std::string after;
  int pages = 0;
  for (;;) {
    std::string target = "/v1/event-types?limit=2" + (after.empty() ? std::string() : "&after=" + after);
    HttpResponse page = server().get(target, server().admin());
    ASSERT_EQ(page.status, 200) << page.summary();
    json::value v = page.json();
    EXPECT_LE(arr(v, "items").size(), 2u);
    for (const auto& t : arr(v, "items")) seen.emplace_back(str(t, "category"), str(t, "name"));
    ++pages;
    ASSERT_LT(pages, 10000) << "paging does not end";
    if (at(v, "next_cursor").is_null()) break;
    after = str(v, "next_cursor");
  }
  auto sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(seen, sorted) << "pages come in (category, name) order";
  EXPECT_EQ(std::set(seen.begin(), seen.end()).size(), seen.size()) << "a type was listed twice";
  std::vector<std::string> mine;
  for (const auto& [c, n] : seen) {
    if (c == category) mine.push_back(n);
  }
  auto expected = names;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(mine, expected);
  EXPECT_TRUE(IsValidationError(server().get("/v1/event-types?after=zz", server().admin()), {"after"}));
  EXPECT_TRUE(IsValidationError(server().get("/v1/event-types?limit=0", server().admin()), {"limit"}));
}

TEST_F(EventsTest, DefaultTypesAcceptValidAndRejectInvalidData) {
  App app = make_app(server(), unique("default-types"));
  std::string s = new_session();
  struct Valid {
    const char* category;
    const char* name;
    const char* data;
  };
  const Valid valid[] = {
      {"page interaction", "pageview", R"({"host":"example.org","path":"/"})"},
      {"page interaction", "pageview", R"({"host":"example.org","path":"/a?b=c","referrer":"x"})"},
      {"page interaction", "cta click", R"({"host":"example.org","path":"/","element":"#buy"})"},
      {"form interaction", "submit",
       R"({"host":"example.org","path":"/join","form":{"first_name":"Ada","last_name":"Lovelace"}})"},
      {"form interaction", "submit", R"({"host":"h","path":"/","form":{"first_name":"","last_name":"L","email":"x"}})"},
  };
  std::set<std::string> ids;
  for (const auto& c : valid) {
    SCOPED_TRACE(std::string(c.category) + "/" + c.name + " " + c.data);
    ids.insert(accept(app, ev(s, c.category, c.name, J(c.data))));
  }

  struct Invalid {
    const char* category;
    const char* name;
    const char* data;
    const char* field;
    const char* mentions;
  };
  const Invalid invalid[] = {
      {"page interaction", "pageview", R"({"host":"example.org"})", "data", "path"},
      {"page interaction", "pageview", R"({"path":"/"})", "data", "host"},
      {"page interaction", "pageview", R"({})", "data", "host"},
      {"page interaction", "pageview", R"({"host":1,"path":"/"})", "data.host", ""},
      {"page interaction", "pageview", R"({"host":"h","path":["/"]})", "data.path", ""},
      {"page interaction", "cta click", R"({"host":"h","path":"/"})", "data", "element"},
      {"page interaction", "cta click", R"({"host":"h","path":"/","element":5})", "data.element", ""},
      {"page interaction", "cta click", R"({"element":"#buy","path":"/"})", "data", "host"},
      {"form interaction", "submit", R"({"host":"h","path":"/"})", "data", "form"},
      {"form interaction", "submit", R"({"host":"h","path":"/","form":{"first_name":"Ada"}})", "data.form",
       "last_name"},
      {"form interaction", "submit", R"({"host":"h","path":"/","form":{"last_name":"L"}})", "data.form", "first_name"},
      {"form interaction", "submit", R"({"host":"h","path":"/","form":"Ada Lovelace"})", "data.form", ""},
      {"form interaction", "submit", R"({"host":"h","path":"/","form":{"first_name":1,"last_name":"L"}})",
       "data.form.first_name", ""},
      {"form interaction", "submit", R"({"path":"/","form":{"first_name":"A","last_name":"L"}})", "data", "host"},
  };
  for (const auto& c : invalid) {
    SCOPED_TRACE(std::string(c.category) + "/" + c.name + " " + c.data);
    HttpResponse r = post_value(server(), app.token, ev(s, c.category, c.name, J(c.data)));
    EXPECT_TRUE(HasError(r, c.field, c.mentions)) << r.summary();
    for (const auto& f : error_fields(r)) {
      EXPECT_EQ(f.rfind("data", 0), 0u) << "a schema error names a place in data: " << r.body;
    }
  }
  // The brief's example message.
  HttpResponse r =
      post_value(server(), app.token, ev(s, "page interaction", "pageview", J(R"({"host":"example.org"})")));
  EXPECT_EQ(error_message(r, "data"), "Missing required property 'path'.") << r.body;

  // Only the valid ones were stored, with their data as sent.
  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  ASSERT_EQ(items.size(), std::size(valid));
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(ids.count(str(items[i], "id")), 1u);
    EXPECT_EQ(at(items[i], "data"), J(valid[i].data));
    EXPECT_EQ(str(items[i], "category"), valid[i].category);
    EXPECT_EQ(str(items[i], "name"), valid[i].name);
  }
}

// ---------------------------------------------------------------- runtime types

TEST_F(EventsTest, SchemaReplacedAtRuntimeAppliesToTheNextEvent) {
  App app = make_app(server(), unique("runtime-schema"));
  std::string category = unique("signup flow"), s = new_session();
  HttpResponse created = put_type(category, "signup",
                                  R"({"type":"object","required":["email"],"properties":{"email":{"type":"string"}}})");
  ASSERT_EQ(created.status, 201) << created.summary();
  EXPECT_EQ(str(created.json(), "category"), category);
  EXPECT_EQ(str(created.json(), "name"), "signup");
  std::string created_at = str(created.json(), "created_at");

  json::object with_email = ev(s, category, "signup", J(R"({"email":"ada@example.org"})"));
  json::object with_plan = ev(s, category, "signup", J(R"({"plan":"pro"})"));
  accept(app, with_email);
  EXPECT_TRUE(HasError(post_value(server(), app.token, with_plan), "data", "email"));

  std::string schema2 = R"({"type":"object","required":["plan"],"properties":{"plan":{"enum":["free","pro"]}}})";
  HttpResponse replaced = put_type(category, "signup", schema2);
  ASSERT_EQ(replaced.status, 200) << replaced.summary();
  EXPECT_EQ(at(replaced.json(), "schema"), J(schema2));
  EXPECT_EQ(str(replaced.json(), "created_at"), created_at) << "replacing keeps the creation time";

  // The very next event is checked against the new schema.
  EXPECT_TRUE(HasError(post_value(server(), app.token, with_email), "data", "plan"));
  accept(app, with_plan);
  EXPECT_TRUE(
      HasError(post_value(server(), app.token, ev(s, category, "signup", J(R"({"plan":"gold"})"))), "data.plan"));
  // Inside a batch too.
  HttpResponse batch = post_value(server(), app.token, batch_of({with_email, with_plan}));
  ASSERT_EQ(batch.status, 202) << batch.summary();
  EXPECT_EQ(num(batch.json(), "accepted"), 1);
  auto rejected = rejected_by_index(batch.json());
  ASSERT_EQ(rejected.size(), 1u) << batch.body;
  EXPECT_TRUE(HasError(rejected[0], "data", "plan"));

  HttpResponse got = server().get(type_path(category, "signup"), server().admin());
  ASSERT_EQ(got.status, 200) << got.summary();
  EXPECT_EQ(at(got.json(), "schema"), J(schema2));
  EXPECT_EQ(str(got.json(), "created_at"), created_at);

  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  EXPECT_EQ(names_of(items).size(), 3u);
}

TEST_F(EventsTest, SchemaFormatsAreEnforced) {
  App app = make_app(server(), unique("formats"));
  std::string category = unique("formats"), s = new_session();
  HttpResponse put = put_type(category, "contact", R"({"type":"object","properties":{
      "email":{"type":"string","format":"email"},
      "ref":{"type":"string","format":"uuid"},
      "site":{"type":"string","format":"uri"},
      "at":{"type":"string","format":"date-time"}}})");
  ASSERT_EQ(put.status, 201) << put.summary();
  const char* valid[] = {
      R"({"email":"ada@example.org"})",
      R"({"email":"a.b+c@sub.example.co.uk"})",
      R"({"ref":"0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6f"})",
      R"({"site":"https://example.org/a?b=c"})",
      R"({"site":"mailto:ada@example.org"})",
      R"({"at":"2021-01-01T09:15:27Z"})",
      R"({"at":"2021-01-01T09:15:27.5+01:00"})",
      R"({})",
  };
  for (const char* data : valid) {
    SCOPED_TRACE(data);
    accept(app, ev(s, category, "contact", J(data)));
  }
  struct Bad {
    const char* data;
    const char* field;
  };
  const Bad invalid[] = {
      {R"({"email":"not-an-email"})", "data.email"},
      {R"({"email":"ada@"})", "data.email"},
      {R"({"email":"ada example@example.org"})", "data.email"},
      {R"({"ref":"1234"})", "data.ref"},
      {R"({"ref":"0190c7a2-5b1e-7c3d-9f00-2a1b3c4d5e6g"})", "data.ref"},
      {R"({"site":"not a uri"})", "data.site"},
      {R"({"site":"/relative/path"})", "data.site"},
      {R"({"at":"yesterday"})", "data.at"},
      {R"({"at":"2021-01-01"})", "data.at"},
  };
  for (const auto& c : invalid) {
    SCOPED_TRACE(c.data);
    HttpResponse r = post_value(server(), app.token, ev(s, category, "contact", J(c.data)));
    EXPECT_TRUE(HasError(r, c.field)) << r.summary();
  }
  EXPECT_EQ(read_events(server(), bearer(app.token), "session_id=" + s).size(), std::size(valid));
}

TEST_F(EventsTest, BrokenSchemaIsRefused) {
  std::string category = unique("broken");
  struct Case {
    const char* label;
    std::string body;
    const char* field;
  };
  const Case cases[] = {
      {"schema a string", R"({"schema":"an object please"})", "schema"},
      {"schema an array", R"({"schema":[1,2]})", "schema"},
      {"type a number", R"({"schema":{"type":12}})", "schema"},
      {"required not a list", R"({"schema":{"type":"object","required":"email"}})", "schema"},
      {"no schema", R"({})", "schema"},
      {"unknown member", R"({"schema":{"type":"object"},"extra":1})", "extra"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    HttpResponse r = server().request("PUT", type_path(category, "t"), admin_json(), c.body);
    EXPECT_TRUE(HasFieldError(r, c.field)) << r.summary();
  }
  HttpResponse absent = server().get(type_path(category, "t"), server().admin());
  EXPECT_TRUE(IsProblem(absent, 404, "not-found")) << "a refused schema is not stored: " << absent.summary();
  EXPECT_EQ(server().get("/v1/event-types?limit=1000", server().admin()).body.find(category), std::string::npos);

  HttpResponse not_json = server().request("PUT", type_path(category, "t"), admin_json(), "{\"schema\":");
  EXPECT_EQ(not_json.status, 400) << not_json.summary();
  App app = make_app(server(), unique("types-writer"));
  HttpResponse by_app =
      server().request("PUT", type_path(category, "t"), token_json(app.token), R"({"schema":{"type":"object"}})");
  EXPECT_TRUE(IsProblem(by_app, 403, "forbidden")) << by_app.summary();
  EXPECT_TRUE(IsProblem(server().request("DELETE", type_path("page interaction", "pageview"), bearer(app.token)), 403,
                        "forbidden"));
  EXPECT_EQ(server().get(type_path(category, "t"), server().admin()).status, 404);
}

TEST_F(EventsTest, DeletedTypeBecomesUnknownAndIsAcceptedByDefault) {
  App app = make_app(server(), unique("delete-type"));
  std::string category = unique("doomed"), s = new_session();
  ASSERT_EQ(put_type(category, "thing", R"({"type":"object","required":["x"]})").status, 201);
  EXPECT_EQ(server().get(type_path(category, "thing"), server().admin()).status, 200);
  EXPECT_NE(server().get("/v1/event-types?limit=1000", server().admin()).body.find(category), std::string::npos);
  json::object event = ev(s, category, "thing", json::object{{"y", 1}});
  EXPECT_TRUE(HasError(post_value(server(), app.token, event), "data", "x"));

  HttpResponse del = server().request("DELETE", type_path(category, "thing"), server().admin());
  ASSERT_EQ(del.status, 204) << del.summary();
  EXPECT_TRUE(del.body.empty());
  EXPECT_TRUE(IsProblem(server().get(type_path(category, "thing"), server().admin()), 404, "not-found"));
  EXPECT_EQ(server().get("/v1/event-types?limit=1000", server().admin()).body.find(category), std::string::npos);
  std::string id = accept(app, event);  // unknown now, and this app accepts unknown types
  EXPECT_EQ(server().request("DELETE", type_path(category, "thing"), server().admin()).status, 404);

  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(str(items[0], "id"), id);
}

// ---------------------------------------------------------------- batches

TEST_F(EventsTest, MixedBatchReportsIndexesAndIdsReadBack) {
  App app = make_app(server(), unique("mixed"));
  std::string s = new_session();
  json::object no_session = ev(s, "c", "no-session", json::object{});
  no_session.erase("session_id");
  std::vector<json::object> events = {
      ev(s, "page interaction", "pageview", pageview_data(), "2021-01-01T09:00:00Z"),  // 0 ok
      no_session,                                                                      // 1
      ev(s, "custom", "unknown-type", J(R"({"any":[1,2]})"), "2021-01-01T09:00:01Z"),  // 2 ok
      ev(s, "page interaction", "pageview", J(R"({"host":"h"})")),                     // 3 schema
      ev(s, "c", "future", json::object{}, now_plus(3600s)),                           // 4 future
      ev(s, "form interaction", "submit",                                              // 5 ok
         J(R"({"host":"h","path":"/","form":{"first_name":"A","last_name":"L"}})"), "2021-01-01T09:00:02Z"),
  };
  json::object batch = batch_of(events);
  batch["events"].as_array().push_back("not an event");  // 6
  HttpResponse r = post_value(server(), app.token, batch);
  ASSERT_EQ(r.status, 202) << r.summary();
  json::value reply = r.json();
  EXPECT_EQ(num(reply, "accepted"), 3);
  std::vector<std::string> ids = ids_in(reply);
  ASSERT_EQ(ids.size(), 3u) << r.body;
  for (const auto& id : ids) EXPECT_TRUE(is_uuid_v7(id)) << id;
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u);

  auto rejected = rejected_by_index(reply);
  std::vector<std::int64_t> indexes;
  for (const auto& [i, e] : rejected) indexes.push_back(i);
  EXPECT_EQ(indexes, (std::vector<std::int64_t>{1, 3, 4, 6})) << r.body;
  EXPECT_TRUE(HasError(rejected[1], "session_id"));
  EXPECT_TRUE(HasError(rejected[3], "data", "path"));
  EXPECT_TRUE(HasError(rejected[4], "timestamp", "timestamp is in the future"));
  EXPECT_TRUE(HasError(rejected[6], ""));
  for (const auto& [i, e] : rejected) EXPECT_EQ(e.size(), 1u) << i << ": " << dump(e);

  // The ids are those of events 0, 2 and 5, in the batch's order.
  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  ASSERT_EQ(items.size(), 3u);
  std::vector<std::string> read_ids;
  for (const auto& i : items) read_ids.push_back(str(i, "id"));
  EXPECT_EQ(read_ids, ids);
  EXPECT_EQ(names_of(items), (std::vector<std::string>{"pageview", "unknown-type", "submit"}));
  EXPECT_EQ(at(items[1], "data"), J(R"({"any":[1,2]})"));
  for (const auto& i : items) {
    EXPECT_EQ(str(i, "app_id"), app.id);
    EXPECT_EQ(str(i, "session_id"), s);
  }
}

TEST_F(EventsTest, AllRejectedBatchIs422WithTheSameMembers) {
  App app = make_app(server(), unique("all-rejected"));
  std::string s = new_session();
  json::object bad_session = ev(s, "c", "n", json::object{});
  bad_session["session_id"] = "nope";
  HttpResponse r =
      post_value(server(), app.token, batch_of({bad_session, ev(s, "page interaction", "pageview", json::object{})}));
  ASSERT_TRUE(IsProblem(r, 422, "events-rejected")) << r.summary();
  json::value v = r.json();
  EXPECT_EQ(at(v, "accepted"), json::value(0));
  ASSERT_TRUE(at(v, "ids").is_array()) << r.body;
  EXPECT_TRUE(arr(v, "ids").empty());
  auto rejected = rejected_by_index(v);
  ASSERT_EQ(rejected.size(), 2u) << r.body;
  EXPECT_TRUE(HasError(rejected[0], "session_id"));
  EXPECT_TRUE(HasError(rejected[1], "data"));
  EXPECT_TRUE(read_events(server(), bearer(app.token), "session_id=" + s).empty());

  // A single rejected event in a batch is still a batch reply.
  HttpResponse one = post_value(server(), app.token, batch_of({bad_session}));
  ASSERT_TRUE(IsProblem(one, 422, "events-rejected")) << one.summary();
  EXPECT_EQ(rejected_by_index(one.json()).count(0), 1u);
}

TEST_F(EventsTest, EmptyAndNonArrayBatchesAreRefused) {
  App app = make_app(server(), unique("empty-batch"));
  HttpResponse empty = post_text(server(), app.token, R"({"events":[]})");
  EXPECT_TRUE(HasFieldError(empty, "events")) << empty.summary();
  HttpResponse object = post_text(server(), app.token, R"({"events":{"a":1}})");
  EXPECT_TRUE(HasFieldError(object, "events")) << object.summary();
  HttpResponse extra = post_text(server(), app.token, R"({"events":[],"source":"collector"})");
  EXPECT_TRUE(HasFieldError(extra, "source")) << extra.summary();
  HttpResponse empty_ndjson = post_text(server(), app.token, "\n \n", {{"Content-Type", "application/x-ndjson"}});
  EXPECT_EQ(empty_ndjson.status, 422) << empty_ndjson.summary();
  EXPECT_TRUE(read_events(server(), bearer(app.token)).empty());
}

TEST_F(EventsTest, NdjsonWithABadLineAndBlankLines) {
  App app = make_app(server(), unique("ndjson"));
  std::string s = new_session();
  std::string body;
  body += dump(ev(s, "nd", "first", json::object{{"n", 1}}, "2021-01-01T09:00:00Z")) + "\n";
  body += "{\"session_id\": \"" + s + "\", this is not json\n";
  body += "\n";
  body += "   \n";
  body += dump(ev(s, "nd", "second", json::object{{"n", 2}}, "2021-01-01T09:00:01Z")) + "\r\n";
  body += dump(ev(s, "page interaction", "pageview", json::object{{"host", "h"}})) + "\n";
  body += dump(ev(s, "nd", "third", json::object{{"n", 3}}, "2021-01-01T09:00:02Z"));  // no final newline
  HttpResponse r = post_text(server(), app.token, body, {{"Content-Type", "application/x-ndjson"}});
  ASSERT_EQ(r.status, 202) << r.summary();
  json::value v = r.json();
  EXPECT_EQ(num(v, "accepted"), 3);
  std::vector<std::string> ids = ids_in(v);
  ASSERT_EQ(ids.size(), 3u);
  // Indexes count events (lines with something on them), not blank lines.
  auto rejected = rejected_by_index(v);
  ASSERT_EQ(rejected.size(), 2u) << r.body;
  ASSERT_EQ(rejected.count(1), 1u) << r.body;
  EXPECT_TRUE(HasError(rejected[1], "", "is not JSON"));
  ASSERT_EQ(rejected.count(3), 1u) << r.body;
  EXPECT_TRUE(HasError(rejected[3], "data", "path"));

  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  EXPECT_EQ(names_of(items), (std::vector<std::string>{"first", "second", "third"}));
  std::vector<std::string> read_ids;
  for (const auto& i : items) read_ids.push_back(str(i, "id"));
  EXPECT_EQ(read_ids, ids);

  // charset parameter on the media type; all lines bad -> 422 with the batch shape.
  HttpResponse bad =
      post_text(server(), app.token, "nope\n[1,2\n", {{"Content-Type", "application/x-ndjson; charset=utf-8"}});
  ASSERT_TRUE(IsProblem(bad, 422, "events-rejected")) << bad.summary();
  auto all = rejected_by_index(bad.json());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(HasError(all[0], "", "is not JSON"));
  EXPECT_TRUE(HasError(all[1], "", "is not JSON"));
  EXPECT_EQ(num(bad.json(), "accepted"), 0);
}

TEST_F(EventsTest, GzipBodies) {
  App app = make_app(server(), unique("gzip"));
  std::string s = new_session();
  std::vector<json::object> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(ev(s, "gz", "batch-" + std::to_string(i), json::object{{"i", i}, {"pad", std::string(100, 'x')}},
                        "2021-01-01T09:00:00Z"));
  }
  events.push_back(ev(s, "page interaction", "pageview", json::object{}));  // index 50: rejected
  std::string plain = dump(batch_of(events));
  std::string packed = gzip(plain);
  ASSERT_LT(packed.size(), plain.size());
  HttpResponse batch =
      post_text(server(), app.token, packed, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(batch.status, 202) << batch.summary();
  EXPECT_EQ(num(batch.json(), "accepted"), 50);
  EXPECT_EQ(rejected_by_index(batch.json()).count(50), 1u) << batch.body;

  std::string ndjson;
  for (int i = 0; i < 5; ++i) {
    ndjson += dump(ev(s, "gz", "line-" + std::to_string(i), json::object{}, "2021-01-01T09:00:01Z")) + "\n";
  }
  ndjson += "garbage\n";
  HttpResponse nd = post_text(server(), app.token, gzip(ndjson),
                              {{"Content-Type", "application/x-ndjson"}, {"Content-Encoding", "gzip"}});
  ASSERT_EQ(nd.status, 202) << nd.summary();
  EXPECT_EQ(num(nd.json(), "accepted"), 5);
  EXPECT_EQ(rejected_by_index(nd.json()).count(5), 1u) << nd.body;

  HttpResponse single =
      post_text(server(), app.token, gzip(dump(ev(s, "gz", "single", json::object{}, "2021-01-01T09:00:02Z"))),
                {{"Content-Type", "application/json"}, {"Content-Encoding", "GZIP"}});
  ASSERT_EQ(single.status, 202) << single.summary();
  std::string single_id = str(single.json(), "id");
  HttpResponse identity =
      post_text(server(), app.token, dump(ev(s, "gz", "identity", json::object{}, "2021-01-01T09:00:03Z")),
                {{"Content-Type", "application/json"}, {"Content-Encoding", "identity"}});
  EXPECT_EQ(identity.status, 202) << identity.summary();

  auto items = read_events(server(), bearer(app.token), "session_id=" + s);
  ASSERT_EQ(items.size(), 57u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(str(items[i], "name"), "batch-" + std::to_string(i));
    EXPECT_EQ(at(items[i], "data"), json::value(json::object{{"i", i}, {"pad", std::string(100, 'x')}}));
  }
  EXPECT_EQ(str(items[55], "id"), single_id);
  EXPECT_EQ(str(items[56], "name"), "identity");
}

TEST_F(EventsTest, UnsupportedEncodingAndCorruptGzip) {
  App app = make_app(server(), unique("bad-encoding"));
  std::string s = new_session();
  std::string body = dump(ev(s, "enc", "e", json::object{}));
  HttpResponse br =
      post_text(server(), app.token, body, {{"Content-Type", "application/json"}, {"Content-Encoding", "br"}});
  EXPECT_TRUE(IsProblem(br, 415, "unsupported-encoding")) << br.summary();
  HttpResponse deflate_enc =
      post_text(server(), app.token, body, {{"Content-Type", "application/json"}, {"Content-Encoding", "deflate"}});
  EXPECT_EQ(deflate_enc.status, 415) << deflate_enc.summary();

  std::string packed = gzip(body);
  std::string truncated = packed.substr(0, packed.size() - 6);
  std::string garbage = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03this is not deflate data at all";
  std::string flipped = packed;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  flipped[flipped.size() - 5] = static_cast<char>(flipped[flipped.size() - 5] ^ 0x55);  // and the CRC
  for (const auto& [label, data] : {std::pair{"truncated", truncated}, std::pair{"garbage", garbage},
                                    std::pair{"flipped", flipped}, std::pair{"plain text", body}}) {
    SCOPED_TRACE(label);
    HttpResponse r =
        post_text(server(), app.token, data, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
    EXPECT_TRUE(IsProblem(r, 400, "malformed-gzip")) << r.summary();
  }
  EXPECT_TRUE(read_events(server(), bearer(app.token)).empty());
  // The server still takes a proper gzip body.
  EXPECT_EQ(post_text(server(), app.token, packed, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}})
                .status,
            202);
}

TEST_F(EventsTest, GzipBodyInflatingBeyond16MiBIs413) {
  App app = make_app(server(), unique("gzip-bomb"));
  // About 17 MiB of JSON (whitespace inside a batch) that compresses to a few KiB.
  std::string s = new_session();
  std::string plain = "{\"events\":[" + dump(ev(s, "bomb", "b", json::object{})) + std::string(17u << 20, ' ') + "]}";
  std::string packed = gzip(plain);
  ASSERT_LT(packed.size(), 1u << 20);
  HttpResponse r =
      post_text(server(), app.token, packed, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 413) << r.summary();
  EXPECT_TRUE(read_events(server(), bearer(app.token)).empty());
  EXPECT_EQ(server().get("/healthz").status, 200);
}

TEST_F(EventsTest, DataIsCappedAt64KiB) {
  App app = make_app(server(), unique("big-data"));
  std::string s = new_session();
  json::object fits = ev(s, "bulk", "d", json::object{{"blob", std::string(60'000, 'x')}});
  EXPECT_EQ(post_value(server(), app.token, fits).status, 202);
  json::object too_big = ev(s, "bulk", "d", json::object{{"blob", std::string(70'000, 'x')}});
  EXPECT_TRUE(IsValidationError(post_value(server(), app.token, too_big), {"data"}));
}

TEST_F(EventsTest, MoreThan10000EventsIs413) {
  App app = make_app(server(), unique("big-batch"));
  std::string s = new_session();
  auto build = [&](int n) {
    std::string body = "{\"events\":[";
    std::string one = dump(ev(s, "bulk", "b", json::object{}, "2021-01-01T09:00:00Z"));
    for (int i = 0; i < n; ++i) {
      if (i) body += ',';
      body += one;
    }
    return body + "]}";
  };
  HttpResponse over = post_text(server(), app.token, build(10'001));
  EXPECT_EQ(over.status, 413) << over.summary();
  EXPECT_EQ(over.header("Content-Type").rfind("application/problem+json", 0), 0u);
  EXPECT_TRUE(read_events(server(), bearer(app.token), "session_id=" + s).empty()) << "nothing of it is stored";
  std::string ndjson;
  std::string line = dump(ev(s, "bulk", "b", json::object{}, "2021-01-01T09:00:00Z")) + "\n";
  for (int i = 0; i < 10'001; ++i) ndjson += line;
  HttpResponse over_nd = post_text(server(), app.token, gzip(ndjson),
                                   {{"Content-Type", "application/x-ndjson"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(over_nd.status, 413) << over_nd.summary();
  // Refused as a whole, each body is still one entry of the rejections log.
  auto logged = read_rejections(server(), "app_id=" + app.id);
  ASSERT_EQ(logged.size(), 2u);
  for (const auto& item : logged) {
    EXPECT_EQ(str(item, "reason"), "invalid");
    EXPECT_TRUE(item.as_object().at("payload_truncated").as_bool());
  }

  HttpResponse limit = post_text(server(), app.token, build(10'000));
  ASSERT_EQ(limit.status, 202) << limit.summary();
  EXPECT_EQ(num(limit.json(), "accepted"), 10'000);
  EXPECT_EQ(arr(limit.json(), "ids").size(), 10'000u);
  EXPECT_TRUE(arr(limit.json(), "rejected").empty());
  EXPECT_EQ(read_events(server(), bearer(app.token), "session_id=" + s).size(), 10'000u);
}

// ---------------------------------------------------------------- unknown types

TEST_F(EventsTest, UnknownTypePolicyIsPerApp) {
  App strict = make_app(server(), unique("strict"));
  App lenient = make_app(server(), unique("lenient"));
  std::string s = new_session();
  json::object unknown = ev(s, "mystery", unique("never-declared"), json::object{{"a", 1}});
  json::object known = ev(s, "page interaction", "pageview", pageview_data());

  HttpResponse fresh = server().get("/v1/apps/" + strict.id, server().admin());
  ASSERT_EQ(fresh.status, 200);
  EXPECT_EQ(str(fresh.json(), "unknown_event_types"), "accept") << fresh.body;
  accept(strict, unknown);  // accepted by default

  HttpResponse patched = patch_policy(strict.id, "reject");
  ASSERT_EQ(patched.status, 200) << patched.summary();
  EXPECT_EQ(str(patched.json(), "unknown_event_types"), "reject");
  EXPECT_EQ(str(patched.json(), "id"), strict.id);
  EXPECT_EQ(str(server().get("/v1/apps/" + strict.id, server().admin()).json(), "unknown_event_types"), "reject");
  EXPECT_EQ(str(server().get("/v1/apps/" + lenient.id, server().admin()).json(), "unknown_event_types"), "accept");

  HttpResponse refused = post_value(server(), strict.token, unknown);
  EXPECT_TRUE(IsValidationError(refused, {"name"})) << refused.summary();
  accept(strict, known);  // known types still pass
  HttpResponse in_batch = post_value(server(), strict.token, batch_of({known, unknown}));
  ASSERT_EQ(in_batch.status, 202) << in_batch.summary();
  auto rejected = rejected_by_index(in_batch.json());
  ASSERT_EQ(rejected.count(1), 1u) << in_batch.body;
  EXPECT_TRUE(HasError(rejected[1], "name"));
  accept(lenient, unknown);  // the other app is unaffected

  // Bad PATCHes.
  EXPECT_TRUE(HasFieldError(patch_policy(strict.id, "maybe"), "unknown_event_types"));
  EXPECT_TRUE(
      HasFieldError(server().request("PATCH", "/v1/apps/" + strict.id, admin_json(), R"({"colour":"red"})"), "colour"));
  EXPECT_EQ(patch_policy("00000000-0000-7000-8000-000000000000", "reject").status, 404);
  HttpResponse by_app = server().request("PATCH", "/v1/apps/" + strict.id, token_json(strict.token),
                                         R"({"unknown_event_types":"accept"})");
  EXPECT_TRUE(IsProblem(by_app, 403, "forbidden")) << by_app.summary();
  EXPECT_EQ(post_value(server(), strict.token, unknown).status, 422) << "a refused PATCH changes nothing";

  ASSERT_EQ(patch_policy(strict.id, "accept").status, 200);
  accept(strict, unknown);

  auto strict_items = read_events(server(), bearer(strict.token), "session_id=" + s);
  EXPECT_EQ(strict_items.size(), 4u);  // unknown, known, known (batch), unknown
  auto lenient_items = read_events(server(), bearer(lenient.token), "session_id=" + s);
  EXPECT_EQ(lenient_items.size(), 1u);
}

TEST_F(EventsTest, UnknownTypePolicySurvivesARestart) {
  App app = make_app(server(), unique("policy-restart"));
  ASSERT_EQ(patch_policy(app.id, "reject").status, 200);
  ASSERT_EQ(server().stop().code, 0);
  ASSERT_TRUE(server().start()) << server().start_error();
  EXPECT_EQ(str(server().get("/v1/apps/" + app.id, server().admin()).json(), "unknown_event_types"), "reject");
  HttpResponse r = post_value(server(), app.token, ev(new_session(), "mystery", "after-restart", json::object{}));
  EXPECT_TRUE(IsValidationError(r, {"name"})) << r.summary();
}

// ---------------------------------------------------------------- isolation

TEST_F(EventsTest, AppsReadOnlyTheirOwnEvents) {
  App a = make_app(server(), unique("iso-a"));
  App b = make_app(server(), unique("iso-b"));
  std::string only_a = new_session(), only_b = new_session(), shared = new_session();
  accept(a, ev(only_a, "iso", "a1", json::object{}));
  accept(a, ev(shared, "iso", "a-shared", json::object{}, "2021-01-01T09:00:00Z"));
  accept(b, ev(only_b, "iso", "b1", json::object{}));
  accept(b, ev(shared, "iso", "b-shared", json::object{}, "2021-01-01T10:00:00Z"));
  accept(b, ev(shared, "iso", "b-shared-2", json::object{}, "2021-01-01T11:00:00Z"));

  // An app passing another app's id is refused; its own id is fine.
  EXPECT_TRUE(IsProblem(server().get("/v1/events?app_id=" + b.id, bearer(a.token)), 403, "forbidden"));
  EXPECT_TRUE(IsProblem(server().get("/v1/events?app_id=" + a.id, bearer(b.token)), 403, "forbidden"));
  EXPECT_EQ(server().get("/v1/events?app_id=" + a.id, bearer(a.token)).status, 200);

  // Without app_id: only its own events.
  auto mine = read_events(server(), bearer(a.token));
  std::set<std::string> names;
  for (const auto& e : mine) {
    EXPECT_EQ(str(e, "app_id"), a.id) << dump(e);
    names.insert(str(e, "name"));
  }
  EXPECT_EQ(names, (std::set<std::string>{"a1", "a-shared"}));
  EXPECT_TRUE(read_events(server(), bearer(a.token), "session_id=" + only_b).empty());
  EXPECT_EQ(names_of(read_events(server(), bearer(a.token), "session_id=" + shared)),
            (std::vector<std::string>{"a-shared"}));

  // Sessions: another app's session is not found; a shared one shows only its own part.
  EXPECT_TRUE(IsProblem(server().get("/v1/sessions/" + only_b, bearer(a.token)), 404, "not-found"));
  EXPECT_EQ(server().get("/v1/sessions/" + only_b, bearer(b.token)).status, 200);
  HttpResponse part = server().get("/v1/sessions/" + shared, bearer(b.token));
  ASSERT_EQ(part.status, 200) << part.summary();
  EXPECT_EQ(num(part.json(), "count"), 2);
  EXPECT_EQ(str(part.json(), "first_timestamp"), "2021-01-01T10:00:00Z");
  json::value part_json = part.json();
  for (const auto& e : arr(part_json, "events")) EXPECT_EQ(str(e, "app_id"), b.id);

  // The admin sees both.
  auto both = read_events(server(), server().admin(), "session_id=" + shared);
  EXPECT_EQ(names_of(both), (std::vector<std::string>{"a-shared", "b-shared", "b-shared-2"}));
  HttpResponse whole = server().get("/v1/sessions/" + shared, server().admin());
  ASSERT_EQ(whole.status, 200) << whole.summary();
  EXPECT_EQ(num(whole.json(), "count"), 3);
  EXPECT_EQ(str(whole.json(), "first_timestamp"), "2021-01-01T09:00:00Z");
  EXPECT_EQ(str(whole.json(), "last_timestamp"), "2021-01-01T11:00:00Z");
  auto b_by_admin = read_events(server(), server().admin(), "app_id=" + b.id);
  EXPECT_EQ(b_by_admin.size(), 3u);
  for (const auto& e : b_by_admin) EXPECT_EQ(str(e, "app_id"), b.id);
  EXPECT_EQ(server().get("/v1/sessions/" + only_a, server().admin()).status, 200);
  EXPECT_EQ(server().get("/v1/sessions/" + only_b, server().admin()).status, 200);

  // The rejections log is for the admin only.
  EXPECT_TRUE(IsProblem(server().get("/v1/events/rejections", bearer(a.token)), 403, "forbidden"));
  EXPECT_EQ(server().get("/v1/events", {}).status, 401);

  // A deleted app's token no longer reads.
  ASSERT_EQ(server().request("DELETE", "/v1/apps/" + b.id, server().admin()).status, 204);
  EXPECT_EQ(server().get("/v1/events", bearer(b.token)).status, 401);
}

// ---------------------------------------------------------------- queries

TEST_F(EventsTest, FiltersByCategoryNameAndTime) {
  App app = make_app(server(), unique("filters"));
  std::string s = new_session();
  // Sent out of order: reads are ordered by the event's timestamp.
  std::vector<json::object> events = {
      ev(s, "q cat", "beta", json::object{{"n", 2}}, "2020-03-01T00:00:02Z"),
      ev(s, "page interaction", "pageview", pageview_data(), "2020-03-01T00:00:05Z"),
      ev(s, "q cat", "alpha", json::object{{"n", 1}}, "2020-03-01T00:00:01Z"),
      ev(s, "other", "alpha", json::object{{"n", 4}}, "2020-03-01T00:00:04Z"),
      ev(s, "page interaction", "pageview", pageview_data(), "2020-03-01T00:00:00Z"),
      ev(s, "q cat", "alpha", json::object{{"n", 3}}, "2020-03-01 00:00:03"),
  };
  HttpResponse r = post_value(server(), app.token, batch_of(events));
  ASSERT_EQ(r.status, 202) << r.summary();
  ASSERT_EQ(num(r.json(), "accepted"), 6);

  // Each event is named by its second: "0".."5".
  auto seconds = [&](const std::string& query) {
    std::vector<std::string> out;
    for (const auto& e : read_events(server(), bearer(app.token), query)) {
      std::string ts = str(e, "timestamp");
      out.push_back(ts.size() >= 19 ? ts.substr(18, 1) : ts);
    }
    std::string joined;
    for (const auto& x : out) joined += x;
    return joined;
  };
  EXPECT_EQ(seconds(""), "012345");
  EXPECT_EQ(seconds("session_id=" + s), "012345");
  EXPECT_EQ(seconds("category=q%20cat"), "123");
  EXPECT_EQ(seconds("category=q+cat"), "123");
  EXPECT_EQ(seconds("name=alpha"), "134");
  EXPECT_EQ(seconds("category=q%20cat&name=alpha"), "13");
  EXPECT_EQ(seconds("category=page%20interaction&name=pageview"), "05");
  EXPECT_EQ(seconds("category=nothing"), "");
  EXPECT_EQ(seconds("since=2020-03-01T00:00:02Z"), "2345") << "since is inclusive";
  EXPECT_EQ(seconds("until=2020-03-01T00:00:02Z"), "01") << "until is exclusive";
  EXPECT_EQ(seconds("since=2020-03-01T00:00:01Z&until=2020-03-01T00:00:04Z"), "123");
  EXPECT_EQ(seconds("since=" + url_encode("2020-03-01T01:00:03+01:00")), "345");
  EXPECT_EQ(seconds("since=" + url_encode("2020-03-01 00:00:03.5")), "45");
  EXPECT_EQ(seconds("until=" + url_encode("2020-02-29T19:00:01-05:00")), "0");
  EXPECT_EQ(seconds("name=alpha&since=2020-03-01T00:00:02Z&until=2020-03-01T00:00:09Z"), "34");
  EXPECT_EQ(seconds("session_id=" + new_session()), "");
  EXPECT_EQ(seconds("app_id=" + app.id + "&category=other"), "4");

  // One item in full.
  auto items = read_events(server(), bearer(app.token), "category=other");
  ASSERT_EQ(items.size(), 1u);
  const json::object& item = items[0].as_object();
  std::set<std::string> keys;
  for (const auto& kv : item) keys.emplace(kv.key());
  EXPECT_EQ(keys, (std::set<std::string>{"id", "session_id", "category", "name", "timestamp", "data", "app_id",
                                         "received_at"}));
  EXPECT_EQ(str(items[0], "session_id"), s);
  EXPECT_EQ(str(items[0], "category"), "other");
  EXPECT_EQ(str(items[0], "name"), "alpha");
  EXPECT_EQ(str(items[0], "timestamp"), "2020-03-01T00:00:04Z");
  EXPECT_EQ(at(items[0], "data"), J(R"({"n":4})"));
  EXPECT_EQ(str(items[0], "app_id"), app.id);
  EXPECT_TRUE(is_utc_text(str(items[0], "received_at"))) << str(items[0], "received_at");

  // A full page has a cursor; the last page has none.
  HttpResponse page = server().get("/v1/events?limit=4", bearer(app.token));
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(arr(page.json(), "items").size(), 4u);
  ASSERT_TRUE(at(page.json(), "next_cursor").is_string()) << page.body;
  HttpResponse rest =
      server().get("/v1/events?limit=4&after=" + url_encode(str(page.json(), "next_cursor")), bearer(app.token));
  ASSERT_EQ(rest.status, 200);
  EXPECT_EQ(arr(rest.json(), "items").size(), 2u);
  EXPECT_TRUE(at(rest.json(), "next_cursor").is_null()) << rest.body;
  HttpResponse exact = server().get("/v1/events?limit=6", bearer(app.token));
  HttpResponse after_exact =
      server().get("/v1/events?limit=6&after=" + url_encode(str(exact.json(), "next_cursor")), bearer(app.token));
  ASSERT_EQ(after_exact.status, 200) << after_exact.summary();
  EXPECT_TRUE(arr(after_exact.json(), "items").empty());
  EXPECT_TRUE(at(after_exact.json(), "next_cursor").is_null());
}

TEST_F(EventsTest, BadQueryParametersAre422) {
  App app = make_app(server(), unique("bad-query"));
  struct Case {
    std::string query;
    const char* field;
  };
  const Case cases[] = {
      {"since=yesterday", "since"},
      {"since=2020-03-01", "since"},
      {"until=2020-13-01T00:00:00Z", "until"},
      {"after=not-a-cursor", "after"},
      {"after=12", "after"},
      {"session_id=not-a-uuid", "session_id"},
      {"limit=0", "limit"},
      {"limit=1001", "limit"},
      {"limit=ten", "limit"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.query);
    EXPECT_TRUE(HasFieldError(server().get("/v1/events?" + c.query, bearer(app.token)), c.field));
    EXPECT_TRUE(HasFieldError(server().get("/v1/events?" + c.query, server().admin()), c.field));
  }
  EXPECT_TRUE(HasFieldError(server().get("/v1/sessions/not-a-uuid", bearer(app.token)), "session_id"));
  EXPECT_TRUE(HasFieldError(server().get("/v1/sessions/" + new_session() + "?after=zz", server().admin()), "after"));
  EXPECT_TRUE(HasFieldError(server().get("/v1/events/rejections?since=nope", server().admin()), "since"));
  EXPECT_TRUE(HasFieldError(server().get("/v1/events/rejections?after=abc", server().admin()), "after"));
}

TEST_F(EventsTest, PaginationWhileEventsKeepArriving) {
  App app = make_app(server(), unique("paging"));
  std::string s = new_session();
  // 30 seeds, three per second (ties across page boundaries), sent shuffled.
  std::vector<int> order(30);
  for (int i = 0; i < 30; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937{7});
  std::vector<json::object> seeds;
  auto seed_ts = [](int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2020-05-01T00:00:%02dZ", i / 3);
    return std::string(buf);
  };
  for (int i : order) seeds.push_back(ev(s, "page", "seed-" + std::to_string(i), json::object{{"i", i}}, seed_ts(i)));
  HttpResponse r = post_value(server(), app.token, batch_of(seeds));
  ASSERT_EQ(r.status, 202) << r.summary();
  std::vector<std::string> seed_ids = ids_in(r.json());
  ASSERT_EQ(seed_ids.size(), 30u);
  // Expected order: by timestamp, then arrival (position in the batch).
  std::vector<std::pair<std::string, std::size_t>> keyed;
  for (std::size_t k = 0; k < order.size(); ++k) keyed.emplace_back(seed_ts(order[k]), k);
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> expected_seeds;
  for (const auto& [ts, k] : keyed) expected_seeds.push_back(seed_ids[k]);

  // A writer keeps adding events stamped "now" (later than every seed).
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> live_ids;
  std::thread writer;
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, writer};
  writer = std::thread([&] {
    Client c = server().connect();
    for (int i = 0; !stop; ++i) {
      HttpResponse w = c.request("POST", "/v1/events", token_json(app.token),
                                 dump(ev(s, "page", "live-" + std::to_string(i), json::object{}, now_plus(0s))));
      if (w.status != 202) {
        ADD_FAILURE() << "live writer: " << w.summary();
        return;
      }
      std::lock_guard lock(mu);
      live_ids.push_back(str(w.json(), "id"));
    }
  });

  std::vector<std::string> seen;
  std::vector<std::string> seen_ts;
  std::vector<std::string> ties;  // posted with the timestamp of the page's last item: after the cursor
  std::string after;
  bool seeds_done = false;
  for (int page = 0; page < 10'000; ++page) {
    std::string target = "/v1/events?limit=7&session_id=" + s + (after.empty() ? "" : "&after=" + url_encode(after));
    HttpResponse p = server().get(target, bearer(app.token));
    ASSERT_EQ(p.status, 200) << p.summary();
    json::value v = p.json();
    for (const auto& item : arr(v, "items")) {
      seen.push_back(str(item, "id"));
      seen_ts.push_back(str(item, "timestamp"));
    }
    if (!seeds_done) {
      std::set<std::string> have(seen.begin(), seen.end());
      seeds_done = std::all_of(seed_ids.begin(), seed_ids.end(), [&](const std::string& id) { return have.count(id); });
      if (seeds_done) {
        stop = true;
        writer.join();
      }
    }
    if (at(v, "next_cursor").is_null()) {
      if (!seeds_done) ADD_FAILURE() << "the last page came before every seed was seen";
      break;
    }
    after = str(v, "next_cursor");
    if (!seeds_done && !arr(v, "items").empty()) {
      // Between pages: one event earlier than everything (it may not show up:
      // it sorts before the cursor) and one with the same timestamp as the
      // last item seen (it sorts after it, by arrival, so it must show up).
      std::string last_ts = seen_ts.back();
      accept(app, ev(s, "page", "early", json::object{}, "2019-01-01T00:00:00Z"));
      ties.push_back(accept(app, ev(s, "page", "tie", json::object{}, last_ts)));
    }
  }
  if (writer.joinable()) {
    stop = true;
    writer.join();
  }

  // No duplicates; in timestamp order.
  std::set<std::string> unique_seen(seen.begin(), seen.end());
  EXPECT_EQ(unique_seen.size(), seen.size()) << "an event was returned twice";
  for (std::size_t i = 1; i < seen_ts.size(); ++i) {
    EXPECT_LE(ts_key(seen_ts[i - 1]), ts_key(seen_ts[i])) << "out of order at " << i;
  }
  // Every seed exactly once, in order.
  std::vector<std::string> seen_seeds;
  std::set<std::string> seed_set(seed_ids.begin(), seed_ids.end());
  for (const auto& id : seen) {
    if (seed_set.count(id)) seen_seeds.push_back(id);
  }
  EXPECT_EQ(seen_seeds, expected_seeds);
  // Ties and every acknowledged live event show up.
  EXPECT_FALSE(ties.empty());
  for (const auto& id : ties) EXPECT_EQ(unique_seen.count(id), 1u) << "tie " << id << " missing";
  std::lock_guard lock(mu);
  for (const auto& id : live_ids) EXPECT_EQ(unique_seen.count(id), 1u) << "live event " << id << " missing";
  RecordProperty("pages_ties_live", std::to_string(seen.size()) + "/" + std::to_string(ties.size()) + "/" +
                                        std::to_string(live_ids.size()));
}

TEST_F(EventsTest, SessionSummary) {
  App app = make_app(server(), unique("session"));
  std::string s = new_session();
  accept(app, ev(s, "page interaction", "pageview", pageview_data(), "2020-04-01T11:00:00Z"));
  accept(app, ev(s, "page interaction", "cta click", J(R"({"host":"h","path":"/","element":"b"})"),
                 "2020-04-01T14:00:00+02:00"));
  accept(app, ev(s, "x", "start", json::object{}, "2020-04-01T10:00:00.5Z"));
  accept(app, ev(new_session(), "x", "elsewhere", json::object{}, "2020-04-01T10:30:00Z"));

  HttpResponse r = server().get("/v1/sessions/" + s, bearer(app.token));
  ASSERT_EQ(r.status, 200) << r.summary();
  json::value v = r.json();
  EXPECT_EQ(str(v, "session_id"), s);
  EXPECT_EQ(num(v, "count"), 3);
  EXPECT_EQ(canon_ts(str(v, "first_timestamp")), "2020-04-01T10:00:00.5Z") << str(v, "first_timestamp");
  EXPECT_EQ(str(v, "last_timestamp"), "2020-04-01T12:00:00Z");
  EXPECT_EQ(names_of(std::vector<json::value>(arr(v, "events").begin(), arr(v, "events").end())),
            (std::vector<std::string>{"start", "pageview", "cta click"}));
  EXPECT_TRUE(at(v, "next_cursor").is_null()) << r.body;

  // Paged: the summary still counts the whole session.
  HttpResponse first = server().get("/v1/sessions/" + s + "?limit=2", bearer(app.token));
  ASSERT_EQ(first.status, 200) << first.summary();
  EXPECT_EQ(num(first.json(), "count"), 3);
  EXPECT_EQ(arr(first.json(), "events").size(), 2u);
  ASSERT_TRUE(at(first.json(), "next_cursor").is_string()) << first.body;
  HttpResponse second = server().get(
      "/v1/sessions/" + s + "?limit=2&after=" + url_encode(str(first.json(), "next_cursor")), bearer(app.token));
  ASSERT_EQ(second.status, 200) << second.summary();
  ASSERT_EQ(arr(second.json(), "events").size(), 1u);
  EXPECT_EQ(str(arr(second.json(), "events")[0], "name"), "cta click");
  EXPECT_TRUE(at(second.json(), "next_cursor").is_null());

  // Upper-case session ids name the same session.
  std::string upper = s;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  HttpResponse by_upper = server().get("/v1/sessions/" + upper, server().admin());
  ASSERT_EQ(by_upper.status, 200) << by_upper.summary();
  EXPECT_EQ(num(by_upper.json(), "count"), 3);

  EXPECT_TRUE(IsProblem(server().get("/v1/sessions/" + new_session(), bearer(app.token)), 404, "not-found"));
  EXPECT_TRUE(IsProblem(server().get("/v1/sessions/" + new_session(), server().admin()), 404, "not-found"));
}

// ---------------------------------------------------------------- rejections

TEST_F(EventsTest, RejectionsLogKeepsReasonErrorsAndPayload) {
  App app = make_app(server(), unique("rejections"));
  App other = make_app(server(), unique("rejections-other"));
  ASSERT_EQ(patch_policy(app.id, "reject").status, 200);
  std::string s = new_session();

  std::string malformed = R"({"marker":"rej-malformed", "oops)";
  EXPECT_EQ(post_text(server(), app.token, malformed).status, 400);
  std::string invalid = R"({"marker":"rej-invalid","category":"c","name":"n","data":{},"timestamp":"never"})";
  EXPECT_EQ(post_text(server(), app.token, invalid).status, 422);
  std::string future = dump(ev(s, "c", "rej-future", json::object{}, now_plus(7200s)));
  EXPECT_EQ(post_text(server(), app.token, future).status, 422);
  std::string schema = dump(ev(s, "page interaction", "pageview", json::object{{"marker", "rej-schema"}}));
  EXPECT_EQ(post_text(server(), app.token, schema).status, 422);
  std::string unknown = dump(ev(s, "c", "rej-unknown", json::object{}));
  EXPECT_EQ(post_text(server(), app.token, unknown).status, 422);
  json::object missing_data = ev(s, "c", "rej-batch-item", json::object{});
  missing_data.erase("data");
  HttpResponse batch =
      post_value(server(), app.token, batch_of({ev(s, "page interaction", "pageview", pageview_data()), missing_data}));
  EXPECT_EQ(batch.status, 202) << batch.summary();
  std::string ndjson = "{\"marker\":\"rej-ndjson\"\n";
  EXPECT_EQ(post_text(server(), app.token, ndjson, {{"Content-Type", "application/x-ndjson"}}).status, 422);
  // Another app's rejection is not listed under this app.
  EXPECT_EQ(post_text(server(), other.token, "{").status, 400);

  auto items = read_rejections(server(), "app_id=" + app.id);
  ASSERT_EQ(items.size(), 7u) << "accepted events are not logged";
  struct Want {
    const char* reason;
    std::string field;
    std::string marker;  // in the payload
  };
  const Want want[] = {
      {"malformed", "", "rej-malformed"},
      {"invalid", "session_id", "rej-invalid"},
      {"future_timestamp", "timestamp", "rej-future"},
      {"schema", "data", "rej-schema"},
      {"unknown_type", "name", "rej-unknown"},
      {"invalid", "data", "rej-batch-item"},
      {"malformed", "", "rej-ndjson"},
  };
  std::set<std::string> seen_ids;
  for (std::size_t i = 0; i < items.size(); ++i) {
    SCOPED_TRACE("rejection " + std::to_string(i) + ": " + dump(items[i]));
    const json::value& item = items[i];
    EXPECT_EQ(str(item, "reason"), want[i].reason);
    EXPECT_EQ(str(item, "app_id"), app.id);
    EXPECT_TRUE(is_utc_text(str(item, "received_at")));
    EXPECT_FALSE(str(item, "id").empty());
    seen_ids.insert(str(item, "id"));
    EXPECT_TRUE(HasError(arr(item, "errors"), want[i].field));
    EXPECT_NE(str(item, "payload").find(want[i].marker), std::string::npos);
    EXPECT_EQ(at(item, "payload_truncated"), json::value(false));
  }
  EXPECT_EQ(seen_ids.size(), items.size());
  // Single events keep their raw text as sent.
  EXPECT_EQ(str(items[0], "payload"), malformed);
  EXPECT_EQ(str(items[1], "payload"), invalid);
  EXPECT_EQ(str(items[2], "payload"), future);
  EXPECT_EQ(str(items[3], "payload"), schema);
  EXPECT_EQ(str(items[4], "payload"), unknown);
  EXPECT_EQ(J(str(items[5], "payload")), json::value(missing_data));
  EXPECT_EQ(str(items[6], "payload"), "{\"marker\":\"rej-ndjson\"");
  EXPECT_TRUE(HasError(arr(items[1], "errors"), "timestamp"));
  EXPECT_TRUE(HasError(arr(items[1], "errors"), "marker"));
  EXPECT_TRUE(HasError(arr(items[2], "errors"), "timestamp", "timestamp is in the future"));

  // Paging and time bounds (received_at: since inclusive, until exclusive).
  HttpResponse page = server().get("/v1/events/rejections?limit=4&app_id=" + app.id, server().admin());
  ASSERT_EQ(page.status, 200) << page.summary();
  ASSERT_EQ(arr(page.json(), "items").size(), 4u);
  ASSERT_TRUE(at(page.json(), "next_cursor").is_string()) << page.body;
  HttpResponse rest = server().get(
      "/v1/events/rejections?limit=4&app_id=" + app.id + "&after=" + url_encode(str(page.json(), "next_cursor")),
      server().admin());
  ASSERT_EQ(rest.status, 200) << rest.summary();
  ASSERT_EQ(arr(rest.json(), "items").size(), 3u);
  EXPECT_EQ(str(arr(rest.json(), "items")[0], "id"), str(items[4], "id"));
  EXPECT_TRUE(at(rest.json(), "next_cursor").is_null());
  std::string t2 = url_encode(str(items[2], "received_at"));
  EXPECT_EQ(read_rejections(server(), "app_id=" + app.id + "&since=" + t2).size(), 5u);
  EXPECT_EQ(read_rejections(server(), "app_id=" + app.id + "&until=" + t2).size(), 2u);

  // Without app_id the admin sees every app's.
  std::set<std::string> apps;
  for (const auto& item : read_rejections(server())) apps.insert(str(item, "app_id"));
  EXPECT_EQ(apps.count(app.id), 1u);
  EXPECT_EQ(apps.count(other.id), 1u);
}

TEST_F(EventsTest, RejectedPayloadIsTruncatedBeyond4096Bytes) {
  App app = make_app(server(), unique("truncation"));
  // Events without a session_id, padded to an exact size.
  auto sized = [](std::size_t bytes, std::string_view tag) {
    std::string head =
        R"({"category":"c","name":")" + std::string(tag) + R"(","timestamp":"2021-01-01T00:00:00Z","data":{"pad":")";
    std::string tail = "\"}}";
    return head + std::string(bytes - head.size() - tail.size(), 'p') + tail;
  };
  std::string exact = sized(4096, "exact"), over = sized(4097, "over"), big = sized(20000, "big");
  ASSERT_EQ(exact.size(), 4096u);
  for (const auto& body : {exact, over, big}) EXPECT_EQ(post_text(server(), app.token, body).status, 422);
  auto items = read_rejections(server(), "app_id=" + app.id);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(str(items[0], "payload"), exact);
  EXPECT_EQ(at(items[0], "payload_truncated"), json::value(false));
  EXPECT_EQ(str(items[1], "payload"), over.substr(0, 4096));
  EXPECT_EQ(at(items[1], "payload_truncated"), json::value(true));
  EXPECT_EQ(str(items[2], "payload"), big.substr(0, 4096));
  EXPECT_EQ(at(items[2], "payload_truncated"), json::value(true));
  for (const auto& item : items) EXPECT_TRUE(HasError(arr(item, "errors"), "session_id"));
}

TEST_F(EventsTest, RejectionMetricsCountByReason) {
  App app = make_app(server(), unique("metrics"));
  App strict = make_app(server(), unique("metrics-strict"));
  ASSERT_EQ(patch_policy(strict.id, "reject").status, 200);
  std::string s = new_session();
  const char* reasons[] = {"malformed", "invalid", "future_timestamp", "schema", "unknown_type"};
  std::string before = metrics_text(server());
  std::map<std::string, double> start;
  for (const char* r : reasons) start[r] = rejection_counter(before, r);

  EXPECT_EQ(post_text(server(), app.token, "{nope").status, 400);  // malformed
  EXPECT_EQ(post_text(server(), app.token, "{\n", {{"Content-Type", "application/x-ndjson"}}).status,
            422);  // malformed
  json::object no_session = ev(s, "c", "n", json::object{});
  no_session.erase("session_id");
  EXPECT_EQ(post_value(server(), app.token, no_session).status, 422);                          // invalid
  EXPECT_EQ(post_value(server(), app.token, batch_of({no_session, no_session})).status, 422);  // invalid x2
  EXPECT_EQ(post_value(server(), app.token, ev(s, "c", "n", json::object{}, now_plus(3600s))).status, 422);  // future
  EXPECT_EQ(post_value(server(), app.token, ev(s, "page interaction", "pageview", json::object{})).status, 422);
  EXPECT_EQ(post_value(server(), app.token, ev(s, "page interaction", "cta click", json::object{})).status, 422);
  EXPECT_EQ(post_value(server(), strict.token, ev(s, "c", "unknown", json::object{})).status, 422);  // unknown
  accept(app, ev(s, "c", "fine", json::object{}));                                                   // not counted

  std::map<std::string, double> want = {
      {"malformed", 2}, {"invalid", 3}, {"future_timestamp", 1}, {"schema", 2}, {"unknown_type", 1}};
  std::string after = metrics_text(server());
  for (const char* r : reasons) {
    EXPECT_EQ(rejection_counter(after, r) - start[r], want[r]) << r;
  }
  EXPECT_NE(after.find("# TYPE daisy_event_rejections_total counter"), std::string::npos);
}

// ---------------------------------------------------------------- own servers

// Sets an environment variable (inherited by servers started meanwhile) and
// removes it at the end of the scope.
struct ScopedEnv {
  ScopedEnv(const char* name, const char* value) : name(name) { ::setenv(name, value, 1); }
  ~ScopedEnv() { ::unsetenv(name); }
  const char* name;
};

class EventsProcessTest : public OwnedServers {};

TEST_F(EventsProcessTest, RejectionsCapKeepsOnlyTheNewest) {
  DaisyProcess& d = make({{"--event-rejections-cap", "5"}, true});
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "capped");
  std::string s = new_session();
  auto rejected = [&](int i) {
    json::object e = ev(s, "cap", "r" + std::to_string(i), json::object{});
    e.erase("data");
    return e;
  };
  for (int i = 0; i < 4; ++i) EXPECT_EQ(post_value(d, app.token, rejected(i)).status, 422);
  EXPECT_EQ(post_value(d, app.token, ev(s, "cap", "ok", json::object{})).status, 202);
  HttpResponse batch = post_value(d, app.token, batch_of({rejected(4), rejected(5), rejected(6), rejected(7)}));
  EXPECT_EQ(batch.status, 422) << batch.summary();

  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& item : read_rejections(d)) out.push_back(str(J(str(item, "payload")), "name"));
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"r3", "r4", "r5", "r6", "r7"}));
  EXPECT_EQ(post_value(d, app.token, rejected(8)).status, 422);
  EXPECT_EQ(names(), (std::vector<std::string>{"r4", "r5", "r6", "r7", "r8"}));
  // The counters count every rejection, not only those kept.
  EXPECT_EQ(rejection_counter(metrics_text(d), "invalid"), 9);
  EXPECT_EQ(read_events(d, d.admin()).size(), 1u);

  // The cap from the environment.
  DaisyProcess* by_env;
  {
    ScopedEnv env("DAISY_EVENT_REJECTIONS_CAP", "2");
    by_env = &make();
    ASSERT_TRUE(by_env->start()) << by_env->start_error();
  }
  App other = make_app(*by_env, "capped-by-env");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(post_value(*by_env, other.token, rejected(i)).status, 422);
  std::vector<std::string> kept;
  for (const auto& item : read_rejections(*by_env)) kept.push_back(str(J(str(item, "payload")), "name"));
  EXPECT_EQ(kept, (std::vector<std::string>{"r2", "r3"}));
}

TEST_F(EventsProcessTest, MaxSkewFlagMovesTheFutureLimit) {
  DaisyProcess& d = make({{"--event-max-skew", "7200"}, true});
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "skew");
  std::string s = new_session();
  HttpResponse hour = post_value(d, app.token, ev(s, "skew", "in-an-hour", json::object{}, now_plus(3600s)));
  EXPECT_EQ(hour.status, 202) << hour.summary();
  HttpResponse later = post_value(d, app.token, ev(s, "skew", "in-three-hours", json::object{}, now_plus(3h)));
  EXPECT_TRUE(IsValidationError(later, {"timestamp"})) << later.summary();
  EXPECT_EQ(error_message(later, "timestamp"), "timestamp is in the future");

  // The same from the environment.
  DaisyProcess* by_env;
  {
    ScopedEnv env("DAISY_EVENT_MAX_SKEW", "7200");
    by_env = &make();
    ASSERT_TRUE(by_env->start()) << by_env->start_error();
  }
  App other = make_app(*by_env, "skew-by-env");
  EXPECT_EQ(post_value(*by_env, other.token, ev(s, "skew", "in-an-hour", json::object{}, now_plus(3600s))).status, 202);
  EXPECT_EQ(post_value(*by_env, other.token, ev(s, "skew", "in-three-hours", json::object{}, now_plus(3h))).status,
            422);
  // And a skew of 0: a minute ahead is already too far.
  DaisyProcess& none = make({{"--event-max-skew", "0"}, true});
  ASSERT_TRUE(none.start()) << none.start_error();
  App strict = make_app(none, "no-skew");
  EXPECT_EQ(post_value(none, strict.token, ev(s, "skew", "minute", json::object{}, now_plus(60s))).status, 422);
  EXPECT_EQ(post_value(none, strict.token, ev(s, "skew", "past", json::object{}, now_plus(-60s))).status, 202);
}

TEST_F(EventsProcessTest, TypeChangesSurviveARestart) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "types-restart");
  std::string s = new_session();
  auto put = [&](std::string_view c, std::string_view n, std::string_view schema) {
    return d.request("PUT", type_path(c, n), admin_json(), R"({"schema":)" + std::string(schema) + "}");
  };
  ASSERT_EQ(put("custom", "order", R"({"type":"object","required":["total"]})").status, 201);
  ASSERT_EQ(put("page interaction", "pageview", R"({"type":"object","required":["url"]})").status, 200);
  ASSERT_EQ(d.request("DELETE", type_path("page interaction", "cta click"), d.admin()).status, 204);

  ASSERT_EQ(d.stop().code, 0);
  ASSERT_TRUE(d.start()) << d.start_error();
  HttpResponse list = d.get("/v1/event-types", d.admin());
  ASSERT_EQ(list.status, 200);
  std::set<std::string> names;
  json::value listed = list.json();
  for (const auto& t : arr(listed, "items")) names.insert(str(t, "category") + "/" + str(t, "name"));
  EXPECT_EQ(names, (std::set<std::string>{"custom/order", "form interaction/submit", "page interaction/pageview"}))
      << "the deleted default type must not come back at a restart";
  EXPECT_EQ(at(d.get(type_path("page interaction", "pageview"), d.admin()).json(), "schema"),
            J(R"({"type":"object","required":["url"]})"));

  EXPECT_TRUE(HasError(post_value(d, app.token, ev(s, "custom", "order", json::object{})), "data", "total"));
  EXPECT_TRUE(
      HasError(post_value(d, app.token, ev(s, "page interaction", "pageview", pageview_data())), "data", "url"));
  EXPECT_EQ(post_value(d, app.token, ev(s, "page interaction", "pageview", J(R"({"url":"https://x"})"))).status, 202);
  EXPECT_EQ(post_value(d, app.token, ev(s, "page interaction", "cta click", json::object{})).status, 202)
      << "a deleted type is unknown, and unknown types are accepted by default";
}

TEST_F(EventsProcessTest, AcknowledgedEventsSurviveKill9DuringLoad) {
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "kill9-load");
  ASSERT_FALSE(app.token.empty());

  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<int> acked_count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  const int port = d.port();
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      std::string session = new_session();
      std::optional<Client> c;
      for (int i = 0; !stop; ++i) {
        if (!c || !c->connected()) {
          c.emplace(port);
          if (!c->connected()) return;  // the server is gone
        }
        std::string body;
        if (i % 3 == 2) {
          std::vector<json::object> events;
          for (int k = 0; k < 2 + i % 4; ++k) {
            events.push_back(ev(session, "load",
                                "batch-" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(k),
                                json::object{{"t", t}, {"i", i}, {"k", k}}, now_plus(0s)));
          }
          body = dump(batch_of(events));
        } else {
          std::string path = "/" + std::to_string(t) + "/" + std::to_string(i);
          body = dump(ev(session, "page interaction", "pageview",
                         json::object{{"host", "load.example"}, {"path", path}}, now_plus(0s)));
        }
        HttpResponse r = c->request("POST", "/v1/events", token_json(app.token), body);
        if (r.status == 0) {  // cut off: not acknowledged; reconnect (or stop when the server is gone)
          c.reset();
          continue;
        }
        if (r.status != 202) {
          ADD_FAILURE() << "thread " << t << " request " << i << ": " << r.summary();
          return;
        }
        boost::system::error_code ec;
        json::value v = json::parse(r.body, ec);
        if (ec) {
          ADD_FAILURE() << "202 without JSON: " << r.body;
          return;
        }
        std::lock_guard lock(mu);
        if (i % 3 == 2) {
          for (const auto& id : ids_in(v)) acked.push_back(id);
          EXPECT_TRUE(arr(v, "rejected").empty()) << r.body;
        } else {
          acked.push_back(str(v, "id"));
        }
        acked_count = static_cast<int>(acked.size());
      }
    });
  }
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(eventually([&] { return acked_count.load() >= 20; }, 60s)) << "the load made no progress";
  ExitStatus killed = d.kill9();  // while the writers are running
  EXPECT_EQ(killed.signal, SIGKILL) << killed.describe();
  stop = true;
  for (auto& w : workers) w.join();

  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu);
    ids = acked;
  }
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "an id was handed out twice";

  ASSERT_TRUE(d.start()) << d.start_error();
  auto items = read_events(d, d.admin());
  std::set<std::string> stored;
  for (const auto& item : items) stored.insert(str(item, "id"));
  EXPECT_EQ(stored.size(), items.size()) << "an event was listed twice";
  std::size_t missing = 0;
  for (const auto& id : ids) {
    if (!stored.count(id)) {
      if (++missing <= 10) ADD_FAILURE() << "acknowledged event lost after kill -9: " << id;
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << ids.size() << " acknowledged events";
  EXPECT_GE(stored.size(), ids.size());
  RecordProperty("acknowledged_before_kill", static_cast<int>(ids.size()));
  RecordProperty("stored_after_restart", static_cast<int>(stored.size()));
  // Still serving after the restart.
  EXPECT_EQ(post_value(d, app.token, ev(new_session(), "load", "after", json::object{})).status, 202);
}

TEST_F(EventsProcessTest, TruncatedPayloadCutInsideACharacterIsStillValidJson) {
  // Own server: a page that is not JSON would break other tests' reads of the log.
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "truncation-utf8");
  // 4095 ASCII bytes then "é" (2 bytes): a cut at 4096 bytes splits the character.
  std::string head = R"({"category":"c","name":"utf8","timestamp":"2021-01-01T00:00:00Z","data":{"pad":")";
  std::string body = head + std::string(4095 - head.size(), 'p') + "\xC3\xA9\xC3\xA9\"}}";
  ASSERT_EQ(static_cast<unsigned char>(body[4095]), 0xC3);
  EXPECT_EQ(post_text(d, app.token, body).status, 422);
  HttpResponse r = d.get("/v1/events/rejections?app_id=" + app.id, d.admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  std::size_t flag = r.body.find("\"payload_truncated\"");
  std::size_t from = flag == std::string::npos || flag < 40 ? 0 : flag - 40;
  ASSERT_FALSE(ec) << "the rejections page is not valid JSON (" << ec.message()
                   << "); bytes before payload_truncated: " << ::testing::PrintToString(r.body.substr(from, 40));
  ASSERT_EQ(arr(v, "items").size(), 1u);
  std::string payload = str(arr(v, "items")[0], "payload");
  // Whatever is done with the split character, the text before it is kept.
  EXPECT_EQ(payload.substr(0, 4095), body.substr(0, 4095));
  EXPECT_LE(payload.size(), 4100u);
  EXPECT_EQ(at(arr(v, "items")[0], "payload_truncated"), json::value(true));
}

TEST_F(EventsProcessTest, BinaryMalformedBodyKeepsTheRejectionsLogReadable) {
  // A common client mistake: a gzip body sent without Content-Encoding. It is
  // refused as malformed and logged; the log must still be served as JSON.
  DaisyProcess& d = make();
  ASSERT_TRUE(d.start()) << d.start_error();
  App bystander = make_app(d, "bystander");
  EXPECT_EQ(post_text(d, bystander.token, "{").status, 400);
  App app = make_app(d, "binary-body");
  std::string packed = gzip(dump(ev(new_session(), "c", "n", json::object{})));
  HttpResponse sent = post_text(d, app.token, packed);
  EXPECT_TRUE(IsProblem(sent, 400, "malformed-json")) << sent.summary();
  HttpResponse r = d.get("/v1/events/rejections?app_id=" + app.id, d.admin());
  ASSERT_EQ(r.status, 200) << r.summary();
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  ASSERT_FALSE(ec) << "the rejections page is not valid JSON (" << ec.message()
                   << "): " << ::testing::PrintToString(r.body.substr(0, 200));
  ASSERT_EQ(arr(v, "items").size(), 1u);
  EXPECT_EQ(str(arr(v, "items")[0], "reason"), "malformed");
  // The whole log (every app's) stays readable too.
  HttpResponse all = d.get("/v1/events/rejections", d.admin());
  ASSERT_EQ(all.status, 200) << all.summary();
  json::value whole = json::parse(all.body, ec);
  ASSERT_FALSE(ec) << "the unfiltered rejections page is not valid JSON (" << ec.message() << ")";
  EXPECT_EQ(arr(whole, "items").size(), 2u);
}

// ------------------------------------------------- the deferred event index
// Index entries wait in memory (up to --event-index-delay-ms) before they are
// written to the index tables in bulk. Every query must give the same answer
// whichever side an event's entries are on, across kill -9 and restarts.

struct SentEvent {
  std::string id, app_id, session, category, name;
  int second = 0;  // timestamp: base + second
  int order = 0;   // arrival order
};

class EventIndexTest : public EventsProcessTest {
 protected:
  static constexpr int kBaseEpoch = 1614556800;  // 2021-03-01T00:00:00Z

  static std::string at_second(int s) {
    return iso_utc(std::chrono::system_clock::time_point(std::chrono::seconds(kBaseEpoch + s)));
  }

  // Posts `count` events spread over apps, sessions, categories and names,
  // with timestamps out of arrival order, in batches per app.
  void send(DaisyProcess& d, int count, int first_second) {
    std::vector<json::object> pending[2];
    std::vector<SentEvent> meta[2];
    for (int i = 0; i < count; ++i) {
      int k = static_cast<int>(sent.size()) + i;
      SentEvent e;
      int a = k % 2;
      e.app_id = apps[a].id;
      e.session = sessions[k % 3];
      e.category = k % 4 < 2 ? "page interaction" : "shop";
      e.name = "n" + std::to_string(k % 5);
      e.second = first_second + (i * 37) % count;
      pending[a].push_back(ev(e.session, e.category, e.name, json::object{{"k", k}}, at_second(e.second)));
      meta[a].push_back(e);
    }
    for (int a = 0; a < 2; ++a) {
      for (std::size_t from = 0; from < pending[a].size(); from += 40) {
        std::size_t to = std::min(pending[a].size(), from + 40);
        std::vector<json::object> chunk(pending[a].begin() + static_cast<std::ptrdiff_t>(from),
                                        pending[a].begin() + static_cast<std::ptrdiff_t>(to));
        HttpResponse r = post_value(d, apps[a].token, batch_of(chunk));
        ASSERT_EQ(r.status, 202) << r.summary();
        auto ids = ids_in(r.json());
        ASSERT_EQ(ids.size(), to - from) << r.body;
        for (std::size_t j = from; j < to; ++j) {
          meta[a][j].id = ids[j - from];
          meta[a][j].order = static_cast<int>(sent.size());
          sent.push_back(meta[a][j]);
        }
      }
    }
  }

  struct Query {
    std::string label;
    int auth = -1;  // -1: admin, else the app's index
    std::string query;
    int limit;
    std::function<bool(const SentEvent&)> match;
  };

  std::vector<Query> queries() const {
    const std::string a0 = apps[0].id, a1 = apps[1].id, s0 = sessions[0], s1 = sessions[1];
    return {
        {"all", -1, "", 7, [](const SentEvent&) { return true; }},
        {"session", -1, "session_id=" + s0, 5, [s0](const SentEvent& e) { return e.session == s0; }},
        {"category", -1, "category=shop", 9, [](const SentEvent& e) { return e.category == "shop"; }},
        {"category+name", -1, "category=shop&name=n3", 4,
         [](const SentEvent& e) { return e.category == "shop" && e.name == "n3"; }},
        {"name", -1, "name=n2", 6, [](const SentEvent& e) { return e.name == "n2"; }},
        {"time range", -1, "since=" + url_encode(at_second(60)) + "&until=" + url_encode(at_second(180)), 8,
         [](const SentEvent& e) { return e.second >= 60 && e.second < 180; }},
        {"app filter", -1, "app_id=" + a1 + "&category=" + url_encode("page interaction"), 10,
         [a1](const SentEvent& e) { return e.app_id == a1 && e.category == "page interaction"; }},
        {"app token", 0, "", 11, [a0](const SentEvent& e) { return e.app_id == a0; }},
        {"app token + session", 0, "session_id=" + s1, 3,
         [a0, s1](const SentEvent& e) { return e.app_id == a0 && e.session == s1; }},
    };
  }

  // Every query, paged, returns exactly the expected events in (time, arrival) order,
  // and each session's summary agrees.
  void check_queries(DaisyProcess& d, const std::string& when) {
    std::vector<SentEvent> ordered = sent;
    std::sort(ordered.begin(), ordered.end(), [](const SentEvent& a, const SentEvent& b) {
      return std::pair(a.second, a.order) < std::pair(b.second, b.order);
    });
    for (const Query& q : queries()) {
      std::vector<std::string> expected;
      for (const auto& e : ordered) {
        if (q.match(e)) expected.push_back(e.id);
      }
      Headers auth = q.auth < 0 ? d.admin() : bearer(apps[static_cast<std::size_t>(q.auth)].token);
      std::vector<std::string> got;
      for (const auto& item : read_events(d, auth, q.query, q.limit)) got.push_back(str(item, "id"));
      EXPECT_EQ(got, expected) << when << ": query '" << q.label << "' (" << q.query << ")";
    }
    for (const auto& session : sessions) {
      int count = 0, first = INT32_MAX, last = INT32_MIN;
      for (const auto& e : sent) {
        if (e.session != session) continue;
        ++count;
        first = std::min(first, e.second);
        last = std::max(last, e.second);
      }
      // A small page: the summary comes from the tables and memory, not from the page.
      HttpResponse r = d.get("/v1/sessions/" + session + "?limit=2", d.admin());
      ASSERT_EQ(r.status, 200) << when << ": " << r.summary();
      json::value v = r.json();
      EXPECT_EQ(num(v, "count"), count) << when << ": session " << session;
      EXPECT_EQ(canon_ts(str(v, "first_timestamp")), canon_ts(at_second(first))) << when;
      EXPECT_EQ(canon_ts(str(v, "last_timestamp")), canon_ts(at_second(last))) << when;
    }
  }

  double pending(DaisyProcess& d) { return metric_value(metrics_text(d), "daisy_event_index_pending").value_or(-1); }

  std::vector<App> apps;
  std::vector<std::string> sessions{new_session(), new_session(), new_session()};
  std::vector<SentEvent> sent;
};

TEST_F(EventIndexTest, QueriesAgreeWhetherEntriesAreInMemoryWrittenOrBoth) {
  if (on_postgres()) {
    GTEST_SKIP() << "SQLite's deferred event index; PostgreSQL indexes events as it stores them";
  }
  const DaisyProcess::Options in_memory{{"--event-index-delay-ms", "3600000"}};
  const DaisyProcess::Options written_at_once{{"--event-index-delay-ms", "0"}};
  DaisyProcess& d = make(in_memory);
  ASSERT_TRUE(d.start()) << d.start_error();
  apps = {make_app(d, "index-a"), make_app(d, "index-b")};
  ASSERT_FALSE(apps[1].token.empty());

  // 1. Every entry held in memory.
  send(d, 240, 0);
  EXPECT_EQ(pending(d), 240.0) << "every event's entries still in memory";
  check_queries(d, "in memory");

  // 2. kill -9 loses the memory; the restart reads the entries back from the
  //    events and writes them to the tables.
  EXPECT_EQ(d.kill9().signal, SIGKILL);
  ASSERT_TRUE(d.start(written_at_once)) << d.start_error();
  EXPECT_TRUE(eventually([&] { return pending(d) == 0; })) << "the entries were not written";
  check_queries(d, "written after kill -9");

  // 3. Older events in the tables, newer ones in memory, timestamps interleaved.
  ASSERT_EQ(d.stop().code, 0);
  ASSERT_TRUE(d.start(in_memory)) << d.start_error();
  EXPECT_EQ(pending(d), 0.0);
  send(d, 120, 30);
  EXPECT_EQ(pending(d), 120.0);
  check_queries(d, "tables and memory");

  // 4. A graceful restart keeps everything too.
  ASSERT_EQ(d.stop().code, 0);
  ASSERT_TRUE(d.start(written_at_once)) << d.start_error();
  EXPECT_TRUE(eventually([&] { return pending(d) == 0; }));
  check_queries(d, "after a restart");
}

TEST_F(EventIndexTest, ReadsStayExactWhileEntriesMoveFromMemoryToTheTables) {
  // Delay 0: every step freezes what is in memory and writes it, so entries
  // move to the tables while the reads below run. Each read must hold every
  // event acknowledged before it began, exactly once.
  DaisyProcess& d = make({{"--event-index-delay-ms", "0"}});
  ASSERT_TRUE(d.start()) << d.start_error();
  App app = make_app(d, "index-churn");
  const std::string session = new_session();
  std::mutex mu;
  std::vector<std::string> acked;
  std::atomic<bool> stop{false};
  std::jthread writer([&] {
    Client c(d.port());
    for (int i = 0; !stop && i < 190; ++i) {  // 950 events: one page of 1000 holds them all
      std::vector<json::object> events;
      for (int k = 0; k < 5; ++k) {
        // Times interleave with earlier batches, so new entries land between old ones.
        events.push_back(ev(session, "churn", "e", json::object{{"i", i}, {"k", k}},
                            EventIndexTest::at_second((i * 7 + k * 13) % 500)));
      }
      HttpResponse r = c.request("POST", "/v1/events", token_json(app.token), dump(batch_of(events)));
      if (r.status != 202) {
        ADD_FAILURE() << r.summary();
        return;
      }
      auto ids = ids_in(r.json());
      std::lock_guard lock(mu);
      acked.insert(acked.end(), ids.begin(), ids.end());
    }
  });
  Client reader(d.port());
  int reads = 0;
  while (reads < 300) {
    std::vector<std::string> before;
    {
      std::lock_guard lock(mu);
      before = acked;
    }
    bool by_session_route = reads % 2 == 0;
    HttpResponse r = by_session_route ? reader.request("GET", "/v1/sessions/" + session + "?limit=1000", d.admin())
                                      : reader.request("GET", "/v1/events?limit=1000&session_id=" + session, d.admin());
    if (before.empty() && r.status == 404) continue;
    ASSERT_EQ(r.status, 200) << r.summary();
    json::value v = r.json();
    const json::array& items = arr(v, by_session_route ? "events" : "items");
    std::set<std::string> got;
    for (const auto& item : items) got.insert(str(item, "id"));
    ASSERT_EQ(got.size(), items.size()) << "an event was listed twice (read " << reads << ")";
    for (const auto& id : before) {
      ASSERT_TRUE(got.count(id)) << "acknowledged event " << id << " missing from read " << reads;
    }
    if (by_session_route) {
      EXPECT_EQ(num(v, "count"), static_cast<std::int64_t>(items.size()));
    }
    ++reads;
  }
  stop = true;
  writer.join();
  EXPECT_GT(acked.size(), 100u) << "the writes made too little progress for the test to mean much";
}

}  // namespace
}  // namespace daisy_e2e
