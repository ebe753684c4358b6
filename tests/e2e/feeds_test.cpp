// Provider feeds end to end: /v1/providers (CRUD, validation, access), pulls
// by the scheduler and on demand with their sync records, fever-xml plans and
// events (the ever-online rule, latest values, bad plans, ETags), the public
// /search (containment at the edges, provider time zones, served from memory
// whatever the provider does), json pulls (pages, cursors, options), daisy
// pulls from other Daisy servers, /v1/items with filters and fresh pulls, and
// the refusal of private targets by default.
//
// Every test runs its own server (with --allow-private-targets, so that it may
// pull the FakeProvider on 127.0.0.1), so /search sees only that test's plans.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "fake_provider.h"
#include "harness.h"
#include "suite_support.h"

namespace daisy_e2e {
namespace {

using namespace fx;
using daisy::e2e::FakeProvider;
using Reply = FakeProvider::Reply;

// ---------------------------------------------------------------- fixtures

// Verbatim copies of ../shared/fixtures/fever-plans.xml and
// fever-events-2023.xml (outside this repository), so the suite is self-contained.
constexpr std::string_view kPlansFixture = R"XML(<?xml version="1.0" encoding="UTF-8"?>
<planList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.0" xsi:noNamespaceSchemaLocation="planList.xsd">
   <output>
      <base_plan base_plan_id="12" sell_mode="online" title="Jazz at the Old Mill">
         <plan plan_start_date="2024-03-08T20:30:00" plan_end_date="2024-03-08T22:00:00" plan_id="12" sell_from="2024-01-01T00:00:00" sell_to="2024-03-08T20:00:00" sold_out="false">
            <zone zone_id="1" capacity="120" price="18.50" name="Stalls" numbered="true" />
            <zone zone_id="2" capacity="40" price="32.00" name="Balcony" numbered="true" />
         </plan>
      </base_plan>
      <base_plan base_plan_id="77" sell_mode="online" organizer_company_id="3" title="Puppet Theatre &amp; Friends">
         <plan plan_start_date="2024-03-09T11:00:00" plan_end_date="2024-03-09T12:15:00" plan_id="900" sell_from="2024-02-01T00:00:00" sell_to="2024-03-09T10:30:00" sold_out="false">
            <zone zone_id="5" capacity="60" price="9.00" name="Floor" numbered="false" />
         </plan>
         <plan plan_start_date="2024-03-10T11:00:00" plan_end_date="2024-03-10T12:15:00" plan_id="901" sell_from="2024-02-01T00:00:00" sell_to="2024-03-10T10:30:00" sold_out="true">
            <zone zone_id="5" capacity="60" price="9.00" name="Floor" numbered="false" />
            <zone zone_id="5" capacity="10" price="12.00" name="Floor" numbered="true" />
         </plan>
      </base_plan>
      <base_plan base_plan_id="78" sell_mode="offline" organizer_company_id="3" title="Private Rehearsal">
         <plan plan_start_date="2024-04-31T18:00:00" plan_end_date="2024-04-31T19:00:00" plan_id="900" sell_from="2024-02-01T00:00:00" sell_to="2024-04-30T19:50:00" sold_out="false">
            <zone zone_id="9" capacity="5" price="0.00" name="Hall" numbered="false" />
         </plan>
      </base_plan>
   </output>
</planList>
)XML";

constexpr std::string_view kEventsFixture = R"XML(<?xml version="1.0" encoding="UTF-8"?>
<eventList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.0" xsi:noNamespaceSchemaLocation="eventList.xsd">
   <output>
      <base_event base_event_id="12" sell_mode="online" title="Jazz at the Old Mill">
         <event event_start_date="2024-03-08T20:30:00" event_end_date="2024-03-08T22:30:00" event_id="12" sell_from="2024-01-01T00:00:00" sell_to="2024-03-08T20:00:00" sold_out="true">
            <zone zone_id="1" capacity="0" price="18.50" name="Stalls" numbered="true" />
            <zone zone_id="2" capacity="12" price="35.00" name="Balcony" numbered="true" />
         </event>
      </base_event>
      <base_event base_event_id="78" sell_mode="online" organizer_company_id="3" title="Open Rehearsal">
         <event event_start_date="2024-05-02T18:00:00" event_end_date="2024-05-02T19:00:00" event_id="900" sell_from="2024-02-01T00:00:00" sell_to="2024-05-02T17:50:00" sold_out="false">
            <zone zone_id="9" capacity="50" price="5.00" name="Hall" numbered="false" />
         </event>
      </base_event>
   </output>
</eventList>
)XML";

// ---------------------------------------------------------------- fever-xml builders

std::string zone(std::string_view id, std::string_view price) {
  return "<zone zone_id=\"" + std::string(id) + "\" capacity=\"10\" price=\"" + std::string(price) +
         "\" name=\"Z\" numbered=\"false\"/>";
}

// A plan with these zones (each already XML).
std::string plan(std::string_view id, std::string_view start, std::string_view end,
                 const std::vector<std::string>& zones) {
  std::string x = "<plan plan_start_date=\"" + std::string(start) + "\" plan_end_date=\"" + std::string(end) +
                  "\" plan_id=\"" + std::string(id) + "\" sell_from=\"2024-01-01T00:00:00\" sold_out=\"false\">";
  for (const auto& z : zones) x += z;
  return x + "</plan>";
}

// A plan with one zone at this price.
std::string plan(std::string_view id, std::string_view start, std::string_view end, std::string_view price = "10.00") {
  return plan(id, start, end, std::vector<std::string>{zone("1", price)});
}

std::string base(std::string_view id, std::string_view sell_mode, std::string_view title,
                 const std::vector<std::string>& plans) {
  std::string x = "<base_plan base_plan_id=\"" + std::string(id) + "\" sell_mode=\"" + std::string(sell_mode) +
                  "\" title=\"" + std::string(title) + "\">";
  for (const auto& p : plans) x += p;
  return x + "</base_plan>";
}

std::string plan_list(const std::vector<std::string>& bases) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<planList version=\"1.0\"><output>";
  for (const auto& b : bases) x += b;
  return x + "</output></planList>";
}

Reply xml(std::string body) { return Reply{.status = 200, .body = std::move(body)}; }

Reply json_reply(const json::value& v) {
  return Reply{.status = 200, .body = dump(v), .content_type = "application/json"};
}

// ---------------------------------------------------------------- small helpers

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// A price member as a double; NaN (and a failure) when it is not a JSON number.
double price(const json::value& event, std::string_view key) {
  json::value v = at(event, key);
  if (!v.is_number()) {
    ADD_FAILURE() << key << " is not a JSON number in " << dump(event);
    return std::nan("");
  }
  return v.to_number<double>();
}

// "title@YYYY-MM-DDThh:mm:ss" of a /search event: what identifies it in these tests.
std::string key_of(const json::value& event) {
  return str(event, "title") + "@" + str(event, "start_date") + "T" + str(event, "start_time");
}

std::set<std::string> keys_of(const json::array& events) {
  std::set<std::string> out;
  for (const auto& e : events) out.insert(key_of(e));
  return out;
}

std::map<std::string, json::value> by_key(const json::array& events) {
  std::map<std::string, json::value> out;
  for (const auto& e : events) out[key_of(e)] = e;
  return out;
}

std::vector<std::string> item_ids(const json::value& reply) {
  std::vector<std::string> out;
  for (const auto& i : arr(reply, "items")) out.push_back(str(i, "id"));
  std::sort(out.begin(), out.end());
  return out;
}

// The providers[] entry of a /v1/items reply with this name.
json::value provider_entry(const json::value& reply, std::string_view name) {
  for (const auto& p : arr(reply, "providers")) {
    if (str(p, "name") == name) return p;
  }
  ADD_FAILURE() << "no providers[] entry for " << name << " in " << dump(reply);
  return nullptr;
}

// A sync record has every member, with the right types.
::testing::AssertionResult IsSyncRecord(const json::value& s) {
  if (!s.is_object()) return ::testing::AssertionFailure() << "not an object: " << dump(s);
  for (const char* k : {"id", "provider_id", "trigger", "started_at"}) {
    if (!at(s, k).is_string()) return ::testing::AssertionFailure() << k << " is not a string: " << dump(s);
  }
  for (const char* k : {"duration_ms", "http_status", "seen", "new", "changed", "skipped"}) {
    if (!at(s, k).is_int64() && !at(s, k).is_uint64()) {
      return ::testing::AssertionFailure() << k << " is not an integer: " << dump(s);
    }
  }
  if (!s.as_object().contains("error") || !(at(s, "error").is_null() || at(s, "error").is_string())) {
    return ::testing::AssertionFailure() << "error is neither null nor a string: " << dump(s);
  }
  return ::testing::AssertionSuccess();
}

// Opens when the test says so (or after a long safety timeout), for handlers
// that must hold a pull in progress.
struct Gate {
  std::atomic<bool> closed{false};  // while true, wait() blocks
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  void wait() {
    if (!closed) return;
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return open; });
  }
};

// ---------------------------------------------------------------- the fixture

class FeedsTest : public OwnedServers {
 protected:
  void SetUp() override {
    DaisyProcess::Options options;
    options.args = {"--allow-private-targets"};
    main_ = &make(options);
    ASSERT_TRUE(main_->start()) << main_->start_error();
  }

  // Every server must stop cleanly (no leak, no crash on shutdown with pulls around).
  void TearDown() override {
    for (const auto& d : servers_) {
      if (!d->running()) continue;
      ExitStatus s = d->stop();
      EXPECT_TRUE(s.exited && s.code == 0) << "the server did not stop cleanly: " << s.describe();
    }
    OwnedServers::TearDown();
  }

  DaisyProcess& daisy() { return *main_; }

  // {"name", "url", "format": "fever-xml", "interval_s": 3600} plus extra members.
  static json::object fever_def(std::string_view name, std::string_view url, json::object extra = {}) {
    json::object d{{"name", name}, {"url", url}, {"format", "fever-xml"}, {"interval_s", 3600}};
    for (auto& kv : extra) d[kv.key()] = kv.value();
    return d;
  }

  static json::object json_def(std::string_view name, std::string_view url, json::object extra = {}) {
    json::object d{{"name", name}, {"url", url}, {"format", "json"}, {"interval_s", 3600}};
    for (auto& kv : extra) d[kv.key()] = kv.value();
    return d;
  }

  HttpResponse post_provider(const json::value& def, const DaisyProcess* on = nullptr) {
    return (on ? *on : daisy()).request("POST", "/v1/providers", admin_json(), dump(def));
  }

  // Creates a provider; its id ("" and a failure when the server refuses).
  std::string create_provider(const json::value& def, const DaisyProcess* on = nullptr) {
    HttpResponse r = post_provider(def, on);
    if (r.status != 201) {
      ADD_FAILURE() << "creating provider " << dump(def) << " failed: " << r.summary();
      return {};
    }
    return str(r.json(), "id");
  }

  json::value get_provider(const std::string& id) {
    HttpResponse r = daisy().get("/v1/providers/" + id, daisy().admin());
    EXPECT_EQ(r.status, 200) << r.summary();
    return r.json();
  }

  // POST .../sync: the record of a pull that this request started. A request
  // that lands while the scheduled pull is still finishing joins it (and gets
  // its "schedule" record), so it asks again.
  json::value sync(const std::string& id, const DaisyProcess* on = nullptr) {
    const DaisyProcess& d = on ? *on : daisy();
    json::value record;
    for (int attempt = 0; attempt < 5; ++attempt) {
      HttpResponse r = d.request("POST", "/v1/providers/" + id + "/sync", d.admin());
      if (r.status != 200) {
        ADD_FAILURE() << "sync of " << id << " failed: " << r.summary();
        return nullptr;
      }
      record = r.json();
      if (str(record, "trigger") == "manual") break;
    }
    EXPECT_TRUE(IsSyncRecord(record));
    EXPECT_EQ(str(record, "trigger"), "manual") << dump(record);
    EXPECT_EQ(str(record, "provider_id"), id);
    return record;
  }

