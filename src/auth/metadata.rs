//! RFC 9728 Protected Resource Metadata: the document that tells a client
//! which authorization servers issue tokens for this MCP endpoint, and the
//! well-known URLs it is served at.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Map, Value};
use tower_service::Service;
use url::Url;

use super::scope::{check_scope, Scopes};
use crate::error::ConfigError;

/// The well-known URI suffix of RFC 9728 §3.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How long clients and caches may keep the document.
const MAX_AGE: &str = "public, max-age=3600";

/// The Protected Resource Metadata of one MCP endpoint (RFC 9728), built and
/// checked once. Its `resource` is the endpoint's canonical URI, which is
/// also the audience every token must carry (RFC 8707).
///
/// ```
/// use mcp_tower_guard::auth::ResourceMetadata;
///
/// # fn main() -> Result<(), mcp_tower_guard::ConfigError> {
/// let metadata = ResourceMetadata::new("https://mcp.example.com/mcp", "https://auth.example.com")?
///     .scopes_supported(["mcp"])?
///     .resource_name("Example MCP server");
/// assert_eq!(metadata.resource(), "https://mcp.example.com/mcp");
/// assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     metadata.url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ResourceMetadata {
    resource: String,
    origin: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Option<Scopes>,
    optional: Map<String, Value>,
}

impl ResourceMetadata {
    /// Metadata for the endpoint `resource` (for example
    /// `https://mcp.example.com/mcp`), whose tokens come from the issuer
    /// `authorization_server`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] when either is not an absolute
    /// `https` URL (`http` only on a loopback host), or carries userinfo, a
    /// query or a fragment.
    pub fn new(resource: &str, authorization_server: &str) -> Result<Self, ConfigError> {
        let url = checked_url("resource", resource)?;
        let origin = url.origin().ascii_serialization();
        // RFC 8707 and MCP: lowercase scheme and host (the parser does
        // that), no fragment, and no trailing slash on a bare origin.
        let path = match url.path() {
            "/" => String::new(),
            path => path.to_owned(),
        };
        let resource = format!("{origin}{path}");
        // An issuer identifier is compared byte for byte (RFC 8414 §3.3),
        // so it is advertised exactly as configured: `https://x.auth0.com/`
        // keeps its slash.
        checked_url("authorization_server", authorization_server)?;
        Ok(Self {
            resource,
            origin,
            path,
            authorization_servers: vec![authorization_server.to_owned()],
            scopes_supported: None,
            optional: Map::new(),
        })
    }

