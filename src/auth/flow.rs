//! The layer's decisions, apart from the futures that wait for them: which
//! refusal a missing or bad credential gets, and what a verified token lets
//! through.

use std::sync::Arc;

use http::header;
use http::request::Parts;
use serde_json::json;

use super::bearer::{is_b64token, BearerError};
use super::challenge::{challenge, ChallengeError};
use super::config::AuthConfig;
use super::scope::Scopes;
use super::verifier::{AuthContext, VerifiedToken, VerifyError};
use super::TARGET;
use crate::envelope::Envelope;
use crate::rejection::{reject, Rejection, RejectionKind, RejectionResponse, RequestHead};

pub(crate) const LAYER: &str = "auth";

/// Every refusal of the auth layer: counted as an authorization outcome
/// (feature `telemetry`), then rejected.
pub(crate) fn refuse<B, R: RejectionResponse<B>>(
    head: RequestHead<'_>,
    extensions: &http::Extensions,
    rejection: Rejection,
    responder: &R,
) -> http::Response<B> {
    // A request the Origin layer passed on for its bearer token: without a
    // valid one, the answer is the Origin's 403.
    #[cfg(feature = "origin")]
    let rejection = crate::deferred_origin::settle(extensions, rejection);
    #[cfg(not(feature = "origin"))]
    let _ = extensions;
    crate::observe::auth(rejection.kind().as_str());
    reject(LAYER, head, rejection, responder)
}

/// The identity the gate in front of the body read verified; the layer
/// behind the headers layer checks the scopes with it instead of verifying
/// the token again. Private: a client cannot put it in the extensions.
#[derive(Clone, Debug)]
pub(crate) struct EarlyIdentity(pub(crate) Arc<VerifiedToken>);

/// The refusal for a request without a usable bearer token.
pub(crate) fn bearer_refused(config: &AuthConfig, error: BearerError) -> Rejection {
    let (kind, code) = match error {
        BearerError::Missing => (RejectionKind::MissingToken, ChallengeError::None),
        BearerError::TooLarge => (RejectionKind::InvalidToken, ChallengeError::InvalidToken),
        BearerError::Repeated
        | BearerError::InQuery
        | BearerError::InForm
        | BearerError::Malformed => (
            RejectionKind::InvalidAuthRequest,
            ChallengeError::InvalidRequest,
        ),
    };
    let reason = error.reason();
    let rejection = Rejection::new(kind, reason).with_www_authenticate(challenge(
        &config.metadata_url,
        &config.challenge_scope,
        code,
        Some(reason),
    ));
    match oauth_data(code) {
        Some(data) => rejection.with_data(data),
        None => rejection,
    }
}

/// The refusal for `token`, which the verifier did not accept: 400 when it
/// is not even a `b64token` (checked only now, off the accepted path).
pub(crate) fn refused(config: &AuthConfig, error: &VerifyError, token: &str) -> Rejection {
    if matches!(error, VerifyError::Invalid(_)) && !is_b64token(token.as_bytes()) {
        return bearer_refused(config, BearerError::Malformed);
    }
    verify_refused(config, error, super::verifier::token_tag(token))
}

/// The refusal for a token the verifier did not accept.
fn verify_refused(config: &AuthConfig, error: &VerifyError, token_tag: crate::Tag) -> Rejection {
    match error {
        VerifyError::Invalid(reason) => {
            tracing::debug!(target: TARGET, token = %token_tag, %reason, "bearer token refused");
            let message = format!("Unauthorized: invalid token ({reason})");
            Rejection::new(RejectionKind::InvalidToken, message)
                .with_www_authenticate(challenge(
                    &config.metadata_url,
                    &config.challenge_scope,
                    ChallengeError::InvalidToken,
                    Some("the access token is not valid for this resource"),
                ))
                .with_data(json!({ "error": "invalid_token" }))
        }
        VerifyError::Unavailable {
            reason,
            retry_after,
        } => {
            tracing::debug!(target: TARGET, token = %token_tag, %reason, "bearer token not checked");
            Rejection::new(
                RejectionKind::AuthUnavailable,
                "Service Unavailable: the access token cannot be checked now",
            )
            .with_retry_after(*retry_after)
        }
    }
}

/// Lets a verified token through, or refuses it for missing scopes: the
/// policy's scopes for this request (from the validated envelope) against
/// the token's, hierarchies included. On success the identity goes into the
/// extensions and, unless kept, `Authorization` is removed.
pub(crate) fn admit(
    config: &AuthConfig,
    parts: &mut Parts,
    token: Arc<VerifiedToken>,
) -> Result<(), Rejection> {
    // The identity gate only verifies: the scopes need the envelope, which
    // the layer behind the headers layer checks with this identity.
    if config.identity_only {
        parts.extensions.insert(EarlyIdentity(token));
        return Ok(());
    }
    let required = config.policy.required(parts.extensions.get::<Envelope>());
    if let Some(missing) = config.policy.missing(&required, token.scopes()) {
        tracing::debug!(
            target: TARGET,
            principal = %token.tag(),
            %missing,
            "token lacks scopes for this request"
        );
        return Err(insufficient_scope(config, &required, &missing));
    }
    parts.extensions.insert(AuthContext::new(token));
    crate::observe::auth("allowed");
    if config.strip_authorization {
        parts.headers.remove(header::AUTHORIZATION);
    }
    Ok(())
}

/// 403 `insufficient_scope`: `scope` names every scope the operation needs
/// (MCP 2026-07-28: all of them, in one challenge), the body what is missing.
fn insufficient_scope(config: &AuthConfig, required: &Scopes, missing: &Scopes) -> Rejection {
    let description = format!("the operation needs {missing}");
    Rejection::new(
        RejectionKind::InsufficientScope,
        format!("Forbidden: insufficient scope, missing {missing}"),
    )
    .with_www_authenticate(challenge(
        &config.metadata_url,
        required,
        ChallengeError::InsufficientScope,
        Some(&description),
    ))
    .with_data(json!({
        "error": "insufficient_scope",
        "scope": required.to_string(),
        "missingScopes": missing.iter().collect::<Vec<_>>(),
    }))
}

/// `error.data`: the OAuth error code, none when no credentials were sent.
fn oauth_data(code: ChallengeError) -> Option<serde_json::Value> {
    let error = match code {
        ChallengeError::None => return None,
        ChallengeError::InvalidRequest => "invalid_request",
        ChallengeError::InvalidToken => "invalid_token",
        ChallengeError::InsufficientScope => "insufficient_scope",
    };
    Some(json!({ "error": error }))
}
