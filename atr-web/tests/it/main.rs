//! Integration tests of the `atr-web` binary, run as a real process.

mod client;
mod commands;
mod plain_http;
mod serve;
mod ssh;
mod workers;
