//! The tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`): tools the
//! server may run as tasks, on rmcp's `TaskManager`.
//!
//! The server decides: a client that declared the extension (for the session,
//! or per request in `_meta`) gets a `CreateTaskResult` and polls `tasks/get`;
//! any other client gets the plain synchronous result, except from tools whose
//! task support is *required*, which answer `-32021` naming the extension.

use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ContentBlock,
    CreateTaskResult, InputRequests, Tool,
};
use rmcp::service::RequestContext;
use rmcp::task_manager::{TaskContext, TaskExit, TaskFuture, TaskOptions};
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{json, Value};

use crate::handler::Fixtures;
use crate::mrtr::{self, drive, Elicited, Step};

/// The task tools, appended to the tool table.
pub fn tools(tool: impl Fn(&'static str, &'static str, Value) -> Tool) -> Vec<Tool> {
    let none = || json!({ "type": "object", "properties": {} });
    vec![
        tool(
            "greet",
            "Greets someone; never a task",
            json!({
                "type": "object",
                "properties": { "name": { "type": "string", "description": "Who to greet" } },
                "required": ["name"],
            }),
        ),
        tool(
            "slow_compute",
            "Sleeps `seconds`, then reports; a task for clients that support tasks",
            json!({
                "type": "object",
                "properties": {
                    "seconds": { "type": "number", "description": "How long to work" },
                    "label": { "type": "string", "description": "A name for the job" },
                },
                "required": ["seconds"],
            }),
        ),
        tool(
            "failing_job",
            "Always ends in a tool error after about a second; task support required",
            none(),
        ),
        tool(
            "protocol_error_job",
            "Always ends in a protocol (JSON-RPC) error; a task for clients that support tasks",
            none(),
        ),
        tool(
            "confirm_delete",
            "Asks for confirmation before pretending to delete a file",
            json!({
                "type": "object",
                "properties": { "filename": { "type": "string", "description": "The file" } },
                "required": ["filename"],
            }),
        ),
        tool(
            "multi_input",
            "Asks two questions at once before finishing",
            none(),
        ),
        tool(
            "test_tool_with_task",
            "Asks for a name (input-required result), then finishes as a task; task support required",
            none(),
        ),
    ]
}

/// Whether this request may receive a `CreateTaskResult`.
fn tasks_declared(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .is_some_and(|c| c.supports_tasks())
}

/// `-32021` naming the tasks extension, for task-required tools.
fn tasks_required() -> McpError {
    McpError::missing_required_client_capability(
        ClientCapabilities::builder().enable_tasks().build(),
    )
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// Starts `future` as a task and answers with its seed state.
fn spawn(
    fixtures: &Fixtures,
    make: impl FnOnce(TaskContext) -> TaskFuture,
) -> Result<CallToolResponse, McpError> {
    let task = fixtures.shared.tasks.spawn(TaskOptions::new(), make);
    Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
}

/// Works for `seconds`, ending early as `cancelled` on `tasks/cancel`.
async fn compute(
    task: Option<TaskContext>,
    seconds: f64,
    label: String,
) -> Result<CallToolResult, TaskExit> {
    let work = tokio::time::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 3600.0)));
    match task {
        Some(task) => tokio::select! {
            () = work => {}
            () = task.cancelled() => return Err(TaskExit::Cancelled),
        },
        None => work.await,
    }
    Ok(text(format!("{label}: computed for {seconds} s")))
}

/// The answer to a task's elicitation, as the flows read it.
fn as_elicited(value: Value) -> Elicited {
    let action = value
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("accept")
        .to_owned();
    let content = value.get("content").cloned().unwrap_or(Value::Null);
    Elicited { action, content }
}

fn confirm_schema() -> Value {
    json!({
        "type": "object",
        "properties": { "confirm": { "type": "boolean", "description": "Go ahead?" } },
        "required": ["confirm"],
    })
}

fn deleted(filename: &str, answer: &Elicited) -> CallToolResult {
    let confirmed = answer.action == "accept"
        && answer.content.get("confirm").and_then(Value::as_bool) == Some(true);
    text(if confirmed {
        format!("Deleted {filename} (not really)")
    } else {
        format!("Kept {filename}: {answer}")
    })
}

