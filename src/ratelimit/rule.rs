//! A rate-limit rule: a GCRA quota on a key made of request facts the
//! earlier layers validated.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::{Quota, RateLimiter};
use std::net::IpAddr;

use http::request::Parts;

use super::store::{KeyStore, TokioClock};
use crate::envelope::{Envelope, Message, MessageKind};
use crate::error::ConfigError;
use crate::keyed::keyed_hasher;

/// What a request is charged under one rule: keys with their cells. The
/// first key is kept inline, so a single request allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Charges {
    first: Option<(u64, u32)>,
    rest: Vec<(u64, u32)>,
}

impl Charges {
    /// One more cell on `key`.
    fn add(&mut self, key: u64) {
        match &mut self.first {
            None => self.first = Some((key, 1)),
            Some((k, cells)) if *k == key => *cells = cells.saturating_add(1),
            Some(_) => match self.rest.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cells)) => *cells = cells.saturating_add(1),
                None => self.rest.push((key, 1)),
            },
        }
    }
}

impl IntoIterator for Charges {
    type Item = (u64, u32);
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<(u64, u32)>, std::vec::IntoIter<(u64, u32)>>;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// How a rule's keys are hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyHash {
    /// With this process's random key: keys nobody outside can aim at, for
    /// buckets kept in this process.
    Process,
    /// SipHash-2-4 with fixed keys, the same in every process and across
    /// restarts, for buckets shared through Redis (issue 26, finding 1: a
    /// per-process key gave each replica buckets of its own). The hashed
    /// parts are validated facts (verified principal, session id, address,
    /// method, name); finding another input with a given 64-bit hash, to
    /// share a victim's bucket, costs about 2^64 hashes.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // only the shared layer uses it
    Stable,
}

/// The hasher of a [`KeyHash`].
enum RuleHasher {
    Process(std::collections::hash_map::DefaultHasher),
    #[allow(deprecated)] // SipHasher is SipHash-2-4 by definition: a stable algorithm
    Stable(std::hash::SipHasher),
}

impl std::hash::Hasher for RuleHasher {
    fn write(&mut self, bytes: &[u8]) {
        match self {
            Self::Process(h) => h.write(bytes),
            Self::Stable(h) => h.write(bytes),
        }
    }

    fn finish(&self) -> u64 {
        match self {
            Self::Process(h) => h.finish(),
            Self::Stable(h) => h.finish(),
        }
    }
}

impl KeyHash {
    fn hasher(self) -> RuleHasher {
        match self {
            Self::Process => RuleHasher::Process(keyed_hasher()),
            // Fixed keys ("mcp-tower-guard" rate limits), never changed: a
            // change would reset every shared quota.
            #[allow(deprecated)]
            Self::Stable => RuleHasher::Stable(std::hash::SipHasher::new_with_keys(
                0x6d63_702d_746f_7765,
                0x722d_6775_6172_6421,
            )),
        }
    }
}

/// What a rule's key is made of; combine several (`[Principal, Method]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyPart {
    /// The verified principal: `McpAuthLayer`'s issuer and subject, else the
    /// session's principal. Requests without one share one key, so without
    /// an auth layer or a principal resolver a `Principal`-only rule is one
    /// global bucket for everybody: combine it with `ClientAddr`, or key by
    /// address.
    Principal,
    /// The legacy session (`Mcp-Session-Id`, as the session layer checked
    /// it). An `initialize` is keyed by the id minted for it, so each one
    /// gets a fresh quota: limit `initialize` by address or principal
    /// instead. Requests without a session (every 2026-07-28 request) share
    /// one key: combine `Session` with `ClientAddr` or `Principal`.
    Session,
    /// The client's IP address ([`PeerAddr`](crate::PeerAddr), or a bare
    /// `SocketAddr`, in the extensions).
    ClientAddr,
    /// The JSON-RPC method (`GET`/`DELETE` for requests without a body).
    Method,
    /// The tool, prompt or resource name of the message.
    Name,
}

