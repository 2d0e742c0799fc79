//! MCP protocol revisions, the two eras, and the one function that decides a
//! request's era. No other place in the crate compares version strings.
//!
//! - **Legacy** (2024-11-05 to 2025-11-25): `initialize` handshake, `Mcp-Session-Id`,
//!   GET streams and DELETE.
//! - **Modern** (2026-07-28 and later): every POST carries its version in the
//!   `MCP-Protocol-Version` header and in `params._meta`; no sessions, no GET, no DELETE.
//!
//! ```
//! use mcp_tower_guard::protocol::{Era, ProtocolVersion};
//!
//! let v: ProtocolVersion = "2026-07-28".parse().unwrap();
//! assert_eq!(v, ProtocolVersion::V2026_07_28);
//! assert_eq!(v.era(), Era::Modern);
//! assert_eq!(ProtocolVersion::V2025_06_18.era(), Era::Legacy);
//! assert!("2025-6-18".parse::<ProtocolVersion>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method};

use crate::header_names::{MCP_METHOD, MCP_PROTOCOL_VERSION};
use crate::ConfigError;

/// A protocol revision identifier, `YYYY-MM-DD`. Ordered by date.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion {
    // yyyymmdd as a number: ordering and equality are integer compares.
    date: u32,
}

impl ProtocolVersion {
    /// The date as `yyyymmdd`, never 0: for keeping a version in an atomic.
    pub(crate) const fn to_bits(self) -> u32 {
        self.date
    }

    /// The revision as a `'static` label: a known revision's date, or
    /// `_OTHER` for a later one (metrics labels stay bounded).
    pub(crate) const fn label(self) -> &'static str {
        match self.date {
            20241105 => "2024-11-05",
            20250326 => "2025-03-26",
            20250618 => "2025-06-18",
            20251125 => "2025-11-25",
            20260728 => "2026-07-28",
            _ => "_OTHER",
        }
    }

    /// The inverse of [`to_bits`](Self::to_bits); 0 is no version.
    pub(crate) const fn from_bits(bits: u32) -> Option<Self> {
        if bits == 0 {
            None
        } else {
            Some(Self { date: bits })
        }
    }
}

/// Which generation of the transport a request speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Era {
    /// 2024-11-05 to 2025-11-25: sessions, GET streams, DELETE.
    Legacy,
    /// 2026-07-28 and later: stateless, POST only.
    Modern,
}

impl ProtocolVersion {
    /// 2024-11-05, the first revision (HTTP+SSE transport).
    pub const V2024_11_05: Self = Self { date: 20241105 };
    /// 2025-03-26: Streamable HTTP, sessions, JSON-RPC batches.
    pub const V2025_03_26: Self = Self { date: 20250326 };
    /// 2025-06-18: `MCP-Protocol-Version` header, batches removed.
    pub const V2025_06_18: Self = Self { date: 20250618 };
    /// 2025-11-25: 403 for a present, invalid Origin; SSE priming events.
    pub const V2025_11_25: Self = Self { date: 20251125 };
    /// 2026-07-28: sessions removed, every request self-describing (SEP-2567, SEP-2575, SEP-2243).
    pub const V2026_07_28: Self = Self { date: 20260728 };

    /// The version a legacy request without the header is assumed to speak (spec 2025-06-18 and later).
    pub const LEGACY_DEFAULT: Self = Self::V2025_03_26;

    /// The first revision of the modern era.
    pub const FIRST_MODERN: Self = Self::V2026_07_28;

