-- wrk script: posts one behaviour event per request (page interaction /
-- pageview, checked against its JSON Schema), as a site's visitors send them:
-- sessions of 8 events each with random-looking ids, timestamps increasing
-- from the start of the run. The requests are formatted once, in init, so the
-- load generator spends as little as possible of the shared CPU per request.
-- Environment: DAISY_TOKEN (an app token). Also run against nginx for the POST
-- ceiling, so both sides pay the same load-generator cost.
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
local pool = 16384
local template = '{"session_id":"%08x-%04x-4000-8000-%012x","category":"page interaction","name":"pageview",' ..
  '"data":{"host":"example.org","path":"/pricing","referrer":"https://search.example/"},' ..
  '"timestamp":"%s.%06dZ"}'

function init(args)
  local start = os.time() - 60
  for i = 1, pool do
    local session = math.floor(i / 8)
    local hashed = (session * 2654435761) % 4294967296  -- spread ids over the key space
    local second = os.date("!%Y-%m-%dT%H:%M:%S", start + math.floor(i / 1000))
    local body = string.format(template, hashed, thread_id or 0, session, second, (i % 1000) * 1000)
    requests[i] = wrk.format(nil, nil, nil, body)
  end
end

local n = 0
function request()
  n = n % pool + 1
  return requests[n]
end
