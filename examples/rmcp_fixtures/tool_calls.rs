//! The tools' dispatcher: `tools/call` for every tool of the table in
//! `tools`, and the helpers it shares (arguments, required capabilities, log
//! messages, list-change announcements, elicitation forms).

// Logging and sampling are SEP-2577-deprecated in rmcp, yet the suite exercises them.
#![allow(deprecated)]

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    InputRequest, InputRequests, LoggingLevel, LoggingMessageNotificationParam,
    ProgressNotificationParam, ResourceContents,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{json, Value};

use crate::handler::{severity, Fixtures, ListChange, PNG_BASE64};
use crate::mrtr::{self, Step};
use crate::polling::StreamCut;
use crate::tasks;

/// A 1 ms, 8 kHz, 8-bit mono WAV of silence.
const WAV_BASE64: &str = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/// How long `test_reconnection` waits for the client to resume its stream.
const RESUME_WAIT: Duration = Duration::from_secs(5);

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn str_arg(params: &CallToolRequestParams, name: &str) -> Result<String, McpError> {
    params
        .arguments
        .as_ref()
        .and_then(|args| args.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            McpError::invalid_params(
                format!("tool {} needs a string argument {name}", params.name),
                Some(json!({ "argument": name })),
            )
        })
}

/// One input request under `key`.
fn one(key: &str, request: InputRequest) -> InputRequests {
    InputRequests::from([(key.to_owned(), request)])
}

/// The capabilities a tool needs, as the `-32021` error names them.
fn require(
    context: &RequestContext<RoleServer>,
    elicitation: bool,
    sampling: bool,
) -> Result<(), McpError> {
    let (has_elicitation, has_sampling, _) = mrtr::declared(context.client_capabilities().as_ref());
    let required = match (elicitation && !has_elicitation, sampling && !has_sampling) {
        (false, false) => return Ok(()),
        (true, false) => ClientCapabilities::builder().enable_elicitation().build(),
        (false, true) => ClientCapabilities::builder().enable_sampling().build(),
        (true, true) => ClientCapabilities::builder()
            .enable_sampling()
            .enable_elicitation()
            .build(),
    };
    Err(McpError::missing_required_client_capability(required))
}

/// Sends `messages` at info level, 50 ms apart, if the threshold lets them through.
async fn log_messages(
    fixtures: &Fixtures,
    context: &RequestContext<RoleServer>,
    messages: &[&str],
) {
    let send = fixtures
        .log_threshold(context)
        .is_some_and(|t| severity(LoggingLevel::Info) >= severity(t));
    for (i, message) in messages.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if send {
            let param = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(message))
                .with_logger("rmcp_fixtures");
            if let Err(e) = context.peer.notify_logging_message(param).await {
                tracing::warn!("log notification not sent: {e}");
            }
        }
    }
}

/// Announces a list change: to 2026-07-28 listeners through the shared
/// channel, and to a legacy session on its standalone GET stream.
async fn announce(fixtures: &Fixtures, context: &RequestContext<RoleServer>, change: ListChange) {
    // No listener is not an error.
    let _ = fixtures.shared.changes.send(change);
    if !mrtr::is_modern(context) {
        let sent = match change {
            ListChange::Tools => context.peer.notify_tool_list_changed().await,
            ListChange::Prompts => context.peer.notify_prompt_list_changed().await,
        };
        if let Err(e) = sent {
            tracing::warn!("list-changed notification not sent: {e}");
        }
    }
}

