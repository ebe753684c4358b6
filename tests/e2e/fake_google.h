#pragma once
// FakeGoogle: a strict local stand-in for Google's OAuth 2.0 token endpoint
// (the service-account JWT bearer grant) and the parts of the Sheets API v4
// daisy's sheets action uses, for end-to-end tests that cannot reach Google.
//
// Contract:
// - The constructor generates a fresh RSA-2048 key (service_account_json() is
//   new per instance) and serves on 127.0.0.1 through a FakeProvider; it throws
//   std::runtime_error when OpenSSL fails, std::system_error when it cannot
//   listen. The destructor closes every connection (hung ones too) first.
// - One spreadsheet, spreadsheet_id(), titled "Daisy test", with one empty tab
//   "Sheet1" (sheetId 0). The calls, by kind:
//     token        POST /token
//     spreadsheet  GET  /v4/spreadsheets/{id}
//     batchUpdate  POST /v4/spreadsheets/{id}:batchUpdate  (addSheet,
//                  updateDimensionProperties on COLUMNS, appendDimension)
//     get          GET  /v4/spreadsheets/{id}/values/{range}
//     append       POST /v4/spreadsheets/{id}/values/{range}:append
//                       ?valueInputOption=RAW&insertDataOption=INSERT_ROWS
//     update       PUT  /v4/spreadsheets/{id}/values/{range}?valueInputOption=RAW
//   Any other path or method is kind "other" and answers 404.
// - Each call is checked in this order, the first failure answering: a fault
//   injected for its kind (fail_next, hang_next); for the API, a Bearer token
//   issued by /token and not expired (401), the spreadsheet id (404), sharing
//   (403), the write quota for append, update and batchUpdate (429); then the
//   request itself (400); then it takes effect (a batchUpdate all or nothing);
//   then the reply waits the kind's delay. API errors have Google's shape
//   {"error":{"code","message","status"}}; the token endpoint refuses with
//   OAuth's 400 {"error":"invalid_grant","error_description"}.
// - errors() records every refusal of a request that real Google would refuse
//   as malformed or that is off this protocol: bad form or JWT, bad body or
//   query parameter, unparsable range, a range or write beyond the tab's grid,
//   unknown path or method, a missing or never issued token. Answers that a
//   well-behaved client can get are not recorded: injected faults, expired
//   tokens, an unknown spreadsheet or tab, not shared, the quota, a tab title
//   already taken.
// - Tabs: titles are unique ignoring ASCII case (as in Google), but a range
//   must name a tab exactly. A tab's grid is 1000 rows by 26 columns unless
//   addSheet says otherwise; appends grow it, appendDimension grows it, and a
//   get or update beyond it is refused ("exceeds grid limits"), as in Google.
// - Cells are stored as written (RAW): strings, numbers and booleans as JSON
//   values; a null in the values leaves the cell as it was. A cell is empty
//   when it is null (never written) or "". values.get answers empty cells
//   inside a row as "", and without valueRenderOption=UNFORMATTED_VALUE or
//   FORMULA gives numbers and booleans as strings.
//
// Thread-safe: one mutex guards the state; every request is handled under it.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fake_provider.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace daisy::e2e {

class FakeGoogle {
 public:
  struct Call {
    std::string kind;  // "token", "spreadsheet", "batchUpdate", "get", "append", "update" or "other"
    int status;        // answered; 0 for a hang
    std::chrono::steady_clock::time_point at;  // arrival
    std::size_t body_bytes;
    std::size_t rows;  // append and update: rows in the body's values (0 when it has none)
  };

  FakeGoogle();
  ~FakeGoogle();
  FakeGoogle(const FakeGoogle&) = delete;
  FakeGoogle& operator=(const FakeGoogle&) = delete;

  // "http://127.0.0.1:<port>": the sheets config's api_base.
  std::string base_url() const;
  // base_url() + "/token".
  std::string token_uri() const;
  // A service-account key file as Google issues it, with token_uri() as its token_uri.
  std::string service_account_json() const;
  std::string client_email() const;
  std::string private_key_id() const;
  // The one spreadsheet; any other id answers 404.
  std::string spreadsheet_id() const;