    /// Lists another authorization server.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn authorization_server(mut self, issuer: &str) -> Result<Self, ConfigError> {
        checked_url("authorization_server", issuer)?;
        if !self.authorization_servers.iter().any(|s| s == issuer) {
            self.authorization_servers.push(issuer.to_owned());
        }
        Ok(self)
    }

    /// `scopes_supported`: the minimal scopes for basic use, which clients
    /// ask for when a challenge names none (MCP: publish the minimum, and
    /// step up with `insufficient_scope`). Left unset, the policy's default
    /// scopes are published, or nothing when there are none.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidSetting`] for a scope that is not a scope
    /// token, or `offline_access` (MCP 2026-07-28: servers SHOULD NOT list it).
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes: Vec<S> = scopes.into_iter().collect();
        for scope in &scopes {
            check_scope("scopes_supported", scope.as_ref())?;
        }
        self.scopes_supported = Some(scopes.iter().collect());
        Ok(self)
    }

    /// `resource_name`, shown to users by clients (RFC 9728 recommends it).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.optional
            .insert("resource_name".to_owned(), Value::String(name.into()));
        self
    }

    /// `resource_documentation`.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn resource_documentation(self, url: &str) -> Result<Self, ConfigError> {
        self.optional_url("resource_documentation", url)
    }

    /// `resource_policy_uri`.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn resource_policy_uri(self, url: &str) -> Result<Self, ConfigError> {
        self.optional_url("resource_policy_uri", url)
    }

    /// `resource_tos_uri`.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn resource_tos_uri(self, url: &str) -> Result<Self, ConfigError> {
        self.optional_url("resource_tos_uri", url)
    }

    fn optional_url(mut self, field: &'static str, url: &str) -> Result<Self, ConfigError> {
        let url = checked_url(field, url)?;
        self.optional
            .insert(field.to_owned(), Value::String(url.to_string()));
        Ok(self)
    }

    /// The canonical resource URI: the PRM `resource`, and the audience
    /// tokens must be issued for.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The listed authorization servers (issuer identifiers).
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// The path-aware well-known path (RFC 9728 §3.1): the suffix inserted
    /// between the host and the endpoint's path.
    pub fn well_known_path(&self) -> String {
        format!("{WELL_KNOWN}{}", self.path)
    }

    /// Both paths the document is served at: the path-aware one, which
    /// clients try first, and the root one (the same when the endpoint is
    /// at the root).
    pub fn well_known_paths(&self) -> Vec<String> {
        let mut paths = vec![self.well_known_path()];
        if !self.path.is_empty() {
            paths.push(WELL_KNOWN.to_owned());
        }
        paths
    }

    /// The absolute URL of the document, sent as `resource_metadata` in
    /// every challenge.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.well_known_path())
    }

    /// `scopes_supported`, or `fallback` when it was not set.
    pub(crate) fn scopes_supported_or<'a>(&'a self, fallback: &'a Scopes) -> &'a Scopes {
        self.scopes_supported.as_ref().unwrap_or(fallback)
    }

    /// The JSON document. `scopes_supported` falls back to `default_scopes`;
    /// empty fields are omitted (RFC 9728 §3.2).
    pub(crate) fn document(&self, default_scopes: &Scopes) -> Value {
        let mut doc = Map::new();
        doc.insert("resource".to_owned(), json!(self.resource));
        doc.insert(
            "authorization_servers".to_owned(),
            json!(self.authorization_servers),
        );
        let scopes = self.scopes_supported.as_ref().unwrap_or(default_scopes);
        if !scopes.is_empty() {
            doc.insert(
                "scopes_supported".to_owned(),
                Value::Array(scopes.iter().map(|s| json!(s)).collect()),
            );
        }
        doc.insert("bearer_methods_supported".to_owned(), json!(["header"]));
        for (k, v) in &self.optional {
            doc.insert(k.clone(), v.clone());
        }
        Value::Object(doc)
    }
}

