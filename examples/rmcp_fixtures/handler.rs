//! The `ServerHandler`: capabilities, prompts, resources, completion, logging
//! level, resource subscriptions (legacy), `subscriptions/listen`
//! (2026-07-28), and the entry points of the tasks and skills extensions.
//! Tools live in `tools.rs` and `tasks.rs`, the skill in `skills.rs`.

// Logging and `resources/subscribe` are SEP-2577/2575-deprecated in rmcp, yet
// the 2025-11-25 suite exercises them.
#![allow(deprecated)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, CompleteRequestParams,
    CompleteResult, CompletionInfo, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, GetSkillRequestParams, GetSkillResult, GetTaskParams, GetTaskResult,
    Implementation, InputRequests, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListSkillsResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
    Prompt, PromptArgument, PromptMessage, ReadResourceDirectoryRequestParams,
    ReadResourceDirectoryResult, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Reference, Resource, ResourceContents, ResourceTemplate, Role,
    ServerCapabilities, ServerConfig, SetLevelRequestMethod, SetLevelRequestParams,
    SubscribeRequestParams, SubscriptionFilter, Tool, UnsubscribeRequestParams, UpdateTaskParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::task_manager::TaskManager;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::mrtr::{self, drive, Sealer, Step};
use crate::{skills, tools};

/// A 1×1 red PNG, for image content and the binary resource.
pub const PNG_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

/// A list the client may be told has changed (`test_trigger_*_change`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    Tools,
    Prompts,
}

/// State shared by every handler instance of one server: rmcp makes a
/// handler per session (legacy) or per request (2026-07-28), so anything that
/// must outlive a request lives here.
pub struct Shared {
    /// Seals `requestState` for the input-required flows.
    pub sealer: Sealer,
    /// List changes, fanned out to open `subscriptions/listen` streams.
    pub changes: broadcast::Sender<ListChange>,
    /// Tasks (SEP-2663) outlive the request that created them.
    pub tasks: TaskManager,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("listeners", &self.changes.receiver_count())
            .field("running_tasks", &self.tasks.running_task_count())
            .finish_non_exhaustive()
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            sealer: Sealer::default(),
            changes: broadcast::channel(64).0,
            tasks: TaskManager::new(),
        }
    }
}

/// What one legacy session remembers (per request on 2026-07-28, where it
/// stays empty).
#[derive(Debug, Default)]
pub struct Session {
    /// `logging/setLevel`; `None` sends every level.
    log_level: Mutex<Option<LoggingLevel>>,
    /// `resources/subscribe`d URIs.
    subscribed: Mutex<BTreeSet<String>>,
    /// Taken before `subscriptions/listen` is acknowledged, so a change
    /// triggered right after the acknowledgement is not missed.
    listener: Mutex<Option<broadcast::Receiver<ListChange>>>,
}

/// The fixture server.
#[derive(Debug, Clone)]
pub struct Fixtures {
    pub shared: Arc<Shared>,
    pub session: Arc<Session>,
}

impl Fixtures {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            session: Arc::default(),
        }
    }

    /// The lowest level to send, or `None` to send nothing. 2026-07-28
    /// requests opt in per request (`_meta` `io.modelcontextprotocol/logLevel`);
    /// legacy sessions get everything until `logging/setLevel` says otherwise.
    pub fn log_threshold(&self, context: &RequestContext<RoleServer>) -> Option<LoggingLevel> {
        if mrtr::is_modern(context) {
            context.meta.log_level()
        } else {
            Some(lock(&self.session.log_level).unwrap_or(LoggingLevel::Debug))
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Severity rank, for comparing levels (`LoggingLevel` has no `Ord`).
pub fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

fn prompts() -> Vec<Prompt> {
    let required = |name: &str, description: &str| {
        PromptArgument::new(name)
            .with_description(description)
            .with_required(true)
    };
    vec![
        Prompt::new(
            "test_simple_prompt",
            Some("A simple prompt without arguments"),
            None,
        ),
        Prompt::new(
            "test_prompt_with_arguments",
            Some("A prompt with two required arguments"),
            Some(vec![
                required("arg1", "First test argument"),
                required("arg2", "Second test argument"),
            ]),
        ),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            Some("A prompt that embeds a resource"),
            Some(vec![required(
                "resourceUri",
                "URI of the resource to embed",
            )]),
        ),
        Prompt::new(
            "test_prompt_with_image",
            Some("A prompt with image content"),
            None,
        ),
        Prompt::new(
            "test_input_required_result_prompt",
            Some("A prompt that first asks the user for context (input-required result)"),
            None,
        ),
    ]
}

fn string_arg(params: &GetPromptRequestParams, name: &str) -> Result<String, McpError> {
    params
        .arguments
        .as_ref()
        .and_then(|args| args.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            McpError::invalid_params(
                format!("prompt {} needs argument {name}", params.name),
                Some(json!({ "argument": name })),
            )
        })
}

