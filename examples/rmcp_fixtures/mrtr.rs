//! Multi round-trip requests (SEP-2322): flows that need input from the client
//! (elicitation, sampling, roots) before they can finish.
//!
//! A flow is a pure function of the client's `inputResponses` and the echoed
//! `requestState`: it either asks for more ([`Step::Ask`]) or finishes
//! ([`Step::Done`]). [`drive`] runs it for both eras: a `2026-07-28` peer gets
//! the `InputRequiredResult` and retries on its own; an older peer (a rmcp
//! session) gets the same inputs asked through server-to-client requests, and
//! the flow is re-run with the answers until it finishes.

// Sampling and roots are SEP-2577-deprecated in rmcp, yet the suite exercises them.
#![allow(deprecated)]

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities,
    CreateMessageResult, ElicitResult, InputRequest, InputRequests, InputRequiredResult,
    InputResponses, ListRootsResult, ProtocolVersion, ServerRequest,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Rounds a legacy peer is asked before a flow is given up (rmcp's client
/// default for MRTR is 10 as well).
const MAX_ROUNDS: usize = 10;

/// What a flow wants next.
pub enum Step<T> {
    /// Input the client must provide, plus the state to echo back.
    Ask(InputRequiredResult),
    /// The finished result.
    Done(T),
}

impl<T> Step<T> {
    /// Asks for `requests`, with `state` (if any) to be echoed on the retry.
    pub fn ask(requests: InputRequests, state: Option<String>) -> Self {
        Step::Ask(InputRequiredResult::new(Some(requests), state))
    }
}

/// Whether the request runs on the `2026-07-28` (stateless) protocol.
pub fn is_modern(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// Runs `flow` to completion for a legacy peer, or for one round for a
/// `2026-07-28` peer (whose client drives the retries itself).
pub async fn drive<T>(
    context: &RequestContext<RoleServer>,
    responses: Option<InputResponses>,
    state: Option<String>,
    flow: impl Fn(&InputResponses, Option<&str>) -> Result<Step<T>, McpError>,
) -> Result<Step<T>, McpError> {
    let mut responses = responses.unwrap_or_default();
    let mut state = state;
    if is_modern(context) {
        return flow(&responses, state.as_deref());
    }
    for _ in 0..MAX_ROUNDS {
        match flow(&responses, state.as_deref())? {
            Step::Done(done) => return Ok(Step::Done(done)),
            Step::Ask(ask) => {
                let requests = ask.input_requests.unwrap_or_default();
                responses.extend(ask_client(context, &requests).await?);
                state = ask.request_state;
            }
        }
    }
    Err(McpError::internal_error(
        format!("the flow did not finish in {MAX_ROUNDS} rounds"),
        None,
    ))
}

/// Runs a `tools/call` flow with the call's own `inputResponses` and
/// `requestState`, and shapes its outcome as the call's reply.
pub async fn tool_reply(
    context: &RequestContext<RoleServer>,
    params: &CallToolRequestParams,
    flow: impl Fn(&InputResponses, Option<&str>) -> Result<Step<CallToolResult>, McpError>,
) -> Result<CallToolResponse, McpError> {
    let step = drive(
        context,
        params.input_responses.clone(),
        params.request_state.clone(),
        flow,
    )
    .await?;
    Ok(match step {
        Step::Ask(ask) => CallToolResponse::InputRequired(ask),
        Step::Done(done) => CallToolResponse::Complete(done),
    })
}

/// Sends each input request to a legacy client on the calling request's
/// stream and collects the answers under the same keys.
async fn ask_client(
    context: &RequestContext<RoleServer>,
    requests: &InputRequests,
) -> Result<InputResponses, McpError> {
    let mut responses = InputResponses::new();
    for (key, request) in requests {
        let request = match request.clone() {
            InputRequest::CreateMessage(r) => ServerRequest::CreateMessageRequest(r),
            InputRequest::Elicitation(r) => ServerRequest::ElicitRequest(r),
            InputRequest::ListRoots(r) => ServerRequest::ListRootsRequest(r),
            other => {
                return Err(McpError::internal_error(
                    format!("input request {key} has no server-to-client form: {other:?}"),
                    None,
                ))
            }
        };
        let answer = context.peer.send_request(request).await.map_err(|e| {
            McpError::internal_error(format!("the client did not answer {key}: {e}"), None)
        })?;
        let answer = serde_json::to_value(answer)
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        responses.insert(key.clone(), answer);
    }
    Ok(responses)
}

/// Seals `requestState` so a tampered value is rejected (SEP-2322 requires
/// integrity for state the server relies on).
///
/// The tag is SipHash under a random per-process key: enough for a fixture
/// that restarts with every test run, and it needs no extra dependency. A
/// production server should enable rmcp's `request-state` feature and use its
/// HMAC-SHA256 `RequestStateCodec` instead.
#[derive(Debug, Default)]
pub struct Sealer {
    key: RandomState,
}

impl Sealer {
    /// `base64url(payload) "." hex(tag)`.
    pub fn seal(&self, payload: &Value) -> String {
        let body = URL_SAFE_NO_PAD.encode(payload.to_string());
        let tag = self.key.hash_one(body.as_bytes());
        format!("{body}.{tag:016x}")
    }

    /// The payload of a value [`Self::seal`] made, for flow `flow` only.
    pub fn open(&self, token: &str, flow: &str) -> Result<Value, McpError> {
        let tampered = || {
            McpError::invalid_params(
                "requestState failed its integrity check",
                Some(json!({ "requestState": token })),
            )
        };
        let (body, tag) = token.split_once('.').ok_or_else(tampered)?;
        if format!("{:016x}", self.key.hash_one(body.as_bytes())) != tag {
            return Err(tampered());
        }
        let payload: Value = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(tampered)?;
        if payload.get("flow").and_then(Value::as_str) != Some(flow) {
            return Err(McpError::invalid_params(
                "requestState belongs to another request",
                None,
            ));
        }
        Ok(payload)
    }
}

/// Builds an input request from its wire form (the suite's exact shapes).
fn input_request(wire: Value) -> Result<InputRequest, McpError> {
    serde_json::from_value(wire).map_err(|e| McpError::internal_error(e.to_string(), None))
}

/// `elicitation/create` for a form with `schema`.
pub fn elicit(message: &str, schema: Value) -> Result<InputRequest, McpError> {
    input_request(json!({
        "method": "elicitation/create",
        "params": { "mode": "form", "message": message, "requestedSchema": schema },
    }))
}

/// `elicitation/create` for one required string field.
pub fn elicit_string(message: &str, field: &str) -> Result<InputRequest, McpError> {
    elicit(
        message,
        json!({
            "type": "object",
            "properties": { field: { "type": "string" } },
            "required": [field],
        }),
    )
}

/// `sampling/createMessage` with one user text message.
pub fn sample(text: &str, max_tokens: u32) -> Result<InputRequest, McpError> {
    input_request(json!({
        "method": "sampling/createMessage",
        "params": {
            "messages": [{ "role": "user", "content": { "type": "text", "text": text } }],
            "maxTokens": max_tokens,
        },
    }))
}

/// `roots/list`.
pub fn list_roots() -> Result<InputRequest, McpError> {
    input_request(json!({ "method": "roots/list", "params": {} }))
}

/// Reads the answer to input `key` as a `T`, or `None` when the client did not
/// send one. A present but malformed answer is a protocol error (`-32602`).
fn answer<T: DeserializeOwned>(
    responses: &InputResponses,
    key: &str,
) -> Result<Option<Value>, McpError> {
    let Some(value) = responses.get(key) else {
        return Ok(None);
    };
    serde_json::from_value::<T>(value.clone()).map_err(|e| {
        McpError::invalid_params(
            format!("inputResponses.{key} is not a valid result: {e}"),
            Some(json!({ "key": key })),
        )
    })?;
    Ok(Some(value.clone()))
}

/// An answer to an elicitation input request.
#[derive(Debug)]
pub struct Elicited {
    /// `accept`, `decline` or `cancel`.
    pub action: String,
    /// The form content (`null` unless accepted).
    pub content: Value,
}

impl Elicited {
    /// A string field of the content, or a placeholder.
    pub fn field(&self, name: &str) -> &str {
        self.content
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("(not given)")
    }
}

impl std::fmt::Display for Elicited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "action={}, content={}", self.action, self.content)
    }
}

