//! `atr-web`: the web server.
fn main() {}
