//! Integration tests of atr-core: lifecycle, permissions, properties, and the code-base tidy checks.

mod fixture;
mod lifecycle;
mod permissions;
mod properties;
mod tabulate;
mod tidy;
