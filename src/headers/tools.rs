//! What the edge knows about a server's tools (MCP 2026-07-28): the parameters
//! mirrored into `Mcp-Param-{Name}` headers (`x-mcp-header`, SEP-2243) and the
//! client capabilities a tool needs.
//!
//! The table is built from tool definitions exactly as a server lists them in
//! a `tools/list` result, and every `x-mcp-header` constraint of the spec is
//! checked once, when it is built ("Constraints on `x-mcp-header` values",
//! `server/tools.mdx`). The headers layer then checks each modern `tools/call`
//! of a known tool against it; see [`McpHeadersLayer::tool_rules`](super::McpHeadersLayer::tool_rules).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use http::HeaderName;
use serde_json::{Map, Value};

use crate::ConfigError;

/// The `Mcp-Param-` prefix of a mirrored parameter's header.
pub const PARAM_HEADER_PREFIX: &str = "mcp-param-";

/// The JSON Schema types a mirrored parameter may have ("integer, string,
/// boolean. Parameters with type `number` are not permitted").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamType {
    /// `"type": "string"`: compared exactly, after Base64 decoding.
    String,
    /// `"type": "integer"`: compared numerically (`42` equals `42.0`).
    Integer,
    /// `"type": "boolean"`: the header is `true` or `false`.
    Boolean,
}

/// One tool parameter mirrored into a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamHeader {
    header: HeaderName,
    name: String,
    path: Vec<String>,
    kind: ParamType,
}

impl ParamHeader {
    /// The header, `mcp-param-{name}` in lower case (header names are case-insensitive).
    pub fn header_name(&self) -> &HeaderName {
        &self.header
    }

    /// The `x-mcp-header` value as declared, e.g. `Region`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The chain of `properties` keys from `arguments` to the parameter.
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// The parameter's declared type.
    pub fn kind(&self) -> ParamType {
        self.kind
    }
}

/// What the edge checks for one tool.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ToolRule {
    listed: bool,
    pub(crate) params: Vec<ParamHeader>,
    /// A `ClientCapabilities`-shaped object: what the tool needs declared.
    pub(crate) capabilities: Option<Map<String, Value>>,
}

/// The tools of a server as the edge checks them: for each tool name, its
/// `x-mcp-header` parameters and the client capabilities it requires.
///
/// ```
/// use mcp_tower_guard::headers::ToolRules;
/// use serde_json::json;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// // The `tools` of a `tools/list` result, as the server lists them.
/// let listed = json!({ "tools": [{
///     "name": "execute_sql",
///     "inputSchema": {
///         "type": "object",
///         "properties": {
///             "region": { "type": "string", "x-mcp-header": "Region" },
///             "query": { "type": "string" }
///         }
///     }
/// }]});
/// let rules = ToolRules::from_tools_list(&listed)?
///     .require_capabilities("execute_sql", json!({ "elicitation": {} }))?;
/// let params = rules.params("execute_sql").unwrap();
/// assert_eq!(params[0].header_name(), "mcp-param-region");
///
/// // Every x-mcp-header constraint is checked when the table is built.
/// let bad = json!([{ "name": "t", "inputSchema": { "type": "object",
///     "properties": { "n": { "type": "number", "x-mcp-header": "N" } } } }]);
/// let err = ToolRules::from_tools_list(&bad).unwrap_err();
/// assert!(err.to_string().contains("tool \"t\""));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ToolRules {
    tools: HashMap<String, ToolRule>,
}

impl ToolRules {
    /// An empty table: no tool has mirrored parameters or required capabilities.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the table from a `tools/list` result (`{"tools": [...]}`), or
    /// from the `tools` array itself.
    ///
    /// # Errors
    ///
    /// A tool definition that is not an object with a string `name`, a tool
    /// listed twice, or any `x-mcp-header` that breaks a constraint (see
    /// [`ToolRules::tool`]).
    pub fn from_tools_list(listed: &Value) -> Result<Self, ConfigError> {
        let tools = match listed {
            Value::Array(tools) => tools,
            Value::Object(result) => match result.get("tools") {
                Some(Value::Array(tools)) => tools,
                _ => return Err(invalid("tools", "expected a `tools` array")),
            },
            _ => {
                return Err(invalid(
                    "tools",
                    "expected a tools/list result or its `tools` array",
                ))
            }
        };
        tools.iter().try_fold(Self::new(), Self::tool)
    }

