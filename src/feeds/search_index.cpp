#include "feeds/search_index.h"

#include <algorithm>
#include <charconv>

#include "util/json_text.h"
#include "util/time_zone.h"

namespace daisy::feeds {
namespace {

unsigned digits(std::string_view s, std::size_t at, std::size_t n) {
  unsigned v = 0;
  std::from_chars(s.data() + at, s.data() + at + n, v);
  return v;
}

std::optional<std::int64_t> local_seconds(std::string_view local, const std::string& timezone) {
  int year = static_cast<int>(digits(local, 0, 4));
  return local_to_unix_seconds(timezone, year, digits(local, 5, 2), digits(local, 8, 2), digits(local, 11, 2),
                               digits(local, 14, 2), digits(local, 17, 2));
}

// A decimal as a JSON number: JSON allows neither a leading '+' nor leading
// zeros ("007.50" -> "7.50").
std::string json_number(std::string_view decimal) {
  std::string out;
  if (!decimal.empty() && decimal[0] == '-') {
    out += '-';
    decimal.remove_prefix(1);
  }
  while (decimal.size() > 1 && decimal[0] == '0' && decimal[1] != '.') decimal.remove_prefix(1);
  out += decimal;
  return out;
}

}  // namespace

std::vector<SearchPlan> search_plans(const std::vector<SearchablePlan>& plans, const std::string& timezone) {
  std::vector<SearchPlan> out;
  out.reserve(plans.size());
  for (const SearchablePlan& p : plans) {
    auto starts = local_seconds(p.starts_local, timezone);
    auto ends = local_seconds(p.ends_local, timezone);
    if (!starts || !ends) continue;
    SearchPlan s;
    s.starts_at = *starts;
    s.ends_at = *ends;
    std::string& j = s.json;
    j += "{\"id\":\"";
    j += p.id;
    j += "\",\"title\":";
    append_json_string(j, p.title);
    j += ",\"start_date\":\"";
    j.append(p.starts_local, 0, 10);
    j += "\",\"start_time\":\"";
    j.append(p.starts_local, 11, 8);
    j += "\",\"end_date\":\"";
    j.append(p.ends_local, 0, 10);
    j += "\",\"end_time\":\"";
    j.append(p.ends_local, 11, 8);
    j += "\",\"min_price\":";
    j += json_number(p.min_price);
    j += ",\"max_price\":";
    j += json_number(p.max_price);
    j += '}';
    out.push_back(std::move(s));
  }
  return out;
}

void SearchIndex::replace(const std::string& provider_id, std::vector<SearchPlan> plans) {
  std::lock_guard lock(mu_);
  if (plans.empty()) {
    by_provider_.erase(provider_id);
  } else {
    by_provider_[provider_id] = std::move(plans);
  }
  auto next = std::make_shared<Snapshot>();
  std::size_t total = 0;
  for (const auto& [_, p] : by_provider_) total += p.size();
  next->plans.reserve(total);
  for (const auto& [_, p] : by_provider_) next->plans.insert(next->plans.end(), p.begin(), p.end());
  std::stable_sort(next->plans.begin(), next->plans.end(),
                   [](const SearchPlan& a, const SearchPlan& b) { return a.starts_at < b.starts_at; });
  std::atomic_store(&current_, std::shared_ptr<const Snapshot>(std::move(next)));
}

SearchIndex::Reply::Reply(std::shared_ptr<const Snapshot> snapshot, std::optional<std::int64_t> from,
                          std::optional<std::int64_t> to)
    : snapshot_(std::move(snapshot)), to_(to) {
  const auto& plans = snapshot_->plans;
  it_ = from ? std::lower_bound(plans.begin(), plans.end(), *from,
                                [](const SearchPlan& p, std::int64_t t) { return p.starts_at < t; })
             : plans.begin();
  // A plan ends no earlier than it starts, so none starting after `to` can match.
  last_ =
      to ? std::upper_bound(it_, plans.end(), *to, [](std::int64_t t, const SearchPlan& p) { return t < p.starts_at; })
         : plans.end();
}

bool SearchIndex::Reply::next(std::string& out, std::size_t part_bytes) {
  std::size_t limit = out.size() + part_bytes;
  if (!started_) {
    out += "{\"data\":{\"events\":[";
    started_ = true;
  }
  for (; it_ != last_ && out.size() < limit; ++it_) {
    if (to_ && it_->ends_at > *to_) continue;
    if (any_) out += ',';
    out += it_->json;
    any_ = true;
  }
  if (it_ != last_) return true;
  out += "]},\"error\":null}";
  return false;
}

std::string SearchIndex::search(const Snapshot& snapshot, std::optional<std::int64_t> from,
                                std::optional<std::int64_t> to) {
  // A reply over a snapshot that the caller keeps alive: no ownership taken.
  Reply reply(std::shared_ptr<const Snapshot>(std::shared_ptr<const Snapshot>{}, &snapshot), from, to);
  std::string body;
  while (reply.next(body, std::size_t(-1) / 2)) {
  }
  return body;
}

}  // namespace daisy::feeds
