//! The tool table: names, descriptions and exact input schemas. Schemas are
//! written out as JSON rather than derived, because several scenarios check
//! them keyword by keyword (JSON Schema 2020-12, `x-mcp-header`, elicitation
//! schemas). The dispatcher that runs the tools is in `tool_calls`.

use std::sync::LazyLock;

use rmcp::model::{JsonObject, Tool};
use serde_json::{json, Value};

use crate::tasks;

pub use crate::tool_calls::call;

/// The input schema of `json_schema_2020_12_tool`, exactly as the suite lists it.
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } },
            },
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" },
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false,
    })
}

fn no_arguments() -> Value {
    json!({ "type": "object", "properties": {} })
}

fn one_string(name: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": { name: { "type": "string", "description": description } },
        "required": [name],
    })
}

fn tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    let schema = match schema {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    };
    Tool::new(name, description, schema)
}

/// Every tool, in one fixed order (2026-07-28 asks for a deterministic
/// `tools/list`). The first one takes no arguments: the header-validation
/// scenario calls the first listed tool with `{}`.
static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    vec![
        tool("test_simple_text", "Returns simple text content", no_arguments()),
        tool("test_image_content", "Returns image content (a 1x1 PNG)", no_arguments()),
        tool("test_audio_content", "Returns audio content (a short WAV)", no_arguments()),
        tool("test_embedded_resource", "Returns an embedded text resource", no_arguments()),
        tool(
            "test_multiple_content_types",
            "Returns text, image and resource content together",
            no_arguments(),
        ),
        tool(
            "test_tool_with_logging",
            "Sends three info log messages while it runs",
            no_arguments(),
        ),
        tool(
            "test_logging_tool",
            "Logs only when the request asks for it (2026-07-28 _meta logLevel)",
            no_arguments(),
        ),
        tool("test_error_handling", "Always fails with a tool error", no_arguments()),
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100 when given a progress token",
            no_arguments(),
        ),
        tool(
            "test_sampling",
            "Asks the client's LLM to answer a prompt (sampling)",
            one_string("prompt", "The prompt to send to the LLM"),
        ),
        tool(
            "test_elicitation",
            "Asks the user for a username and an email (elicitation)",
            one_string("message", "The message to show the user"),
        ),
        tool(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all carry defaults (SEP-1034)",
            no_arguments(),
        ),
        tool(
            "test_elicitation_sep1330_enums",
            "Elicits a form with every enum schema variant (SEP-1330)",
            no_arguments(),
        ),
        tool(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json_schema_2020_12(),
        ),
        tool(
            "test_reconnection",
            "Closes its SSE stream mid-call; the result arrives after the client resumes (SEP-1699)",
            no_arguments(),
        ),
        tool(
            "test_custom_header",
            "Echoes a region that clients mirror into the Mcp-Param-Region header (SEP-2243)",
            json!({
                "type": "object",
                "properties": {
                    "region": { "type": "string", "description": "Where to run", "x-mcp-header": "Region" },
                    "query": { "type": "string", "description": "What to run" },
                },
                "required": ["region"],
            }),
        ),
        tool(
            "test_missing_capability",
            "Needs the client's sampling capability; rejects callers without it (-32021)",
            no_arguments(),
        ),
        tool(
            "test_streaming_elicitation",
            "Asks for confirmation in the request's own flow, never as an independent request",
            no_arguments(),
        ),
        tool(
            "test_trigger_tool_change",
            "Announces a tool list change to listeners",
            no_arguments(),
        ),
        tool(
            "test_trigger_prompt_change",
            "Announces a prompt list change to listeners",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_elicitation",
            "Asks for the user's name, then greets them (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_sampling",
            "Asks the client's LLM a question, then reports the answer (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_list_roots",
            "Asks for the client's roots, then lists them (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_request_state",
            "Round-trips a sealed requestState (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_multiple_inputs",
            "Asks for elicitation, sampling and roots at once (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_multi_round",
            "Asks in two rounds with an evolving requestState (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_tampered_state",
            "Rejects a requestState that fails its integrity check (input-required result)",
            no_arguments(),
        ),
        tool(
            "test_input_required_result_capabilities",
            "Asks only for inputs the client declared it can serve (input-required result)",
            no_arguments(),
        ),
    ]
    .into_iter()
    .chain(tasks::tools(tool))
    .collect()
});

/// The tool table, in order.
pub fn all() -> Vec<Tool> {
    TOOLS.clone()
}

/// One tool by name.
pub fn find(name: &str) -> Option<Tool> {
    TOOLS.iter().find(|t| t.name == name).cloned()
}