    /// Builds the table from any tool type that serializes to a tool definition,
    /// such as rmcp's `Tool`.
    ///
    /// # Errors
    ///
    /// As [`ToolRules::from_tools_list`], or a tool that does not serialize.
    pub fn from_tools<T, I>(tools: I) -> Result<Self, ConfigError>
    where
        T: serde::Serialize,
        I: IntoIterator<Item = T>,
    {
        tools.into_iter().try_fold(Self::new(), |rules, tool| {
            let value = serde_json::to_value(tool)
                .map_err(|e| invalid("tools", format!("tool does not serialize: {e}")))?;
            rules.tool(&value)
        })
    }

    /// Adds one tool definition (`{"name": ..., "inputSchema": {...}}`).
    ///
    /// Its `x-mcp-header` annotations must meet every constraint of the spec:
    /// a non-empty HTTP token (`1*tchar`, so no control characters),
    /// case-insensitively unique within the schema, on a property of type
    /// `string`, `integer` or `boolean` (never `number`; `"null"` may be added),
    /// statically reachable from the root through `properties` keys only
    /// (never under `items`, `oneOf`, `anyOf`, `allOf`, `not`, `if`/`then`/`else`,
    /// `$ref`, `$defs` or any other keyword), and not beside a `$ref`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidTool`] naming the tool and the reason.
    pub fn tool(mut self, tool: &Value) -> Result<Self, ConfigError> {
        let Some(name) = tool.get("name").and_then(Value::as_str) else {
            return Err(invalid("tools", "a tool definition needs a string `name`"));
        };
        let params = match tool.get("inputSchema") {
            Some(schema) => param_headers(schema).map_err(|reason| ConfigError::InvalidTool {
                tool: name.to_owned(),
                reason,
            })?,
            None => Vec::new(),
        };
        let entry = self.tools.entry(name.to_owned()).or_default();
        if entry.listed {
            return Err(ConfigError::InvalidTool {
                tool: name.to_owned(),
                reason: "listed twice".to_owned(),
            });
        }
        entry.listed = true;
        entry.params = params;
        Ok(self)
    }

    /// Requires client capabilities for calls of `tool`: a
    /// `ClientCapabilities`-shaped object such as `{"sampling": {}}` or
    /// `{"elicitation": {"url": {}}}`. A modern call whose
    /// `_meta["io.modelcontextprotocol/clientCapabilities"]` lacks any of them
    /// gets 400 with `MissingRequiredClientCapabilityError` (-32021) naming
    /// the missing ones in `data.requiredCapabilities`.
    ///
    /// # Errors
    ///
    /// `capabilities` is not an object of objects.
    pub fn require_capabilities(
        mut self,
        tool: &str,
        capabilities: Value,
    ) -> Result<Self, ConfigError> {
        let Value::Object(map) = capabilities else {
            return Err(invalid(
                "require_capabilities",
                format!("for tool {tool:?}: expected an object such as {{\"sampling\": {{}}}}"),
            ));
        };
        if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_object()) {
            return Err(invalid(
                "require_capabilities",
                format!("for tool {tool:?}: capability {key:?} must be an object"),
            ));
        }
        let entry = self.tools.entry(tool.to_owned()).or_default();
        let required = entry.capabilities.get_or_insert_with(Map::new);
        required.extend(map);
        Ok(self)
    }

    /// The mirrored parameters of `tool`, if the table knows it.
    pub fn params(&self, tool: &str) -> Option<&[ParamHeader]> {
        self.tools.get(tool).map(|r| r.params.as_slice())
    }

    /// The names of every declared `Mcp-Param-*` header, for CORS.
    pub fn header_names(&self) -> impl Iterator<Item = &HeaderName> + '_ {
        self.tools
            .values()
            .flat_map(|r| r.params.iter().map(|p| &p.header))
    }

    /// True when no tool has a rule.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    pub(crate) fn get(&self, tool: &str) -> Option<&ToolRule> {
        self.tools.get(tool)
    }
}

