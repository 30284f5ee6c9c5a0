//! Connection setup (WAL, foreign keys, busy timeout), schema migrations, the connection pool and
//! [`Tx`], the one handle through which every query runs.
//!
//! Each entity has its own module with an `impl Tx<'_>` block of queries; rows are mapped to the
//! `atr_core::model` types there and nowhere else.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{DbContext, StorageError};

pub mod audit;
pub mod cache;
pub mod checks;

pub mod committees;
pub mod consistency;
pub mod distributions;
pub mod keys;
pub mod page_stamps;

pub mod releases;
pub mod tasks;
pub mod tokens;
pub mod votes;
pub mod web_queries;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// How long a connection waits for another writer before giving up with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements kept per connection (more than the distinct queries of the application).
const STATEMENT_CACHE: usize = 256;

/// Opens one connection to the database file with the platform's settings.
pub(crate) fn connect(path: &Path) -> Result<Connection, StorageError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).doing("opening the database")?;
    conn.busy_timeout(BUSY_TIMEOUT).doing("setting the busy timeout")?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).doing("enabling WAL")?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StorageError::Io {
            doing: "enable write-ahead logging for",
            path: path.to_path_buf(),
            source: std::io::Error::other(format!(
                "SQLite kept journal mode `{mode}`; put the state directory on a local file system"
            )),
        });
    }
    conn.pragma_update(None, "synchronous", "NORMAL").doing("setting synchronous=NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON").doing("enabling foreign keys")?;
    conn.pragma_update(None, "cache_size", -16_000).doing("setting the cache size")?;
    // Every query goes through `prepare_cached`; rusqlite's default of 16 statements is fewer than
    // one page needs, so statements were evicted and compiled again on every request.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Applies every pending migration. Callers serialise this across processes (see `Storage::open`).
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    embedded::migrations::runner()
        .run(conn)
        .map_err(|e| StorageError::Migration { path: path.to_path_buf(), source: Box::new(e) })?;
    Ok(())
}

/// A small pool: connections are reused, and a new one is opened when all are in use.
#[derive(Debug)]
pub(crate) struct Pool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Keep at most this many idle connections.
const MAX_IDLE: usize = 8;

impl Pool {
    pub(crate) fn new(path: std::path::PathBuf, first: Connection) -> Self {
        Pool { path, idle: Mutex::new(vec![first]) }
    }

    pub(crate) fn get(&self) -> Result<Pooled<'_>, StorageError> {
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        Ok(Pooled { conn: Some(conn), pool: self })
    }
}

/// A connection borrowed from the pool; returned on drop.
#[derive(Debug)]
pub(crate) struct Pooled<'p> {
    conn: Option<Connection>,
    pool: &'p Pool,
}

impl Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.is_autocommit()
        {
            let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }
}

/// A database transaction. Every query of the storage layer is a method of `Tx`, so several of them
/// (for example a phase change, its audit record and the tasks it enqueues) commit or fail together.
///
/// Get one from [`crate::Storage::read`] (a consistent snapshot) or [`crate::Storage::write`]
/// (`BEGIN IMMEDIATE`: the database write lock is taken at the start, so the transaction never
/// fails half-way with "database is locked").
#[derive(Debug)]
pub struct Tx<'c> {
    pub(crate) tx: rusqlite::Transaction<'c>,
}

impl<'c> Tx<'c> {
    pub(crate) fn begin(conn: &'c mut Connection, write: bool) -> Result<Self, StorageError> {
        let behavior = if write { TransactionBehavior::Immediate } else { TransactionBehavior::Deferred };
        let tx = conn.transaction_with_behavior(behavior).doing("beginning a transaction")?;
        Ok(Tx { tx })
    }

    pub(crate) fn commit(self) -> Result<(), StorageError> {
        self.tx.commit().doing("committing")
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.tx
    }
}

/// Reads a text column into a type with a validating `FromStr` (ids, enums, paths).
pub(crate) fn parse_col<T>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = row.get(idx)?;
    s.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// [`parse_col`] for a nullable column.
pub(crate) fn parse_opt<T>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// Reads an INTEGER seconds column as a timestamp.
pub(crate) fn ts(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<atr_core::time::Timestamp> {
    Ok(atr_core::time::Timestamp::from_unix(row.get(idx)?))
}

/// [`ts`] for a nullable column.
pub(crate) fn ts_opt(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<atr_core::time::Timestamp>> {
    Ok(row.get::<_, Option<i64>>(idx)?.map(atr_core::time::Timestamp::from_unix))
}

/// Reads an INTEGER revision number column.
pub(crate) fn rev(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<atr_core::ids::RevisionNumber> {
    let n: u32 = row.get(idx)?;
    atr_core::ids::RevisionNumber::new(n).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// [`rev`] for a nullable column.
pub(crate) fn rev_opt(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<atr_core::ids::RevisionNumber>> {
    match row.get::<_, Option<u32>>(idx)? {
        None => Ok(None),
        Some(_) => rev(row, idx).map(Some),
    }
}

/// Reads a JSON text column.
pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    serde_json::from_str(&s)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

/// Serialises a value for a JSON text column.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).expect("domain types serialise to JSON")
}

/// The settings a connection runs with (for diagnostics and the schema tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `wal`.
    pub journal_mode: String,
    /// Whether foreign keys are enforced.
    pub foreign_keys: bool,
    /// 1 = NORMAL.
    pub synchronous: i64,
    /// Milliseconds a writer waits for the lock.
    pub busy_timeout_ms: i64,
}

impl Tx<'_> {
    /// The settings of the connection this transaction runs on.
    pub fn connection_settings(&self) -> Result<ConnectionSettings, StorageError> {
        let c = self.conn();
        let get =
            |p: &str| c.query_row(&format!("PRAGMA {p}"), [], |r| r.get::<_, rusqlite::types::Value>(0));
        let int = |v: rusqlite::types::Value| if let rusqlite::types::Value::Integer(i) = v { i } else { -1 };
        Ok(ConnectionSettings {
            journal_mode: match get("journal_mode").doing("reading settings")? {
                rusqlite::types::Value::Text(s) => s,
                _ => String::new(),
            },
            foreign_keys: int(get("foreign_keys").doing("reading settings")?) == 1,
            synchronous: int(get("synchronous").doing("reading settings")?),
            busy_timeout_ms: int(get("busy_timeout").doing("reading settings")?),
        })
    }
}
