//! Task handlers. Each is a plain function from the claimed task to its [`Output`]; the runner
//! stores the output and the completion in one transaction.

pub mod check;
pub mod distribution;
pub mod mail;
pub mod quarantine;
pub mod sbom;
pub mod svn;
#[cfg(feature = "testing")]
pub mod testing;

use atr_checks::CheckResult;
use atr_storage::Storage;
use atr_storage::db::tasks::ClaimedTask;

/// What a handler gets: the storage (read access to the revision and its metadata) and the task.
#[derive(Debug, Clone, Copy)]
pub struct TaskContext<'a> {
    /// The state directory.
    pub storage: &'a Storage,
    /// The task this worker holds.
    pub task: &'a ClaimedTask,
}

/// What a handler produced.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Check results to store for the task's revision (check tasks).
    pub results: Vec<CheckResult>,
    /// The task's result JSON (`null` when there is nothing to say).
    pub value: serde_json::Value,
}

/// A task handler. An `Err` is a failed attempt (retried until the task's `max_attempts`).
pub type Handler = fn(&TaskContext<'_>) -> anyhow::Result<Output>;
