//! One worker process's loop: claim → run the handler (under `catch_unwind`, with the lease renewed
//! by a helper thread) → store results and completion in one transaction → repeat.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use atr_core::model::TaskStatus;
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::db::checks::ResultContext;
use atr_storage::db::tasks::ClaimedTask;

use crate::handlers::{Output, TaskContext};
use crate::registry::Registry;
use crate::rlimits::Rlimits;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// Exit after this many tasks (bounds leaks; the manager starts a fresh worker).
    pub max_tasks: u64,
    /// Lease length; renewed every third of it while a handler runs.
    pub lease: Duration,
    /// Sleep between polls of an empty queue.
    pub poll: Duration,
    /// A failed attempt is retried after `retry_base × 2^(attempt − 1)`.
    pub retry_base: Duration,
    /// Exit when the queue is empty instead of polling (benchmarks, one-shot runs).
    pub exit_when_idle: bool,
    /// Set on the process before the first task.
    pub rlimits: Rlimits,
    /// The name this worker claims tasks under (default `pid:<pid>`; the manager relies on it).
    pub worker_id: String,
    /// Test mode only (`ATR_TEST_MODE=1`: 20 s): how long a task about a file named
    /// [`SLOW_TEST_FILE`] is held before its handler runs, so client tests can see running checks.
    pub slow_test_file_delay: Option<Duration>,
}

/// The file name whose tasks take [`RunnerConfig::slow_test_file_delay`] longer in test mode (ATR's).
pub const SLOW_TEST_FILE: &str = "deliberately_slow_ATR_task_filename.txt";

impl RunnerConfig {
    /// Defaults: 1,000 tasks per process, 30 s lease, 20 ms poll, 1 s retry base, default rlimits.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        RunnerConfig {
            state_dir: state_dir.into(),
            max_tasks: 1000,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(20),
            retry_base: Duration::from_secs(1),
            exit_when_idle: false,
            rlimits: Rlimits::default(),
            worker_id: worker_id_of(std::process::id()),
            slow_test_file_delay: std::env::var("ATR_TEST_MODE")
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes"))
                .then_some(Duration::from_secs(20)),
        }
    }
}

/// Whether a task is about [`SLOW_TEST_FILE`]: its own file, or a revision that holds it.
fn is_slow_test_task(storage: &Storage, spec: &atr_core::model::TaskSpec) -> bool {
    if let Some(path) = &spec.primary_rel_path {
        return path.file_name() == SLOW_TEST_FILE;
    }
    match (&spec.project_key, &spec.version_key, spec.revision_number) {
        (Some(p), Some(v), Some(n)) => storage.layout().revision(p, v, n).join(SLOW_TEST_FILE).is_file(),
        _ => false,
    }
}

/// The worker name of process `pid`.
pub fn worker_id_of(pid: u32) -> String {
    format!("pid:{pid}")
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Tasks completed.
    pub completed: u64,
    /// Attempts that failed (handler error or panic).
    pub failed_attempts: u64,
    /// Tasks whose lease was lost before the outcome could be stored.
    pub lost: u64,
}

/// The current time as a storage timestamp.
pub fn now() -> Timestamp {
    Timestamp::from_unix(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64))
}

/// Runs the worker loop until `max_tasks` tasks have run or `stop` is set (checked between tasks).
/// Sets the rlimits first.
pub fn run(config: &RunnerConfig, registry: &Registry, stop: &AtomicBool) -> anyhow::Result<RunStats> {
    config.rlimits.apply()?;
    // One log line per panic; the runner records it as a failed attempt.
    std::panic::set_hook(Box::new(|info| tracing::error!("handler panic: {info}")));
    let storage = Storage::open(&config.state_dir)?;
    let mut stats = RunStats::default();
    let lease_secs = config.lease.as_secs().max(1) as i64;
    let mut handled = 0;
    // A task claimed in the same transaction that stored the previous one's outcome.
    let mut next: Option<ClaimedTask> = None;
    while handled < config.max_tasks && !stop.load(Ordering::SeqCst) {
        let task = match next.take() {
            Some(t) => t,
            None => {
                // Idle polls are reads; only a worker that sees work takes the write lock.
                if !storage.read(|tx| tx.has_claimable_task(now())).unwrap_or(true) {
                    if config.exit_when_idle {
                        break;
                    }
                    std::thread::sleep(config.poll);
                    continue;
                }
                match storage.write(|tx| tx.claim_task(&config.worker_id, now(), lease_secs)) {
                    Ok(Some(t)) => t,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::warn!("claiming a task failed: {e}");
                        std::thread::sleep(config.poll * 10);
                        continue;
                    }
                }
            }
        };
        handled += 1;
        if let Err(e) = config.rlimits.before_task() {
            tracing::warn!("setting the CPU budget of task {} failed: {e}", task.task.id);
        }
        let claim_next = handled < config.max_tasks && !stop.load(Ordering::SeqCst);
        next = run_one(&storage, registry, config, &task, claim_next, &mut stats);
    }
    if let Some(t) = next {
        // Claimed but not run (stopping): give it back without using up an attempt.
        storage.write(|tx| tx.release_worker_tasks(&config.worker_id, now(), "the worker stopped", false))?;
        tracing::info!("task {} returned to the queue", t.task.id);
    }
    Ok(stats)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Runs one task and stores its outcome; with `claim_next`, claims the next task in the same
