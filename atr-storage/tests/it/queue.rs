//! The task queue protocol: atomic claims, leases, requeue, attempts, completion, planning and
//! cached-result reuse, on real SQLite files.

use std::collections::BTreeSet;
use std::sync::Mutex;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::model::{TaskSpec, TaskStatus, TaskType};
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::db::checks::ResultContext;
use atr_storage::db::tasks::EnqueueOptions;
use serde_json::json;

use crate::support::*;

fn spec(n: i64) -> TaskSpec {
    TaskSpec {
        task_type: TaskType::MetadataUpdate,
        task_args: json!({ "n": n }),
        asf_uid: None,
        project_key: None,
        version_key: None,
        revision_number: None,
        primary_rel_path: None,
    }
}

fn enqueue(s: &Storage, n: i64, priority: i32) -> atr_core::model::TaskId {
    s.write(|tx| {
        tx.enqueue_task_with(&spec(n), NOW, &EnqueueOptions { priority, ..EnqueueOptions::default() })
    })
    .unwrap()
}

#[test]
fn claimed_task_is_invisible_to_other_workers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let id = enqueue(&s, 1, 0);
    let a = s.write(|tx| tx.claim_task("a", NOW, 30)).unwrap().unwrap();
    assert_eq!(a.task.id, id);
    assert_eq!(a.task.status, TaskStatus::Active);
    assert_eq!(a.task.attempts, 1);
    assert_eq!(a.lease_expires, NOW.plus_secs(30));
    assert!(s.write(|tx| tx.claim_task("b", NOW, 30)).unwrap().is_none());
}

#[test]
fn claims_take_highest_priority_then_oldest_and_respect_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let low = enqueue(&s, 1, 0);
    let high = enqueue(&s, 2, 5);
    let later = s
        .write(|tx| {
            tx.enqueue_task_with(
                &spec(3),
                NOW,
                &EnqueueOptions {
                    priority: 9,
                    not_before: Some(NOW.plus_secs(60)),
                    ..EnqueueOptions::default()
                },
            )
        })
        .unwrap();
    let order: Vec<_> =
        (0..2).map(|_| s.write(|tx| tx.claim_task("w", NOW, 30)).unwrap().unwrap().task.id).collect();
    assert_eq!(order, [high, low]);
    assert!(s.write(|tx| tx.claim_task("w", NOW, 30)).unwrap().is_none(), "not before its time");
    let c = s.write(|tx| tx.claim_task("w", NOW.plus_secs(60), 30)).unwrap().unwrap();
    assert_eq!(c.task.id, later);
}

#[test]
fn concurrent_claims_from_threads_never_share_a_task() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    s.write(|tx| {
        for n in 0..400 {
            tx.enqueue_task(&spec(n), NOW)?;
        }
        Ok::<_, atr_storage::StorageError>(())
    })
    .unwrap();
    let seen = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (s, seen) = (&s, &seen);
            scope.spawn(move || {
                let name = format!("w{w}");
                while let Some(t) = s.write(|tx| tx.claim_task(&name, NOW, 30)).unwrap() {
                    assert!(s.write(|tx| tx.complete_task(t.task.id, &name, NOW, &json!(null))).unwrap());
                    seen.lock().unwrap().push(t.task.id);
                }
            });
        }
    });
    let seen = seen.into_inner().unwrap();
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(seen.len(), 400);
    assert_eq!(unique.len(), 400);
    assert_eq!(s.read(|tx| tx.task_counts()).unwrap(), (0, 0, 400, 0));
}

#[test]
fn expired_lease_goes_back_to_the_queue_then_fails_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let id = enqueue(&s, 1, 0);
    let mut t = NOW;
    for attempt in 1..=3 {
        let c = s.write(|tx| tx.claim_task("dying", t, 10)).unwrap().unwrap();
        assert_eq!((c.task.id, c.task.attempts), (id, attempt));
        // Nobody renews: the lease runs out.
        t = t.plus_secs(11);
    }
    assert!(s.write(|tx| tx.claim_task("other", t, 10)).unwrap().is_none());
    let task = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.attempts, 3);
    let err = task.error.unwrap();
    assert!(err.contains("gave up after 3 of 3 attempts"), "{err}");
    assert!(err.contains("stopped renewing the lease"), "{err}");
}

