//! The hand-off between the Origin layer and the auth layer for clients that
//! authenticate with a bearer token ([`OriginGuardLayer::admit_bearer_clients`](crate::OriginGuardLayer::admit_bearer_clients)).
//!
//! The Origin layer runs first and cannot verify a token, so it takes no
//! final decision on such a request: it passes it on with an
//! [`UnlistedOrigin`] in the extensions. The auth layer, which verifies the
//! token, decides: a token it accepts admits the request; any other answer
//! it would give for a missing or invalid credential (401, or 400 for a
//! malformed one) becomes the Origin layer's 403 instead. A client cannot
//! forge the marker: extensions are the server's, and the type is private.

use http::{Extensions, HeaderMap};

use crate::{Rejection, RejectionKind};

/// A request from an `Origin` that is not on the list, passed on only
/// because its sole credential is a bearer token the auth layer must verify.
#[derive(Clone, Debug)]
pub(crate) struct UnlistedOrigin {
    origin: Box<str>,
}

impl UnlistedOrigin {
    pub(crate) fn new(origin: &str) -> Self {
        Self {
            origin: origin.into(),
        }
    }
}

/// True when the request's only credential is one `Authorization: Bearer`
/// header: no `Cookie` (an ambient credential a browser attaches by
/// itself), no second `Authorization`.
pub(crate) fn bearer_only(headers: &HeaderMap) -> bool {
    if headers.contains_key(http::header::COOKIE) {
        return false;
    }
    let mut values = headers.get_all(http::header::AUTHORIZATION).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => value
            .as_bytes()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer ")),
        _ => false,
    }
}

/// The auth layer's refusal of a request the Origin layer deferred: a
/// credential refusal (no token, an invalid or malformed one) is the
/// Origin's 403; the others (insufficient scope, issuer unreachable) stand.
pub(crate) fn settle(extensions: &Extensions, rejection: Rejection) -> Rejection {
    let Some(unlisted) = extensions.get::<UnlistedOrigin>() else {
        return rejection;
    };
    match rejection.kind() {
        RejectionKind::MissingToken
        | RejectionKind::InvalidToken
        | RejectionKind::InvalidAuthRequest => Rejection::new(
            RejectionKind::OriginNotAllowed,
            format!(
                "Origin not allowed: {} (an origin that is not listed passes only with a valid bearer token)",
                unlisted.origin
            ),
        ),
        _ => rejection,
    }
}
