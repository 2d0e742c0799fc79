//! The Lua scripts that own every change to the shared session table, and the
//! parsing of their replies.
//!
//! Every script starts with the same prelude (key names, Redis server time,
//! helpers) and answers with the same header, so the store learns the global
//! counts and the sessions the script closed on its way:
//!
//! ```text
//! { status, closed idle, closed lifetime, closed evicted, ZCARD live, ZCARD pending, extra... }
//! ```
//!
//! (`get`, the hot path, answers -1 for both counts.)
//!
//! Keys (`{P}` is the configured prefix inside braces, a Redis Cluster hash tag):
//!
//! | key | type | content |
//! |---|---|---|
//! | `{P}:live` | ZSET | committed session ids, scored by their expiry deadline (ms, Redis clock) |
//! | `{P}:pending` | ZSET | reserved ids (`initialize` in progress), scored by when the reservation lapses |
//! | `{P}:idx` | HASH | id → `kind|created_ms|lifetime_deadline_ms|principal` (`kind` `r` or `s`; principal `+name` or empty) |
//! | `{P}:pcount` | HASH | principal → live + pending sessions of that principal |
//! | `{P}:s:<id>` | HASH | the session: `c` created, `l` lifetime deadline, `seen`, `p`, `v`, `ua`, `o`, `a`; `PEXPIREAT` = its deadline |
//! | `{P}:t:<id>` | STRING | tombstone: the close cause, kept 10 minutes |
//!
//! Channel `{P}:closed` carries `cause\ncreated_ms\nid\n+principal` (principal
//! part empty for anonymous sessions) for every session a script closes.

use ::redis::{Script, Value};

/// Shared by every script: names, the clock, closing and pruning.
///
/// `KEYS`: live, pending, idx, pcount. `ARGV[1]` key prefix (`{P}:`),
/// `ARGV[2]` channel, `ARGV[3]` tombstone lifetime in ms; the script's own
/// arguments start at `ARGV[4]`.
const PRELUDE: &str = r#"
local LIVE, PENDING, IDX, PCOUNT = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local PFX, CHAN, TOMB = ARGV[1], ARGV[2], ARGV[3]
local clock = redis.call('TIME')
local NOW = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local closed = { idle_expired = 0, lifetime_expired = 0, evicted = 0 }

local function meta_of(id)
  local m = redis.call('HGET', IDX, id)
  if not m then return nil end
  local kind, created, life, p = string.match(m, '^(%a)|(%d+)|(%d+)|(.*)$')
  if not kind then return nil end
  if p == '' then p = false else p = string.sub(p, 2) end
  return { kind = kind, created = created, life = tonumber(life), p = p }
end

local function praw_of(p)
  if p then return '+' .. p end
  return ''
end

local function uncount(p)
  if p and redis.call('HINCRBY', PCOUNT, p, -1) <= 0 then
    redis.call('HDEL', PCOUNT, p)
  end
end

local function close(id, m, cause)
  redis.call('ZREM', LIVE, id)
  redis.call('HDEL', IDX, id)
  redis.call('DEL', PFX .. 's:' .. id)
  uncount(m.p)
  redis.call('SET', PFX .. 't:' .. id, cause, 'PX', TOMB)
  redis.call('PUBLISH', CHAN, cause .. '\n' .. m.created .. '\n' .. id .. '\n' .. praw_of(m.p))
  if closed[cause] then closed[cause] = closed[cause] + 1 end
end

local function expiry_cause(m, deadline)
  if deadline >= m.life then return 'lifetime_expired' end
  return 'idle_expired'
end

local function deadline_of(id)
  return tonumber(redis.call('ZSCORE', LIVE, id) or '0')
end

local function prune()
  local due = redis.call('ZRANGEBYSCORE', LIVE, '-inf', NOW, 'WITHSCORES')
  for i = 1, #due, 2 do
    local id = due[i]
    local m = meta_of(id)
    if m then
      close(id, m, expiry_cause(m, tonumber(due[i + 1])))
    else
      redis.call('ZREM', LIVE, id)
    end
  end
  local lapsed = redis.call('ZRANGEBYSCORE', PENDING, '-inf', NOW)
  for _, id in ipairs(lapsed) do
    redis.call('ZREM', PENDING, id)
    local m = meta_of(id)
    if m and m.kind == 'r' then
      redis.call('HDEL', IDX, id)
      uncount(m.p)
    end
  end
end

-- Extends a live session to at least `idle` from now, never past its
-- lifetime. Writes only when the deadline is short of that, and then adds
-- `slack`, so a busy session is written at most once per `slack`.
-- Returns the deadline, or false when the session is gone (closing it if due).
local function refresh(id, m, idle, slack, key, present)
  local deadline = deadline_of(id)
  if deadline <= NOW then
    close(id, m, expiry_cause(m, deadline))
    return false
  end
  if not present and redis.call('EXISTS', key) == 0 then
    close(id, m, 'evicted')
    return false
  end
  if deadline >= math.min(NOW + idle, m.life) then return deadline end
  deadline = math.min(NOW + idle + slack, m.life)
  redis.call('ZADD', LIVE, 'XX', deadline, id)
  redis.call('PEXPIREAT', key, deadline)
  redis.call('HSET', key, 'seen', NOW)
  return deadline
