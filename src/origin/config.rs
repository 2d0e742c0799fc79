//! The origin allowlist and the pure decision made for each request.

use std::sync::Arc;

use http::{header, HeaderMap, HeaderValue};

use super::parse::{parse_origin, Origin, OriginPattern};
use crate::{ConfigError, Rejection, RejectionKind};

/// The origins an [`OriginGuardLayer`](super::OriginGuardLayer) accepts.
///
/// Read it with [`OriginGuardLayer::allowed_origins`](super::OriginGuardLayer::allowed_origins)
/// to answer "is this `Origin` allowed?" elsewhere, for example in a CORS
/// layer, with exactly the guard's rules. Cloning is an [`Arc`] clone.
///
/// ```
/// use http::HeaderValue;
/// use mcp_tower_guard::OriginGuardLayer;
///
/// let guard = OriginGuardLayer::new(["https://app.example.com", "https://*.example.org"])?;
/// let list = guard.allowed_origins();
/// assert!(list.matches(&HeaderValue::from_static("https://app.example.com")));
/// assert!(list.matches(&HeaderValue::from_static("https://APP.example.com:443")));
/// assert!(list.matches(&HeaderValue::from_static("https://a.example.org")));
/// assert!(!list.matches(&HeaderValue::from_static("https://example.org")));
/// assert!(!list.matches(&HeaderValue::from_static("null")));
/// assert!(!list.matches(&HeaderValue::from_static("https://app.example.com/")));
/// # Ok::<(), mcp_tower_guard::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct OriginList {
    patterns: Arc<Vec<OriginPattern>>,
    allow_null: bool,
}

impl OriginList {
    pub(crate) fn empty() -> Self {
        Self {
            patterns: Arc::new(Vec::new()),
            allow_null: false,
        }
    }

    /// Adds an entry; `null` turns on the opaque origin.
    pub(crate) fn push(&mut self, entry: &str) -> Result<(), ConfigError> {
        if entry.trim() == "null" {
            self.allow_null = true;
            return Ok(());
        }
        let pattern = OriginPattern::parse(entry).map_err(|reason| ConfigError::InvalidOrigin {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        })?;
        if !self.patterns.contains(&pattern) {
            Arc::make_mut(&mut self.patterns).push(pattern);
        }
        Ok(())
    }

    pub(crate) fn set_allow_null(&mut self, allow: bool) {
        self.allow_null = allow;
    }

    /// True if `origin` (an `Origin` header value) is allowed: a well-formed
    /// origin matching an entry, or `null` when the opaque origin is allowed.
    /// Malformed values are never allowed.
    pub fn matches(&self, origin: &HeaderValue) -> bool {
        self.decide(origin.as_bytes()).is_ok()
    }

    /// Whether `Origin: null` is allowed.
    pub fn allows_null(&self) -> bool {
        self.allow_null
    }

    /// The number of entries (not counting `null`).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// True if there are no entries; only an absent `Origin` (and `null`, if
    /// allowed) passes then.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The entries, normalised (`https://example.com`, `http://localhost:*`).
    pub fn iter(&self) -> impl Iterator<Item = String> + '_ {
        self.patterns.iter().map(ToString::to_string)
    }

    /// The decision for one `Origin` value.
    pub(crate) fn decide(&self, value: &[u8]) -> Result<(), Rejection> {
        match parse_origin(value) {
            Err(reason) => Err(Rejection::new(
                RejectionKind::MalformedOrigin,
                format!("invalid Origin header: {reason}"),
            )),
            Ok(Origin::Null) if self.allow_null => Ok(()),
            Ok(Origin::Null) => Err(Rejection::new(
                RejectionKind::NullOrigin,
                "Origin null is not allowed",
            )),
            Ok(Origin::Tuple(origin)) => {
                if self.patterns.iter().any(|p| p.matches(&origin)) {
                    Ok(())
                } else {
                    Err(Rejection::new(
                        RejectionKind::OriginNotAllowed,
                        format!("Origin not allowed: {origin}"),
                    ))
                }
            }
        }
    }
}

/// The default localhost entries.
pub(crate) const LOCALHOST: [&str; 6] = [
    "http://localhost:*",
    "https://localhost:*",
    "http://127.0.0.1:*",
    "https://127.0.0.1:*",
    "http://[::1]:*",
    "https://[::1]:*",
];

/// The Origin rules of an [`OriginGuardLayer`](super::OriginGuardLayer):
/// shared and immutable, built by the layer. Named only as a parameter of
/// [`Gate`](crate::gate::Gate).
#[derive(Clone, Debug)]
pub struct OriginConfig {
    pub(crate) list: OriginList,
    pub(crate) require_origin: bool,
    pub(crate) report_only: bool,
    pub(crate) fetch_metadata: bool,
    pub(crate) allow_same_site: bool,
    /// [`admit_bearer_clients`](super::OriginGuardLayer::admit_bearer_clients).
    pub(crate) bearer_clients: bool,
    pub(crate) order_warned: crate::order::WarnOnce,
}

