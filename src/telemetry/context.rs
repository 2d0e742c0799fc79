//! W3C Trace Context: a `traceparent` (and its `tracestate`) read into a
//! remote OpenTelemetry [`SpanContext`], from HTTP headers or `_meta`.
//!
//! Parsed here rather than through a configured propagator so that the rule
//! holds with no setup, and so that the same code reads both carriers.

use std::str::FromStr;

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// Longest `tracestate` kept: W3C allows 32 members of up to 256 bytes each,
/// and says a longer one may be dropped.
const MAX_TRACESTATE: usize = 8192;

/// The remote context a valid `traceparent` names, with `tracestate` when
/// that is valid too (an invalid one is dropped, as W3C allows; the parent
/// still holds). `None` for anything W3C says to ignore.
pub(crate) fn remote(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
    let mut fields = traceparent.trim_matches([' ', '\t']).split('-');
    let version = fields.next()?;
    let trace_id = fields.next()?;
    let span_id = fields.next()?;
    let flags = fields.next()?;
    // Version 00 has exactly four fields; a later version may append more,
    // and is read as version 00 ("ff" is forbidden).
    if !is_hex(version, 2) || version == "ff" || (version == "00" && fields.next().is_some()) {
        return None;
    }
    if !is_hex(trace_id, 32) || !is_hex(span_id, 16) || !is_hex(flags, 2) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace_id).ok()?;
    let span_id = SpanId::from_hex(span_id).ok()?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()? & TraceFlags::SAMPLED.to_u8();
    let state = tracestate
        .filter(|s| s.len() <= MAX_TRACESTATE)
        .and_then(|s| TraceState::from_str(s).ok())
        .unwrap_or_default();
    Some(SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        state,
    ))
}

/// `len` lowercase hex digits (W3C: uppercase is invalid).
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn w3c_traceparent_is_read_with_its_tracestate() {
        let cx = remote(VALID, Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")).unwrap();
        assert_eq!(
            cx.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        assert_eq!(cx.span_id(), SpanId::from_hex("b7ad6b7169203331").unwrap());
        assert!(cx.is_sampled() && cx.is_remote());
        assert_eq!(cx.trace_state().get("rojo"), Some("00f067aa0ba902b7"));
    }

    #[test]
    fn w3c_invalid_traceparents_are_ignored() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", // uppercase
            "00-00000000000000000000000000000000-b7ad6b7169203331-01", // zero trace id
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", // zero span id
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", // forbidden version
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", // 00 has four fields
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333z-01",
        ] {
            assert!(remote(bad, None).is_none(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn w3c_later_versions_are_read_as_version_00() {
        let cx = remote(
            "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds",
            None,
        )
        .unwrap();
        assert_eq!(cx.span_id(), SpanId::from_hex("b7ad6b7169203331").unwrap());
    }

    #[test]
    fn w3c_an_invalid_tracestate_is_dropped_and_the_parent_kept() {
        let cx = remote(VALID, Some("not a list member")).unwrap();
        assert_eq!(cx.trace_state().header(), "");
        let cx = remote(VALID, Some(&"a=b,".repeat(3000))).unwrap();
        assert_eq!(cx.trace_state().header(), "");
    }

    #[test]
    fn unknown_flags_keep_only_the_sampled_bit() {
        let cx = remote(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-fe",
            None,
        )
        .unwrap();
        assert!(!cx.is_sampled());
        assert_eq!(cx.trace_flags().to_u8(), 0);
    }
}
