#include "fake_google.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <utility>

namespace daisy::e2e {
namespace {

namespace json = boost::json;
using Request = FakeProvider::Request;
using Reply = FakeProvider::Reply;
using Rows = std::vector<std::vector<json::value>>;

constexpr std::string_view spreadsheet_id_value = "1DaisyTestSheet0123456789abcdefghijklmnopqrstu";
constexpr std::string_view client_email_value = "daisy-sheets@daisy-test.iam.gserviceaccount.com";
constexpr std::string_view sheets_scope = "https://www.googleapis.com/auth/spreadsheets";
constexpr std::string_view jwt_bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view api_json = "application/json; charset=UTF-8";
constexpr std::string_view unauthenticated_message =
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential.";
constexpr std::string_view quota_message =
    "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per user' of service "
    "'sheets.googleapis.com' for consumer 'project_number:1234567890'.";
constexpr std::array<std::string_view, 6> fault_kinds = {"token", "spreadsheet", "batchUpdate",
                                                         "get",   "append",      "update"};
constexpr std::size_t max_columns = 18278;  // ZZZ
constexpr std::size_t max_rows = 10'000'000;
constexpr std::size_t max_cell_chars = 50000;

bool is_write(std::string_view kind) { return kind == "append" || kind == "update" || kind == "batchUpdate"; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) { return std::ranges::equal(a, b, {}, ascii_lower, ascii_lower); }

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("FakeGoogle: RAND_bytes failed");
  return to_hex(buffer.data(), bytes);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX becomes its byte (and '+' a space when plus_is_space); nullopt on a malformed escape.
std::optional<std::string> strict_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int high = hex_digit(s[i + 1]), low = hex_digit(s[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else {
      out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// base64url without padding; nullopt on any other character, an impossible length or stray bits.
std::optional<std::string> base64url_decode(std::string_view s) {
  if (s.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned bits = 0, count = 0;
  for (char c : s) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
      bits &= (1u << count) - 1;
    }
  }
  if (bits != 0) return std::nullopt;
  return out;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    std::size_t end = s.find(separator, start);
    parts.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The request's media type, lower case, without parameters.
std::string media_type(const Request& request) {
  std::string type = request.header("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  std::ranges::transform(type, type.begin(), ascii_lower);
  return type;
}

std::size_t utf8_chars(std::string_view s) {
  return static_cast<std::size_t>(
      std::ranges::count_if(s, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool is_blank(const json::value& v) { return v.is_null() || (v.is_string() && v.get_string().empty()); }

// Rows up to the last one with a non-empty cell.
std::size_t filled_rows(const Rows& rows) {
  std::size_t n = rows.size();
  while (n > 0 && std::ranges::all_of(rows[n - 1], is_blank)) --n;
  return n;
}

// "A".."Z", "AA"...: the 0-based column's letters.
std::string column_name(std::size_t col) {
  std::string letters;
  for (std::size_t n = col + 1; n > 0; n = (n - 1) / 26) letters.insert(letters.begin(), char('A' + (n - 1) % 26));
  return letters;
}

std::string cell_name(std::size_t col, std::size_t row) { return column_name(col) + std::to_string(row + 1); }

std::string quoted(std::string_view title) {
  std::string out = "'";
  for (char c : title) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// "'Tab'!B2" for one cell, "'Tab'!B2:D9" otherwise.
std::string box_name(std::string_view title, std::size_t col0, std::size_t row0, std::size_t col1, std::size_t row1) {
  std::string out = quoted(title) + "!" + cell_name(col0, row0);
  if (col1 != col0 || row1 != row0) out += ":" + cell_name(col1, row1);
  return out;
}

// An A1 range, 0-based and inclusive; an end left open runs to the grid's edge.
struct A1Range {
  std::string tab;
  std::size_t col0 = 0, row0 = 0;
  std::optional<std::size_t> col1, row1;
  bool single = false;  // one cell, "Tab!B3": where a write starts, not a bound
};

struct CellRef {
  std::optional<std::size_t> col, row;
};

// "B3", "B" or "3" (columns up to ZZZ, rows up to 10,000,000); nullopt for anything else.
std::optional<CellRef> parse_ref(std::string_view s) {
  CellRef ref;
  std::size_t i = 0, col = 0;
  for (; i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')); ++i) {
    if (i == 3) return std::nullopt;
    col = col * 26 + static_cast<std::size_t>(ascii_lower(s[i]) - 'a' + 1);
  }
  if (i > 0) ref.col = col - 1;
  std::string_view digits = s.substr(i);
  if (!digits.empty()) {
    std::size_t row = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), row);
    if (digits.size() > 8 || ec != std::errc{} || end != digits.data() + digits.size() || row == 0 || row > max_rows) {
      return std::nullopt;
    }
    ref.row = row - 1;
  }
  if (!ref.col && !ref.row) return std::nullopt;
  return ref;
}

// Tab, Tab!A1, Tab!A1:F7, Tab!1:1, Tab!A:A, Tab!A2:C; the tab 'quoted' ('' for a
// quote), which it must be unless it is only letters, digits and underscores.
std::optional<A1Range> parse_a1(std::string_view text) {
  A1Range range;
  std::optional<std::string_view> cells;
  if (!text.empty() && text[0] == '\'') {
    std::size_t i = 1;
    for (;; ++i) {
      if (i >= text.size()) return std::nullopt;
      if (text[i] == '\'') {
        if (i + 1 < text.size() && text[i + 1] == '\'') {
          range.tab += '\'';
          ++i;
          continue;
        }
        break;
      }
      range.tab += text[i];
    }
    std::string_view rest = text.substr(i + 1);
    if (!rest.empty()) {
      if (rest[0] != '!') return std::nullopt;
      cells = rest.substr(1);
    }
  } else {
    std::size_t bang = text.find('!');
    range.tab = text.substr(0, bang);
    auto word = [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    };
    if (!std::ranges::all_of(range.tab, word)) return std::nullopt;
    if (bang != std::string_view::npos) cells = text.substr(bang + 1);
  }
  if (range.tab.empty()) return std::nullopt;
  if (!cells) return range;
  std::size_t colon = cells->find(':');
  auto a = parse_ref(cells->substr(0, colon));
  if (!a) return std::nullopt;
  if (colon == std::string_view::npos) {
    if (!a->col || !a->row) return std::nullopt;
    range.col0 = *a->col;
    range.row0 = *a->row;
    range.col1 = range.col0;
    range.row1 = range.row0;
    range.single = true;
    return range;
  }
  auto b = parse_ref(cells->substr(colon + 1));
  if (!b) return std::nullopt;
  if (a->col && b->col) {
    range.col0 = std::min(*a->col, *b->col);
    range.col1 = std::max(*a->col, *b->col);
  }
  if (a->row && b->row) {
    range.row0 = std::min(*a->row, *b->row);
    range.row1 = std::max(*a->row, *b->row);
  }
  bool box = a->col && a->row && b->col && b->row;
  bool rows_only = !a->col && !b->col;
  bool cols_only = !a->row && !b->row;
  bool open_below = a->col && a->row && b->col && !b->row;  // A2:C
  if (open_below) range.row0 = *a->row;
  if (!box && !rows_only && !cols_only && !open_below) return std::nullopt;
  return range;
}

std::string_view status_name(int status) {
  switch (status) {
    case 400:
      return "INVALID_ARGUMENT";
    case 401:
      return "UNAUTHENTICATED";
    case 403:
      return "PERMISSION_DENIED";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "ABORTED";
    case 429:
      return "RESOURCE_EXHAUSTED";
    case 503:
      return "UNAVAILABLE";
    case 504:
      return "DEADLINE_EXCEEDED";
    default:
      return status >= 400 && status < 500 ? "FAILED_PRECONDITION" : "INTERNAL";
  }
}

std::string default_message(int status) {
  switch (status) {
    case 400:
      return "Request contains an invalid argument.";
    case 401:
      return std::string(unauthenticated_message);
    case 403:
      return "The caller does not have permission";
    case 404:
      return "Requested entity was not found.";
    case 409:
      return "The operation was aborted.";
    case 429:
      return std::string(quota_message);
    case 503:
      return "The service is currently unavailable.";
    case 504:
      return "The request deadline was exceeded.";
    default:
      return status >= 400 && status < 500 ? "Precondition check failed." : "Internal error encountered.";
  }
}

Reply json_reply(int status, const json::value& body, std::string_view type = api_json) {
  return Reply{.status = status, .body = json::serialize(body), .content_type = std::string(type)};
}

Reply api_error(int status, std::string message) {
  json::object error{{"code", status}, {"message", std::move(message)}, {"status", status_name(status)}};
  return json_reply(status, json::object{{"error", std::move(error)}});
}

Reply oauth_error(int status, std::string_view error, std::string description) {
  return json_reply(status, json::object{{"error", error}, {"error_description", std::move(description)}},
                    "application/json; charset=utf-8");
}

// What an injected failure of the token endpoint says.
Reply oauth_fault(int status) {
  std::string_view error = status == 400   ? "invalid_grant"
                           : status == 401 ? "invalid_client"
                           : status == 429 ? "rate_limit_exceeded"
                           : status >= 500 ? "internal_failure"
                                           : "invalid_request";
  return oauth_error(status, error, default_message(status));
}

const json::string* string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? &v->get_string() : nullptr;
}

bool string_is(const json::object& o, std::string_view key, std::string_view expected) {
  const json::string* s = string_field(o, key);
  return s && std::string_view(*s) == expected;
}

std::optional<std::int64_t> integer_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? std::optional(v->get_int64()) : std::nullopt;
}

// The first key of o not in allowed, or "".
std::string unknown_key(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& member : o) {
    if (std::ranges::find(allowed, std::string_view(member.key())) == allowed.end()) return std::string(member.key());
  }
  return {};
}

std::optional<json::object> parse_object(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

// A cell as values.get renders it: FORMATTED_VALUE gives numbers and booleans as text.
json::value rendered(const json::value& cell, bool formatted) {
  if (cell.is_null()) return json::string();
  if (!formatted) return cell;
  if (cell.is_bool()) return json::string(cell.get_bool() ? "TRUE" : "FALSE");
  if (cell.is_int64()) return json::string(std::to_string(cell.get_int64()));
  if (cell.is_uint64()) return json::string(std::to_string(cell.get_uint64()));
  if (cell.is_double()) {
    double d = cell.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 1e15) {
      return json::string(std::to_string(static_cast<long long>(d)));
    }
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);
    return json::string(std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
  }
  return cell;
}

// Throws std::invalid_argument unless kind is one a fault or delay can be set for.
void check_kind(std::string_view kind) {
  if (std::ranges::find(fault_kinds, kind) == fault_kinds.end()) {
    throw std::invalid_argument("FakeGoogle: no such kind of call: " + std::string(kind));
  }
}

json::object grid_properties(std::size_t rows, std::size_t columns) {
  return json::object{{"rowCount", rows}, {"columnCount", columns}};
}

}  // namespace

FakeGoogle::FakeGoogle() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (!key) throw std::runtime_error("FakeGoogle: RSA key generation failed");
  key_.reset(key, EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("FakeGoogle: cannot write the private key as PEM");
  }
  char* pem = nullptr;
  long pem_size = BIO_get_mem_data(bio.get(), &pem);
  private_key_id_ = random_hex(20);
  tabs_.push_back(Tab{.sheet_id = 0, .title = "Sheet1"});
  json::object account{
      {"type", "service_account"},
      {"project_id", "daisy-test"},
      {"private_key_id", private_key_id_},
      {"private_key", std::string_view(pem, static_cast<std::size_t>(pem_size))},
      {"client_email", client_email_value},
      {"client_id", "1234567890"},
      {"auth_uri", "https://accounts.google.com/o/oauth2/auth"},
      {"token_uri", token_uri()},
      {"auth_provider_x509_cert_url", "https://www.googleapis.com/oauth2/v1/certs"},
      {"client_x509_cert_url",
       "https://www.googleapis.com/robot/v1/metadata/x509/daisy-sheets%40daisy-test.iam.gserviceaccount.com"},
      {"universe_domain", "googleapis.com"}};
  service_account_json_ = json::serialize(account);
  server_.set_fallback([this](const Request& request) { return handle(request); });
}

FakeGoogle::~FakeGoogle() = default;

std::string FakeGoogle::base_url() const { return server_.url(""); }
std::string FakeGoogle::token_uri() const { return server_.url("/token"); }
std::string FakeGoogle::service_account_json() const { return service_account_json_; }
std::string FakeGoogle::client_email() const { return std::string(client_email_value); }
std::string FakeGoogle::private_key_id() const { return private_key_id_; }
std::string FakeGoogle::spreadsheet_id() const { return std::string(spreadsheet_id_value); }

void FakeGoogle::add_tab(std::string title) {
  std::lock_guard lock(mu_);
  if (title.empty() || title_taken(title)) throw std::invalid_argument("FakeGoogle::add_tab: empty or taken: " + title);
  tabs_.push_back(Tab{.sheet_id = next_sheet_id_, .title = std::move(title)});
  next_sheet_id_ += 7919;
}

std::vector<std::string> FakeGoogle::tabs() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> titles;
  for (const Tab& tab : tabs_) titles.push_back(tab.title);
  return titles;
}

void FakeGoogle::set_cells(std::string_view title, std::vector<std::vector<boost::json::value>> rows) {
  std::lock_guard lock(mu_);
  Tab* tab = find_tab(title);
  if (!tab) {
    if (title.empty() || title_taken(title)) throw std::invalid_argument("FakeGoogle::set_cells: bad tab title");
    tab = &tabs_.emplace_back(Tab{.sheet_id = next_sheet_id_, .title = std::string(title)});
    next_sheet_id_ += 7919;
  }
  tab->rows = std::move(rows);
  tab->row_count = std::max(tab->row_count, tab->rows.size());
  for (const auto& row : tab->rows) tab->column_count = std::max(tab->column_count, row.size());
}

std::vector<std::vector<boost::json::value>> FakeGoogle::cells(std::string_view title) const {
  std::lock_guard lock(mu_);
  const Tab* tab = find_tab(title);
  if (!tab) return {};
  Rows rows(tab->rows.begin(), tab->rows.begin() + static_cast<std::ptrdiff_t>(filled_rows(tab->rows)));
  for (auto& row : rows) {
    while (!row.empty() && row.back().is_null()) row.pop_back();
  }
  return rows;
}

std::vector<std::size_t> FakeGoogle::hidden_columns(std::string_view title) const {
  std::lock_guard lock(mu_);
  const Tab* tab = find_tab(title);
  return tab ? std::vector<std::size_t>(tab->hidden.begin(), tab->hidden.end()) : std::vector<std::size_t>{};
}

void FakeGoogle::fail_next(std::string_view kind, int status, int count) {
  check_kind(kind);
  if (status < 100 || status > 599) throw std::invalid_argument("FakeGoogle::fail_next: bad status");
  std::lock_guard lock(mu_);
  faults_[std::string(kind)] = Fault{.status = status, .remaining = count, .hang = false};
}

void FakeGoogle::hang_next(std::string_view kind, int count) {
  check_kind(kind);
  std::lock_guard lock(mu_);
  faults_[std::string(kind)] = Fault{.status = 0, .remaining = count, .hang = true};
}

void FakeGoogle::set_reply_delay(std::string_view kind, std::chrono::milliseconds delay) {
  check_kind(kind);
  std::lock_guard lock(mu_);
  delays_[std::string(kind)] = delay;
}

void FakeGoogle::set_shared(bool shared) {
  std::lock_guard lock(mu_);
  shared_ = shared;
}

void FakeGoogle::expire_tokens() {
  std::lock_guard lock(mu_);
  expired_tokens_.merge(tokens_);
}

void FakeGoogle::set_write_quota_per_minute(int n) {
  std::lock_guard lock(mu_);
  write_quota_ = std::max(n, 0);
  window_start_.reset();
  window_writes_ = 0;
}

void FakeGoogle::release_hangs() { server_.release_hangs(); }

std::size_t FakeGoogle::count(std::string_view kind) const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::ranges::count(calls_, kind, &Call::kind));
}

