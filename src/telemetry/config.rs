//! The settings every service of one [`McpTelemetryLayer`](super::McpTelemetryLayer) shares.

use std::sync::Arc;

use super::labels::Targets;
use crate::order::WarnOnce;

/// The settings every service of one layer shares.
#[derive(Clone, Debug)]
pub(crate) struct TelemetryConfig {
    pub(crate) session_id: bool,
    pub(crate) targets: Arc<Targets>,
    pub(crate) warned: WarnOnce,
}
