//! The demo's guard: the layers in front of the handlers (Host, Origin,
//! headers, and with their features auth, rate limits and telemetry), built
//! and checked before the session store.

use super::*;

/// The layers in front of the handlers, built (and checked) before the store.
pub(super) struct Guards {
    hosts: HostCheckLayer,
    origins: OriginGuardLayer,
    headers: McpHeadersLayer,
    #[cfg(feature = "auth")]
    auth: Option<mcp_tower_guard::auth::McpAuthLayer>,
    #[cfg(feature = "ratelimit")]
    pub(super) rate_limits: Option<mcp_tower_guard::ratelimit::McpRateLimitLayer>,
    streams_keep_alive: bool,
}

impl Guards {
    pub(super) fn new(config: &DemoConfig) -> Result<Self, ConfigError> {
        #[cfg(not(feature = "ratelimit"))]
        if !config.rate_limits.is_empty() {
            return Err(ConfigError::InvalidSetting {
                setting: "--rate-limit",
                reason: "build the demo with --features ratelimit".to_owned(),
            });
        }
        #[cfg(not(feature = "auth"))]
        if config.auth_issuer.is_some() {
            return Err(ConfigError::InvalidSetting {
                setting: "--auth-issuer",
                reason: "build the demo with --features auth".to_owned(),
            });
        }
        let hosts = LocalBind::new(config.bind)
            .allow_hosts(config.allowed_hosts.iter().cloned())
            .allow_non_loopback(!config.allowed_hosts.is_empty())
            .host_check()?;
        let origins = OriginGuardLayer::localhost().allow_origins(&config.allowed_origins)?;
        let headers = McpHeadersLayer::new()
            .server_header(HeaderValue::from_static(concat!(
                "mcp-tower-guard-demo/",
                env!("CARGO_PKG_VERSION")
            )))
            .tool_rules(tool_rules()?);
        Ok(Self {
            hosts,
            origins,
            headers,
            #[cfg(feature = "auth")]
            auth: auth_layer(config)?,
            #[cfg(feature = "ratelimit")]
            rate_limits: rate_limit_layer(config)?,
            streams_keep_alive: config.streams_keep_alive,
        })
    }

    /// The whole guard around the handlers, as one `McpGuard` (the order is
    /// its business). DELETE is the session layer's, so no route for it.
    pub(super) fn router(
        self,
        state: AppState,
        store: impl IntoSessionStore,
    ) -> Result<Router, ConfigError> {
        let sessions = McpSessionLayer::new(store).streams_keep_alive(self.streams_keep_alive);
        let guard = McpGuard::new(self.hosts)?
            .origins(self.origins)
            .headers(self.headers)
            .session_layer(sessions);
        // Only the demo's own tool and prompt names become metric labels.
        #[cfg(feature = "telemetry")]
        let guard = guard.telemetry(
            mcp_tower_guard::telemetry::McpTelemetryLayer::new().known_targets(catalog_names()),
        );
        let handlers = Router::new()
            .route("/mcp", post(mcp_post).get(mcp_get))
            .with_state(state);
        #[cfg(feature = "ratelimit")]
        let guard = match self.rate_limits {
            Some(limits) => guard.rate_limits(limits),
            None => guard,
        };
        #[allow(unused_mut)]
        let mut router = Router::new();
        #[cfg(feature = "auth")]
        let guard = match self.auth {
            Some(auth) => {
                // The metadata document beside the MCP route, at both well-known paths.
                for path in auth.metadata_paths() {
                    router = router.route_service(&path, auth.metadata_service());
                }
                guard.auth(auth)
            }
            None => guard,
        };
        // The Host check on every other route (the OAuth metadata) and on the
        // 404 of unknown paths; /mcp is added after, so it is checked once.
        Ok(router
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(guard.host_check())
            .route_service("/mcp", guard.into_service(handlers)))
    }
}

/// The names of the demo's tools and prompts.
#[cfg(feature = "telemetry")]
fn catalog_names() -> Vec<String> {
    let prompts = catalog_request("prompts/list", &json!({})).unwrap_or_default();
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["name"].as_str().map(str::to_owned))
            .collect()
    };
    let mut all = names(&tools(Era::Modern));
    all.extend(names(&prompts["prompts"]));
    all
}

/// `--rate-limit` rules as a layer.
#[cfg(feature = "ratelimit")]
fn rate_limit_layer(
    config: &DemoConfig,
) -> Result<Option<mcp_tower_guard::ratelimit::McpRateLimitLayer>, ConfigError> {
    use mcp_tower_guard::ratelimit::{KeyPart, McpRateLimitLayer, RateLimitRule};
    if config.rate_limits.is_empty() {
        return Ok(None);
    }
    let rules = config
        .rate_limits
        .iter()
        .map(|r| RateLimitRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    // Without a verified user every request has the same principal: a rule
    // keyed on it alone would be one bucket for everybody.
    if config.auth_issuer.is_none() {
        if let Some(rule) = rules.iter().find(|r| r.key_parts() == [KeyPart::Principal]) {
            return Err(ConfigError::InvalidSetting {
                setting: "--rate-limit",
                reason: format!(
                    "{}: by=principal needs --auth-issuer (without a verified user every request \
                     shares one bucket); key by addr, or add addr",
                    rule.rule_name()
                ),
            });
        }
    }
    McpRateLimitLayer::new(rules).map(Some)
}

/// `--auth-issuer`, `--auth-resource` and `--require-scope` as a layer.
#[cfg(feature = "auth")]
fn auth_layer(
    config: &DemoConfig,
) -> Result<Option<mcp_tower_guard::auth::McpAuthLayer>, ConfigError> {
    use mcp_tower_guard::auth::{JwtVerifier, McpAuthLayer, ResourceMetadata, ScopePolicy};
    let Some(issuer) = &config.auth_issuer else {
        return Ok(None);
    };
    let resource = config
        .auth_resource
        .clone()
        .unwrap_or_else(|| format!("http://{}/mcp", config.bind));
    let metadata = ResourceMetadata::new(&resource, issuer)?.resource_name("mcp-tower-guard demo");
    let verifier = JwtVerifier::builder(issuer, metadata.resource()).build()?;
    let mut policy = ScopePolicy::new();
    for rule in &config.required_scopes {
        let scope = [rule.scope.as_str()];
        policy = match (rule.method.as_str(), rule.name.as_deref()) {
            ("*", None) => policy.require(scope)?,
            (method, None) => policy.method(method, scope)?,
            ("tools/call", Some(name)) => policy.tool(name, scope)?,
            ("prompts/get", Some(name)) => policy.prompt(name, scope)?,
            ("resources/read", Some(uri)) => policy.resource(uri, scope)?,
            (method, Some(_)) => {
                return Err(ConfigError::InvalidSetting {
                    setting: "--require-scope",
                    reason: format!(
                        "{method}: a NAME goes only with tools/call, prompts/get or resources/read"
                    ),
                })
            }
        };
    }
    Ok(Some(McpAuthLayer::new(metadata, verifier).scopes(policy)))
}