  json::array syncs(const std::string& id, const DaisyProcess* on = nullptr) {
    const DaisyProcess& d = on ? *on : daisy();
    HttpResponse r = d.get("/v1/providers/" + id + "/syncs", d.admin());
    EXPECT_EQ(r.status, 200) << r.summary();
    return arr(r.json(), "items");
  }

  // Waits for the scheduler's first pull of a new provider; its record.
  json::value wait_first_sync(const std::string& id, const DaisyProcess* on = nullptr) {
    json::array items;
    bool done = eventually(
        [&] {
          items = syncs(id, on);
          return !items.empty();
        },
        15s);
    if (!done) {
      ADD_FAILURE() << "the scheduler did not pull provider " << id;
      return nullptr;
    }
    json::value first = items.back();
    EXPECT_TRUE(IsSyncRecord(first));
    EXPECT_EQ(str(first, "trigger"), "schedule") << dump(first);
    return first;
  }

  // GET /search?<query>, public: the body text (a failure unless 200).
  std::string search_body(std::string_view query = "") {
    std::string target = "/search";
    if (!query.empty()) target += "?" + std::string(query);
    HttpResponse r = daisy().get(target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.summary();
    return r.body;
  }

  // The events of GET /search?<query>.
  json::array search(std::string_view query = "") {
    std::string body = search_body(query);
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "/search body is not a JSON object: " << body;
      return {};
    }
    EXPECT_TRUE(at(v, "error").is_null()) << body;
    json::value data = at(v, "data");
    if (!at(data, "events").is_array()) {
      ADD_FAILURE() << "no data.events array: " << body;
      return {};
    }
    json::array events = data.as_object().at("events").as_array();
    for (const auto& e : events) {
      EXPECT_TRUE(is_uuid(str(e, "id"))) << dump(e);
      for (const char* k : {"title", "start_date", "start_time", "end_date", "end_time"}) {
        EXPECT_TRUE(at(e, k).is_string()) << k << " in " << dump(e);
      }
      EXPECT_TRUE(at(e, "min_price").is_number()) << dump(e);
      EXPECT_TRUE(at(e, "max_price").is_number()) << dump(e);
    }
    return events;
  }

  // A scheduled pull's record is listed as soon as it is stored, a moment
  // before /search shows what it brought (a manual sync answers only after
  // both): waits until /search holds this many events.
  void settle_search(std::size_t count) {
    std::size_t got = 0;
    if (!eventually([&] { return (got = search().size()) == count; }, 10s)) {
      ADD_FAILURE() << "/search holds " << got << " events, want " << count << ": " << search_body();
    }
  }

  // Whether GET /search?<query> returns the plan with this key.
  bool found(std::string_view query, const std::string& key) { return keys_of(search(query)).count(key) > 0; }

  // GET /v1/items?<query> as admin: the reply (a failure unless 200).
  json::value items(std::string_view query) {
    HttpResponse r = daisy().get("/v1/items?" + std::string(query), daisy().admin());
    EXPECT_EQ(r.status, 200) << query << ": " << r.summary();
    return r.json();
  }

  DaisyProcess* main_ = nullptr;
};

// ---------------------------------------------------------------- 1. CRUD and validation

TEST_F(FeedsTest, ProviderCrudValidationAndAccess) {
  FakeProvider fake;
  fake.set("/feed.xml", xml(plan_list({})));

  // Created with every default.
  HttpResponse created =
      post_provider(json::object{{"name", "city-hall_1.x"}, {"url", fake.url("/feed.xml")}, {"format", "fever-xml"}});
  ASSERT_EQ(created.status, 201) << created.summary();
  json::value p = created.json();
  std::string id = str(p, "id");
  EXPECT_TRUE(is_uuid(id)) << dump(p);
  EXPECT_EQ(str(p, "name"), "city-hall_1.x");
  EXPECT_EQ(str(p, "url"), fake.url("/feed.xml"));
  EXPECT_EQ(str(p, "format"), "fever-xml");
  EXPECT_EQ(num(p, "interval_s"), 60);
  EXPECT_EQ(num(p, "timeout_ms"), 5000);
  EXPECT_EQ(at(p, "enabled"), json::value(true));
  EXPECT_EQ(str(p, "timezone"), "UTC");
  EXPECT_EQ(at(p, "headers"), json::value(json::object{}));
  EXPECT_FALSE(str(p, "created_at").empty());
  EXPECT_FALSE(str(p, "updated_at").empty());
  ASSERT_TRUE(p.as_object().contains("last_sync_at"));
  EXPECT_TRUE(at(p, "last_sync_at").is_null() || at(p, "last_sync_at").is_string());

  // Every field given, at the edges of its range.
  json::object full{{"name", "full"},
                    {"url", fake.url("/full?y=1")},
                    {"format", "json"},
                    {"interval_s", 86400},
                    {"timeout_ms", 100},
                    {"headers", json::object{{"X-Api-Key", "k1"}}},
                    {"enabled", false},
                    {"timezone", "Europe/Madrid"},
                    {"options", json::object{{"id_field", "key"}, {"cursor_param", "since"}, {"items_path", "a.b"}}}};
  HttpResponse r = post_provider(full);
  ASSERT_EQ(r.status, 201) << r.summary();
  std::string full_id = str(r.json(), "id");
  for (const char* k :
       {"name", "url", "format", "interval_s", "timeout_ms", "headers", "enabled", "timezone", "options"}) {
    EXPECT_EQ(at(r.json(), k), full.at(k)) << k;
  }
  r = post_provider(fever_def("lowest", fake.url("/feed.xml"), {{"interval_s", 5}, {"timeout_ms", 120000}}));
  ASSERT_EQ(r.status, 201) << r.summary();
  std::string lowest_id = str(r.json(), "id");
  EXPECT_EQ(num(r.json(), "interval_s"), 5);
  EXPECT_EQ(num(r.json(), "timeout_ms"), 120000);

  // A daisy provider's token is never shown.
  json::object daisy_def{
      {"name", "other-daisy"},
      {"url", "http://127.0.0.1:1"},
      {"format", "daisy"},
      {"interval_s", 3600},
      {"options", json::object{{"form_id", "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b"}, {"token", "secret-token-value"}}}};
  r = post_provider(daisy_def);
  ASSERT_EQ(r.status, 201) << r.summary();
  std::string daisy_id = str(r.json(), "id");
  EXPECT_EQ(str(at(r.json(), "options"), "token"), "***");
  EXPECT_EQ(str(at(r.json(), "options"), "form_id"), "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(str(at(get_provider(daisy_id), "options"), "token"), "***");
  EXPECT_EQ(daisy().get("/v1/providers", daisy().admin()).body.find("secret-token-value"), std::string::npos);

  // Validation: each bad field is named.
  r = post_provider(json::object{{"name", "bad name!"},
                                 {"url", "ftp://example.org/feed"},
                                 {"format", "csv"},
                                 {"interval_s", 4},
                                 {"timeout_ms", 99},
                                 {"enabled", "yes"},
                                 {"timezone", "Mars/Olympus_Mons"}});
  for (const char* f : {"name", "url", "format", "interval_s", "timeout_ms", "enabled", "timezone"}) {
    EXPECT_TRUE(HasFieldError(r, f)) << f;
  }
  r = post_provider(json::object{});
  for (const char* f : {"name", "url", "format"}) EXPECT_TRUE(HasFieldError(r, f)) << f;
  EXPECT_TRUE(HasFieldError(post_provider(fever_def("x1", fake.url("/f"), {{"interval_s", 86401}})), "interval_s"));
  EXPECT_TRUE(HasFieldError(post_provider(fever_def("x2", fake.url("/f"), {{"timeout_ms", 120001}})), "timeout_ms"));
  EXPECT_TRUE(HasFieldError(post_provider(fever_def("x3", fake.url("/f"), {{"interval_s", "60"}})), "interval_s"));
  EXPECT_TRUE(HasFieldError(post_provider(fever_def("x4", "not a url")), "url"));
  EXPECT_TRUE(
      HasFieldError(post_provider(json_def("x5", fake.url("/f"), {{"options", J(R"({"a":1})")}})), "options.a"));
  EXPECT_TRUE(
      HasFieldError(post_provider(fever_def("x6", fake.url("/f"), {{"options", J(R"({"a":1})")}})), "options.a"));
  EXPECT_TRUE(
      HasFieldError(post_provider(json::object{{"name", "x7"}, {"url", "http://127.0.0.1:1"}, {"format", "daisy"}}),
                    "options.form_id"));
  EXPECT_TRUE(
      HasFieldError(post_provider(json::object{{"name", "x8"}, {"url", "http://127.0.0.1:1"}, {"format", "daisy"}}),
                    "options.token"));
  EXPECT_TRUE(HasFieldError(post_provider(fever_def(std::string(101, 'n'), fake.url("/f"))), "name"));
  // Nothing refused was created.
  HttpResponse list = daisy().get("/v1/providers?limit=1000", daisy().admin());
  ASSERT_EQ(list.status, 200) << list.summary();
  EXPECT_EQ(arr(list.json(), "items").size(), 4u) << list.body;

  // Duplicate name.
  EXPECT_TRUE(IsProblem(post_provider(fever_def("full", fake.url("/other.xml"))), 409, "conflict"));

  // Listing, page by page.
  std::set<std::string> listed;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    HttpResponse lr = daisy().get("/v1/providers?limit=1" + (after.empty() ? "" : "&after=" + after), daisy().admin());
    ASSERT_EQ(lr.status, 200) << lr.summary();
    json::value page_body = lr.json();
    for (const auto& item : arr(page_body, "items")) listed.insert(str(item, "id"));
    json::value next = at(page_body, "next_cursor");
    if (next.is_null()) break;
    after = std::string(next.as_string());
  }
  EXPECT_EQ(listed, (std::set<std::string>{id, full_id, daisy_id, lowest_id})) << "every provider, once";

  // Access: admin only.
  App app = make_app(daisy(), "feeds-app");
  for (auto [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/providers"},
                                                        {"GET", "/v1/providers/" + id},
                                                        {"POST", "/v1/providers/" + id + "/sync"},
                                                        {"GET", "/v1/providers/" + id + "/syncs"},
                                                        {"DELETE", "/v1/providers/" + id},
                                                        {"GET", "/v1/items?provider=full"}}) {
    SCOPED_TRACE(method + " " + target);
    EXPECT_TRUE(IsProblem(daisy().request(method, target), 401, "unauthorized"));
    EXPECT_TRUE(IsProblem(daisy().request(method, target, bearer(app.token)), 403, "forbidden"));
  }
  EXPECT_TRUE(
      IsProblem(daisy().request("POST", "/v1/providers", json_content(), dump(fever_def("anon", fake.url("/f")))), 401,
                "unauthorized"));
  EXPECT_TRUE(IsProblem(
      daisy().request("POST", "/v1/providers", token_json(app.token), dump(fever_def("by-app", fake.url("/f")))), 403,
      "forbidden"));
  EXPECT_TRUE(
      IsProblem(daisy().request("PATCH", "/v1/providers/" + id, token_json(app.token), R"({"interval_s":7200})"), 403,
                "forbidden"));
  EXPECT_EQ(num(get_provider(id), "interval_s"), 60) << "a refused request changed nothing";
  EXPECT_EQ(daisy().get("/search").status, 200) << "/search is public";

  // PATCH replaces only the fields given.
  json::value before = get_provider(full_id);
  r = daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"interval_s": 7200, "enabled": true})");
  ASSERT_EQ(r.status, 200) << r.summary();
  json::value after_patch = r.json();
  EXPECT_EQ(num(after_patch, "interval_s"), 7200);
  EXPECT_EQ(at(after_patch, "enabled"), json::value(true));
  for (const char* k : {"id", "name", "url", "format", "timeout_ms", "headers", "timezone", "options", "created_at"}) {
    EXPECT_EQ(at(after_patch, k), at(before, k)) << k;
  }
  EXPECT_EQ(get_provider(full_id), after_patch) << "GET shows what PATCH answered";
  r = daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"options": {"items_path": "c"}})");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(at(r.json(), "options"), J(R"({"id_field":"key","cursor_param":"since","items_path":"c"})"));
  r = daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"timezone": "Nowhere/Atlantis"})");
  EXPECT_TRUE(HasFieldError(r, "timezone"));
  r = daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"interval_s": 1})");
  EXPECT_TRUE(HasFieldError(r, "interval_s"));
  EXPECT_EQ(str(get_provider(full_id), "timezone"), "Europe/Madrid") << "a refused PATCH changed nothing";
  EXPECT_TRUE(
      IsProblem(daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"name": "city-hall_1.x"})"), 409,
                "conflict"));
  r = daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"name": "renamed"})");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_EQ(str(get_provider(full_id), "name"), "renamed");
  EXPECT_EQ(post_provider(fever_def("full", fake.url("/feed.xml"))).status, 201) << "the old name is free again";

  // DELETE, then everything about it is 404.
  std::string missing = "0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5b";
  EXPECT_EQ(daisy().request("PATCH", "/v1/providers/" + missing, admin_json(), R"({"interval_s": 60})").status, 404);
  EXPECT_EQ(daisy().request("DELETE", "/v1/providers/" + missing, daisy().admin()).status, 404);
  HttpResponse del = daisy().request("DELETE", "/v1/providers/" + full_id, daisy().admin());
  EXPECT_EQ(del.status, 204) << del.summary();
  EXPECT_TRUE(del.body.empty());
  EXPECT_TRUE(IsProblem(daisy().get("/v1/providers/" + full_id, daisy().admin()), 404, "not-found"));
  EXPECT_EQ(daisy().request("DELETE", "/v1/providers/" + full_id, daisy().admin()).status, 404);
  EXPECT_EQ(daisy().request("POST", "/v1/providers/" + full_id + "/sync", daisy().admin()).status, 404);
  EXPECT_EQ(daisy().get("/v1/providers/" + full_id + "/syncs", daisy().admin()).status, 404);
  EXPECT_EQ(daisy().request("PATCH", "/v1/providers/" + full_id, admin_json(), R"({"interval_s": 60})").status, 404);
}

