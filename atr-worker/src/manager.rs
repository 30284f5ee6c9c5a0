//! The worker manager: keeps N `atr-worker` processes alive, enforces the per-task time limit,
//! restarts dead workers (putting their task back in the queue at once) and shuts them down
//! cleanly.
//!
//! From a tokio server:
//!
//! ```no_run
//! # fn demo(state_dir: std::path::PathBuf) -> anyhow::Result<()> {
//! let manager = atr_worker::Manager::start(atr_worker::ManagerConfig::new(state_dir))?;
//! // … serve until Ctrl-C/SIGTERM, then (inside tokio: `tokio::task::spawn_blocking(move || manager.shutdown())`):
//! manager.shutdown()?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use atr_storage::Storage;

use crate::runner::{now, worker_id_of};

/// How the manager runs its workers.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// The state directory (passed to every worker).
    pub state_dir: PathBuf,
    /// How many workers to keep alive (default: the number of CPU cores).
    pub workers: usize,
    /// The `atr-worker` executable (default: `atr-worker` next to the current executable, else on `PATH`).
    pub program: PathBuf,
    /// Extra arguments after `run --state-dir <dir>` (for example `--max-tasks 100`).
    pub worker_args: Vec<OsString>,
    /// Extra environment variables for the workers.
    pub env: Vec<(OsString, OsString)>,
    /// A task running longer than this is killed with its worker and recorded `failed` (default 300 s).
    pub time_limit: Duration,
    /// How often the manager looks at its workers (default 200 ms).
    pub poll: Duration,
    /// How long workers get to finish their task after SIGTERM at shutdown (default 5 s).
    pub grace: Duration,
}

impl ManagerConfig {
    /// The defaults for `state_dir`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        ManagerConfig {
            state_dir: state_dir.into(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            program: default_program(),
            worker_args: Vec::new(),
            env: Vec::new(),
            time_limit: Duration::from_secs(300),
            poll: Duration::from_millis(200),
            grace: Duration::from_secs(5),
        }
    }
}

fn default_program() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.parent().into_iter().chain(exe.parent().and_then(|d| d.parent())) {
            let candidate = dir.join("atr-worker");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("atr-worker")
}

/// What the manager did over its life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagerStats {
    /// Worker processes started.
    pub spawned: u64,
    /// Workers that died while holding a task (crash, signal, rlimit).
    pub died_with_task: u64,
    /// Tasks killed for exceeding the time limit.
    pub timed_out: u64,
}

/// A running manager (its own thread). Call [`Manager::shutdown`] to stop it and its workers.
#[derive(Debug)]
pub struct Manager {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<anyhow::Result<ManagerStats>>>,
}

impl Manager {
    /// Opens the storage (migrating it if needed) and starts the manager thread.
    pub fn start(config: ManagerConfig) -> anyhow::Result<Manager> {
        check_program(&config)?;
        let storage = Storage::open(&config.state_dir)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("atr-worker-manager".into())
            .spawn(move || run_with(&config, &storage, &flag))
            .context("starting the worker manager thread")?;
        Ok(Manager { stop, thread: Some(thread) })
    }

    /// Whether the manager thread is still running.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Stops the workers (SIGTERM, then SIGKILL after the grace period; their unfinished tasks go
    /// back to the queue without using up an attempt) and waits for the manager thread.
    pub fn shutdown(mut self) -> anyhow::Result<ManagerStats> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow::anyhow!("the worker manager thread panicked"))?,
            None => Ok(ManagerStats::default()),
        }
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Refuses a worker program that cannot be found, instead of retrying to start it forever.
fn check_program(config: &ManagerConfig) -> anyhow::Result<()> {
    let p = &config.program;
    let found = if p.components().count() > 1 {
        p.is_file()
    } else {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
    };
    if !found {
        anyhow::bail!(
            "cannot find the worker program `{}`; build it with `cargo build -p atr-worker` (it is looked for next to the server's executable) or set ManagerConfig::program",
            p.display()
        );
    }
    Ok(())
}

/// Runs the manager in the calling thread until `stop` is set (the standalone `atr-worker manage`).
pub fn run(config: &ManagerConfig, stop: &AtomicBool) -> anyhow::Result<ManagerStats> {
    check_program(config)?;
    let storage = Storage::open(&config.state_dir)?;
    run_with(config, &storage, stop)
}

struct Slot {
    child: Child,
    worker: String,
}

