//! The forwarding headers a trusted proxy sets: the last `X-Forwarded-Host`
//! value and the host of the last `Forwarded` element (RFC 7239).

/// The last value of a comma-separated header that may appear on several lines
/// (`X-Forwarded-Host`): the one the closest proxy appended.
pub(crate) fn last_list_value<'a, I>(lines: I) -> Result<Option<&'a [u8]>, &'static str>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut last = None;
    for line in lines {
        last = Some(line);
    }
    let Some(line) = last else {
        return Ok(None);
    };
    let value = line.rsplit(|&b| b == b',').next().unwrap_or(line);
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err("empty X-Forwarded-Host value");
    }
    Ok(Some(value))
}

/// `tchar` of RFC 9110 section 5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Reads RFC 7239 `Forwarded` header lines and returns the `host` parameter of
/// the **last** element (the one the closest proxy wrote), or `None` when that
/// element has no `host`. Quoted strings and escapes are handled; a syntax error
/// anywhere is an error, as is a repeated parameter within one element.
pub(crate) fn forwarded_last_host<'a, I>(lines: I) -> Result<Option<String>, &'static str>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut last_host = None;
    let mut seen_any = false;
    for line in lines {
        if line
            .iter()
            .any(|&b| b >= 0x80 || (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err("invalid byte in Forwarded header");
        }
        let mut p = Cursor { s: line, i: 0 };
        // One element per iteration; an element is `pair *( ";" pair )`, and
        // elements are separated by ",". Empty elements are tolerated (RFC 9110 lists).
        loop {
            p.skip_ows();
            if p.eof() {
                break;
            }
            let mut host: Option<String> = None;
            // Parameters seen in this element: a bit each for the four of RFC 7239
            // (`by`, `for`, `host`, `proto`); others are counted, not remembered,
            // so an element with many parameters costs linear time (finding F3).
            let mut seen: u8 = 0;
            let mut params = 0usize;
            loop {
                p.skip_ows();
                match p.peek() {
                    None | Some(b',') => break,
                    Some(b';') => {
                        p.i += 1;
                        continue;
                    }
                    Some(_) => {}
                }
                let name = p
                    .token()
                    .ok_or("invalid parameter name in Forwarded header")?;
                if p.peek() != Some(b'=') {
                    return Err("missing '=' in Forwarded header");
                }
                p.i += 1;
                let value = p.value()?;
                params += 1;
                let bit = [&b"by"[..], b"for", b"host", b"proto"]
                    .iter()
                    .position(|known| name.eq_ignore_ascii_case(known))
                    .map_or(0, |i| 1u8 << i);
                if seen & bit != 0 {
                    return Err("repeated parameter in a Forwarded element");
                }
                seen |= bit;
                if bit == 1 << 2 {
                    host = Some(value);
                }
                p.skip_ows();
                match p.peek() {
                    None | Some(b',') => break,
                    Some(b';') => p.i += 1,
                    Some(_) => return Err("unexpected character in Forwarded header"),
                }
            }
            // Empty list elements are ignored (RFC 9110 section 5.6.1).
            if params > 0 {
                seen_any = true;
                last_host = host;
            }
            if p.peek() == Some(b',') {
                p.i += 1;
            }
        }
    }
    if !seen_any {
        return Ok(None);
    }
    Ok(last_host)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        self.s.get(start..self.i).filter(|t| !t.is_empty())
    }

    /// A value: a quoted string, or a run of visible characters other than
    /// `;`, `,` and `"`. (RFC 7239 wants `host="a:1"` quoted; proxies often
    /// send it bare, and the result is validated as a host anyway.)
    fn value(&mut self) -> Result<String, &'static str> {
        if self.peek() == Some(b'"') {
            self.i += 1;
            let mut out = Vec::new();
            loop {
                match self.peek() {
                    None => return Err("unterminated quoted string in Forwarded header"),
                    Some(b'"') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let escaped = self
                            .peek()
                            .ok_or("unterminated quoted string in Forwarded header")?;
                        out.push(escaped);
                        self.i += 1;
                    }
                    Some(b) => {
                        out.push(b);
                        self.i += 1;
                    }
                }
            }
            String::from_utf8(out).map_err(|_| "invalid byte in Forwarded header")
        } else {
            let start = self.i;
            while self
                .peek()
                .is_some_and(|b| b > 0x20 && b < 0x7f && !matches!(b, b';' | b',' | b'"'))
            {
                self.i += 1;
            }
            let raw = self.s.get(start..self.i).unwrap_or_default();
            if raw.is_empty() {
                return Err("empty value in Forwarded header");
            }
            String::from_utf8(raw.to_vec()).map_err(|_| "invalid byte in Forwarded header")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_forwarded_host_takes_the_last_value() {
        let lines: [&[u8]; 2] = [b"evil.com, first.example", b"a.example, mcp.example.com "];
        assert_eq!(
            last_list_value(lines).unwrap(),
            Some(&b"mcp.example.com"[..])
        );
        assert_eq!(last_list_value([]).unwrap(), None);
        assert!(last_list_value([&b"a.example, "[..]]).is_err());
        assert!(last_list_value([&b""[..]]).is_err());
    }

    #[test]
    fn forwarded_header_table() {
        // (header lines, expected host of the last element)
        type Lines<'a> = &'a [&'a [u8]];
        let rows: &[(Lines<'_>, Result<Option<&str>, ()>)] = &[
            (&[b"host=example.com"], Ok(Some("example.com"))),
            (&[b"Host=example.com"], Ok(Some("example.com"))),
            (
                &[b"for=192.0.2.60;proto=http;host=\"example.com:8080\""],
                Ok(Some("example.com:8080")),
            ),
            (
                &[b"host=evil.com, for=10.0.0.1;host=good.example"],
                Ok(Some("good.example")),
            ),
            (
                &[b"host=evil.com", b"for=10.0.0.1; host=good.example"],
                Ok(Some("good.example")),
            ),
            // the closest proxy did not set host: nothing to use
            (&[b"host=evil.com, for=10.0.0.1"], Ok(None)),
            (
                &[b"for=\"[2001:db8::1]:443\";host=\"a,b;c\""],
                Ok(Some("a,b;c")),
            ),
            (&[b"host=\"ex\\\"ample\""], Ok(Some("ex\"ample"))),
            (&[b"host=\"[::1]:3000\""], Ok(Some("[::1]:3000"))),
            (&[b" , host=a.example ,"], Ok(Some("a.example"))),
            (&[b"host=a.example, ,", b""], Ok(Some("a.example"))),
            (&[b"for=1.2.3.4;;host=a.example"], Ok(Some("a.example"))),
            (&[], Ok(None)),
            // syntax errors
            (&[b"host"], Err(())),
            (&[b"host="], Err(())),
            (&[b"host=\"unterminated"], Err(())),
            (&[b"host=a host=b"], Err(())),
            (&[b"host=a;host=b"], Err(())),
            (&[b"ho st=a"], Err(())),
            (&[b"host=a\"b\""], Err(())),
            (&[b"host=\xff"], Err(())),
            (&[b"=a"], Err(())),
        ];
        for (lines, want) in rows {
            let got = forwarded_last_host(lines.iter().copied());
            let got = got.as_ref().map(|o| o.as_deref()).map_err(|_| ());
            assert_eq!(got, *want, "Forwarded {lines:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = forwarded_last_host([&input[..]]);
            let _ = last_list_value([&input[..]]);
        }
    }
}
