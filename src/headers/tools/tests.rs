//! Unit tests of `tools.rs`.

use super::*;
use serde_json::json;

fn schema_with(prop: Value) -> Value {
    json!({"type": "object", "properties": {"p": prop}})
}

#[test]
fn spec_constraints_on_x_mcp_header_values() {
    // "MUST NOT be empty", "MUST match HTTP field-name token syntax",
    // "MUST NOT contain control characters", "primitive types ... not number".
    for (prop, why) in [
        (json!({"type": "string", "x-mcp-header": ""}), "empty"),
        (json!({"type": "string", "x-mcp-header": "A B"}), "token"),
        (json!({"type": "string", "x-mcp-header": "A\r\nB"}), "token"),
        (json!({"type": "string", "x-mcp-header": "Ré"}), "token"),
        (
            json!({"type": "string", "x-mcp-header": 7}),
            "must be a string",
        ),
        (json!({"type": "number", "x-mcp-header": "N"}), "type"),
        (json!({"type": "object", "x-mcp-header": "N"}), "type"),
        (json!({"type": "array", "x-mcp-header": "N"}), "type"),
        (json!({"x-mcp-header": "N"}), "type"),
        (
            json!({"type": ["string", "integer"], "x-mcp-header": "N"}),
            "type",
        ),
        (
            json!({"$ref": "#/$defs/r", "type": "string", "x-mcp-header": "N"}),
            "$ref",
        ),
    ] {
        let err = param_headers(&schema_with(prop.clone())).unwrap_err();
        assert!(err.contains(why), "{prop}: {err}");
    }
    for (ty, kind) in [
        (json!("string"), ParamType::String),
        (json!("integer"), ParamType::Integer),
        (json!("boolean"), ParamType::Boolean),
        (json!(["string", "null"]), ParamType::String),
    ] {
        let params = param_headers(&schema_with(
            json!({"type": ty, "x-mcp-header": "X-1.a_b~"}),
        ))
        .unwrap();
        assert_eq!(params[0].kind(), kind);
        assert_eq!(params[0].header_name(), "mcp-param-x-1.a_b~");
    }
}

#[test]
fn spec_x_mcp_header_case_insensitively_unique() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "string", "x-mcp-header": "Region"},
        "b": {"type": "object", "properties": {"c": {"type": "string", "x-mcp-header": "REGION"}}}}});
    assert!(param_headers(&schema).unwrap_err().contains("unique"));
}

#[test]
fn spec_x_mcp_header_statically_reachable_through_properties_only() {
    let leaf = json!({"type": "string", "x-mcp-header": "X"});
    for schema in [
        json!({"type": "object", "properties": {"xs": {"type": "array", "items": leaf}}}),
        json!({"type": "object", "properties": {"xs": {"prefixItems": [leaf]}}}),
        json!({"type": "object", "oneOf": [{"properties": {"p": leaf}}]}),
        json!({"type": "object", "anyOf": [{"properties": {"p": leaf}}]}),
        json!({"type": "object", "allOf": [{"properties": {"p": leaf}}]}),
        json!({"type": "object", "not": {"properties": {"p": leaf}}}),
        json!({"type": "object", "if": {"properties": {"p": leaf}}}),
        json!({"type": "object", "then": {"properties": {"p": leaf}}}),
        json!({"type": "object", "else": {"properties": {"p": leaf}}}),
        json!({"type": "object", "$defs": {"d": leaf}, "properties": {"p": {"$ref": "#/$defs/d"}}}),
        json!({"type": "object", "additionalProperties": leaf}),
        json!({"type": "object", "patternProperties": {"^p": leaf}}),
        json!({"type": "object", "properties": {"o": {"additionalProperties": leaf}}}),
        // On the root itself: not a property.
        json!({"type": "string", "x-mcp-header": "X"}),
    ] {
        let err = param_headers(&schema).unwrap_err();
        assert!(err.contains("statically reachable"), "{schema}: {err}");
    }
    // Nested object properties are fine; data keywords are not schemas.
    let schema = json!({"type": "object",
        "default": {"x-mcp-header": "ignored"},
        "properties": {"o": {"type": "object", "properties": {"p": leaf}}}});
    let params = param_headers(&schema).unwrap();
    assert_eq!(params.len(), 1);
    assert_eq!(params[0].path(), ["o", "p"]);
}

#[test]
fn tools_list_result_or_array_and_errors_name_the_tool() {
    let tool = json!({"name": "t", "inputSchema": schema_with(json!({"type": "integer", "x-mcp-header": "N"}))});
    let a = ToolRules::from_tools_list(&json!({"tools": [tool.clone()]})).unwrap();
    let b = ToolRules::from_tools_list(&json!([tool.clone()])).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.header_names().count(), 1);
    let err = ToolRules::from_tools_list(&json!([tool.clone(), tool])).unwrap_err();
    assert_eq!(err.to_string(), r#"invalid tool "t": listed twice"#);
    let bad = json!([{"name": "deploy", "inputSchema": schema_with(json!({"type": "number", "x-mcp-header": "N"}))}]);
    let err = ToolRules::from_tools_list(&bad).unwrap_err();
    assert!(
        matches!(err, ConfigError::InvalidTool { ref tool, .. } if tool == "deploy"),
        "{err}"
    );
    assert!(ToolRules::from_tools_list(&json!({"tools": 1})).is_err());
    assert!(ToolRules::from_tools_list(&json!([{"inputSchema": {}}])).is_err());
}

#[test]
fn required_capabilities_must_be_objects() {
    let rules = ToolRules::new()
        .require_capabilities("t", json!({"sampling": {}}))
        .unwrap();
    assert!(rules.get("t").unwrap().capabilities.is_some());
    assert!(ToolRules::new()
        .require_capabilities("t", json!(["sampling"]))
        .is_err());
    assert!(ToolRules::new()
        .require_capabilities("t", json!({"sampling": true}))
        .is_err());
}

#[test]
fn learned_tools_skip_invalid_definitions() {
    let table = ToolTable::new(ToolRules::new(), true);
    let listed = json!({"tools": [
        {"name": "ok", "inputSchema": schema_with(json!({"type": "string", "x-mcp-header": "R"}))},
        {"name": "bad", "inputSchema": schema_with(json!({"type": "number", "x-mcp-header": "R"}))},
        {"name": "plain", "inputSchema": {"type": "object"}}
    ]});
    assert_eq!(table.learn(&listed), 1);
    assert_eq!(table.lookup("ok").unwrap().params.len(), 1);
    assert!(table.lookup("bad").is_none());
    assert!(table.lookup("plain").is_none());
    // A later listing without the annotation replaces the entry.
    let relisted = json!({"tools": [{"name": "ok", "inputSchema": {"type": "object"}}]});
    assert_eq!(table.learn(&relisted), 1);
    assert!(table.lookup("ok").unwrap().params.is_empty());
}