/// An absolute URL that is `https`, or `http` on a loopback host, without
/// userinfo, query or fragment.
pub(crate) fn checked_url(setting: &'static str, value: &str) -> Result<Url, ConfigError> {
    let fail = |reason: &str| ConfigError::InvalidSetting {
        setting,
        reason: format!("{value:?}: {reason}"),
    };
    let url = Url::parse(value).map_err(|e| fail(&format!("not an absolute URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(fail("http is only allowed on a loopback host; use https")),
        _ => return Err(fail("the scheme must be https")),
    }
    if url.host().is_none() {
        return Err(fail("a host is required"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail("userinfo is not allowed"));
    }
    if url.query().is_some() {
        return Err(fail("a query is not allowed (RFC 8707)"));
    }
    if url.fragment().is_some() {
        return Err(fail("a fragment is not allowed (RFC 8707)"));
    }
    Ok(url)
}

/// `localhost`, 127.0.0.0/8 or `[::1]`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The serialized document and the headers it is served with.
#[derive(Clone, Debug)]
pub(crate) struct MetadataDocument {
    body: Bytes,
    paths: Arc<[String]>,
}

impl MetadataDocument {
    pub(crate) fn new(metadata: &ResourceMetadata, default_scopes: &Scopes) -> Self {
        let body = Bytes::from(metadata.document(default_scopes).to_string());
        Self {
            body,
            paths: metadata.well_known_paths().into(),
        }
    }

    /// True when `path` is one of the document's well-known paths.
    pub(crate) fn serves(&self, path: &str) -> bool {
        self.paths.iter().any(|p| p == path)
    }

    /// The answer to a request for the document: GET and HEAD get it,
    /// OPTIONS a CORS preflight answer, anything else 405. The document is
    /// public, so any origin may read it (browser clients discover it).
    pub(crate) fn respond<B: Default + 'static>(&self, method: &Method) -> Response<B> {
        let mut res = match *method {
            Method::GET => {
                Response::new(crate::body::from_bytes::<B>(self.body.clone()).unwrap_or_default())
            }
            Method::HEAD => Response::new(B::default()),
            Method::OPTIONS => {
                let mut res = Response::new(B::default());
                *res.status_mut() = StatusCode::NO_CONTENT;
                let headers = res.headers_mut();
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("mcp-protocol-version"),
                );
                headers.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                );
                res
            }
            _ => {
                let mut res = Response::new(B::default());
                *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                res.headers_mut().insert(
                    header::ALLOW,
                    HeaderValue::from_static("GET, HEAD, OPTIONS"),
                );
                return res;
            }
        };
        let headers = res.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        if *method != Method::OPTIONS {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        res
    }
}

/// A service that answers the metadata document, for mounting at its
/// well-known paths beside the MCP route (see
/// [`McpAuthLayer::metadata_service`](super::McpAuthLayer::metadata_service)).
#[derive(Clone, Debug)]
pub struct MetadataService {
    document: MetadataDocument,
}

impl MetadataService {
    pub(crate) fn new(document: MetadataDocument) -> Self {
        Self { document }
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.document.respond(req.method())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_9728_well_known_path_inserts_after_the_host() {
        let m = ResourceMetadata::new("https://MCP.Example.com/public/mcp", "https://as.example")
            .unwrap();
        assert_eq!(m.resource(), "https://mcp.example.com/public/mcp");
        assert_eq!(
            m.well_known_path(),
            "/.well-known/oauth-protected-resource/public/mcp"
        );
        assert_eq!(
            m.well_known_paths(),
            [
                "/.well-known/oauth-protected-resource/public/mcp",
                "/.well-known/oauth-protected-resource"
            ]
        );
        let root = ResourceMetadata::new("https://mcp.example.com/", "https://as.example").unwrap();
        assert_eq!(root.resource(), "https://mcp.example.com");
        assert_eq!(
            root.well_known_paths(),
            ["/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            root.url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn rfc_8707_resource_must_be_https_without_query_or_fragment() {
        for bad in [
            "mcp.example.com",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com/mcp#frag",
            "https://mcp.example.com/mcp?x=1",
            "https://user@mcp.example.com/mcp",
            "ftp://mcp.example.com",
        ] {
            assert!(
                ResourceMetadata::new(bad, "https://as.example").is_err(),
                "{bad}"
            );
        }
        for good in [
            "http://127.0.0.1:8000/mcp",
            "http://localhost:8000/mcp",
            "http://[::1]/mcp",
        ] {
            assert!(
                ResourceMetadata::new(good, "https://as.example").is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn document_has_the_fields_and_omits_empty_ones() {
        let m = ResourceMetadata::new("https://mcp.example.com/mcp", "https://as.example/")
            .unwrap()
            .authorization_server("https://as2.example/tenant")
            .unwrap()
            .resource_name("Example");
        let doc = m.document(&Scopes::default());
        assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
        // Issuer identifiers are advertised as configured (RFC 8414 §3.3:
        // compared byte for byte), trailing slash included.
        assert_eq!(
            doc["authorization_servers"],
            json!(["https://as.example/", "https://as2.example/tenant"])
        );
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        assert_eq!(doc["resource_name"], "Example");
        assert!(doc.get("scopes_supported").is_none(), "{doc}");
        let doc = m.document(&Scopes::parse("mcp"));
        assert_eq!(doc["scopes_supported"], json!(["mcp"]));
    }

    #[test]
    fn spec_2026_07_28_scopes_supported_never_offers_offline_access() {
        let m = ResourceMetadata::new("https://mcp.example.com/mcp", "https://as.example").unwrap();
        assert!(m
            .clone()
            .scopes_supported(["mcp", "offline_access"])
            .is_err());
        assert!(m.scopes_supported(["mcp"]).is_ok());
    }
}
