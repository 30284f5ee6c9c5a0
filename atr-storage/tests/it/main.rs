//! Integration tests of atr-storage: real SQLite files and real directories in temp dirs.

mod concurrency;
mod crash;
mod entities;
mod lifecycle;
mod model;
mod outbox;
mod publish;
mod quarantine;
mod queue;
mod revisions;
mod sbom_policy;
mod schema;
mod support;
