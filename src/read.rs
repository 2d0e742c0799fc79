//! Reading a POST body once, within [`BodyLimits`], and leaving its parsed
//! [`Envelope`] in the request extensions for every later layer and the
//! handler; the bytes are handed on in the body's own type ([`ReplayBody`]).
//!
//! The headers layer reads it, with the one limits setting
//! ([`McpHeadersLayer::body_limits`](crate::McpHeadersLayer::body_limits)).
//! The auth and session layers find the envelope it left; composed without
//! the headers layer, they read the body through the same `read_post`
//! under the default limits.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::request::Parts;
use http::{header, HeaderMap, Request};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::body::ReplayBody;
use crate::envelope::Envelope;
use crate::rejection::{Rejection, RejectionKind};

/// How much of a POST body the layers read, and for how long. Built valid
/// ([`BodyLimits::new`]), so a layer that takes one has nothing left to check.
///
/// ```
/// use std::time::Duration;
/// use mcp_tower_guard::read::BodyLimits;
///
/// let limits = BodyLimits::new(64 * 1024, Some(Duration::from_secs(5)))?;
/// assert_eq!(limits.max_bytes(), 65_536);
/// assert!(BodyLimits::new(0, None).is_err());
/// # Ok::<(), mcp_tower_guard::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    max_bytes: usize,
    read_timeout: Option<Duration>,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            read_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl BodyLimits {
    /// Limits of `max_bytes` (larger gets 413) and `read_timeout` for the
    /// whole body (slower gets 408; `None` disables it).
    ///
    /// # Errors
    ///
    /// A zero `max_bytes`, or a zero `read_timeout`.
    pub fn new(
        max_bytes: usize,
        read_timeout: Option<Duration>,
    ) -> Result<Self, crate::ConfigError> {
        if max_bytes == 0 {
            return Err(crate::ConfigError::InvalidSetting {
                setting: "max_body_bytes",
                reason: "the body limit must be at least one byte".to_owned(),
            });
        }
        if read_timeout == Some(Duration::ZERO) {
            return Err(crate::ConfigError::InvalidSetting {
                setting: "body_read_timeout",
                reason: "the read timeout must be longer than zero (use None to disable it)"
                    .to_owned(),
            });
        }
        Ok(Self {
            max_bytes,
            read_timeout,
        })
    }

    /// Largest body accepted; larger gets 413. Default 4 MiB.
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Time allowed to receive the whole body; slower gets 408. Default 30 s.
    pub const fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout
    }

    /// The 413 rejection when `Content-Length` already announces too many bytes.
    pub(crate) fn check_content_length(&self, headers: &HeaderMap) -> Result<(), Rejection> {
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| decimal(v.as_bytes()));
        match announced {
            Some(n) if n > self.max_bytes as u64 => Err(self.too_large()),
            _ => Ok(()),
        }
    }

    fn too_large(&self) -> Rejection {
        Rejection::new(
            RejectionKind::PayloadTooLarge,
            format!("Request body exceeds {} bytes", self.max_bytes),
        )
    }
}

