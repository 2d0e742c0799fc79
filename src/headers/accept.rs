//! A pure parser for the `Accept` request header ([RFC 9110 §12.5.1]) and the
//! media-range matching the headers layer needs.
//!
//! [RFC 9110 §12.5.1]: https://www.rfc-editor.org/rfc/rfc9110#section-12.5.1

use std::fmt;
use std::str::FromStr;

use http::{header, HeaderMap};

/// A parsed `Accept` header: the media ranges in the order the client listed them.
///
/// Parsing follows RFC 9110: a comma-separated list (empty elements allowed) of
/// `type/subtype` ranges with `;name=value` parameters, where `*/*` and `type/*`
/// are wildcards, names are case-insensitive, values are tokens or quoted
/// strings, and the `q` parameter is a weight from `0` to `1` with at most three
/// decimals. Anything else makes the whole header invalid.
///
/// Matching ([`Accept::quality`]) picks the most specific range that covers a
/// media type (`type/subtype` over `type/*` over `*/*`), so `application/json;q=0`
/// excludes JSON even when `*/*` is listed. Parameters other than `q` do not take
/// part in matching: `application/json; charset=utf-8` covers `application/json`.
/// Among equally specific ranges the highest weight wins.
///
/// ```ignore
/// // (crate-private: the same assertions run in `tests::doc_example`)
/// let accept: Accept = "application/json, text/*;q=0.5, text/plain;q=0".parse().unwrap();
/// assert!(accept.accepts("application/json"));
/// assert!(accept.accepts("text/event-stream"));
/// assert!(!accept.accepts("text/plain"));
/// assert!(!accept.accepts("image/png"));
/// assert_eq!(accept.quality("TEXT/Event-Stream"), 500);
/// assert_eq!(accept.to_string(), "application/json, text/*;q=0.5, text/plain;q=0");
/// assert!("application/json;q=2".parse::<Accept>().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Accept {
    ranges: Vec<MediaRange>,
}

/// One element of an `Accept` list: a media range, its parameters and its weight.
///
/// Type, subtype and parameter names are stored in lower case; parameter values
/// are stored unquoted, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MediaRange {
    type_: Box<str>,
    subtype: Box<str>,
    params: Vec<(Box<str>, Box<str>)>,
    quality: u16,
}

/// An `Accept` (or `Content-Type`) value that does not follow the RFC 9110 grammar.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid media type list at byte {position}: {reason}")]
pub(crate) struct InvalidAccept {
    position: usize,
    reason: &'static str,
}

impl Accept {
    /// Parses one header value.
    pub(crate) fn parse(value: &[u8]) -> Result<Self, InvalidAccept> {
        let mut ranges = Vec::new();
        let mut cur = Cursor::new(value);
        cur.parse_list(&mut ranges)?;
        Ok(Self { ranges })
    }

    /// Reads every `Accept` field of `headers` as one list (RFC 9110 §5.3).
    /// `None` when the request has no `Accept` header.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Result<Self, InvalidAccept>> {
        let mut values = headers.get_all(header::ACCEPT).iter().peekable();
        values.peek()?;
        let mut ranges = Vec::new();
        for value in values {
            if let Err(e) = Cursor::new(value.as_bytes()).parse_list(&mut ranges) {
                return Some(Err(e));
            }
        }
        Some(Ok(Self { ranges }))
    }

    /// The media ranges, in the order listed.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn ranges(&self) -> &[MediaRange] {
        &self.ranges
    }

    /// The weight (in thousandths, `0..=1000`) the client gives `media_type`
    /// (`"type/subtype"`, case-insensitive); `0` when no range covers it.
    pub(crate) fn quality(&self, media_type: &str) -> u16 {
        let Some((type_, subtype)) = media_type.split_once('/') else {
            return 0;
        };
        let mut best: Option<(u8, u16)> = None;
        for range in &self.ranges {
            let level = if &*range.type_ == "*" {
                1
            } else if !range.type_.eq_ignore_ascii_case(type_) {
                continue;
            } else if &*range.subtype == "*" {
                2
            } else if range.subtype.eq_ignore_ascii_case(subtype) {
                3
            } else {
                continue;
            };
            best = match best {
                Some((l, q)) if l > level || (l == level && q >= range.quality) => Some((l, q)),
                _ => Some((level, range.quality)),
            };
        }
        best.map_or(0, |(_, q)| q)
    }

    /// True when `media_type` (`"type/subtype"`) is acceptable, i.e. has a weight above zero.
    pub(crate) fn accepts(&self, media_type: &str) -> bool {
        self.quality(media_type) > 0
    }
}

