//! The `WWW-Authenticate: Bearer` challenge (RFC 6750 §3, RFC 9728 §5.1).

use http::HeaderValue;

use super::scope::Scopes;

/// The `error` of a challenge (RFC 6750 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChallengeError {
    /// No credentials: no `error` at all, the client just authenticates.
    None,
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
}

/// Builds the challenge. `resource_metadata` is always there (RFC 9728, and
/// "for consistency" on 403 in MCP), `scope` when the operation needs any,
/// `error` when a token was sent. Every value is quoted; the scopes were
/// checked to be scope tokens, the URL is ASCII without quotes, and the
/// description is one of the layer's own sentences, filtered anyway.
pub(crate) fn challenge(
    resource_metadata: &str,
    scope: &Scopes,
    error: ChallengeError,
    description: Option<&str>,
) -> HeaderValue {
    let mut value = String::with_capacity(128);
    value.push_str("Bearer ");
    let error = match error {
        ChallengeError::None => None,
        ChallengeError::InvalidRequest => Some("invalid_request"),
        ChallengeError::InvalidToken => Some("invalid_token"),
        ChallengeError::InsufficientScope => Some("insufficient_scope"),
    };
    if let Some(error) = error {
        push_param(&mut value, "error", error);
        value.push_str(", ");
    }
    if !scope.is_empty() {
        push_param(&mut value, "scope", &scope.to_string());
        value.push_str(", ");
    }
    push_param(&mut value, "resource_metadata", resource_metadata);
    if let (Some(_), Some(description)) = (error, description) {
        value.push_str(", ");
        push_param(&mut value, "error_description", description);
    }
    // Only visible ASCII and spaces are written, so this cannot fail.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer"))
}

/// `name="value"`, keeping only the characters RFC 6750 allows in a value
/// (`%x20-21 / %x23-5B / %x5D-7E`: no quote, no backslash, no control).
fn push_param(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    out.extend(
        value.chars().filter(
            |&c| matches!(c, '\u{20}'..='\u{21}' | '\u{23}'..='\u{5b}' | '\u{5d}'..='\u{7e}'),
        ),
    );
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

    #[test]
    fn rfc_6750_no_credentials_means_no_error_code() {
        let v = challenge(PRM, &Scopes::parse("mcp"), ChallengeError::None, Some("x"));
        assert_eq!(
            v,
            format!(r#"Bearer scope="mcp", resource_metadata="{PRM}""#).as_str()
        );
    }

    #[test]
    fn rfc_6750_insufficient_scope_names_the_scopes() {
        let v = challenge(
            PRM,
            &Scopes::parse("deploy:write mcp"),
            ChallengeError::InsufficientScope,
            Some("the operation needs deploy:write"),
        );
        assert_eq!(
            v,
            format!(
                r#"Bearer error="insufficient_scope", scope="deploy:write mcp", resource_metadata="{PRM}", error_description="the operation needs deploy:write""#
            )
            .as_str()
        );
    }

    #[test]
    fn values_never_carry_quotes_or_backslashes() {
        let v = challenge(
            PRM,
            &Scopes::default(),
            ChallengeError::InvalidToken,
            Some("a\"b\\c\u{7}é"),
        );
        assert!(
            v.to_str().unwrap().ends_with(r#"error_description="abc""#),
            "{v:?}"
        );
        assert!(!v.to_str().unwrap().contains("scope="));
    }
}