std::vector<FakeGoogle::Call> FakeGoogle::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

std::vector<std::string> FakeGoogle::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

FakeGoogle::Tab* FakeGoogle::find_tab(std::string_view title) {
  auto it = std::ranges::find(tabs_, title, &Tab::title);
  return it == tabs_.end() ? nullptr : &*it;
}

const FakeGoogle::Tab* FakeGoogle::find_tab(std::string_view title) const {
  auto it = std::ranges::find(tabs_, title, &Tab::title);
  return it == tabs_.end() ? nullptr : &*it;
}

bool FakeGoogle::title_taken(std::string_view title) const {
  return std::ranges::any_of(tabs_, [&](const Tab& tab) { return iequals(tab.title, title); });
}

Reply FakeGoogle::refuse(std::string_view kind, int status, std::string message, std::string why) {
  errors_.push_back(std::string(kind) + ": " + std::move(why));
  return api_error(status, std::move(message));
}

bool FakeGoogle::over_quota(std::chrono::steady_clock::time_point now) {
  if (write_quota_ == 0) return false;
  if (!window_start_ || now >= *window_start_ + std::chrono::seconds(60)) {
    window_start_ = now;
    window_writes_ = 0;
  }
  return ++window_writes_ > write_quota_;
}

Reply FakeGoogle::handle(const Request& request) {
  const auto at = std::chrono::steady_clock::now();
  std::string kind = "other";
  std::string_view id, range;
  const std::string_view path = request.path, method = request.method;
  constexpr std::string_view prefix = "/v4/spreadsheets/";
  if (path == "/token") {
    if (method == "POST") kind = "token";
  } else if (path.starts_with(prefix)) {
    std::string_view rest = path.substr(prefix.size());
    std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      constexpr std::string_view batch = ":batchUpdate";
      if (method == "POST" && rest.ends_with(batch)) {
        kind = "batchUpdate";
        id = rest.substr(0, rest.size() - batch.size());
      } else if (method == "GET" && rest.find(':') == std::string_view::npos) {
        kind = "spreadsheet";
        id = rest;
      }
    } else if (constexpr std::string_view values = "/values/"; rest.substr(slash).starts_with(values)) {
      constexpr std::string_view append = ":append";
      id = rest.substr(0, slash);
      range = rest.substr(slash + values.size());
      const bool appending = range.ends_with(append);
      if (appending) range.remove_suffix(append.size());
      const bool one_segment = !range.empty() && range.find('/') == std::string_view::npos;
      if (one_segment && method == "GET" && !appending) kind = "get";
      if (one_segment && method == "POST" && appending) kind = "append";
      if (one_segment && method == "PUT" && !appending) kind = "update";
    }
    if (id.empty() || id.find(':') != std::string_view::npos) kind = "other";
  }

  std::size_t rows = 0;
  if (kind == "append" || kind == "update") {
    auto body = parse_object(request.body);
    const json::value* values = body ? body->if_contains("values") : nullptr;
    if (values && values->is_array()) rows = values->get_array().size();
  }

  std::lock_guard lock(mu_);
  Call call{kind, 0, at, request.body.size(), rows};
  Reply reply = answer(request, kind, id, range);
  call.status = reply.hang ? 0 : reply.status;
  calls_.push_back(std::move(call));
  if (auto it = delays_.find(kind); it != delays_.end()) reply.delay = it->second;
  return reply;
}

