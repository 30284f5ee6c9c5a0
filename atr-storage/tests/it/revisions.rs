//! Revision creation: hard links, immutability, refusals, reconciliation on open.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use atr_core::ids::RevisionNumber;
use atr_core::model::{AuditAction, ReleasePhase};
use atr_storage::{Base, Storage, StorageError};

use crate::support::*;

fn n(x: u32) -> RevisionNumber {
    RevisionNumber::new(x).unwrap()
}

#[test]
fn first_revision_is_00001_with_row_directory_and_audit_record() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let (rev, ()) =
        s.create_revision(&new_rev("Creation of empty draft"), |_| Ok::<_, StorageError>(())).unwrap();
    assert_eq!(rev.number.to_string(), "00001");
    assert_eq!(rev.parent, None);
    assert_eq!(rev.phase, ReleasePhase::Draft);
    let path = s.layout().revision(&project_key(), &version_key(), rev.number);
    assert!(path.is_dir(), "{path:?}");
    assert_eq!(s.read(|tx| tx.revisions(&project_key(), &version_key())).unwrap(), vec![rev.clone()]);
    let audit = s.read(|tx| tx.audit_events_for("foo-1.0.0 00001")).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, AuditAction::RevisionAdd);
    assert_eq!(audit[0].actor, Some(uid("alice")));
    assert_eq!(audit[0].details["number"], "00001");
}

#[test]
fn new_revision_hard_links_unchanged_files_and_replaces_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |d| {
        d.write(&rel("a.txt"), b"a1")?;
        d.write(&rel("sub/b.txt"), b"b1")
    })
    .unwrap();
    let (r2, ()) = s.create_revision(&new_rev("two"), |d| d.write(&rel("a.txt"), b"a2")).unwrap();
    assert_eq!(r2.number, n(2));
    assert_eq!(r2.parent, Some(n(1)));
    let d1 = s.layout().revision(&project_key(), &version_key(), n(1));
    let d2 = s.layout().revision(&project_key(), &version_key(), n(2));
    // The old revision is untouched; the new one has the change.
    assert_eq!(tree(&d1), [("a.txt".into(), "a1".into()), ("sub/b.txt".into(), "b1".into())]);
    assert_eq!(tree(&d2), [("a.txt".into(), "a2".into()), ("sub/b.txt".into(), "b1".into())]);
    // Unchanged files are the same inode; changed ones are not.
    let ino = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(d1.join("sub/b.txt")), ino(d2.join("sub/b.txt")));
    assert_ne!(ino(d1.join("a.txt")), ino(d2.join("a.txt")));
    // Everything in place is read-only.
    for p in [d2.join("a.txt"), d2.join("sub/b.txt")] {
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o444, "{p:?}");
    }
    for p in [d2.clone(), d2.join("sub")] {
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o555, "{p:?}");
    }
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), Some(n(2)));
}

#[test]
fn interim_dir_remove_rename_list_and_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |d| {
        d.write(&rel("x/a.txt"), b"a")?;
        d.write(&rel("b.txt"), b"b")
    })
    .unwrap();
    let (_, files) = s
        .create_revision(&new_rev("two"), |d| {
            assert!(d.contains(&rel("x/a.txt")));
            assert_eq!(d.read(&rel("b.txt"))?, b"b");
            d.rename(&rel("x/a.txt"), &rel("y/z/a.txt"))?;
            d.remove(&rel("b.txt"))?;
            let err = d.remove(&rel("b.txt")).unwrap_err();
            assert!(err.to_string().contains("`b.txt` is not in the revision"), "{err}");
            let err = d.write(&rel("y/z/a.txt/c"), b"c").unwrap_err();
            assert!(err.to_string().contains("a file stands where a directory is needed"), "{err}");
            let err = d.write(&rel("y"), b"c").unwrap_err();
            assert!(err.to_string().contains("a directory of that name exists"), "{err}");
            d.files()
        })
        .unwrap();
    assert_eq!(files, [rel("y/z/a.txt")]);
    let d2 = s.layout().revision(&project_key(), &version_key(), n(2));
    // The emptied directory `x` is gone.
    assert_eq!(tree(&d2), [("y/z/a.txt".into(), "a".into())]);
    assert_eq!(s.revision_files(&project_key(), &version_key(), n(2)).unwrap(), [rel("y/z/a.txt")]);
}

#[test]
fn failed_change_leaves_no_revision_and_no_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |d| d.write(&rel("a.txt"), b"a")).unwrap();
    let err = s
        .create_revision(&new_rev("two"), |d| {
            d.write(&rel("b.txt"), b"b")?;
            d.remove(&rel("missing.txt"))
        })
        .unwrap_err();
    assert!(matches!(err, StorageError::NoSuchFile { .. }), "{err}");
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), Some(n(1)));
    assert!(!s.layout().revision(&project_key(), &version_key(), n(2)).exists());
    assert_eq!(tmp_leftovers(&s), Vec::<String>::new());
}