impl FromStr for Accept {
    type Err = InvalidAccept;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s.as_bytes())
    }
}

impl fmt::Display for Accept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, range) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            fmt::Display::fmt(range, f)?;
        }
        Ok(())
    }
}

impl MediaRange {
    /// Parses a single media type or range with nothing around it but whitespace
    /// (the form of a `Content-Type` value).
    pub(crate) fn parse(value: &[u8]) -> Result<Self, InvalidAccept> {
        let mut cur = Cursor::new(value);
        cur.skip_ows();
        let range = cur.media_range()?;
        cur.skip_ows();
        if cur.peek().is_some() {
            return Err(cur.error("trailing characters after the media type"));
        }
        Ok(range)
    }

    /// The type, lower case; `*` for `*/*`.
    pub(crate) fn type_(&self) -> &str {
        &self.type_
    }

    /// The subtype, lower case; `*` for a wildcard.
    pub(crate) fn subtype(&self) -> &str {
        &self.subtype
    }

    /// The parameters other than `q`, names lower case, values unquoted.
    #[cfg(test)]
    pub(crate) fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (&**n, &**v))
    }

    /// The weight in thousandths (`q=0.5` is 500); 1000 when `q` is absent.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn quality(&self) -> u16 {
        self.quality
    }

    /// True when this is `type/subtype` (case-insensitive).
    pub(crate) fn is(&self, type_: &str, subtype: &str) -> bool {
        self.type_.eq_ignore_ascii_case(type_) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.type_, self.subtype)?;
        for (name, value) in &self.params {
            write!(f, ";{name}=")?;
            if !value.is_empty() && value.bytes().all(is_tchar) {
                f.write_str(value)?;
            } else {
                f.write_str("\"")?;
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")?;
            }
        }
        if self.quality != 1000 {
            let mut digits = format!("{:03}", self.quality);
            while digits.ends_with('0') {
                digits.pop();
            }
            if digits.is_empty() {
                f.write_str(";q=0")?;
            } else {
                write!(f, ";q=0.{digits}")?;
            }
        }
        Ok(())
    }
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn error(&self, reason: &'static str) -> InvalidAccept {
        InvalidAccept {
            position: self.pos,
            reason,
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), InvalidAccept> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    /// `1*tchar`, as sent.
    fn token(&mut self, reason: &'static str) -> Result<&'a str, InvalidAccept> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.error(reason));
        }
        // tchar is ASCII, so the slice is valid UTF-8.
        std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|_| self.error(reason))
    }

    /// `#element`: elements separated by commas, empty elements allowed.
    fn parse_list(&mut self, out: &mut Vec<MediaRange>) -> Result<(), InvalidAccept> {
        loop {
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {
                    self.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            out.push(self.media_range()?);
            self.skip_ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => self.pos += 1,
                Some(_) => return Err(self.error("expected ',' between media ranges")),
            }
        }
    }

    /// `media-range [ weight ]` with its parameters.
    fn media_range(&mut self) -> Result<MediaRange, InvalidAccept> {
        let type_ = self.token("expected a media type")?.to_ascii_lowercase();
        self.expect(b'/', "expected '/' after the media type")?;
        let subtype = self.token("expected a media subtype")?.to_ascii_lowercase();
        if type_ == "*" && subtype != "*" {
            return Err(self.error("a wildcard type needs a wildcard subtype"));
        }
        let mut params = Vec::new();
        let mut quality = None;
        loop {
            let save = self.pos;
            self.skip_ows();
            if self.peek() != Some(b';') {
                self.pos = save;
                break;
            }
            self.pos += 1;
            self.skip_ows();
            if matches!(self.peek(), None | Some(b',' | b';')) {
                continue; // `[ parameter ]` may be empty
            }
            let name = self
                .token("expected a parameter name")?
                .to_ascii_lowercase();
            self.expect(b'=', "expected '=' after the parameter name")?;
            if name == "q" {
                if quality.is_some() {
                    return Err(self.error("repeated weight"));
                }
                quality = Some(self.qvalue()?);
            } else {
                let value = if self.peek() == Some(b'"') {
                    self.quoted_string()?
                } else {
                    self.token("expected a parameter value")?.to_owned()
                };
                params.push((name.into_boxed_str(), value.into_boxed_str()));
            }
        }
        Ok(MediaRange {
            type_: type_.into_boxed_str(),
            subtype: subtype.into_boxed_str(),
            params,
            quality: quality.unwrap_or(1000),
        })
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
    fn qvalue(&mut self) -> Result<u16, InvalidAccept> {
        let whole = match self.peek() {
            Some(b'0') => 0u16,
            Some(b'1') => 1,
            _ => return Err(self.error("a weight must be between 0 and 1")),
        };
        self.pos += 1;
        let mut thousandths = 0u16;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let mut scale = 100u16;
            let mut count = 0;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                count += 1;
                if count > 3 {
                    return Err(self.error("a weight has at most three decimals"));
                }
                thousandths += u16::from(d - b'0') * scale;
                scale /= 10;
                self.pos += 1;
            }
        }
        if whole == 1 && thousandths != 0 {
            return Err(self.error("a weight must be between 0 and 1"));
        }
        if self
            .peek()
            .is_some_and(|b| !matches!(b, b' ' | b'\t' | b';' | b','))
        {
            return Err(self.error("unexpected character in a weight"));
        }
        Ok(whole * 1000 + thousandths)
    }

    /// `quoted-string`, returning the unescaped content. Non-ASCII (obs-text) is refused.
    fn quoted_string(&mut self) -> Result<String, InvalidAccept> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b @ (b'\t' | b' '..=b'~')) => {
                            out.push(char::from(b));
                            self.pos += 1;
                        }
                        _ => return Err(self.error("invalid escape in a quoted string")),
                    }
                }
                Some(b @ (b'\t' | b' '..=b'~')) => {
                    out.push(char::from(b));
                    self.pos += 1;
                }
                Some(_) => return Err(self.error("invalid character in a quoted string")),
            }
        }
    }
}

