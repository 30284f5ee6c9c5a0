//! The worker protocol with real processes: draining, crashes, time limits, panics, rlimits.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use atr_core::model::{TaskStatus, TaskType};
use atr_worker::Registry;
use serde_json::json;

use crate::support::*;

#[test]
fn thousand_tasks_drain_with_four_workers_each_run_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let log = dir.path().join("runs.log");
    s.write(|tx| {
        for _ in 0..1000 {
            tx.enqueue_task(&test_task(json!({"action": "record", "file": log})), now())?;
        }
        Ok::<_, atr_storage::StorageError>(())
    })
    .unwrap();
    let m = manager(dir.path(), 4, Duration::from_secs(60), &[]);
    let (completed, failed) = drain(&s, Duration::from_secs(120));
    let stats = m.shutdown().unwrap();
    assert_eq!((completed, failed), (1000, 0));
    let text = std::fs::read_to_string(&log).unwrap();
    let mut runs: BTreeMap<i64, u32> = BTreeMap::new();
    let mut pids = BTreeSet::new();
    for line in text.lines() {
        let (id, pid) = line.split_once(' ').unwrap();
        *runs.entry(id.parse().unwrap()).or_default() += 1;
        pids.insert(pid.to_owned());
    }
    assert_eq!(runs.len(), 1000, "every task ran");
    assert!(runs.values().all(|&n| n == 1), "no task ran twice");
    assert!(pids.len() >= 2, "the work was shared: {pids:?}");
    let tasks = s.read(|tx| tx.tasks_with_status(TaskStatus::Completed, 2000)).unwrap();
    assert!(tasks.iter().all(|t| t.attempts == 1));
    assert!(stats.spawned >= 4);
}

#[test]
fn sigkilled_worker_task_is_completed_by_another_with_two_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let file = dir.path().join("victim");
    let id = enqueue(&s, json!({"action": "sleep_first", "secs": 60, "file": file}));
    let m = manager(dir.path(), 2, Duration::from_secs(120), &[]);
    let pid: i32 = wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(file.with_extension("pid")).ok().and_then(|p| p.trim().parse().ok())
    })
    .expect("the first attempt starts");
    // SAFETY: kill(2) on the worker process that wrote its pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let (completed, failed) = drain(&s, Duration::from_secs(30));
    let stats = m.shutdown().unwrap();
    assert_eq!((completed, failed), (1, 0));
    let task = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!(task.attempts, 2);
    assert!(task.error.is_none(), "completed tasks keep no error");
    let line = std::fs::read_to_string(&file).unwrap();
    let (_, by) = line.trim().split_once(' ').unwrap();
    assert_ne!(by, pid.to_string(), "another worker finished it");
    assert_eq!(stats.died_with_task, 1);
}

#[test]
fn task_past_its_time_limit_is_killed_and_failed_with_the_limit_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let log = dir.path().join("after.log");
    let slow = enqueue(&s, json!({"action": "sleep", "secs": 60}));
    let m = manager(dir.path(), 1, Duration::from_secs(1), &[]);
    let failed = wait_for(Duration::from_secs(30), || {
        let t = s.read(|tx| tx.task(slow)).unwrap().unwrap();
        (t.status == TaskStatus::Failed).then_some(t)
    })
    .expect("the slow task is failed");
    // The pool recovers: a later task runs.
    let next = enqueue(&s, json!({"action": "record", "file": log}));
    let done = wait_for(Duration::from_secs(30), || {
        let t = s.read(|tx| tx.task(next)).unwrap().unwrap();
        (t.status == TaskStatus::Completed).then_some(t)
    });
    let stats = m.shutdown().unwrap();
    let err = failed.error.unwrap();
    assert!(err.contains("time limit of 1 seconds"), "{err}");
    assert!(done.is_some(), "the worker pool recovered");
    assert_eq!(stats.timed_out, 1);
    assert!(stats.spawned >= 2, "the killed worker was replaced");
}

