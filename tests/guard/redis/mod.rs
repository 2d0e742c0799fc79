//! The Redis session store (feature `redis`).

#![cfg(feature = "redis")]

/// Two demo replicas sharing one Redis.
mod demo;
/// RedisRateLimits against a real redis-server (feature `ratelimit`).
mod ratelimit;
/// SessionOwner::Server: two rmcp replicas share one session record.
mod server_sessions;
/// RedisSessionStore against a real redis-server.
mod store;
