//! The Redis session store (feature `redis`).

#![cfg(feature = "redis")]

/// Two demo replicas sharing one Redis.
mod demo;
/// RedisSessionStore against a real redis-server.
mod store;