#[test]
fn renewed_lease_keeps_the_task_and_a_lost_lease_cannot_complete() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let id = enqueue(&s, 1, 0);
    s.write(|tx| tx.claim_task("slow", NOW, 10)).unwrap().unwrap();
    assert!(s.write(|tx| tx.renew_lease(id, "slow", NOW.plus_secs(8), 10)).unwrap());
    assert!(s.write(|tx| tx.claim_task("other", NOW.plus_secs(12), 10)).unwrap().is_none(), "renewed");
    // The lease runs out; another worker takes over and finishes.
    let c = s.write(|tx| tx.claim_task("other", NOW.plus_secs(20), 10)).unwrap().unwrap();
    assert_eq!((c.task.id, c.task.attempts), (id, 2));
    assert!(!s.write(|tx| tx.renew_lease(id, "slow", NOW.plus_secs(21), 10)).unwrap());
    assert!(!s.write(|tx| tx.complete_task(id, "slow", NOW.plus_secs(21), &json!(1))).unwrap());
    assert_eq!(s.write(|tx| tx.fail_attempt(id, "slow", NOW.plus_secs(21), "late", 0)).unwrap(), None);
    assert!(s.write(|tx| tx.complete_task(id, "other", NOW.plus_secs(21), &json!(2))).unwrap());
    let task = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!((task.status, task.result), (TaskStatus::Completed, Some(json!(2))));
}

#[test]
fn failed_check_attempts_retry_with_backoff_then_fail_with_an_exception_result() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let (rev, ()) = s.create_revision(&new_rev("r1"), |d| d.write(&rel("a.tar.gz.sha512"), b"x")).unwrap();
    let hashing = TaskSpec {
        task_type: TaskType::HashingCheck,
        task_args: json!({}),
        asf_uid: None,
        project_key: Some(project_key()),
        version_key: Some(version_key()),
        revision_number: Some(rev.number),
        primary_rel_path: Some(rel("a.tar.gz.sha512")),
    };
    let id = s.write(|tx| tx.enqueue_task(&hashing, NOW)).unwrap();
    s.write(|tx| tx.claim_task("w", NOW, 30)).unwrap().unwrap();
    let st = s.write(|tx| tx.fail_attempt(id, "w", NOW, "boom", 5)).unwrap();
    assert_eq!(st, Some(TaskStatus::Queued));
    assert!(s.write(|tx| tx.claim_task("w", NOW.plus_secs(4), 30)).unwrap().is_none(), "backoff");
    for attempt in 2..=3 {
        let c = s.write(|tx| tx.claim_task("w", NOW.plus_secs(100 * attempt), 30)).unwrap().unwrap();
        assert_eq!(c.task.attempts as i64, attempt);
        s.write(|tx| tx.fail_attempt(id, "w", NOW.plus_secs(100 * attempt), "boom", 0)).unwrap();
    }
    let task = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error.as_deref().unwrap().contains("gave up after 3 of 3 attempts; last error: boom"));
    let results = s.read(|tx| tx.check_results(&project_key(), &version_key(), rev.number)).unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result.status, CheckStatus::Exception);
    assert_eq!(results[0].result.checker, CheckerId::HASHING);
    assert!(results[0].result.message.contains("boom"));
}

#[test]
fn dead_worker_tasks_are_released_at_once_and_shutdown_refunds_the_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    let a = enqueue(&s, 1, 0);
    let b = enqueue(&s, 2, 0);
    s.write(|tx| tx.claim_task("dead", NOW, 300)).unwrap().unwrap();
    s.write(|tx| tx.claim_task("stopped", NOW, 300)).unwrap().unwrap();
    let r = s.write(|tx| tx.release_worker_tasks("dead", NOW, "killed by signal 9", true)).unwrap();
    assert_eq!(r.requeued, [a]);
    s.write(|tx| tx.release_worker_tasks("stopped", NOW, "shutdown", false)).unwrap();
    let ta = s.read(|tx| tx.task(a)).unwrap().unwrap();
    let tb = s.read(|tx| tx.task(b)).unwrap().unwrap();
    assert_eq!((ta.status, ta.attempts), (TaskStatus::Queued, 1));
    assert!(ta.error.unwrap().contains("killed by signal 9"));
    assert_eq!((tb.status, tb.attempts), (TaskStatus::Queued, 0));
}