end

local COUNTS = true
local function reply(status, ...)
  local live, pending = -1, -1
  if COUNTS then
    live, pending = redis.call('ZCARD', LIVE), redis.call('ZCARD', PENDING)
  end
  return { status, closed.idle_expired, closed.lifetime_expired, closed.evicted,
           live, pending, ... }
end
"#;

/// `ARGV[4]` id, `[5]` principal (`+name` or empty), `[6]` max sessions,
/// `[7]` max per principal (0: none), `[8]` reservation lifetime in ms.
/// Status: `ok`, `in_use`, `limit_principal`, `limit_global`.
const RESERVE: &str = r#"
local id, praw = ARGV[4], ARGV[5]
local max, max_pp, hold = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
prune()
if redis.call('HEXISTS', IDX, id) == 1 or redis.call('EXISTS', PFX .. 's:' .. id) == 1 then
  return reply('in_use')
end
local p = false
if praw ~= '' then p = string.sub(praw, 2) end
if p and max_pp > 0 and tonumber(redis.call('HGET', PCOUNT, p) or '0') >= max_pp then
  return reply('limit_principal')
end
if redis.call('ZCARD', LIVE) + redis.call('ZCARD', PENDING) >= max then
  return reply('limit_global')
end
redis.call('ZADD', PENDING, NOW + hold, id)
redis.call('HSET', IDX, id, 'r|' .. NOW .. '|0|' .. praw)
if p then redis.call('HINCRBY', PCOUNT, p, 1) end
return reply('ok')
"#;

/// `ARGV[4]` the reservation's id, `[5]` the session's id (the same, or the
/// one an inner server chose), `[6]` idle ms, `[7]` lifetime ms, `[8..]`
/// field/value pairs. Status: `ok` (extra: created ms), `gone` (the
/// reservation lapsed), `in_use` (the session's id is held; the slot is given
/// back).
const COMMIT: &str = r#"
local rid, id, idle, lifetime = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
prune()
local m = meta_of(rid)
if not m or m.kind ~= 'r' then return reply('gone') end
redis.call('ZREM', PENDING, rid)
if id ~= rid then
  redis.call('HDEL', IDX, rid)
  if redis.call('HEXISTS', IDX, id) == 1 or redis.call('EXISTS', PFX .. 's:' .. id) == 1 then
    uncount(m.p)
    return reply('in_use')
  end
