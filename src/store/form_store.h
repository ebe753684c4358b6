#pragma once
// The store of forms and their responses, with every revision of both. A
// response and the jobs it triggers commit together. The contract of every
// store interface is in store/store.h.

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/job_store.h"
#include "store/page.h"
#include "store/status.h"

namespace daisy {

// A form as stored: the definition is JSON text (FormDefinition::to_json).
struct FormRow {
  std::string id;
  int version = 1;
  std::string definition;
  std::string created_at;
  std::string updated_at;
  std::string archived_at;  // empty while active
};

// A response as stored; JSON fields are text.
struct ResponseRow {
  std::int64_t seq = 0;  // arrival order
  std::string id;
  std::string form_id;
  int form_version = 1;
  std::string status;
  std::string answers;   // JSON object
  std::string metadata;  // JSON object
  std::string checks;    // JSON array
  std::string submitted_at;
  std::string received_at;
  std::string updated_at;
  int revision = 1;
  std::string app_id;  // empty for the admin
};

struct RevisionRow {
  int revision = 1;
  int form_version = 1;
  std::string status;
  std::string answers;
  std::string checks;
  std::string created_at;
};

struct ResponseFilter {
  std::string status;        // empty: any
  std::string since, until;  // received_at bounds (inclusive, exclusive); empty: none
  std::int64_t after_seq = 0;
  std::size_t limit = 50;
};

// The responses stored or corrected since a time (their current revision),
// for a live stream's resume: form_id and app_id narrow them when not empty.
struct ResponsesSince {
  std::string since;  // updated_at at or after this (ISO 8601 UTC, as stored)
  std::string form_id{}, app_id{};
  std::size_t limit = 1000;
};

// What happened to a submission with an idempotency key.
enum class SubmitOutcome {
  stored,        // a new response
  replayed,      // the key was seen before with the same body: the original is returned
  key_mismatch,  // the key was seen before with a different body
};

// A submission whose idempotency key is already stored, decided the same way
// by every backend (form_store.cpp): replayed when its request hash is the
// stored one, key_mismatch otherwise.
SubmitOutcome outcome_of_known_key(std::string_view stored_hash, std::string_view hash);

class FormStore {
 public:
  virtual ~FormStore() = default;

  // Forms. A new version also records the definition in the version history.
  virtual boost::asio::awaitable<Status> create_form(FormRow form) = 0;
  virtual Result<std::vector<FormRow>> list_forms(const Page& page) = 0;
  virtual Result<FormRow> get_form(std::string_view id) = 0;  // archived ones too
  // Replaces the form's definition. When new_version, form.version must be the
  // stored version + 1 (else conflict: a concurrent change won).
  virtual boost::asio::awaitable<Status> update_form(FormRow form, bool new_version) = 0;
  virtual boost::asio::awaitable<Status> archive_form(std::string id, std::string archived_at) = 0;
  // The versions of a form after `after_version`, oldest first: each row's
  // version, definition and created_at (when that version was made).
  virtual Result<std::vector<FormRow>> list_form_versions(std::string_view form_id, int after_version,
                                                          std::size_t limit) = 0;

  // Responses. With an idempotency key, at most one response is ever stored
  // per (form, key): on a repeat, row is replaced by the stored one. The jobs
  // are stored with the response, in its transaction, only when it is new.
  virtual boost::asio::awaitable<Result<SubmitOutcome>> insert_response(std::shared_ptr<ResponseRow> row,
                                                                        std::string idempotency_key,
                                                                        std::string request_hash,
                                                                        std::vector<JobRow> jobs) = 0;
  // The response stored under an idempotency key, with the hash of the request
  // that stored it; nullopt when the key is unused on this form.
  virtual Result<std::optional<std::pair<ResponseRow, std::string>>> find_by_idempotency_key(std::string_view form_id,
                                                                                             std::string_view key) = 0;
  virtual Result<ResponseRow> get_response(std::string_view form_id, std::string_view id) = 0;
  virtual Result<std::vector<ResponseRow>> list_responses(std::string_view form_id, const ResponseFilter& filter) = 0;
  // Oldest change first (updated_at, then seq).
  virtual Result<std::vector<ResponseRow>> responses_updated_since(const ResponsesSince& query) = 0;
  // Stores a correction as the next revision; row.revision is set to it. The
  // jobs are stored in the same transaction.
  virtual boost::asio::awaitable<Status> revise_response(std::shared_ptr<ResponseRow> row,
                                                         std::vector<JobRow> jobs) = 0;
  virtual Result<std::vector<RevisionRow>> list_revisions(std::string_view response_id) = 0;
  // The response as it was at `revision` (its JSON then: a job's payload).
  virtual Result<ResponseRow> get_response_revision(std::string_view id, int revision) = 0;
};

}  // namespace daisy
