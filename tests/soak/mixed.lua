-- wrk script: each request picks one of the files listed in $SOAK_PATHS
-- (space-separated, weighted towards small files as in real traffic) and
-- prints machine-readable totals at the end.
local paths = {}
for p in string.gmatch(os.getenv("SOAK_PATHS") or "/", "%S+") do
  paths[#paths + 1] = p
end
math.randomseed(os.time())

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("SOAK requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p99_ms=%.1f\n",
    summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(99) / 1000))
end