/// `tools/call`.
pub async fn call(
    fixtures: &Fixtures,
    params: CallToolRequestParams,
    context: RequestContext<RoleServer>,
) -> Result<CallToolResponse, McpError> {
    let context = &context;
    if let Some(reply) = tasks::call(fixtures, &params, context).await {
        return reply;
    }
    let sealer = &fixtures.shared.sealer;
    let result = match params.name.as_ref() {
        "test_simple_text" => text("This is a simple text response for testing."),
        "test_image_content" => {
            CallToolResult::success(vec![ContentBlock::image(PNG_BASE64, "image/png")])
        }
        "test_audio_content" => {
            CallToolResult::success(vec![ContentBlock::audio(WAV_BASE64, "audio/wav")])
        }
        "test_embedded_resource" => CallToolResult::success(vec![ContentBlock::resource(
            ResourceContents::text(
                "This is an embedded resource content.",
                "test://embedded-resource",
            )
            .with_mime_type("text/plain"),
        )]),
        "test_multiple_content_types" => CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_BASE64, "image/png"),
            ContentBlock::resource(
                ResourceContents::text(
                    json!({ "test": "data", "value": 123 }).to_string(),
                    "test://mixed-content-resource",
                )
                .with_mime_type("application/json"),
            ),
        ]),
        "test_tool_with_logging" | "test_logging_tool" => {
            log_messages(
                fixtures,
                context,
                &[
                    "Tool execution started",
                    "Tool processing data",
                    "Tool execution completed",
                ],
            )
            .await;
            text("Logging tool finished.")
        }
        "test_error_handling" => CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )]),
        "test_tool_with_progress" => {
            let token = context.meta.get_progress_token();
            for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if let Some(token) = &token {
                    let param = ProgressNotificationParam::new(token.clone(), progress)
                        .with_total(100.0)
                        .with_message(format!("{progress}% done"));
                    if let Err(e) = context.peer.notify_progress(param).await {
                        tracing::warn!("progress notification not sent: {e}");
                    }
                }
            }
            text("Progress tool finished.")
        }
        "test_sampling" => {
            require(context, false, true)?;
            let prompt = str_arg(&params, "prompt")?;
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::sampled(responses, "completion")? {
                    Some(reply) => Step::Done(text(format!("LLM response: {reply}"))),
                    None => Step::ask(one("completion", mrtr::sample(&prompt, 100)?), None),
                })
            })
            .await;
        }
        "test_elicitation" => {
            require(context, true, false)?;
            let message = str_arg(&params, "message")?;
            let schema = json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" },
                },
                "required": ["username", "email"],
            });
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::elicited(responses, "user_info")? {
                    Some(answer) => Step::Done(text(format!("User response: {answer}"))),
                    None => Step::ask(
                        one("user_info", mrtr::elicit(&message, schema.clone())?),
                        None,
                    ),
                })
            })
            .await;
        }
        "test_elicitation_sep1034_defaults" => {
            require(context, true, false)?;
            let schema = json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "User name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "User age", "default": 30 },
                    "score": { "type": "number", "description": "User score", "default": 95.5 },
                    "status": {
                        "type": "string",
                        "description": "User status",
                        "enum": ["active", "inactive", "pending"],
                        "default": "active",
                    },
                    "verified": { "type": "boolean", "description": "Verification status", "default": true },
                },
                "required": [],
            });
            let message = "Test client default value handling - please accept with defaults";
            return elicitation_form(context, &params, message, schema).await;
        }
        "test_elicitation_sep1330_enums" => {
            require(context, true, false)?;
            let schema = json!({
                "type": "object",
                "properties": {
                    "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": {
                        "type": "string",
                        "oneOf": [
                            { "const": "value1", "title": "First Option" },
                            { "const": "value2", "title": "Second Option" },
                            { "const": "value3", "title": "Third Option" },
                        ],
                    },
                    "legacyEnum": {
                        "type": "string",
                        "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"],
                    },
                    "untitledMulti": {
                        "type": "array",
                        "items": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    },
                    "titledMulti": {
                        "type": "array",
                        "items": {
                            "anyOf": [
                                { "const": "value1", "title": "First Choice" },
                                { "const": "value2", "title": "Second Choice" },
                                { "const": "value3", "title": "Third Choice" },
                            ],
                        },
                    },
                },
            });
            let message = "Pick from every kind of enum";
            return elicitation_form(context, &params, message, schema).await;
        }
        "json_schema_2020_12_tool" => {
            let arguments = params.arguments.clone().unwrap_or_default();
            text(format!("Received: {}", Value::Object(arguments)))
        }
        "test_reconnection" => {
            let cut = context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<StreamCut>())
                .cloned();
            // Only a legacy session can resume a stream; 2026-07-28 answers at once.
            if let (Some(cut), false) = (cut, mrtr::is_modern(context)) {
                if !cut.close_and_await_resume(RESUME_WAIT).await {
                    tracing::warn!("test_reconnection: the client did not resume in time");
                }
            }
            text("Reconnection test completed successfully")
        }
        "test_custom_header" => {
            let region = str_arg(&params, "region")?;
            text(format!("Would run in region {region}"))
        }
        "test_missing_capability" => {
            require(context, false, true)?;
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::sampled(responses, "hello")? {
                    Some(reply) => Step::Done(text(format!("Sampling works: {reply}"))),
                    None => Step::ask(one("hello", mrtr::sample("Say hello", 20)?), None),
                })
            })
            .await;
        }
        "test_streaming_elicitation" => {
            require(context, true, false)?;
            let schema = json!({
                "type": "object",
                "properties": { "confirmed": { "type": "boolean", "description": "Continue?" } },
                "required": ["confirmed"],
            });
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::elicited(responses, "confirm")? {
                    Some(answer) => Step::Done(text(format!("Confirmation received: {answer}"))),
                    None => Step::ask(
                        one(
                            "confirm",
                            mrtr::elicit("Confirm to continue", schema.clone())?,
                        ),
                        None,
                    ),
                })
            })
            .await;
        }
        "test_trigger_tool_change" => {
            announce(fixtures, context, ListChange::Tools).await;
            text("Tool list change announced.")
        }
        "test_trigger_prompt_change" => {
            announce(fixtures, context, ListChange::Prompts).await;
            text("Prompt list change announced.")
        }
        "test_input_required_result_elicitation" => {
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::elicited(responses, "user_name")? {
                    Some(answer) => Step::Done(text(format!("Hello, {}!", answer.field("name")))),
                    None => Step::ask(
                        one(
                            "user_name",
                            mrtr::elicit_string("What is your name?", "name")?,
                        ),
                        None,
                    ),
                })
            })
            .await;
        }
        "test_input_required_result_sampling" => {
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::sampled(responses, "capital_question")? {
                    Some(reply) => Step::Done(text(format!("The model answered: {reply}"))),
                    None => Step::ask(
                        one(
                            "capital_question",
                            mrtr::sample("What is the capital of France?", 100)?,
                        ),
                        None,
                    ),
                })
            })
            .await;
        }
        "test_input_required_result_list_roots" => {
            return mrtr::tool_reply(context, &params, |responses, _| {
                Ok(match mrtr::roots(responses, "client_roots")? {
                    Some(roots) => Step::Done(text(format!("Client roots: {}", roots.join(", ")))),
                    None => Step::ask(one("client_roots", mrtr::list_roots()?), None),
                })
            })
            .await;
        }
        "test_input_required_result_request_state"
        | "test_input_required_result_tampered_state" => {
            let flow = params
                .name
                .trim_start_matches("test_input_required_result_")
                .to_owned();
            let schema = json!({
                "type": "object",
                "properties": { "ok": { "type": "boolean" } },
                "required": ["ok"],
            });
            return mrtr::tool_reply(context, &params, |responses, state| {
                let confirm = || {
                    Ok::<_, McpError>(one(
                        "confirm",
                        mrtr::elicit("Please confirm", schema.clone())?,
                    ))
                };
                let Some(token) = state else {
                    let sealed = sealer.seal(&json!({ "flow": flow }));
                    return Ok(Step::ask(confirm()?, Some(sealed)));
                };
                sealer.open(token, &flow)?;
                Ok(match mrtr::elicited(responses, "confirm")? {
                    Some(answer) => Step::Done(text(format!(
                        "state-ok: requestState verified, confirm {answer}"
                    ))),
                    None => Step::ask(confirm()?, Some(token.to_owned())),
                })
            })
            .await;
        }
        "test_input_required_result_multiple_inputs" => {
            return mrtr::tool_reply(context, &params, |responses, state| {
                if let Some(token) = state {
                    sealer.open(token, "multiple_inputs")?;
                }
                let name = mrtr::elicited(responses, "user_name")?;
                let greeting = mrtr::sampled(responses, "greeting")?;
                let roots = mrtr::roots(responses, "client_roots")?;
                if let (Some(name), Some(greeting), Some(roots)) = (&name, &greeting, &roots) {
                    return Ok(Step::Done(text(format!(
                        "{greeting} {} (roots: {})",
                        name.field("name"),
                        roots.join(", ")
                    ))));
                }
                let mut ask = InputRequests::new();
                if name.is_none() {
                    ask.insert(
                        "user_name".into(),
                        mrtr::elicit_string("What is your name?", "name")?,
                    );
                }
                if greeting.is_none() {
                    ask.insert("greeting".into(), mrtr::sample("Generate a greeting", 50)?);
                }
                if roots.is_none() {
                    ask.insert("client_roots".into(), mrtr::list_roots()?);
                }
                let state = state
                    .map(str::to_owned)
                    .unwrap_or_else(|| sealer.seal(&json!({ "flow": "multiple_inputs" })));
                Ok(Step::ask(ask, Some(state)))
            })
            .await;
        }
        "test_input_required_result_multi_round" => {
            return mrtr::tool_reply(context, &params, |responses, state| {
                let step1 = || mrtr::elicit_string("Step 1: What is your name?", "name");
                let step2 = || mrtr::elicit_string("Step 2: What is your favorite color?", "color");
                let Some(token) = state else {
                    let sealed = sealer.seal(&json!({ "flow": "multi_round", "step": 1 }));
                    return Ok(Step::ask(one("step1", step1()?), Some(sealed)));
                };
                let payload = sealer.open(token, "multi_round")?;
                match payload.get("step").and_then(Value::as_u64) {
                    Some(1) => Ok(match mrtr::elicited(responses, "step1")? {
                        None => Step::ask(one("step1", step1()?), Some(token.to_owned())),
                        Some(answer) => {
                            let sealed = sealer.seal(&json!({
                                "flow": "multi_round",
                                "step": 2,
                                "name": answer.field("name"),
                            }));
                            Step::ask(one("step2", step2()?), Some(sealed))
                        }
                    }),
                    Some(2) => Ok(match mrtr::elicited(responses, "step2")? {
                        None => Step::ask(one("step2", step2()?), Some(token.to_owned())),
                        Some(answer) => {
                            let name = payload.get("name").and_then(Value::as_str).unwrap_or("?");
                            Step::Done(text(format!(
                                "{name}'s favorite color is {}",
                                answer.field("color")
                            )))
                        }
                    }),
                    _ => Err(McpError::invalid_params(
                        "requestState names no known step",
                        None,
                    )),
                }
            })
            .await;
        }
        "test_input_required_result_capabilities" => {
            let (elicitation, sampling, roots) =
                mrtr::declared(context.client_capabilities().as_ref());
            return mrtr::tool_reply(context, &params, |responses, _| {
                let mut ask = InputRequests::new();
                if elicitation && mrtr::elicited(responses, "user_name")?.is_none() {
                    ask.insert(
                        "user_name".into(),
                        mrtr::elicit_string("What is your name?", "name")?,
                    );
                }
                if sampling && mrtr::sampled(responses, "greeting")?.is_none() {
                    ask.insert("greeting".into(), mrtr::sample("Generate a greeting", 50)?);
                }
                if roots && mrtr::roots(responses, "client_roots")?.is_none() {
                    ask.insert("client_roots".into(), mrtr::list_roots()?);
                }
                Ok(if ask.is_empty() {
                    Step::Done(text(format!(
                        "Asked only for declared inputs: elicitation={elicitation}, \
                         sampling={sampling}, roots={roots}"
                    )))
                } else {
                    Step::ask(ask, None)
                })
            })
            .await;
        }
        unknown => {
            return Err(McpError::invalid_params(
                format!("unknown tool: {unknown}"),
                Some(json!({ "name": unknown })),
            ))
        }
    };
    Ok(CallToolResponse::Complete(result))
}

/// One elicitation form; the result reports what came back.
async fn elicitation_form(
    context: &RequestContext<RoleServer>,
    params: &CallToolRequestParams,
    message: &str,
    schema: Value,
) -> Result<CallToolResponse, McpError> {
    mrtr::tool_reply(context, params, |responses, _| {
        Ok(match mrtr::elicited(responses, "form")? {
            Some(answer) => Step::Done(text(format!("Elicitation completed: {answer}"))),
            None => Step::ask(one("form", mrtr::elicit(message, schema.clone())?), None),
        })
    })
    .await
}
