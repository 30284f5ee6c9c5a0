//! Queue benchmark (placeholder until written below).
fn main() {}
