-- wrk script for load.sh: every request places a new order (its own order_id, so the
-- idempotency key never repeats), one in ten with the card the payment provider declines.
-- Arguments: <run name> <mean pause ms between a response and the next request> <results dir>.
-- Each accepted order (HTTP 200) is written to <results dir>/accepted-<run>-<thread> as
-- "<order_id> confirmed|cancelled", for the books check.

local threads_started = 0

function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_number", threads_started)
end

function init(args)
  run = args[1]
  pause = tonumber(args[2]) or 0
  prefix = run .. "-" .. thread_number .. "-"
  placed = 0
  math.randomseed(os.time() * 100 + thread_number)
  accepted = io.open(args[3] .. "/accepted-" .. run .. "-" .. thread_number, "w")
  accepted:setvbuf("line")
end

function request()
  placed = placed + 1
  local card = "4242-4242-4242-4242"
  if placed % 10 == 0 then
    card = "4000-0000-0000-0002"
  end
  local body = string.format(
    '{"order_id":"%s%d","sku":"book","quantity":1,"amount_cents":1999,"card":"%s"}',
    prefix, placed, card)
  return wrk.format("POST", "/orders", { ["Content-Type"] = "application/json" }, body)
end

-- The pause is drawn from 0 to twice its mean, so the connections do not move in step (the same
-- pause on each would send them in bursts, one request per connection at once).
function delay()
  if pause == 0 then
    return 0
  end
  return math.random(0, 2 * pause)
end

function response(status, headers, body)
  if status == 200 then
    local order_id = body:match('"order_id":"([^"]+)"')
    local outcome = "cancelled"
    if body:find('"confirmed":true', 1, true) then
      outcome = "confirmed"
    end
    accepted:write(order_id, " ", outcome, "\n")
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
  io.write(string.format(
    "RESULT rate=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non_2xx=%d errors=%d timeouts=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status, errors, summary.errors.timeout))
end