    /// Every revision this crate knows, oldest first.
    pub const KNOWN: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];

    /// Parses `YYYY-MM-DD` from raw bytes (a header value), strictly: ten ASCII
    /// characters, digits and two dashes, month 01-12, day 01-31.
    pub fn parse_bytes(bytes: &[u8]) -> Option<Self> {
        let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *bytes else {
            return None;
        };
        let mut date = 0u32;
        for c in [y1, y2, y3, y4, m1, m2, d1, d2] {
            if !c.is_ascii_digit() {
                return None;
            }
            date = date * 10 + u32::from(c - b'0');
        }
        let month = date / 100 % 100;
        let day = date % 100;
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        Some(Self { date })
    }

    /// The era this revision belongs to.
    pub const fn era(self) -> Era {
        if self.date >= Self::FIRST_MODERN.date {
            Era::Modern
        } else {
            Era::Legacy
        }
    }

    /// True for revisions that allow JSON-RPC batches in a POST body (2025-03-26 and earlier).
    pub const fn allows_batch(self) -> bool {
        self.date <= Self::V2025_03_26.date
    }

    /// True when this revision removed `method`, which an earlier one defined.
    ///
    /// 2026-07-28 removed the `initialize` handshake (`initialize`,
    /// `notifications/initialized`), `ping`, `logging/setLevel`,
    /// `notifications/roots/list_changed`, `resources/subscribe` and
    /// `resources/unsubscribe` (replaced by `subscriptions/listen`), and moved
    /// tasks into an extension without `tasks/list` and `tasks/result`
    /// (changelog, major changes 2, 4, 5 and 6).
    ///
    /// ```
    /// use mcp_tower_guard::protocol::ProtocolVersion;
    ///
    /// assert!(ProtocolVersion::V2026_07_28.removed_method("ping"));
    /// assert!(!ProtocolVersion::V2025_11_25.removed_method("ping"));
    /// assert!(!ProtocolVersion::V2026_07_28.removed_method("tools/call"));
    /// ```
    pub fn removed_method(self, method: &str) -> bool {
        self.era() == Era::Modern && REMOVED_IN_2026_07_28.contains(&method)
    }

    /// The version as a header value (no allocation for the known revisions).
    pub fn to_header_value(self) -> HeaderValue {
        match self {
            Self::V2024_11_05 => HeaderValue::from_static("2024-11-05"),
            Self::V2025_03_26 => HeaderValue::from_static("2025-03-26"),
            Self::V2025_06_18 => HeaderValue::from_static("2025-06-18"),
            Self::V2025_11_25 => HeaderValue::from_static("2025-11-25"),
            Self::V2026_07_28 => HeaderValue::from_static("2026-07-28"),
            // Ten ASCII characters: always a valid header value.
            other => {
                HeaderValue::from_str(&other.to_string()).unwrap_or(HeaderValue::from_static(""))
            }
        }
    }
}

/// Methods 2026-07-28 removed (see [`ProtocolVersion::removed_method`]).
const REMOVED_IN_2026_07_28: [&str; 9] = [
    "initialize",
    "notifications/initialized",
    "ping",
    "logging/setLevel",
    "notifications/roots/list_changed",
    "resources/subscribe",
    "resources/unsubscribe",
    "tasks/list",
    "tasks/result",
];

impl FromStr for ProtocolVersion {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(s.as_bytes()).ok_or_else(|| ConfigError::InvalidProtocolVersion {
            entry: s.to_owned(),
            reason: "expected a revision in YYYY-MM-DD form".to_owned(),
        })
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.date;
        write!(f, "{:04}-{:02}-{:02}", d / 10000, d / 100 % 100, d % 100)
    }
}

impl fmt::Debug for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolVersion({self})")
    }
}

impl serde::Serialize for ProtocolVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The set of revisions a server accepts. Cloning is an `Arc` clone.
///
/// ```
/// use mcp_tower_guard::protocol::{ProtocolVersion, SupportedVersions};
///
/// let all = SupportedVersions::default();
/// assert!(all.contains(ProtocolVersion::V2024_11_05));
/// let modern_only = SupportedVersions::new(["2026-07-28"]).unwrap();
/// assert!(!modern_only.contains(ProtocolVersion::V2025_11_25));
/// assert!(SupportedVersions::new(["latest"]).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SupportedVersions(Arc<[ProtocolVersion]>);

impl SupportedVersions {
    /// Builds the set from revision strings; an empty or malformed list is an error.
    pub fn new<I, S>(versions: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = versions
            .into_iter()
            .map(|v| v.as_ref().parse())
            .collect::<Result<Vec<ProtocolVersion>, _>>()?;
        if list.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "supported_versions",
                reason: "at least one protocol version is required".to_owned(),
            });
        }
        list.sort_unstable();
        list.dedup();
        Ok(Self(list.into()))
    }

    /// True when `version` is accepted.
    pub fn contains(&self, version: ProtocolVersion) -> bool {
        self.0.contains(&version)
    }

    /// The accepted revisions, oldest first.
    pub fn as_slice(&self) -> &[ProtocolVersion] {
        &self.0
    }

    /// The newest accepted revision.
    pub fn latest(&self) -> ProtocolVersion {
        // The constructor guarantees at least one entry.
        self.0
            .last()
            .copied()
            .unwrap_or(ProtocolVersion::FIRST_MODERN)
    }

    /// True when any accepted revision is of `era`.
    pub fn has_era(&self, era: Era) -> bool {
        self.0.iter().any(|v| v.era() == era)
    }

    /// The list as strings, for error messages and `error.data.supported`.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl SupportedVersions {
    /// Every known revision, shared: what a layer without its own setting
    /// serves (the session layer alone).
    pub(crate) fn every_known() -> &'static Self {
        static EVERY: std::sync::OnceLock<SupportedVersions> = std::sync::OnceLock::new();
        EVERY.get_or_init(Self::default)
    }
}

