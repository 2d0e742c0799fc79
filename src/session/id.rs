//! Session ids: validation, generation, and the short tag used in logs.

use std::fmt;
use std::sync::Arc;

pub use crate::keyed::Tag;
pub(crate) use crate::keyed::{keyed_hash128, tag_of};

/// Longest session id accepted from a client or a generator, in bytes.
pub const MAX_SESSION_ID_LEN: usize = 256;

/// A session id: 1 to 256 visible ASCII characters (0x21 to 0x7E), as the
/// transport spec requires. An id of up to 38 characters (a UUID is 36) is
/// kept inline, so reading one from a request allocates nothing; a longer
/// one is shared, and cloning it is an `Arc` clone.
///
/// `Debug` prints only a short keyed tag (see [`SessionId::tag`]), never the id:
/// a session id is a bearer capability for the session's state.
///
/// ```
/// use mcp_tower_guard::session::SessionId;
///
/// let id = SessionId::parse(b"3f0c8a4e-1d2b-4c5d-9e8f-0a1b2c3d4e5f").unwrap();
/// assert_eq!(id.as_str().len(), 36);
/// assert!(SessionId::parse(b"").is_err());
/// assert!(SessionId::parse(b"has space").is_err());
/// assert!(!format!("{id:?}").contains("3f0c8a4e"));
/// ```
#[derive(Clone)]
pub struct SessionId(Repr);

/// Longest id kept inline (the enum is then 40 bytes, as wide as it needs to
/// be for a hyphenated UUID).
const INLINE: usize = 38;

#[derive(Clone)]
enum Repr {
    /// The first `len` bytes, visible ASCII.
    Inline {
        len: u8,
        bytes: [u8; INLINE],
    },
    Shared(Arc<str>),
}

// Compared, hashed and ordered as the text, whichever way it is kept.
impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As `str` hashes itself, without going through `as_str`.
        state.write(self.as_bytes());
        state.write_u8(0xff);
    }
}

impl PartialOrd for SessionId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SessionId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

/// Why a value is not a valid session id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSessionId {
    /// No characters.
    #[error("session id is empty")]
    Empty,
    /// More than [`MAX_SESSION_ID_LEN`] bytes.
    #[error("session id is longer than {MAX_SESSION_ID_LEN} bytes")]
    TooLong,
    /// A byte outside visible ASCII (0x21 to 0x7E).
    #[error("session id contains a byte outside visible ASCII")]
    InvalidByte,
}

/// The session id in header `name`, with the value it was read from:
/// `Ok(None)` when absent, `Err` when it is repeated or not a valid id.
pub(crate) fn one_in<'a>(
    headers: &'a http::HeaderMap,
    name: &http::HeaderName,
) -> Result<Option<(SessionId, &'a http::HeaderValue)>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => match SessionId::parse(v.as_bytes()) {
            Ok(id) => Ok(Some((id, v))),
            Err(_) => Err(()),
        },
        (Some(_), Some(_)) => Err(()),
    }
}

impl SessionId {
    /// Validates raw bytes (a header value) as a session id.
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidSessionId> {
        if bytes.is_empty() {
            return Err(InvalidSessionId::Empty);
        }
        if bytes.len() > MAX_SESSION_ID_LEN {
            return Err(InvalidSessionId::TooLong);
        }
        // Every byte checked, without an early exit: the loop vectorizes,
        // and a valid id (the common case) is read whole anyway.
        if !bytes
            .iter()
            .fold(true, |ok, b| ok & (0x21..=0x7E).contains(b))
        {
            return Err(InvalidSessionId::InvalidByte);
        }
        if let (Ok(len), true) = (u8::try_from(bytes.len()), bytes.len() <= INLINE) {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            return Ok(Self(Repr::Inline { len, bytes: inline }));
        }
        // Visible ASCII is valid UTF-8.
        let s = std::str::from_utf8(bytes).map_err(|_| InvalidSessionId::InvalidByte)?;
        Ok(Self(Repr::Shared(Arc::from(s))))
    }

    /// A fresh random id, as the default generator makes: a hyphenated UUID v4
    /// from the OS CSPRNG.
    pub fn new_random() -> Self {
        let id = uuid::Uuid::new_v4();
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        // A hyphenated UUID is 36 visible ASCII characters.
        Self::parse(text.as_bytes()).unwrap_or_else(|_| Self(Repr::Shared(Arc::from(&*text))))
    }

