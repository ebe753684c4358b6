-- wrk script for bench/soak.sh: runs one of bench/*.lua (SOAK_SCRIPT), paced
-- (each connection waits SOAK_DELAY_MS between a reply and its next request,
-- so the load stays moderate), and prints its figures on one line for the
-- soak script: "soak requests=N seconds=S p50_ms p99_ms max_ms connect read
-- write status timeout" (status: replies other than 2xx/3xx).
dofile(os.getenv("SOAK_SCRIPT"))
local pause = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
function delay()
  return pause
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("soak requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
