//! Pure domain logic of the release platform.
//!
//! Invariants: this crate performs no I/O, reads no clock, opens no socket, spawns no process,
//! speaks no SQL and knows nothing about HTTP or async runtimes. Time is always passed in.

pub mod check;
pub mod classify;
pub mod error;
pub mod ids;
pub mod lifecycle;
pub mod model;
pub mod path;
pub mod permissions;
pub mod plan;
pub mod time;