/// The oracle of the `accept` fuzz target (what holds for any input): what
/// parses prints back to an equal value, weights stay in range, and several
/// fields mean the same as one joined with `, `.
#[cfg(any(test, fuzzing))]
pub(crate) fn oracle(data: &[u8]) {
    if let Ok(a) = Accept::parse(data) {
        let printed = a.to_string();
        let again =
            Accept::parse(printed.as_bytes()).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
        assert_eq!(again, a, "{printed:?}");
        assert_eq!(again.to_string(), printed);
        for media in [
            "application/json",
            "text/event-stream",
            "TEXT/EVENT-STREAM",
            "x/y",
            "nonsense",
        ] {
            let q = a.quality(media);
            assert!(q <= 1000);
            assert_eq!(a.accepts(media), q > 0);
        }
        for r in a.ranges() {
            assert!(r.quality() <= 1000);
            assert!(r.type_() != "*" || r.subtype() == "*");
        }
    }
    if let Ok(m) = MediaRange::parse(data) {
        let printed = m.to_string();
        assert_eq!(
            MediaRange::parse(printed.as_bytes()).as_ref(),
            Ok(&m),
            "{printed:?}"
        );
    }
    // Several fields form one list: the same as joining them with ", ".
    let lines: Vec<&[u8]> = data.splitn(4, |&b| b == 0).collect();
    let mut headers = HeaderMap::new();
    for line in &lines {
        match http::HeaderValue::from_bytes(line) {
            Ok(v) => {
                headers.append(header::ACCEPT, v);
            }
            Err(_) => return,
        }
    }
    let joined = lines.join(&b", "[..]);
    match (Accept::from_headers(&headers), Accept::parse(&joined)) {
        (Some(Ok(a)), Ok(b)) => assert_eq!(a, b),
        (Some(Ok(a)), Err(e)) => panic!("fields parse to {a} but joined fails: {e}"),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
