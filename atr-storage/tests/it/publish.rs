//! Announce: the voted files are published by hard links (same inodes) in one step that either
//! completes or leaves the preview untouched, also when the process is killed at any step.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use atr_core::ids::{CommitteeKey, RevisionNumber};
use atr_core::lifecycle::{Command, ReleaseState, Transition, apply};
use atr_core::model::{Committee, Release, ReleasePhase};
use atr_core::permissions::Actor;
use atr_storage::Storage;
use atr_storage::publish::{PUBLISHING_DIR, PublishStep};

use crate::support::*;

const CHILD_ENV: &str = "ATR_STORAGE_TEST_PUBLISH_CRASH_AT";
const KEYS: &str = "pub   rsa4096 2026-01-01 [SC]\n      ABCD...\nuid   Alice <alice@apache.org>\n";
const FILES: [(&str, &str); 4] = [
    ("apache-foo-1.0.0-src.tar.gz", "source archive bytes"),
    ("apache-foo-1.0.0-src.tar.gz.asc", "-----BEGIN PGP SIGNATURE-----"),
    ("apache-foo-1.0.0-src.tar.gz.sha512", "abc123  apache-foo-1.0.0-src.tar.gz"),
    ("binaries/apache-foo-1.0.0-bin.zip", "binary archive bytes"),
];

/// A state directory with release foo-1.0.0 in the preview phase at revision 2 (revision 1 is older).
/// `replace` is the policy's `replace_download_files`.
fn preview(dir: &Path, replace: bool, podling: bool) -> Storage {
    let s = Storage::open(dir).unwrap();
    let mut c: Committee = committee();
    c.is_podling = podling;
    if podling {
        c.key = CommitteeKey::new("hoot").unwrap();
    }
    let mut p = project();
    p.committee_key = c.key.clone();
    p.policy.replace_download_files = replace;
    s.write(|tx| {
        tx.upsert_committee(&c)?;
        tx.insert_project(&p)?;
        tx.insert_release(&Release::new_draft(project_key(), version_key(), NOW))
    })
    .unwrap();
    s.create_revision(&new_rev("one"), |d| d.write(&rel("old.txt"), b"an older revision")).unwrap();
    s.create_revision(&new_rev("two"), |d| {
        d.remove(&rel("old.txt"))?;
        for (f, c) in FILES {
            d.write(&rel(f), c.as_bytes())?;
        }
        Ok::<_, atr_storage::StorageError>(())
    })
    .unwrap();
    let draft = s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap();
    let next = Release { phase: ReleasePhase::Preview, ..draft };
    s.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n(2)), &next)).unwrap();
    s
}

fn n(x: u32) -> RevisionNumber {
    RevisionNumber::new(x).unwrap()
}

fn alice(committee: &str) -> Actor {
    let key = CommitteeKey::new(committee).unwrap();
    Actor {
        uid: Some(uid("alice")),
        participant_of: [key.clone()].into(),
        member_of: [key].into(),
        admin: false,
    }
}

fn transition(s: &Storage, committee: &str) -> (ReleaseState, Transition) {
    let state = s.release_state(&project_key(), &version_key(), NOW).unwrap();
    let command = Command::Announce {
        revision: state.latest_revision,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: None,
    };
    let t = apply(&state, command, &alice(committee), NOW).unwrap();
    (state, t)
}

fn inodes(dir: &Path) -> BTreeMap<String, u64> {
    FILES.iter().map(|(f, _)| (f.to_string(), std::fs::metadata(dir.join(f)).unwrap().ino())).collect()
}

fn phase(s: &Storage) -> ReleasePhase {
    s.read(|tx| tx.release(&project_key(), &version_key())).unwrap().unwrap().phase
}

fn publishing_leftovers(s: &Storage) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(s.layout().root().join(PUBLISHING_DIR)) {
        for e in entries.flatten() {
            for inner in std::fs::read_dir(e.path()).unwrap().flatten() {
                out.push(inner.path().display().to_string());
            }
        }
    }
    out
}

fn downloads(s: &Storage) -> PathBuf {
    s.layout().downloads().join("tooling").join("foo-1.0.0")
}

