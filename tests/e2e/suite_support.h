#pragma once
// Helpers shared by the end-to-end suites (forms, responses, export, events,
// feeds, integrations, cluster, memory): JSON shorthands, the /v1/forms calls,
// a reader for streamed (chunked) responses, a strict RFC 4180 CSV parser and
// a bulk submitter.

#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"

namespace daisy_e2e::fx {

namespace json = boost::json;

// ---------------------------------------------------------------- JSON

inline json::value J(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) ADD_FAILURE() << "test JSON does not parse (" << ec.message() << "): " << text;
  return v;
}

inline std::string dump(const json::value& v) { return json::serialize(v); }

// o[key] as a string, or "" when it is missing or not a string.
inline std::string str(const json::value& v, std::string_view key) {
  if (!v.is_object()) return {};
  auto* p = v.get_object().if_contains(key);
  return p && p->is_string() ? std::string(p->get_string()) : std::string();
}

// o[key], or null when v is not an object or has no such key.
inline json::value at(const json::value& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  auto* p = v.get_object().if_contains(key);
  return p ? *p : json::value(nullptr);
}

inline std::int64_t num(const json::value& v, std::string_view key) {
  json::value x = at(v, key);
  if (x.is_int64()) return x.get_int64();
  if (x.is_uint64()) return static_cast<std::int64_t>(x.get_uint64());
  return -999999;
}

inline const json::array& arr(const json::value& v, std::string_view key) {
  static const json::array empty;
  if (!v.is_object()) return empty;
  auto* p = v.get_object().if_contains(key);
  return p && p->is_array() ? p->get_array() : empty;
}

// ---------------------------------------------------------------- paging

// Every item a paged list route returns for this query, walking the cursor.
inline std::vector<json::value> read_all_pages(const DaisyProcess& d, const std::string& path, const Headers& auth,
                                               const std::string& query, int limit) {
  std::vector<json::value> out;
  std::string after;
  for (int page = 0; page < 100'000; ++page) {
    std::string target = path + "?limit=" + std::to_string(limit);
    if (!query.empty()) target += "&" + query;
    if (!after.empty()) target += "&after=" + url_encode(after);
    HttpResponse r = d.get(target, auth);
    if (r.status != 200) {
      ADD_FAILURE() << target << ": " << r.summary();
      return out;
    }
    json::value v = r.json();
    for (const auto& item : arr(v, "items")) out.push_back(item);
    json::value next = at(v, "next_cursor");
    if (next.is_null()) return out;
    if (!next.is_string() || arr(v, "items").empty()) {
      ADD_FAILURE() << "bad next_cursor on a page: " << r.body.substr(0, 300);
      return out;
    }
    after = std::string(next.get_string());
  }
  ADD_FAILURE() << "pagination did not end";
  return out;
}

// ---------------------------------------------------------------- problems

// The errors[].field values of a problem reply, in order.
inline std::vector<std::string> error_fields(const HttpResponse& r) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) return out;
  for (const auto& e : arr(v, "errors")) out.push_back(str(e, "field"));
  return out;
}

// The message of the first errors[] entry with this field, or nullopt.
inline std::optional<std::string> error_message(const HttpResponse& r, std::string_view field) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec) return std::nullopt;
  for (const auto& e : arr(v, "errors")) {
    if (str(e, "field") == field) return str(e, "message");
  }
  return std::nullopt;
}

// A 422 validation problem whose errors name exactly these fields (any order,
// each once).
inline ::testing::AssertionResult IsValidationError(const HttpResponse& r, std::vector<std::string> fields) {
  auto base = IsProblem(r, 422, "validation-failed");
  if (!base) return base;
  std::vector<std::string> got = error_fields(r);
  std::sort(got.begin(), got.end());
  std::sort(fields.begin(), fields.end());
  if (got != fields) {
    std::string want_s, got_s;
    for (const auto& f : fields) want_s += f + " ";
    for (const auto& f : got) got_s += f + " ";
    return ::testing::AssertionFailure() << "errors name [" << got_s << "], want [" << want_s << "]: " << r.body;
  }
  return ::testing::AssertionSuccess();
}