Reply FakeGoogle::answer(const Request& request, const std::string& kind, std::string_view id, std::string_view range) {
  if (kind == "other") {
    return refuse(kind, 404, "Requested entity was not found.", "no such call: " + request.method + " " + request.path);
  }
  if (auto it = faults_.find(kind); it != faults_.end() && it->second.remaining > 0) {
    Fault& fault = it->second;
    --fault.remaining;
    if (fault.hang) return Reply{.hang = true};
    return kind == "token" ? oauth_fault(fault.status) : api_error(fault.status, default_message(fault.status));
  }
  if (kind == "token") return token_call(request);

  const std::string authorization = request.header("Authorization");
  if (authorization.empty()) return refuse(kind, 401, std::string(unauthenticated_message), "no Authorization header");
  if (authorization.size() <= 7 || !iequals(std::string_view(authorization).substr(0, 7), "Bearer ")) {
    return refuse(kind, 401, std::string(unauthenticated_message), "Authorization is not \"Bearer <token>\"");
  }
  const std::string_view token = std::string_view(authorization).substr(7);
  if (!tokens_.contains(token)) {
    if (expired_tokens_.contains(token)) return api_error(401, std::string(unauthenticated_message));
    return refuse(kind, 401, std::string(unauthenticated_message), "a Bearer token this fake never issued");
  }
  if (id != spreadsheet_id_value) return api_error(404, "Requested entity was not found.");
  if (!shared_) return api_error(403, "The caller does not have permission");
  if (is_write(kind) && over_quota(std::chrono::steady_clock::now())) return api_error(429, std::string(quota_message));

  if (kind == "spreadsheet") return spreadsheet_call();
  if (kind == "get") return get_call(request, range);
  if (kind == "batchUpdate") return batch_update_call(request);
  return write_call(request, kind, range);
}

