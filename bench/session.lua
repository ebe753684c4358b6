-- wrk script: reads one random session among those seeded by bench/run.sh
-- (session k is %08x-0000-4000-8000-%012x of k, for k below DAISY_SESSIONS).
-- Environment: DAISY_TOKEN (the admin token), DAISY_SESSIONS.
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DAISY_TOKEN")
local sessions = tonumber(os.getenv("DAISY_SESSIONS"))

request = function()
  local k = math.random(0, sessions - 1)
  return wrk.format(nil, string.format("/v1/sessions/%08x-0000-4000-8000-%012x", k, k))
end
