//! Helpers shared by the test modules (each module uses some of them).
#![allow(dead_code)]

#[cfg(feature = "auth")]
pub(crate) mod auth_server;
pub(crate) mod guards;
pub(crate) mod inner;
#[cfg(feature = "auth")]
pub(crate) mod keys;
#[cfg(feature = "redis")]
pub(crate) mod redis_server;
pub(crate) mod session;
pub(crate) mod sse;
