-- Debits several token buckets at once, all or nothing: one script, so any
-- number of gateways sharing the store never spend more than a bucket holds.
-- KEYS: the buckets. ARGV[1]: the current time in ms, or "" for Redis's own
-- clock (TIME), which production always uses so that every gateway shares one
-- clock; tests pass theirs. Then ARGV: capacity, refill per second, cost for
-- each key, in order.
-- Returns the tokens each bucket holds after refill (before any debit) as
-- strings (Lua numbers would be truncated to integers), then "1" if debited.
-- A debited bucket expires once it would be full again (plus a second); one
-- that never refills never expires.
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local now_parts = redis.call('TIME')
  now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
end
local available = {}
local allowed = true
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[(i - 1) * 3 + 2])
  local refill = tonumber(ARGV[(i - 1) * 3 + 3])
  local cost = tonumber(ARGV[(i - 1) * 3 + 4])
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  if tokens == nil then
    tokens = capacity
  else
    tokens = math.min(capacity, tokens + (now - tonumber(state[2])) * refill / 1000)
  end
  available[i] = tokens
  if tokens < cost then allowed = false end
end
local result = {}
for i, key in ipairs(KEYS) do
  result[i] = tostring(available[i])
  if allowed then
    local capacity = tonumber(ARGV[(i - 1) * 3 + 2])
    local refill = tonumber(ARGV[(i - 1) * 3 + 3])
    local left = available[i] - tonumber(ARGV[(i - 1) * 3 + 4])
    redis.call('HSET', key, 'tokens', tostring(left), 'ts', tostring(now))
    if refill > 0 then
      redis.call('PEXPIRE', key, math.ceil((capacity - left) / refill * 1000) + 1000)
    end
  end
end
result[#KEYS + 1] = allowed and '1' or '0'
return result