// A 422 validation problem whose errors include this field.
inline ::testing::AssertionResult HasFieldError(const HttpResponse& r, std::string_view field) {
  auto base = IsProblem(r, 422, "validation-failed");
  if (!base) return base;
  for (const auto& f : error_fields(r)) {
    if (f == field) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no error for field '" << field << "': " << r.body;
}

// ---------------------------------------------------------------- API calls

inline Headers admin_json() { return with(bearer(kAdminToken), json_content()); }
inline Headers token_json(std::string_view token) { return with(bearer(token), json_content()); }

inline HttpResponse create_form(const DaisyProcess& s, const json::value& def) {
  return s.request("POST", "/v1/forms", admin_json(), dump(def));
}

// Creates a form and returns its id; "" (and a test failure) when it fails.
inline std::string create_form_id(const DaisyProcess& s, const json::value& def) {
  HttpResponse r = create_form(s, def);
  if (r.status != 201) {
    ADD_FAILURE() << "creating a form failed: " << r.summary();
    return {};
  }
  return str(r.json(), "id");
}

inline std::string responses_path(std::string_view form_id) {
  return "/v1/forms/" + std::string(form_id) + "/responses";
}

// POST .../responses with this body (not just the answers).
inline HttpResponse submit_body(const DaisyProcess& s, std::string_view form_id, const json::value& body,
                                const Headers& extra = {}, std::string_view token = kAdminToken) {
  return s.request("POST", responses_path(form_id), with(token_json(token), extra), dump(body));
}

// POST .../responses with {"answers": answers}.
inline HttpResponse submit(const DaisyProcess& s, std::string_view form_id, const json::value& answers,
                           const Headers& extra = {}, std::string_view token = kAdminToken) {
  return submit_body(s, form_id, json::object{{"answers", answers}}, extra, token);
}

inline HttpResponse correct(const DaisyProcess& s, std::string_view form_id, std::string_view response_id,
                            const json::value& answers, std::string_view token = kAdminToken) {
  return s.request("PUT", responses_path(form_id) + "/" + std::string(response_id), token_json(token),
                   dump(json::object{{"answers", answers}}));
}

inline HttpResponse patch_form(const DaisyProcess& s, std::string_view form_id, const json::value& patch) {
  return s.request("PATCH", "/v1/forms/" + std::string(form_id), admin_json(), dump(patch));
}

inline HttpResponse get_form(const DaisyProcess& s, std::string_view form_id) {
  return s.get("/v1/forms/" + std::string(form_id), s.admin());
}

struct App {
  std::string id;
  std::string token;
};

inline App make_app(const DaisyProcess& s, std::string_view name) {
  HttpResponse r = s.create_app(name);
  if (r.status != 201) {
    ADD_FAILURE() << "creating an app failed: " << r.summary();
    return {};
  }
  json::value v = r.json();
  return {str(v, "id"), str(v, "token")};
}

// Walks GET .../responses (query is added to every page, e.g. "status=flagged")
// page by page; the items in order. A failure is recorded when a page fails.
inline std::vector<json::value> list_all_responses(const DaisyProcess& s, std::string_view form_id,
                                                   std::string_view query = "", int limit = 1000) {
  std::vector<json::value> items;
  std::string after;
  for (int guard = 0; guard < 100000; ++guard) {
    std::string target = responses_path(form_id) + "?limit=" + std::to_string(limit);
    if (!query.empty()) target += "&" + std::string(query);
    if (!after.empty()) target += "&after=" + after;
    HttpResponse r = s.get(target, s.admin());
    if (r.status != 200) {
      ADD_FAILURE() << "listing responses failed: " << r.summary();
      return items;
    }
    json::value page = r.json();
    for (const auto& item : arr(page, "items")) items.push_back(item);
    json::value next = at(page, "next_cursor");
    if (next.is_null()) return items;
    if (!next.is_string()) {
      ADD_FAILURE() << "next_cursor is neither a string nor null: " << r.body.substr(r.body.size() - 100);
      return items;
    }
    after = std::string(next.get_string());
  }
  ADD_FAILURE() << "listing did not end";
  return items;
}

inline std::vector<std::string> ids_of(const std::vector<json::value>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(str(i, "id"));
  return out;
}

// ---------------------------------------------------------------- streaming

// A response read to the end of the connection, with a chunked body decoded.
struct Streamed {
  HttpResponse response;    // body decoded; status 0 on a transport or framing error
  bool chunked = false;     // Transfer-Encoding: chunked was used
  bool terminated = false;  // the final 0-size chunk arrived
  std::size_t chunks = 0;   // data chunks received
};

// Decodes a chunked body; false (with why) when it is malformed or cut short.
inline bool decode_chunked(std::string_view raw, std::string& body, std::size_t& chunks, std::string& why) {
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = raw.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      why = "chunk size line cut short at byte " + std::to_string(pos);
      return false;
    }
    std::string_view line = raw.substr(pos, eol - pos);
    line = line.substr(0, line.find(';'));  // chunk extensions
    if (line.empty() || line.size() > 16 ||
        line.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos) {
      why = "bad chunk size line '" + std::string(line) + "'";
      return false;
    }
    std::size_t size = std::stoul(std::string(line), nullptr, 16);
    pos = eol + 2;
    if (size == 0) {
      // No trailers are expected: the body ends with an empty line.
      if (raw.substr(pos) != "\r\n") {
        why = "unexpected bytes after the last chunk: '" + std::string(raw.substr(pos, 50)) + "'";
        return false;
      }
      return true;
    }
    if (raw.size() < pos + size + 2) {
      why = "chunk cut short";
      return false;
    }
    body.append(raw.substr(pos, size));
    if (raw.substr(pos + size, 2) != "\r\n") {
      why = "chunk data not followed by CRLF";
      return false;
    }
    pos += size + 2;
    ++chunks;
  }
}

