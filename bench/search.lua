-- wrk script: Fever searches over the plans of bench/fever_feed.awk (spread
-- over 2024): each request asks for a random 6-hour window of 2024, so a reply
-- holds about 7 plans.
math.randomseed(os.time())
local function stamp(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end
function request()
  local from = 1704067200 + math.random(0, 366 * 86400 - 6 * 3600)
  return wrk.format("GET", "/search?starts_at=" .. stamp(from) .. "&ends_at=" .. stamp(from + 6 * 3600))
end