#[test]
fn panicking_and_over_allocating_handlers_are_recorded_and_the_queue_keeps_moving() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let log = dir.path().join("ok.log");
    let panics = enqueue(&s, json!({"action": "panic"}));
    let hog = enqueue(&s, json!({"action": "alloc", "mib": 2048}));
    let ok = enqueue(&s, json!({"action": "record", "file": log}));
    let m = manager(dir.path(), 2, Duration::from_secs(60), &["--max-memory-mib", "256"]);
    let (completed, failed) = drain(&s, Duration::from_secs(60));
    let stats = m.shutdown().unwrap();
    assert_eq!((completed, failed), (1, 2));
    let p = s.read(|tx| tx.task(panics)).unwrap().unwrap();
    assert_eq!((p.status, p.attempts), (TaskStatus::Failed, 3));
    let perr = p.error.unwrap();
    assert!(perr.contains("the handler panicked: test handler panicked on purpose"), "{perr}");
    assert_eq!(p.result.unwrap()["kind"], "exception");
    let h = s.read(|tx| tx.task(hog)).unwrap().unwrap();
    assert_eq!((h.status, h.attempts), (TaskStatus::Failed, 3));
    let herr = h.error.unwrap();
    assert!(herr.contains("address-space limit"), "{herr}");
    assert_eq!(s.read(|tx| tx.task(ok)).unwrap().unwrap().status, TaskStatus::Completed);
    assert!(stats.died_with_task >= 3 && stats.spawned >= 5, "crashed workers were replaced: {stats:?}");
}

#[test]
fn worker_exits_after_max_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    for _ in 0..5 {
        enqueue(&s, json!({"action": "noop"}));
    }
    let status = Command::new(env!("CARGO_BIN_EXE_atr-worker"))
        .args(["run", "--max-tasks", "3", "--poll-ms", "10", "--state-dir"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(s.read(|tx| tx.task_counts()).unwrap(), (2, 0, 3, 0));
}

#[test]
fn production_registry_holds_only_real_handlers() {
    let prod: Vec<_> = Registry::production().kinds().collect();
    assert!(!prod.contains(&TaskType::MetadataUpdate), "no test handler in production");
    for kind in
        [TaskType::ArchiveCheck, TaskType::SignatureCheck, TaskType::HashingCheck, TaskType::PathsCheck]
    {
        assert!(prod.contains(&kind), "{kind}");
    }
    assert!(prod.contains(&TaskType::QuarantineValidate));
}

#[test]
fn shutdown_stops_workers_and_returns_their_task_without_using_an_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let id = enqueue(&s, json!({"action": "sleep", "secs": 60}));
    let m = manager(dir.path(), 1, Duration::from_secs(120), &[]);
    wait_for(Duration::from_secs(30), || {
        (s.read(|tx| tx.task(id)).unwrap().unwrap().status == TaskStatus::Active).then_some(())
    })
    .expect("the task starts");
    let started = std::time::Instant::now();
    m.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "the grace period bounds shutdown");
    let t = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!((t.status, t.attempts), (TaskStatus::Queued, 0));
    assert!(t.error.unwrap().contains("shut down"));
    assert_eq!(s.read(|tx| tx.active_tasks()).unwrap(), []);
}

#[test]
fn manager_refuses_a_missing_worker_program() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = atr_worker::ManagerConfig::new(dir.path());
    config.program = dir.path().join("no-such-worker");
    let err = atr_worker::Manager::start(config).unwrap_err().to_string();
    assert!(
        err.contains("cannot find the worker program") && err.contains("cargo build -p atr-worker"),
        "{err}"
    );
}

#[test]
fn task_spinning_past_its_cpu_budget_is_killed_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let spin = enqueue(&s, json!({"action": "spin", "secs": 30}));
    let log = dir.path().join("ok.log");
    let ok = enqueue(&s, json!({"action": "record", "file": log}));
    let m = manager(dir.path(), 1, Duration::from_secs(120), &["--max-cpu-secs", "1"]);
    let (completed, failed) = drain(&s, Duration::from_secs(60));
    m.shutdown().unwrap();
    assert_eq!((completed, failed), (1, 1));
    let t = s.read(|tx| tx.task(spin)).unwrap().unwrap();
    let err = t.error.unwrap();
    assert!(err.contains("CPU-time limit") && err.contains("3 of 3"), "{err}");
    assert_eq!(s.read(|tx| tx.task(ok)).unwrap().unwrap().status, TaskStatus::Completed);
}

#[test]
fn task_without_a_handler_fails_at_once_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = atr_storage::Storage::open(dir.path()).unwrap();
    let mut spec = test_task(json!({}));
    spec.task_type = TaskType::KeysImportFile;
    let id = s.write(|tx| tx.enqueue_task(&spec, now())).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_atr-worker"))
        .args(["run", "--exit-when-idle", "--state-dir"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let t = s.read(|tx| tx.task(id)).unwrap().unwrap();
    assert_eq!((t.status, t.attempts), (TaskStatus::Failed, 1));
    assert!(t.error.unwrap().contains("no handler is registered for task type `keys_import_file`"));
}
