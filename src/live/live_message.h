#pragma once
// One message of the live stream (GET /v1/stream): something that was just
// committed or finished, with the attributes streams filter on. The data is
// the record's JSON as the API shows it, shared by every stream that sends it.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace daisy::live {

enum class Kind { response_created, response_updated, event_created, event_rejected, job_updated, sync_finished };

inline constexpr std::array<std::string_view, 6> kind_names = {"response.created", "response.updated", "event.created",
                                                               "event.rejected",   "job.updated",      "sync.finished"};
inline constexpr std::size_t kind_count = kind_names.size();

inline std::string_view name_of(Kind k) { return kind_names[static_cast<std::size_t>(k)]; }

// False when `name` is not a message type.
bool kind_named(std::string_view name, Kind& out);

struct LiveMessage {
  Kind kind = Kind::response_created;
  std::uint64_t n = 0;     // set by the bus: its place in the order of publication, from 1
  std::int64_t at_ms = 0;  // set by the bus: when it was published (ms since the Unix epoch)
  // Empty when the record has none (an admin's response has no app).
  std::string app_id{}, form_id{}, category{}, integration_id{};
  std::shared_ptr<const std::string> data{};  // one line of JSON
};

}  // namespace daisy::live