/// Published: phase release, finished/ and downloads/ hold the voted inodes, KEYS is there, nothing is left over.
fn assert_published(s: &Storage, voted: &BTreeMap<String, u64>, what: &str) {
    assert_eq!(phase(s), ReleasePhase::Release, "{what}");
    let finished = s.layout().finished_release(&project_key(), &version_key());
    assert_eq!(&inodes(&finished), voted, "{what}: finished/ files are the voted files");
    assert_eq!(&inodes(&downloads(s)), voted, "{what}: downloads/ files are the voted files");
    let expected: Vec<(String, String)> = FILES.iter().map(|(f, c)| (f.to_string(), c.to_string())).collect();
    assert_eq!(tree(&finished), expected, "{what}");
    assert_eq!(tree(&downloads(s)), expected, "{what}");
    assert_eq!(std::fs::read_to_string(s.layout().downloads().join("tooling/KEYS")).unwrap(), KEYS, "{what}");
    assert!(
        !s.layout().unfinished_release(&project_key(), &version_key()).exists(),
        "{what}: older revisions"
    );
    assert_eq!(publishing_leftovers(s), Vec::<String>::new(), "{what}");
    // The lifecycle's view now lists the published files.
    let state = s.release_state(&project_key(), &version_key(), NOW).unwrap();
    assert_eq!(state.files.len(), FILES.len(), "{what}");
}

/// Still preview: the voted revision is intact (same inodes), nothing in finished/ or downloads/.
fn assert_preview(s: &Storage, voted: &BTreeMap<String, u64>, what: &str) {
    assert_eq!(phase(s), ReleasePhase::Preview, "{what}");
    let rev = s.layout().revision(&project_key(), &version_key(), n(2));
    assert_eq!(&inodes(&rev), voted, "{what}");
    assert_eq!(tree(&rev).len(), FILES.len(), "{what}");
    assert!(!s.layout().finished_release(&project_key(), &version_key()).exists(), "{what}");
    assert!(!downloads(s).exists(), "{what}");
    assert!(!s.layout().downloads().join("tooling/KEYS").exists(), "{what}");
    assert_eq!(publishing_leftovers(s), Vec::<String>::new(), "{what}");
}

#[test]
fn announce_publishes_the_voted_inodes_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let (before, t) = transition(&s, "tooling");
    let published = s.announce(&before, &t, KEYS, NOW).unwrap();
    assert_eq!(published.downloads, downloads(&s));
    assert_eq!(published.files.len(), FILES.len());
    assert_eq!(
        published.tasks.len(),
        t.tasks().count(),
        "the announce mail task is queued in the same transaction"
    );
    assert_published(&s, &voted, "announce");
    // Hard links, not copies: two names per file, finished/ and downloads/ (the revision directory was moved).
    let f = s.layout().finished_release(&project_key(), &version_key()).join(FILES[0].0);
    assert_eq!(std::fs::metadata(f).unwrap().nlink(), 2);
    let audit = s.read(|tx| tx.audit_events_for(&t.audit.target)).unwrap();
    assert!(audit.iter().any(|e| e.action == t.audit.action));
}

#[test]
fn announce_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let (before, t) = transition(&s, "tooling");
    s.announce(&before, &t, KEYS, NOW).unwrap();
    // The lifecycle refuses a second announce on the fresh state.
    let state = s.release_state(&project_key(), &version_key(), NOW).unwrap();
    let again = Command::Announce {
        revision: state.latest_revision,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: None,
    };
    let refusal = apply(&state, again, &alice("tooling"), NOW).unwrap_err();
    assert!(refusal.to_string().contains("already announced"), "{refusal}");
    // Replaying the old transition is refused by storage, and changes nothing.
    let err = s.announce(&before, &t, "other KEYS", NOW).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_published(&s, &voted, "after the refused replay");
}

