//! The client as seen on the request that created a session: [`ClientInfo`].

use std::fmt;
use std::net::SocketAddr;

use http::request::Parts;
use http::{header, HeaderValue};

/// Longest `User-Agent` / `Origin` a session keeps; longer values are cut.
pub const MAX_CLIENT_HEADER_LEN: usize = 256;

/// At most [`MAX_CLIENT_HEADER_LEN`] bytes of `value`.
fn capped(value: &HeaderValue) -> &[u8] {
    let bytes = value.as_bytes();
    &bytes[..bytes.len().min(MAX_CLIENT_HEADER_LEN)]
}

/// The text of a header value, under the rule `HeaderValue::to_str` follows:
/// visible ASCII, space and tab only.
fn header_text(bytes: &[u8]) -> Option<&str> {
    if bytes
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// The client as seen on the request that created the session.
#[derive(Clone, Default)]
pub struct ClientInfo {
    /// `User-Agent`, then `Origin`: one allocation for the two (each a copy
    /// of at most [`MAX_CLIENT_HEADER_LEN`] bytes), as every session keeps them.
    headers: Box<[u8]>,
    /// Where `Origin` starts in `headers`.
    split: u16,
    /// Which of the two were sent (bit 0 `User-Agent`, bit 1 `Origin`): a
    /// header may be present and empty.
    present: u8,
    peer_addr: Option<SocketAddr>,
}

const HAS_USER_AGENT: u8 = 1;
const HAS_ORIGIN: u8 = 2;

impl ClientInfo {
    /// Reads `User-Agent`, `Origin` and the peer address (a
    /// [`PeerAddr`](crate::PeerAddr), or else a bare `std::net::SocketAddr`,
    /// in the request extensions, as the server inserts per connection).
    pub(crate) fn from_parts(parts: &Parts) -> Self {
        Self::copied(
            parts.headers.get(header::USER_AGENT),
            parts.headers.get(header::ORIGIN),
            crate::PeerAddr::of(&parts.extensions),
        )
    }

    /// Client information kept by a store outside this process (see
    /// [`SessionContext::restore`](crate::session::SessionContext::restore)): the raw `User-Agent` and `Origin` header
    /// values (copied, at most [`MAX_CLIENT_HEADER_LEN`] bytes each) and the
    /// peer address.
    pub fn new(
        user_agent: Option<HeaderValue>,
        origin: Option<HeaderValue>,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        Self::copied(user_agent.as_ref(), origin.as_ref(), peer_addr)
    }

    /// Copies the two values into one allocation of their own: a server's
    /// header values may be slices of the connection's read buffer (hyper's
    /// are), and keeping a clone would keep that whole buffer (up to hundreds
    /// of KiB) alive for the session's lifetime.
    fn copied(
        user_agent: Option<&HeaderValue>,
        origin: Option<&HeaderValue>,
        peer_addr: Option<SocketAddr>,
    ) -> Self {
        let user_agent = user_agent.map(capped);
        let origin = origin.map(capped);
        let first = user_agent.unwrap_or_default();
        let second = origin.unwrap_or_default();
        let mut headers = Vec::with_capacity(first.len() + second.len());
        headers.extend_from_slice(first);
        headers.extend_from_slice(second);
        Self {
            headers: headers.into_boxed_slice(),
            // At most MAX_CLIENT_HEADER_LEN (256): always fits.
            split: u16::try_from(first.len()).unwrap_or(u16::MAX),
            present: u8::from(user_agent.is_some()) * HAS_USER_AGENT
                + u8::from(origin.is_some()) * HAS_ORIGIN,
            peer_addr,
        }
    }

    /// The raw `User-Agent` value (any bytes), for stores that persist it.
    pub fn user_agent_bytes(&self) -> Option<&[u8]> {
        let split = usize::from(self.split);
        (self.present & HAS_USER_AGENT != 0).then(|| self.headers.get(..split).unwrap_or_default())
    }

    /// The raw `Origin` value (any bytes), for stores that persist it.
    pub fn origin_bytes(&self) -> Option<&[u8]> {
        let split = usize::from(self.split);
        (self.present & HAS_ORIGIN != 0).then(|| self.headers.get(split..).unwrap_or_default())
    }

    /// `User-Agent`, when present and visible ASCII.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent_bytes().and_then(header_text)
    }

    /// `Origin`, when present and visible ASCII.
    pub fn origin(&self) -> Option<&str> {
        self.origin_bytes().and_then(header_text)
    }

    /// The peer address, when the server put a [`PeerAddr`](crate::PeerAddr)
    /// (or a `std::net::SocketAddr`) in the request extensions.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }
}

impl fmt::Debug for ClientInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInfo")
            .field(
                "user_agent",
                &self.user_agent_bytes().map(String::from_utf8_lossy),
            )
            .field("origin", &self.origin_bytes().map(String::from_utf8_lossy))
            .field("peer_addr", &self.peer_addr)
            .finish()
    }
}

#[cfg(test)]
mod client_info_tests {
    use super::*;

    /// A session must not keep the connection's read buffer alive through a
    /// header value that shares it (found by the memory benchmark).
    #[test]
    fn client_headers_are_copied_and_capped() {
        let buffer = bytes::Bytes::from(vec![b'a'; 100_000]);
        let long = HeaderValue::from_maybe_shared(buffer.clone()).unwrap();
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.headers.insert(header::USER_AGENT, long);
        parts.headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:3000"),
        );
        let info = ClientInfo::from_parts(&parts);
        let ua = info.user_agent_bytes().unwrap();
        assert_eq!(ua.len(), MAX_CLIENT_HEADER_LEN);
        let shared = buffer.as_ptr_range();
        assert!(
            !shared.contains(&ua.as_ptr()),
            "user agent shares the request buffer"
        );
        assert_eq!(info.origin(), Some("http://localhost:3000"));
    }

    /// Either header may be absent, or present and empty.
    #[test]
    fn absent_and_empty_headers_stay_apart() {
        let empty = HeaderValue::from_static("");
        let ua = HeaderValue::from_static("agent/1");
        let cases = [
            (None, None),
            (Some(&empty), None),
            (None, Some(&empty)),
            (Some(&ua), Some(&empty)),
            (Some(&empty), Some(&ua)),
            (Some(&ua), Some(&ua)),
        ];
        for (user_agent, origin) in cases {
            let info = ClientInfo::new(user_agent.cloned(), origin.cloned(), None);
            assert_eq!(
                info.user_agent_bytes(),
                user_agent.map(HeaderValue::as_bytes)
            );
            assert_eq!(info.origin_bytes(), origin.map(HeaderValue::as_bytes));
        }
    }
}
