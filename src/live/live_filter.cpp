#include "live/live_filter.h"

namespace daisy::live {

bool kind_named(std::string_view name, Kind& out) {
  for (std::size_t i = 0; i < kind_count; ++i) {
    if (kind_names[i] == name) {
      out = static_cast<Kind>(i);
      return true;
    }
  }
  return false;
}

namespace {

bool app_visible(Kind k) {
  return k == Kind::response_created || k == Kind::response_updated || k == Kind::event_created ||
         k == Kind::event_rejected;
}

bool attribute_matches(const std::string& wanted, const std::string& has) { return wanted.empty() || wanted == has; }

}  // namespace

bool LiveFilter::wants(Kind k) const {
  if (!scope_app_id.empty() && !app_visible(k)) return false;
  return kinds.none() || kinds.test(static_cast<std::size_t>(k));
}

bool LiveFilter::matches(const LiveMessage& m) const {
  if (!wants(m.kind)) return false;
  if (!scope_app_id.empty() && m.app_id != scope_app_id) return false;
  return attribute_matches(app_id, m.app_id) && attribute_matches(form_id, m.form_id) &&
         attribute_matches(category, m.category) && attribute_matches(integration_id, m.integration_id);
}

std::string scope_to_app(LiveFilter& filter, const std::string& app_id) {
  if (!filter.app_id.empty() && filter.app_id != app_id) {
    return "An app token streams only its own app's responses and events.";
  }
  for (auto kind : {Kind::job_updated, Kind::sync_finished}) {
    if (filter.kinds.test(static_cast<std::size_t>(kind))) {
      return "An app token streams only responses and events; " + std::string(name_of(kind)) +
             " needs the admin token.";
    }
  }
  filter.scope_app_id = app_id;
  return {};
}

}  // namespace daisy::live
