-- wrk script: posts one behaviour event per request (page interaction /
-- pageview, checked against its JSON Schema), as a site's visitors send them:
-- sessions of 8 events each with random-looking ids, timestamps in the
-- current second (as live traffic has them). The requests are formatted once,
-- in init, around the timestamp's second, which request() fills in, so the
-- load generator spends as little as possible of the shared CPU per request.
-- Environment: DAISY_TOKEN (an app token or publishable key). Also run against
-- nginx for the POST ceiling, so both sides pay the same load-generator cost.
-- Optional: DAISY_ORIGIN, sent as the Origin header (a page's request);
-- DAISY_EVENT_IDS=new gives each event a client id never sent before,
-- DAISY_EVENT_IDS=repeat one of 16384 fixed ids (sent again and again).
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("DAISY_TOKEN") or "none")
if os.getenv("DAISY_ORIGIN") then wrk.headers["Origin"] = os.getenv("DAISY_ORIGIN") end
local ids = os.getenv("DAISY_EVENT_IDS")

local thread_counter = 0
function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

-- Stands for the timestamp's second ("2026-01-01T00:00:00") in the formatted
-- requests; as long as it, so that their Content-Length holds.
local SECOND = string.rep("\1", 19)
local ID = string.rep("\2", 36)  -- stands for the event's id, filled in likewise
local heads, middles, tails = {}, {}, {}  -- each request split at ID (when ids) and SECOND
local pool = 16384
local template = (ids and '{"id":"' .. ID .. '",' or '{') ..
  '"session_id":"%08x-%04x-4000-8000-%012x","category":"page interaction","name":"pageview",' ..
  '"data":{"host":"example.org","path":"/pricing","referrer":"https://search.example/"},' ..
  '"timestamp":"' .. SECOND .. '.%06dZ"}'

function init(args)
  for i = 1, pool do
    local session = math.floor(i / 8)
    local hashed = (session * 2654435761) % 4294967296  -- spread ids over the key space
    local body = string.format(template, hashed, thread_id or 0, session, (i % 1000) * 1000)
    local request = wrk.format(nil, nil, nil, body)
    local at = string.find(request, SECOND, 1, true)
    heads[i] = string.sub(request, 1, at - 1)
    tails[i] = string.sub(request, at + #SECOND)
    if ids then
      local id_at = string.find(heads[i], ID, 1, true)
      middles[i] = string.sub(heads[i], id_at + #ID)
      heads[i] = string.sub(heads[i], 1, id_at - 1)
    end
  end
end

local n, now, second, sent = 0, 0, "", 0
local started = os.time()
function request()
  local t = os.time()
  if t ~= now then now, second = t, os.date("!%Y-%m-%dT%H:%M:%S", t) end
  n = n % pool + 1
  if not ids then return heads[n] .. second .. tails[n] end
  sent = sent + 1
  local id = ids == "repeat" and string.format("00000000-0000-7000-8000-%012x", n)
    or string.format("%08x-%04x-7000-8000-%012x", started, thread_id or 0, sent)
  return heads[n] .. id .. middles[n] .. second .. tails[n]
end