#[test]
fn stale_expected_revision_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |_| Ok::<_, StorageError>(())).unwrap();
    s.create_revision(&new_rev("two"), |_| Ok::<_, StorageError>(())).unwrap();
    let err = s
        .create_revision(&new_rev("three").expecting_latest(n(1)), |_| Ok::<_, StorageError>(()))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("A newer revision appeared for foo-1.0.0"), "{msg}");
    assert!(msg.contains("revision 00001, but the latest is 00002"), "{msg}");
    let (r3, ()) =
        s.create_revision(&new_rev("three").expecting_latest(n(2)), |_| Ok::<_, StorageError>(())).unwrap();
    assert_eq!(r3.number, n(3));
}

#[test]
fn revisions_are_refused_outside_the_allowed_phases_and_for_unknown_releases() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |_| Ok::<_, StorageError>(())).unwrap();
    let release = s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap();
    let mut candidate = release.clone();
    candidate.phase = ReleasePhase::Candidate;
    candidate.vote_started = Some(NOW);
    s.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n(1)), &candidate)).unwrap();
    let err = s.create_revision(&new_rev("upload"), |_| Ok::<_, StorageError>(())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foo-1.0.0 is in phase `release_candidate`, not `release_candidate_draft` or `release_preview`; \
         refresh the page to see its current state"
    );
    let mut other = new_rev("x");
    other.version = atr_core::ids::VersionKey::new("2.0").unwrap();
    let err = s.create_revision(&other, |_| Ok::<_, StorageError>(())).unwrap_err();
    assert_eq!(err.to_string(), "release `foo-2.0` does not exist");
}

#[test]
fn empty_and_older_bases() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |d| d.write(&rel("a.txt"), b"1")).unwrap();
    s.create_revision(&new_rev("two"), |d| d.write(&rel("a.txt"), b"2")).unwrap();
    let (r3, files) = s.create_revision(&new_rev("fresh").with_base(Base::Empty), |d| d.files()).unwrap();
    assert!(files.is_empty());
    assert_eq!(r3.parent, Some(n(2)));
    let (r4, ()) = s
        .create_revision(&new_rev("back to 1").with_base(Base::Revision(n(1))), |_| Ok::<_, StorageError>(()))
        .unwrap();
    let d4 = s.layout().revision(&project_key(), &version_key(), r4.number);
    assert_eq!(tree(&d4), [("a.txt".into(), "1".into())]);
    let err = s
        .create_revision(&new_rev("x").with_base(Base::Revision(n(9))), |_| Ok::<_, StorageError>(()))
        .unwrap_err();
    assert_eq!(err.to_string(), "revision `foo-1.0.0 00009` does not exist");
}

#[test]
fn guarded_phase_change_refuses_when_a_newer_revision_appeared() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |_| Ok::<_, StorageError>(())).unwrap();
    // Someone looks at revision 1 and decides to start the vote; meanwhile revision 2 appears.
    let seen = s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap();
    s.create_revision(&new_rev("two"), |_| Ok::<_, StorageError>(())).unwrap();
    let mut next = seen.clone();
    next.phase = ReleasePhase::Candidate;
    let err = s.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n(1)), &next)).unwrap_err();
    assert!(err.to_string().starts_with("A newer revision appeared"), "{err}");
    assert_eq!(
        s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap().phase,
        ReleasePhase::Draft
    );
    // A wrong expected phase is its own refusal.
    let err = s.write(|tx| tx.update_release_guarded(ReleasePhase::Preview, Some(n(2)), &next)).unwrap_err();
    assert!(matches!(err, StorageError::WrongPhase { .. }), "{err}");
    // With the right revision it goes through.
    s.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n(2)), &next)).unwrap();
    assert_eq!(
        s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap().phase,
        ReleasePhase::Candidate
    );
}

#[test]
fn open_removes_revision_dirs_without_rows_and_dead_sessions() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = seeded(dir.path());
        s.create_revision(&new_rev("one"), |d| d.write(&rel("a.txt"), b"1")).unwrap();
    }
    let layout = atr_storage::layout::Layout::new(dir.path());
    let orphan = layout.revision(&project_key(), &version_key(), n(2));
    std::fs::create_dir_all(orphan.join("deep")).unwrap();
    std::fs::write(orphan.join("deep/x"), "x").unwrap();
    std::fs::set_permissions(orphan.join("deep"), std::fs::Permissions::from_mode(0o555)).unwrap();
    let dead_session = layout.tmp().join("s999-0-0");
    std::fs::create_dir_all(dead_session.join("revision-0")).unwrap();
    std::fs::write(dead_session.join(atr_storage::layout::SESSION_LOCK_FILE), "").unwrap();
    std::fs::write(layout.tmp().join("stray-file"), "").unwrap();

    let s = Storage::open(dir.path()).unwrap();
    assert!(!orphan.exists());
    assert!(layout.revision(&project_key(), &version_key(), n(1)).is_dir());
    assert_eq!(s.reconciled().removed_revisions, [orphan]);
    let mut removed = s.reconciled().removed_tmp.clone();
    removed.sort();
    assert_eq!(removed, [dead_session, layout.tmp().join("stray-file")]);
    assert!(s.reconciled().missing_revisions.is_empty());
    // The next revision takes the number the orphan had.
    let (r2, ()) = s.create_revision(&new_rev("two"), |_| Ok::<_, StorageError>(())).unwrap();
    assert_eq!(r2.number, n(2));
}

