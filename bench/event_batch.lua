-- wrk script: posts batches of 100 events ({"events": [...]}), as a site's
-- collector forwards them: 100 visitors' sessions per batch, each lasting 8
-- batches, random-looking session ids, timestamps increasing from the start of
-- the run. Requests are formatted once, in init.
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

local requests = {}
local pool = 256
local event = '{"session_id":"%08x-%04x-4000-8000-%012x","category":"page interaction","name":"pageview",' ..
  '"data":{"host":"example.org","path":"/p/%d"},"timestamp":"%s.%06dZ"}'

function init(args)
  local start = os.time() - 60
  for b = 1, pool do
    local second = os.date("!%Y-%m-%dT%H:%M:%S", start + math.floor(b / 8))
    local generation = math.floor(b / 8)
    local events = {}
    for i = 1, 100 do
      local session = generation * 100 + i
      local hashed = (session * 2654435761) % 4294967296
      events[i] = string.format(event, hashed, thread_id or 0, session, i, second, (b % 8) * 100000 + i)
    end
    requests[b] = wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",") .. ']}')
  end
end

local n = 0
function request()
  n = n % pool + 1
  return requests[n]
end
