//! Pure domain logic of the release platform.
//!
//! What it holds: validated identifiers ([`ids`], [`path`]), the domain model ([`model`]),
//! time as a value ([`time`]), the check model and file classification ([`check`],
//! [`classify`]), permissions ([`permissions`]), the release lifecycle ([`lifecycle`]), the
//! check planner ([`plan`]), who owns a download folder ([`publish`]) and the one error type of its rules ([`error::Refusal`]).
//!
//! # Invariants
//!
//! Written as absences; `tests/it/tidy.rs` and `clippy.toml` enforce the first three.
//!
//! - **No I/O.** This crate touches no file system, opens no socket, spawns no process, reads
//!   no environment variable, speaks no SQL and knows nothing about HTTP or async runtimes.
//! - **No clock.** Time is always an argument ([`time::Timestamp`]); the same input gives the
//!   same output.
//! - **No dependency** beyond `thiserror`, `serde` and `serde_json`.
//! - **No unchecked identifier.** Keys, versions, revision numbers, uids and relative paths
//!   exist only through validating constructors; a `RelPath` is never absolute, never holds
//!   `..`, `.`, empty segments, control characters, backslashes or dot-files outside `.atr/`.
//! - **No unauthorised transition.** [`lifecycle::apply`] calls [`permissions::authorise`] for
//!   every command; an adapter cannot change a release's phase or files without it.
//! - **No effect performed here.** The lifecycle returns effects (revisions to create, tasks to
//!   queue, mail to send, files to publish) and exactly one audit event per accepted command;
//!   adapters carry them out.
//! - **No backwards phase** except a failed or cancelled vote (candidate → draft).
//!   Revisions are numbered 1, 2, 3, … without gaps, and each new one derives from the latest.
//! - **No file change in a candidate.** Files change only in a draft (new revisions) and,
//!   by finishing moves only, in the finish phase.
//! - **No vote on unfinished or failing checks.** A vote starts only on the latest revision
//!   with no ongoing checks, no blockers, no unignored exceptions and no unacknowledged concerns.

pub mod check;
pub mod classify;
pub mod error;
pub mod ids;
pub mod lifecycle;
pub mod model;
pub mod naming;
pub mod path;
pub mod permissions;
pub mod plan;
pub mod publish;
pub mod queue;
pub mod svn;
pub mod tabulate;
pub mod time;