fn spawn(config: &ManagerConfig, stats: &mut ManagerStats) -> anyhow::Result<Slot> {
    let mut cmd = Command::new(&config.program);
    cmd.arg("run").arg("--state-dir").arg(&config.state_dir).args(&config.worker_args);
    cmd.envs(config.env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    // Own process group: a terminal's Ctrl-C reaches the manager, which stops the workers in order.
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe; it makes the worker get SIGTERM if the manager thread dies.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = cmd.spawn().with_context(|| format!("starting the worker `{}`", config.program.display()))?;
    stats.spawned += 1;
    Ok(Slot { worker: worker_id_of(child.id()), child })
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on a child we spawned and have not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (_, Some(libc::SIGKILL)) => "the worker process was killed (signal 9, SIGKILL)".to_owned(),
        (_, Some(libc::SIGABRT)) => {
            "the worker process aborted (signal 6, SIGABRT; usually an allocation beyond its address-space limit)".to_owned()
        }
        (_, Some(libc::SIGXCPU)) => "the worker process used up its CPU-time limit (SIGXCPU)".to_owned(),
        (_, Some(libc::SIGXFSZ)) => "the worker process exceeded its file-size limit (SIGXFSZ)".to_owned(),
        (_, Some(s)) => format!("the worker process was killed by signal {s}"),
        (Some(c), None) => format!("the worker process exited with status {c}"),
        (None, None) => "the worker process ended".to_owned(),
    }
}

fn run_with(config: &ManagerConfig, storage: &Storage, stop: &AtomicBool) -> anyhow::Result<ManagerStats> {
    let mut stats = ManagerStats::default();
    let mut slots: Vec<Slot> = Vec::new();
    let limit_secs = config.time_limit.as_secs_f64();
    // When the manager first saw each task active under a worker: the clock for the time limit,
    // finer than the database's whole seconds.
    let mut seen: HashMap<i64, (String, Instant)> = HashMap::new();
    let mut last_error: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        // A database error (for example a long lock) must not end supervision: log and retry.
        let mut tick = || -> anyhow::Result<()> {
            // Dead workers: put their task back at once, then replace them.
            let mut i = 0;
            while i < slots.len() {
                match slots[i].child.try_wait() {
                    Ok(Some(status)) => {
                        let slot = slots.swap_remove(i);
                        let reason = describe(status);
                        let released = storage
                            .write(|tx| tx.release_worker_tasks(&slot.worker, now(), &reason, true))?;
                        if !released.is_empty() {
                            stats.died_with_task += 1;
                            tracing::warn!(
                                "{} ({}) while running task(s) {:?}",
                                reason,
                                slot.worker,
                                released
                            );
                        }
                    }
                    Ok(None) => i += 1,
                    Err(e) => {
                        tracing::warn!("waiting for {}: {e}", slots[i].worker);
                        i += 1;
                    }
                }
            }
            while slots.len() < config.workers.max(1) {
                match spawn(config, &mut stats) {
                    Ok(s) => slots.push(s),
                    Err(e) => {
                        if last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                            tracing::error!("{e:#}");
                            last_error = Some(Instant::now());
                        }
                        break;
                    }
                }
            }
            // Time limits.
            let active = storage.read(|tx| tx.active_tasks())?;
            seen.retain(|id, (w, _)| active.iter().any(|t| t.id.0 == *id && &t.worker == w));
            for t in &active {
                let Some(pos) = slots.iter().position(|s| s.worker == t.worker) else { continue };
                let since = seen.entry(t.id.0).or_insert_with(|| (t.worker.clone(), Instant::now())).1;
                if since.elapsed().as_secs_f64() <= limit_secs {
                    continue;
                }
                let mut slot = slots.swap_remove(pos);
                signal(&slot.child, libc::SIGKILL);
                let _ = slot.child.wait();
                let message = format!(
                    "Task terminated after exceeding its time limit of {} seconds; the worker running it was killed",
                    fmt_secs(limit_secs)
                );
                storage.write(|tx| tx.fail_task(t.id, now(), &message))?;
                // Anything else it held (nothing, normally) goes back to the queue.
                storage.write(|tx| {
                    tx.release_worker_tasks(
                        &slot.worker,
                        now(),
                        "its worker was killed for a time limit",
                        true,
                    )
                })?;
                stats.timed_out += 1;
                tracing::warn!("task {} exceeded the time limit of {} s", t.id, fmt_secs(limit_secs));
            }
            // Leases of workers that are not ours (another manager, a crashed machine).
            storage.write(|tx| tx.requeue_expired_leases(now()))?;
            Ok(())
        };
        if let Err(e) = tick() {
            tracing::error!("worker manager: {e:#}");
        }
        std::thread::sleep(config.poll);
    }
    shutdown(config, storage, slots)?;
    Ok(stats)
}

fn fmt_secs(s: f64) -> String {
    if s.fract() == 0.0 { format!("{s:.0}") } else { format!("{s:.1}") }
}

fn shutdown(config: &ManagerConfig, storage: &Storage, mut slots: Vec<Slot>) -> anyhow::Result<()> {
    for s in &slots {
        signal(&s.child, libc::SIGTERM);
    }
    let deadline = Instant::now() + config.grace;
    while Instant::now() < deadline && slots.iter_mut().any(|s| matches!(s.child.try_wait(), Ok(None))) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for s in &mut slots {
        if matches!(s.child.try_wait(), Ok(None)) {
            signal(&s.child, libc::SIGKILL);
        }
        let _ = s.child.wait();
        storage
            .write(|tx| tx.release_worker_tasks(&s.worker, now(), "the worker manager shut down", false))?;
    }
    Ok(())
}
