//! What a JSON answer says about its request: a JSON-RPC error code, or a
//! tool result with `isError`. The semantic conventions put these in
//! `error.type` and `rpc.response.status_code`.
//!
//! Only a measured answer to a request is read, as it passes: an
//! `application/json` body of up to [`MAX_SCAN`] bytes, or a
//! `text/event-stream` body one `message` event at a time (each event up
//! to [`MAX_SCAN`]), where the event that carries the JSON-RPC response
//! decides. Both are read with the crate's one answer parser
//! (`src/answer.rs`), which the session and headers layers use too.

use crate::answer::{Answer, Fed, SseEvents};

/// Longest answer read for its outcome.
pub(crate) const MAX_SCAN: usize = 64 * 1024;

/// The outcome of a JSON-RPC answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A JSON-RPC error with this code and message.
    Error { code: i64, message: Option<String> },
    /// A `CallToolResult` with `isError: true`.
    ToolError,
}

impl Outcome {
    /// The `error.type`, unless the code is one the conventions say is the
    /// caller's (a request the server could not serve): parse error, invalid
    /// request, method not found, invalid params (also an unknown tool),
    /// resource not found.
    pub(crate) fn error_type(&self) -> Option<String> {
        match self {
            Self::Error { code, .. } if caller_error(*code) => None,
            Self::Error { code, .. } => Some(code.to_string()),
            Self::ToolError => Some("tool_error".to_owned()),
        }
    }

    /// [`error_type`](Self::error_type) as a bounded label value: a code
    /// outside the specification's is `_OTHER`.
    pub(crate) fn error_label(&self) -> Option<&'static str> {
        match self {
            Self::Error { code, .. } if caller_error(*code) => None,
            Self::Error { code, .. } => Some(super::labels::error_code(*code)),
            Self::ToolError => Some("tool_error"),
        }
    }

    /// [`status_code`](Self::status_code) as a bounded label value.
    pub(crate) fn status_label(&self) -> Option<&'static str> {
        match self {
            Self::Error { code, .. } => Some(super::labels::error_code(*code)),
            Self::ToolError => None,
        }
    }

    /// `rpc.response.status_code`: the code of any JSON-RPC error.
    pub(crate) fn status_code(&self) -> Option<String> {
        match self {
            Self::Error { code, .. } => Some(code.to_string()),
            Self::ToolError => None,
        }
    }

    /// The span status description.
    pub(crate) fn message(&self) -> &str {
        match self {
            Self::Error { message, .. } => message.as_deref().unwrap_or(""),
            Self::ToolError => "the tool reported an error",
        }
    }
}

fn caller_error(code: i64) -> bool {
    matches!(code, -32700 | -32600 | -32601 | -32602 | -32002)
}

/// Reads an answer's bytes as they pass.
#[derive(Debug)]
pub(crate) enum Reader {
    /// What an inner layer already read of the answer (it is not parsed again).
    Known(Option<Outcome>),
    /// A JSON body, whole.
    Json(Vec<u8>),
    /// An event stream, read by the crate's one event-stream reader, and the
    /// outcome of its `message` events so far.
    Sse {
        events: SseEvents,
        outcome: Option<Outcome>,
    },
}

impl Reader {
    pub(crate) fn json() -> Self {
        Self::Json(Vec::new())
    }

    /// The outcome an inner layer found when it read the answer.
    pub(crate) fn known(read: &crate::observe::AnswerRead) -> Self {
        Self::Known(match &read.error {
            Some(error) => Some(Outcome::Error {
                code: error.code,
                message: error.message.clone(),
            }),
            None => read.tool_error.then_some(Outcome::ToolError),
        })
    }

    pub(crate) fn sse() -> Self {
        Self::Sse {
            events: SseEvents::new(MAX_SCAN),
            outcome: None,
        }
    }

    /// Takes the next bytes; false when the answer is too long to read.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> bool {
        match self {
            Self::Known(_) => true,
            Self::Json(body) => {
                body.extend_from_slice(bytes);
                body.len() <= MAX_SCAN
            }
            Self::Sse { events, outcome } => {
                // Every complete event is read; a response in it decides.
                let fed = events.feed(bytes, |data| {
                    if let Some(found) = self::outcome(data) {
                        *outcome = Some(found);
                    }
                    None::<()>
                });
                fed != Fed::TooLarge
            }
        }
    }

    /// What the answer said, once it has ended.
    pub(crate) fn finish(self) -> Option<Outcome> {
        match self {
            Self::Known(outcome) => outcome,
            Self::Json(body) => outcome(&body),
            Self::Sse { outcome, .. } => outcome,
        }
    }
}

/// The outcome `body` reports, if it is a JSON-RPC error or a tool error.
/// Anything else (a result, a batch, not JSON) reports none.
pub(crate) fn outcome(body: &[u8]) -> Option<Outcome> {
    let answer = Answer::parse(body)?;
    if let Some(error) = answer.error() {
        return Some(Outcome::Error {
            code: error.code,
            message: error.message,
        });
    }
    (answer.result_member::<bool>("isError") == Some(true)).then_some(Outcome::ToolError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semconv_server_errors_set_error_type_and_caller_errors_only_the_code() {
        let server =
            outcome(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"boom"}}"#)
                .unwrap();
        assert_eq!(server.error_type().as_deref(), Some("-32603"));
        assert_eq!(server.status_code().as_deref(), Some("-32603"));
        assert_eq!(server.message(), "boom");
        let caller = outcome(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no such tool"}}"#,
        )
        .unwrap();
        assert_eq!(caller.error_type(), None);
        assert_eq!(caller.status_code().as_deref(), Some("-32602"));
    }

    #[test]
    fn sse_answers_are_read_event_by_event_across_chunks() {
        let stream = b": priming\r\n\r\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\nid: 7\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\n\
data: \"error\":{\"code\":-32603,\"message\":\"late\"}}\n\n";
        for split in [1, 7, 40, stream.len()] {
            let mut reader = Reader::sse();
            for chunk in stream.chunks(split) {
                assert!(reader.feed(chunk));
            }
            let outcome = reader.finish().expect("the response event decides");
            assert_eq!(
                outcome.error_type().as_deref(),
                Some("-32603"),
                "split {split}"
            );
            assert_eq!(outcome.message(), "late");
        }
        let mut reader = Reader::sse();
        assert!(
            !reader.feed(&vec![b'x'; MAX_SCAN + 1]),
            "an endless line is given up"
        );
    }

    #[test]
    fn semconv_is_error_results_are_tool_errors() {
        let tool = outcome(br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"x"}],"isError":true}}"#);
        assert_eq!(tool, Some(Outcome::ToolError));
        assert_eq!(tool.unwrap().error_type().as_deref(), Some("tool_error"));
        assert_eq!(
            outcome(br#"{"jsonrpc":"2.0","id":1,"result":{"isError":false}}"#),
            None
        );
        assert_eq!(outcome(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
        assert_eq!(outcome(b"not json"), None);
        assert_eq!(outcome(br#"[{"jsonrpc":"2.0","id":1,"result":{}}]"#), None);
    }
}
