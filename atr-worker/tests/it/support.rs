//! Shared helpers: a seeded state directory, test tasks, a manager over the built binary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::model::{
    Committee, Fingerprint, KeyLink, Project, ProjectStatus, PublicSigningKey, Release, ReleasePolicy,
    TaskId, TaskSpec, TaskType,
};
use atr_core::time::Timestamp;
use atr_storage::{NewRevision, Storage};
use atr_worker::{Manager, ManagerConfig};

pub(crate) const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");

pub(crate) fn now() -> Timestamp {
    atr_worker::runner::now()
}

pub(crate) fn uid() -> Uid {
    Uid::new("alice").unwrap()
}

pub(crate) fn project_key() -> ProjectKey {
    ProjectKey::new("test").unwrap()
}

pub(crate) fn version_key() -> VersionKey {
    VersionKey::new("0.2").unwrap()
}

/// A state directory with committee `test` (holding the fixture's signing key), project `test`
/// and a draft release `test-0.2`.
pub(crate) fn seeded(dir: &Path) -> Storage {
    let s = Storage::open(dir).unwrap();
    let committee = CommitteeKey::new("test").unwrap();
    let armored = std::fs::read_to_string(Path::new(FIXTURE).join("signer.asc")).unwrap();
    let fpr = Fingerprint::new("9F6E155B254C3A3CD6270E040F15DA58C059358F").unwrap();
    s.write(|tx| {
        tx.upsert_committee(&Committee {
            key: committee.clone(),
            full_name: Some("Apache Test".into()),
            is_podling: false,
            parent: None,
            members: vec![uid()],
            committers: vec![],
            release_managers: vec![uid()],
        })?;
        tx.insert_project(&Project {
            key: project_key(),
            committee_key: committee.clone(),
            name: "Apache Test".into(),
            status: ProjectStatus::Active,
            super_project: None,
            description: String::new(),
            category: vec![],
            programming_languages: vec![],
            created: now(),
            created_by: uid(),
            policy: ReleasePolicy::default(),
        })?;
        tx.insert_release(&Release::new_draft(project_key(), version_key(), now()))?;
        tx.upsert_signing_key(&PublicSigningKey {
            fingerprint: fpr.clone(),
            algorithm: 22,
            length: 255,
            created: Timestamp::from_unix(1_779_100_350),
            latest_self_signature: None,
            expires: Some(Timestamp::from_unix(1_873_796_400)),
            primary_declared_uid: Some("Apache Test Fixture <test@apache.org>".into()),
            secondary_declared_uids: vec![],
            apache_uid: Some(uid()),
            ascii_armored_key: armored.clone(),
        })?;
        tx.link_key(&KeyLink { committee_key: committee.clone(), fingerprint: fpr.clone() })
    })
    .unwrap();
    s
}

pub(crate) fn new_rev(description: &str) -> NewRevision {
    NewRevision::new(project_key(), version_key(), uid(), now(), description)
}

/// A test task (handled by the `testing` registry in place of `metadata_update`).
pub(crate) fn test_task(args: serde_json::Value) -> TaskSpec {
    TaskSpec {
        task_type: TaskType::MetadataUpdate,
        task_args: args,
        asf_uid: None,
        project_key: None,
        version_key: None,
        revision_number: None,
        primary_rel_path: None,
    }
}

pub(crate) fn enqueue(s: &Storage, args: serde_json::Value) -> TaskId {
    s.write(|tx| tx.enqueue_task(&test_task(args), now())).unwrap()
}

/// A manager over the built `atr-worker` with fast test settings.
pub(crate) fn manager(dir: &Path, workers: usize, time_limit: Duration, extra: &[&str]) -> Manager {
    let mut config = ManagerConfig::new(dir);
    config.program = PathBuf::from(env!("CARGO_BIN_EXE_atr-worker"));
    config.workers = workers;
    config.time_limit = time_limit;
    config.poll = Duration::from_millis(50);
    config.grace = Duration::from_secs(2);
    config.worker_args = ["--retry-secs", "0", "--lease-secs", "3", "--poll-ms", "10"]
        .iter()
        .chain(extra)
        .map(Into::into)
        .collect();
    Manager::start(config).unwrap()
}

/// Polls `f` until it returns `Some` or `timeout` passes.
pub(crate) fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until no task is queued or active; returns (completed, failed).
pub(crate) fn drain(s: &Storage, timeout: Duration) -> (u64, u64) {
    wait_for(timeout, || {
        let (q, a, c, f) = s.read(|tx| tx.task_counts()).unwrap();
        (q == 0 && a == 0).then_some((c, f))
    })
    .expect("the queue drains in time")
}