/// One limit: a quota (rate and burst) per key, optionally only for one
/// method or one tool, prompt or resource.
///
/// ```
/// use std::num::NonZeroU32;
/// use mcp_tower_guard::ratelimit::{KeyPart, Quota, RateLimitRule};
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let n = |n| NonZeroU32::new(n).unwrap();
/// // 100 requests a second per user ...
/// let per_user = RateLimitRule::new("per-user", Quota::per_second(n(100)), [KeyPart::Principal])?;
/// // ... one deploy a minute per user ...
/// let deploys = RateLimitRule::new("deploy", Quota::per_minute(n(1)), [KeyPart::Principal])?
///     .method("tools/call")
///     .name("deploy");
/// // ... and 20 new sessions a minute per address.
/// let sessions = RateLimitRule::new("new-sessions", Quota::per_minute(n(20)), [KeyPart::ClientAddr])?
///     .method("initialize");
/// # let _ = (per_user, deploys, sessions);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RateLimitRule {
    pub(crate) name: Arc<str>,
    pub(crate) quota: Quota,
    parts: Vec<KeyPart>,
    method: Option<Box<str>>,
    name_filter: Option<Box<str>>,
    count_notifications: bool,
}

impl RateLimitRule {
    /// A rule named `name` (it appears in refusals, `RateLimit-Policy` and
    /// logs) allowing `quota` per key made of `parts`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for a name that is empty or not an
    /// HTTP token (it is quoted in response headers).
    pub fn new(
        name: &str,
        quota: Quota,
        parts: impl IntoIterator<Item = KeyPart>,
    ) -> Result<Self, ConfigError> {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        {
            return Err(ConfigError::InvalidSetting {
                setting: "rule name",
                reason: format!("{name:?}: use letters, digits, '-', '_', '.' or ':'"),
            });
        }
        let mut parts: Vec<KeyPart> = parts.into_iter().collect();
        parts.dedup();
        Ok(Self {
            name: name.into(),
            quota,
            parts,
            method: None,
            name_filter: None,
            count_notifications: false,
        })
    }