fn resources() -> Vec<Resource> {
    vec![
        Resource::new("test://static-text", "static-text")
            .with_description("A static text resource")
            .with_mime_type("text/plain"),
        Resource::new("test://static-binary", "static-binary")
            .with_description("A static binary resource (a 1x1 PNG)")
            .with_mime_type("image/png"),
        Resource::new("test://watched-resource", "watched-resource")
            .with_description("A resource clients may subscribe to")
            .with_mime_type("text/plain"),
        skills::listed(),
    ]
}

/// The `{id}` of `test://template/{id}/data`.
fn template_id(uri: &str) -> Option<&str> {
    let id = uri
        .strip_prefix("test://template/")?
        .strip_suffix("/data")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

fn read(uri: &str) -> Option<ResourceContents> {
    if let Some(contents) = skills::read(uri) {
        return Some(contents);
    }
    let contents = match uri {
        "test://static-text" => {
            ResourceContents::text("This is the content of the static text resource.", uri)
                .with_mime_type("text/plain")
        }
        "test://static-binary" => {
            ResourceContents::blob(PNG_BASE64, uri).with_mime_type("image/png")
        }
        "test://watched-resource" => {
            ResourceContents::text("The watched resource, unchanged so far.", uri)
                .with_mime_type("text/plain")
        }
        _ => {
            let id = template_id(uri)?;
            let data =
                json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
            ResourceContents::text(data.to_string(), uri).with_mime_type("application/json")
        }
    };
    Some(contents)
}

/// Completion candidates for a prompt or template argument.
fn candidates(reference: &Reference, argument: &str) -> &'static [&'static str] {
    match (reference, argument) {
        (Reference::Prompt(p), "arg1" | "arg2") if p.name == "test_prompt_with_arguments" => {
            &["paris", "park", "party", "test", "testValue1", "testValue2"]
        }
        (Reference::Resource(r), "id") if r.uri == "test://template/{id}/data" => {
            &["1", "42", "123"]
        }
        _ => &[],
    }
}