  // Adds an empty tab after the others; throws std::invalid_argument when the
  // title is empty or taken (ignoring ASCII case).
  void add_tab(std::string title);
  // The tabs' titles, in order.
  std::vector<std::string> tabs() const;
  // Replaces the tab's cells (creating the tab when there is none), growing its
  // grid to fit: a sheet a user has already typed into.
  void set_cells(std::string_view tab, std::vector<std::vector<boost::json::value>> rows);
  // The tab's cells as stored: null where never written, each row without its
  // trailing nulls, without trailing rows that are all empty; {} for an unknown tab.
  std::vector<std::vector<boost::json::value>> cells(std::string_view tab) const;
  // 0-based columns hidden by updateDimensionProperties, ascending; {} for an unknown tab.
  std::vector<std::size_t> hidden_columns(std::string_view tab) const;

  // Fault injection. kind is one of the kinds of Call but "other" (anything
  // else throws std::invalid_argument); each call replaces the kind's pending
  // fault, and count 0 clears it.
  // The next `count` calls of the kind answer `status` with Google's error body
  // for it (OAuth's for "token") and do nothing else.
  void fail_next(std::string_view kind, int status, int count = 1);
  // The next `count` calls of the kind do nothing and are never answered (until
  // release_hangs(), the client leaving, or destruction).
  void hang_next(std::string_view kind, int count = 1);
  // The kind's calls take effect at once but answer only after the delay (0: none).
  void set_reply_delay(std::string_view kind, std::chrono::milliseconds delay);
  // false: every spreadsheet call answers 403 PERMISSION_DENIED.
  void set_shared(bool shared);
  // Every access token issued so far answers 401 from now on.
  void expire_tokens();
  // Writes (append, update, batchUpdate) beyond n in a 60-second window answer
  // 429 RESOURCE_EXHAUSTED; a window starts at the first write after the last
  // one ended. 0: unlimited (the default). Starts a new window.
  void set_write_quota_per_minute(int n);
  // Closes the connections hanging now.
  void release_hangs();

  // Inspection.
  // Calls of the kind received, refused ones included.
  std::size_t count(std::string_view kind) const;
  // Every call in arrival order.
  std::vector<Call> calls() const;
  // Why each malformed request was refused ("<kind>: <why>"); empty when daisy kept to the protocol.
  std::vector<std::string> errors() const;

 private:
  struct Tab {
    std::int64_t sheet_id = 0;
    std::string title{};
    std::size_t row_count = 1000, column_count = 26;  // the grid
    std::vector<std::vector<boost::json::value>> rows{};
    std::set<std::size_t> hidden{};
  };
  struct Fault {
    int status = 0;
    int remaining = 0;
    bool hang = false;
  };

  FakeProvider::Reply handle(const FakeProvider::Request& request);
  FakeProvider::Reply answer(const FakeProvider::Request& request, const std::string& kind, std::string_view id,
                             std::string_view range);
  FakeProvider::Reply token_call(const FakeProvider::Request& request);
  std::string jwt_problem(std::string_view assertion) const;  // "" when the assertion is good
  FakeProvider::Reply spreadsheet_call() const;
  FakeProvider::Reply get_call(const FakeProvider::Request& request, std::string_view range);
  FakeProvider::Reply write_call(const FakeProvider::Request& request, const std::string& kind, std::string_view range);
  FakeProvider::Reply batch_update_call(const FakeProvider::Request& request);
  // Records why in errors() and answers Google's error.
  FakeProvider::Reply refuse(std::string_view kind, int status, std::string message, std::string why);
  bool over_quota(std::chrono::steady_clock::time_point now);
  Tab* find_tab(std::string_view title);
  const Tab* find_tab(std::string_view title) const;
  bool title_taken(std::string_view title) const;

  mutable std::mutex mu_;
  std::shared_ptr<evp_pkey_st> key_;  // immutable after construction
  std::string private_key_id_, service_account_json_;
  std::vector<Tab> tabs_;
  std::int64_t next_sheet_id_ = 1043617281;
  std::set<std::string, std::less<>> tokens_, expired_tokens_;
  std::map<std::string, Fault, std::less<>> faults_;
  std::map<std::string, std::chrono::milliseconds, std::less<>> delays_;
  bool shared_ = true;
  int write_quota_ = 0, window_writes_ = 0;
  std::optional<std::chrono::steady_clock::time_point> window_start_;
  std::vector<Call> calls_;
  std::vector<std::string> errors_;
  FakeProvider server_;  // last: destroyed first, so no handler outlives the state
};

}  // namespace daisy::e2e
