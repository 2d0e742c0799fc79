//! Taking the bearer token from a request: from `Authorization` only
//! (RFC 6750 §2.1, OAuth 2.1 §5.1), as a pure function.

use http::{header, HeaderMap, Uri};

/// The largest token accepted, in bytes, unless configured otherwise. Real
/// access tokens are a few KiB at most; anything far larger is refused before
/// it is parsed, hashed or sent anywhere.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why no token could be taken from a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BearerError {
    /// No `Authorization` header, or another scheme (`Basic`, `DPoP`, …):
    /// "no authentication information" in RFC 6750 terms, so no `error` code.
    Missing,
    /// More than one `Authorization` header (400 `invalid_request`).
    Repeated,
    /// An `access_token` in the query string (400 `invalid_request`): OAuth
    /// 2.1 forbids it, and the URL has already leaked the token to logs.
    InQuery,
    /// A form-encoded body, the RFC 6750 §2.2 way of sending a token, which
    /// MCP does not use (400 `invalid_request`; the headers layer, when in
    /// front, answers 415 first).
    InForm,
    /// `Bearer` with nothing usable after it (400 `invalid_request`).
    Malformed,
    /// A token over the size limit (401 `invalid_token`).
    TooLarge,
}

impl BearerError {
    /// The sentence logged and sent as the JSON-RPC message.
    pub(crate) const fn reason(self) -> &'static str {
        match self {
            Self::Missing => "Unauthorized: a bearer token is required (Authorization: Bearer <token>)",
            Self::Repeated => "Bad Request: more than one Authorization header",
            Self::InQuery => "Bad Request: access tokens in the URI query are refused; send Authorization: Bearer <token>",
            Self::InForm => "Bad Request: access tokens in a form body are refused; send Authorization: Bearer <token>",
            Self::Malformed => "Bad Request: the Authorization header is not Bearer followed by a token",
            Self::TooLarge => "Unauthorized: the bearer token is larger than this server accepts",
        }
    }
}

/// The bearer token of a request. The scheme is matched case-insensitively
/// (`bearer` is accepted); the token must be RFC 6750 `b64token` characters.
pub(crate) fn bearer_token<'a>(
    headers: &'a HeaderMap,
    uri: &Uri,
    max_bytes: usize,
) -> Result<&'a str, BearerError> {
    if query_has_access_token(uri) {
        return Err(BearerError::InQuery);
    }
    if crate::headers::media::is_form_request(headers) {
        return Err(BearerError::InForm);
    }
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::Repeated);
    }
    let bytes = value.as_bytes();
    // The size check comes first: nothing else looks at an oversized value.
    if bytes.len() > max_bytes.saturating_add("Bearer ".len()) {
        return Err(BearerError::TooLarge);
    }
    let Some(space) = bytes.iter().position(|&b| b == b' ') else {
        return Err(if bytes.eq_ignore_ascii_case(b"bearer") {
            BearerError::Malformed
        } else {
            BearerError::Missing
        });
    };
    let (scheme, rest) = bytes.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(BearerError::Missing);
    }
    // `credentials = "Bearer" 1*SP b64token`.
    let token = trim_leading_spaces(rest);
    // The b64token character check waits for a refusal (`is_b64token`): a
    // cached valid token is never re-checked, and any other token fails
    // verification first.
    if token.is_empty() {
        return Err(BearerError::Malformed);
    }
    if token.len() > max_bytes {
        return Err(BearerError::TooLarge);
    }
    std::str::from_utf8(token).map_err(|_| BearerError::Malformed)
}

fn trim_leading_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body_end = token
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(0, |last| last + 1);
    // Runs over the whole token on every request: branch-free comparisons
    // folded with `&` (no early exit), which the compiler vectorizes.
    body_end > 0
        && token[..body_end].iter().fold(true, |ok, &b| {
            let lower = b | 0x20;
            ok & ((lower.wrapping_sub(b'a') < 26)
                | (b.wrapping_sub(b'0') < 10)
                | (b == b'-')
                | (b == b'.')
                | (b == b'_')
                | (b == b'~')
                | (b == b'+')
                | (b == b'/'))
        })
}

/// True when the query string has an `access_token` parameter (RFC 6750
/// §2.3), however it is cased or percent-encoded in its name's plain form.
fn query_has_access_token(uri: &Uri) -> bool {
    uri.query().is_some_and(|query| {
        query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            name.eq_ignore_ascii_case("access_token")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn take(values: &[&str], uri: &str) -> Result<String, BearerError> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        let uri: Uri = uri.parse().unwrap();
        bearer_token(&headers, &uri, 64).map(str::to_owned)
    }

    #[test]
    fn rfc_6750_bearer_scheme_is_case_insensitive() {
        for v in [
            "Bearer abc.def-_~+/==",
            "bearer abc.def-_~+/==",
            "BEARER abc.def-_~+/==",
        ] {
            assert_eq!(take(&[v], "/mcp").as_deref(), Ok("abc.def-_~+/=="), "{v}");
        }
    }

    #[test]
    fn no_header_or_another_scheme_is_missing_not_an_error() {
        assert_eq!(take(&[], "/mcp"), Err(BearerError::Missing));
        assert_eq!(
            take(&["Basic dXNlcjpwYXNz"], "/mcp"),
            Err(BearerError::Missing)
        );
        assert_eq!(take(&["DPoP abc"], "/mcp"), Err(BearerError::Missing));
        assert_eq!(take(&["Bearerabc"], "/mcp"), Err(BearerError::Missing));
    }

    #[test]
    fn rfc_6750_form_body_tokens_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=utf-8"),
        );
        let uri: Uri = "/mcp".parse().unwrap();
        assert_eq!(bearer_token(&headers, &uri, 64), Err(BearerError::InForm));
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        assert_eq!(
            take(&["Bearer a", "Bearer b"], "/mcp"),
            Err(BearerError::Repeated)
        );
    }

    #[test]
    fn oauth_2_1_token_in_the_query_is_refused() {
        assert_eq!(
            take(&[], "/mcp?access_token=abc"),
            Err(BearerError::InQuery)
        );
        assert_eq!(
            take(&["Bearer abc"], "/mcp?x=1&ACCESS_TOKEN=abc"),
            Err(BearerError::InQuery)
        );
        assert_eq!(
            take(&["Bearer abc"], "/mcp?access_tokens=1").as_deref(),
            Ok("abc")
        );
    }

    #[test]
    fn malformed_bearer_values_are_refused() {
        for v in ["Bearer", "Bearer ", "Bearer   "] {
            assert_eq!(take(&[v], "/mcp"), Err(BearerError::Malformed), "{v:?}");
        }
        // Checked when the token is refused (see `flow::refused`).
        for t in ["a b", "===", "a\"b", "a,b", "é"] {
            assert!(!is_b64token(t.as_bytes()), "{t:?}");
        }
        for t in ["abc.def-_~+/==", "A", "0="] {
            assert!(is_b64token(t.as_bytes()), "{t:?}");
        }
    }

    #[test]
    fn oversized_tokens_are_refused_before_parsing() {
        let big = format!("Bearer {}", "a".repeat(65));
        assert_eq!(take(&[&big], "/mcp"), Err(BearerError::TooLarge));
        let huge = format!("Bearer {}", "\"".repeat(4096));
        assert_eq!(take(&[&huge], "/mcp"), Err(BearerError::TooLarge));
        let fits = format!("Bearer {}", "a".repeat(64));
        assert!(take(&[&fits], "/mcp").is_ok());
    }
}
