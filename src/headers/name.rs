//! The value encoding of `Mcp-Name` and `Mcp-Param-{Name}` (MCP 2026-07-28,
//! "Value Encoding"): plain visible ASCII, or `=?base64?{Base64}?=` holding the
//! standard Base64 of the UTF-8 value.

use std::borrow::Cow;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::HeaderValue;

const PREFIX: &str = "=?base64?";
const SUFFIX: &str = "?=";

/// Why an `Mcp-Name` / `Mcp-Param-*` header value could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueDecodeError {
    /// A plain value with a byte outside visible ASCII, space and tab.
    #[error("header value contains characters outside visible ASCII")]
    InvalidCharacters,
    /// A `=?base64?…?=` value whose payload is not canonical standard Base64.
    #[error("header value is not valid base64")]
    InvalidBase64,
    /// A `=?base64?…?=` value whose payload is not UTF-8.
    #[error("base64 header value is not UTF-8")]
    NotUtf8,
}

/// Decodes an `Mcp-Name` or `Mcp-Param-{Name}` header value.
///
/// A value that starts with `=?base64?` and ends with `?=` (markers are
/// case-sensitive) is Base64-decoded (standard alphabet, padding required) and
/// must be UTF-8. Any other value is taken as is and must consist of visible
/// ASCII, space and tab.
///
/// ```
/// use mcp_tower_guard::headers::decode_value;
///
/// assert_eq!(decode_value(b"get_weather").unwrap(), "get_weather");
/// assert_eq!(decode_value(b"=?base64?SGVsbG8sIOS4lueVjA==?=").unwrap(), "Hello, 世界");
/// assert!(decode_value(b"=?base64?not base64?=").is_err());
/// assert!(decode_value("caf\u{e9}".as_bytes()).is_err());
/// ```
pub fn decode_value(value: &[u8]) -> Result<Cow<'_, str>, ValueDecodeError> {
    if value.starts_with(PREFIX.as_bytes()) && value.ends_with(SUFFIX.as_bytes()) {
        // "=?base64?=" matches both markers with an overlapping '?': malformed.
        if value.len() < PREFIX.len() + SUFFIX.len() {
            return Err(ValueDecodeError::InvalidBase64);
        }
        let payload = &value[PREFIX.len()..value.len() - SUFFIX.len()];
        let bytes = STANDARD
            .decode(payload)
            .map_err(|_| ValueDecodeError::InvalidBase64)?;
        return String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|_| ValueDecodeError::NotUtf8);
    }
    if value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        // Checked ASCII above.
        std::str::from_utf8(value)
            .map(Cow::Borrowed)
            .map_err(|_| ValueDecodeError::InvalidCharacters)
    } else {
        Err(ValueDecodeError::InvalidCharacters)
    }
}

/// Encodes `value` for an `Mcp-Name` or `Mcp-Param-{Name}` header the way a
/// client must: as is when it is plain visible ASCII (inner spaces and tabs
/// allowed), else as `=?base64?…?=` (non-ASCII, control characters,
/// leading or trailing whitespace, or a value that itself looks like the sentinel).
///
/// ```
/// use mcp_tower_guard::headers::{decode_value, encode_value};
///
/// assert_eq!(encode_value("us-west1"), "us-west1");
/// assert_eq!(encode_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
/// assert_eq!(encode_value("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
/// let v = encode_value("line1\nline2");
/// assert_eq!(decode_value(v.as_bytes()).unwrap(), "line1\nline2");
/// ```
pub fn encode_value(value: &str) -> HeaderValue {
    let looks_encoded = value.starts_with(PREFIX) && value.ends_with(SUFFIX);
    let plain = !looks_encoded
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
    let text = if plain {
        Cow::Borrowed(value)
    } else {
        Cow::Owned(format!("{PREFIX}{}{SUFFIX}", STANDARD.encode(value)))
    };
    // Both forms are visible ASCII, space and tab only.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_value_encoding_examples() {
        for (plain, encoded) in [
            ("us-west1", "us-west1"),
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ] {
            assert_eq!(encode_value(plain), encoded);
            assert_eq!(decode_value(encoded.as_bytes()).unwrap(), plain);
        }
    }

    #[test]
    fn malformed_values() {
        use ValueDecodeError::*;
        assert_eq!(decode_value(b"=?base64?=").unwrap_err(), InvalidBase64);
        assert_eq!(
            decode_value(b"=?base64?SGVsbG8?=").unwrap_err(),
            InvalidBase64
        ); // no padding
        assert_eq!(
            decode_value(b"=?base64?SGVsbG9=?=").unwrap_err(),
            InvalidBase64
        ); // bad padding
        assert_eq!(
            decode_value(b"=?base64?SGVsbG8-?=").unwrap_err(),
            InvalidBase64
        ); // url alphabet
        assert_eq!(decode_value(b"=?base64?/w==?=").unwrap_err(), NotUtf8);
        assert_eq!(decode_value(b"caf\xc3\xa9").unwrap_err(), InvalidCharacters);
        assert_eq!(decode_value(b"a\x00b").unwrap_err(), InvalidCharacters);
        // Markers are case-sensitive: this is a plain value.
        assert_eq!(decode_value(b"=?BASE64?YQ==?=").unwrap(), "=?BASE64?YQ==?=");
        assert_eq!(decode_value(b"=?base64??=").unwrap(), "");
    }
}
