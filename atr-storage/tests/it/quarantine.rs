//! Quarantine of uploaded archives: held outside every revision until accepted or rejected.

use atr_core::model::{TaskStatus, TaskType};
use atr_storage::quarantine::{QuarantineStatus, Upload, UploadOutcome, needs_quarantine};

use crate::support::*;

#[test]
fn archives_need_quarantine_and_other_files_do_not() {
    for (name, q) in [
        ("foo-1.0.tar.gz", true),
        ("foo-1.0.TGZ", true),
        ("foo-1.0.zip", true),
        ("foo-1.0.tar.gz.asc", false),
        ("foo-1.0.tar.gz.sha512", false),
        ("README.txt", false),
    ] {
        assert_eq!(needs_quarantine(&rel(name)), q, "{name}");
    }
}

#[test]
fn upload_without_archives_becomes_a_revision_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut body: &[u8] = b"hash  foo.tar.gz\n";
    let out = s
        .upload(&new_rev("upload"), vec![Upload { path: rel("foo.tar.gz.sha512"), reader: &mut body }])
        .unwrap();
    let UploadOutcome::Revision { revision, plan } = out else { panic!("expected a revision") };
    assert_eq!(plan.enqueued.len(), 2);
    assert_eq!(
        s.revision_files(&project_key(), &version_key(), revision.number).unwrap(),
        [rel("foo.tar.gz.sha512")]
    );
}

#[test]
fn quarantined_upload_becomes_a_revision_only_when_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut a: &[u8] = b"archive bytes";
    let mut b: &[u8] = b"signature";
    let out = s
        .upload(
            &new_rev("upload"),
            vec![
                Upload { path: rel("foo-1.0.0.tar.gz"), reader: &mut a },
                Upload { path: rel("foo-1.0.0.tar.gz.asc"), reader: &mut b },
            ],
        )
        .unwrap();
    let UploadOutcome::Quarantined { quarantined, task } = out else { panic!("expected quarantine") };
    assert_eq!(quarantined.status, QuarantineStatus::Pending);
    assert_eq!(quarantined.files.len(), 2);
    assert!(quarantined.files[0].archive && !quarantined.files[1].archive);
    let t = s.read(|tx| tx.task(task)).unwrap().unwrap();
    assert_eq!((t.spec.task_type, t.status), (TaskType::QuarantineValidate, TaskStatus::Queued));
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), None);
    let qdir = s.quarantine_dir(quarantined.id);
    assert_eq!(std::fs::read(qdir.join("foo-1.0.0.tar.gz")).unwrap(), b"archive bytes");

    let (rev, plan) = s.accept_quarantined(quarantined.id, NOW).unwrap();
    assert_eq!(
        s.revision_files(&project_key(), &version_key(), rev.number).unwrap(),
        [rel("foo-1.0.0.tar.gz"), rel("foo-1.0.0.tar.gz.asc")]
    );
    assert!(plan.enqueued.len() >= 3, "paths, archive and signature checks");
    assert!(!qdir.exists());
    let q = s.read(|tx| tx.quarantined(quarantined.id)).unwrap().unwrap();
    assert_eq!((q.status, q.revision_number), (QuarantineStatus::Accepted, Some(rev.number)));
    assert!(s.accept_quarantined(quarantined.id, NOW).is_err(), "decided once");
}

#[test]
fn rejected_upload_never_becomes_a_revision_and_keeps_the_explanation() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut a: &[u8] = b"evil";
    let UploadOutcome::Quarantined { quarantined, .. } =
        s.upload(&new_rev("upload"), vec![Upload { path: rel("foo-1.0.0.zip"), reader: &mut a }]).unwrap()
    else {
        panic!("expected quarantine")
    };
    assert!(s.reject_quarantined(quarantined.id, "`foo-1.0.0.zip` is not a zip archive", NOW).unwrap());
    assert!(!s.quarantine_dir(quarantined.id).exists());
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), None);
    let listed = s.read(|tx| tx.quarantined_of_release(&project_key(), &version_key())).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, QuarantineStatus::Failed);
    assert_eq!(listed[0].error.as_deref(), Some("`foo-1.0.0.zip` is not a zip archive"));
    assert!(s.accept_quarantined(quarantined.id, NOW).is_err());
}

#[test]
fn validation_task_that_fails_for_good_fails_the_upload_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut a: &[u8] = b"bytes";
    let UploadOutcome::Quarantined { quarantined, task } =
        s.upload(&new_rev("upload"), vec![Upload { path: rel("foo-1.0.0.tar.gz"), reader: &mut a }]).unwrap()
    else {
        panic!("expected quarantine")
    };
    let claimed = s.write(|tx| tx.claim_task("w", NOW, 30)).unwrap().unwrap();
    assert_eq!(claimed.task.id, task);
    assert!(s.write(|tx| tx.fail_task(task, NOW, "killed after the time limit")).unwrap());
    let q = s.read(|tx| tx.quarantined(quarantined.id)).unwrap().unwrap();
    assert_eq!(q.status, QuarantineStatus::Failed);
    assert!(q.error.unwrap().contains("killed after the time limit"));
    assert!(!s.reject_quarantined(quarantined.id, "cleanup", NOW).unwrap(), "already decided");
    assert!(!s.quarantine_dir(quarantined.id).exists(), "the files are removed");
}

