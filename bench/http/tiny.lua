-- wrk script: the tiny workload of the benchmarks, POSTed to warden serve (bench/http/run.sh).
-- Besides wrk's own counts it checks every 2xx body for the right result, and prints one
-- machine-readable line at the end (run.sh reads it): latency in ms from wrk's own histogram.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{ "code": "JSON.stringify({ sum: input.a + input.b })", "input": { "a": 1, "b": 2 } }'

-- The outcome JSON of a correct execution contains this (the result is the JSON string '{"sum":3}').
local expected = '"result":"{\\"sum\\":3}"'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0 -- per thread: a 2xx answer without the right result (e.g. status "error")
end

function response(status, headers, body)
  if status >= 200 and status < 300 and not string.find(body, expected, 1, true) then
    wrong = wrong + 1
  end
end

function done(summary, latency, requests)
  local total_wrong = 0
  for _, thread in ipairs(threads) do
    total_wrong = total_wrong + thread:get("wrong")
  end
  local e = summary.errors
  io.write(string.format(
    "WARDEN-BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d wrong=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, total_wrong, e.connect + e.read + e.write + e.timeout))
end
