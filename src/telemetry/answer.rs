//! What a JSON answer says about its request: a JSON-RPC error code, or a
//! tool result with `isError`. The semantic conventions put these in
//! `error.type` and `rpc.response.status_code`.
//!
//! Only a measured `application/json` answer to a request is read, as it
//! passes, up to [`MAX_SCAN`] bytes; SSE answers are not read.

use serde::Deserialize;

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

#[derive(Deserialize)]
struct Answer {
    error: Option<ErrorObject>,
    result: Option<ToolResult>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: i64,
    message: Option<String>,
}

#[derive(Deserialize)]
struct ToolResult {
    #[serde(rename = "isError")]
    is_error: Option<bool>,
}

/// The outcome `body` reports, if it is a JSON-RPC error or a tool error.
/// Anything else (a result, a batch, not JSON) reports none.
pub(crate) fn outcome(body: &[u8]) -> Option<Outcome> {
    let answer: Answer = serde_json::from_slice(body).ok()?;
    match (answer.error, answer.result) {
        (Some(e), _) => Some(Outcome::Error {
            code: e.code,
            message: e.message,
        }),
        (
            None,
            Some(ToolResult {
                is_error: Some(true),
            }),
        ) => Some(Outcome::ToolError),
        _ => None,
    }
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