/// The table a headers layer checks against: rules given in the config, plus,
/// when learning is on, rules read from the inner service's own `tools/list`
/// results. Shared by every clone of the layer.
#[derive(Default)]
pub(crate) struct ToolTable {
    configured: ToolRules,
    learned: Option<RwLock<HashMap<String, Arc<ToolRule>>>>,
}

impl ToolTable {
    pub(crate) fn new(configured: ToolRules, learn: bool) -> Self {
        Self {
            configured,
            learned: learn.then(|| RwLock::new(HashMap::new())),
        }
    }

    pub(crate) fn configured(&self) -> &ToolRules {
        &self.configured
    }

    pub(crate) fn learns(&self) -> bool {
        self.learned.is_some()
    }

    /// The rule for `tool`: the configured one wins over a learned one.
    pub(crate) fn lookup(&self, tool: &str) -> Option<Rule<'_>> {
        if let Some(rule) = self.configured.get(tool) {
            return Some(Rule::Configured(rule));
        }
        let learned = self.learned.as_ref()?;
        let map = learned
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(tool).cloned().map(Rule::Learned)
    }

    /// Records the tools of one `tools/list` result page. A tool whose
    /// annotations break a constraint is left out with a warning (a client
    /// MUST exclude it too); a tool listed again replaces its entry.
    pub(crate) fn learn(&self, result: &Value) -> usize {
        let Some(learned) = &self.learned else {
            return 0;
        };
        let Some(Value::Array(tools)) = result.get("tools") else {
            return 0;
        };
        let mut fresh = Vec::with_capacity(tools.len());
        for tool in tools {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                continue;
            };
            let params = match tool.get("inputSchema").map(param_headers) {
                None => Vec::new(),
                Some(Ok(params)) => params,
                Some(Err(reason)) => {
                    tracing::warn!(target: "mcp_tower_guard::headers", tool = name, reason, "tools/list lists a tool with an invalid x-mcp-header; not learned");
                    continue;
                }
            };
            // Only tools with mirrored parameters need an entry.
            if !params.is_empty() || learned_has(learned, name) {
                fresh.push((
                    name.to_owned(),
                    Arc::new(ToolRule {
                        listed: true,
                        params,
                        capabilities: None,
                    }),
                ));
            }
        }
        let count = fresh.len();
        if count > 0 {
            let mut map = learned
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.extend(fresh);
        }
        count
    }
}

fn learned_has(learned: &RwLock<HashMap<String, Arc<ToolRule>>>, name: &str) -> bool {
    learned
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .contains_key(name)
}

/// A rule found in the table, borrowed (configured) or shared (learned).
pub(crate) enum Rule<'a> {
    Configured(&'a ToolRule),
    Learned(Arc<ToolRule>),
}

impl std::ops::Deref for Rule<'_> {
    type Target = ToolRule;
    fn deref(&self) -> &ToolRule {
        match self {
            Rule::Configured(rule) => rule,
            Rule::Learned(rule) => rule,
        }
    }
}

impl fmt::Debug for ToolTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolTable")
            .field("configured", &self.configured)
            .field("learns", &self.learns())
            .finish()
    }
}

fn invalid(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidSetting {
        setting,
        reason: reason.into(),
    }
}

/// Keywords whose values are data, not subschemas: an `x-mcp-header` key
/// inside them is not an annotation.
const DATA_KEYWORDS: [&str; 6] = [
    "const",
    "default",
    "enum",
    "examples",
    "description",
    "title",
];

