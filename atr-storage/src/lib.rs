//! SQLite database and state directory of the release platform.
//!
//! [`Storage::open`] creates the state directory layout ([`layout`]), migrates the database,
//! removes what a crashed process left behind, and hands out transactions ([`Storage::read`],
//! [`Storage::write`]) and new revisions ([`Storage::create_revision`]).
//!
//! Invariants:
//! - A revision directory is never modified after it is renamed into place; its files are read-only.
//! - A revision row exists if and only if its directory exists (after [`Storage::open`] has reconciled).
//! - Nothing under `tmp/` outlives the process that made it.
//! - The audit log is only ever appended to, in the same transaction as the change it records.
//! - Every path under the state directory comes from [`layout::Layout`].

pub mod db;
pub mod error;
pub mod layout;
pub mod revision;
mod session;
mod state;

use std::path::Path;

use crate::db::{Pool, Tx};
pub use crate::error::StorageError;
use crate::layout::Layout;
pub use crate::revision::{Base, InterimDir, NewRevision, RevisionStep};
pub use crate::session::ReconcileReport;
use crate::session::Session;

/// The storage of one state directory: the database plus the file tree.
///
/// Cheap to share between threads (`&Storage` is `Sync`); open it once per process.
#[derive(Debug)]
pub struct Storage {
    layout: Layout,
    pool: Pool,
    session: Session,
    reconciled: ReconcileReport,
}

impl Storage {
    /// Opens (creating if needed) the state directory at `state_dir`.
    ///
    /// Creates the layout, applies pending migrations, removes interim directories that no live
    /// process holds, and removes revision directories that have no row (a crash between the rename
    /// and the commit). Other processes may have the same state directory open at the same time.
    pub fn open(state_dir: impl AsRef<Path>) -> Result<Storage, StorageError> {
        let layout = Layout::new(state_dir.as_ref());
        std::fs::create_dir_all(layout.root())
            .map_err(StorageError::io("create directory", layout.root()))?;
        layout.create_dirs().map_err(StorageError::io("create the state layout in", layout.root()))?;

        // One process at a time migrates, reconciles and cleans tmp/.
        let open_lock = session::lock_file(&layout.open_lock(), true)?;
        let db_path = layout.database();
        let mut conn = db::connect(&db_path)?;
        db::migrate(&mut conn, &db_path)?;
        let started = Session::start(&layout)?;
        let reconciled = session::reconcile(&layout, &mut conn, &started)?;
        let session = started.0;
        drop(open_lock);

        Ok(Storage { pool: Pool::new(db_path, conn), layout, session, reconciled })
    }

    /// The state directory map.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// What [`Storage::open`] cleaned up.
    pub fn reconciled(&self) -> &ReconcileReport {
        &self.reconciled
    }

    /// Runs `f` in a read transaction: it sees one consistent snapshot. Do not write through it.
    pub fn read<T, E: From<StorageError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.pool.get()?;
        let tx = Tx::begin(&mut conn, false)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`) and commits if it returns `Ok`.
    /// An `Err` rolls everything back.
    pub fn write<T, E: From<StorageError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        let mut conn = self.pool.get()?;
        let tx = Tx::begin(&mut conn, true)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }
}
