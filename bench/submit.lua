-- wrk script: submits a response to a form of 10 questions and 2 rules.
-- Environment: DAISY_TOKEN (an app token), DAISY_FORM (the form id).
wrk.method = "POST"
wrk.path = "/v1/forms/" .. os.getenv("DAISY_FORM") .. "/responses"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("DAISY_TOKEN")
wrk.body = [[{"answers":{"name":"Ada Lovelace","age":36,"income":5200.5,"savings":800,"employed":true,"region":"north","channels":["sms","email"],"born":"1815-12-10","email":"ada@example.org","phone":"+442071234567"},"metadata":{"device":"bench"}}]]