#[test]
fn a_live_session_of_another_handle_is_not_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let first = seeded(dir.path());
    let second = Storage::open(dir.path()).unwrap();
    assert!(second.reconciled().removed_tmp.is_empty());
    // Both can still make revisions.
    first.create_revision(&new_rev("one"), |d| d.write(&rel("a"), b"a")).unwrap();
    let (r, ()) = second.create_revision(&new_rev("two"), |d| d.write(&rel("b"), b"b")).unwrap();
    assert_eq!(r.number, n(2));
}

#[test]
fn deleting_a_release_removes_rows_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    s.create_revision(&new_rev("one"), |d| d.write(&rel("a/b.txt"), b"1")).unwrap();
    s.create_revision(&new_rev("two"), |d| d.write(&rel("c.txt"), b"2")).unwrap();
    s.delete_release(&project_key(), &version_key(), &uid("alice"), NOW).unwrap();
    assert!(!s.layout().unfinished_release(&project_key(), &version_key()).exists());
    assert_eq!(s.read(|tx| tx.release(&project_key(), &version_key())).unwrap(), None);
    assert!(s.read(|tx| tx.revisions(&project_key(), &version_key())).unwrap().is_empty());
    let audit = s.read(|tx| tx.audit_events_for("foo-1.0.0")).unwrap();
    assert_eq!(audit.last().unwrap().action, AuditAction::ReleaseDelete);
}

#[test]
fn link_file_brings_in_an_existing_file_without_copying() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    // An upload that passed validation somewhere on the same file system.
    let source = s.layout().root().join("validated-upload");
    std::fs::write(&source, b"archive bytes").unwrap();
    let (rev, ()) = s
        .create_revision(&new_rev("upload"), |d| d.link_file(&rel("dist/apache-foo-1.0.0.tar.gz"), &source))
        .unwrap();
    let placed =
        s.layout().revision(&project_key(), &version_key(), rev.number).join("dist/apache-foo-1.0.0.tar.gz");
    assert_eq!(std::fs::read(&placed).unwrap(), b"archive bytes");
    assert_eq!(std::fs::metadata(&placed).unwrap().ino(), std::fs::metadata(&source).unwrap().ino());
    assert_eq!(std::fs::metadata(&placed).unwrap().permissions().mode() & 0o777, 0o444);
    let err = s.create_revision(&new_rev("dir"), |d| d.link_file(&rel("x"), s.layout().root())).unwrap_err();
    assert!(err.to_string().contains("the source is not a regular file"), "{err}");
}

#[test]
fn open_reports_missing_directories_and_never_removes_recorded_ones() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = seeded(dir.path());
        s.create_revision(&new_rev("one"), |d| d.write(&rel("a.txt"), b"1")).unwrap();
        s.create_revision(&new_rev("two"), |d| d.write(&rel("b.txt"), b"2")).unwrap();
        // An announced release keeps its recorded directories until announce itself moves them.
        let mut released = s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap();
        let draft = released.clone();
        released.phase = ReleasePhase::Release;
        released.released = Some(NOW);
        s.write(|tx| tx.update_release_guarded(draft.phase, Some(n(2)), &released)).unwrap();
    }
    let layout = atr_storage::layout::Layout::new(dir.path());
    let s = Storage::open(dir.path()).unwrap();
    assert!(layout.revision(&project_key(), &version_key(), n(1)).is_dir());
    assert!(s.reconciled().removed_revisions.is_empty());
    drop(s);

    // Back to a draft whose revision 1 directory was removed by hand: reported, not hidden.
    let other = tempfile::tempdir().unwrap();
    {
        let s = seeded(other.path());
        s.create_revision(&new_rev("one"), |d| d.write(&rel("a.txt"), b"1")).unwrap();
        s.create_revision(&new_rev("two"), |d| d.write(&rel("b.txt"), b"2")).unwrap();
    }
    let gone = atr_storage::layout::Layout::new(other.path()).revision(&project_key(), &version_key(), n(1));
    std::fs::set_permissions(&gone, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::remove_dir_all(&gone).unwrap();
    let s = Storage::open(other.path()).unwrap();
    assert_eq!(s.reconciled().missing_revisions, ["foo-1.0.0 00001"]);
}

#[test]
fn open_leaves_alone_a_release_that_a_live_process_is_working_on() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    let layout = atr_storage::layout::Layout::new(dir.path());
    let orphan = layout.revision(&project_key(), &version_key(), n(1));
    std::fs::create_dir_all(&orphan).unwrap();
    // Another process holds the release's lock (it is creating or deleting a revision).
    let lock_path = layout.release_lock(&project_key(), &version_key());
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.lock().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    assert!(orphan.is_dir());
    assert!(s.reconciled().removed_revisions.is_empty());
    drop(s);
    drop(lock);
    let s = Storage::open(dir.path()).unwrap();
    assert!(!orphan.exists());
    assert_eq!(s.reconciled().removed_revisions, [orphan]);
}
