//! The demo's tools: the checks the headers layer makes for them, their
//! lists for each era, and their calls.

use super::*;

/// The checks `McpHeadersLayer` makes for the demo's tools, from the very
/// definitions `tools/list` returns: the `x-mcp-header` parameters of
/// `route_query`, and the sampling capability `test_missing_capability` needs.
pub fn tool_rules() -> Result<ToolRules, ConfigError> {
    ToolRules::from_tools_list(&tools(Era::Modern))?
        .require_capabilities("test_missing_capability", json!({ "sampling": {} }))?
        // A task handle is only for clients that declared the extension.
        .require_capabilities(
            "slow_compute",
            json!({ "extensions": { tasks::EXTENSION: {} } }),
        )
}

/// The tools of an era. `route_query` mirrors parameters into `Mcp-Param-*`
/// headers (2026-07-28, SEP-2243; earlier clients just see a schema extension).
/// The `test_*` tools exist for the conformance suite's 2026-07-28 scenarios.
pub(super) fn tools(era: Era) -> Value {
    let mut tools = common_tools();
    if era == Era::Modern {
        if let Value::Array(list) = &mut tools {
            list.extend(conformance_tools());
        }
    }
    tools
}

fn conformance_tools() -> Vec<Value> {
    let no_args = json!({ "type": "object", "additionalProperties": false });
    vec![
        json!({
            "name": "greet",
            "description": "Greets `name` at once (a plain result, never a task).",
            "inputSchema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"],
            },
        }),
        json!({
            "name": "slow_compute",
            "description": "Works for `seconds` (at most 600) as a task (tasks extension, SEP-2663): poll it with tasks/get, end it with tasks/cancel.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "seconds": { "type": "integer", "minimum": 0 },
                    "label": { "type": "string" },
                },
                "required": ["seconds"],
            },
        }),
        json!({
            "name": "test_missing_capability",
            "description": "Needs the client's sampling capability (the edge answers -32021 without it).",
            "inputSchema": no_args,
        }),
        json!({
            "name": "test_logging_tool",
            "description": "Logs one message, only when the request sets _meta io.modelcontextprotocol/logLevel.",
            "inputSchema": no_args,
        }),
        json!({
            "name": "test_streaming_elicitation",
            "description": "Asks the client for input with an InputRequiredResult (MRTR), never a server request.",
            "inputSchema": no_args,
        }),
    ]
}

fn common_tools() -> Value {
    json!([
        {
            "name": "echo",
            "description": "Returns the text it is given, and logs it to the session's GET stream.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "text": { "type": "string", "description": "Text to echo" },
                    "delayMs": {
                        "type": "integer", "minimum": 0, "maximum": MAX_TOOL_DELAY_MS,
                        "description": "Work this long first (a slow tool)",
                    },
                },
                "required": ["text"],
            },
        },
        {
            "name": "add",
            "description": "Adds two numbers.",
            "inputSchema": {
                "type": "object",
                "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
                "required": ["a", "b"],
            },
        },
        {
            "name": "session_info",
            "description": "Returns what the session layer knows about this session.",
            "inputSchema": { "type": "object", "properties": {} },
        },
        {
            "name": "route_query",
            "description": "Describes where a query would run. Its routing parameters are mirrored into Mcp-Param-* headers, so a gateway can route without reading the body.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "region": { "type": "string", "description": "Region to run in", "x-mcp-header": "Region" },
                    "shard": { "type": "integer", "description": "Shard number", "x-mcp-header": "Shard" },
                    "dry_run": { "type": "boolean", "description": "Plan only", "x-mcp-header": "DryRun" },
                    "target": {
                        "type": "object",
                        "properties": {
                            "zone": { "type": "string", "description": "Zone within the region", "x-mcp-header": "Zone" },
                        },
                    },
                    "query": { "type": "string", "description": "The query" },
                },
                "required": ["region"],
            },
        },
    ])
}

/// The `name` and `arguments` of a `tools/call`.
pub(super) fn tool_call(params: &Value) -> Result<(&str, Map<String, Value>), RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("tools/call: params.name must be a string"))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(RpcError::invalid_params(
                "tools/call: params.arguments must be an object",
            ))
        }
    };
    Ok((name, args))
}

fn text_result(text: String, structured: Option<Value>) -> Value {
    let mut result = json!({ "content": [{ "type": "text", "text": text }], "isError": false });
    if let Some(s) = structured {
        result["structuredContent"] = s;
    }
    result
}

/// A failed tool run: reported to the model as an `isError` result, not as a protocol error.
fn tool_error(text: impl Into<String>) -> Value {
    json!({ "content": [{ "type": "text", "text": text.into() }], "isError": true })
}