/// A `Content-Length` value: decimal digits between optional spaces or tabs;
/// `None` for anything else (the read itself then enforces the limit).
fn decimal(value: &[u8]) -> Option<u64> {
    let trimmed = value.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    trimmed.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

pin_project! {
    /// Reads a request body into one buffer within [`BodyLimits`], then parses the
    /// envelope and rebuilds the request with the same bytes in the same body type.
    pub(crate) struct ReadEnvelope<B> {
        #[pin]
        body: B,
        parts: Option<Parts>,
        first: Option<Bytes>,
        rest: BytesMut,
        limits: BodyLimits,
        // The read's timer, started the first time the body makes us wait
        // (most bodies are complete when the head arrives, and then no clock
        // is read), and boxed: inline it would add its 112 bytes to every
        // future that holds a read, and to each move of one.
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
        // A finished read held back for one poll (feature `telemetry`: the
        // request span got its parent from the body and is entered on the
        // next poll, before the request moves on).
        parked: Option<Box<Request<B>>>,
    }
}

impl<B> ReadEnvelope<B> {
    /// Starts reading; the caller has already checked `Content-Length`.
    pub(crate) fn new(req: Request<B>, limits: BodyLimits) -> Self {
        let (parts, body) = req.into_parts();
        Self {
            body,
            parts: Some(parts),
            first: None,
            rest: BytesMut::new(),
            limits,
            deadline: None,
            parked: None,
        }
    }
}

/// A request refused while reading its envelope, with its head for logging.
pub(crate) type ReadRejected = (Parts, Rejection);

/// A POST body some layer must read: refused at once when its
/// `Content-Length` is over the limit (413, before a byte is read), else read.
#[allow(clippy::result_large_err)] // the parts go back by value, as `ReadEnvelope`'s own error does
pub(crate) fn read_post<B>(
    req: Request<B>,
    limits: BodyLimits,
) -> Result<ReadEnvelope<B>, ReadRejected> {
    match limits.check_content_length(req.headers()) {
        Ok(()) => Ok(ReadEnvelope::new(req, limits)),
        Err(rejection) => Err((req.into_parts().0, rejection)),
    }
}

impl<B> Future for ReadEnvelope<B>
where
    B: Body + ReplayBody,
{
    type Output = Result<Request<B>, ReadRejected>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(request) = this.parked.take() {
            return Poll::Ready(Ok(*request));
        }
        let outcome = loop {
            match this.body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue; // trailers carry no JSON
                    };
                    let mut data = data;
                    let chunk = data.copy_to_bytes(data.remaining());
                    let held = this.first.as_ref().map_or(0, Bytes::len) + this.rest.len();
                    if held + chunk.len() > this.limits.max_bytes {
                        break Err(this.limits.too_large());
                    }
                    match this.first.take() {
                        None if this.rest.is_empty() => *this.first = Some(chunk),
                        first => {
                            if let Some(first) = first {
                                this.rest.extend_from_slice(&first);
                            }
                            this.rest.extend_from_slice(&chunk);
                        }
                    }
                }
                Poll::Ready(Some(Err(_))) => {
                    break Err(Rejection::new(
                        RejectionKind::BodyReadFailed,
                        "Request body could not be read",
                    ))
                }
                Poll::Ready(None) => {
                    let bytes = match this.first.take() {
                        Some(first) => first,
                        None => std::mem::take(this.rest).freeze(),
                    };
                    break Ok(bytes);
                }
                Poll::Pending => {
                    if this.deadline.is_none() {
                        *this.deadline = this
                            .limits
                            .read_timeout
                            .map(|t| Box::pin(tokio::time::sleep(t)));
                    }
                    if let Some(deadline) = this.deadline.as_mut() {
                        ready!(deadline.as_mut().poll(cx));
                        break Err(Rejection::new(
                            RejectionKind::BodyTimeout,
                            "Request body not received in time",
                        ));
                    }
                    return Poll::Pending;
                }
            }
        };
        let Some(mut parts) = this.parts.take() else {
            crate::future::spent();
        };
        Poll::Ready(match outcome {
            Ok(bytes) => match Envelope::parse_bytes(bytes.clone()) {
                Ok(envelope) => {
                    let park = crate::observe::envelope(&parts.extensions, &envelope);
                    parts.extensions.insert(envelope);
                    let request = Request::from_parts(parts, B::from_bytes(bytes));
                    if park {
                        *this.parked = Some(Box::new(request));
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    Ok(request)
                }
                Err(e) => Err((parts, Rejection::from(e))),
            },
            Err(rejection) => Err((parts, rejection)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An announced length over the limit is refused before a byte is read
    /// (413); anything that is not plain decimal is left to the read.
    #[test]
    fn content_length_is_read_as_decimal() {
        for (value, want) in [
            (&b"1024"[..], Some(1024)),
            (b" 7\t", Some(7)),
            (b"0", Some(0)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"", None),
            (b" ", None),
            (b"+5", None),
            (b"-5", None),
            (b"1 2", None),
            (b"0x10", None),
        ] {
            assert_eq!(decimal(value), want, "{:?}", String::from_utf8_lossy(value));
        }
        let limits = BodyLimits::default();
        let mut headers = HeaderMap::new();
        let over = (limits.max_bytes + 1).to_string();
        headers.insert(header::CONTENT_LENGTH, over.parse().unwrap());
        let refused = limits.check_content_length(&headers).unwrap_err();
        assert_eq!(refused.kind(), RejectionKind::PayloadTooLarge);
        let at = limits.max_bytes.to_string();
        headers.insert(header::CONTENT_LENGTH, at.parse().unwrap());
        assert!(limits.check_content_length(&headers).is_ok());
    }

    #[tokio::test]
    async fn read_envelope_limits_and_replays() {
        use http_body_util::{BodyExt, Full};
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let req = Request::new(Full::new(Bytes::from(body)));
        let req = ReadEnvelope::new(req, BodyLimits::default()).await.unwrap();
        assert!(req.extensions().get::<Envelope>().is_some());
        let bytes = req.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(bytes, body.as_bytes());

        let limits = BodyLimits::new(10, None).unwrap();
        let req = Request::new(Full::new(Bytes::from(body)));
        let (_, rejection) = ReadEnvelope::new(req, limits).await.unwrap_err();
        assert_eq!(rejection.kind(), RejectionKind::PayloadTooLarge);
    }
}
