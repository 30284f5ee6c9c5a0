//! `atr-check`: run the platform's checks on a local release directory.
fn main() {}