    /// The id as sent in the `Mcp-Session-Id` header.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Visible ASCII, checked on construction: always UTF-8.
            Repr::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Repr::Shared(text) => text,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Shared(text) => text.as_bytes(),
        }
    }

    /// A short, non-reversible tag for logs: 8 hex characters of a keyed hash
    /// whose key is random per process. Two processes tag the same id differently.
    pub fn tag(&self) -> Tag {
        tag_of(self.as_bytes())
    }

    /// The id as a header value.
    pub(crate) fn to_header_value(&self) -> http::HeaderValue {
        // Visible ASCII only, checked on construction.
        http::HeaderValue::from_bytes(self.as_bytes())
            .unwrap_or(http::HeaderValue::from_static("invalid"))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.tag())
    }
}

impl std::str::FromStr for SessionId {
    type Err = InvalidSessionId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

/// Makes session ids. Implement it to embed a routing tag or use another format;
/// the output must still be unpredictable (CSPRNG-backed).
///
/// The layer validates every generated id: output that is empty, longer than
/// [`MAX_SESSION_ID_LEN`] bytes or outside visible ASCII is discarded (with an
/// `error` event) and a random UUID v4 is used instead, so an invalid id is never sent.
///
/// Any `Fn() -> String + Send + Sync + 'static` is a generator:
///
/// ```
/// use mcp_tower_guard::session::{IdGenerator, SessionId};
///
/// let node = "eu1";
/// let gen = move || format!("{node}.{}", SessionId::new_random().as_str());
/// assert!(gen.generate().starts_with("eu1."));
/// ```
pub trait IdGenerator: Send + Sync + 'static {
    /// Returns a new id. Called once per `initialize` that passes the limits.
    fn generate(&self) -> String;
}

impl<F> IdGenerator for F
where
    F: Fn() -> String + Send + Sync + 'static,
{
    fn generate(&self) -> String {
        self()
    }
}

/// The default generator: a hyphenated UUID v4 from the OS CSPRNG (122 random
/// bits, 36 characters `[0-9a-f-]`). Users reach it through
/// [`SessionId::new_random`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UuidV4;

impl IdGenerator for UuidV4 {
    fn generate(&self) -> String {
        uuid::Uuid::new_v4().hyphenated().to_string()
    }
}

/// Runs `generator` and validates its output, falling back to [`UuidV4`].
pub(crate) fn generate_valid(generator: &dyn IdGenerator) -> SessionId {
    let candidate = generator.generate();
    match SessionId::parse(candidate.as_bytes()) {
        Ok(id) => id,
        Err(reason) => {
            tracing::error!(
                target: super::TARGET,
                %reason,
                "id generator returned an invalid session id; using a UUID v4 instead"
            );
            SessionId::new_random()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_visible_ascii_and_length() {
        assert_eq!(SessionId::parse(b""), Err(InvalidSessionId::Empty));
        assert_eq!(
            SessionId::parse(&[b'a'; 257]),
            Err(InvalidSessionId::TooLong)
        );
        assert!(SessionId::parse(&[b'a'; 256]).is_ok());
        for bad in [
            &b"a b"[..],
            b"a\tb",
            b"\x7f",
            b"\x20",
            "é".as_bytes(),
            b"a\x00",
        ] {
            assert_eq!(
                SessionId::parse(bad),
                Err(InvalidSessionId::InvalidByte),
                "{bad:?}"
            );
        }
        assert!(SessionId::parse(b"!~").is_ok());
    }

    #[test]
    fn invalid_generator_output_falls_back() {
        let bad = || "has space".to_owned();
        let id = generate_valid(&bad);
        assert_eq!(id.as_str().len(), 36);
        let empty = String::new;
        assert_eq!(generate_valid(&empty).as_str().len(), 36);
    }

    /// Inline and shared ids are the same text: equal, hashed and ordered
    /// alike (a map keyed by ids must find one however it was kept).
    #[test]
    fn inline_and_shared_ids_behave_as_their_text() {
        use std::hash::BuildHasher;
        let hasher = std::collections::hash_map::RandomState::new();
        for len in [1, INLINE - 1, INLINE, INLINE + 1, MAX_SESSION_ID_LEN] {
            let text = "a".repeat(len);
            let id = SessionId::parse(text.as_bytes()).unwrap();
            assert_eq!(id.as_str(), text);
            assert_eq!(id.to_header_value(), text.as_str());
            assert_eq!(hasher.hash_one(&id), hasher.hash_one(text.as_str()));
            assert_eq!(id, id.clone());
        }
        let short = SessionId::parse(b"b").unwrap();
        let long = SessionId::parse("a".repeat(INLINE + 2).as_bytes()).unwrap();
        assert!(long < short, "ordered as text");
        assert_eq!(SessionId::new_random().as_str().len(), 36);
    }

    #[test]
    fn tag_is_stable_and_short() {
        let id = SessionId::new_random();
        assert_eq!(id.tag(), id.clone().tag());
        assert_eq!(id.tag().to_string().len(), 8);
    }
}