#[test]
fn announce_over_a_file_no_release_owns_is_refused_unless_the_policy_allows_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let existing = downloads(&s).join(FILES[0].0);
    std::fs::create_dir_all(existing.parent().unwrap()).unwrap();
    std::fs::write(&existing, "someone else's file").unwrap();
    let (before, t) = transition(&s, "tooling");
    let err = s.announce(&before, &t, KEYS, NOW).unwrap_err();
    assert!(err.to_string().contains("belongs to no announced release"), "{err}");
    assert!(err.to_string().contains("foo-1.0.0/apache-foo-1.0.0-src.tar.gz"), "{err}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "someone else's file");
    assert_eq!(phase(&s), ReleasePhase::Preview);
    assert_eq!(inodes(&s.layout().revision(&project_key(), &version_key(), n(2))), voted);
    assert!(!s.layout().finished_release(&project_key(), &version_key()).exists());
    assert_eq!(publishing_leftovers(&s), Vec::<String>::new());
    // Once the old file is gone the same announce goes through.
    std::fs::remove_file(&existing).unwrap();
    s.announce(&before, &t, KEYS, NOW).unwrap();
    assert_published(&s, &voted, "after removing the old file");
}

#[test]
fn announce_replaces_a_file_no_release_owns_when_the_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), true, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let existing = downloads(&s).join(FILES[0].0);
    std::fs::create_dir_all(existing.parent().unwrap()).unwrap();
    std::fs::write(&existing, "stale").unwrap();
    let (before, t) = transition(&s, "tooling");
    s.announce(&before, &t, KEYS, NOW).unwrap();
    assert_published(&s, &voted, "overwrite allowed");
}

/// Release `version` of project foo in the preview phase at revision 1, holding `files`.
fn second_preview(s: &Storage, version: &str, files: &[(&str, &str)]) -> atr_core::ids::VersionKey {
    let v = atr_core::ids::VersionKey::new(version).unwrap();
    s.write(|tx| tx.insert_release(&Release::new_draft(project_key(), v.clone(), NOW))).unwrap();
    let rev = atr_storage::NewRevision::new(project_key(), v.clone(), uid("alice"), NOW, "second");
    s.create_revision(&rev, |d| {
        for (f, c) in files {
            d.write(&rel(f), c.as_bytes())?;
        }
        Ok::<_, atr_storage::StorageError>(())
    })
    .unwrap();
    let draft = s.read(|tx| tx.release(&project_key(), &v)).unwrap().unwrap();
    let next = Release { phase: ReleasePhase::Preview, ..draft };
    s.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n(1)), &next)).unwrap();
    v
}

fn announce_into(
    s: &Storage,
    version: &atr_core::ids::VersionKey,
    suffix: &str,
) -> Result<(), atr_storage::StorageError> {
    let state = s.release_state(&project_key(), version, NOW).unwrap();
    let command = Command::Announce {
        revision: state.latest_revision,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: Some(suffix.into()),
    };
    let t = apply(&state, command, &alice("tooling"), NOW).unwrap();
    s.announce(&state, &t, KEYS, NOW).map(|_| ())
}

/// Finding 2 of the trust-chain issue: a later announce into the folder of an earlier release, with
/// the same file names, used to replace the earlier release's downloads by other bytes. Whatever the
/// folder and whatever the policy, the first release's bytes and inodes stay as they were.
#[test]
fn a_later_announce_never_replaces_an_earlier_releases_downloads() {
    for replace in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let s = preview(dir.path(), replace, false);
        let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
        let (before, t) = transition(&s, "tooling");
        s.announce(&before, &t, KEYS, NOW).unwrap();
        let same_names: Vec<(&str, &str)> = FILES.iter().map(|(f, _)| (*f, "OTHER BYTES")).collect();
        let v2 = second_preview(&s, "2.0.0", &same_names);
        for (suffix, expected) in [
            ("/foo-1.0.0/", "`/foo-1.0.0/` holds the published files of foo-1.0.0"),
            ("/foo-1.0.0/binaries/", "holds the published files of foo-1.0.0"),
            ("/foo-1.0.0/sub/", "lies inside the folder of foo-1.0.0"),
        ] {
            let err = announce_into(&s, &v2, suffix).unwrap_err();
            assert!(err.to_string().contains(expected), "{suffix} (replace {replace}): {err}");
            assert!(err.to_string().contains("`/foo-2.0.0/`"), "the fix names a folder of its own: {err}");
            assert_published(&s, &voted, &format!("after the refused announce into {suffix}"));
            assert_eq!(
                s.read(|tx| tx.release(&project_key(), &v2)).unwrap().unwrap().phase,
                ReleasePhase::Preview
            );
        }
        // Other names in the first release's folder: the folder is the first release's.
        let v3 = second_preview(&s, "3.0.0", &[("apache-foo-3.0.0-src.tar.gz", "three")]);
        let err = announce_into(&s, &v3, "/foo-1.0.0/").unwrap_err();
        assert!(err.to_string().contains("`/foo-1.0.0/` holds the published files of foo-1.0.0"), "{err}");
        // A folder of its own is fine.
        announce_into(&s, &v2, "/foo-2.0.0/").unwrap();
        assert_published(&s, &voted, "after the second release went to its own folder");
    }
}

