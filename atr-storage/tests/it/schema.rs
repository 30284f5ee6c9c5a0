//! Schema tidy tests: pragmas, migrations, foreign-key delete behaviour, append-only audit triggers.

use atr_storage::Storage;

use crate::support::*;

fn conn(s: &Storage) -> rusqlite::Connection {
    rusqlite::Connection::open(s.layout().database()).unwrap()
}

fn tables(c: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'refinery_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// (table, referenced table, on_delete) for every foreign key.
fn foreign_keys(c: &rusqlite::Connection) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for t in tables(c) {
        let mut stmt = c
            .prepare(&format!("SELECT DISTINCT \"table\", on_delete FROM pragma_foreign_key_list('{t}')"))
            .unwrap();
        let rows: Vec<(String, String)> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
        out.extend(rows.into_iter().map(|(to, on_delete)| (t.clone(), to, on_delete)));
    }
    out.sort();
    out
}

#[test]
fn every_foreign_key_has_the_intended_on_delete() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let expected: Vec<(String, String, String)> = [
        // Everything that belongs to a release goes with it.
        ("ballots", "releases", "CASCADE"),
        ("check_ignores", "projects", "CASCADE"),
        ("check_results", "revisions", "CASCADE"),
        // A committee with projects, or with child committees, cannot be deleted by accident.
        ("committee_people", "committees", "CASCADE"),
        ("committees", "committees", "RESTRICT"),
        ("distributions", "releases", "CASCADE"),
        ("key_links", "committees", "CASCADE"),
        ("key_links", "public_signing_keys", "CASCADE"),
        ("projects", "committees", "RESTRICT"),
        ("projects", "projects", "SET NULL"),
        ("quarantine", "releases", "CASCADE"),
        // A project with releases cannot be deleted by accident.
        ("releases", "projects", "RESTRICT"),
        ("revisions", "releases", "CASCADE"),
        ("tasks", "projects", "CASCADE"),
        ("tasks", "releases", "CASCADE"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(foreign_keys(&conn(&s)), expected);
}

#[test]
fn every_table_is_strict_and_known() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let c = conn(&s);
    assert_eq!(
        tables(&c),
        [
            "audit_events",
            "ballots",
            "check_ignores",
            "check_results",
            "committee_people",
            "committees",
            "distributions",
            "key_links",
            "personal_access_tokens",
            "project_stamps",
            "projects",
            "public_signing_keys",
            "quarantine",
            "release_stamps",
            "releases",
            "revisions",
            "ssh_keys",
            "tasks",
            "text_values",
        ]
    );
    for t in tables(&c) {
        let strict: bool =
            c.query_row("SELECT strict FROM pragma_table_list WHERE name = ?1", [&t], |r| r.get(0)).unwrap();
        assert!(strict, "table {t} is not STRICT");
    }
    let triggers: Vec<String> = c
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'audit_events' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(triggers, ["audit_events_no_delete", "audit_events_no_update"]);
}

#[test]
fn connections_use_wal_foreign_keys_and_a_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    // Every pooled connection, including ones opened later under load, has the same settings.
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let settings = s.read(|tx| tx.connection_settings()).unwrap();
                assert_eq!(
                    settings,
                    atr_storage::db::ConnectionSettings {
                        journal_mode: "wal".into(),
                        foreign_keys: true,
                        synchronous: 1,
                        busy_timeout_ms: atr_storage::db::BUSY_TIMEOUT.as_millis() as i64,
                    }
                );
            });
        }
    });
}

#[test]
fn reopening_applies_no_migration_twice_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let s = Storage::open(dir.path()).unwrap();
    assert_eq!(s.read(|tx| tx.project(&project_key())).unwrap(), Some(project()));
    let applied: i64 =
        conn(&s).query_row("SELECT count(*) FROM refinery_schema_history", [], |r| r.get(0)).unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    assert_eq!(applied as usize, files);
}

#[test]
fn migration_file_names_follow_refinery_and_are_contiguous() {
    let mut versions: Vec<u32> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix('V').unwrap_or_else(|| panic!("{name}: must start with V"));
            let (v, what) = rest.split_once("__").unwrap_or_else(|| panic!("{name}: V<n>__<what>.sql"));
            assert!(what.ends_with(".sql") && what.len() > 4, "{name}");
            v.parse().unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(versions, (1..=versions.len() as u32).collect::<Vec<_>>());
}

/// Request hygiene (trust-chain issue): the state directory and the database (token hashes, the
/// audit log) were readable by every local user (0755 / 0644). Opening makes them the owner's only.
#[test]
fn the_state_directory_and_database_are_the_owners_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = atr_storage::Storage::open(&state).unwrap();
    s.write(|tx| tx.upsert_committee(&crate::support::committee())).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    let db = s.layout().database();
    assert_eq!(mode(&db), 0o600);
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "SQLite gives the WAL the database's mode");
    }
}