pub(super) fn call_tool(state: &AppState, cx: &Cx, params: &Value) -> Result<Value, RpcError> {
    let (name, args) = tool_call(params)?;
    match name {
        "echo" => {
            let Some(text) = args.get("text").and_then(Value::as_str) else {
                return Ok(tool_error("echo: argument `text` must be a string"));
            };
            if let Some(session) = &cx.session {
                state.notify(
                    &session.ctx,
                    json!({
                        "jsonrpc": "2.0",
                        "method": "notifications/message",
                        "params": { "level": "info", "logger": "echo", "data": { "echoed": text } },
                    }),
                );
            }
            Ok(text_result(text.to_owned(), None))
        }
        "session_info" => match &cx.session {
            Some(s) => {
                let info = s.info();
                Ok(text_result(info.to_string(), Some(info)))
            }
            None => Ok(tool_error("session_info: this request has no session")),
        },
        _ => call_pure_tool(name, &args),
    }
}

/// A 2026-07-28 `tools/call`: the result, and the notifications to stream before it.
pub(super) fn call_tool_stateless(
    _cx: &Cx,
    params: &Value,
) -> Result<(Value, Vec<Value>), RpcError> {
    let (name, args) = tool_call(params)?;
    let meta = params.get("_meta");
    let result = match name {
        "echo" => match args.get("text").and_then(Value::as_str) {
            Some(text) => text_result(text.to_owned(), None),
            None => tool_error("echo: argument `text` must be a string"),
        },
        "session_info" => {
            tool_error("session_info: 2026-07-28 requests are stateless; there is no session")
        }
        "greet" => match args.get("name").and_then(Value::as_str) {
            Some(name) => text_result(format!("Hello, {name}!"), None),
            None => tool_error("greet: argument `name` must be a string"),
        },
        "test_missing_capability" => text_result(
            "the client declared the sampling capability".to_owned(),
            None,
        ),
        "test_logging_tool" => {
            // "servers MUST NOT emit notifications/message for requests that did
            // not include" io.modelcontextprotocol/logLevel.
            let level = meta
                .and_then(|m| m.get("io.modelcontextprotocol/logLevel"))
                .and_then(Value::as_str);
            let logs = level
                .map(|_| {
                    vec![json!({ "jsonrpc": "2.0", "method": "notifications/message",
                        "params": { "level": "info", "logger": "test_logging_tool", "data": "logged on request" } })]
                })
                .unwrap_or_default();
            return Ok((text_result("done".to_owned(), None), logs));
        }
        "test_streaming_elicitation" => json!({
            "resultType": "input_required",
            "inputRequests": {
                "confirm": {
                    "method": "elicitation/create",
                    "params": {
                        "mode": "form",
                        "message": "Confirm to go on",
                        "requestedSchema": {
                            "type": "object",
                            "properties": { "confirmed": { "type": "boolean" } },
                            "required": ["confirmed"],
                        },
                    },
                },
            },
            "requestState": "demo-elicitation-1",
        }),
        _ => call_pure_tool(name, &args)?,
    };
    Ok((result, Vec::new()))
}

/// Tools that need no session.
fn call_pure_tool(name: &str, args: &Map<String, Value>) -> Result<Value, RpcError> {
    match name {
        "add" => {
            let (Some(a), Some(b)) = (
                args.get("a").and_then(Value::as_f64),
                args.get("b").and_then(Value::as_f64),
            ) else {
                return Ok(tool_error("add: arguments `a` and `b` must be numbers"));
            };
            let sum = a + b;
            if !sum.is_finite() {
                return Ok(tool_error("add: the sum is not a finite number"));
            }
            let sum_json = if sum.fract() == 0.0 && sum.abs() < 9.0e15 {
                json!(sum as i64)
            } else {
                json!(sum)
            };
            Ok(text_result(
                sum_json.to_string(),
                Some(json!({ "sum": sum_json })),
            ))
        }
        "route_query" => {
            let Some(region) = args.get("region").and_then(Value::as_str) else {
                return Ok(tool_error(
                    "route_query: argument `region` must be a string",
                ));
            };
            let shard = args.get("shard").and_then(Value::as_i64);
            let dry_run = args
                .get("dry_run")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let zone = args
                .get("target")
                .and_then(|t| t.get("zone"))
                .and_then(Value::as_str);
            let plan = json!({ "region": region, "shard": shard, "zone": zone, "dryRun": dry_run });
            Ok(text_result(plan.to_string(), Some(plan)))
        }
        other => Err(RpcError::invalid_params(format!("Unknown tool: {other}"))),
    }
}