impl Default for SupportedVersions {
    /// Every known revision: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28.
    fn default() -> Self {
        Self(Arc::new(ProtocolVersion::KNOWN))
    }
}

impl fmt::Debug for SupportedVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

/// What the `MCP-Protocol-Version` header of a request says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum VersionHeader<'a> {
    /// No header.
    Absent,
    /// One header holding a well-formed revision.
    Valid(ProtocolVersion),
    /// A malformed value, or the header repeated (the raw first value, for messages).
    Invalid(&'a [u8]),
}

impl<'a> VersionHeader<'a> {
    /// Reads the header from `headers`.
    pub(crate) fn read(headers: &'a HeaderMap) -> Self {
        let mut values = headers.get_all(MCP_PROTOCOL_VERSION).iter();
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(v), None) => match ProtocolVersion::parse_bytes(v.as_bytes()) {
                Some(version) => Self::Valid(version),
                None => Self::Invalid(v.as_bytes()),
            },
            (Some(v), Some(_)) => Self::Invalid(v.as_bytes()),
        }
    }
}

/// Where a request's protocol version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VersionSource {
    /// The request's `MCP-Protocol-Version` header.
    Header,
    /// The `protocolVersion` an `initialize` without the header asks for.
    Initialize,
    /// No header: the version the request's session negotiated.
    Negotiated,
    /// The header named another supported revision than the one the
    /// request's session negotiated; the session's version rules.
    NegotiatedOverHeader,
    /// No header and nothing else to go by: 2025-03-26, as the spec says.
    Assumed,
}

/// The protocol version and era accepted for a request, put in the request
/// extensions once by [`McpHeadersLayer`](crate::McpHeadersLayer) (or by the
/// session layer when it runs alone); later layers read it instead of the
/// header. The session layer refines an [`Assumed`](VersionSource::Assumed)
/// version to the one its session [`Negotiated`](VersionSource::Negotiated).
///
/// ```
/// use mcp_tower_guard::protocol::{Era, ProtocolVersion, RequestProtocol, VersionSource};
///
/// let p = RequestProtocol::new(ProtocolVersion::V2025_11_25, Era::Legacy, VersionSource::Header);
/// assert_eq!((p.version(), p.era(), p.assumed()), (ProtocolVersion::V2025_11_25, Era::Legacy, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestProtocol {
    version: ProtocolVersion,
    era: Era,
    source: VersionSource,
}

impl RequestProtocol {
    /// A request speaking `version` of `era`, known from `source`.
    pub const fn new(version: ProtocolVersion, era: Era, source: VersionSource) -> Self {
        Self {
            version,
            era,
            source,
        }
    }

    /// The revision the request speaks.
    pub const fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// Its era.
    pub const fn era(&self) -> Era {
        self.era
    }

    /// Where the version came from.
    pub const fn source(&self) -> VersionSource {
        self.source
    }

    /// True when the request sent no version (it was assumed, or taken from
    /// its session).
    pub const fn assumed(&self) -> bool {
        matches!(
            self.source,
            VersionSource::Assumed | VersionSource::Negotiated
        )
    }

    /// The same request, judged under the version its session negotiated.
    pub(crate) fn negotiated(self, version: ProtocolVersion) -> Self {
        Self {
            version,
            source: VersionSource::Negotiated,
            ..self
        }
    }

    /// The same request, whose header named `self`'s version, judged under
    /// the version its session negotiated.
    pub(crate) fn over_header(self, version: ProtocolVersion) -> Self {
        Self {
            version,
            source: VersionSource::NegotiatedOverHeader,
            ..self
        }
    }
}

/// Decides which era a request belongs to, from its method, its
/// `MCP-Protocol-Version` header and (for POST) whether its body's `params._meta`
/// names a protocol version
/// ([`Envelope::has_meta_protocol_version`](crate::envelope::Envelope::has_meta_protocol_version);
/// `false` when the body is not read).
///
/// - A header naming a revision this crate knows decides by that revision.
/// - Otherwise (no header, a malformed one, or a date this crate does not know)
///   a POST shaped as 2026-07-28 is modern: its body's `_meta` carries
///   `io.modelcontextprotocol/protocolVersion` (of any value), or it sends
///   `Mcp-Method`. It then fails the modern header checks with the modern
///   error (-32020 for a missing header, -32022 for an unknown version), which
///   is what a modern client can act on.
/// - A header with a date after the last known revision is modern (a newer
///   revision is stateless too).
/// - Everything else (an `initialize`, a legacy client that omits the header,
///   GET, DELETE) is legacy.
pub(crate) fn request_era(method: &Method, headers: &HeaderMap, meta_version: bool) -> Era {
    era_with(VersionHeader::read(headers), method, headers, meta_version)
}

