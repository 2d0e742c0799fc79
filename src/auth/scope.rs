//! Scopes and the scope policy: which scopes a request needs, from the
//! validated JSON-RPC envelope (method, tool, prompt or resource name), never
//! from raw headers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::envelope::{CompletionRef, Envelope, MessageKind};
use crate::error::ConfigError;

/// A set of OAuth scopes: case-sensitive, order-free (RFC 6749 §3.3).
/// Cloning is an `Arc` clone.
///
/// ```
/// use mcp_tower_guard::auth::Scopes;
///
/// let granted = Scopes::parse("files:read  deploy:write");
/// assert!(granted.contains("deploy:write"));
/// assert!(!granted.contains("Deploy:write"));
/// assert_eq!(granted.to_string(), "deploy:write files:read");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Arc<[Arc<str>]>);

impl Scopes {
    /// The scopes of a space-delimited `scope` value, as a token carries it.
    /// Empty entries are skipped; nothing is refused (a token's scopes are
    /// what the issuer says they are).
    pub fn parse(value: &str) -> Self {
        value.split_ascii_whitespace().collect()
    }

    /// True when `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| (**s).cmp(scope)).is_ok()
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|s| &**s)
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let set: BTreeSet<Arc<str>> = iter
            .into_iter()
            .filter(|s| !s.as_ref().is_empty())
            .map(|s| Arc::from(s.as_ref()))
            .collect();
        Self(set.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    /// Space-delimited, as in a `scope` parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Checks a configured scope: RFC 6749 `scope-token` characters only
/// (`%x21 / %x23-5B / %x5D-7E`), so it can be quoted in a `WWW-Authenticate`
/// challenge as it is.
pub(crate) fn check_scope(setting: &'static str, scope: &str) -> Result<(), ConfigError> {
    let reason = if scope.is_empty() {
        Some("a scope must not be empty")
    } else if !scope
        .bytes()
        .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    {
        Some("a scope is printable ASCII without spaces, '\"' or '\\' (RFC 6749 scope-token)")
    } else if scope == "offline_access" {
        // MCP 2026-07-28: servers SHOULD NOT ask for it; refresh tokens are
        // the client's business, not a resource requirement.
        Some("offline_access is not a resource requirement (MCP 2026-07-28 authorization, Refresh Tokens)")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::InvalidSetting {
            setting,
            reason: format!("{scope:?}: {reason}"),
        }),
        None => Ok(()),
    }
}

fn checked<I, S>(setting: &'static str, scopes: I) -> Result<Scopes, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let scopes: Vec<S> = scopes.into_iter().collect();
    for scope in &scopes {
        check_scope(setting, scope.as_ref())?;
    }
    Ok(scopes.iter().collect())
}

/// What a name in a request names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Tool,
    Prompt,
    Resource,
}

impl Target {
    /// The target a method's `params.name` / `params.uri` names.
    fn of(method: &str) -> Option<Self> {
        match method {
            "tools/call" => Some(Self::Tool),
            "prompts/get" => Some(Self::Prompt),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                Some(Self::Resource)
            }
            _ => None,
        }
    }
}

/// Which scopes each request needs: a default for every request, plus
/// entries per method and per tool, prompt or resource. Scopes may imply
/// others (`admin` implies `deploy:write`), as MCP 2026-07-28 asks ("servers
/// MUST account for scope hierarchies").
///
/// ```
/// use mcp_tower_guard::auth::ScopePolicy;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let policy = ScopePolicy::new()
///     .require(["mcp"])?                     // every request
///     .method("tools/call", ["mcp:tools"])?  // any tool call
///     .tool("deploy", ["deploy:write"])?     // tools/call of `deploy`
///     .implies("admin", ["mcp:tools", "deploy:write"])?;
/// # let _ = policy;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScopePolicy {
    default: Scopes,
    methods: BTreeMap<Box<str>, Scopes>,
    names: BTreeMap<(Target, Box<str>), Scopes>,
    /// Each scope's implied scopes, transitively closed.
    implies: BTreeMap<Arc<str>, Scopes>,
}

