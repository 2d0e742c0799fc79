//! Keyed hashes with a random per-process key: short tags for logs (session
//! ids, principals, tokens) and map keys that an attacker cannot aim at. Never
//! a place a secret is kept.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// A short keyed hash of a session id, principal or token, printed as 8 hex
/// characters: enough to follow one through the logs, never enough to recover it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag(u32);

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The per-process key: a randomly seeded std hasher (SipHash-1-3 today).
fn process_key() -> &'static std::collections::hash_map::RandomState {
    static KEY: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    KEY.get_or_init(std::collections::hash_map::RandomState::new)
}

/// A hasher with the process key, for keys built from several parts
/// without first copying them into one buffer.
#[allow(dead_code)] // not every feature set builds keys this way
pub(crate) fn keyed_hasher() -> std::collections::hash_map::DefaultHasher {
    process_key().build_hasher()
}

/// 64 bits of a keyed hash of `bytes`, with a domain byte.
fn keyed_hash_domain(domain: u8, bytes: &[u8]) -> u64 {
    let mut h = process_key().build_hasher();
    h.write_u8(domain);
    h.write(bytes);
    h.finish()
}

/// A 64-bit keyed hash (for tags).
pub(crate) fn keyed_hash(bytes: &[u8]) -> u64 {
    keyed_hash_domain(0, bytes)
}

/// A 128-bit keyed hash (for principals): two domain-separated 64-bit outputs.
pub(crate) fn keyed_hash128(bytes: &[u8]) -> u128 {
    (u128::from(keyed_hash_domain(1, bytes)) << 64) | u128::from(keyed_hash_domain(2, bytes))
}

/// A tag for any byte string (principals in logs).
pub(crate) fn tag_of(bytes: &[u8]) -> Tag {
    Tag(keyed_hash(bytes) as u32)
}