TEST_F(FeedsTest, DeleteRemovesWhatTheProviderPulled) {
  FakeProvider fake;
  fake.set("/a.xml",
           xml(plan_list({base("1", "online", "Kept", {plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00")})})));
  fake.set("/b.xml",
           xml(plan_list({base("1", "online", "Removed", {plan("1", "2024-06-02T10:00:00", "2024-06-02T11:00:00")})})));
  fake.set("/items", json_reply(J(R"([{"id":"i1","v":1}])")));
  std::string a = create_provider(fever_def("a", fake.url("/a.xml")));
  std::string b = create_provider(fever_def("b", fake.url("/b.xml")));
  std::string j = create_provider(json_def("j", fake.url("/items")));
  ASSERT_FALSE(a.empty() || b.empty() || j.empty());
  for (const auto& id : {a, b, j}) ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  settle_search(2);
  EXPECT_EQ(keys_of(search()), (std::set<std::string>{"Kept@2024-06-01T10:00:00", "Removed@2024-06-02T10:00:00"}));
  EXPECT_EQ(item_ids(items("provider=j")), std::vector<std::string>{"i1"});

  ASSERT_EQ(daisy().request("DELETE", "/v1/providers/" + b, daisy().admin()).status, 204);
  ASSERT_EQ(daisy().request("DELETE", "/v1/providers/" + j, daisy().admin()).status, 204);
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Kept@2024-06-01T10:00:00"});
  EXPECT_TRUE(HasFieldError(daisy().get("/v1/items?provider=j", daisy().admin()), "provider"));

  // Nor does it come back after a restart, nor under a new provider of the same name.
  daisy().stop();
  ASSERT_TRUE(daisy().start()) << daisy().start_error();
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Kept@2024-06-01T10:00:00"});
  fake.set("/items", json_reply(J(R"([{"id":"i2","v":2}])")));
  std::string j2 = create_provider(json_def("j", fake.url("/items")));
  ASSERT_FALSE(j2.empty());
  wait_first_sync(j2);
  EXPECT_EQ(item_ids(items("provider=j")), std::vector<std::string>{"i2"});
}

TEST_F(FeedsTest, SchedulerPullsAgainAtTheInterval) {
  FakeProvider fake;
  fake.set("/feed.xml",
           xml(plan_list({base("1", "online", "First", {plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00")})})));
  std::string id = create_provider(fever_def("every-5s", fake.url("/feed.xml"), {{"interval_s", 5}}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  fake.set("/feed.xml",
           xml(plan_list({base("1", "online", "Second", {plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00")})})));
  json::array records;
  ASSERT_TRUE(eventually(
      [&] {
        records = syncs(id);
        return records.size() >= 2;
      },
      30s))
      << "no second scheduled pull";
  EXPECT_EQ(str(records[0], "trigger"), "schedule");
  EXPECT_EQ(num(records[0], "changed"), 1) << dump(records[0]);
  EXPECT_TRUE(eventually([&] { return keys_of(search()) == std::set<std::string>{"Second@2024-06-01T10:00:00"}; }))
      << search_body();
}

TEST_F(FeedsTest, DisabledProvidersAreNotScheduled) {
  FakeProvider fake;
  fake.set("/off.xml",
           xml(plan_list({base("1", "online", "Off", {plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00")})})));
  fake.set("/on.xml", xml(plan_list({})));
  std::string off = create_provider(fever_def("off", fake.url("/off.xml"), {{"enabled", false}}));
  std::string on = create_provider(fever_def("on", fake.url("/on.xml")));
  ASSERT_FALSE(off.empty() || on.empty());
  // "off" was due before "on": by the time "on" has been pulled (twice), "off" would have been too.
  ASSERT_TRUE(at(wait_first_sync(on), "error").is_null());
  sync(on);
  EXPECT_TRUE(syncs(off).empty());
  EXPECT_EQ(fake.count("/off.xml"), 0u);
  EXPECT_TRUE(at(get_provider(off), "last_sync_at").is_null());

  HttpResponse r = daisy().request("PATCH", "/v1/providers/" + off, admin_json(), R"({"enabled": true})");
  ASSERT_EQ(r.status, 200) << r.summary();
  ASSERT_TRUE(at(wait_first_sync(off), "error").is_null());
  settle_search(1);
  EXPECT_TRUE(at(get_provider(off), "last_sync_at").is_string());
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Off@2024-06-01T10:00:00"});
}

// ---------------------------------------------------------------- 2. the ever-online rule

TEST_F(FeedsTest, PlansOfBasePlansEverSeenOnlineStaySearchable) {
  FakeProvider fake;
  const std::string d = "2024-06-0";
  fake.set("/feed.xml",
           xml(plan_list({
               base("1", "online", "Online Then Offline", {plan("11", d + "1T10:00:00", d + "1T12:00:00")}),
               base("2", "online", "Disappears", {plan("21", d + "2T10:00:00", d + "2T12:00:00")}),
               base("3", "offline", "Never Online", {plan("31", d + "3T10:00:00", d + "3T12:00:00")}),
               base("4", "offline", "Late Online",
                    {plan("41", d + "4T10:00:00", d + "4T12:00:00"), plan("42", d + "5T10:00:00", d + "5T12:00:00")}),
           })));
  std::string id = create_provider(fever_def("ever-online", fake.url("/feed.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "new"), 5);
  settle_search(2);
  EXPECT_EQ(keys_of(search()),
            (std::set<std::string>{"Online Then Offline@2024-06-01T10:00:00", "Disappears@2024-06-02T10:00:00"}));

  // Pull 2: base 1 goes offline (and gains a plan), base 2 leaves the feed,
  // base 3 stays offline, base 4 comes online with only one of its plans.
  fake.set("/feed.xml",
           xml(plan_list({
               base("1", "offline", "Online Then Offline",
                    {plan("11", d + "1T10:00:00", d + "1T12:00:00"), plan("12", d + "6T10:00:00", d + "6T12:00:00")}),
               base("3", "offline", "Never Online", {plan("31", d + "3T10:00:00", d + "3T12:00:00")}),
               base("4", "online", "Late Online", {plan("41", d + "4T10:00:00", d + "4T12:00:00")}),
           })));
  json::value second = sync(id);
  ASSERT_TRUE(at(second, "error").is_null()) << dump(second);
  EXPECT_EQ(num(second, "new"), 1) << dump(second);
  const std::set<std::string> all_searchable{
      "Online Then Offline@2024-06-01T10:00:00", "Online Then Offline@2024-06-06T10:00:00",
      "Disappears@2024-06-02T10:00:00",          "Late Online@2024-06-04T10:00:00",
      "Late Online@2024-06-05T10:00:00",
  };
  EXPECT_EQ(keys_of(search()), all_searchable);

  // Pull 3: everything offline or gone; nothing searchable is lost, nothing offline appears.
  fake.set("/feed.xml", xml(plan_list({
                            base("3", "offline", "Never Online", {plan("31", d + "3T10:00:00", d + "3T12:00:00")}),
                            base("4", "offline", "Late Online", {plan("41", d + "4T10:00:00", d + "4T12:00:00")}),
                        })));
  ASSERT_TRUE(at(sync(id), "error").is_null());
  EXPECT_EQ(keys_of(search()), all_searchable);

  // And the same from the store after a restart.
  daisy().stop();
  ASSERT_TRUE(daisy().start()) << daisy().start_error();
  EXPECT_EQ(keys_of(search()), all_searchable);
}

// A base plan counts as seen online even when none of its plans could be
// stored in that pull (it had none, or only bad ones).
TEST_F(FeedsTest, BasePlanSeenOnlineWithoutStoredPlansStillCounts) {
  FakeProvider fake;
  fake.set("/feed.xml",
           xml(plan_list({
               base("5", "online", "Announced Empty", {}),
               base("6", "online", "Announced Broken", {plan("61", "2024-04-31T10:00:00", "2024-04-31T12:00:00")}),
               base("7", "online", "Control", {plan("71", "2024-06-07T10:00:00", "2024-06-07T12:00:00")}),
           })));
  std::string id = create_provider(fever_def("announced", fake.url("/feed.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "skipped"), 1);
  settle_search(1);
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Control@2024-06-07T10:00:00"});

  fake.set("/feed.xml",
           xml(plan_list({
               base("5", "offline", "Announced Empty", {plan("51", "2024-06-05T10:00:00", "2024-06-05T12:00:00")}),
               base("6", "offline", "Announced Broken", {plan("61", "2024-06-06T10:00:00", "2024-06-06T12:00:00")}),
               base("7", "offline", "Control", {plan("71", "2024-06-07T10:00:00", "2024-06-07T12:00:00")}),
           })));
  ASSERT_TRUE(at(sync(id), "error").is_null());
  EXPECT_EQ(keys_of(search()),
            (std::set<std::string>{"Announced Empty@2024-06-05T10:00:00", "Announced Broken@2024-06-06T10:00:00",
                                   "Control@2024-06-07T10:00:00"}))
      << "base plans 5 and 6 were seen with sell_mode=\"online\" in the first pull";
}

// ---------------------------------------------------------------- 3. latest values

TEST_F(FeedsTest, LatestValuesWinAndIdsAreStable) {
  FakeProvider fake;
  auto feed = [](std::string_view title, std::string_view p1, std::string_view p2, std::string_view price_b8) {
    return plan_list({
        base("1", "online", title,
             {plan("11", "2024-06-01T10:00:00", "2024-06-01T12:00:00", {zone("1", p1), zone("2", p2)})}),
        // The same plan id under two base plans: two plans.
        base("7", "online", "Seven", {plan("900", "2024-06-02T10:00:00", "2024-06-02T12:00:00", "5.00")}),
        base("8", "online", "Eight", {plan("900", "2024-06-03T10:00:00", "2024-06-03T12:00:00", price_b8)}),
    });
  };
  fake.set("/feed.xml", xml(feed("Old Title", "10.00", "20.00", "7.00")));
  std::string id = create_provider(fever_def("latest", fake.url("/feed.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "new"), 3);
  EXPECT_EQ(num(first, "changed"), 0);
  settle_search(3);

  auto v1 = by_key(search());
  ASSERT_EQ(v1.size(), 3u);
  const json::value& old_plan = v1["Old Title@2024-06-01T10:00:00"];
  EXPECT_EQ(price(old_plan, "min_price"), 10.0);
  EXPECT_EQ(price(old_plan, "max_price"), 20.0);
  std::string id1 = str(old_plan, "id"), id7 = str(v1["Seven@2024-06-02T10:00:00"], "id"),
              id8 = str(v1["Eight@2024-06-03T10:00:00"], "id");
  EXPECT_NE(id7, id8) << "plan 900 of base plan 7 and plan 900 of base plan 8 are two plans";
  EXPECT_EQ(price(v1["Eight@2024-06-03T10:00:00"], "min_price"), 7.0);

  // Pull 2: base 1's title and prices change, base 8's price changes.
  fake.set("/feed.xml", xml(feed("New Title", "12.50", "30.00", "8.25")));
  json::value second = sync(id);
  ASSERT_TRUE(at(second, "error").is_null()) << dump(second);
  EXPECT_EQ(num(second, "changed"), 2) << dump(second);
  EXPECT_EQ(num(second, "new"), 0) << dump(second);
  EXPECT_EQ(num(second, "seen"), 3) << dump(second);

  auto v2 = by_key(search());
  ASSERT_EQ(v2.size(), 3u) << "no copy of the old values is left";
  ASSERT_TRUE(v2.count("New Title@2024-06-01T10:00:00"));
  const json::value& new_plan = v2["New Title@2024-06-01T10:00:00"];
  EXPECT_EQ(str(new_plan, "id"), id1);
  EXPECT_EQ(price(new_plan, "min_price"), 12.5);
  EXPECT_EQ(price(new_plan, "max_price"), 30.0);
  EXPECT_EQ(str(v2["Seven@2024-06-02T10:00:00"], "id"), id7);
  EXPECT_EQ(str(v2["Eight@2024-06-03T10:00:00"], "id"), id8);
  EXPECT_EQ(price(v2["Eight@2024-06-03T10:00:00"], "max_price"), 8.25);
  EXPECT_EQ(price(v2["Seven@2024-06-02T10:00:00"], "max_price"), 5.0) << "base plan 7's plan 900 is untouched";

  // The same feed again: nothing new, nothing changed.
  json::value third = sync(id);
  EXPECT_EQ(num(third, "changed"), 0) << dump(third);
  EXPECT_EQ(num(third, "new"), 0) << dump(third);

  // A restart keeps the ids (and everything else).
  std::string body = search_body();
  daisy().stop();
  ASSERT_TRUE(daisy().start()) << daisy().start_error();
  EXPECT_EQ(search_body(), body);
  json::value after_restart = sync(id);
  EXPECT_EQ(num(after_restart, "new"), 0) << dump(after_restart);
  EXPECT_EQ(search_body(), body);
}

// ---------------------------------------------------------------- 4. containment and time zones

TEST_F(FeedsTest, SearchContainmentAtTheEdgesAndOpenSides) {
  FakeProvider fake;
  fake.set("/utc.xml", xml(plan_list({
                           base("1", "online", "Edge", {plan("1", "2024-07-10T10:00:00", "2024-07-10T12:00:00")}),
                           base("2", "online", "Earlier", {plan("2", "2024-07-09T08:00:00", "2024-07-09T09:00:00")}),
                           base("3", "online", "Later", {plan("3", "2024-07-11T08:00:00", "2024-07-11T09:00:00")}),
                       })));
  std::string id = create_provider(fever_def("utc", fake.url("/utc.xml")));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  settle_search(3);
  const std::string edge = "Edge@2024-07-10T10:00:00";

  struct Case {
    std::string starts_at, ends_at;
    bool included;
  };
  const Case cases[] = {
      {"2024-07-10T10:00:00Z", "2024-07-10T12:00:00Z", true},   // exactly its span
      {"2024-07-10T10:00:01Z", "2024-07-10T12:00:00Z", false},  // starts one second too early
      {"2024-07-10T10:00:00Z", "2024-07-10T11:59:59Z", false},  // ends one second too late
      {"2024-07-10T09:59:59Z", "2024-07-10T12:00:01Z", true},
      {"2024-07-10T10:00:00Z", "", true},  // open end
      {"2024-07-10T10:00:01Z", "", false},
      {"", "2024-07-10T12:00:00Z", true},  // open start
      {"", "2024-07-10T11:59:59Z", false},
      {"", "", true},
      {"2024-07-10T12:00:00+02:00", "2024-07-10T14:00:00+02:00", true},  // offsets
      {"2024-07-10T12:00:01+02:00", "", false},
      {"", "2024-07-10T07:00:00-05:00", true},
      {"", "2024-07-10T06:59:59-05:00", false},
      {"2024-07-10T10:00:00", "2024-07-10T12:00:00", true},  // no offset: UTC
      {"2024-07-10T10:00:01", "", false},
      {"", "2024-07-10T11:59:59", false},
      {"2024-07-10", "2024-07-11", true},  // dates: their midnight UTC
      {"", "2024-07-10", false},
      {"2024-07-11", "", false},
      {"2024-07-10T10:00:00.000Z", "2024-07-10T12:00:00.000Z", true},
  };
  for (const Case& c : cases) {
    std::string query;
    if (!c.starts_at.empty()) query += "starts_at=" + url_encode(c.starts_at);
    if (!c.ends_at.empty()) query += std::string(query.empty() ? "" : "&") + "ends_at=" + url_encode(c.ends_at);
    SCOPED_TRACE(query);
    EXPECT_EQ(found(query, edge), c.included);
  }
  // The neighbours fall in or out with their own spans.
  EXPECT_EQ(keys_of(search("starts_at=2024-07-09T08:00:00Z&ends_at=2024-07-10T12:00:00Z")),
            (std::set<std::string>{"Earlier@2024-07-09T08:00:00", edge}));
  EXPECT_EQ(keys_of(search("starts_at=2024-07-10T10:00:00Z")),
            (std::set<std::string>{edge, "Later@2024-07-11T08:00:00"}));
  EXPECT_EQ(keys_of(search("ends_at=2024-07-10T12:00:00Z")),
            (std::set<std::string>{"Earlier@2024-07-09T08:00:00", edge}));
  EXPECT_TRUE(search("starts_at=2024-07-10T09:00:00Z&ends_at=2024-07-10T11:00:00Z").empty())
      << "a plan that ends after ends_at is not contained";
  EXPECT_TRUE(search("starts_at=2024-07-10T11:00:00Z&ends_at=2024-07-10T13:00:00Z").empty())
      << "a plan that starts before starts_at is not contained";

  // The event as /search shows it.
  auto events = by_key(search("starts_at=2024-07-10T10:00:00Z&ends_at=2024-07-10T12:00:00Z"));
  ASSERT_EQ(events.size(), 1u);
  const json::value& e = events[edge];
  EXPECT_EQ(str(e, "end_date"), "2024-07-10");
  EXPECT_EQ(str(e, "end_time"), "12:00:00");
  EXPECT_EQ(e.as_object().size(), 8u) << dump(e);
}

TEST_F(FeedsTest, PlanTimesAreLocalToTheProvidersTimeZone) {
  FakeProvider fake;
  fake.set("/madrid.xml",
           xml(plan_list(
               {base("1", "online", "Madrid Winter", {plan("1", "2024-03-08T20:30:00", "2024-03-08T22:00:00")}),
                base("2", "online", "Madrid Summer", {plan("2", "2024-07-12T20:30:00", "2024-07-12T22:00:00")})})));
  fake.set(
      "/ny.xml",
      xml(plan_list({base("1", "online", "New York", {plan("1", "2024-01-15T09:00:00", "2024-01-15T10:00:00")})})));
  std::string madrid = create_provider(fever_def("madrid", fake.url("/madrid.xml"), {{"timezone", "Europe/Madrid"}}));
  std::string ny = create_provider(fever_def("ny", fake.url("/ny.xml"), {{"timezone", "America/New_York"}}));
  ASSERT_FALSE(madrid.empty() || ny.empty());
  ASSERT_TRUE(at(wait_first_sync(madrid), "error").is_null());
  ASSERT_TRUE(at(wait_first_sync(ny), "error").is_null());
  settle_search(3);

  // 20:30 in Madrid in March (CET, +01:00) is 19:30Z; /search shows the local values.
  const std::string winter = "Madrid Winter@2024-03-08T20:30:00";
  EXPECT_TRUE(found("starts_at=2024-03-08T19:30:00Z&ends_at=2024-03-08T21:00:00Z", winter));
  EXPECT_FALSE(found("starts_at=2024-03-08T19:30:01Z&ends_at=2024-03-08T21:00:00Z", winter));
  EXPECT_FALSE(found("starts_at=2024-03-08T19:30:00Z&ends_at=2024-03-08T20:59:59Z", winter));
  EXPECT_FALSE(found("starts_at=2024-03-08T20:30:00Z", winter)) << "20:30 local is not 20:30Z";
  EXPECT_TRUE(found(
      "starts_at=" + url_encode("2024-03-08T20:30:00+01:00") + "&ends_at=" + url_encode("2024-03-08T22:00:00+01:00"),
      winter));
  auto events = by_key(search("starts_at=2024-03-08T19:30:00Z&ends_at=2024-03-08T21:00:00Z"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(str(events[winter], "start_date"), "2024-03-08");
  EXPECT_EQ(str(events[winter], "start_time"), "20:30:00");
  EXPECT_EQ(str(events[winter], "end_time"), "22:00:00");

  // In July (CEST, +02:00) it is 18:30Z.
  const std::string summer = "Madrid Summer@2024-07-12T20:30:00";
  EXPECT_TRUE(found("starts_at=2024-07-12T18:30:00Z&ends_at=2024-07-12T20:00:00Z", summer));
  EXPECT_FALSE(found("starts_at=2024-07-12T18:30:01Z", summer));
  EXPECT_FALSE(found("ends_at=2024-07-12T19:59:59Z", summer));

  // 09:00 in New York in January (EST, -05:00) is 14:00Z.
  const std::string nyc = "New York@2024-01-15T09:00:00";
  EXPECT_TRUE(found("starts_at=2024-01-15T14:00:00Z&ends_at=2024-01-15T15:00:00Z", nyc));
  EXPECT_FALSE(found("starts_at=2024-01-15T14:00:01Z", nyc));
  EXPECT_FALSE(found("ends_at=2024-01-15T14:59:59Z", nyc));

  // Changing the provider's zone moves its plans at once.
  HttpResponse r = daisy().request("PATCH", "/v1/providers/" + madrid, admin_json(), R"({"timezone": "UTC"})");
  ASSERT_EQ(r.status, 200) << r.summary();
  EXPECT_TRUE(found("starts_at=2024-03-08T20:30:00Z&ends_at=2024-03-08T22:00:00Z", winter));
  EXPECT_FALSE(found("starts_at=2024-03-08T19:30:00Z&ends_at=2024-03-08T21:00:00Z", winter));
}

// ---------------------------------------------------------------- 5. bad plans

TEST_F(FeedsTest, PlansFixtureSkipsTheImpossibleDate) {
  FakeProvider fake;
  fake.set("/plans.xml", xml(std::string(kPlansFixture)));
  std::string id = create_provider(fever_def("fixture-plans", fake.url("/plans.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "http_status"), 200);
  EXPECT_EQ(num(first, "skipped"), 1) << "plan 900 of base plan 78 is on 2024-04-31: " << dump(first);
  EXPECT_EQ(num(first, "new"), 3) << dump(first);
  settle_search(3);

  auto events = by_key(search());
  ASSERT_EQ(events.size(), 3u) << search_body();
  const json::value& jazz = events["Jazz at the Old Mill@2024-03-08T20:30:00"];
  EXPECT_EQ(str(jazz, "end_date"), "2024-03-08");
  EXPECT_EQ(str(jazz, "end_time"), "22:00:00");
  EXPECT_EQ(price(jazz, "min_price"), 18.5);
  EXPECT_EQ(price(jazz, "max_price"), 32.0);
  const json::value& p900 = events["Puppet Theatre & Friends@2024-03-09T11:00:00"];
  EXPECT_EQ(price(p900, "min_price"), 9.0);
  EXPECT_EQ(price(p900, "max_price"), 9.0);
  // Zone 5 twice, at two prices: both count.
  const json::value& p901 = events["Puppet Theatre & Friends@2024-03-10T11:00:00"];
  EXPECT_EQ(price(p901, "min_price"), 9.0);
  EXPECT_EQ(price(p901, "max_price"), 12.0);
  EXPECT_EQ(search_body().find("Private Rehearsal"), std::string::npos);
}

TEST_F(FeedsTest, EventsVocabularyFixture) {
  FakeProvider fake;
  fake.set("/events.xml", xml(std::string(kEventsFixture)));
  std::string id = create_provider(fever_def("fixture-events", fake.url("/events.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "skipped"), 0);
  EXPECT_EQ(num(first, "new"), 2);
  settle_search(2);

  auto events = by_key(search());
  ASSERT_EQ(events.size(), 2u) << search_body();
  const json::value& jazz = events["Jazz at the Old Mill@2024-03-08T20:30:00"];
  EXPECT_EQ(str(jazz, "end_time"), "22:30:00");
  EXPECT_EQ(price(jazz, "min_price"), 18.5);
  EXPECT_EQ(price(jazz, "max_price"), 35.0);
  const json::value& rehearsal = events["Open Rehearsal@2024-05-02T18:00:00"];
  EXPECT_EQ(str(rehearsal, "end_date"), "2024-05-02");
  EXPECT_EQ(str(rehearsal, "end_time"), "19:00:00");
  EXPECT_EQ(price(rehearsal, "min_price"), 5.0);
  EXPECT_EQ(price(rehearsal, "max_price"), 5.0);
  EXPECT_TRUE(
      found("starts_at=2024-05-02T18:00:00Z&ends_at=2024-05-02T19:00:00Z", "Open Rehearsal@2024-05-02T18:00:00"));
}

TEST_F(FeedsTest, BadPlansAreSkippedAndCountedTheRestStored) {
  FakeProvider fake;
  const std::string good_zone = zone("1", "10.00");
  std::string feed = plan_list({
      base("1", "online", "Mixed",
           {
               plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00"),                                  // good
               plan("2", "2021-09-31T10:00:00", "2021-09-31T11:00:00"),                                  // no such day
               plan("3", "2024-06-03T10:00:00", "2024-06-03T11:00:00", "abc"),                           // price
               "<plan plan_start_date=\"2024-06-04T10:00:00\" plan_end_date=\"2024-06-04T11:00:00\">" +  // no plan_id
                   good_zone + "</plan>",
               plan("5", "2024-06-05T10:00:00", "2024-06-05T11:00:00", std::vector<std::string>{}),  // no zone
               "<plan plan_id=\"6\" plan_start_date=\"2024-06-06T10:00:00\">" + good_zone +          // no end
                   "</plan>",
               plan("7", "2024-06-07T10:00:00", "2024-06-07T11:00:00",
                    std::vector<std::string>{zone("1", "3.00"), zone("2", "1,50")}),  // one bad zone price
               plan("8", "2024-06-08T10:00:00", "2024-06-08T11:00:00", "0.00"),       // good, free
           }),
      base("2", "online", "Also Good", {plan("1", "2024-06-09T10:00:00", "2024-06-09T11:00:00", "4.5")}),
  });
  fake.set("/feed.xml", xml(feed));
  std::string id = create_provider(fever_def("mixed", fake.url("/feed.xml")));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "skipped"), 6) << dump(first);
  EXPECT_EQ(num(first, "new"), 3) << dump(first);
  settle_search(3);
  auto events = by_key(search());
  EXPECT_EQ(keys_of(search()), (std::set<std::string>{"Mixed@2024-06-01T10:00:00", "Mixed@2024-06-08T10:00:00",
                                                      "Also Good@2024-06-09T10:00:00"}));
  EXPECT_EQ(price(events["Mixed@2024-06-08T10:00:00"], "max_price"), 0.0);
  EXPECT_EQ(price(events["Also Good@2024-06-09T10:00:00"], "min_price"), 4.5);

  // A later pull that fixes a bad plan adds it; one that breaks a stored plan keeps its last good values.
  fake.set("/feed.xml", xml(plan_list({base("1", "online", "Mixed",
                                            {plan("1", "2024-06-01T10:00:00", "2024-06-01T11:00:00", "oops"),
                                             plan("3", "2024-06-03T10:00:00", "2024-06-03T11:00:00", "6.00")})})));
  json::value second = sync(id);
  ASSERT_TRUE(at(second, "error").is_null()) << dump(second);
  EXPECT_EQ(num(second, "skipped"), 1) << dump(second);
  EXPECT_EQ(num(second, "new"), 1) << dump(second);
  events = by_key(search());
  EXPECT_EQ(events.size(), 4u);
  EXPECT_EQ(price(events["Mixed@2024-06-01T10:00:00"], "min_price"), 10.0);
  EXPECT_EQ(price(events["Mixed@2024-06-03T10:00:00"], "min_price"), 6.0);
}

// ---------------------------------------------------------------- 6. /search whatever the provider does

TEST_F(FeedsTest, SearchIsUnaffectedByTheProvidersState) {
  FakeProvider fake;
  std::string good = plan_list({
      base("1", "online", "Stable", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00", "15.00")}),
      base("2", "online", "Also Stable", {plan("2", "2024-06-02T10:00:00", "2024-06-02T12:00:00", "25.00")}),
  });
  fake.set("/feed.xml", xml(good));
  std::string id = create_provider(fever_def("flaky", fake.url("/feed.xml"), {{"timeout_ms", 500}}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  settle_search(2);
  const std::string all = search_body();
  const std::string ranged = search_body("starts_at=2024-06-02T00:00:00Z&ends_at=2024-06-03T00:00:00Z");
  ASSERT_EQ(search().size(), 2u) << all;
  ASSERT_EQ(search("starts_at=2024-06-02T00:00:00Z&ends_at=2024-06-03T00:00:00Z").size(), 1u) << ranged;

  auto expect_unchanged = [&] {
    EXPECT_EQ(search_body(), all);
    EXPECT_EQ(search_body("starts_at=2024-06-02T00:00:00Z&ends_at=2024-06-03T00:00:00Z"), ranged);
  };
  std::string changed_title =
      plan_list({base("1", "online", "Changed", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00", "99.00")})});

  {
    SCOPED_TRACE("HTTP 500");
    fake.set("/feed.xml", Reply{.status = 500, .body = changed_title});
    json::value s = sync(id);
    EXPECT_TRUE(at(s, "error").is_string()) << dump(s);
    EXPECT_EQ(num(s, "http_status"), 500);
    expect_unchanged();
  }
  {
    SCOPED_TRACE("malformed XML");
    fake.set("/feed.xml", xml(changed_title.substr(0, changed_title.size() / 2)));
    json::value s = sync(id);
    EXPECT_TRUE(at(s, "error").is_string()) << dump(s);
    expect_unchanged();
  }
  {
    SCOPED_TRACE("not a feed");
    fake.set("/feed.xml", xml("<html><body>maintenance</body></html>"));
    json::value s = sync(id);
    EXPECT_TRUE(at(s, "error").is_string()) << dump(s);
    expect_unchanged();
  }
  {
    SCOPED_TRACE("hangs");
    fake.set("/feed.xml", Reply{.status = 200, .body = changed_title, .hang = true});
    std::size_t asked = fake.count("/feed.xml");
    json::value s;
    std::jthread puller([&] { s = sync(id); });
    // While the provider holds the pull (or after it gave up), /search answers the same.
    eventually([&] { return fake.count("/feed.xml") > asked; }, 10s);
    expect_unchanged();
    puller.join();
    EXPECT_TRUE(at(s, "error").is_string()) << dump(s);
    EXPECT_EQ(num(s, "http_status"), 0);
    expect_unchanged();
    fake.release_hangs();
  }
  {
    SCOPED_TRACE("gone");
    fake.set("/feed.xml", Reply{.status = 404, .body = "not found"});
    json::value s = sync(id);
    EXPECT_TRUE(at(s, "error").is_string()) << dump(s);
    EXPECT_EQ(num(s, "http_status"), 404);
    expect_unchanged();
  }

  // The records, newest first.
  json::array records = syncs(id);
  ASSERT_EQ(records.size(), 6u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(IsSyncRecord(records[i]));
    EXPECT_EQ(str(records[i], "trigger"), "manual");
    EXPECT_TRUE(at(records[i], "error").is_string()) << dump(records[i]);
  }
  EXPECT_EQ(num(records[0], "http_status"), 404);
  EXPECT_EQ(num(records[4], "http_status"), 500);
  EXPECT_EQ(str(records[5], "trigger"), "schedule");
  EXPECT_TRUE(at(records[5], "error").is_null());

  // Back to health: the feed's new values arrive.
  fake.set("/feed.xml", xml(changed_title));
  json::value s = sync(id);
  EXPECT_TRUE(at(s, "error").is_null()) << dump(s);
  EXPECT_EQ(keys_of(search()),
            (std::set<std::string>{"Changed@2024-06-01T10:00:00", "Also Stable@2024-06-02T10:00:00"}));
}

// /search is public and unpaged. A large reply is written part by part as
// the client reads it (the same bytes, chunked), so clients that ask and
// never read hold a part each, not the whole reply: before, 150 such sockets
// grew the server by gigabytes.
TEST_F(FeedsTest, LargeSearchRepliesAreStreamedAndUnreadOnesHoldLittle) {
  FakeProvider fake;
  std::vector<std::string> bases;
  constexpr int plans = 20000;
  for (int b = 0; b < plans / 100; ++b) {
    std::vector<std::string> ps;
    for (int p = 0; p < 100; ++p) {
      int n = b * 100 + p;
      char start[32], end[32];
      std::snprintf(start, sizeof start, "2024-%02d-%02dT%02d:%02d:00", 1 + n % 12, 1 + n % 28, n % 24, n % 60);
      std::snprintf(end, sizeof end, "2024-%02d-%02dT23:59:00", 1 + n % 12, 1 + n % 28);
      ps.push_back(plan(std::to_string(n), start, end));
    }
    bases.push_back(base(std::to_string(b), "online", "A long enough title for plan group " + std::to_string(b), ps));
  }
  fake.set("/big.xml", xml(plan_list(bases)));
  std::string id = create_provider(fever_def("big", fake.url("/big.xml")));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  settle_search(plans);

  // Streamed, and the same document as a whole reply would be.
  Streamed whole = get_streamed(daisy().port(), "/search", {});
  ASSERT_EQ(whole.response.status, 200) << whole.response.summary();
  EXPECT_TRUE(whole.chunked) << "a large reply is chunked";
  EXPECT_TRUE(whole.terminated);
  const std::size_t reply_bytes = whole.response.body.size();
  ASSERT_GT(reply_bytes, 2u << 20);
  EXPECT_EQ(whole.response.body.rfind("{\"data\":{\"events\":[", 0), 0u);
  EXPECT_EQ(whole.response.body.substr(reply_bytes - 17), "]},\"error\":null}\n");
  EXPECT_EQ(json::parse(whole.response.body).at("data").at("events").as_array().size(), std::size_t{plans});
  // A small one is not.
  HttpResponse small = daisy().get("/search?starts_at=2024-01-01T00:00:00Z&ends_at=2024-01-01T23:59:59Z");
  ASSERT_EQ(small.status, 200);
  EXPECT_FALSE(iequals(small.header("Transfer-Encoding"), "chunked"));
  EXPECT_TRUE(small.has_header("Content-Length"));

  // Sockets that ask and never read.
  std::size_t before = resident_bytes(daisy().pid());
  std::vector<Client> idle;
  for (int i = 0; i < 60; ++i) {
    idle.push_back(daisy().connect());
    ASSERT_TRUE(idle.back().send_raw(build_request("GET", "/search")));
  }
  std::this_thread::sleep_for(2s);  // let the server produce what it will
  EXPECT_EQ(daisy().get("/healthz").status, 200);
  std::size_t during = resident_bytes(daisy().pid());
  ASSERT_GT(before, 0u);
  // Whole replies would take 60 x the reply (over 120 MiB); parts take a few MiB.
  EXPECT_LT(during, before + 60 * reply_bytes / 4)
      << "resident memory went from " << before / 1024 << " KiB to " << during / 1024 << " KiB";
  idle.clear();
}

TEST_F(FeedsTest, SearchRejectsMalformedParametersInItsOwnShape) {
  for (std::string query :
       {"starts_at=garbage", "ends_at=2024-13-01", "starts_at=2023-02-29", "starts_at=2024-06-01T25:00:00Z",
        "ends_at=2024-06-01T10:00:00%2B99:00", "starts_at=2024-06-01T10:00:00Zjunk", "ends_at=tomorrow"}) {
    SCOPED_TRACE(query);
    HttpResponse r = daisy().get("/search?" + query);
    EXPECT_EQ(r.status, 400) << r.summary();
    EXPECT_EQ(r.header("Content-Type").find("application/problem+json"), std::string::npos) << r.header("Content-Type");
    json::value v = r.json();
    ASSERT_TRUE(v.is_object()) << r.body;
    EXPECT_EQ(v.as_object().size(), 2u) << r.body;
    EXPECT_TRUE(v.as_object().contains("data") && at(v, "data").is_null()) << r.body;
    json::value error = at(v, "error");
    EXPECT_FALSE(str(error, "code").empty()) << r.body;
    EXPECT_FALSE(str(error, "message").empty()) << r.body;
  }
  EXPECT_TRUE(search().empty());
}

// ---------------------------------------------------------------- 7. ETag

TEST_F(FeedsTest, ETagMakesUnchangedPullsConditional) {
  FakeProvider fake;
  std::string v1 =
      plan_list({base("1", "online", "Tagged", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00")})});
  fake.set("/feed.xml", Reply{.status = 200, .body = v1, .headers = {{"ETag", "\"v1\""}}});
  std::string id =
      create_provider(fever_def("etag", fake.url("/feed.xml"), {{"headers", json::object{{"X-Api-Key", "k-123"}}}}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  auto requests = fake.requests("/feed.xml");
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("If-None-Match"), "") << "nothing to validate on the first pull";
  EXPECT_EQ(requests[0].header("X-Api-Key"), "k-123") << "the provider's headers are sent";
  settle_search(1);
  const std::string body = search_body();
  ASSERT_EQ(search().size(), 1u);

  json::value s = sync(id);
  requests = fake.requests("/feed.xml");
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].header("If-None-Match"), "\"v1\"");
  EXPECT_EQ(requests[1].header("X-Api-Key"), "k-123");
  EXPECT_TRUE(at(s, "error").is_null()) << dump(s);
  EXPECT_EQ(num(s, "http_status"), 304);
  EXPECT_EQ(num(s, "seen"), 0);
  EXPECT_EQ(num(s, "new"), 0);
  EXPECT_EQ(num(s, "changed"), 0);
  EXPECT_EQ(search_body(), body) << "a 304 keeps what was pulled";

  // A new version with a new tag is pulled, then validated with its own tag.
  std::string v2 =
      plan_list({base("1", "online", "Retagged", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00")})});
  fake.set("/feed.xml", Reply{.status = 200, .body = v2, .headers = {{"ETag", "\"v2\""}}});
  s = sync(id);
  EXPECT_EQ(num(s, "http_status"), 200);
  EXPECT_EQ(num(s, "changed"), 1) << dump(s);
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Retagged@2024-06-01T10:00:00"});
  s = sync(id);
  requests = fake.requests("/feed.xml");
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[3].header("If-None-Match"), "\"v2\"");
  EXPECT_EQ(num(s, "http_status"), 304);
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Retagged@2024-06-01T10:00:00"});

  // The validator survives a restart.
  daisy().stop();
  ASSERT_TRUE(daisy().start()) << daisy().start_error();
  s = sync(id);
  requests = fake.requests("/feed.xml");
  ASSERT_GE(requests.size(), 5u);
  EXPECT_EQ(requests.back().header("If-None-Match"), "\"v2\"");
  EXPECT_EQ(keys_of(search()), std::set<std::string>{"Retagged@2024-06-01T10:00:00"});
}

// ---------------------------------------------------------------- 8. json pulls

// A provider that pages its items two at a time, by "after" (ids sort as text).
class PagedItems {
 public:
  explicit PagedItems(std::vector<std::string> ids) : ids_(std::move(ids)) {}
  void add(std::string id) {
    std::lock_guard lock(mu_);
    ids_.push_back(std::move(id));
  }
  Reply operator()(const FakeProvider::Request& request) {
    std::lock_guard lock(mu_);
    std::string after = request.query_param("after");
    json::array page;
    std::string last;
    bool more = false;
    for (const auto& id : ids_) {
      if (!after.empty() && id <= after) continue;
      if (page.size() == 2) {
        more = true;
        break;
      }
      page.push_back(json::object{{"key", id}, {"label", "item " + id}});
      last = id;
    }
    json::object body{{"data", json::object{{"list", std::move(page)}}}};
    body["next_cursor"] = more ? json::value(last) : json::value(nullptr);
    return json_reply(body);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> ids_;
};

TEST_F(FeedsTest, JsonPullsFollowCursorsIncrementally) {
  FakeProvider fake;
  auto items_feed = std::make_shared<PagedItems>(std::vector<std::string>{"i001", "i002", "i003", "i004", "i005"});
  fake.set_handler("/items", [items_feed](const FakeProvider::Request& r) { return (*items_feed)(r); });
  std::string id = create_provider(json_def(
      "paged", fake.url("/items"),
      {{"options", json::object{{"id_field", "key"}, {"cursor_param", "after"}, {"items_path", "data.list"}}}}));
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "seen"), 5);
  EXPECT_EQ(num(first, "new"), 5);
  auto requests = fake.requests("/items");
  ASSERT_EQ(requests.size(), 3u) << "three pages of at most two";
  EXPECT_EQ(requests[0].query_param("after"), "");
  EXPECT_EQ(requests[1].query_param("after"), "i002");
  EXPECT_EQ(requests[2].query_param("after"), "i004");

  json::value all = items("provider=paged");
  EXPECT_EQ(item_ids(all), (std::vector<std::string>{"i001", "i002", "i003", "i004", "i005"}));
  for (const auto& item : arr(all, "items")) {
    EXPECT_EQ(str(item, "provider"), "paged");
    EXPECT_EQ(str(item, "provider_id"), id);
    EXPECT_EQ(at(item, "data"),
              json::value(json::object{{"key", str(item, "id")}, {"label", "item " + str(item, "id")}}));
    EXPECT_FALSE(str(item, "first_seen_at").empty());
    EXPECT_FALSE(str(item, "updated_at").empty());
  }

  // The next pull starts from the last cursor the provider gave (i004: the
  // last page had none), so it reads that page again and then what is new.
  items_feed->add("i006");
  items_feed->add("i007");
  fake.clear_log();
  json::value second = sync(id);
  ASSERT_TRUE(at(second, "error").is_null()) << dump(second);
  requests = fake.requests("/items");
  ASSERT_GE(requests.size(), 1u);
  EXPECT_EQ(requests[0].query_param("after"), "i004");
  EXPECT_EQ(num(second, "seen"), 3) << dump(second);  // i005 again, i006, i007
  EXPECT_EQ(num(second, "new"), 2) << dump(second);
  EXPECT_EQ(item_ids(items("provider=paged")),
            (std::vector<std::string>{"i001", "i002", "i003", "i004", "i005", "i006", "i007"}));

  // Nothing new: from the last cursor given (i006), nothing new.
  fake.clear_log();
  json::value third = sync(id);
  requests = fake.requests("/items");
  ASSERT_GE(requests.size(), 1u);
  EXPECT_EQ(requests[0].query_param("after"), "i006");
  EXPECT_EQ(num(third, "new"), 0) << dump(third);

  // Paging through /v1/items itself.
  std::vector<std::string> paged;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    json::value r = items("provider=paged&limit=3" + (after.empty() ? "" : "&after=" + url_encode(after)));
    for (const auto& item : arr(r, "items")) paged.push_back(str(item, "id"));
    json::value next = at(r, "next_cursor");
    if (next.is_null()) break;
    after = std::string(next.as_string());
  }
  EXPECT_EQ(paged, (std::vector<std::string>{"i001", "i002", "i003", "i004", "i005", "i006", "i007"}));
}

TEST_F(FeedsTest, JsonPullsWithoutCursorReadEverythingAndKeepLatestValues) {
  FakeProvider fake;
  fake.set("/plain", json_reply(J(R"([
    {"id": "x", "v": 1, "kind": "a", "nested": {"on": true}},
    {"id": 7, "v": 2, "kind": "b", "nested": {"on": false}},
    {"name": "no id"},
    {"id": "y", "v": 2, "kind": "a", "nested": {"on": true}}
  ])")));
  fake.set("/wrapped", json_reply(J(R"({"items": [{"id": "w1", "kind": "a"}], "next_cursor": null})")));
  std::string plain = create_provider(json_def("plain", fake.url("/plain")));
  std::string wrapped = create_provider(json_def("wrapped", fake.url("/wrapped")));
  ASSERT_FALSE(plain.empty() || wrapped.empty());
  json::value first = wait_first_sync(plain);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "new"), 3);
  EXPECT_EQ(num(first, "skipped"), 1) << "an object without an id";
  ASSERT_TRUE(at(wait_first_sync(wrapped), "error").is_null());

  EXPECT_EQ(item_ids(items("provider=plain")), (std::vector<std::string>{"7", "x", "y"}));
  EXPECT_EQ(item_ids(items("provider=plain&match.v=2")), (std::vector<std::string>{"7", "y"}));
  EXPECT_EQ(item_ids(items("provider=plain&match.v=2&match.kind=a")), std::vector<std::string>{"y"});
  EXPECT_EQ(item_ids(items("provider=plain&match.nested.on=true")), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(item_ids(items("provider=plain&match.v=3")).empty());
  EXPECT_TRUE(item_ids(items("provider=plain&match.missing=1")).empty());
  EXPECT_EQ(item_ids(items("provider=plain,wrapped&match.kind=a")), (std::vector<std::string>{"w1", "x", "y"}));

  // Latest values win; an item leaving the feed stays.
  fake.set(
      "/plain",
      json_reply(J(R"([{"id": "x", "v": 5, "kind": "a"}, {"id": 7, "v": 2, "kind": "b", "nested": {"on": false}}])")));
  json::value second = sync(plain);
  EXPECT_EQ(num(second, "changed"), 1) << dump(second);
  EXPECT_EQ(num(second, "new"), 0) << dump(second);
  EXPECT_EQ(item_ids(items("provider=plain")), (std::vector<std::string>{"7", "x", "y"}));
  EXPECT_EQ(item_ids(items("provider=plain&match.v=5")), std::vector<std::string>{"x"});
  EXPECT_EQ(item_ids(items("provider=plain&match.v=2")), (std::vector<std::string>{"7", "y"}));

  // A page that is not what the options say is an error that changes nothing.
  fake.set("/plain", json_reply(J(R"({"results": [{"id": "z"}]})")));
  EXPECT_TRUE(at(sync(plain), "error").is_string());
  fake.set("/plain", Reply{.status = 200, .body = "[{\"id\": ", .content_type = "application/json"});
  EXPECT_TRUE(at(sync(plain), "error").is_string());
  EXPECT_EQ(item_ids(items("provider=plain")), (std::vector<std::string>{"7", "x", "y"}));

  // Query errors.
  EXPECT_TRUE(HasFieldError(daisy().get("/v1/items?provider=plain,nope", daisy().admin()), "provider"));
  EXPECT_TRUE(HasFieldError(daisy().get("/v1/items", daisy().admin()), "provider"));
  EXPECT_TRUE(HasFieldError(daisy().get("/v1/items?provider=plain&fresh=maybe", daisy().admin()), "fresh"));
}

// ---------------------------------------------------------------- 9. Daisy from Daisy

TEST_F(FeedsTest, DaisyPullsResponsesFromTwoOtherDaisies) {
  DaisyProcess& alpha = make();
  DaisyProcess& beta = make();
  ASSERT_TRUE(alpha.start()) << alpha.start_error();
  ASSERT_TRUE(beta.start()) << beta.start_error();
  json::value form = J(R"({"title": "survey", "questions": [
    {"key": "city", "type": "text"}, {"key": "n", "type": "integer"}, {"key": "ok", "type": "boolean"}]})");
  std::string form_a = create_form_id(alpha, form);
  std::string form_b = create_form_id(beta, form);
  ASSERT_FALSE(form_a.empty() || form_b.empty());
  auto answer = [](std::string_view city, int n) { return json::object{{"city", city}, {"n", n}, {"ok", n % 2 == 1}}; };
  std::map<int, std::string> response_ids;  // by n
  auto submit_to = [&](DaisyProcess& d, const std::string& form_id, std::string_view city, int n) {
    HttpResponse r = submit(d, form_id, answer(city, n));
    ASSERT_EQ(r.status, 201) << r.summary();
    response_ids[n] = str(r.json(), "id");
  };
  submit_to(alpha, form_a, "Madrid", 1);
  submit_to(alpha, form_a, "Paris", 2);
  submit_to(alpha, form_a, "Madrid", 3);
  submit_to(beta, form_b, "Madrid", 4);
  submit_to(beta, form_b, "Rome", 5);

  auto daisy_def = [](std::string_view name, const DaisyProcess& d, const std::string& form_id) {
    return json::object{{"name", name},
                        {"url", "http://127.0.0.1:" + std::to_string(d.port())},
                        {"format", "daisy"},
                        {"interval_s", 3600},
                        {"options", json::object{{"form_id", form_id}, {"token", d.admin_token()}}}};
  };
  std::string a = create_provider(daisy_def("alpha", alpha, form_a));
  std::string b = create_provider(daisy_def("beta", beta, form_b));
  ASSERT_FALSE(a.empty() || b.empty());
  json::value first_a = wait_first_sync(a), first_b = wait_first_sync(b);
  ASSERT_TRUE(at(first_a, "error").is_null()) << dump(first_a);
  ASSERT_TRUE(at(first_b, "error").is_null()) << dump(first_b);
  EXPECT_EQ(num(first_a, "new"), 3);
  EXPECT_EQ(num(first_b, "new"), 2);

  // New and corrected responses arrive with the next pull.
  submit_to(alpha, form_a, "Madrid", 6);
  ASSERT_EQ(correct(alpha, form_a, response_ids[3], answer("Lyon", 3)).status, 200);
  json::value s = sync(a);
  ASSERT_TRUE(at(s, "error").is_null()) << dump(s);
  EXPECT_EQ(num(s, "new"), 1) << dump(s);
  EXPECT_GE(num(s, "changed"), 1) << dump(s);

  json::value madrid = items("provider=alpha,beta&match.answers.city=Madrid");
  std::vector<std::string> want_madrid{response_ids[1], response_ids[6], response_ids[4]};
  std::sort(want_madrid.begin(), want_madrid.end());
  EXPECT_EQ(item_ids(madrid), want_madrid);
  for (const auto& item : arr(madrid, "items")) {
    json::value data = at(item, "data");
    EXPECT_EQ(str(at(data, "answers"), "city"), "Madrid");
    EXPECT_EQ(str(data, "id"), str(item, "id"));
    std::string want_provider = str(item, "id") == response_ids[4] ? "beta" : "alpha";
    EXPECT_EQ(str(item, "provider"), want_provider);
    EXPECT_EQ(str(item, "provider_id"), want_provider == "beta" ? b : a);
  }
  json::value entry_a = provider_entry(madrid, "alpha"), entry_b = provider_entry(madrid, "beta");
  EXPECT_EQ(str(entry_a, "status"), "stale");
  EXPECT_EQ(str(entry_b, "status"), "stale");
  EXPECT_FALSE(str(entry_a, "last_sync_at").empty());
  EXPECT_FALSE(str(entry_b, "last_sync_at").empty());

  // Numbers and booleans compare as their JSON text; all filters must match.
  EXPECT_EQ(item_ids(items("provider=alpha,beta&match.answers.n=4")), std::vector<std::string>{response_ids[4]});
  EXPECT_EQ(item_ids(items("provider=alpha,beta&match.answers.city=Madrid&match.answers.ok=true")),
            std::vector<std::string>{response_ids[1]});
  EXPECT_EQ(item_ids(items("provider=beta&match.answers.city=Madrid")), std::vector<std::string>{response_ids[4]});
  EXPECT_EQ(item_ids(items("provider=alpha,beta&match.answers.city=Lyon")), std::vector<std::string>{response_ids[3]});
  EXPECT_TRUE(item_ids(items("provider=alpha,beta&match.answers.city=Madrid&match.answers.n=2")).empty());

  // A wrong token is an error of that pull, not of the others.
  json::object bad = daisy_def("gamma", alpha, form_a);
  bad["options"].as_object()["token"] = "wrong-token";
  std::string g = create_provider(bad);
  ASSERT_FALSE(g.empty());
  json::value gs = wait_first_sync(g);
  EXPECT_TRUE(at(gs, "error").is_string()) << dump(gs);
  EXPECT_EQ(num(gs, "http_status"), 401) << dump(gs);
  EXPECT_TRUE(item_ids(items("provider=gamma")).empty());
}

TEST_F(FeedsTest, DaisyPullsFollowResponsePages) {
  DaisyProcess& source = make();
  ASSERT_TRUE(source.start()) << source.start_error();
  std::string form_id =
      create_form_id(source, J(R"({"title": "many", "questions": [{"key": "n", "type": "integer"}]})"));
  ASSERT_FALSE(form_id.empty());
  constexpr std::size_t kMany = 1005;  // more than one page of 1000
  auto ids = submit_many(
      source, form_id, kMany,
      [](std::size_t i) {
        return json::object{{"n", static_cast<std::int64_t>(i)}};
      },
      unique("feeds-pages"));
  ASSERT_EQ(std::count(ids.begin(), ids.end(), std::string()), 0);

  std::string id =
      create_provider(json::object{{"name", "source"},
                                   {"url", "http://127.0.0.1:" + std::to_string(source.port()) + "/"},
                                   {"format", "daisy"},
                                   {"interval_s", 3600},
                                   {"options", json::object{{"form_id", form_id}, {"token", source.admin_token()}}}});
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id);
  ASSERT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "new"), static_cast<std::int64_t>(kMany)) << dump(first);

  for (int n : {5000, 5001, 5002}) ASSERT_EQ(submit(source, form_id, json::object{{"n", n}}).status, 201);
  json::value second = sync(id);
  ASSERT_TRUE(at(second, "error").is_null()) << dump(second);
  EXPECT_EQ(num(second, "new"), 3) << dump(second);

  std::set<std::string> pulled;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    json::value r = items("provider=source&limit=1000" + (after.empty() ? "" : "&after=" + url_encode(after)));
    for (const auto& item : arr(r, "items")) pulled.insert(str(item, "id"));
    json::value next = at(r, "next_cursor");
    if (next.is_null()) break;
    after = std::string(next.as_string());
  }
  EXPECT_EQ(pulled.size(), kMany + 3);
  EXPECT_TRUE(pulled.count(ids.front()) && pulled.count(ids.back()));
  EXPECT_EQ(item_ids(items("provider=source&match.answers.n=1004")), std::vector<std::string>{ids[1004]});
  EXPECT_EQ(arr(items("provider=source&match.answers.n=5002"), "items").size(), 1u);
}

// ---------------------------------------------------------------- 10. fresh queries

TEST_F(FeedsTest, FreshQueriesDoNotWaitForAHangingProvider) {
  FakeProvider fake;
  fake.set("/fast", json_reply(J(R"([{"id": "f1"}])")));
  fake.set("/slow", json_reply(J(R"([{"id": "s1"}])")));
  fake.set("/broken", json_reply(J(R"([{"id": "b1"}])")));
  std::string fast = create_provider(json_def("fast", fake.url("/fast"), {{"timeout_ms", 10000}}));
  std::string slow = create_provider(json_def("slow", fake.url("/slow"), {{"timeout_ms", 1000}}));
  std::string broken = create_provider(json_def("broken", fake.url("/broken")));
  ASSERT_FALSE(fast.empty() || slow.empty() || broken.empty());
  for (const auto& id : {fast, slow, broken}) ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());

  fake.set("/fast", json_reply(J(R"([{"id": "f1"}, {"id": "f2"}])")));
  fake.set("/slow",
           Reply{.status = 200, .body = R"([{"id": "s2"}])", .content_type = "application/json", .hang = true});
  fake.set("/broken", Reply{.status = 500, .body = "down"});

  // Without fresh: what is stored, every provider "stale".
  json::value stale = items("provider=fast,slow");
  EXPECT_EQ(item_ids(stale), (std::vector<std::string>{"f1", "s1"}));
  EXPECT_EQ(str(provider_entry(stale, "fast"), "status"), "stale");
  EXPECT_EQ(str(provider_entry(stale, "slow"), "status"), "stale");
  EXPECT_EQ(item_ids(items("provider=fast,slow&fresh=false")), (std::vector<std::string>{"f1", "s1"}));

  json::value fresh = items("provider=fast,slow,broken&fresh=true");
  EXPECT_EQ(str(provider_entry(fresh, "fast"), "status"), "fresh") << dump(fresh);
  EXPECT_EQ(str(provider_entry(fresh, "slow"), "status"), "timeout") << dump(fresh);
  EXPECT_EQ(str(provider_entry(fresh, "broken"), "status"), "error") << dump(fresh);
  EXPECT_EQ(item_ids(fresh), (std::vector<std::string>{"b1", "f1", "f2", "s1"}));
  EXPECT_FALSE(str(provider_entry(fresh, "fast"), "last_sync_at").empty());
  // Why a provider gave no fresh data is said beside its status.
  EXPECT_TRUE(at(provider_entry(fresh, "fast"), "error").is_null()) << dump(fresh);
  EXPECT_TRUE(at(provider_entry(stale, "slow"), "error").is_null()) << dump(stale);
  EXPECT_NE(str(provider_entry(fresh, "broken"), "error").find("500"), std::string::npos) << dump(fresh);
  EXPECT_EQ(str(provider_entry(fresh, "slow"), "error"), "no answer within its timeout_ms (1000 ms)") << dump(fresh);
  // Whether a query waits out the timeout itself, or joins a pull that ends
  // at that same timeout (its fetch's own), the provider is "timeout".
  for (int i = 0; i < 3; ++i) {
    json::value again = items("provider=slow&fresh=true");
    EXPECT_EQ(str(provider_entry(again, "slow"), "status"), "timeout") << i << ": " << dump(again);
  }
  fake.release_hangs();

  // The fresh pull is recorded as such.
  json::array fast_syncs = syncs(fast);
  ASSERT_FALSE(fast_syncs.empty());
  EXPECT_EQ(str(fast_syncs[0], "trigger"), "fresh");
  EXPECT_EQ(num(fast_syncs[0], "new"), 1);
}

TEST_F(FeedsTest, DeletingAProviderAnswersASyncWaitingOnIt) {
  FakeProvider fake;
  fake.set("/feed", json_reply(J(R"([{"id": "a"}])")));
  std::string id = create_provider(json_def("doomed", fake.url("/feed"), {{"timeout_ms", 60000}}));
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(at(wait_first_sync(id), "error").is_null());
  // A manual sync of its own: once it has answered, no pull is in progress
  // that the next one could join instead of reaching the provider.
  ASSERT_TRUE(at(sync(id), "error").is_null());
  fake.set("/feed", Reply{.status = 200, .body = "[]", .content_type = "application/json", .hang = true});
  fake.clear_log();

  // A manual sync waits on a pull that hangs (for up to its 60 s timeout)...
  const DaisyProcess& d = daisy();
  HttpResponse waiting;
  std::jthread syncer([&] { waiting = d.request("POST", "/v1/providers/" + id + "/sync", d.admin()); });
  ASSERT_TRUE(eventually([&] { return fake.count("/feed") >= 1; }, 15s)) << "the pull never reached the provider";
  // ...and the provider is deleted meanwhile: the waiting request is answered at once, not at the timeout.
  EXPECT_EQ(d.request("DELETE", "/v1/providers/" + id, d.admin()).status, 204);
  syncer.join();
  EXPECT_EQ(waiting.status, 404) << waiting.summary();
  fake.release_hangs();
}

TEST_F(FeedsTest, ConcurrentFreshQueriesSharePulls) {
  FakeProvider fake;
  auto gate = std::make_shared<Gate>();
  fake.set_handler("/fast", [gate](const FakeProvider::Request&) {
    gate->wait();
    return json_reply(J(R"([{"id": "f1"}, {"id": "f2"}])"));
  });
  fake.set("/slow", json_reply(J(R"([{"id": "s1"}])")));
  std::string fast = create_provider(json_def("fast", fake.url("/fast"), {{"timeout_ms", 20000}}));
  std::string slow = create_provider(json_def("slow", fake.url("/slow"), {{"timeout_ms", 1000}}));
  ASSERT_FALSE(fast.empty() || slow.empty());
  ASSERT_TRUE(at(wait_first_sync(fast), "error").is_null());
  ASSERT_TRUE(at(wait_first_sync(slow), "error").is_null());
  fake.set("/slow", Reply{.status = 200, .body = "[]", .content_type = "application/json", .hang = true});
  struct Opener {  // never leave the handler blocked, whatever fails below
    std::shared_ptr<Gate> gate;
    ~Opener() { gate->release(); }
  } opener{gate};

  // The first request starts a pull of fast that the gate holds; the others arrive meanwhile.
  gate->closed = true;
  fake.clear_log();
  constexpr int kRequests = 5;
  std::vector<HttpResponse> replies(kRequests);
  std::vector<std::jthread> threads;
  const DaisyProcess& d = daisy();
  auto ask = [&d, &replies](int i) { replies[i] = d.request("GET", "/v1/items?provider=fast&fresh=true", d.admin()); };
  threads.emplace_back(ask, 0);
  ASSERT_TRUE(eventually([&] { return fake.count("/fast") >= 1; }, 15s)) << "the first fresh pull never came";
  for (int i = 1; i < kRequests; ++i) threads.emplace_back(ask, i);
  // Grace for the others to reach the server and join the pull; not an assertion.
  std::this_thread::sleep_for(1s);
  gate->release();
  for (auto& t : threads) t.join();

  for (int i = 0; i < kRequests; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(replies[i].status, 200) << replies[i].summary();
    json::value v = replies[i].json();
    EXPECT_EQ(str(provider_entry(v, "fast"), "status"), "fresh") << replies[i].body;
    EXPECT_EQ(item_ids(v), (std::vector<std::string>{"f1", "f2"}));
  }
  std::size_t pulls = fake.count("/fast");
  EXPECT_LT(pulls, static_cast<std::size_t>(kRequests)) << "concurrent fresh queries must share the pull in progress";
  std::size_t fresh_records = 0;
  for (const auto& s : syncs(fast)) fresh_records += str(s, "trigger") == "fresh";
  EXPECT_EQ(fresh_records, pulls) << "one sync record per pull";

  // Concurrent fresh queries that include the hanging provider all answer, with it "timeout".
  threads.clear();
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back(
        [&d, &replies, i] { replies[i] = d.request("GET", "/v1/items?provider=fast,slow&fresh=true", d.admin()); });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(replies[i].status, 200) << replies[i].summary();
    json::value v = replies[i].json();
    EXPECT_EQ(str(provider_entry(v, "fast"), "status"), "fresh") << replies[i].body;
    std::string slow_status = str(provider_entry(v, "slow"), "status");
    EXPECT_TRUE(slow_status == "timeout" || slow_status == "error") << replies[i].body;
    EXPECT_EQ(item_ids(v), (std::vector<std::string>{"f1", "f2", "s1"}));
  }
  fake.release_hangs();
}

// ---------------------------------------------------------------- 11. private targets

TEST_F(FeedsTest, ThePullSizeLimitHoldsPerFeedAndForAllThePagesOfAPull) {
  DaisyProcess& small = make({{"--allow-private-targets", "--feed-max-bytes", "4096"}});
  ASSERT_TRUE(small.start()) << small.start_error();
  FakeProvider fake;
  // A fever-xml document over the limit fails the pull and stores nothing.
  std::vector<std::string> bases;
  for (int i = 0; i < 40; ++i) {
    bases.push_back(
        base(std::to_string(i), "online", "Big", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00")}));
  }
  fake.set("/big.xml", xml(plan_list(bases)));
  std::string big = create_provider(fever_def("big", fake.url("/big.xml")), &small);
  ASSERT_FALSE(big.empty());
  json::value refused = wait_first_sync(big, &small);
  EXPECT_NE(str(refused, "error").find("larger than 4096 bytes"), std::string::npos) << dump(refused);
  EXPECT_TRUE(arr(at(small.get("/search").json(), "data"), "events").empty());

  // json pages of 3000 bytes each: the first fits, the second would pass 4096
  // in all. The pull keeps the first and stops; the next one goes on from there.
  fake.set_handler("/pages", [](const FakeProvider::Request& r) {
    std::string filler(2900, 'x');
    std::string next = r.query_param("after").empty() ? R"("p2")" : "null";
    std::string id = r.query_param("after").empty() ? "a" : "b";
    return json_reply(
        J(R"({"items": [{"id": ")" + id + R"(", "pad": ")" + filler + R"("}], "next_cursor": )" + next + "}"));
  });
  std::string paged =
      create_provider(json_def("paged", fake.url("/pages"), {{"options", J(R"({"cursor_param": "after"})")}}), &small);
  ASSERT_FALSE(paged.empty());
  json::value first = wait_first_sync(paged, &small);
  EXPECT_TRUE(at(first, "error").is_null()) << dump(first);
  EXPECT_EQ(num(first, "seen"), 1) << dump(first);
  EXPECT_EQ(num(first, "http_status"), 200) << dump(first);
  EXPECT_EQ(fake.count("/pages"), 2u);
  fake.clear_log();
  json::value next = sync(paged, &small);
  EXPECT_TRUE(at(next, "error").is_null()) << dump(next);
  EXPECT_EQ(num(next, "new"), 1) << dump(next);
  auto asked = fake.requests("/pages");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].query_param("after"), "p2");
}

TEST_F(FeedsTest, PrivateTargetsAreRefusedByDefault) {
  DaisyProcess& strict = make();
  ASSERT_TRUE(strict.start()) << strict.start_error();
  FakeProvider fake;
  fake.set(
      "/feed.xml",
      xml(plan_list({base("1", "online", "Internal", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00")})})));
  std::string id = create_provider(fever_def("internal", fake.url("/feed.xml")), &strict);
  ASSERT_FALSE(id.empty());
  json::value first = wait_first_sync(id, &strict);
  ASSERT_TRUE(at(first, "error").is_string()) << dump(first);
  EXPECT_NE(str(first, "error").find("--allow-private-targets"), std::string::npos) << dump(first);
  EXPECT_EQ(num(first, "http_status"), 0);
  json::value manual = sync(id, &strict);
  EXPECT_NE(str(manual, "error").find("--allow-private-targets"), std::string::npos) << dump(manual);
  EXPECT_EQ(fake.count("/feed.xml"), 0u) << "no request may reach the internal address";
  HttpResponse empty = strict.get("/search");
  EXPECT_EQ(empty.status, 200);
  EXPECT_TRUE(arr(at(empty.json(), "data"), "events").empty()) << empty.body;

  // Also for a host name that resolves to loopback.
  std::string by_name = create_provider(
      fever_def("internal-by-name", "http://localhost:" + std::to_string(fake.port()) + "/feed.xml"), &strict);
  ASSERT_FALSE(by_name.empty());
  json::value named = wait_first_sync(by_name, &strict);
  EXPECT_NE(str(named, "error").find("--allow-private-targets"), std::string::npos) << dump(named);
  EXPECT_EQ(fake.count("/feed.xml"), 0u);
}

// IPv6 literal URLs work, under the same private-address rule: [::1] is
// pulled when private targets are allowed and refused when they are not.
TEST_F(FeedsTest, Ipv6LiteralTargetsFollowThePrivateAddressRule) {
  FakeProvider fake(FakeProvider::Family::ipv6);
  fake.set(
      "/feed.xml",
      xml(plan_list({base("1", "online", "Over IPv6", {plan("1", "2024-06-01T10:00:00", "2024-06-01T12:00:00")})})));
  ASSERT_EQ(fake.url("/feed.xml").rfind("http://[::1]:", 0), 0u);
  std::string allowed = create_provider(fever_def("v6", fake.url("/feed.xml")));
  ASSERT_FALSE(allowed.empty());
  json::value pulled = wait_first_sync(allowed);
  EXPECT_TRUE(at(pulled, "error").is_null()) << dump(pulled);
  EXPECT_EQ(num(pulled, "new"), 1) << dump(pulled);
  std::size_t reached = fake.count("/feed.xml");
  EXPECT_GE(reached, 1u);

  DaisyProcess& strict = make();
  ASSERT_TRUE(strict.start()) << strict.start_error();
  std::string refused = create_provider(fever_def("v6-strict", fake.url("/feed.xml")), &strict);
  ASSERT_FALSE(refused.empty());
  json::value first = wait_first_sync(refused, &strict);
  EXPECT_NE(str(first, "error").find("--allow-private-targets"), std::string::npos) << dump(first);
  EXPECT_EQ(fake.count("/feed.xml"), reached) << "no request may reach [::1] without --allow-private-targets";
}

}  // namespace
}  // namespace daisy_e2e
