//! Check tasks end to end: upload → quarantine → validation → revision → check tasks → results,
//! with real worker processes, the signed fixture release and hostile archives.

use std::path::Path;
use std::time::Duration;

use atr_checks::archive::ArchiveFormat;
use atr_checks::testing::archive::{ArchiveBuilder, compress};
use atr_core::check::{CheckStatus, CheckerId};
use atr_core::model::{TaskStatus, TaskType};
use atr_core::path::RelPath;
use atr_storage::Storage;
use atr_storage::quarantine::{QuarantineStatus, Upload, UploadOutcome};

use crate::support::*;

fn upload(s: &Storage, files: &[(&str, Vec<u8>)]) -> UploadOutcome {
    let mut readers: Vec<(RelPath, &[u8])> =
        files.iter().map(|(n, b)| (RelPath::new(*n).unwrap(), b.as_slice())).collect();
    let uploads = readers.iter_mut().map(|(p, r)| Upload { path: p.clone(), reader: r }).collect();
    s.upload(&new_rev("upload"), uploads).unwrap()
}

fn fixture_files() -> Vec<(&'static str, Vec<u8>)> {
    ["apache-test-0.2.tar.gz", "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"]
        .into_iter()
        .map(|n| (n, std::fs::read(Path::new(FIXTURE).join(n)).unwrap()))
        .collect()
}

#[test]
fn fixture_upload_is_validated_checked_and_cached_results_are_reused() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let UploadOutcome::Quarantined { quarantined, .. } = upload(&s, &fixture_files()) else {
        panic!("an archive upload is quarantined")
    };
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), None);
    let m = manager(dir.path(), 2, Duration::from_secs(60), &[]);
    let (_, failed) = drain(&s, Duration::from_secs(60));
    assert_eq!(failed, 0);
    let q = s.read(|tx| tx.quarantined(quarantined.id)).unwrap().unwrap();
    assert_eq!(q.status, QuarantineStatus::Accepted, "{:?}", q.error);
    let r1 = q.revision_number.unwrap();
    let tasks = s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), r1)).unwrap();
    let kinds: Vec<_> = tasks.iter().map(|t| t.spec.task_type).collect();
    assert_eq!(
        kinds,
        [
            TaskType::PathsCheck,
            TaskType::ArchiveCheck,
            TaskType::SbomCheck,
            TaskType::SignatureCheck,
            TaskType::HashingCheck
        ]
    );
    assert!(tasks.iter().all(|t| t.status == TaskStatus::Completed));
    let results = s.read(|tx| tx.check_results(&project_key(), &version_key(), r1)).unwrap();
    let status_of = |c: CheckerId| -> Vec<CheckStatus> {
        results
            .iter()
            .filter(|r| r.result.checker == c && r.result.member_rel_path.is_none())
            .map(|r| r.result.status)
            .collect()
    };
    assert_eq!(status_of(CheckerId::SIGNATURE), [CheckStatus::Note], "{results:#?}");
    assert_eq!(status_of(CheckerId::HASHING), [CheckStatus::Note]);
    assert!(!status_of(CheckerId::TARGZ_INTEGRITY).is_empty());
    assert!(!status_of(CheckerId::PATHS).is_empty());
    assert!(results.iter().all(|r| !r.cached && r.inputs_hash.is_some()));
    // The validation pass was the archive check: the archive was read once.
    let done = s.read(|tx| tx.tasks_with_status(TaskStatus::Completed, 100)).unwrap();
    let validation = done.iter().find(|t| t.spec.task_type == TaskType::QuarantineValidate).unwrap();
    assert_eq!(validation.result.as_ref().unwrap()["archive_checks_done_here"], 1);

    // Add an unrelated file: only the paths check (its input is the listing) runs again.
    let UploadOutcome::Revision { revision: r2, plan } = upload(&s, &[("README.txt", b"hello\n".to_vec())])
    else {
        panic!("a text upload needs no quarantine")
    };
    assert_eq!(plan.enqueued.len(), 1);
    assert_eq!(plan.cached.len(), 4, "archive, SBOM presence, signature and hash results reused");
    let (_, failed) = drain(&s, Duration::from_secs(60));
    m.shutdown().unwrap();
    assert_eq!(failed, 0);
    let tasks2 = s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), r2.number)).unwrap();
    assert_eq!(tasks2.iter().map(|t| t.spec.task_type).collect::<Vec<_>>(), [TaskType::PathsCheck]);
    let results2 = s.read(|tx| tx.check_results(&project_key(), &version_key(), r2.number)).unwrap();
    let copied = |c: CheckerId| results2.iter().filter(|r| r.result.checker == c).all(|r| r.cached);
    assert!(copied(CheckerId::SIGNATURE) && copied(CheckerId::HASHING) && copied(CheckerId::TARGZ_INTEGRITY));
    assert!(results2.iter().filter(|r| r.result.checker == CheckerId::PATHS).all(|r| !r.cached));
    let n1 = results.iter().filter(|r| r.result.checker != CheckerId::PATHS).count();
    let n2 = results2.iter().filter(|r| r.result.checker != CheckerId::PATHS).count();
    assert_eq!(n1, n2, "every reused result was copied");
}

#[test]
fn hostile_archive_upload_never_becomes_a_revision_and_a_good_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let traversal = compress(
        ArchiveFormat::TarGz,
        &ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-test-0.2")
            .file("apache-test-0.2/../../etc/cron.d/evil", "* * * * * root sh\n")
            .build_tar(),
    );
    let not_a_zip = b"this is a text file named like a zip".to_vec();
    let UploadOutcome::Quarantined { quarantined: bad1, .. } = upload(
        &s,
        &[("apache-test-0.2-evil.tar.gz", traversal), ("apache-test-0.2.tar.gz.sha512", b"x".to_vec())],
    ) else {
        panic!("quarantined")
    };
    let UploadOutcome::Quarantined { quarantined: bad2, .. } =
        upload(&s, &[("apache-test-0.2.zip", not_a_zip)])
    else {
        panic!("quarantined")
    };
    let m = manager(dir.path(), 2, Duration::from_secs(60), &[]);
    let (_, failed) = drain(&s, Duration::from_secs(60));
    assert_eq!(failed, 0);
    assert_eq!(s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap(), None, "no revision");
    for (q, needle) in [(bad1, "../"), (bad2, "apache-test-0.2.zip")] {
        let q = s.read(|tx| tx.quarantined(q.id)).unwrap().unwrap();
        assert_eq!(q.status, QuarantineStatus::Failed);
        let err = q.error.unwrap();
        assert!(err.contains("discarded") && err.contains(needle), "{err}");
        assert!(!s.quarantine_dir(q.id).exists(), "files removed");
    }

    let UploadOutcome::Quarantined { quarantined: good, .. } = upload(&s, &fixture_files()) else { panic!() };
    let (_, failed) = drain(&s, Duration::from_secs(60));
    m.shutdown().unwrap();
    assert_eq!(failed, 0);
    let good = s.read(|tx| tx.quarantined(good.id)).unwrap().unwrap();
    assert_eq!(good.status, QuarantineStatus::Accepted);
    let files = s.revision_files(&project_key(), &version_key(), good.revision_number.unwrap()).unwrap();
    assert_eq!(files.len(), 3);
}
