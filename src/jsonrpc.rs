//! The JSON-RPC 2.0 pieces every layer shares, with no JSON library: request
//! ids and the writer of error bodies. Parsing request bodies is
//! [`envelope`](crate::envelope)'s job (feature `envelope`).

use std::fmt::Write as _;

/// A JSON-RPC id.
///
/// Written back exactly as it was received: a numeric id keeps its JSON
/// text (`1`, `-7`, `1.5e3`, `18446744073709551616`), so an error response
/// names the very id the client sent.
///
/// ```
/// use mcp_tower_guard::jsonrpc::RequestId;
/// use mcp_tower_guard::{Rejection, RejectionKind};
///
/// let r = Rejection::new(RejectionKind::InvalidRequest, "no").with_id(RequestId::Number("1.5e3".into()));
/// assert!(r.to_json().ends_with(br#""id":1.5e3}"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestId {
    /// A string id.
    String(String),
    /// A numeric id, kept as its JSON text.
    Number(String),
    /// `null` (only valid on error responses).
    Null,
}

impl RequestId {
    /// Reads an id from its raw JSON text: a string, a number or `null`.
    #[cfg(feature = "envelope")]
    pub(crate) fn from_raw(raw: &serde_json::value::RawValue) -> Option<Self> {
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' => serde_json::from_str(text).ok().map(Self::String),
            b'n' => Some(Self::Null),
            b'-' | b'0'..=b'9' => Some(Self::Number(text.to_owned())),
            _ => None,
        }
    }

    /// The id's text: the string, or the number as sent; `None` for `null`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) | Self::Number(s) => Some(s),
            Self::Null => None,
        }
    }

    /// Appends the id as JSON. A `Number` holds the text of a JSON number
    /// (the parser only builds it from one); anything else is written as `null`
    /// so that the body stays valid JSON.
    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            Self::String(s) => write_str(out, s),
            Self::Number(text) if is_json_number(text) => out.push_str(text),
            Self::Number(_) | Self::Null => out.push_str("null"),
        }
    }
}

#[cfg(feature = "envelope")]
impl serde::Serialize for RequestId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(v) => s.serialize_str(v),
            Self::Number(text) => match serde_json::value::RawValue::from_string(text.clone()) {
                Ok(raw) => serde::Serialize::serialize(&raw, s),
                Err(_) => s.serialize_unit(),
            },
            Self::Null => s.serialize_unit(),
        }
    }
}

/// Appends `s` as a JSON string (RFC 8259 §7): `"` and `\` escaped, control
/// characters as `\n`-style or `\u00XX` escapes, everything else as is.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `text` is a JSON number (RFC 8259 §6 grammar).
fn is_json_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json() {
        let cases = [
            ("plain", r#""plain""#),
            ("a\"b\\c", r#""a\"b\\c""#),
            ("tab\tnl\ncr\r", r#""tab\tnl\ncr\r""#),
            ("\u{1}\u{1f}", r#""\u0001\u001f""#),
            ("\u{8}\u{c}", r#""\b\f""#),
            ("é ✓ \u{7f}", "\"é ✓ \u{7f}\""),
        ];
        for (input, want) in cases {
            let mut out = String::new();
            write_str(&mut out, input);
            assert_eq!(out, want);
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, input);
        }
    }

    #[test]
    fn number_grammar() {
        for ok in [
            "0",
            "-0",
            "1",
            "-7",
            "1.5",
            "1.5e3",
            "1E+9",
            "2e-1",
            "18446744073709551616",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x1", "1 ", "NaN", "1,2",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_written_back_as_sent() {
        let write = |id: RequestId| {
            let mut out = String::new();
            id.write_json(&mut out);
            out
        };
        assert_eq!(write(RequestId::Number("1.5e3".into())), "1.5e3");
        assert_eq!(write(RequestId::String("a\"b".into())), r#""a\"b""#);
        assert_eq!(write(RequestId::Null), "null");
        // Not a number: still valid JSON.
        assert_eq!(write(RequestId::Number("1}".into())), "null");
    }
}
