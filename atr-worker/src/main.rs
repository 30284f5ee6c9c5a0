//! `atr-worker`: the background task worker.
fn main() {}
