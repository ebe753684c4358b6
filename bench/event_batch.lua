-- wrk script: posts batches of 100 events ({"events": [...]}), as a site's
-- collector forwards them: 100 visitors' sessions per batch, each lasting 8
-- batches, random-looking session ids, timestamps in the current second (as
-- live traffic has them; times that went back would scatter every time index).
-- Requests are formatted once, in init, around the timestamp's second, which
-- request() fills in: the load generator spends little of the shared CPU.
-- Environment: DAISY_TOKEN (an app token).
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("DAISY_TOKEN") or "none")

local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

-- Stands for the timestamp's second ("2026-01-01T00:00:00") in the formatted
-- requests; as long as it, so that their Content-Length holds.
local SECOND = string.rep("\1", 19)
local parts = {}     -- each request split at SECOND
local pool = 256
local event = '{"session_id":"%08x-%04x-4000-8000-%012x","category":"page interaction","name":"pageview",' ..
  '"data":{"host":"example.org","path":"/p/%d"},"timestamp":"' .. SECOND .. '.%06dZ"}'

local function split(s)
  local out, from = {}, 1
  while true do
    local at = string.find(s, SECOND, from, true)
    if not at then out[#out + 1] = string.sub(s, from); return out end
    out[#out + 1] = string.sub(s, from, at - 1)
    from = at + #SECOND
  end
end

function init(args)
  for b = 1, pool do
    local generation = math.floor(b / 8)
    local events = {}
    for i = 1, 100 do
      local session = generation * 100 + i
      local hashed = (session * 2654435761) % 4294967296
      events[i] = string.format(event, hashed, thread_id or 0, session, i, (b % 8) * 100000 + i)
    end
    parts[b] = split(wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",") .. ']}'))
  end
end

local n, now, second = 0, 0, ""
function request()
  local t = os.time()
  if t ~= now then now, second = t, os.date("!%Y-%m-%dT%H:%M:%S", t) end
  n = n % pool + 1
  return table.concat(parts[n], second)
end