/// With the committee's own folder (the default when project and committee share a key) releases sit
/// side by side; a repeated file name is refused, other names are published next to each other.
#[test]
fn releases_share_the_committee_folder_but_never_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), true, false);
    announce_into(&s, &version_key(), "/").unwrap();
    let area = s.layout().downloads().join("tooling");
    let first = area.join(FILES[0].0);
    let (bytes, ino) = (std::fs::read(&first).unwrap(), std::fs::metadata(&first).unwrap().ino());
    let clash = second_preview(&s, "1.0.1", &[(FILES[0].0, "REPLACED")]);
    let err = announce_into(&s, &clash, "/").unwrap_err();
    assert!(err.to_string().contains("is a published file of foo-1.0.0"), "{err}");
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
    assert_eq!(std::fs::metadata(&first).unwrap().ino(), ino);
    assert_eq!(std::fs::metadata(&first).unwrap().nlink(), 2, "still linked from finished/");
    let other = second_preview(&s, "2.0.0", &[("apache-foo-2.0.0-src.tar.gz", "two")]);
    announce_into(&s, &other, "/").unwrap();
    assert_eq!(std::fs::read_to_string(area.join("apache-foo-2.0.0-src.tar.gz")).unwrap(), "two");
    assert_eq!(std::fs::read(&first).unwrap(), bytes);
}

#[test]
fn podling_releases_go_under_incubator() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, true);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let (before, t) = transition(&s, "hoot");
    let published = s.announce(&before, &t, KEYS, NOW).unwrap();
    let expected = s.layout().downloads().join("incubator/hoot/foo-1.0.0");
    assert_eq!(published.downloads, expected);
    assert_eq!(inodes(&expected), voted);
    assert_eq!(std::fs::read_to_string(s.layout().downloads().join("incubator/hoot/KEYS")).unwrap(), KEYS);
    assert!(!s.layout().downloads().join("hoot").exists());
}

#[test]
fn a_release_keys_file_cannot_shadow_the_committee_keys() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    s.create_revision(&new_rev("three"), |d| d.write(&rel("KEYS"), b"the release's own KEYS")).unwrap();
    let (before, _) = transition(&s, "tooling");
    // With the committee's own directory as the target, the release's KEYS would land on the committee's.
    let command = Command::Announce {
        revision: before.latest_revision,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: Some("/".into()),
    };
    let t = apply(&before, command, &alice("tooling"), NOW).unwrap();
    let err = s.announce(&before, &t, KEYS, NOW).unwrap_err();
    assert!(err.to_string().contains("KEYS file where the committee's KEYS file goes"), "{err}");
    assert_eq!(phase(&s), ReleasePhase::Preview);
    assert_eq!(publishing_leftovers(&s), Vec::<String>::new());
    assert!(!s.layout().downloads().join("tooling/KEYS").exists());
}

#[test]
fn download_suffix_cannot_escape() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let c = CommitteeKey::new("tooling").unwrap();
    assert_eq!(s.download_dir(&c, false, "/").unwrap(), s.layout().downloads().join("tooling"));
    assert_eq!(s.download_dir(&c, false, "/a/b/").unwrap(), s.layout().downloads().join("tooling/a/b"));
    for bad in ["/../x/", "/a/../../b/", "/.hidden/"] {
        assert!(s.download_dir(&c, false, bad).is_err(), "{bad}");
    }
}