/// `tools/call` for the task tools; `None` when `params` names another tool.
pub async fn call(
    fixtures: &Fixtures,
    params: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Option<Result<CallToolResponse, McpError>> {
    let args = params.arguments.clone().unwrap_or_default();
    let as_task = tasks_declared(context);
    let reply = match params.name.as_ref() {
        "greet" => {
            let name = args.get("name").and_then(Value::as_str).unwrap_or("World");
            Ok(CallToolResponse::Complete(text(format!("Hello, {name}!"))))
        }
        "slow_compute" => {
            let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
            let label = args
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or("slow_compute")
                .to_owned();
            if as_task {
                spawn(fixtures, move |task| {
                    Box::pin(compute(Some(task), seconds, label))
                })
            } else {
                match compute(None, seconds, label).await {
                    Ok(done) => Ok(CallToolResponse::Complete(done)),
                    Err(_) => Err(McpError::internal_error("cancelled", None)),
                }
            }
        }
        "failing_job" if !as_task => Err(tasks_required()),
        "failing_job" => spawn(fixtures, |_task| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(CallToolResult::error(vec![ContentBlock::text(
                    "failing_job failed, as it always does",
                )]))
            })
        }),
        "protocol_error_job" => {
            let crash = || McpError::internal_error("protocol_error_job crashed", None);
            if as_task {
                spawn(fixtures, move |_task| {
                    Box::pin(async move { Err(TaskExit::Error(crash())) })
                })
            } else {
                Err(crash())
            }
        }
        "confirm_delete" => {
            let filename = args
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or("a file")
                .to_owned();
            let message = format!("Delete {filename}?");
            if as_task {
                spawn(fixtures, move |task| {
                    Box::pin(async move {
                        let request = mrtr::elicit(&message, confirm_schema())?;
                        let answer = task.request_input("confirm", request).await?;
                        Ok(deleted(&filename, &as_elicited(answer)))
                    })
                })
            } else {
                mrtr::tool_reply(context, params, |responses, _| {
                    Ok(match mrtr::elicited(responses, "confirm")? {
                        Some(answer) => Step::Done(deleted(&filename, &answer)),
                        None => Step::ask(
                            InputRequests::from([(
                                "confirm".to_owned(),
                                mrtr::elicit(&message, confirm_schema())?,
                            )]),
                            None,
                        ),
                    })
                })
                .await
            }
        }
        "multi_input" => {
            let name = || mrtr::elicit_string("Who is asking?", "name");
            let confirm = || mrtr::elicit("Proceed?", confirm_schema());
            if as_task {
                spawn(fixtures, move |task| {
                    Box::pin(async move {
                        // Both requests are pending at once, so a client may
                        // answer them in separate tasks/update calls.
                        let (who, ok) = tokio::join!(
                            task.request_input("name", name()?),
                            task.request_input("confirm", confirm()?),
                        );
                        let (who, ok) = (as_elicited(who?), as_elicited(ok?));
                        Ok(text(format!("{} said {ok}", who.field("name"))))
                    })
                })
            } else {
                mrtr::tool_reply(context, params, |responses, _| {
                    let who = mrtr::elicited(responses, "name")?;
                    let ok = mrtr::elicited(responses, "confirm")?;
                    if let (Some(who), Some(ok)) = (&who, &ok) {
                        return Ok(Step::Done(text(format!("{} said {ok}", who.field("name")))));
                    }
                    let mut ask = InputRequests::new();
                    if who.is_none() {
                        ask.insert("name".into(), name()?);
                    }
                    if ok.is_none() {
                        ask.insert("confirm".into(), confirm()?);
                    }
                    Ok(Step::ask(ask, None))
                })
                .await
            }
        }
        "test_tool_with_task" if !as_task => Err(tasks_required()),
        "test_tool_with_task" => {
            // Input first (input-required rounds), then the work as a task.
            let gathered = drive(
                context,
                params.input_responses.clone(),
                params.request_state.clone(),
                |responses, _| {
                    Ok(match mrtr::elicited(responses, "user_name")? {
                        Some(answer) => Step::Done(answer.field("name").to_owned()),
                        None => Step::ask(
                            InputRequests::from([(
                                "user_name".to_owned(),
                                mrtr::elicit_string("What is your name?", "name")?,
                            )]),
                            None,
                        ),
                    })
                },
            )
            .await;
            match gathered {
                Err(e) => Err(e),
                Ok(Step::Ask(ask)) => Ok(CallToolResponse::InputRequired(ask)),
                Ok(Step::Done(name)) => spawn(fixtures, move |_task| {
                    Box::pin(async move {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok(text(format!("Hello, {name}, from a task")))
                    })
                }),
            }
        }
        _ => return None,
    };
    Some(reply)
}
