-- wrk script: the heaviest documented event queries, in turn, over the events
-- seeded by bench/run.sh (10M in 1M sessions, names "pageview" and "cta
-- click"): a name that matches none (it reads until its 2 s budget), a whole
-- category, a one-hour window and one session, 1000 events a page. Not every
-- reply is 200: the name that matches none ends at its budget (422,
-- query-too-costly).
-- Environment: DAISY_TOKEN (the admin token), DAISY_SESSIONS.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DAISY_TOKEN")
local sessions = tonumber(os.getenv("DAISY_SESSIONS"))
local queries = {
  "/v1/events?name=no-such-name&limit=1000",
  "/v1/events?category=page%20interaction&limit=1000",
  "/v1/events?since=2026-01-01T01:00:00Z&until=2026-01-01T02:00:00Z&limit=1000",
}
local n = 0

request = function()
  n = n + 1
  local i = n % 4
  if i == 0 then
    local k = math.random(0, sessions - 1)
    return wrk.format(nil, string.format("/v1/sessions/%08x-0000-4000-8000-%012x?limit=1000", k, k))
  end
  return wrk.format(nil, queries[i])
end