/// Runs every queued check task of the release "by hand": one `note` result per task, stored with
/// its dedup key, as the worker does.
fn complete_all(s: &Storage, now: Timestamp) -> usize {
    let mut n = 0;
    while let Some(t) = s.write(|tx| tx.claim_task("w", now, 30)).unwrap() {
        let spec = t.task.spec.clone();
        let checker = atr_core::queue::failure_checker(spec.task_type, &spec.task_args).unwrap();
        s.write(|tx| {
            assert!(tx.complete_task(t.task.id, "w", now, &json!(null))?);
            let ctx = ResultContext {
                project_key: spec.project_key.as_ref().unwrap(),
                version_key: spec.version_key.as_ref().unwrap(),
                revision_number: spec.revision_number.unwrap(),
                created: now,
                inputs_hash: t.dedup_key.as_deref(),
                cached: false,
            };
            tx.insert_check_results(
                &ctx,
                &[CheckResult::new(checker, CheckStatus::Note, spec.primary_rel_path.clone(), "ok")],
            )
        })
        .unwrap();
        n += 1;
    }
    n
}

#[test]
fn draft_revision_queues_its_planned_tasks_in_the_same_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let (rev, (), plan) = s
        .create_draft_revision(&new_rev("upload"), |d| {
            d.write(&rel("foo-1.0.0-src.tar.gz"), b"not really")?;
            d.write(&rel("foo-1.0.0-src.tar.gz.asc"), b"sig")?;
            d.write(&rel("foo-1.0.0-src.tar.gz.sha512"), b"hash")
        })
        .unwrap();
    let tasks = s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), rev.number)).unwrap();
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
    assert_eq!(plan.enqueued.len(), 5);
    assert!(tasks.iter().all(|t| t.status == TaskStatus::Queued));
    for t in &tasks {
        assert!(s.read(|tx| tx.task_dedup_key(t.id)).unwrap().unwrap().starts_with("blake3:"));
    }
    // A failing change leaves neither a revision nor tasks.
    let err = s.create_draft_revision(&new_rev("bad"), |_| {
        Err::<(), _>(atr_storage::StorageError::NoSuchFile { path: "x".into() })
    });
    assert!(err.is_err());
    assert_eq!(s.read(|tx| tx.task_counts()).unwrap(), (5, 0, 0, 0));
}

#[test]
fn unchanged_files_reuse_cached_results_without_a_new_task() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let files: Vec<String> = (0..50).map(|i| format!("foo-part{i}-1.0.0.tar.gz.sha512")).collect();
    let (r1, (), p1) = s
        .create_draft_revision(&new_rev("all"), |d| {
            for f in &files {
                d.write(&rel(f), f.as_bytes())?;
            }
            Ok::<_, atr_storage::StorageError>(())
        })
        .unwrap();
    assert_eq!(p1.enqueued.len(), 51, "paths + 50 hashing checks");
    assert_eq!(complete_all(&s, NOW), 51);

    // Re-upload one of the 50 files with new content.
    let (r2, (), p2) =
        s.create_draft_revision(&new_rev("one"), |d| d.write(&rel(&files[7]), b"changed")).unwrap();
    let queued = s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), r2.number)).unwrap();
    let queued: Vec<_> = queued
        .iter()
        .map(|t| (t.spec.task_type, t.spec.primary_rel_path.as_ref().map(|p| p.to_string())))
        .collect();
    assert_eq!(queued, [(TaskType::HashingCheck, Some(files[7].clone()))], "only the changed file");
    assert_eq!(p2.cached.len(), 50, "49 unchanged hash files and the unchanged listing");
    let results = s.read(|tx| tx.check_results(&project_key(), &version_key(), r2.number)).unwrap();
    assert_eq!(results.len(), 50);
    assert!(results.iter().all(|r| r.cached && r.revision_number == r2.number));
    assert!(
        results.iter().all(|r| r.result.primary_rel_path.as_ref().is_none_or(|p| p.as_str() != files[7]))
    );
    assert_ne!(r1.number, r2.number);

    // Planning the same revision again queues nothing twice.
    let again = s.write(|tx| {
        let hashes = atr_storage::planning::hash_tree(&s.layout().revision(
            &project_key(),
            &version_key(),
            r2.number,
        ))?;
        tx.plan_revision_tasks(&r2, &hashes, NOW)
    });
    let again = again.unwrap();
    assert_eq!((again.enqueued.len(), again.duplicates), (0, 1));
}
