//! A message's `method`, kept without a copy when it is one of the spec's.

use std::fmt;
use std::ops::Deref;

/// A JSON-RPC method name: one a client sends in MCP (a static string:
/// nearly every request names one, and then nothing is allocated), or any
/// other.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Method {
    Known(&'static str),
    Other(Box<str>),
}

/// The methods a client sends to a server, in every revision this crate
/// serves (2024-11-05 to 2026-07-28) and the tasks extension: the one list,
/// which telemetry also reads for its bounded method label.
const CLIENT_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/result",
    "tasks/list",
    "tasks/cancel",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
    "notifications/tasks/status",
];

/// `name` as the static string of a method a client sends, when it is one.
pub(crate) fn known_method(name: &str) -> Option<&'static str> {
    CLIENT_METHODS.iter().copied().find(|known| *known == name)
}

impl Method {
    pub(crate) fn new(name: &str) -> Self {
        match known_method(name) {
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
