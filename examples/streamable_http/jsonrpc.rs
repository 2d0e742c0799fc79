//! The demo's JSON-RPC methods: dispatch of requests and notifications,
//! `initialize`, the catalog (prompts, resources), and the 2026-07-28 methods
//! (`server/discover`, tasks).

use super::*;

/// Handles one message. `None` for notifications and responses (HTTP 202).
pub(super) fn handle_message(
    state: &AppState,
    cx: &Cx,
    message: &Value,
) -> Option<(StatusCode, Value)> {
    match handle_message_reply(state, cx, message)? {
        Reply::Json(status, body) => Some((status, body)),
        Reply::Stream(mut events) => events.pop().map(|last| (StatusCode::OK, last)),
    }
}

pub(super) fn handle_message_reply(state: &AppState, cx: &Cx, message: &Value) -> Option<Reply> {
    let Some(obj) = message
        .as_object()
        .filter(|o| o.get("jsonrpc") == Some(&json!("2.0")))
    else {
        return Some(Reply::Json(
            StatusCode::BAD_REQUEST,
            error_body(
                Value::Null,
                INVALID_REQUEST,
                "Invalid Request: not a JSON-RPC 2.0 message",
            ),
        ));
    };
    let id = obj.get("id").cloned();
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response to a server request: we never send any, so nothing to match; accept it.
        if cx.era == Era::Modern {
            return Some(Reply::Json(
                StatusCode::BAD_REQUEST,
                error_body(
                    Value::Null,
                    INVALID_REQUEST,
                    "Invalid Request: clients must not send responses in 2026-07-28",
                ),
            ));
        }
        return None;
    };
    let params = obj.get("params").cloned().unwrap_or(Value::Null);
    let Some(id) = id else {
        handle_notification(cx, method);
        return None;
    };
    let outcome = match cx.era {
        Era::Legacy => legacy_request(state, cx, method, &params).map(|r| (Vec::new(), r)),
        _ => modern_request(state, cx, method, &params),
    };
    Some(match outcome {
        Ok((notes, result)) if notes.is_empty() => {
            Reply::Json(StatusCode::OK, result_body(id, result))
        }
        Ok((mut notes, result)) => {
            notes.push(result_body(id, result));
            Reply::Stream(notes)
        }
        Err(e) => {
            // 2026-07-28: an unknown method is also an HTTP 404.
            let status = if cx.era == Era::Modern && e.code == METHOD_NOT_FOUND {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            Reply::Json(status, error_body(id, e.code, &e.message))
        }
    })
}

fn handle_notification(cx: &Cx, method: &str) {
    match method {
        "notifications/initialized" => {
            if let Some(s) = &cx.session {
                tracing::info!(target: "demo", session = %s.ctx.id().tag(), "client initialized");
            }
        }
        "notifications/cancelled" => {
            // Every request is answered before its HTTP response ends: nothing to cancel.
        }
        other => tracing::debug!(target: "demo", method = other, "notification ignored"),
    }
}

fn method_not_found(method: &str) -> RpcError {
    RpcError {
        code: METHOD_NOT_FOUND,
        message: format!("Method not found: {method}"),
    }
}

fn legacy_request(
    state: &AppState,
    cx: &Cx,
    method: &str,
    params: &Value,
) -> Result<Value, RpcError> {
    match method {
        "initialize" => Ok(initialize(params)?),
        "ping" => Ok(json!({})),
        "logging/setLevel" => Ok(json!({})),
        "tools/list" => Ok(json!({ "tools": tools(Era::Legacy) })),
        "tools/call" => call_tool(state, cx, params),
        other => catalog_request(other, params),
    }
}

/// Prompts and resources, the same in both eras; results carry the 2026-07-28
/// caching hints (`ttlMs`, `cacheScope`), which earlier clients ignore.
pub(super) fn catalog_request(method: &str, params: &Value) -> Result<Value, RpcError> {
    let cache = |mut result: Value| {
        result["ttlMs"] = json!(CATALOG_TTL_MS);
        result["cacheScope"] = json!("public");
        result
    };
    match method {
        "prompts/list" => Ok(cache(json!({ "prompts": [{
            "name": "summarize",
            "description": "Asks for a one-paragraph summary of a text.",
            "arguments": [{ "name": "text", "description": "Text to summarize", "required": true }],
        }]}))),
        "prompts/get" => {
            let name = params
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name != "summarize" {
                return Err(RpcError::invalid_params(format!("Unknown prompt: {name}")));
            }
            let text = params
                .pointer("/arguments/text")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    RpcError::invalid_params("prompts/get: argument `text` is required")
                })?;
            Ok(json!({
                "description": "Summarize a text",
                "messages": [{ "role": "user", "content": { "type": "text",
                    "text": format!("Summarize in one paragraph:\n\n{text}") } }],
            }))
        }
        "resources/list" => Ok(cache(json!({ "resources": [{
            "uri": README_URI,
            "name": "readme",
            "description": "What this server is.",
            "mimeType": "text/plain",
        }]}))),
        "resources/templates/list" => Ok(cache(json!({ "resourceTemplates": [{
            "uriTemplate": "demo://echo/{text}",
            "name": "echo",
            "description": "A resource whose content is the text in its URI.",
            "mimeType": "text/plain",
        }]}))),
        "resources/read" => {
            let uri = params
                .get("uri")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let text = if uri == README_URI {
                "mcp-tower-guard demo server: tower middleware in front of a hand-written MCP handler.".to_owned()
            } else if let Some(text) = uri.strip_prefix("demo://echo/") {
                text.to_owned()
            } else {
                // 2026-07-28: "resource not found" is -32602.
                return Err(RpcError::invalid_params(format!(
                    "Resource not found: {uri}"
                )));
            };
            Ok(cache(
                json!({ "contents": [{ "uri": uri, "mimeType": "text/plain", "text": text }] }),
            ))
        }
        other => Err(method_not_found(other)),
    }
}

