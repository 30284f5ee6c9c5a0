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
//!
//! ```
//! use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
//! use atr_core::model::{Committee, Project, ProjectStatus, Release, ReleasePolicy};
//! use atr_core::path::RelPath;
//! use atr_core::time::Timestamp;
//! use atr_storage::{NewRevision, Storage, StorageError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let storage = Storage::open(dir.path())?; // creates the layout and migrates
//! let now = Timestamp::from_unix(1_761_739_200);
//! let (alice, tooling) = (Uid::new("alice")?, CommitteeKey::new("tooling")?);
//! let (foo, v1) = (ProjectKey::new("foo")?, VersionKey::new("1.0.0")?);
//! storage.write(|tx| {
//!     tx.upsert_committee(&Committee {
//!         key: tooling.clone(), full_name: None, is_podling: false, parent: None,
//!         members: vec![alice.clone()], committers: vec![], release_managers: vec![],
//!     })?;
//!     tx.insert_project(&Project {
//!         key: foo.clone(), committee_key: tooling.clone(), name: "Apache Foo".into(),
//!         status: ProjectStatus::Active, super_project: None, description: String::new(),
//!         category: vec![], programming_languages: vec![], created: now, created_by: alice.clone(),
//!         policy: ReleasePolicy::default(),
//!     })?;
//!     tx.insert_release(&Release::new_draft(foo.clone(), v1.clone(), now))
//! })?;
//!
//! // Revision 00001: the change runs on an interim directory that only takes RelPath names.
//! let req = NewRevision::new(foo.clone(), v1.clone(), alice, now, "Upload");
//! let (rev, ()) = storage.create_revision(&req, |dir| {
//!     dir.write(&RelPath::new("apache-foo-1.0.0.tar.gz")?, b"...")?;
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! assert_eq!(rev.number.to_string(), "00001");
//! assert_eq!(storage.revision_files(&foo, &v1, rev.number)?.len(), 1);
//! # Ok(()) }
//! ```

pub mod db;
pub mod error;
pub mod layout;
pub mod outbox;
pub mod planning;
pub mod publish;
pub mod quarantine;
pub mod revision;
pub mod sbom;
mod session;
mod state;
pub mod svn;

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
    recovered_publications: publish::PublishRecovery,
    mail: std::sync::RwLock<outbox::MailSettings>,
}

/// Makes the state directory readable by its owner only (0700) and the database with its WAL and
/// shared-memory files 0600: the database holds token hashes and the audit log, and nobody else on
/// the machine needs any of it (the server, workers and SSH service run as the owner).
fn restrict_to_owner(layout: &Layout) -> Result<(), StorageError> {
    use std::os::unix::fs::PermissionsExt as _;
    let set = |path: &Path, mode: u32| match std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(mode),
    ) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("restrict the permissions of", path)(e)),
    };
    set(layout.root(), 0o700)?;
    let db = layout.database();
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        set(Path::new(&name), 0o600)?;
    }
    Ok(())
}

impl Storage {
    /// Opens (creating if needed) the state directory at `state_dir`.
    ///
    /// Creates the layout, applies pending migrations, removes interim directories that no live
    /// process holds, and removes revision directories that have no row (a crash between the rename
    /// and the commit). Then finishes every announce that committed and undoes every one that did
    /// not ([`Storage::recover_publications`]), so a crash during an announce leaves the release
    /// either in preview or fully published. The state directory is made 0700 and the database
    /// files 0600. Other processes may have the same state directory open at the same time.
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
        restrict_to_owner(&layout)?;
        let started = Session::start(&layout)?;
        let reconciled = session::reconcile(&layout, &mut conn, &started)?;
        let session = started.0;
        drop(open_lock);

        let mut storage = Storage {
            pool: Pool::new(db_path, conn),
            layout,
            session,
            reconciled,
            recovered_publications: publish::PublishRecovery::default(),
            mail: std::sync::RwLock::default(),
        };
        storage.recovered_publications = storage.recover_publications()?;
        Ok(storage)
    }

    /// What [`Storage::open`] completed or undid of interrupted announces.
    pub fn recovered_publications(&self) -> &publish::PublishRecovery {
        &self.recovered_publications
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