Reply FakeGoogle::token_call(const Request& request) {
  auto refuse_grant = [&](std::string why) {
    errors_.push_back("token: " + why);
    return oauth_error(400, "invalid_grant", std::move(why));
  };
  if (std::string type = media_type(request); type != "application/x-www-form-urlencoded") {
    return refuse_grant("Content-Type is \"" + type + "\", not application/x-www-form-urlencoded");
  }
  if (request.body.empty()) return refuse_grant("an empty body");
  std::map<std::string, std::string, std::less<>> form;
  for (std::string_view field : split(request.body, '&')) {
    std::size_t eq = field.find('=');
    if (eq == std::string_view::npos) return refuse_grant("a form field without '='");
    auto name = strict_decode(field.substr(0, eq), true), value = strict_decode(field.substr(eq + 1), true);
    if (!name || !value) return refuse_grant("malformed percent-encoding in the form");
    if (*name != "grant_type" && *name != "assertion") return refuse_grant("unexpected form field \"" + *name + "\"");
    if (!form.emplace(*name, *value).second) return refuse_grant("form field \"" + *name + "\" given twice");
  }
  auto grant = form.find("grant_type");
  if (grant == form.end()) return refuse_grant("no grant_type");
  if (grant->second != jwt_bearer) return refuse_grant("grant_type is \"" + grant->second + "\"");
  auto assertion = form.find("assertion");
  if (assertion == form.end() || assertion->second.empty()) return refuse_grant("no assertion");
  if (std::string why = jwt_problem(assertion->second); !why.empty()) return refuse_grant(std::move(why));
  std::string token = "ya29." + random_hex(32);
  tokens_.insert(token);
  return json_reply(200, json::object{{"access_token", token}, {"expires_in", 3599}, {"token_type", "Bearer"}},
                    "application/json; charset=utf-8");
}