/// What the Origin layer decided.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// Passed.
    Pass,
    /// An unlisted `Origin` on a bearer-only request: passed on for the auth
    /// layer to decide (the origin, for its message).
    #[cfg_attr(not(feature = "auth"), allow(dead_code))]
    Deferred(Box<str>),
}

/// `Sec-Fetch-Site` (Fetch Metadata): what a browser says about where a request comes from.
const SEC_FETCH_SITE: http::HeaderName = http::HeaderName::from_static("sec-fetch-site");

impl OriginConfig {
    pub(crate) fn new(list: OriginList) -> Self {
        Self {
            list,
            require_origin: false,
            report_only: false,
            fetch_metadata: true,
            allow_same_site: true,
            bearer_clients: false,
            order_warned: crate::order::WarnOnce::default(),
        }
    }

    /// Without an `Origin`, a browser's `Sec-Fetch-Site` still tells a
    /// cross-site request apart (as Go's `net/http.CrossOriginProtection`
    /// does). Clients that are not browsers send neither header and pass.
    fn check_fetch_site(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        if !self.fetch_metadata {
            return Ok(());
        }
        let mut values = headers.get_all(SEC_FETCH_SITE).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Ok(()),
            (Some(v), None) => v.as_bytes(),
            (Some(_), Some(_)) => b"" as &[u8],
        };
        match value {
            b"same-origin" | b"none" => Ok(()),
            b"same-site" if self.allow_same_site => Ok(()),
            b"same-site" | b"cross-site" => Err(Rejection::new(
                RejectionKind::CrossSiteRequest,
                format!(
                    "Sec-Fetch-Site: {} request without an Origin",
                    String::from_utf8_lossy(value)
                ),
            )),
            // Browsers send one of four tokens; anything else is refused, not guessed.
            _ => Err(Rejection::new(
                RejectionKind::CrossSiteRequest,
                "malformed or repeated Sec-Fetch-Site header",
            )),
        }
    }

    /// The pure decision: `Ok` lets the request through.
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        self.verdict(headers).map(|_| ())
    }

    /// The decision, telling a pass from a deferral to the auth layer.
    pub(crate) fn verdict(&self, headers: &HeaderMap) -> Result<Verdict, Rejection> {
        let mut values = headers.get_all(header::ORIGIN).iter();
        match (values.next(), values.next()) {
            (None, _) if self.require_origin => Err(Rejection::new(
                RejectionKind::MissingOrigin,
                "missing Origin header",
            )),
            (None, _) => self.check_fetch_site(headers).map(|()| Verdict::Pass),
            (Some(_), Some(_)) => Err(Rejection::new(
                RejectionKind::MalformedOrigin,
                "more than one Origin header",
            )),
            (Some(value), None) => match self.list.decide(value.as_bytes()) {
                Ok(()) => Ok(Verdict::Pass),
                // A well-formed origin that is not listed, on a request whose
                // only credential is a bearer token: the auth layer decides.
                #[cfg(feature = "auth")]
                Err(rejection)
                    if self.bearer_clients
                        && rejection.kind() == RejectionKind::OriginNotAllowed
                        && crate::deferred_origin::bearer_only(headers) =>
                {
                    Ok(Verdict::Deferred(
                        String::from_utf8_lossy(value.as_bytes()).into(),
                    ))
                }
                Err(rejection) => Err(rejection),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn config(entries: &[&str]) -> OriginConfig {
        let mut list = OriginList::empty();
        for e in entries {
            list.push(e).unwrap();
        }
        OriginConfig::new(list)
    }

    fn status(c: &OriginConfig, origins: &[&[u8]]) -> (StatusCode, Option<RejectionKind>) {
        let mut h = HeaderMap::new();
        for o in origins {
            h.append(header::ORIGIN, HeaderValue::from_bytes(o).unwrap());
        }
        match c.check(&h) {
            Ok(()) => (StatusCode::OK, None),
            Err(r) => (r.status(), Some(r.kind())),
        }
    }

    fn fetch(
        c: &OriginConfig,
        origin: Option<&str>,
        site: &[&str],
    ) -> (StatusCode, Option<RejectionKind>) {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        for s in site {
            h.append(SEC_FETCH_SITE, HeaderValue::from_str(s).unwrap());
        }
        match c.check(&h) {
            Ok(()) => (StatusCode::OK, None),
            Err(r) => (r.status(), Some(r.kind())),
        }
    }

    #[test]
    fn fetch_metadata_refuses_cross_site_without_origin() {
        let refused = (StatusCode::FORBIDDEN, Some(RejectionKind::CrossSiteRequest));
        let mut c = config(&LOCALHOST);
        for (site, want) in [
            (&["cross-site"][..], refused),
            (&["same-origin"], (StatusCode::OK, None)),
            (&["same-site"], (StatusCode::OK, None)),
            (&["none"], (StatusCode::OK, None)),
            // Neither header: a CLI or desktop client.
            (&[], (StatusCode::OK, None)),
            (&["Cross-Site"], refused),
            (&["bogus"], refused),
            (&[""], refused),
            (&["same-origin", "same-origin"], refused),
        ] {
            assert_eq!(fetch(&c, None, site), want, "{site:?}");
        }
        // When Origin is present, the allowlist decides.
        assert_eq!(
            fetch(&c, Some("http://localhost:3000"), &["cross-site"]),
            (StatusCode::OK, None)
        );
        assert_eq!(
            fetch(&c, Some("https://evil.example"), &["same-origin"]),
            (StatusCode::FORBIDDEN, Some(RejectionKind::OriginNotAllowed))
        );
        c.allow_same_site = false;
        assert_eq!(fetch(&c, None, &["same-site"]), refused);
        c.fetch_metadata = false;
        assert_eq!(fetch(&c, None, &["cross-site"]), (StatusCode::OK, None));
    }

    #[test]
    fn spec_2025_11_25_absent_origin_passes_by_default() {
        let c = config(&LOCALHOST);
        assert_eq!(status(&c, &[]), (StatusCode::OK, None));
    }

    #[test]
    fn require_origin_refuses_absent_origin_with_403() {
        let mut c = config(&LOCALHOST);
        c.require_origin = true;
        assert_eq!(
            status(&c, &[]),
            (StatusCode::FORBIDDEN, Some(RejectionKind::MissingOrigin))
        );
    }

    #[test]
    fn localhost_preset_table() {
        let c = config(&LOCALHOST);
        let rows: &[(&[u8], StatusCode, Option<RejectionKind>)] = &[
            (b"http://localhost:3000", StatusCode::OK, None),
            (b"https://localhost:3000", StatusCode::OK, None),
            (b"http://localhost", StatusCode::OK, None),
            (b"http://127.0.0.1:5173", StatusCode::OK, None),
            (b"http://[::1]:5173", StatusCode::OK, None),
            (b"https://[0:0:0:0:0:0:0:1]", StatusCode::OK, None),
            (
                b"http://evil.com",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::OriginNotAllowed),
            ),
            (
                b"http://localhost.evil.example.com",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::OriginNotAllowed),
            ),
            (
                b"ws://localhost:3000",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::OriginNotAllowed),
            ),
            (
                b"null",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::NullOrigin),
            ),
            (
                b"http://localhost:3000.evil.com",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::MalformedOrigin),
            ),
            (
                b"http://user@localhost",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::MalformedOrigin),
            ),
            (
                b"http://localhost:3000/",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::MalformedOrigin),
            ),
            (
                b"",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::MalformedOrigin),
            ),
            (
                b"\xff",
                StatusCode::FORBIDDEN,
                Some(RejectionKind::MalformedOrigin),
            ),
        ];
        for (origin, code, kind) in rows {
            assert_eq!(
                status(&c, &[origin]),
                (*code, *kind),
                "Origin {:?}",
                String::from_utf8_lossy(origin)
            );
        }
    }

    #[test]
    fn two_origin_headers_are_malformed() {
        let c = config(&LOCALHOST);
        assert_eq!(
            status(&c, &[b"http://localhost:1", b"http://localhost:1"]),
            (StatusCode::FORBIDDEN, Some(RejectionKind::MalformedOrigin))
        );
    }

    #[test]
    fn null_is_allowed_when_listed_or_enabled() {
        let c = config(&["null"]);
        assert_eq!(status(&c, &[b"null"]), (StatusCode::OK, None));
        assert!(c.list.allows_null());
        assert!(c.list.is_empty());
        let mut c = config(&[]);
        c.list.set_allow_null(true);
        assert_eq!(status(&c, &[b"null"]), (StatusCode::OK, None));
        assert_eq!(
            status(&c, &[b"http://localhost"]),
            (StatusCode::FORBIDDEN, Some(RejectionKind::OriginNotAllowed))
        );
    }

    #[test]
    fn invalid_entries_name_the_entry() {
        let mut list = OriginList::empty();
        let err = list.push("http://user@localhost").unwrap_err();
        match err {
            ConfigError::InvalidOrigin { entry, reason } => {
                assert_eq!(entry, "http://user@localhost");
                assert!(reason.contains("userinfo"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(list.push("localhost:3000").is_err());
        assert!(list.push("http://localhost/mcp").is_err());
    }

    #[test]
    fn duplicate_entries_are_merged() {
        let c = config(&["https://a.example", "HTTPS://A.example:443/"]);
        assert_eq!(c.list.len(), 1);
        assert_eq!(c.list.iter().collect::<Vec<_>>(), ["https://a.example"]);
    }
}
