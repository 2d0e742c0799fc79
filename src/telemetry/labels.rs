//! Bounded label values: what a client sends becomes a metric label only
//! from a known set, so no client can grow the number of series.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use metrics::SharedString;

/// The value for anything outside a known set (the OpenTelemetry convention).
pub(crate) const OTHER: &str = "_OTHER";

/// Longest tool or prompt name kept as a label.
const MAX_TARGET_LEN: usize = 64;

/// The JSON-RPC error codes the MCP specification and this crate use: the
/// only ones that become label values (issue 26, finding 12), so a handler
/// cannot grow the number of series with codes of its own.
const ERROR_CODES: &[(i64, &str)] = &[
    (-32700, "-32700"),
    (-32600, "-32600"),
    (-32601, "-32601"),
    (-32602, "-32602"),
    (-32603, "-32603"),
    (-32000, "-32000"),
    (-32001, "-32001"),
    (-32002, "-32002"),
    (-32020, "-32020"),
    (-32021, "-32021"),
    (-32022, "-32022"),
    (-32042, "-32042"),
];

/// `code` as a label value when it is a code of the specification (or this
/// crate's), else `_OTHER`.
pub(crate) fn error_code(code: i64) -> &'static str {
    ERROR_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(OTHER, |(_, label)| label)
}

/// `method` when it is an MCP method, else `_OTHER`.
pub(crate) fn method(method: &str) -> &'static str {
    crate::envelope::known_method(method).unwrap_or(OTHER)
}

/// Whether `method`'s target (`params.name`) is a tool or a prompt.
pub(crate) fn target_kind(method: &str) -> Option<TargetKind> {
    match method {
        "tools/call" => Some(TargetKind::Tool),
        "prompts/get" => Some(TargetKind::Prompt),
        _ => None,
    }
}

/// What a `params.name` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TargetKind {
    Tool,
    Prompt,
}

impl TargetKind {
    /// The attribute that carries the name.
    pub(crate) const fn attribute(self) -> &'static str {
        match self {
            Self::Tool => "gen_ai.tool.name",
            Self::Prompt => "gen_ai.prompt.name",
        }
    }
}

/// Which tool and prompt names may be labels.
#[derive(Debug)]
pub(crate) enum Targets {
    /// Only these.
    Known(HashSet<Arc<str>>),
    /// The first `cap` distinct names seen.
    FirstSeen {
        cap: usize,
        seen: RwLock<HashSet<Arc<str>>>,
    },
}

impl Targets {
    pub(crate) fn first_seen(cap: usize) -> Self {
        Self::FirstSeen {
            cap,
            seen: RwLock::new(HashSet::new()),
        }
    }

    /// Learns `message`'s tool or prompt name as a label: the inner service
    /// answered it. (The span was named when the body was read, before any
    /// answer, from the names known then: a name's first request is named
    /// by its method alone.)
    pub(crate) fn learn(&self, message: &crate::envelope::Message) {
        let name = message.name.as_deref();
        if let (Some(_), Some(name)) = (message.method.as_deref().and_then(target_kind), name) {
            let _ = self.label(name);
        }
    }

    /// The label for `name` without learning it: the name itself when it is
    /// known or already seen, else `_OTHER`.
    pub(crate) fn known_label(&self, name: &str) -> SharedString {
        match self {
            Self::Known(known) => known.get(name).cloned(),
            Self::FirstSeen { seen, .. } => seen.read().ok().and_then(|s| s.get(name).cloned()),
        }
        .map_or(SharedString::const_str(OTHER), SharedString::from)
    }

    /// The label for `name`: the name itself when it is allowed, else
    /// `_OTHER`; a first-seen set learns it while there is room. Only for
    /// requests the inner service answered (issue 26, finding 11: names in
    /// refused requests would squat the set).
    pub(crate) fn label(&self, name: &str) -> SharedString {
        match self {
            Self::Known(known) => known.get(name).cloned(),
            Self::FirstSeen { cap, seen } => {
                if name.len() > MAX_TARGET_LEN || name.is_empty() {
                    None
                } else if let Some(hit) = seen.read().ok().and_then(|s| s.get(name).cloned()) {
                    Some(hit)
                } else {
                    match seen.write() {
                        Ok(mut seen) if seen.len() < *cap => {
                            let name: Arc<str> = Arc::from(name);
                            seen.insert(name.clone());
                            Some(name)
                        }
                        Ok(seen) => seen.get(name).cloned(),
                        Err(_) => None,
                    }
                }
            }
        }
        .map_or(SharedString::const_str(OTHER), SharedString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_mcp_are_other() {
        assert_eq!(method("tools/call"), "tools/call");
        assert_eq!(
            method("notifications/initialized"),
            "notifications/initialized"
        );
        assert_eq!(method("x/".repeat(100).as_str()), OTHER);
    }

    #[test]
    fn first_seen_targets_stop_at_the_cap() {
        let targets = Targets::first_seen(2);
        assert_eq!(&*targets.label("a"), "a");
        assert_eq!(&*targets.label("b"), "b");
        assert_eq!(&*targets.label("c"), OTHER);
        assert_eq!(&*targets.label("a"), "a");
        assert_eq!(&*targets.label(&"n".repeat(65)), OTHER);
    }

    #[test]
    fn known_targets_admit_only_themselves() {
        let targets = Targets::Known(["deploy"].into_iter().map(Arc::from).collect());
        assert_eq!(&*targets.label("deploy"), "deploy");
        assert_eq!(&*targets.label("other"), OTHER);
    }
}
