// Lua scripts for the shared limiters. Each returns { permits granted (0 = rejected), ms, ... } (see each script).
// They take the time from Redis (TIME), not from the replica, so replicas with skewed clocks agree on windows.
namespace Gateway.RateLimiting;

internal static class RateLimitScripts
{
    /// <summary>
    /// KEYS[1] counter; ARGV limit, window ms, wanted permits (default 1). The window starts with its first request and
    /// ends with the key's TTL. Returns { granted, ms (window left when granted, retry-after when not), permits left }.
    /// Grants at most 1/16 of what is left (at least 1), so near the limit every permit is taken one at a time and a
    /// replica's unused batch can never hold more than a sixteenth of the remainder back from the others.
    /// </summary>
    public const string FixedWindow = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local want = tonumber(ARGV[3] or '1')
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        local free = limit - count
        if free > 0 then
          local cap = math.floor(free / 16)
          if cap < 1 then cap = 1 end
          if want > cap then want = cap end
          if want < 1 then want = 1 end
          local ttl = window
          if redis.call('INCRBY', KEYS[1], want) == want then
            redis.call('PEXPIRE', KEYS[1], window)
          else
            ttl = redis.call('PTTL', KEYS[1])
            if ttl < 0 then
              redis.call('PEXPIRE', KEYS[1], window)
              ttl = window
            end
          end
          return {want, ttl, free - want}
        end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
          redis.call('PEXPIRE', KEYS[1], window)
          ttl = window
        end
        return {0, ttl, 0}
        """;

    /// <summary>KEYS[1] hash segment-index -> count; ARGV limit, window ms, segments. Counts the last N segments, like SlidingWindowRateLimiter.</summary>
    public const string SlidingWindow = """
        local limit = tonumber(ARGV[1])
        local window = tonumber(ARGV[2])
        local segments = tonumber(ARGV[3])
        local seg = math.floor(window / segments)
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local current = math.floor(now / seg)
        local oldest = current - segments + 1
        local fields = redis.call('HGETALL', KEYS[1])
        local total = 0
        local first = nil
        for i = 1, #fields, 2 do
          local index = tonumber(fields[i])
          if index < oldest then
            redis.call('HDEL', KEYS[1], fields[i])
          else
            local n = tonumber(fields[i + 1])
            total = total + n
            if n > 0 and (first == nil or index < first) then first = index end
          end
        end
        if total < limit then
          redis.call('HINCRBY', KEYS[1], current, 1)
          redis.call('PEXPIRE', KEYS[1], window + seg)
          return {1, 0}
        end
        local retry = seg
        if first ~= nil then retry = (first + segments) * seg - now end
        if retry < 1 then retry = 1 end
        return {0, retry}
        """;

    /// <summary>KEYS[1] hash {t: tokens, ts: last refill ms}; ARGV capacity, tokens per period, period ms.</summary>
    public const string TokenBucket = """
        local capacity = tonumber(ARGV[1])
        local per = tonumber(ARGV[2])
        local period = tonumber(ARGV[3])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 't', 'ts')
        local tokens = tonumber(state[1])
        local ts = tonumber(state[2])
        if tokens == nil or ts == nil then
          tokens = capacity
          ts = now
        end
        local periods = math.floor((now - ts) / period)
        if periods > 0 then
          tokens = tokens + periods * per
          ts = ts + periods * period
        end
        if tokens > capacity then tokens = capacity end
        local allowed = 0
        local retry = 0
        if tokens >= 1 then
          tokens = tokens - 1
          allowed = 1
        else
          retry = ts + period - now
          if retry < 1 then retry = 1 end
        end
        redis.call('HSET', KEYS[1], 't', tokens, 'ts', ts)
        redis.call('PEXPIRE', KEYS[1], (math.ceil(capacity / per) + 1) * period)
        return {allowed, retry}
        """;

    public static string For(RateLimitAlgorithm algorithm) => algorithm switch
    {
        RateLimitAlgorithm.SlidingWindow => SlidingWindow,
        RateLimitAlgorithm.TokenBucket => TokenBucket,
        _ => FixedWindow,
    };
}