/// The child: announce, killing itself with SIGKILL right after `step`.
fn child(dir: &str, step: &str) {
    let s = Storage::open(dir).unwrap();
    let step = PublishStep::ALL.into_iter().find(|s| s.as_str() == step).unwrap();
    let (before, t) = transition(&s, "tooling");
    let _ = s.announce_with(&before, &t, KEYS, NOW, &mut |at| {
        if at == step {
            kill_self();
        }
    });
    panic!("the child should have been killed at {step:?}");
}

#[test]
fn sigkill_at_each_announce_step_leaves_preview_or_published() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (dir, step) = spec.split_once('|').unwrap();
        child(dir, step);
    }
    for step in PublishStep::ALL {
        let dir = tempfile::tempdir().unwrap();
        let voted = {
            let s = preview(dir.path(), false, false);
            inodes(&s.layout().revision(&project_key(), &version_key(), n(2)))
        };
        run_child_until_killed(
            "publish::sigkill_at_each_announce_step_leaves_preview_or_published",
            CHILD_ENV,
            dir.path(),
            step.as_str(),
        );

        // Opening recovers: it completes a committed announce and undoes one that did not commit.
        let s = Storage::open(dir.path()).unwrap();
        let report = s.recovered_publications().clone();
        assert_eq!(s.recover_publications().unwrap(), Default::default(), "nothing is left to recover");
        let what = format!("killed after {step:?}");
        let committed = !matches!(step, PublishStep::Staged | PublishStep::Marked);
        if committed {
            if step != PublishStep::Cleaned {
                assert_eq!(report.completed, ["foo-1.0.0"], "{what}: {report:?}");
            }
            assert_published(&s, &voted, &what);
        } else {
            if step == PublishStep::Marked {
                assert_eq!(report.rolled_back, ["foo-1.0.0"], "{what}: {report:?}");
            }
            assert_preview(&s, &voted, &what);
            // A retry then publishes.
            let (before, t) = transition(&s, "tooling");
            s.announce(&before, &t, KEYS, NOW).unwrap();
            assert_published(&s, &voted, &format!("{what}, then retried"));
        }
    }
}

/// Runs announce in this process and unwinds out of it right after `step`, leaving what a crash leaves.
fn interrupted_at(s: &Storage, step: PublishStep) {
    let (before, t) = transition(s, "tooling");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s.announce_with(&before, &t, KEYS, NOW, &mut |at| {
            if at == step {
                std::panic::resume_unwind(Box::new("interrupted"));
            }
        });
    }));
    assert!(r.is_err(), "announce was not interrupted at {step:?}");
}

#[test]
fn a_retry_recovers_without_an_explicit_recovery_call() {
    // A stage that never reached the journal, and a journal that never reached the commit: the
    // next announce of the release removes both and publishes.
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let stage = s.layout().root().join(PUBLISHING_DIR).join("foo").join(".1.0.0.99999.stage");
    std::fs::create_dir_all(stage.join("downloads")).unwrap();
    interrupted_at(&s, PublishStep::Marked);
    assert!(s.layout().root().join(PUBLISHING_DIR).join("foo/1.0.0/plan.json").exists());
    assert_eq!(phase(&s), ReleasePhase::Preview);
    let (before, t) = transition(&s, "tooling");
    s.announce(&before, &t, KEYS, NOW).unwrap();
    assert_published(&s, &voted, "retry");
}

#[test]
fn a_committed_announce_is_completed_by_recovery_and_a_replay_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = preview(dir.path(), false, false);
    let voted = inodes(&s.layout().revision(&project_key(), &version_key(), n(2)));
    let (before, t) = transition(&s, "tooling");
    interrupted_at(&s, PublishStep::Committed);
    assert_eq!(phase(&s), ReleasePhase::Release);
    assert!(!downloads(&s).exists());
    // Replaying the announce completes the publishing first, then refuses the second announce.
    let err = s.announce(&before, &t, KEYS, NOW).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_published(&s, &voted, "replayed after a commit");
    assert_eq!(s.recover_publications().unwrap(), Default::default());
}