impl ServerHandler for Fixtures {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_logging()
            .enable_completions()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_resources()
            .enable_resources_subscribe()
            .enable_resources_list_changed()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_tasks()
            .enable_skills_with_directory_read()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new(
                "mcp-tower-guard-rmcp-fixtures",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Fixtures for the MCP conformance suite, served by rmcp for both \
                 2025-11-25 (sessions) and 2026-07-28 (stateless).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::all()))
    }

    /// rmcp validates `Mcp-Param-*` headers against the schema found here.
    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::find(name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        tools::call(self, request, context).await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        Ok(ListPromptsResult::with_all_items(prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let text = |text: String| PromptMessage::new(Role::User, ContentBlock::text(text));
        let messages = match request.name.as_str() {
            "test_simple_prompt" => vec![text("This is a simple prompt for testing.".into())],
            "test_prompt_with_arguments" => {
                let (arg1, arg2) = (string_arg(&request, "arg1")?, string_arg(&request, "arg2")?);
                vec![text(format!(
                    "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
                ))]
            }
            "test_prompt_with_embedded_resource" => {
                let uri = string_arg(&request, "resourceUri")?;
                let resource =
                    ResourceContents::text("Embedded resource content for testing.", uri)
                        .with_mime_type("text/plain");
                vec![
                    PromptMessage::new(Role::User, ContentBlock::resource(resource)),
                    text("Please process the embedded resource above.".into()),
                ]
            }
            "test_prompt_with_image" => vec![
                PromptMessage::new(Role::User, ContentBlock::image(PNG_BASE64, "image/png")),
                text("Please analyze the image above.".into()),
            ],
            "test_input_required_result_prompt" => {
                return context_prompt(request, &context).await;
            }
            other => {
                return Err(McpError::invalid_params(
                    format!("unknown prompt: {other}"),
                    Some(json!({ "name": other })),
                ))
            }
        };
        Ok(GetPromptResult::new(messages).into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new("test://template/{id}/data", "template-data")
                .with_description("JSON data for an id")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        match read(&request.uri) {
            Some(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            // rmcp turns -32002 into -32602 for 2026-07-28 peers (SEP-2164).
            None => Err(McpError::resource_not_found(
                "Resource not found",
                Some(json!({ "uri": request.uri })),
            )),
        }
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        lock(&self.session.subscribed).insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        lock(&self.session.subscribed).remove(&request.uri);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let prefix = request.argument.value.as_str();
        let values: Vec<String> = candidates(&request.r#ref, &request.argument.name)
            .iter()
            .filter(|c| c.starts_with(prefix))
            .map(|c| (*c).to_owned())
            .collect();
        let completion =
            CompletionInfo::new(values).map_err(|e| McpError::internal_error(e, None))?;
        Ok(CompleteResult::new(completion))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        // Removed in 2026-07-28 (the level travels in each request's _meta);
        // rmcp leaves that check to the handler.
        if mrtr::is_modern(&context) {
            return Err(McpError::method_not_found::<SetLevelRequestMethod>());
        }
        *lock(&self.session.log_level) = Some(request.level);
        Ok(())
    }

    async fn list_skills(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListSkillsResult, McpError> {
        Ok(skills::list())
    }

    async fn get_skill(
        &self,
        request: GetSkillRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetSkillResult, McpError> {
        skills::get(&request.uri).map(GetSkillResult::new)
    }

    async fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceDirectoryResult, McpError> {
        skills::directory(&request.uri)
    }

    /// rmcp answers `-32021` itself when the caller did not declare tasks.
    async fn get_task(
        &self,
        request: GetTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, McpError> {
        self.shared
            .tasks
            .get_task(&request.task_id)
            .map(GetTaskResult::new)
    }

    async fn update_task(
        &self,
        request: UpdateTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.shared
            .tasks
            .update_task(&request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: CancelTaskParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.shared.tasks.cancel_task(&request.task_id)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        *lock(&self.session.listener) = Some(self.shared.changes.subscribe());
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let taken = lock(&self.session.listener).take();
        let mut changes = taken.unwrap_or_else(|| self.shared.changes.subscribe());
        loop {
            let change = tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => change,
            };
            let sent = match change {
                Ok(ListChange::Tools) => context.sink().notify_tool_list_changed().await,
                Ok(ListChange::Prompts) => context.sink().notify_prompt_list_changed().await,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            // A change outside the accepted filter is refused by the sink,
            // which is the point (SEP-2575); only a closed stream ends the loop.
            if let Err(rmcp::service::SubscriptionSendError::SubscriptionClosed) = sent {
                return Ok(());
            }
        }
    }
}

/// `test_input_required_result_prompt`: asks for context first, then builds
/// the prompt from it.
async fn context_prompt(
    request: GetPromptRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<GetPromptResponse, McpError> {
    let step = drive(
        context,
        request.input_responses,
        request.request_state,
        |responses, _state| {
            let Some(answer) = mrtr::elicited(responses, "user_context")? else {
                let mut ask = InputRequests::new();
                ask.insert(
                    "user_context".into(),
                    mrtr::elicit_string("What context should the prompt use?", "context")?,
                );
                return Ok(Step::ask(ask, None));
            };
            let message = format!(
                "Write with this context in mind: {}",
                answer.field("context")
            );
            Ok(Step::Done(GetPromptResult::new(vec![PromptMessage::new(
                Role::User,
                ContentBlock::text(message),
            )])))
        },
    )
    .await?;
    Ok(match step {
        Step::Ask(ask) => GetPromptResponse::InputRequired(ask),
        Step::Done(done) => GetPromptResponse::Complete(done),
    })
}