// GET target on a fresh connection with "Connection: close", reading until the
// server closes, so a chunked body can be read whole.
inline Streamed get_streamed(int port, std::string_view target, const Headers& headers,
                             std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  Streamed out;
  HttpResponse& r = out.response;
  Client c(port, timeout);
  if (!c.connected() || !c.send_raw(build_request("GET", target, with(headers, {{"Connection", "close"}})))) {
    r.error = "cannot send: " + c.error();
    return out;
  }
  Client::CloseResult all = c.read_until_close(timeout);
  if (!all.closed) {
    r.error = "the server did not close the connection in time";
    return out;
  }
  std::size_t head_end = all.data.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    r.error = "no complete response head: " + all.data.substr(0, 200);
    return out;
  }
  std::string_view head(all.data.data(), head_end);
  std::size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    r.error = "bad status line: " + std::string(status_line);
    return out;
  }
  r.version = std::string(status_line.substr(0, status_line.find(' ')));
  int status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  r.reason = std::string(status_line.size() > 13 ? status_line.substr(13) : std::string_view());
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    std::size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) e = head.size();
    std::string_view line = head.substr(pos, e - pos);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      r.error = "bad header line: " + std::string(line);
      return out;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    pos = e + 2;
  }
  std::string_view rest(all.data.data() + head_end + 4, all.data.size() - head_end - 4);
  if (iequals(r.header("Transfer-Encoding"), "chunked")) {
    out.chunked = true;
    std::string why;
    if (!decode_chunked(rest, r.body, out.chunks, why)) {
      r.error = "bad chunked body: " + why;
      return out;
    }
    out.terminated = true;
  } else if (r.has_header("Content-Length")) {
    std::size_t length = std::stoul(r.header("Content-Length"));
    if (rest.size() < length) {
      r.error = "body cut short";
      return out;
    }
    r.body = std::string(rest.substr(0, length));
  } else {
    r.body = std::string(rest);
  }
  r.status = status;
  return out;
}

// ---------------------------------------------------------------- CSV

// Parses RFC 4180 text strictly: every record ends with CRLF (the last one
// too), a quote never appears inside an unquoted field, and inside quotes ""
// is a quote and CR/LF are data. nullopt (with why) when the text breaks a rule.
inline std::optional<std::vector<std::vector<std::string>>> parse_csv(std::string_view text, std::string& why) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  std::size_t i = 0;
  bool at_field_start = true;
  while (i < text.size()) {
    char c = text[i];
    if (at_field_start && c == '"') {
      ++i;
      for (;;) {
        if (i >= text.size()) {
          why = "unterminated quoted field";
          return std::nullopt;
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\r') {
        why = "a quoted field is followed by '" + std::string(1, text[i]) + "' at byte " + std::to_string(i);
        return std::nullopt;
      }
      at_field_start = false;
      continue;
    }
    at_field_start = false;
    if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      at_field_start = true;
      ++i;
    } else if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') {
        why = "a CR outside quotes is not followed by LF at byte " + std::to_string(i);
        return std::nullopt;
      }
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      at_field_start = true;
      i += 2;
    } else if (c == '\n') {
      why = "a bare LF outside quotes at byte " + std::to_string(i);
      return std::nullopt;
    } else if (c == '"') {
      why = "a quote inside an unquoted field at byte " + std::to_string(i);
      return std::nullopt;
    } else {
      field.push_back(c);
      ++i;
    }
  }
  if (!row.empty() || !field.empty() || !at_field_start) {
    why = "the last record does not end with CRLF";
    return std::nullopt;
  }
  return rows;
}

// ---------------------------------------------------------------- bulk

// Submits count responses over `threads` keep-alive connections; answers(i)
// gives the answers of the i-th. Each carries Idempotency-Key prefix+i, so a
// retry after a dropped connection cannot store a response twice. Returns the
// ids by index ("" where a submission failed, with a test failure).
template <class AnswersFn>
std::vector<std::string> submit_many(const DaisyProcess& s, const std::string& form_id, std::size_t count,
                                     AnswersFn answers, const std::string& key_prefix, unsigned threads = 4) {
  std::vector<std::string> ids(count);
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  const std::string path = responses_path(form_id);
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::optional<Client> client;
      for (std::size_t i = t; i < count; i += threads) {
        std::string body = dump(json::object{{"answers", answers(i)}});
        Headers h = with(admin_json(), {{"Idempotency-Key", key_prefix + std::to_string(i)}});
        HttpResponse r;
        for (int attempt = 0; attempt < 3; ++attempt) {
          if (!client || !client->connected()) client.emplace(s.port());
          r = client->request("POST", path, h, body);
          if (r.status != 0) break;
          client.reset();
        }
        if (r.status != 201) {
          if (failures[t].empty()) failures[t] = "submission " + std::to_string(i) + ": " + r.summary();
          continue;
        }
        boost::system::error_code ec;
        json::value v = json::parse(r.body, ec);
        ids[i] = ec ? std::string() : str(v, "id");
        if (r.header("Connection") == "close") client.reset();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& f : failures) {
    if (!f.empty()) ADD_FAILURE() << f;
  }
  return ids;
}

// A unique suffix for names and keys within one test process.
inline std::string unique(std::string_view prefix) {
  static std::atomic<int> n{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(n.fetch_add(1));
}

}  // namespace daisy_e2e::fx
