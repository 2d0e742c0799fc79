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
    /// `User-Agent`, then `Origin` (each a copy of at most
    /// [`MAX_CLIENT_HEADER_LEN`] bytes), then the peer address: one
    /// allocation for the three, as every session keeps them (an inline
    /// `Option<SocketAddr>` alone took 32 bytes).
    bytes: Box<[u8]>,
    /// Where `Origin` starts in `bytes`.
    split: u16,
    /// What was seen: bit 0 `User-Agent`, bit 1 `Origin` (a header may be
    /// present and empty), bit 2 an IPv4 peer, bit 3 an IPv6 peer.
    present: u8,
}

const HAS_USER_AGENT: u8 = 1;
const HAS_ORIGIN: u8 = 2;
const PEER_V4: u8 = 4;
const PEER_V6: u8 = 8;
/// Address and port.
const V4_LEN: usize = 4 + 2;
/// Address, port, flow info and scope id.
const V6_LEN: usize = 16 + 2 + 4 + 4;

/// The peer address as the tail of [`ClientInfo::bytes`].
fn encode_peer(addr: SocketAddr, out: &mut Vec<u8>) -> u8 {
    match addr {
        SocketAddr::V4(v4) => {
            out.extend_from_slice(&v4.ip().octets());
            out.extend_from_slice(&v4.port().to_be_bytes());
            PEER_V4
        }
        SocketAddr::V6(v6) => {
            out.extend_from_slice(&v6.ip().octets());
            out.extend_from_slice(&v6.port().to_be_bytes());
            out.extend_from_slice(&v6.flowinfo().to_be_bytes());
            out.extend_from_slice(&v6.scope_id().to_be_bytes());
            PEER_V6
        }
    }
}

fn decode_peer(present: u8, tail: &[u8]) -> Option<SocketAddr> {
    let array = |at: usize| -> Option<[u8; 4]> { tail.get(at..at + 4)?.try_into().ok() };
    let port = |at: usize| -> Option<u16> {
        Some(u16::from_be_bytes(tail.get(at..at + 2)?.try_into().ok()?))
    };
    if present & PEER_V4 != 0 {
        let ip = std::net::Ipv4Addr::from(array(0)?);
        Some(SocketAddr::from((ip, port(4)?)))
    } else if present & PEER_V6 != 0 {
        let octets: [u8; 16] = tail.get(..16)?.try_into().ok()?;
        Some(SocketAddr::V6(std::net::SocketAddrV6::new(
            octets.into(),
            port(16)?,
            u32::from_be_bytes(array(18)?),
            u32::from_be_bytes(array(22)?),
        )))
    } else {
        None
    }
}

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
        let peer_len = match peer_addr {
            None => 0,
            Some(SocketAddr::V4(_)) => V4_LEN,
            Some(SocketAddr::V6(_)) => V6_LEN,
        };
        // The exact length: a boxed slice is not shrunk again.
        let mut bytes = Vec::with_capacity(first.len() + second.len() + peer_len);
        bytes.extend_from_slice(first);
        bytes.extend_from_slice(second);
        let peer = peer_addr.map_or(0, |addr| encode_peer(addr, &mut bytes));
        Self {
            bytes: bytes.into_boxed_slice(),
            // At most MAX_CLIENT_HEADER_LEN (256): always fits.
            split: u16::try_from(first.len()).unwrap_or(u16::MAX),
            present: u8::from(user_agent.is_some()) * HAS_USER_AGENT
                + u8::from(origin.is_some()) * HAS_ORIGIN
                + peer,
        }
    }

    /// Where the peer address starts in `bytes` (its end when there is none).
    fn peer_at(&self) -> usize {
        let len = if self.present & PEER_V4 != 0 {
            V4_LEN
        } else if self.present & PEER_V6 != 0 {
            V6_LEN
        } else {
            0
        };
        self.bytes.len().saturating_sub(len)
    }

    /// The raw `User-Agent` value (any bytes), for stores that persist it.
    pub fn user_agent_bytes(&self) -> Option<&[u8]> {
        let split = usize::from(self.split);
        (self.present & HAS_USER_AGENT != 0).then(|| self.bytes.get(..split).unwrap_or_default())
    }

    /// The raw `Origin` value (any bytes), for stores that persist it.
    pub fn origin_bytes(&self) -> Option<&[u8]> {
        let split = usize::from(self.split);
        (self.present & HAS_ORIGIN != 0)
            .then(|| self.bytes.get(split..self.peer_at()).unwrap_or_default())
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
        decode_peer(self.present, self.bytes.get(self.peer_at()..)?)
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
            .field("peer_addr", &self.peer_addr())
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

    /// Either header may be absent, or present and empty; the peer address
    /// comes back as it went in.
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
        let peers: [Option<SocketAddr>; 3] = [
            None,
            Some("127.0.0.1:4000".parse().unwrap()),
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                "fe80::1".parse().unwrap(),
                65535,
                7,
                3,
            ))),
        ];
        for (user_agent, origin) in cases {
            for peer in peers {
                let info = ClientInfo::new(user_agent.cloned(), origin.cloned(), peer);
                assert_eq!(
                    info.user_agent_bytes(),
                    user_agent.map(HeaderValue::as_bytes)
                );
                assert_eq!(info.origin_bytes(), origin.map(HeaderValue::as_bytes));
                assert_eq!(info.peer_addr(), peer, "flow info and scope id kept");
            }
        }
        assert!(
            std::mem::size_of::<ClientInfo>() <= 24,
            "the peer address is not inline"
        );
    }
}
