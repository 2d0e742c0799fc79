//! [`McpAuthLayer`].

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use super::config::AuthConfig;
use super::metadata::{MetadataService, ResourceMetadata};
use super::scope::ScopePolicy;
use super::service::McpAuth;
use super::verifier::TokenVerifier;
use crate::JsonRpcRejection;

/// MCP authorization at the edge: an OAuth 2.1 resource server for one MCP
/// endpoint. See the [module docs](crate::auth) for the rules and an example.
///
/// Cloning the layer, and calling [`Layer::layer`], only clones an [`Arc`].
#[derive(Clone)]
#[must_use]
pub struct McpAuthLayer<R = JsonRpcRejection> {
    pub(super) config: Arc<AuthConfig>,
    pub(super) rejection: R,
}

impl McpAuthLayer {
    /// Protects the endpoint described by `metadata` with tokens checked by
    /// `verifier`; any valid token is enough until [`scopes`](Self::scopes)
    /// sets a policy.
    pub fn new(metadata: ResourceMetadata, verifier: impl TokenVerifier) -> Self {
        Self {
            config: Arc::new(AuthConfig::new(metadata, Arc::new(verifier))),
            rejection: JsonRpcRejection,
        }
    }
}

impl<R> McpAuthLayer<R> {
    fn config(&mut self) -> &mut AuthConfig {
        Arc::make_mut(&mut self.config)
    }

    /// The scopes requests need: a default, and entries per method and per
    /// tool, prompt or resource. Its default scopes are also what the
    /// metadata publishes as `scopes_supported`, unless that was set.
    pub fn scopes(mut self, policy: ScopePolicy) -> Self {
        let config = self.config();
        config.policy = policy;
        config.derive();
        self
    }

    /// Whether the inner service still sees the `Authorization` header
    /// (default `false`: it is removed, so a handler cannot pass the client's
    /// token on; MCP forbids token passthrough). The verified identity is in
    /// the request extensions either way.
    pub fn keep_authorization(mut self, keep: bool) -> Self {
        self.config().strip_authorization = !keep;
        self
    }

    /// The largest bearer token accepted, in bytes (default 16 KiB); larger
    /// ones get 401 before anything parses them.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.config().max_token_bytes = bytes;
        self
    }

    /// The endpoint's metadata.
    pub fn metadata(&self) -> &ResourceMetadata {
        &self.config.metadata
    }

    /// The paths the metadata document is served at (path-aware first).
    /// Mount [`metadata_service`](Self::metadata_service) at each, beside the
    /// MCP route; the layer also answers them itself when they reach it.
    pub fn metadata_paths(&self) -> Vec<String> {
        self.config.metadata.well_known_paths()
    }

    /// A service answering the metadata document: public, cacheable, with
    /// `Access-Control-Allow-Origin: *` for browser clients.
    pub fn metadata_service(&self) -> MetadataService {
        MetadataService::new(self.config.document.clone())
    }

    /// Uses `rejection` to build refusal responses (the challenge headers
    /// are added to whatever it returns).
    pub fn with_rejection<R2: Clone>(self, rejection: R2) -> McpAuthLayer<R2> {
        McpAuthLayer {
            config: self.config,
            rejection,
        }
    }

    /// The identity half of this layer, for the front of the stack, before
    /// anything reads the body (issue 26, finding 9): it refuses a request
    /// without a valid token (401, 400) at once, and passes a verified one on
    /// with its identity, which this layer, behind the headers layer, then
    /// reuses for the scope check without verifying again. `McpGuard` puts
    /// the two halves in place.
    pub(crate) fn identity_gate(&self) -> Self
    where
        R: Clone,
    {
        let mut gate = self.clone();
        gate.config().identity_only = true;
        gate
    }

    /// Wraps `inner`.
    pub fn into_service<S>(self, inner: S) -> McpAuth<S, R> {
        McpAuth::new(inner, self.config, self.rejection)
    }
}

impl<R> fmt::Debug for McpAuthLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::rejection::debug_guard::<R>(f, "McpAuthLayer", None, &self.config)
    }
}

impl<S, R: Clone> Layer<S> for McpAuthLayer<R> {
    type Service = McpAuth<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        McpAuth::new(inner, Arc::clone(&self.config), self.rejection.clone())
    }
}
