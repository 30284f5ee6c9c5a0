//! Pure domain logic of the release platform.
//!
//! Invariants: this crate performs no I/O, reads no clock, opens no socket, spawns no process,
//! speaks no SQL and knows nothing about HTTP or async runtimes. Time is always passed in.

pub mod check;
pub mod classify;
pub mod ids;
pub mod model;
pub mod path;
pub mod time;
