//! Shared fixtures: a fresh state directory with a committee, a project and a draft release.

use std::path::Path;

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::model::{Committee, Project, ProjectStatus, Release, ReleasePolicy};
use atr_core::time::Timestamp;
use atr_storage::{NewRevision, Storage};

pub(crate) const NOW: Timestamp = Timestamp::from_unix(1_761_739_200);

pub(crate) fn uid(s: &str) -> Uid {
    Uid::new(s).unwrap()
}

pub(crate) fn project_key() -> ProjectKey {
    ProjectKey::new("foo").unwrap()
}

pub(crate) fn version_key() -> VersionKey {
    VersionKey::new("1.0.0").unwrap()
}

pub(crate) fn committee() -> Committee {
    Committee {
        key: CommitteeKey::new("tooling").unwrap(),
        full_name: Some("Apache Tooling".into()),
        is_podling: false,
        parent: None,
        members: vec![uid("alice"), uid("bob")],
        committers: vec![uid("carol")],
        release_managers: vec![uid("alice")],
    }
}

pub(crate) fn project() -> Project {
    Project {
        key: project_key(),
        committee_key: committee().key,
        name: "Apache Foo".into(),
        status: ProjectStatus::Active,
        super_project: None,
        description: "Foo does things.".into(),
        category: vec!["library".into()],
        programming_languages: vec!["rust".into(), "c".into()],
        created: NOW,
        created_by: uid("alice"),
        policy: ReleasePolicy::default(),
    }
}

/// A state directory holding the committee, the project and a draft release `foo-1.0.0` without revisions.
pub(crate) fn seeded(dir: &Path) -> Storage {
    let s = Storage::open(dir).unwrap();
    s.write(|tx| {
        tx.upsert_committee(&committee())?;
        tx.insert_project(&project())?;
        tx.insert_release(&Release::new_draft(project_key(), version_key(), NOW))
    })
    .unwrap();
    s
}

pub(crate) fn new_rev(description: &str) -> NewRevision {
    NewRevision::new(project_key(), version_key(), uid("alice"), NOW, description)
}

pub(crate) fn rel(s: &str) -> atr_core::path::RelPath {
    atr_core::path::RelPath::new(s).unwrap()
}

/// Every file of a directory tree with its contents, sorted.
pub(crate) fn tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{name}/"), out);
            } else {
                out.push((name, String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// Entries of `tmp/` other than the live sessions' own (empty) scratch.
pub(crate) fn tmp_leftovers(storage: &Storage) -> Vec<String> {
    let mut out = Vec::new();
    for session in std::fs::read_dir(storage.layout().tmp()).unwrap() {
        let session = session.unwrap();
        for e in std::fs::read_dir(session.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name != atr_storage::layout::SESSION_LOCK_FILE {
                out.push(format!("{}/{name}", session.file_name().to_string_lossy()));
            }
        }
    }
    out
}

/// Ends this process at once with SIGKILL, as a crash would: no destructor, no unwinding.
pub(crate) fn kill_self() {
    // SAFETY: kill(2) with our own pid; the process ends here.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}

/// Runs the test `test` of this binary again in a child process with `env` = `dir|step`, and
/// asserts that the child died of SIGKILL (it is expected to call [`kill_self`] at `step`).
pub(crate) fn run_child_until_killed(test: &str, env: &str, dir: &Path, step: &str) {
    use std::os::unix::process::ExitStatusExt as _;
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(&exe)
        .args(["--exact", test, "--test-threads=1"])
        .env(env, format!("{}|{step}", dir.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "step {step}: the child was not killed: {status:?}");
}
