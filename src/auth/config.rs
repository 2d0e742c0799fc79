//! The authorization layer's settings, shared by every service it makes.

use std::fmt;
use std::sync::Arc;

use super::metadata::{MetadataDocument, ResourceMetadata};
use super::scope::{ScopePolicy, Scopes};
use super::verifier::TokenVerifier;

#[derive(Clone)]
pub(crate) struct AuthConfig {
    pub(crate) verifier: Arc<dyn TokenVerifier>,
    pub(crate) metadata: ResourceMetadata,
    /// The absolute metadata URL every challenge names.
    pub(crate) metadata_url: Arc<str>,
    pub(crate) document: MetadataDocument,
    pub(crate) policy: ScopePolicy,
    /// The scopes a 401 challenge names: `scopes_supported` when set, else
    /// the policy's default.
    pub(crate) challenge_scope: Scopes,
    pub(crate) strip_authorization: bool,
    pub(crate) max_token_bytes: usize,
    /// The identity gate in front of the body read: it verifies the token
    /// and leaves the scopes to this layer behind the headers layer.
    pub(crate) identity_only: bool,
    pub(crate) order_warned: crate::order::WarnOnce,
}

impl AuthConfig {
    pub(crate) fn new(metadata: ResourceMetadata, verifier: Arc<dyn TokenVerifier>) -> Self {
        let mut config = Self {
            verifier,
            metadata_url: metadata.url().into(),
            document: MetadataDocument::new(&metadata, &Scopes::default()),
            metadata,
            policy: ScopePolicy::new(),
            challenge_scope: Scopes::default(),
            strip_authorization: true,
            max_token_bytes: super::bearer::DEFAULT_MAX_TOKEN_BYTES,
            identity_only: false,
            order_warned: crate::order::WarnOnce::default(),
        };
        config.derive();
        config
    }

    /// Recomputes what follows from the metadata and the policy.
    pub(crate) fn derive(&mut self) {
        self.document = MetadataDocument::new(&self.metadata, self.policy.default_scopes());
        self.challenge_scope = self
            .metadata
            .scopes_supported_or(self.policy.default_scopes())
            .clone();
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("verifier", &"<dyn TokenVerifier>")
            .field("resource", &self.metadata.resource())
            .field("metadata_url", &self.metadata_url)
            .field("policy", &self.policy)
            .field("strip_authorization", &self.strip_authorization)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish_non_exhaustive()
    }
}
