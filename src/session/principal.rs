//! Who a session belongs to.
//!
//! A session remembers the principal that created it. A later request whose
//! principal differs (including "none" when the session had one, or the other
//! way round) is answered exactly as an unknown session id: 404, JSON-RPC -32001.
//! The spec's security best practices ask servers to bind session ids to
//! user-specific information and never to treat the id as authentication.

use std::fmt;
use std::sync::Arc;

use http::header;
use http::request::Parts;

use super::id::{keyed_hash128, tag_of, Tag};

/// An authenticated user, client or tenant, as your auth layer sees it.
/// Compared by value; cloning is an `Arc` clone.
///
/// ```
/// use mcp_tower_guard::session::Principal;
///
/// let alice = Principal::new("user:alice");
/// assert_eq!(alice.as_str(), "user:alice");
/// assert_ne!(alice, Principal::new("user:bob"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<str>);

impl Principal {
    /// A principal from your own identifier (a user id, a token subject, a tenant).
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short keyed tag for logs.
    pub fn tag(&self) -> Tag {
        tag_of(self.0.as_bytes())
    }

    /// A ready-made resolver that derives the principal from the `Authorization`
    /// header: a 128-bit keyed hash of its value(s), so the same credential maps to
    /// the same principal and the credential itself is not kept or logged.
    ///
    /// The key is random per process: principals are **process-local** and change
    /// on restart, which is fine for in-memory sessions (they die with the process
    /// too) but not for a store shared between processes. Requests without the
    /// header resolve to no principal. This binds a session to a credential, not
    /// to a user: a client that refreshes its token loses its session (404, then
    /// re-initializes). Prefer a resolver that reads your auth layer's user id.
    /// Behind `McpAuthLayer` (which removes `Authorization` by default) this
    /// finds nothing, and the session layer binds to the verified identity
    /// instead, as it does with no resolver.
    ///
    /// ```
    /// use mcp_tower_guard::session::{Principal, ResolvePrincipal};
    ///
    /// let resolver = Principal::authorization_hash();
    /// let (parts, ()) = http::Request::builder()
    ///     .header("authorization", "Bearer s3cret")
    ///     .body(())
    ///     .unwrap()
    ///     .into_parts();
    /// let p = resolver.resolve(&parts).unwrap();
    /// assert!(!p.as_str().contains("s3cret"));
    /// assert_eq!(resolver.resolve(&parts), Some(p));
    /// ```
    pub fn authorization_hash() -> impl ResolvePrincipal + Clone + fmt::Debug {
        AuthorizationHash
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Principal").field(&&*self.0).finish()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Finds the principal of a request, from its head (typically an extension your
/// auth layer inserted). Any `Fn(&Parts) -> Option<Principal> + Send + Sync + 'static`
/// is a resolver.
///
/// A resolver must not panic; a panic propagates as a panic in the handler would,
/// and the request is not served.
///
/// ```
/// use http::request::Parts;
/// use mcp_tower_guard::session::Principal;
///
/// #[derive(Clone)]
/// struct UserId(String); // inserted by your auth middleware
///
/// let resolver = |parts: &Parts| parts.extensions.get::<UserId>().map(|u| Principal::new(u.0.as_str()));
/// # let _ = resolver;
/// ```
pub trait ResolvePrincipal: Send + Sync + 'static {
    /// The principal of the request, or `None` for anonymous requests.
    fn resolve(&self, parts: &Parts) -> Option<Principal>;
}

impl<F> ResolvePrincipal for F
where
    F: Fn(&Parts) -> Option<Principal> + Send + Sync + 'static,
{
    fn resolve(&self, parts: &Parts) -> Option<Principal> {
        self(parts)
    }
}

/// The resolver returned by [`Principal::authorization_hash`].
#[derive(Clone, Copy, Debug, Default)]
struct AuthorizationHash;

impl ResolvePrincipal for AuthorizationHash {
    fn resolve(&self, parts: &Parts) -> Option<Principal> {
        let mut values = parts
            .headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .peekable();
        values.peek()?;
        let mut material = Vec::new();
        for v in values {
            // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ.
            material.extend_from_slice(&(v.len() as u64).to_le_bytes());
            material.extend_from_slice(v.as_bytes());
        }
        let hash = keyed_hash128(&material);
        Some(Principal::new(format!("authz:{hash:032x}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(auth: &[&str]) -> Parts {
        let mut b = http::Request::builder();
        for a in auth {
            b = b.header("authorization", *a);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn authorization_hash_distinguishes_credentials() {
        let r = AuthorizationHash;
        assert_eq!(r.resolve(&parts(&[])), None);
        let a = r.resolve(&parts(&["Bearer a"])).unwrap();
        let b = r.resolve(&parts(&["Bearer b"])).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, r.resolve(&parts(&["Bearer a"])).unwrap());
        assert_ne!(
            r.resolve(&parts(&["ab", "c"])).unwrap(),
            r.resolve(&parts(&["a", "bc"])).unwrap()
        );
        assert_eq!(a.as_str().len(), "authz:".len() + 32);
    }
}
