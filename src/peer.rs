//! [`PeerAddr`]: the connection's peer address, shared by the layers that
//! read it (the Host check's trusted proxies, the session's client info).

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