/// [`request_era`] with the version header already read: the layers read it
/// once per request and pass it on.
pub(crate) fn era_with(
    header: VersionHeader<'_>,
    method: &Method,
    headers: &HeaderMap,
    meta_version: bool,
) -> Era {
    match header {
        VersionHeader::Valid(v) if ProtocolVersion::KNOWN.contains(&v) => return v.era(),
        VersionHeader::Valid(v) if v > ProtocolVersion::FIRST_MODERN => return Era::Modern,
        _ => {}
    }
    let modern_shape = method == Method::POST && (meta_version || headers.contains_key(MCP_METHOD));
    if modern_shape {
        Era::Modern
    } else {
        Era::Legacy
    }
}

/// How a legacy-era request's revision resolves: the one rule the headers
/// layer and the session layer (when it runs alone) both apply.
#[derive(Debug)]
pub(crate) enum LegacyVersion {
    /// Served under this protocol.
    Served(RequestProtocol),
    /// "If the server receives a request with an invalid or unsupported
    /// MCP-Protocol-Version, it MUST respond with 400 Bad Request": the value
    /// as sent (lossy for bytes that are not text).
    Unsupported(String),
    /// No header, and no legacy revision is served: 2026-07-28 says "a
    /// server that does not support such clients MUST reject a request
    /// without the header".
    Missing,
}

/// Resolves a legacy-era request from one read of its version header.
/// Without the header, 2025-06-18 and later say "the server SHOULD assume
/// protocol version 2025-03-26"; an `initialize` that asks for a supported
/// revision (`requested`, its `params.protocolVersion`) speaks that one.
pub(crate) fn resolve_legacy(
    header: VersionHeader<'_>,
    supported: &SupportedVersions,
    requested: Option<ProtocolVersion>,
) -> LegacyVersion {
    match header {
        VersionHeader::Valid(version) if supported.contains(version) => LegacyVersion::Served(
            RequestProtocol::new(version, version.era(), VersionSource::Header),
        ),
        VersionHeader::Valid(version) => LegacyVersion::Unsupported(version.to_string()),
        VersionHeader::Invalid(raw) => {
            LegacyVersion::Unsupported(String::from_utf8_lossy(raw).into_owned())
        }
        VersionHeader::Absent if supported.has_era(Era::Legacy) => {
            LegacyVersion::Served(match requested.filter(|v| supported.contains(*v)) {
                Some(version) => {
                    RequestProtocol::new(version, Era::Legacy, VersionSource::Initialize)
                }
                None => RequestProtocol::new(
                    ProtocolVersion::LEGACY_DEFAULT,
                    Era::Legacy,
                    VersionSource::Assumed,
                ),
            })
        }
        VersionHeader::Absent => LegacyVersion::Missing,
    }
}

/// The fuzz oracle of the version header (the `protocol_version` target):
/// the reader agrees with the parser, the era follows the version, and two
/// header lines are invalid.
#[cfg(any(test, fuzzing))]
pub(crate) fn version_header_oracle(data: &[u8]) {
    let parsed = ProtocolVersion::parse_bytes(data);
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut h = HeaderMap::new();
    h.insert("mcp-protocol-version", value.clone());
    match (VersionHeader::read(&h), parsed) {
        (VersionHeader::Valid(a), Some(b)) => assert_eq!(a, b),
        (VersionHeader::Invalid(raw), None) => assert_eq!(raw, data),
        (other, p) => panic!("header {other:?} vs parse {p:?}"),
    }
    for method in [Method::GET, Method::POST, Method::DELETE] {
        let era = request_era(&method, &h, false);
        assert_eq!(era, parsed.map_or(Era::Legacy, ProtocolVersion::era));
    }
    h.append("mcp-protocol-version", value);
    assert!(matches!(VersionHeader::read(&h), VersionHeader::Invalid(_)));
    assert_eq!(request_era(&Method::POST, &h, false), Era::Legacy);
}

#[cfg(test)]
mod tests;
