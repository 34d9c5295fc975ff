-- GET the paths of a file, one a line, in turn; each thread starts at its own place in the list.
-- wrk ... -s paths.lua URL -- FILE
local threads, next_thread = {}, 0
local paths, at = {}, 0

function setup(thread)
  thread:set("start", next_thread * 7919)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  at = start % #paths
end

function request()
  at = at % #paths + 1
  return wrk.format("GET", paths[at])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
