//! [`PeerAddr`]: the connection's peer address, shared by the layers that
//! read it (the Host check's trusted proxies, the session's client info,
//! the rate limits' client address).

use std::net::SocketAddr;

/// The peer (remote) address of the connection a request arrived on.
///
/// `HostCheckLayer::trust_forwarded_host` reads it from the request
/// extensions to decide whether the request came from a trusted proxy, and
/// the session layer records it in `ClientInfo`. Servers insert it per
/// connection; see the `host` module docs ("Behind a reverse proxy") for axum
/// and hyper. Without it, forwarding headers are never honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

impl PeerAddr {
    /// The peer of a request: its `PeerAddr`, or else a bare `SocketAddr`
    /// in the extensions (what many servers insert per connection).
    #[allow(dead_code)] // not every feature set reads it
    pub(crate) fn of(extensions: &http::Extensions) -> Option<SocketAddr> {
        extensions
            .get::<PeerAddr>()
            .map(|p| p.0)
            .or_else(|| extensions.get::<SocketAddr>().copied())
    }
}
