import { defineScript } from '../core/commands.ts';

/**
 * The rate-limit scripts. Both read the clock with `redis.call('TIME')` (server time: clients with skewed clocks
 * agree), touch ONE key (cluster-safe: no CROSSSLOT whatever the id), run atomically in one round trip, and count
 * only ADMITTED requests: a rejected request writes nothing, so a client hammering a closed limiter is let in again
 * as soon as its admitted requests age out (the seed's `isRateLimited` added every attempt to the window, so a client
 * that kept retrying stayed locked out forever, and it used the client's clock).
 *
 * Both return `{ allowed (0|1), remaining, resetMs, retryAfterMs }` as integers.
 */

/**
 * Sliding window log: a sorted set of admitted requests scored by server time (ms, fractional).
 * KEYS[1] the window; ARGV[1] limit; ARGV[2] window ms; ARGV[3] cost; ARGV[4] a unique member prefix.
 * @see https://redis.io/docs/latest/develop/use-cases/rate-limiter/ (sliding window log)
 */
export const SLIDING_WINDOW = defineScript(
  'slotforge-ratelimit-sliding-window',
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - window))
local count = redis.call('ZCARD', KEYS[1])
local allowed = 0
local retry = 0
if count + cost <= limit then
  for i = 1, cost do
    redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
  count = count + cost
  allowed = 1
else
  local need = count + cost - limit
  local e = redis.call('ZRANGE', KEYS[1], need - 1, need - 1, 'WITHSCORES')
  if e[2] then retry = math.max(1, math.ceil(tonumber(e[2]) + window - now)) else retry = math.ceil(window) end
end
local reset = math.ceil(window)
if allowed == 0 then
  -- The newest admitted request leaves the window last (when admitted, that is this one: reset = window).
  local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  reset = 0
  if newest[2] then reset = math.max(0, math.ceil(tonumber(newest[2]) + window - now)) end
end
return { allowed, limit - count, reset, retry }`,
);

/**
 * GCRA (generic cell rate algorithm): one timestamp per id, the theoretical arrival time (TAT). A burst of `limit`
 * is admitted, then one request per `windowMs / limit`. Equivalent to a token bucket without a refill process.
 * KEYS[1] the TAT; ARGV[1] limit; ARGV[2] period ms; ARGV[3] cost.
 * @see https://brandur.org/rate-limiting
 */
export const GCRA = defineScript(
  'slotforge-ratelimit-gcra',
  `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local interval = period / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local newTat = tat + cost * interval
local allowAt = newTat - period
if allowAt > now then
  local remaining = math.max(0, math.floor((period - (tat - now)) / interval + 1e-9))
  return { 0, remaining, math.ceil(tat - now), math.max(1, math.ceil(allowAt - now)) }
end
redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.max(1, math.ceil(newTat - now)))
local remaining = math.max(0, math.floor((period - (newTat - now)) / interval + 1e-9))
return { 1, remaining, math.ceil(newTat - now), 0 }`,
);