/// transaction as a successful outcome (one write transaction per task instead of two).
fn run_one(
    storage: &Storage,
    registry: &Registry,
    config: &RunnerConfig,
    task: &ClaimedTask,
    claim_next: bool,
    stats: &mut RunStats,
) -> Option<ClaimedTask> {
    let id = task.task.id;
    let kind = task.task.spec.task_type;
    let lease_secs = config.lease.as_secs().max(1) as i64;
    if registry.get(kind).is_none() {
        // Retrying cannot help: fail at once.
        let msg = format!(
            "no handler is registered for task type `{kind}` in this worker; this kind of task is not supported yet"
        );
        tracing::error!("task {id}: {msg}");
        if let Err(e) = storage.write(|tx| tx.fail_task(id, now(), &msg)) {
            tracing::error!("task {id}: recording the failure failed: {e}");
        }
        stats.failed_attempts += 1;
        return None;
    }
    let outcome: Result<Output, String> = std::thread::scope(|scope| {
        let (done, wait) = mpsc::channel::<()>();
        scope.spawn(move || {
            let every = config.lease / 3;
            while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(every) {
                match storage.write(|tx| tx.renew_lease(id, &config.worker_id, now(), lease_secs)) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("task {id}: lease lost; its outcome will not be stored");
                        break;
                    }
                    Err(e) => tracing::warn!("task {id}: renewing the lease failed: {e}"),
                }
            }
        });
        let result = match registry.get(kind) {
            None => Err(format!("no handler is registered for task type `{kind}` in this worker")),
            Some(handler) => {
                if let Some(delay) = config.slow_test_file_delay
                    && is_slow_test_task(storage, &task.task.spec)
                {
                    tracing::info!("task {id}: test mode, {SLOW_TEST_FILE} waits {delay:?}");
                    std::thread::sleep(delay);
                }
                let ctx = TaskContext { storage, task };
                match catch_unwind(AssertUnwindSafe(|| handler(&ctx))) {
                    Ok(Ok(out)) => Ok(out),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(p) => Err(format!("the handler panicked: {}", panic_message(p.as_ref()))),
                }
            }
        };
        drop(done);
        result
    });
    match outcome {
        Ok(out) => {
            let stored = storage.write(|tx| {
                let now = now();
                if !tx.complete_task(id, &config.worker_id, now, &out.value)? {
                    return Ok::<_, atr_storage::StorageError>((false, None));
                }
                if !out.results.is_empty() {
                    let spec = &task.task.spec;
                    if let (Some(p), Some(v), Some(r)) =
                        (&spec.project_key, &spec.version_key, spec.revision_number)
                    {
                        let ctx = ResultContext {
                            project_key: p,
                            version_key: v,
                            revision_number: r,
                            created: now,
                            inputs_hash: task.dedup_key.as_deref(),
                            cached: false,
                        };
                        tx.insert_check_results(&ctx, &out.results)?;
                    }
                }
                let next = if claim_next { tx.claim_task(&config.worker_id, now, lease_secs)? } else { None };
                Ok((true, next))
            });
            match stored {
                Ok((true, next)) => {
                    stats.completed += 1;
                    next
                }
                Ok((false, _)) => {
                    stats.lost += 1;
                    None
                }
                Err(e) => {
                    tracing::error!("task {id}: storing the outcome failed: {e}");
                    record_failure(storage, config, task, &format!("storing the outcome failed: {e}"), stats);
                    None
                }
            }
        }
        Err(error) => {
            tracing::warn!("task {id} ({kind}) attempt {} failed: {error}", task.task.attempts);
            record_failure(storage, config, task, &error, stats);
            None
        }
    }
}

fn record_failure(
    storage: &Storage,
    config: &RunnerConfig,
    task: &ClaimedTask,
    error: &str,
    stats: &mut RunStats,
) {
    stats.failed_attempts += 1;
    let shift = task.task.attempts.saturating_sub(1).min(16);
    let retry = (config.retry_base.as_secs() as i64).saturating_mul(1 << shift);
    match storage.write(|tx| tx.fail_attempt(task.task.id, &config.worker_id, now(), error, retry)) {
        Ok(Some(TaskStatus::Failed)) => tracing::warn!("task {} failed for good", task.task.id),
        Ok(Some(_)) => {}
        Ok(None) => stats.lost += 1,
        Err(e) => tracing::error!("task {}: recording the failure failed: {e}", task.task.id),
    }
}