    /// A rule from its text form, as the demo's `--rate-limit` takes it:
    /// `NAME=COUNT/UNIT` (`s`, `m` or `h`; the burst is COUNT), then
    /// comma-separated options: `burst=N`,
    /// `by=principal+session+addr+method+name`, `method=M`, `name=N`,
    /// `notifications`.
    ///
    /// ```
    /// use mcp_tower_guard::ratelimit::RateLimitRule;
    ///
    /// let rule = RateLimitRule::parse("deploy=1/m,by=principal,method=tools/call,name=deploy").unwrap();
    /// assert_eq!(rule.rule_name(), "deploy");
    /// assert_eq!(rule.quota().burst_size().get(), 1);
    /// assert!(RateLimitRule::parse("x=0/s").is_err());
    /// assert!(RateLimitRule::parse("x=5/s,by=ip").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] naming what does not parse.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| {
            ConfigError::InvalidSetting {
            setting: "rate limit rule",
            reason: format!("{text:?}: {why} (NAME=COUNT/UNIT[,burst=N][,by=principal+session+addr+method+name][,method=M][,name=N][,notifications])"),
        }
        };
        let mut fields = text.split(',');
        let head = fields.next().unwrap_or_default();
        let (name, rate) = head.split_once('=').ok_or_else(|| bad("no NAME=RATE"))?;
        let (count, unit) = rate
            .split_once('/')
            .ok_or_else(|| bad("the rate is COUNT/UNIT"))?;
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(NonZeroU32::new)
            .ok_or_else(|| bad("COUNT is a positive integer"))?;
        let mut quota = match unit.trim() {
            "s" => Quota::per_second(count),
            "m" => Quota::per_minute(count),
            "h" => Quota::per_hour(count),
            _ => return Err(bad("UNIT is s, m or h")),
        };
        let mut parts = Vec::new();
        let (mut method, mut target, mut notifications) = (None, None, false);
        for field in fields {
            match field.trim().split_once('=') {
                Some(("burst", n)) => {
                    let n = n
                        .parse::<u32>()
                        .ok()
                        .and_then(NonZeroU32::new)
                        .ok_or_else(|| bad("burst is a positive integer"))?;
                    quota = quota.allow_burst(n);
                }
                Some(("by", list)) => {
                    for part in list.split('+') {
                        parts.push(match part {
                            "principal" => KeyPart::Principal,
                            "session" => KeyPart::Session,
                            "addr" => KeyPart::ClientAddr,
                            "method" => KeyPart::Method,
                            "name" => KeyPart::Name,
                            _ => {
                                return Err(bad("by= takes principal, session, addr, method, name"))
                            }
                        });
                    }
                }
                Some(("method", m)) if !m.is_empty() => method = Some(m),
                Some(("name", n)) if !n.is_empty() => target = Some(n),
                None if field.trim() == "notifications" => notifications = true,
                _ => return Err(bad("unknown option")),
            }
        }
        let mut rule = Self::new(name.trim(), quota, parts)?.count_notifications(notifications);
        if let Some(m) = method {
            rule = rule.method(m);
        }
        if let Some(n) = target {
            rule = rule.name(n);
        }
        Ok(rule)
    }

    /// Counts only messages of `method` (for example `tools/call` or `initialize`).
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Counts only messages naming `name` (`params.name` of a tool or
    /// prompt, `params.uri` of a resource).
    pub fn name(mut self, name: &str) -> Self {
        self.name_filter = Some(name.into());
        self
    }

    /// Whether notifications count (default `false`: only requests do).
    pub fn count_notifications(mut self, count: bool) -> Self {
        self.count_notifications = count;
        self
    }

    /// The rule's name.
    pub fn rule_name(&self) -> &str {
        &self.name
    }

    /// What the rule's key is made of.
    pub fn key_parts(&self) -> &[KeyPart] {
        &self.parts
    }

    /// The rule's quota.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Whether `message` counts under the rule.
    fn matches(&self, m: &Message) -> bool {
        let counted = match m.kind {
            MessageKind::Request => true,
            MessageKind::Notification => self.count_notifications,
            MessageKind::Response => false,
        };
        counted
            && self
                .method
                .as_deref()
                .is_none_or(|want| m.method.as_deref() == Some(want))
            && self
                .name_filter
                .as_deref()
                .is_none_or(|want| m.target() == Some(want))
    }

    /// What this request is charged under the rule: each key with its cells
    /// (none: the rule does not apply). A message of a batch is keyed
    /// exactly as the same message sent alone (issue 26, finding 2: a batch
    /// used to open a bucket of its own), and messages with one key share
    /// its cells. A request without a body takes one cell.
    pub(crate) fn charges(
        &self,
        index: usize,
        parts: &Parts,
        clients: &Clients,
        hash: KeyHash,
    ) -> Charges {
        let mut charges = Charges::default();
        // The session layer's own DELETE, telling the inner server of a
        // session the guard closed: no client's request, so no client's quota.
        #[cfg(feature = "session")]
        if parts
            .extensions
            .get::<crate::session::GuardClose>()
            .is_some()
        {
            return charges;
        }
        let Some(envelope) = parts.extensions.get::<Envelope>() else {
            let method = parts.method.as_str();
            if self.name_filter.is_none() && self.method.as_deref().is_none_or(|m| m == method) {
                charges.add(self.key(index, parts, clients, None, hash));
            }
            return charges;
        };
        for message in envelope.messages().iter().filter(|m| self.matches(m)) {
            charges.add(self.key(index, parts, clients, Some(message), hash));
        }
        charges
    }

    /// The key of `message` (or of the bodyless request) under the rule: a
    /// keyed hash of the rule's parts (so memory per key is fixed, and keys
    /// cannot be aimed at).
    fn key(
        &self,
        index: usize,
        parts: &Parts,
        clients: &Clients,
        message: Option<&Message>,
        hash: KeyHash,
    ) -> u64 {
        use std::hash::Hasher as _;
        let mut h = hash.hasher();
        // The rule's position, as a fixed-width integer (usize differs by platform).
        h.write_u64(index as u64);
        for part in &self.parts {
            // A separator per part, so ("ab", "c") and ("a", "bc") differ.
            h.write_u8(0xff);
            match part {
                KeyPart::Principal => principal(parts, &mut h),
                KeyPart::Session => session(parts, &mut h),
                KeyPart::ClientAddr => match client_addr(parts, &clients.proxies) {
                    Some(IpAddr::V4(ip)) => h.write(&ip.octets()),
                    // A host's /64 (by default) is one client.
                    Some(IpAddr::V6(ip)) => {
                        let keep = u32::from(clients.v6_prefix.min(128));
                        let mask = u128::MAX.checked_shl(128 - keep).unwrap_or(0);
                        h.write(&(u128::from(ip) & mask).to_be_bytes());
                        h.write_u8(clients.v6_prefix);
                    }
                    None => {}
                },
                KeyPart::Method => {
                    let method = message
                        .and_then(|m| m.method.as_deref())
                        .unwrap_or(parts.method.as_str());
                    h.write(method.as_bytes());
                }
                KeyPart::Name => {
                    let name = message.and_then(Message::target).unwrap_or_default();
                    h.write(name.as_bytes());
                }
            }
        }
        h.finish()
    }
}

