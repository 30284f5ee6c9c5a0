//! Integration tests of atr-worker: real `atr-worker` processes under the real manager, over a
//! real SQLite state directory.

mod checks;
mod queue;
mod sbom;
mod support;