#[test]
fn a_pending_upload_is_counted_in_the_release_state_so_no_vote_starts_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut a: &[u8] = b"archive bytes";
    let out =
        s.upload(&new_rev("upload"), vec![Upload { path: rel("foo-1.0.0.tar.gz"), reader: &mut a }]).unwrap();
    let UploadOutcome::Quarantined { quarantined, .. } = out else { panic!("expected quarantine") };
    let state = s.release_state(&project_key(), &version_key(), NOW).unwrap();
    assert_eq!(state.checks.quarantined, 1);

    s.accept_quarantined(quarantined.id, NOW).unwrap();
    let state = s.release_state(&project_key(), &version_key(), NOW).unwrap();
    assert_eq!(state.checks.quarantined, 0, "an accepted upload is no longer pending");
}

#[test]
fn a_staged_file_is_written_once_and_linked_into_the_revision_with_its_streamed_hash() {
    use std::io::Write as _;
    use std::os::unix::fs::MetadataExt as _;
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut staged = s.stage_upload().unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut w = staged.begin(rel("big.bin")).unwrap();
    for piece in content.chunks(70_001) {
        w.write_all(piece).unwrap();
    }
    assert_eq!(w.finish().unwrap(), content.len() as u64);
    assert!(staged.begin(rel("big.bin")).is_err(), "one file per name");
    staged.prefix(&rel("docs"));
    assert_eq!(staged.paths().collect::<Vec<_>>(), [&rel("docs/big.bin")]);
    let UploadOutcome::Revision { revision, .. } = s.upload_staged(&new_rev("upload"), staged).unwrap()
    else {
        panic!("expected a revision")
    };
    let placed = s.layout().revision(&project_key(), &version_key(), revision.number).join("docs/big.bin");
    assert_eq!(std::fs::read(&placed).unwrap(), content);
    assert_eq!(std::fs::metadata(&placed).unwrap().nlink(), 1, "the staged name is gone; one copy on disk");
    let expected = format!("blake3:{}", blake3::hash(&content).to_hex());
    assert_eq!(atr_storage::planning::hash_file(&placed).unwrap(), expected);
    let tmp_files = walk_files(&s.layout().tmp());
    assert!(tmp_files.iter().all(|p| p.ends_with("session.lock")), "nothing left in tmp: {tmp_files:?}");
}

#[test]
fn an_abandoned_staged_upload_leaves_nothing() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut staged = s.stage_upload().unwrap();
    staged.add(rel("a.txt"), &mut &b"a"[..]).unwrap();
    let mut w = staged.begin(rel("partial.bin")).unwrap();
    w.write_all(&[1u8; 4096]).unwrap();
    drop(w);
    assert_eq!(staged.len(), 1, "the unfinished file is not part of the upload");
    drop(staged);
    let tmp_files = walk_files(&s.layout().tmp());
    assert!(tmp_files.iter().all(|p| p.ends_with("session.lock")), "nothing left in tmp: {tmp_files:?}");
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), None);
}

#[test]
fn removals_travel_with_a_quarantined_upload_into_one_revision() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut first = s.stage_upload().unwrap();
    first.add(rel("old.txt"), &mut &b"old"[..]).unwrap();
    first.add(rel("keep.txt"), &mut &b"keep"[..]).unwrap();
    let UploadOutcome::Revision { revision: r1, .. } = s.upload_staged(&new_rev("first"), first).unwrap()
    else {
        panic!("expected a revision")
    };
    let mut second = s.stage_upload().unwrap();
    second.add(rel("foo-1.0.0.tar.gz"), &mut &b"archive bytes"[..]).unwrap();
    second.remove(rel("old.txt"));
    let UploadOutcome::Quarantined { quarantined, .. } = s.upload_staged(&new_rev("second"), second).unwrap()
    else {
        panic!("expected quarantine")
    };
    assert_eq!(quarantined.removals, [rel("old.txt")]);
    assert_eq!(quarantined.files.len(), 1, "removals are not files");
    assert_eq!(quarantined.files[0].hash, format!("blake3:{}", blake3::hash(b"archive bytes").to_hex()));
    let (r2, _) = s.accept_quarantined(quarantined.id, NOW).unwrap();
    assert_eq!(r2.parent, Some(r1.number), "one revision for the archive and the removal");
    assert_eq!(
        s.revision_files(&project_key(), &version_key(), r2.number).unwrap(),
        [rel("foo-1.0.0.tar.gz"), rel("keep.txt")]
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
