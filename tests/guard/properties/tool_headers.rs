//! Property tests of the 2026-07-28 `x-mcp-header` rules: the schema walk
//! against a model of "statically reachable", and the `Mcp-Param-*` check
//! through the headers layer against the value encoding.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use mcp_tower_guard::headers::{decode_value, encode_value, param_headers, ToolRules};
use mcp_tower_guard::{McpHeadersLayer, Rejection};
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::{Layer, ServiceExt};

// ------------------------------------------------ a model of inputSchema trees

/// A schema tree: objects with `properties`, leaves, and subtrees under a
/// keyword that is not `properties` (never statically reachable).
#[derive(Clone, Debug)]
enum Node {
    Leaf { annotated: bool, ty: &'static str },
    Object(Vec<(String, Node)>),
    Under(&'static str, Box<Node>),
}

const TYPES: [&str; 6] = ["string", "integer", "boolean", "number", "object", "array"];
const OBJECT_KEYWORDS: [&str; 6] = [
    "items",
    "not",
    "if",
    "then",
    "additionalProperties",
    "contains",
];
const ARRAY_KEYWORDS: [&str; 4] = ["oneOf", "anyOf", "allOf", "prefixItems"];

fn node() -> impl Strategy<Value = Node> {
    let leaf = (any::<bool>(), prop::sample::select(TYPES.to_vec()))
        .prop_map(|(annotated, ty)| Node::Leaf { annotated, ty });
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-z]{1,6}", inner.clone()), 0..4).prop_map(|props| {
                // Property names are unique keys.
                let mut seen = BTreeSet::new();
                Node::Object(
                    props
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
            (
                prop::sample::select([OBJECT_KEYWORDS.to_vec(), ARRAY_KEYWORDS.to_vec()].concat()),
                inner
            )
                .prop_map(|(kw, n)| Node::Under(kw, Box::new(n))),
        ]
    })
}

/// The JSON of `node`, and what the spec says of it: the annotated
/// parameters (path, name), or that one annotation is invalid.
fn build(
    node: &Node,
    path: &mut Vec<String>,
    reachable: bool,
    names: &mut usize,
    expected: &mut Result<Vec<(Vec<String>, String)>, ()>,
) -> Value {
    match node {
        Node::Leaf { annotated, ty } => {
            let mut v = json!({ "type": ty });
            if *annotated {
                *names += 1;
                let name = format!("H{names}");
                v["x-mcp-header"] = json!(name);
                let primitive = matches!(*ty, "string" | "integer" | "boolean");
                let ok = reachable && !path.is_empty() && primitive;
                match (ok, expected.as_mut()) {
                    (true, Ok(list)) => list.push((path.clone(), name)),
                    (false, _) => *expected = Err(()),
                    (true, Err(())) => {}
                }
            }
            v
        }
        Node::Object(props) => {
            let mut map = serde_json::Map::new();
            for (k, child) in props {
                path.push(k.clone());
                map.insert(k.clone(), build(child, path, reachable, names, expected));
                path.pop();
            }
            json!({ "type": "object", "properties": map })
        }
        Node::Under(kw, inner) => {
            let sub = build(inner, path, false, names, expected);
            if ARRAY_KEYWORDS.contains(kw) {
                json!({ "type": "object", *kw: [sub] })
            } else {
                json!({ "type": "object", *kw: sub })
            }
        }
    }
}

// ------------------------------------------------ Mcp-Param through the layer

fn layer() -> &'static McpHeadersLayer {
    static L: OnceLock<McpHeadersLayer> = OnceLock::new();
    L.get_or_init(|| {
        let tool = json!([{ "name": "t", "inputSchema": { "type": "object", "properties": {
            "s": { "type": "string", "x-mcp-header": "S" },
            "n": { "type": "integer", "x-mcp-header": "N" } } } }]);
        McpHeadersLayer::new().tool_rules(ToolRules::from_tools_list(&tool).unwrap())
    })
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// A modern call of `t` with `arguments` and `Mcp-Param-{param}: header`: passed?
fn passes(param: &str, header: &HeaderValue, arguments: Value) -> Result<bool, TestCaseError> {
    let body = json!({"jsonrpc": "2.0", "id": "p", "method": "tools/call", "params": {
        "name": "t", "arguments": arguments, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {} } } });
    let req = Request::post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "t")
        .header(format!("mcp-param-{param}"), header.clone())
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let svc = layer().layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    }));
    let res = rt().block_on(svc.oneshot(req)).unwrap();
    match res.extensions().get::<Rejection>() {
        None => Ok(true),
        Some(r) => {
            prop_assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            prop_assert_eq!(r.code(), -32020);
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// "MUST only be applied to properties that are statically reachable from the schema
    /// root: reachable via a chain consisting solely of `properties` keys", on primitive
    /// types: the walk accepts exactly the trees the model accepts, and finds exactly
    /// their annotated paths.
    #[test]
    fn x_mcp_header_walk_agrees_with_the_reachability_model(root in prop::collection::vec(("[a-z]{1,6}", node()), 0..5)) {
        let mut seen = BTreeSet::new();
        let root = Node::Object(root.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect());
        let mut expected = Ok(Vec::new());
        let schema = build(&root, &mut Vec::new(), true, &mut 0, &mut expected);
        let got = param_headers(&schema);
        match expected {
            Ok(list) => {
                let got = got.map_err(|e| TestCaseError::fail(format!("{e} for {schema}")))?;
                let got: BTreeSet<(Vec<String>, String)> =
                    got.iter().map(|p| (p.path().to_vec(), p.name().to_owned())).collect();
                let want: BTreeSet<(Vec<String>, String)> = list.into_iter().collect();
                prop_assert_eq!(got, want);
            }
            Err(()) => prop_assert!(got.is_err(), "accepted {}", schema),
        }
    }

    /// "Servers MUST decode an encoded ... value before comparing it": whatever string
    /// a client encodes (non-ASCII, control characters, padding, sentinel look-alikes)
    /// passes against that string and nothing else.
    #[test]
    fn encoded_string_passes_for_its_value_only(s in any::<String>(), other in any::<String>()) {
        let header = encode_value(&s);
        let pass = passes("s", &header, json!({ "s": s }))?;
        prop_assert!(pass, "{:?}", header);
        if other != s {
            let pass = passes("s", &header, json!({ "s": other }))?;
            prop_assert!(!pass, "{:?}", header);
        }
    }

    /// Any raw header value: it passes for a string argument exactly when it decodes to it.
    #[test]
    fn raw_header_passes_iff_it_decodes_to_the_argument(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        let Ok(header) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let trimmed: &[u8] = {
            let start = bytes.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(bytes.len());
            let end = bytes.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |e| e + 1);
            &bytes[start..end]
        };
        let lossy = String::from_utf8_lossy(&bytes).into_owned();
        let want = decode_value(trimmed).as_deref() == Ok(lossy.as_str());
        prop_assert_eq!(passes("s", &header, json!({ "s": lossy }))?, want);
    }

    /// "integer: Convert to decimal string representation", compared numerically.
    #[test]
    fn integer_header_passes_for_its_number_only(n in any::<i64>(), fraction in any::<bool>()) {
        let text = if fraction { format!("{n}.0") } else { n.to_string() };
        let header = HeaderValue::from_str(&text).unwrap();
        let pass = passes("n", &header, json!({ "n": n }))?;
        prop_assert!(pass, "{}", text);
        if let Some(m) = n.checked_add(1) {
            let pass = passes("n", &header, json!({ "n": m }))?;
            prop_assert!(!pass, "{}", text);
        }
    }
}
