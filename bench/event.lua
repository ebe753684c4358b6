-- wrk script: posts one behaviour event per request (page interaction /
-- pageview, checked against its JSON Schema). Traffic as a site sees it:
-- each connection is a visitor whose session lasts 8 events before a new one
-- starts, session ids are random-looking, and timestamps are the current time.
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

local n = 0
local template = '{"session_id":"%08x-%04x-4000-8000-%012x","category":"page interaction","name":"pageview",' ..
  '"data":{"host":"example.org","path":"/pricing","referrer":"https://search.example/"},' ..
  '"timestamp":"%s.%06dZ"}'

function request()
  n = n + 1
  local session = math.floor(n / 8)
  local hashed = (session * 2654435761) % 4294967296  -- spread ids over the key space
  local body = string.format(template, hashed, thread_id or 0, session, os.date("!%Y-%m-%dT%H:%M:%S"), n % 1000000)
  return wrk.format(nil, nil, nil, body)
end