std::string FakeGoogle::jwt_problem(std::string_view assertion) const {
  std::vector<std::string_view> parts = split(assertion, '.');
  if (parts.size() != 3) return "the assertion is not three dot-separated parts";
  std::array<std::string, 3> decoded;
  for (std::size_t i = 0; i < 3; ++i) {
    auto part = base64url_decode(parts[i]);
    if (!part || part->empty()) return "JWT part " + std::to_string(i + 1) + " is not base64url without padding";
    decoded[i] = std::move(*part);
  }
  auto header = parse_object(decoded[0]);
  if (!header) return "the JWT header is not a JSON object";
  if (!string_is(*header, "alg", "RS256")) return "the JWT header's alg is not \"RS256\"";
  if (!string_is(*header, "typ", "JWT")) return "the JWT header's typ is not \"JWT\"";
  if (header->contains("kid") && !string_is(*header, "kid", private_key_id_)) {
    return "the JWT header's kid is not the key's private_key_id";
  }

  const std::string_view signed_part = assertion.substr(0, parts[0].size() + 1 + parts[1].size());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool verified =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(decoded[2].data()), decoded[2].size(),
                       reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  ERR_clear_error();
  if (!verified) return "the JWT signature does not verify (RS256) with the service account's key";

  auto claims = parse_object(decoded[1]);
  if (!claims) return "the JWT claims are not a JSON object";
  if (!string_is(*claims, "iss", client_email_value)) return "the JWT's iss is not the client_email";
  if (!string_is(*claims, "scope", sheets_scope)) return "the JWT's scope is not " + std::string(sheets_scope);
  if (!string_is(*claims, "aud", token_uri())) return "the JWT's aud is not the token_uri " + token_uri();
  auto iat = integer_field(*claims, "iat"), exp = integer_field(*claims, "exp");
  if (!iat) return "the JWT's iat is not an integer";
  if (!exp) return "the JWT's exp is not an integer";
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (*iat < now - 120 || *iat > now + 120) return "the JWT's iat is not within 120 s of now";
  if (*exp <= *iat || *exp > *iat + 3600) return "the JWT's exp is not within an hour after iat";
  return {};
}

Reply FakeGoogle::spreadsheet_call() const {
  json::array sheets;
  for (std::size_t i = 0; i < tabs_.size(); ++i) {
    const Tab& tab = tabs_[i];
    sheets.push_back(json::object{
        {"properties", json::object{{"sheetId", tab.sheet_id},
                                    {"title", tab.title},
                                    {"index", i},
                                    {"sheetType", "GRID"},
                                    {"gridProperties", grid_properties(tab.row_count, tab.column_count)}}}});
  }
  return json_reply(200, json::object{{"spreadsheetId", spreadsheet_id_value},
                                      {"properties", json::object{{"title", "Daisy test"}}},
                                      {"sheets", std::move(sheets)}});
}

Reply FakeGoogle::get_call(const Request& request, std::string_view raw) {
  auto text = strict_decode(raw, false);
  const std::string shown = text ? *text : std::string(raw);
  auto range = text ? parse_a1(*text) : std::nullopt;
  if (!range) return refuse("get", 400, "Unable to parse range: " + shown, "unparsable range \"" + shown + "\"");
  const std::string dimension = request.query_param("majorDimension"),
                    render = request.query_param("valueRenderOption"),
                    dates = request.query_param("dateTimeRenderOption");
  if (dimension == "COLUMNS") {
    return refuse("get", 400, "majorDimension=COLUMNS is not supported by this fake", "majorDimension=COLUMNS");
  }
  if (!dimension.empty() && dimension != "ROWS") {
    return refuse("get", 400, "Invalid value at 'major_dimension', \"" + dimension + "\"",
                  "majorDimension=" + dimension);
  }
  if (!render.empty() && render != "FORMATTED_VALUE" && render != "UNFORMATTED_VALUE" && render != "FORMULA") {
    return refuse("get", 400, "Invalid value at 'value_render_option', \"" + render + "\"",
                  "valueRenderOption=" + render);
  }
  if (!dates.empty() && dates != "SERIAL_NUMBER" && dates != "FORMATTED_STRING") {
    return refuse("get", 400, "Invalid value at 'date_time_render_option', \"" + dates + "\"",
                  "dateTimeRenderOption=" + dates);
  }
  const Tab* tab = find_tab(range->tab);
  if (!tab) return api_error(400, "Unable to parse range: " + shown);
  const std::size_t col1 = range->col1.value_or(tab->column_count - 1), row1 = range->row1.value_or(tab->row_count - 1);
  const std::string normalized =
      range->single ? box_name(tab->title, range->col0, range->row0, col1, row1)
                    : quoted(tab->title) + "!" + cell_name(range->col0, range->row0) + ":" + cell_name(col1, row1);
  if (range->col0 >= tab->column_count || col1 >= tab->column_count || range->row0 >= tab->row_count ||
      row1 >= tab->row_count) {
    std::string message = "Range (" + normalized +
                          ") exceeds grid limits. Max rows: " + std::to_string(tab->row_count) +
                          ", max columns: " + std::to_string(tab->column_count);
    return refuse("get", 400, message, message);
  }
  const bool formatted = render.empty() || render == "FORMATTED_VALUE";
  json::array values;
  for (std::size_t r = range->row0; r <= row1 && r < tab->rows.size(); ++r) {
    const auto& stored = tab->rows[r];
    json::array row;
    for (std::size_t c = range->col0; c <= col1 && c < stored.size(); ++c)
      row.push_back(rendered(stored[c], formatted));
    while (!row.empty() && is_blank(row.back())) row.pop_back();
    values.push_back(std::move(row));
  }
  while (!values.empty() && values.back().get_array().empty()) values.pop_back();
  json::object reply{{"range", normalized}, {"majorDimension", "ROWS"}};
  if (!values.empty()) reply["values"] = std::move(values);
  return json_reply(200, reply);
}