/// Walks a tool's `inputSchema` and returns its mirrored parameters, or the
/// first broken constraint.
///
/// ```
/// use mcp_tower_guard::headers::param_headers;
/// use serde_json::json;
///
/// let schema = json!({"type": "object", "properties": {
///     "loc": {"type": "object", "properties": {
///         "region": {"type": "string", "x-mcp-header": "Region"}}}}});
/// let params = param_headers(&schema).unwrap();
/// assert_eq!(params[0].path(), ["loc", "region"]);
///
/// let under_items = json!({"type": "object", "properties": {"xs": {"type": "array",
///     "items": {"type": "string", "x-mcp-header": "X"}}}});
/// assert!(param_headers(&under_items).unwrap_err().contains("statically reachable"));
/// ```
pub fn param_headers(schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    let mut path = Vec::new();
    walk(schema, &mut path, true, &mut found)?;
    let mut seen = HashMap::new();
    for p in &found {
        if let Some(first) = seen.insert(p.header.clone(), p.name.as_str()) {
            return Err(format!(
                "x-mcp-header {:?} is not case-insensitively unique (also {:?})",
                p.name, first
            ));
        }
    }
    Ok(found)
}

/// `reachable`: every step from the root so far was a `properties` key.
fn walk(
    schema: &Value,
    path: &mut Vec<String>,
    reachable: bool,
    found: &mut Vec<ParamHeader>,
) -> Result<(), String> {
    let obj = match schema {
        Value::Object(obj) => obj,
        // Arrays hold subschemas under `allOf`, `prefixItems`, ...: never reachable.
        Value::Array(items) => {
            for item in items {
                walk(item, path, false, found)?;
            }
            return Ok(());
        }
        _ => return Ok(()),
    };
    if let Some(annotation) = obj.get("x-mcp-header") {
        found.push(annotated(obj, annotation, path, reachable)?);
    }
    for (key, value) in obj {
        if DATA_KEYWORDS.contains(&key.as_str()) || key == "x-mcp-header" {
            continue;
        }
        if key == "properties" {
            if let Value::Object(props) = value {
                for (name, sub) in props {
                    path.push(name.clone());
                    let result = walk(sub, path, reachable, found);
                    path.pop();
                    result?;
                }
                continue;
            }
        }
        walk(value, path, false, found)?;
    }
    Ok(())
}

fn annotated(
    obj: &Map<String, Value>,
    annotation: &Value,
    path: &[String],
    reachable: bool,
) -> Result<ParamHeader, String> {
    let Value::String(name) = annotation else {
        return Err("x-mcp-header must be a string".to_owned());
    };
    if name.is_empty() {
        return Err("x-mcp-header must not be empty".to_owned());
    }
    if let Some(c) = name.chars().find(|c| !is_tchar(*c)) {
        return Err(format!(
            "x-mcp-header {name:?} is not an HTTP field-name token (character {c:?})"
        ));
    }
    if !reachable || path.is_empty() {
        return Err(format!(
            "x-mcp-header {name:?} is on a property that is not statically reachable from the schema root through `properties` keys"
        ));
    }
    if obj.contains_key("$ref") {
        return Err(format!(
            "x-mcp-header {name:?} is on a property defined through $ref"
        ));
    }
    let kind = param_type(obj.get("type")).ok_or_else(|| {
        format!(
            "x-mcp-header {name:?} is on a property whose type is not string, integer or boolean"
        )
    })?;
    let header = HeaderName::from_bytes(format!("{PARAM_HEADER_PREFIX}{name}").as_bytes())
        .map_err(|_| format!("x-mcp-header {name:?} does not make a valid header name"))?;
    Ok(ParamHeader {
        header,
        name: name.clone(),
        path: path.to_vec(),
        kind,
    })
}

/// `"string"`, `"integer"` or `"boolean"`, alone or with `"null"` in a type array.
fn param_type(ty: Option<&Value>) -> Option<ParamType> {
    let one = |t: &str| match t {
        "string" => Some(ParamType::String),
        "integer" => Some(ParamType::Integer),
        "boolean" => Some(ParamType::Boolean),
        _ => None,
    };
    match ty? {
        Value::String(t) => one(t),
        Value::Array(types) => {
            let mut kinds = types.iter().filter(|t| t.as_str() != Some("null"));
            match (kinds.next(), kinds.next()) {
                (Some(Value::String(t)), None) => one(t),
                _ => None,
            }
        }
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests;
