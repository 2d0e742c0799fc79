//! Sessions shared by several replicas through Redis (feature `redis`):
//! [`RedisSessionStore`].
//!
//! Every replica builds its own store on the same Redis (and key prefix) and
//! gives it to its [`McpSessionLayer`](crate::McpSessionLayer). A session made
//! on one replica is then served by all of them, so a load balancer needs no
//! sticky routing. The rules are those of the
//! [`MokaSessionStore`](crate::session::MokaSessionStore), over all replicas:
//!
//! - **Expiry.** A session closes after `idle_timeout` without requests on any
//!   replica, or `max_lifetime` after creation. Its key (`{prefix}:s:<id>`)
//!   expires at its deadline, `min(last use + idle_timeout, created + max_lifetime)`, and a
//!   lookup moves that deadline forward inside a script that never passes the
//!   lifetime. The
//!   time is Redis's (`TIME`), so replica clocks do not matter. To keep
//!   lookups of a busy session read-only, the deadline is written only when it
//!   is short of a full idle timeout, and then set `slack` further
//!   (`min(idle_timeout / 10, 1 s)`): a session ends between `idle_timeout`
//!   and `idle_timeout + slack` after its last use, never earlier. While a request
//!   is in flight, or a handler retains the session's context (an SSE stream),
//!   on some replica, that replica refreshes the deadline every maintenance tick
//!   (at most a quarter of the idle timeout), so the session does not idle out;
//!   if the replica dies, the session idles out normally.
//! - **Limits**, global and per principal, are exact across replicas: one Lua
//!   script prunes expired entries and checks and takes the slot atomically.
//!   `initialize` requests in progress count (a reservation, released at once
//!   on failure and lapsing after `reservation_ttl` if a replica dies).
//!   Only [`LimitPolicy::Reject`](crate::session::LimitPolicy::Reject) is
//!   offered (429 at the limit).
//! - **Binding.** The principal is stored with the session; another
//!   principal's request on any replica gets 404. The resolver must give the
//!   same principal on every replica (your user id):
//!   [`Principal::authorization_hash`](crate::session::Principal::authorization_hash)
//!   is keyed per process and does not work across replicas. (The store
//!   cannot see the principal of a lookup, so a refused lookup by another
//!   principal still counts as use for the idle timer; the moka store does not
//!   count it.)
//! - **Close is seen everywhere.** Every script that closes a session (DELETE,
//!   a lookup or sweep that finds it expired) publishes `cause`, id, principal
//!   and creation time on `{prefix}:closed`. Each store keeps one subscription
//!   and runs its `on_closed` hook for every close, once per replica, with its
//!   own context of the session when it has one (so the SSE streams it serves
//!   end), else one rebuilt from the message. Expiry is found by a sweep every
//!   maintenance tick on every replica (no keyspace notifications and no
//!   `CONFIG SET` needed), so an expired session is announced at most one tick
//!   after its deadline, plus the pub/sub delay (sub-millisecond on a LAN). A
//!   replica whose subscription drops reconnects with backoff (100 ms to 5 s)
//!   and then checks every session it holds, closing those that ended meanwhile
//!   (cause from a 10-minute tombstone, else `Evicted`).
//! - **Near cache** (off by default, [`near_cache`](RedisSessionStoreBuilder::near_cache)):
//!   a session Redis confirmed live on this replica less than the TTL ago is
//!   served without a round trip. A close elsewhere is seen after the close
//!   notification arrives, and never later than the TTL: the staleness bound
//!   is `min(TTL, pub/sub delay)`. It is bypassed while the subscription is
//!   down, and an entry never outlives the session's deadline. Off, every
//!   lookup asks Redis and a close is seen by the next request.
//! - **Failures.** Every Redis call is bounded by [`timeout`](RedisSessionStoreBuilder::timeout)
//!   (500 ms); a call that fails or times out answers
//!   [`StoreError::Unavailable`](crate::session::StoreError::Unavailable), which
//!   the layer sends as 503 with `Retry-After` (1 s). The store logs one `warn`
//!   event when Redis becomes unavailable (with the reason) and one `info` when
//!   it answers again; the layer logs each 503. A session
//!   exists only once its commit script ran in Redis; if the commit fails or
//!   times out the client gets 503 and no id, and a cleanup is sent in the
//!   background. The connection manager reconnects by itself; no restart needed.
//! - **Stats.** `active` and `reserved` are global (as of this replica's last
//!   sweep, create or delete: at most one tick old); the other counters count
//!   what this replica did (created, closed by its scripts, refused), so their
//!   sums over replicas are the totals. Per-session [`state`](crate::session::SessionContext::state),
//!   the in-flight count and a protocol version updated after `initialize` are
//!   per replica: each replica keeps its own context of a session it serves,
//!   rebuilt from Redis on first use and forgotten after an idle timeout.
//! - **Shutdown** ([`RedisSessionStore::shutdown`]) is per replica: it closes
//!   this replica's contexts (hook cause `Shutdown`) and leaves the sessions
//!   in Redis for the other replicas.
//!
//! The scripts keep every key under one hash tag, `{prefix}`, but build
//! per-session key names inside the script: use a standalone Redis (with
//! replicas or Sentinel), not Redis Cluster. Use a `maxmemory-policy` of
//! `noeviction` or `volatile-*`; a session whose data Redis evicts is closed as
//! `Evicted` when next seen.
//!
//! | key | content |
//! |---|---|
//! | `{prefix}:live` | ZSET of committed session ids, scored by expiry deadline (ms) |
//! | `{prefix}:pending` | ZSET of reservations, scored by when they lapse |
//! | `{prefix}:idx` | HASH id → kind, creation, lifetime deadline, principal |
//! | `{prefix}:pcount` | HASH principal → sessions and reservations |
//! | `{prefix}:s:<id>` | HASH: the session (created, last seen, principal, version, client); expires at its deadline |
//! | `{prefix}:t:<id>` | tombstone: the close cause, 10 minutes |
//! | channel `{prefix}:closed` | `cause\ncreated_ms\nid\n+principal` per close |

mod builder;
mod codec;
mod config;
mod engine;
mod near_cache;
mod scripts;
mod store;
mod tasks;

pub use builder::RedisSessionStoreBuilder;
pub use config::RedisStoreError;
pub use store::RedisSessionStore;