Reply FakeGoogle::write_call(const Request& request, const std::string& kind, std::string_view raw) {
  auto text = strict_decode(raw, false);
  const std::string shown = text ? *text : std::string(raw);
  auto range = text ? parse_a1(*text) : std::nullopt;
  if (!range) return refuse(kind, 400, "Unable to parse range: " + shown, "unparsable range \"" + shown + "\"");

  const std::string input = request.query_param("valueInputOption");
  if (input.empty()) {
    return refuse(kind, 400, "'valueInputOption' is required but not specified", "no valueInputOption");
  }
  if (input != "RAW") {
    return refuse(kind, 400, "Invalid value at 'valueInputOption' (this fake takes RAW only), \"" + input + "\"",
                  "valueInputOption=" + input);
  }
  if (kind == "append") {
    const std::string insert = request.query_param("insertDataOption");
    if (insert.empty()) {
      return refuse(kind, 400, "'insertDataOption' is required by this fake but not specified", "no insertDataOption");
    }
    if (insert != "INSERT_ROWS") {
      return refuse(kind, 400,
                    "Invalid value at 'insertDataOption' (this fake takes INSERT_ROWS only), \"" + insert + "\"",
                    "insertDataOption=" + insert);
    }
  }

  if (std::string type = media_type(request); type != "application/json") {
    return refuse(kind, 400, "Invalid JSON payload received.",
                  "Content-Type is \"" + type + "\", not application/json");
  }
  auto body = parse_object(request.body);
  if (!body)
    return refuse(kind, 400, "Invalid JSON payload received. Unexpected token.", "the body is not a JSON object");
  if (std::string key = unknown_key(*body, {"range", "majorDimension", "values"}); !key.empty()) {
    return refuse(kind, 400, "Invalid JSON payload received. Unknown name \"" + key + "\": Cannot find field.",
                  "unknown body field \"" + key + "\"");
  }
  if (body->contains("range") && !string_is(*body, "range", shown)) {
    return refuse(kind, 400, "The range in the body does not match the range in the URL [" + shown + "].",
                  "the body's range differs from the path's \"" + shown + "\"");
  }
  if (body->contains("majorDimension") && !string_is(*body, "majorDimension", "ROWS")) {
    return refuse(kind, 400, "Invalid value at 'data.major_dimension' (this fake takes ROWS only)",
                  "majorDimension is not \"ROWS\"");
  }
  const json::value* values = body->if_contains("values");
  if (!values || !values->is_array() || values->get_array().empty()) {
    return refuse(kind, 400, "Invalid values: at least one row is required.", "values is not a non-empty array");
  }
  const json::array& rows = values->get_array();
  std::size_t widest = 0, cells = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string where = "values[" + std::to_string(i) + "]";
    if (!rows[i].is_array())
      return refuse(kind, 400, "Invalid " + where + ": a row must be a list", where + " is not an array");
    const json::array& row = rows[i].get_array();
    if (row.size() > max_columns) {
      return refuse(kind, 400, "Invalid " + where + ": more than 18278 columns", where + " has more than 18278 cells");
    }
    for (std::size_t j = 0; j < row.size(); ++j) {
      const json::value& cell = row[j];
      const std::string at = where + "[" + std::to_string(j) + "]";
      if (!cell.is_string() && !cell.is_number() && !cell.is_bool() && !cell.is_null()) {
        return refuse(kind, 400, "Invalid " + at + ": a cell must be a string, number, boolean or null",
                      at + " is an array or object");
      }
      if (cell.is_string() && utf8_chars(cell.get_string()) > max_cell_chars) {
        return refuse(kind, 400, "Your input contains more than the maximum of 50000 characters in a single cell.",
                      at + " has more than 50000 characters");
      }
    }
    widest = std::max(widest, row.size());
    cells += row.size();
  }

  Tab* tab = find_tab(range->tab);
  if (!tab) return api_error(400, "Unable to parse range: " + shown);
  const std::size_t filled = filled_rows(tab->rows);
  const std::size_t top = kind == "append" ? filled : range->row0, left = range->col0;
  const std::size_t bottom = top + rows.size() - 1, right = left + std::max<std::size_t>(widest, 1) - 1;
  if (kind == "update") {
    if (!range->single && range->row1 && bottom > *range->row1) {
      return refuse(kind, 400,
                    "Requested writing within range [" + shown + "], but tried writing to row [" +
                        std::to_string(bottom + 1) + "]",
                    "more rows than the range " + shown + " holds");
    }
    if (!range->single && range->col1 && right > *range->col1) {
      return refuse(
          kind, 400,
          "Requested writing within range [" + shown + "], but tried writing to column [" + column_name(right) + "]",
          "more columns than the range " + shown + " holds");
    }
    if (bottom >= tab->row_count || right >= tab->column_count) {
      std::string message = "Range (" + box_name(tab->title, left, top, right, bottom) +
                            ") exceeds grid limits. Max rows: " + std::to_string(tab->row_count) +
                            ", max columns: " + std::to_string(tab->column_count);
      return refuse(kind, 400, message, message);
    }
  } else {
    tab->row_count = std::max(tab->row_count, bottom + 1);
    tab->column_count = std::max(tab->column_count, right + 1);
  }

  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json::array& row = rows[i].get_array();
    for (std::size_t j = 0; j < row.size(); ++j) {
      if (row[j].is_null()) continue;
      if (tab->rows.size() <= top + i) tab->rows.resize(top + i + 1);
      auto& stored = tab->rows[top + i];
      if (stored.size() <= left + j) stored.resize(left + j + 1);
      stored[left + j] = row[j];
    }
  }

  json::object updates{{"spreadsheetId", spreadsheet_id_value},
                       {"updatedRange", box_name(tab->title, left, top, right, bottom)},
                       {"updatedRows", rows.size()},
                       {"updatedColumns", widest},
                       {"updatedCells", cells}};
  if (kind == "update") return json_reply(200, updates);
  json::object reply{{"spreadsheetId", spreadsheet_id_value}};
  if (filled > 0) {
    std::size_t table_right = left;
    for (std::size_t r = 0; r < filled; ++r) {
      const auto& stored = tab->rows[r];
      for (std::size_t c = stored.size(); c > 0; --c) {
        if (!is_blank(stored[c - 1])) {
          table_right = std::max(table_right, c - 1);
          break;
        }
      }
    }
    reply["tableRange"] = box_name(tab->title, left, 0, table_right, filled - 1);
  }
  reply["updates"] = std::move(updates);
  return json_reply(200, reply);
}

