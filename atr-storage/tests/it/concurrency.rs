//! Two threads, and two processes, creating revisions of one release at the same time.

use std::collections::BTreeSet;
use std::process::Command;

use atr_core::ids::RevisionNumber;
use atr_storage::Storage;

use crate::support::*;

const PER_WRITER: u32 = 12;

/// Each writer adds one new file per revision; afterwards every revision must be its parent plus
/// exactly one file, numbers must run 1..=total, and rows and directories must agree.
fn assert_consistent(s: &Storage, total: u32, writers: &[&str]) {
    let revisions = s.read(|tx| tx.revisions(&project_key(), &version_key())).unwrap();
    let numbers: Vec<u32> = revisions.iter().map(|r| r.number.get()).collect();
    assert_eq!(numbers, (1..=total).collect::<Vec<_>>());
    let mut previous: BTreeSet<String> = BTreeSet::new();
    for r in &revisions {
        assert_eq!(r.parent.map(|p| p.get()), r.number.get().checked_sub(1).filter(|&p| p > 0));
        let files: BTreeSet<String> = s
            .revision_files(&project_key(), &version_key(), r.number)
            .unwrap()
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        assert!(files.is_superset(&previous), "revision {} lost files", r.number);
        assert_eq!(files.len(), previous.len() + 1, "revision {} is not its parent plus one file", r.number);
        previous = files;
    }
    let expected: BTreeSet<String> =
        writers.iter().flat_map(|w| (0..PER_WRITER).map(move |i| format!("{w}-{i:02}.txt"))).collect();
    assert_eq!(previous, expected);
    let dirs =
        std::fs::read_dir(s.layout().unfinished_release(&project_key(), &version_key())).unwrap().count();
    assert_eq!(dirs, total as usize);
}

fn write_revisions(s: &Storage, writer: &str) {
    for i in 0..PER_WRITER {
        let name = format!("{writer}-{i:02}.txt");
        let (rev, ()) = s
            .create_revision(&new_rev(&format!("{writer} {i}")), |d| d.write(&rel(&name), name.as_bytes()))
            .unwrap();
        assert!(rev.number >= RevisionNumber::FIRST);
    }
}

#[test]
fn two_threads_get_distinct_contiguous_numbers_and_consistent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    std::thread::scope(|scope| {
        for w in ["t1", "t2"] {
            let s = &s;
            scope.spawn(move || write_revisions(s, w));
        }
    });
    assert_consistent(&s, 2 * PER_WRITER, &["t1", "t2"]);
}

const CHILD_ENV: &str = "ATR_STORAGE_TEST_WRITER";

#[test]
fn two_processes_get_distinct_contiguous_numbers_and_consistent_directories() {
    // Child mode: this same test, re-executed by the parent below with the environment set.
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (dir, writer) = spec.split_once('|').unwrap();
        let s = Storage::open(dir).unwrap();
        write_revisions(&s, writer);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|w| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "concurrency::two_processes_get_distinct_contiguous_numbers_and_consistent_directories",
                    "--test-threads=1",
                    "--nocapture",
                ])
                .env(CHILD_ENV, format!("{}|{w}", dir.path().display()))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The filter must have matched exactly our test, or the child did nothing.
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let s = Storage::open(dir.path()).unwrap();
    assert_consistent(&s, 2 * PER_WRITER, &["p1", "p2"]);
    assert!(s.reconciled().removed_revisions.is_empty());
}
