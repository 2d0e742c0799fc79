//! A message's `method`, kept without a copy when it is one of the spec's.

use std::fmt;
use std::ops::Deref;

/// A JSON-RPC method name: one of MCP's own (a static string: nearly every
/// request names one, and then nothing is allocated), or any other.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Method {
    Known(&'static str),
    Other(Box<str>),
}

/// The methods and notifications of MCP, all revisions and the tasks extension.
const KNOWN: [&str; 31] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "tasks/get",
    "tasks/list",
    "tasks/cancel",
    "tasks/result",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/roots/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/tasks/status",
    "notifications/elicitation/complete",
];

impl Method {
    pub(crate) fn new(name: &str) -> Self {
        match KNOWN.iter().find(|known| **known == name) {
            Some(known) => Self::Known(known),
            None => Self::Other(name.into()),
        }
    }
}

impl Deref for Method {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Self::Known(name) => name,
            Self::Other(name) => name,
        }
    }
}

impl fmt::Debug for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's names are not copied; any other name is kept as sent.
    #[test]
    fn known_names_are_static_and_others_kept() {
        assert!(matches!(
            Method::new("tools/call"),
            Method::Known("tools/call")
        ));
        assert!(matches!(Method::new("x/custom"), Method::Other(_)));
        assert_eq!(&*Method::new("x/custom"), "x/custom");
        assert_eq!(
            &*Method::new("Tools/Call"),
            "Tools/Call",
            "names are case-sensitive"
        );
        assert_eq!(Method::new("ping"), Method::new("ping"));
    }
}
