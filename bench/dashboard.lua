-- wrk script of `make bench`: POSTs one GraphQL body, each request with the next bearer
-- token of a list (every thread starts at a different place in it), and counts
-- responses that are not a clean answer.
--
-- Environment: BENCH_TOKENS (a file, one token a line), BENCH_BODY (a file, the JSON
-- body), BENCH_EMPTY (a string whose presence in a body means "no projects": such an
-- answer counts as empty). done() prints one JSON line, prefixed "BENCH_RESULT ".

local tokens_file = os.getenv("BENCH_TOKENS")
local body_file = os.getenv("BENCH_BODY")
local empty_marker = os.getenv("BENCH_EMPTY") or '"nodes":[]}}}'

local threads = {}
local requests = {}
local next_index = 0
-- Per thread, read back by done().
bad = 0
empty = 0
answered = 0

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

local function read_all(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

function init(args)
  local body = read_all(body_file)
  for line in io.lines(tokens_file) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", "/graphql", {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. line,
      }, body)
    end
  end
  assert(#requests > 0, "no tokens in " .. tokens_file)
  next_index = (thread_no * 7919) % #requests
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  elseif string.find(body, empty_marker, 1, true) then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local b, e, a = 0, 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    e = e + t:get("empty")
    a = a + t:get("answered")
  end
  local errs = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.2f,"p50_ms":%.2f,"p90_ms":%.2f,' ..
    '"p99_ms":%.2f,"max_ms":%.2f,"mean_ms":%.2f,"answered":%d,"bad":%d,"empty":%d,' ..
    '"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, a, b, e,
    errs.connect + errs.read + errs.write + errs.timeout, errs.status))
end
