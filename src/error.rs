//! Configuration errors: every builder validates its input once and names the bad entry.

/// An invalid configuration value given to one of the layer builders.
///
/// ```
/// use mcp_tower_guard::{ConfigError, HostCheckLayer};
///
/// let err = HostCheckLayer::new(["evil@localhost"]).unwrap_err();
/// assert!(matches!(err, ConfigError::InvalidHost { .. }));
/// assert!(err.to_string().contains("evil@localhost"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A host allowlist entry that is not a host, `host:port`, `host:*` or `*.domain`.
    #[error("invalid host entry {entry:?}: {reason}")]
    InvalidHost {
        /// The entry as given.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// An origin allowlist entry that is not `scheme://host[:port]`.
    #[error("invalid origin entry {entry:?}: {reason}")]
    InvalidOrigin {
        /// The entry as given.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// A protocol version that is not a `YYYY-MM-DD` revision.
    #[error("invalid protocol version {entry:?}: {reason}")]
    InvalidProtocolVersion {
        /// The entry as given.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// A bind address that would expose the server without naming the hosts it answers to.
    #[error("refusing to serve on {addr}: {reason}")]
    UnsafeBind {
        /// The address that was refused.
        addr: std::net::SocketAddr,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A tool definition whose `x-mcp-header` annotations break a constraint of the spec.
    #[error("invalid tool {tool:?}: {reason}")]
    InvalidTool {
        /// The tool's name.
        tool: String,
        /// Which constraint, on which property.
        reason: String,
    },
    /// Any other invalid setting (a zero limit, an empty list, ...).
    #[error("invalid setting {setting}: {reason}")]
    InvalidSetting {
        /// The setting's name.
        setting: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

/// The error for a limit or duration that must be greater than zero.
pub(crate) fn not_positive(setting: &'static str) -> ConfigError {
    ConfigError::InvalidSetting {
        setting,
        reason: "must be greater than zero".to_owned(),
    }
}
