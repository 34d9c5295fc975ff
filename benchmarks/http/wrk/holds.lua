-- POST one-unit cart holds of one SKU, each with a reservation id of its own, and count the
-- answers by status (201 held, 409 not available).
-- wrk ... -s holds.lua URL -- SKU RUN_ID TTL_S
local threads, next_thread = {}, 0
statuses, sent = {}, 0  -- globals: done() reads each thread's statuses

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  sku, run, ttl = args[1], args[2], args[3]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"id": "%s-%d-%d", "lines": [{"sku": "%s", "quantity": 1}], "ttl_s": %s}',
    run, thread_id, sent, sku, ttl)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "statuses": {%s}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    table.concat(parts, ", "), latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