end
local life = NOW + lifetime
local deadline = math.min(NOW + idle, life)
local key = PFX .. 's:' .. id
redis.call('DEL', key)
local fields = { 'c', NOW, 'l', life, 'seen', NOW }
if m.p then
  fields[#fields + 1] = 'p'
  fields[#fields + 1] = m.p
end
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', key, unpack(fields))
redis.call('PEXPIREAT', key, deadline)
redis.call('ZADD', LIVE, deadline, id)
redis.call('HSET', IDX, id, 's|' .. NOW .. '|' .. life .. '|' .. praw_of(m.p))
return reply('ok', NOW)
"#;

/// `ARGV[4]` id, `[5]` idle ms, `[6]` slack ms. Status: `ok` (extra: ms until
/// the deadline, the session hash as a flat array), `none` (extra: tombstone
/// cause or empty).
const GET: &str = r#"
local id, idle, slack = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
-- The hot path: no global counts (the maintenance sweep reports them).
COUNTS = false
local m = meta_of(id)
if not m or m.kind ~= 's' then
  return reply('none', redis.call('GET', PFX .. 't:' .. id) or '')
end
local key = PFX .. 's:' .. id
local fields = redis.call('HGETALL', key)
local deadline = refresh(id, m, idle, slack, key, #fields > 0)
if not deadline then
  return reply('none', redis.call('GET', PFX .. 't:' .. id) or '')
end
return reply('ok', deadline - NOW, fields)
"#;

/// `ARGV[4]` idle ms, `[5]` slack ms, `[6..]` ids. Status `ok` (extra: how
/// many are live).
const REFRESH: &str = r#"
local idle, slack = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = 0
for i = 6, #ARGV do
  local id = ARGV[i]
  local m = meta_of(id)
  if m and m.kind == 's' and refresh(id, m, idle, slack, PFX .. 's:' .. id) then n = n + 1 end
end
return reply('ok', n)
"#;

/// `ARGV[4]` id, `[5]` cause. Status `ok` (closed with that cause) or `none`.
const REMOVE: &str = r#"
local id = ARGV[4]
local m = meta_of(id)
if not m or m.kind ~= 's' then return reply('none') end
local deadline = deadline_of(id)
if deadline <= NOW then
  close(id, m, expiry_cause(m, deadline))
  return reply('none')
end
close(id, m, ARGV[5])
return reply('ok')
"#;

/// `ARGV[4]` id. Drops a reservation, or a session whose commit answer was
/// lost (nobody was given its id), without announcing it. Status `ok` or `none`.
const DISCARD: &str = r#"
local id = ARGV[4]
local m = meta_of(id)
if not m then return reply('none') end
redis.call('ZREM', PENDING, id)
redis.call('ZREM', LIVE, id)
redis.call('HDEL', IDX, id)
redis.call('DEL', PFX .. 's:' .. id)
uncount(m.p)
return reply('ok')
"#;

/// Closes every session past its deadline and lapsed reservations.
const SWEEP: &str = r#"
prune()
return reply('ok')
"#;

/// `ARGV[4..]` ids. Extra: one entry per id, empty when the session is live,
/// else its tombstone cause, or `?` when nothing is known.
const CHECK: &str = r#"
prune()
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local m = meta_of(id)
  if m and m.kind == 's' and deadline_of(id) > NOW then
    out[#out + 1] = ''
  else
    out[#out + 1] = redis.call('GET', PFX .. 't:' .. id) or '?'
  end
end
return reply('ok', out)
"#;

/// The compiled scripts (SHA1 computed once; `EVALSHA`, loading on `NOSCRIPT`).
pub(super) struct Scripts {
    pub(super) reserve: Script,
    pub(super) commit: Script,
    pub(super) get: Script,
    pub(super) refresh: Script,
    pub(super) remove: Script,
    pub(super) discard: Script,
    pub(super) sweep: Script,
    pub(super) check: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        let with_prelude = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Self {
            reserve: with_prelude(RESERVE),
            commit: with_prelude(COMMIT),
            get: with_prelude(GET),
            refresh: with_prelude(REFRESH),
            remove: with_prelude(REMOVE),
            discard: with_prelude(DISCARD),
            sweep: with_prelude(SWEEP),
            check: with_prelude(CHECK),
        }
    }

    pub(super) fn all(&self) -> [&Script; 8] {
        [
            &self.reserve,
            &self.commit,
            &self.get,
            &self.refresh,
            &self.remove,
            &self.discard,
            &self.sweep,
            &self.check,
        ]
    }
}

/// The common header of every script reply, and what follows it.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: String,
    /// Sessions the script closed for idleness, lifetime, or because their
    /// data had vanished (Redis eviction).
    pub(super) closed_idle: u64,
    pub(super) closed_lifetime: u64,
    pub(super) closed_evicted: u64,
    /// `ZCARD` of the live and pending sets after the script (`None` from `get`).
    pub(super) live: Option<u64>,
    pub(super) pending: Option<u64>,
    pub(super) extra: Vec<Value>,
}

impl Reply {
    /// Parses a script answer; `None` when it does not have the header shape.
    pub(super) fn parse(value: Value) -> Option<Self> {
        let Value::Array(items) = value else {
            return None;
        };
        let mut items = items.into_iter();
        let status = as_string(&items.next()?)?;
        let mut count = || as_u64(&items.next()?);
        let closed_idle = count()?;
        let closed_lifetime = count()?;
        let closed_evicted = count()?;
        let mut cardinality = || match items.next()? {
            Value::Int(n) if n < 0 => Some(None),
            value => as_u64(&value).map(Some),
        };
        let live = cardinality()?;
        let pending = cardinality()?;
        Some(Self {
            status,
            closed_idle,
            closed_lifetime,
            closed_evicted,
            live,
            pending,
            extra: items.collect(),
        })
    }
}

/// A bulk or simple string as UTF-8.
pub(super) fn as_string(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

/// The raw bytes of a bulk string.
pub(super) fn as_bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// An integer, or a string holding one.
pub(super) fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_header_parses_with_and_without_counts() {
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let r = Reply::parse(Value::Array(vec![
            b("ok"),
            Value::Int(1),
            Value::Int(2),
            Value::Int(0),
            Value::Int(7),
            Value::Int(3),
            b("extra"),
        ]))
        .unwrap();
        assert_eq!(r.status, "ok");
        assert_eq!(
            (r.closed_idle, r.closed_lifetime, r.closed_evicted),
            (1, 2, 0)
        );
        assert_eq!((r.live, r.pending), (Some(7), Some(3)));
        assert_eq!(r.extra.len(), 1);
        let r = Reply::parse(Value::Array(vec![
            b("none"),
            Value::Int(0),
            Value::Int(0),
            Value::Int(0),
            Value::Int(-1),
            Value::Int(-1),
        ]))
        .unwrap();
        assert_eq!((r.live, r.pending), (None, None));
        assert!(Reply::parse(Value::Array(vec![b("ok")])).is_none());
        assert!(Reply::parse(Value::Int(1)).is_none());
    }
}