Reply FakeGoogle::batch_update_call(const Request& request) {
  constexpr std::string_view kind = "batchUpdate";
  if (std::string type = media_type(request); type != "application/json") {
    return refuse(kind, 400, "Invalid JSON payload received.",
                  "Content-Type is \"" + type + "\", not application/json");
  }
  auto body = parse_object(request.body);
  if (!body)
    return refuse(kind, 400, "Invalid JSON payload received. Unexpected token.", "the body is not a JSON object");
  if (std::string key = unknown_key(*body, {"requests"}); !key.empty()) {
    return refuse(kind, 400, "Invalid JSON payload received. Unknown name \"" + key + "\": Cannot find field.",
                  "unknown body field \"" + key + "\"");
  }
  const json::value* requests = body->if_contains("requests");
  if (!requests || !requests->is_array() || requests->get_array().empty()) {
    return refuse(kind, 400, "Must specify at least one request.", "requests is not a non-empty array");
  }

  // Applied to copies, committed only when every request succeeds.
  std::vector<Tab> tabs = tabs_;
  std::int64_t next_sheet_id = next_sheet_id_;
  auto tab_with_id = [&](std::int64_t id) -> Tab* {
    auto it = std::ranges::find(tabs, id, &Tab::sheet_id);
    return it == tabs.end() ? nullptr : &*it;
  };
  json::array replies;
  const json::array& list = requests->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = "requests[" + std::to_string(i) + "]";
    if (!list[i].is_object() || list[i].get_object().size() != 1) {
      return refuse(kind, 400, "Invalid " + where + ": exactly one kind of request is required.",
                    where + " is not an object with one member");
    }
    const auto& [name, value] = *list[i].get_object().begin();
    const std::string invalid = "Invalid " + where + "." + std::string(name) + ": ";
    if (name != "addSheet" && name != "updateDimensionProperties" && name != "appendDimension") {
      return refuse(kind, 400,
                    "Invalid JSON payload received. Unknown name \"" + std::string(name) + "\" at '" + where +
                        "': Cannot find field.",
                    where + " is a " + std::string(name) + ", which this fake does not take");
    }
    if (!value.is_object())
      return refuse(kind, 400, invalid + "not an object", where + "." + std::string(name) + " is not an object");
    const json::object& o = value.get_object();

    if (name == "addSheet") {
      const json::value* p = o.if_contains("properties");
      if (!unknown_key(o, {"properties"}).empty() || !p || !p->is_object()) {
        return refuse(kind, 400, invalid + "properties are required",
                      where + ".addSheet is not {\"properties\":{...}}");
      }
      const json::object& properties = p->get_object();
      if (std::string key = unknown_key(properties, {"sheetId", "title", "index", "sheetType", "gridProperties",
                                                     "hidden", "tabColor", "tabColorStyle", "rightToLeft"});
          !key.empty()) {
        return refuse(kind, 400, "Invalid JSON payload received. Unknown name \"" + key + "\": Cannot find field.",
                      where + ".addSheet.properties has unknown field \"" + key + "\"");
      }
      const json::string* title = string_field(properties, "title");
      if (!title || title->empty()) {
        return refuse(kind, 400, invalid + "a title is required", where + ".addSheet has no title");
      }
      if (std::ranges::any_of(tabs, [&](const Tab& t) { return iequals(t.title, *title); })) {
        return api_error(400, invalid + "A sheet with the name \"" + std::string(std::string_view(*title)) +
                                  "\" already exists. Please enter another name.");
      }
      if (properties.contains("sheetType") && !string_is(properties, "sheetType", "GRID")) {
        return refuse(kind, 400, invalid + "sheetType must be GRID", where + ".addSheet's sheetType is not GRID");
      }
      Tab tab{.sheet_id = next_sheet_id, .title = std::string(std::string_view(*title))};
      if (properties.contains("sheetId")) {
        auto id = integer_field(properties, "sheetId");
        if (!id || *id < 0)
          return refuse(kind, 400, invalid + "bad sheetId", where + ".addSheet's sheetId is not an integer >= 0");
        if (tab_with_id(*id))
          return api_error(400, invalid + "A sheet with id " + std::to_string(*id) + " already exists.");
        tab.sheet_id = *id;
      } else {
        next_sheet_id += 7919;
      }
      if (const json::value* g = properties.if_contains("gridProperties")) {
        const json::object* grid = g->if_object();
        if (!grid || !unknown_key(*grid, {"rowCount", "columnCount", "frozenRowCount", "frozenColumnCount"}).empty()) {
          return refuse(kind, 400, invalid + "bad gridProperties", where + ".addSheet's gridProperties are off");
        }
        for (auto [field, target, limit] : {std::tuple{"rowCount", &tab.row_count, max_rows},
                                            std::tuple{"columnCount", &tab.column_count, max_columns}}) {
          if (!grid->contains(field)) continue;
          auto n = integer_field(*grid, field);
          if (!n || *n < 1 || static_cast<std::size_t>(*n) > limit) {
            return refuse(kind, 400, invalid + "bad gridProperties." + field,
                          where + ".addSheet's gridProperties." + field + " is out of range");
          }
          *target = static_cast<std::size_t>(*n);
        }
      }
      std::size_t index = tabs.size();
      if (properties.contains("index")) {
        auto n = integer_field(properties, "index");
        if (!n || *n < 0)
          return refuse(kind, 400, invalid + "bad index", where + ".addSheet's index is not an integer >= 0");
        index = std::min(tabs.size(), static_cast<std::size_t>(*n));
      }
      json::object reply_properties{{"sheetId", tab.sheet_id},
                                    {"title", tab.title},
                                    {"index", index},
                                    {"sheetType", "GRID"},
                                    {"gridProperties", grid_properties(tab.row_count, tab.column_count)}};
      tabs.insert(tabs.begin() + static_cast<std::ptrdiff_t>(index), std::move(tab));
      replies.push_back(json::object{{"addSheet", json::object{{"properties", std::move(reply_properties)}}}});
      continue;
    }

    const json::value* r = o.if_contains("range");
    const json::object* range = name == "updateDimensionProperties" ? (r ? r->if_object() : nullptr) : &o;
    const bool update = name == "updateDimensionProperties";
    if (!range || (update && !unknown_key(o, {"range", "properties", "fields"}).empty()) ||
        (update ? !unknown_key(*range, {"sheetId", "dimension", "startIndex", "endIndex"}).empty()
                : !unknown_key(o, {"sheetId", "dimension", "length"}).empty())) {
      return refuse(kind, 400, invalid + "unexpected fields",
                    where + "." + std::string(name) + " has unexpected fields");
    }
    auto sheet_id = integer_field(*range, "sheetId");
    if (!sheet_id) return refuse(kind, 400, invalid + "sheetId is required", where + " has no integer sheetId");
    Tab* tab = tab_with_id(*sheet_id);
    if (!tab) return api_error(400, invalid + "No grid with id: " + std::to_string(*sheet_id));
    const json::string* dimension = string_field(*range, "dimension");
    if (!dimension || (*dimension != "COLUMNS" && (update || *dimension != "ROWS"))) {
      return refuse(kind, 400, invalid + "unsupported dimension", where + "'s dimension is not one this fake takes");
    }

    if (!update) {
      auto length = integer_field(o, "length");
      const bool columns = *dimension == "COLUMNS";
      std::size_t& size = columns ? tab->column_count : tab->row_count;
      if (!length || *length < 1 || size + static_cast<std::size_t>(*length) > (columns ? max_columns : max_rows)) {
        return refuse(kind, 400, invalid + "bad length", where + ".appendDimension's length is out of range");
      }
      size += static_cast<std::size_t>(*length);
      replies.push_back(json::object{});
      continue;
    }

    auto start = integer_field(*range, "startIndex"), end = integer_field(*range, "endIndex");
    if (!start || !end || *start < 0 || *end <= *start) {
      return refuse(kind, 400, invalid + "bad startIndex or endIndex",
                    where + " needs integers 0 <= startIndex < endIndex");
    }
    if (static_cast<std::size_t>(*end) > tab->column_count) {
      std::string message = invalid + "Range (" + quoted(tab->title) + "!" +
                            column_name(static_cast<std::size_t>(*start)) + ":" +
                            column_name(static_cast<std::size_t>(*end) - 1) +
                            ") exceeds grid limits. Max rows: " + std::to_string(tab->row_count) +
                            ", max columns: " + std::to_string(tab->column_count);
      return refuse(kind, 400, message, message);
    }
    const json::value* p = o.if_contains("properties");
    const json::object* properties = p ? p->if_object() : nullptr;
    if (!properties || properties->size() != 1 || !properties->contains("hiddenByUser") ||
        !properties->at("hiddenByUser").is_bool() || !string_is(o, "fields", "hiddenByUser")) {
      return refuse(kind, 400, invalid + "only hiddenByUser is supported",
                    where + " is not properties {\"hiddenByUser\":bool} with fields \"hiddenByUser\"");
    }
    for (auto c = static_cast<std::size_t>(*start); c < static_cast<std::size_t>(*end); ++c) {
      if (properties->at("hiddenByUser").get_bool()) {
        tab->hidden.insert(c);
      } else {
        tab->hidden.erase(c);
      }
    }
    replies.push_back(json::object{});
  }
  tabs_ = std::move(tabs);
  next_sheet_id_ = next_sheet_id;
  return json_reply(200, json::object{{"spreadsheetId", spreadsheet_id_value}, {"replies", std::move(replies)}});
}

}  // namespace daisy::e2e
