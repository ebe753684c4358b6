#pragma once
// Submitting and correcting responses, without HTTP. The answers are checked
// against the form's questions and then its rules; the response is stored
// with the jobs it triggers, and the sync integrations answer once it is
// committed (jobs/record_actions.h). A front end (api/responses.cpp today,
// gRPC tomorrow) turns its request into a call here and the outcome into its
// reply.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "domain/field_error.h"
#include "domain/principal.h"
#include "forms/form_cache.h"
#include "jobs/integration_registry.h"
#include "store/form_store.h"
#include "store/job_store.h"

namespace daisy::jobs {
class JobRunner;
}

namespace daisy::live {
class LiveBus;
}

namespace daisy::forms {

// Why a response was not stored.
struct Refusal {
  enum class Kind {
    answers_invalid,  // the answers do not fit the questions (errors name them)
    rule_rejected,    // a rejecting rule failed (errors: rules.<name>; detail: the first one's message)
    form_archived,    // the form takes no more responses
    key_reused,       // the Idempotency-Key came before with another body, or from another caller
    store_failed,     // status says why (not_found: `detail` names what is missing)
  };
  Kind kind = Kind::store_failed;
  std::string detail;
  std::vector<FieldError> errors;
  Status status;
};

// A response that is stored (or was, for a repeated submission).
struct Stored {
  std::shared_ptr<ResponseRow> row;
  std::string json;  // the response as the API shows it, without its actions
  std::vector<jobs::TriggeredAction> actions;
  bool replayed = false;  // a repeated submission: the original, with its actions as they are now
};

using Outcome = std::variant<Stored, Refusal>;

// What the operations work with (references to what the wiring owns).
struct ResponseServices {
  FormStore& store;
  JobStore& jobs;
  FormCache& forms;
  const jobs::IntegrationRegistry* integrations = nullptr;  // null: no actions
  jobs::JobRunner* runner = nullptr;
  live::LiveBus* live = nullptr;  // told of each response stored or corrected
};

// The limits of a submission's own fields, which each front end checks as
// it reads them: the metadata's JSON text, how far submitted_at may be ahead
// of the server's clock, and an idempotency key (1 to 255 visible ASCII
// characters).
inline constexpr std::size_t max_metadata_bytes = 16 * 1024;
inline constexpr auto submitted_at_max_skew = std::chrono::minutes(5);
bool valid_idempotency_key(std::string_view key);

struct Submission {
  std::string form_id;
  const boost::json::object* answers = nullptr;  // required
  std::string metadata = "{}";                   // a JSON object's text
  std::string submitted_at;                      // the stored text form; empty: when received
  std::string idempotency_key;                   // empty: none
  // With a key: the request as sent. A repeat is the same caller with the
  // same bytes; anything else under the same key is refused.
  std::string_view request_bytes;
  Principal caller;
};

struct Correction {
  std::string form_id, response_id;
  const boost::json::object* answers = nullptr;  // required
  Principal caller;                              // an app corrects only its own responses
};

boost::asio::awaitable<Outcome> submit(ResponseServices services, Submission submission);
boost::asio::awaitable<Outcome> correct(ResponseServices services, Correction correction);

}  // namespace daisy::forms