/// How long clients may cache the demo's lists (`ttlMs`).
const CATALOG_TTL_MS: u64 = 60_000;
const README_URI: &str = "demo://readme";

/// `initialize`: echo the client's revision if we speak it, else answer with
/// the newest legacy revision (the client then decides whether to go on).
fn initialize(params: &Value) -> Result<Value, RpcError> {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RpcError::invalid_params("initialize: params.protocolVersion is required")
        })?;
    let version = requested
        .parse::<ProtocolVersion>()
        .ok()
        .filter(|v| v.era() == Era::Legacy && ProtocolVersion::KNOWN.contains(v))
        .unwrap_or(LATEST_LEGACY);
    Ok(json!({
        "protocolVersion": version.to_string(),
        "capabilities": {
            "tools": { "listChanged": false },
            "prompts": { "listChanged": false },
            "resources": { "listChanged": false, "subscribe": false },
            "logging": {},
        },
        "serverInfo": server_info(),
        "instructions": "Demo server of mcp-tower-guard. Tools: echo, add, session_info.",
    }))
}

/// 2026-07-28: stateless; every result carries `resultType` and the server's
/// identity in `_meta`. Returns the notifications to stream before the result.
///
/// The layers have already refused what the revision removed (`ping`,
/// `initialize`, ...) with 404, and checked `_meta`, the `Mcp-*` headers and
/// the capabilities `tool_rules` requires; this only does the work.
fn modern_request(
    state: &AppState,
    cx: &Cx,
    method: &str,
    params: &Value,
) -> Result<(Vec<Value>, Value), RpcError> {
    let mut notes = Vec::new();
    let tasks = &state.inner.tasks;
    let mut result = match method {
        "server/discover" => json!({
            "supportedVersions": ProtocolVersion::KNOWN.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "capabilities": {
                "tools": { "listChanged": false },
                "prompts": { "listChanged": false },
                "resources": { "listChanged": false },
                "extensions": { tasks::EXTENSION: {} },
            },
            "instructions": "Demo server of mcp-tower-guard. Tools: echo, add, route_query, greet, slow_compute (a task).",
            "ttlMs": CATALOG_TTL_MS,
            "cacheScope": "public",
        }),
        "tools/list" => {
            json!({ "tools": tools(Era::Modern), "ttlMs": CATALOG_TTL_MS, "cacheScope": "public" })
        }
        "tools/call" if params.get("name") == Some(&json!("slow_compute")) => {
            let (_, args) = tool_call(params)?;
            let seconds = args.get("seconds").and_then(Value::as_u64).ok_or_else(|| {
                RpcError::invalid_params("slow_compute: `seconds` must be a whole number")
            })?;
            let label = args.get("label").and_then(Value::as_str).unwrap_or("work");
            tasks.create(label, seconds.min(tasks::MAX_SECONDS))
        }
        "tools/call" => {
            let (result, logs) = call_tool_stateless(cx, params)?;
            notes = logs;
            result
        }
        // The extension's methods (SEP-2663): an unknown task is -32602.
        "tasks/get" => tasks.get(task_id(params)?).ok_or_else(unknown_task)?,
        "tasks/cancel" => tasks
            .cancel(task_id(params)?)
            .then(|| json!({}))
            .ok_or_else(unknown_task)?,
        "tasks/update" => tasks
            .contains(task_id(params)?)
            .then(|| json!({}))
            .ok_or_else(unknown_task)?,
        other => catalog_request(other, params)?,
    };
    if let Value::Object(map) = &mut result {
        map.entry("resultType").or_insert_with(|| json!("complete"));
        let meta = map
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert("io.modelcontextprotocol/serverInfo".into(), server_info());
        }
    }
    Ok((notes, result))
}

/// `params.taskId` of a tasks request.
fn task_id(params: &Value) -> Result<&str, RpcError> {
    params
        .get("taskId")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("params.taskId must be a string"))
}

fn unknown_task() -> RpcError {
    RpcError::invalid_params("Unknown task")
}