/// Elicitation answer `key`, or `None` when the client did not send one.
pub fn elicited(responses: &InputResponses, key: &str) -> Result<Option<Elicited>, McpError> {
    let Some(value) = answer::<ElicitResult>(responses, key)? else {
        return Ok(None);
    };
    let action = value
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("accept")
        .to_owned();
    let content = value.get("content").cloned().unwrap_or(Value::Null);
    Ok(Some(Elicited { action, content }))
}

/// The text the model produced for sampling answer `key`.
pub fn sampled(responses: &InputResponses, key: &str) -> Result<Option<String>, McpError> {
    Ok(answer::<CreateMessageResult>(responses, key)?.map(|v| {
        v.pointer("/content/text")
            .and_then(Value::as_str)
            .unwrap_or("(non-text reply)")
            .to_owned()
    }))
}

/// The root URIs of roots answer `key`.
pub fn roots(responses: &InputResponses, key: &str) -> Result<Option<Vec<String>>, McpError> {
    Ok(answer::<ListRootsResult>(responses, key)?.map(|v| {
        v.get("roots")
            .and_then(Value::as_array)
            .map(|roots| {
                roots
                    .iter()
                    .filter_map(|r| r.get("uri").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }))
}

/// Which input kinds the client declared it can serve.
pub fn declared(capabilities: Option<&ClientCapabilities>) -> (bool, bool, bool) {
    capabilities.map_or((false, false, false), |c| {
        (
            c.elicitation.is_some(),
            c.sampling.is_some(),
            c.roots.is_some(),
        )
    })
}