impl ScopePolicy {
    /// A policy that needs no scope: any valid token is enough.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scopes every request needs (GET streams and DELETE too).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for an empty scope, a character a
    /// `scope` cannot carry, or `offline_access`.
    pub fn require<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let extra = checked("require", scopes)?;
        self.default = self.default.iter().chain(extra.iter()).collect();
        Ok(self)
    }

    /// Scopes a JSON-RPC method needs (for example `tools/call`), on top of
    /// the default.
    ///
    /// # Errors
    ///
    /// As for [`require`](Self::require).
    pub fn method<I, S>(mut self, method: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = checked("method", scopes)?;
        add(&mut self.methods, method.into(), scopes);
        Ok(self)
    }

    /// Scopes a `tools/call` of the tool `name` needs, on top of the
    /// default and the method's.
    ///
    /// # Errors
    ///
    /// As for [`require`](Self::require).
    pub fn tool<I, S>(self, name: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.named(Target::Tool, "tool", name, scopes)
    }

    /// Scopes a `prompts/get` of the prompt `name` needs.
    ///
    /// # Errors
    ///
    /// As for [`require`](Self::require).
    pub fn prompt<I, S>(self, name: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.named(Target::Prompt, "prompt", name, scopes)
    }

    /// Scopes a `resources/read` (or subscribe, unsubscribe) of the
    /// resource `uri` needs. The URI is compared exactly.
    ///
    /// # Errors
    ///
    /// As for [`require`](Self::require).
    pub fn resource<I, S>(self, uri: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.named(Target::Resource, "resource", uri, scopes)
    }

    fn named<I, S>(
        mut self,
        target: Target,
        setting: &'static str,
        name: &str,
        scopes: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = checked(setting, scopes)?;
        add(&mut self.names, (target, name.into()), scopes);
        Ok(self)
    }

    /// A token granted `broader` also satisfies each of `narrower`
    /// (transitively: if `admin` implies `write` and `write` implies `read`,
    /// `admin` satisfies `read`).
    ///
    /// # Errors
    ///
    /// As for [`require`](Self::require).
    pub fn implies<I, S>(mut self, broader: &str, narrower: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        check_scope("implies", broader)?;
        let narrower = checked("implies", narrower)?;
        add(&mut self.implies, broader.into(), narrower);
        self.close_implications();
        Ok(self)
    }

    /// Makes `implies` transitive (a fixed point; policies are small).
    fn close_implications(&mut self) {
        loop {
            let mut changed = false;
            let snapshot = self.implies.clone();
            for implied in self.implies.values_mut() {
                let grown: Scopes = implied
                    .iter()
                    .chain(
                        implied
                            .iter()
                            .filter_map(|s| snapshot.get(s))
                            .flat_map(Scopes::iter),
                    )
                    .collect();
                if grown.len() != implied.len() {
                    *implied = grown;
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Every scope the policy names (for `scopes_supported` when none is given).
    pub(crate) fn default_scopes(&self) -> &Scopes {
        &self.default
    }

    /// True when the policy needs the envelope (per-method or per-name entries).
    pub(crate) fn reads_envelope(&self) -> bool {
        !self.methods.is_empty() || !self.names.is_empty()
    }

    /// The scopes a request needs: the default, plus the entries of each
    /// request or notification in the envelope (all of a batch's).
    pub(crate) fn required(&self, envelope: Option<&Envelope>) -> Scopes {
        let Some(envelope) = envelope.filter(|_| self.reads_envelope()) else {
            return self.default.clone();
        };
        let mut needed: Vec<&str> = self.default.iter().collect();
        for message in envelope.messages() {
            if message.kind == MessageKind::Response {
                continue;
            }
            let Some(method) = message.method.as_deref() else {
                continue;
            };
            if let Some(scopes) = self.methods.get(method) {
                needed.extend(scopes.iter());
            }
            let name = match Target::of(method) {
                Some(Target::Resource) => message.uri.as_deref().map(|u| (Target::Resource, u)),
                Some(target) => message.name.as_deref().map(|n| (target, n)),
                // A completion for a prompt or resource needs that prompt's
                // or resource's scopes (issue 26, finding 7).
                None if method == "completion/complete" => match message.completion_ref() {
                    Some(CompletionRef::Prompt(name)) => Some((Target::Prompt, name.as_str())),
                    Some(CompletionRef::Resource(uri)) => Some((Target::Resource, uri.as_str())),
                    _ => None,
                },
                None => None,
            };
            if let Some((target, name)) = name {
                if let Some(scopes) = self.names.get(&(target, Box::from(name))) {
                    needed.extend(scopes.iter());
                }
            }
        }
        needed.into_iter().collect()
    }

    /// The scopes of `required` that `granted` does not satisfy, directly
    /// or through an implication; `None` when nothing is missing (the usual
    /// answer, found without building a set).
    pub(crate) fn missing(&self, required: &Scopes, granted: &Scopes) -> Option<Scopes> {
        if required.iter().all(|need| self.satisfies(granted, need)) {
            return None;
        }
        Some(
            required
                .iter()
                .filter(|need| !self.satisfies(granted, need))
                .collect(),
        )
    }

    fn satisfies(&self, granted: &Scopes, need: &str) -> bool {
        granted.contains(need)
            || granted.iter().any(|g| {
                self.implies
                    .get(g)
                    .is_some_and(|implied| implied.contains(need))
            })
    }
}

fn add<K: Ord>(map: &mut BTreeMap<K, Scopes>, key: K, scopes: Scopes) {
    let entry = map.entry(key).or_default();
    *entry = entry.iter().chain(scopes.iter()).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(body: &str) -> Envelope {
        Envelope::parse(body.as_bytes()).unwrap()
    }

    fn policy() -> ScopePolicy {
        ScopePolicy::new()
            .require(["mcp"])
            .unwrap()
            .method("tools/call", ["mcp:tools"])
            .unwrap()
            .tool("deploy", ["deploy:write"])
            .unwrap()
            .prompt("secret", ["prompts:secret"])
            .unwrap()
            .resource("file:///etc", ["files:etc"])
            .unwrap()
            .implies("admin", ["deploy:write"])
            .unwrap()
            .implies("root", ["admin", "mcp"])
            .unwrap()
    }

    #[test]
    fn required_scopes_come_from_the_envelope() {
        let p = policy();
        let call = |name: &str| {
            envelope(&format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}"}}}}"#
            ))
        };
        assert_eq!(
            p.required(Some(&call("deploy"))).to_string(),
            "deploy:write mcp mcp:tools"
        );
        assert_eq!(p.required(Some(&call("echo"))).to_string(), "mcp mcp:tools");
        assert_eq!(p.required(None).to_string(), "mcp");
        let prompt = envelope(
            r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"secret"}}"#,
        );
        assert_eq!(p.required(Some(&prompt)).to_string(), "mcp prompts:secret");
        let read = envelope(
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc"}}"#,
        );
        assert_eq!(p.required(Some(&read)).to_string(), "files:etc mcp");
        // A tool and a prompt with the same name are different entries.
        let other = envelope(
            r#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"deploy"}}"#,
        );
        assert_eq!(p.required(Some(&other)).to_string(), "mcp");
    }

    #[test]
    fn a_batch_needs_the_scopes_of_every_message() {
        let batch = envelope(
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"deploy"}},
                {"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///etc"}}]"#,
        );
        assert_eq!(
            policy().required(Some(&batch)).to_string(),
            "deploy:write files:etc mcp mcp:tools"
        );
    }

    #[test]
    fn spec_2026_07_28_scope_hierarchies_are_accounted_for() {
        let p = policy();
        let required = Scopes::parse("deploy:write mcp");
        let missing = |granted: &str| {
            p.missing(&required, &Scopes::parse(granted))
                .map(|m| m.to_string())
        };
        assert_eq!(missing("mcp deploy:write"), None);
        assert_eq!(missing("mcp admin"), None);
        // Transitive: root implies admin, which implies deploy:write.
        assert_eq!(missing("root"), None);
        assert_eq!(missing("mcp").as_deref(), Some("deploy:write"));
        assert_eq!(missing("").as_deref(), Some("deploy:write mcp"));
    }

    #[test]
    fn configured_scopes_must_be_scope_tokens_and_not_offline_access() {
        for bad in ["", "a b", "a\"b", "a\\b", "é", "offline_access"] {
            assert!(ScopePolicy::new().require([bad]).is_err(), "{bad:?}");
            assert!(ScopePolicy::new().tool("t", [bad]).is_err(), "{bad:?}");
        }
        assert!(ScopePolicy::new()
            .require(["files:read", "https://api.example/x"])
            .is_ok());
    }
}
