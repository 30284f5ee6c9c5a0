//! The background worker of the release platform: a thin adapter that claims tasks from the SQLite
//! queue in `atr-storage`, runs the handler the [`registry`] names for the task's kind, and stores
//! the outcome.
//!
//! - [`runner`]: one worker process's loop (claim → run under `catch_unwind` with a renewed lease
//!   → store results and completion in one transaction → repeat; exits after `max_tasks`).
//! - [`registry`]: the one list of task kind → handler.
//! - [`handlers`]: the handlers (checks over a revision, quarantine validation).
//! - [`manager`]: keeps N worker processes alive, enforces the per-task time limit, restarts dead
//!   workers and shuts them down cleanly. Start it from a server with [`manager::Manager::start`].
//! - [`rlimits`]: the resource limits every worker sets on itself before its first task.
//!
//! Invariants: a task's results and its `completed` status commit together; a worker that lost
//! its lease cannot store anything; a handler panic is a failed attempt, never a dead worker loop.

pub mod handlers;
pub mod http;
pub mod manager;
pub mod registry;
pub mod rlimits;
pub mod runner;
mod signals;

pub use manager::{Manager, ManagerConfig};
pub use registry::Registry;
pub use runner::{RunnerConfig, run};

/// Installs SIGTERM/SIGINT handlers that set the returned flag (standalone binaries only; a
/// server embedding the [`Manager`] handles signals itself).
pub fn install_signal_handlers() -> &'static std::sync::atomic::AtomicBool {
    signals::install()
}
