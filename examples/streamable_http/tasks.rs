//! The demo's tasks: the 2026-07-28 tasks extension (SEP-2663).
//!
//! `slow_compute` answers with a task handle (`resultType: "task"`) that the
//! client polls with `tasks/get` until the work is done, and may end with
//! `tasks/cancel`. Nothing runs in the background: a task is a start time and
//! a duration, and its status is read off the clock. The table is bounded (at
//! most [`MAX_TASKS`], each kept [`TTL`]), so no client can grow it.
//!
//! The edge checks what the extension asks of the transport before these
//! handlers run: `Mcp-Name` equal to `params.taskId` on `tasks/get`,
//! `tasks/update` and `tasks/cancel` (`McpHeadersLayer`), and the
//! extension in the client's capabilities for `slow_compute` (its tool rule).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// The extension's identifier, in client capabilities.
pub const EXTENSION: &str = "io.modelcontextprotocol/tasks";
/// Most tasks kept at once; the oldest goes first.
pub const MAX_TASKS: usize = 1024;
/// How long a task is kept after it was created.
pub const TTL: Duration = Duration::from_secs(10 * 60);
/// Longest `seconds` a `slow_compute` accepts.
pub const MAX_SECONDS: u64 = 600;
/// How often clients should poll.
const POLL_INTERVAL_MS: u64 = 500;

/// The task table, shared by clones.
#[derive(Clone, Default)]
pub struct Tasks(Arc<Inner>);

#[derive(Default)]
struct Inner {
    table: Mutex<HashMap<String, Task>>,
    ids: IdSource,
}

struct Task {
    label: String,
    created: SystemTime,
    duration: Duration,
    cancelled: Option<SystemTime>,
}

impl Tasks {
    /// Starts a `slow_compute` of `seconds`: the `CreateTaskResult`. The task
    /// is in the table before the answer leaves, so an immediate `tasks/get`
    /// finds it ("durably created").
    pub fn create(&self, label: &str, seconds: u64) -> Value {
        let now = SystemTime::now();
        let id = self.0.ids.next();
        let task = Task {
            label: label.to_owned(),
            created: now,
            duration: Duration::from_secs(seconds.min(MAX_SECONDS)),
            cancelled: None,
        };
        let mut result = task.view(&id, now);
        result["resultType"] = json!("task");
        let mut table = self.lock();
        table.retain(|_, t| now.duration_since(t.created).unwrap_or_default() < TTL);
        while table.len() >= MAX_TASKS {
            let oldest = table
                .iter()
                .min_by_key(|(_, t)| t.created)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(oldest) => table.remove(&oldest),
                None => break,
            };
        }
        table.insert(id, task);
        result
    }

    /// The task's current state (a `DetailedTask`), if it is known.
    pub fn get(&self, id: &str) -> Option<Value> {
        let now = SystemTime::now();
        self.lock().get(id).map(|task| task.view(id, now))
    }

    /// Cancels a task that is still working; true if the task is known.
    pub fn cancel(&self, id: &str) -> bool {
        let now = SystemTime::now();
        match self.lock().get_mut(id) {
            Some(task) => {
                if task.cancelled.is_none() && !task.done(now) {
                    task.cancelled = Some(now);
                }
                true
            }
            None => false,
        }
    }

    /// Whether a task is known (for `tasks/update`, which has nothing to
    /// answer in this demo: no task asks for input).
    pub fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Tasks held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Task>> {
        self.0.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Task {
    fn done(&self, now: SystemTime) -> bool {
        now.duration_since(self.created).unwrap_or_default() >= self.duration
    }

    /// The `Task` fields and the status-specific ones.
    fn view(&self, id: &str, now: SystemTime) -> Value {
        let (status, updated) = match self.cancelled {
            Some(at) => ("cancelled", at),
            None if self.done(now) => ("completed", self.created + self.duration),
            None => ("working", self.created),
        };
        let mut task = json!({
            "taskId": id,
            "status": status,
            "createdAt": rfc3339(self.created),
            "lastUpdatedAt": rfc3339(updated),
            "ttlMs": u64::try_from(TTL.as_millis()).unwrap_or(u64::MAX),
            "pollIntervalMs": POLL_INTERVAL_MS,
        });
        if status == "completed" {
            task["result"] = json!({
                "content": [{ "type": "text", "text": format!(
                    "computed {} in {} s", self.label, self.duration.as_secs()
                ) }],
                "isError": false,
            });
        }
        task
    }
}

/// Task ids: 128 random-looking bits from the standard library's keyed
/// hasher (seeded from the OS) over a counter; unguessable enough for a demo.
struct IdSource {
    keys: (RandomState, RandomState),
    next: AtomicU64,
}

impl Default for IdSource {
    fn default() -> Self {
        Self {
            keys: (RandomState::new(), RandomState::new()),
            next: AtomicU64::new(0),
        }
    }
}

impl IdSource {
    fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (a, b) = (self.keys.0.hash_one(n), self.keys.1.hash_one(n));
        format!("{a:016x}{b:016x}")
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), as the extension's timestamps are.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}
