/**
 * Lua scripts of the liveness store. Each runs atomically in Redis, so any number of liveness workers and
 * schedulers can share the state without locks. All keys share the queue prefix's hash tag, so they live
 * in one Redis Cluster slot.
 *
 * Keys: beats (zset id → newest heartbeat ms, every proplet), alive (zset id → newest heartbeat ms, alive
 * proplets only), rotation (zset of alive ids, score 0, so ZRANGEBYLEX walks them by id), offline (hash id
 * → ms of the last will), history (list of the newest heartbeat times of one proplet), cursor (the id the
 * round-robin rotation gave out last), registered (set of ids whose Postgres row is known to exist: only
 * those are given work, and a proplet stays "to register" until the liveness worker confirms its row).
 */

/**
 * KEYS beats alive rotation offline history registered; ARGV id ts historyLength now aliveTimeout.
 * Returns 1 when the proplet came alive, 2 when alive but not yet registered, 0 otherwise, -1 for a
 * heartbeat older than the proplet's last will.
 */
export const HEARTBEAT_SCRIPT = `
local id, ts = ARGV[1], tonumber(ARGV[2])
local offline = redis.call('HGET', KEYS[4], id)
if offline and tonumber(offline) >= ts then return -1 end
if offline then redis.call('HDEL', KEYS[4], id) end
redis.call('ZADD', KEYS[1], 'GT', ts, id)
redis.call('LPUSH', KEYS[5], ts)
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[3]) - 1)
if tonumber(ARGV[4]) - ts >= tonumber(ARGV[5]) then return 0 end
redis.call('ZADD', KEYS[3], 0, id)
if redis.call('ZADD', KEYS[2], 'GT', ts, id) == 1 then return 1 end
if redis.call('SISMEMBER', KEYS[6], id) == 0 then return 2 end
return 0
`;

/** KEYS beats alive rotation offline; ARGV id ts. Returns 1 when the proplet was alive until now. */
export const OFFLINE_SCRIPT = `
local id, ts = ARGV[1], tonumber(ARGV[2])
local beat = redis.call('ZSCORE', KEYS[1], id)
if beat and tonumber(beat) > ts then return 0 end
redis.call('HSET', KEYS[4], id, ts)
redis.call('ZREM', KEYS[3], id)
return redis.call('ZREM', KEYS[2], id)
`;

/** KEYS alive rotation; ARGV cutoff limit. Returns [id, lastBeat, ...] of proplets that just died. */
export const SWEEP_SCRIPT = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #dead, 2 do
  redis.call('ZREM', KEYS[1], dead[i])
  redis.call('ZREM', KEYS[2], dead[i])
end
return dead
`;

/**
 * KEYS alive rotation cursor registered; ARGV cutoff. The next alive, registered proplet after the cursor in
 * id order, wrapping
 * around; advances the cursor. Nil when no proplet is alive. Walking by id from the last one given out
 * keeps the rotation fair even while proplets join and leave.
 */
export const PICK_SCRIPT = `
local cutoff = tonumber(ARGV[1])
local function first_alive(from)
  local start = from
  while true do
    local batch = redis.call('ZRANGEBYLEX', KEYS[2], start, '+', 'LIMIT', 0, 64)
    if #batch == 0 then return nil end
    for _, id in ipairs(batch) do
      local beat = redis.call('ZSCORE', KEYS[1], id)
      if beat and tonumber(beat) > cutoff and redis.call('SISMEMBER', KEYS[4], id) == 1 then return id end
    end
    start = '(' .. batch[#batch]
  end
end
local cursor = redis.call('GET', KEYS[3])
local pick = nil
if cursor then pick = first_alive('(' .. cursor) end
if not pick then pick = first_alive('-') end
if pick then redis.call('SET', KEYS[3], pick) end
return pick
`;
