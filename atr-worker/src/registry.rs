//! The one list of task kind → handler, like crates.io's `register_crates_io_job_types`.

use std::collections::BTreeMap;

use atr_core::model::TaskType;

use crate::handlers::{self, Handler};

/// Maps each task kind to its handler.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    handlers: BTreeMap<TaskType, Handler>,
}

impl Registry {
    /// Every production handler. Kinds not listed here (metadata update, KEYS import, vote initiation)
    /// are failed with an error naming the missing handler.
    pub fn production() -> Self {
        let mut r = Registry::default();
        r.register(TaskType::ArchiveCheck, handlers::check::archive_check);
        r.register(TaskType::HashingCheck, handlers::check::hashing);
        r.register(TaskType::SignatureCheck, handlers::check::signature);
        r.register(TaskType::PathsCheck, handlers::check::paths);
        r.register(TaskType::ParityCheck, handlers::check::parity);
        r.register(TaskType::QuarantineValidate, handlers::quarantine::validate);
        r.register(TaskType::SbomCheck, handlers::sbom::check);
        r.register(TaskType::SbomGenerateCyclonedx, handlers::sbom::generate);
        r.register(TaskType::MessageSend, handlers::mail::send);
        r.register(TaskType::SvnImportFiles, handlers::svn::import);
        r.register(TaskType::DistributionStatus, handlers::distribution::status);
        r
    }

    /// The production handlers plus the test handlers in place of `metadata_update`
    /// (only with the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn with_test_handlers() -> Self {
        let mut r = Registry::production();
        r.register(TaskType::MetadataUpdate, handlers::testing::dispatch);
        r
    }

    /// Sets the handler of `kind`.
    pub fn register(&mut self, kind: TaskType, handler: Handler) {
        self.handlers.insert(kind, handler);
    }

    /// The handler of `kind`.
    pub fn get(&self, kind: TaskType) -> Option<Handler> {
        self.handlers.get(&kind).copied()
    }

    /// The registered kinds.
    pub fn kinds(&self) -> impl Iterator<Item = TaskType> + '_ {
        self.handlers.keys().copied()
    }
}
