//! Helpers shared by the test modules (each module uses some of them).
#![allow(dead_code)]

pub(crate) mod guards;
pub(crate) mod inner;
#[cfg(feature = "redis")]
pub(crate) mod redis_server;
pub(crate) mod session;
pub(crate) mod sse;