/// The client's address: the peer, or, when the peer is one of `proxies`,
/// the address the closest proxy wrote last in `X-Forwarded-For` (the same
/// rule as `HostCheckLayer::trust_forwarded_host`: only named proxies, only
/// the value they appended). A missing or malformed value leaves the peer.
pub(crate) fn client_addr(parts: &Parts, proxies: &[IpAddr]) -> Option<IpAddr> {
    // `::ffff:a.b.c.d` (a dual-stack socket's view of an IPv4 peer) is
    // `a.b.c.d`, for the proxy check and the key alike.
    let peer = crate::PeerAddr::of(&parts.extensions)?.ip().to_canonical();
    if !proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| forwarded_ip(last.trim()));
    Some(forwarded.unwrap_or(peer))
}

/// An `X-Forwarded-For` element: an address, or an address with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:443`), which some proxies write.
fn forwarded_ip(value: &str) -> Option<IpAddr> {
    let ip = value
        .parse::<IpAddr>()
        .ok()
        .or_else(|| value.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))?;
    Some(ip.to_canonical())
}

/// Who a request's client is: the proxies whose `X-Forwarded-For` is read,
/// and how much of an IPv6 address keys a client.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub(crate) proxies: std::sync::Arc<[IpAddr]>,
    pub(crate) v6_prefix: u8,
}

impl Default for Clients {
    fn default() -> Self {
        Self {
            proxies: std::sync::Arc::from([]),
            v6_prefix: 64,
        }
    }
}

fn principal(parts: &Parts, h: &mut impl std::hash::Hasher) {
    #[cfg(feature = "auth")]
    if let Some(auth) = parts.extensions.get::<crate::auth::AuthContext>() {
        return h.write(auth.principal_id().as_bytes());
    }
    #[cfg(feature = "session")]
    if let Some(p) = parts
        .extensions
        .get::<crate::session::SessionContext>()
        .and_then(|s| s.principal())
    {
        return h.write(p.as_str().as_bytes());
    }
    let _ = (parts, h);
}

fn session(parts: &Parts, h: &mut impl std::hash::Hasher) {
    #[cfg(feature = "session")]
    if let Some(s) = parts.extensions.get::<crate::session::SessionContext>() {
        h.write(s.id().as_str().as_bytes());
    }
    let _ = (parts, h);
}

pub(crate) type Limiter = RateLimiter<u64, KeyStore, TokioClock, NoOpMiddleware<Nanos>>;

/// A rule with its limiter.
pub(crate) struct Armed {
    pub(crate) rule: RateLimitRule,
    pub(crate) limiter: Limiter,
    pub(crate) store: KeyStore,
    pub(crate) clock: TokioClock,
}

impl Armed {
    pub(crate) fn new(rule: RateLimitRule, max_keys: u64) -> Self {
        let clock = TokioClock::new();
        let store = KeyStore::new(max_keys, clock.clone());
        let limiter: Limiter = RateLimiter::new(rule.quota, store.clone(), clock.clone());
        Self {
            rule,
            limiter,
            store,
            clock,
        }
    }
}

pub(crate) fn nonzero(n: u32) -> Option<NonZeroU32> {
    NonZeroU32::new(n)
}
