// The decisions about responses that every backend makes alike (form_store.h).
#include "store/form_store.h"

namespace daisy {

SubmitOutcome outcome_of_known_key(std::string_view stored_hash, std::string_view hash) {
  return stored_hash == hash ? SubmitOutcome::replayed : SubmitOutcome::key_mismatch;
}

}  // namespace daisy
