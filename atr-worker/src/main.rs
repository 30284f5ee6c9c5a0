//! `atr-worker`: the background task worker (`run`) and the standalone worker manager (`manage`).

use std::path::PathBuf;
use std::time::Duration;

use atr_worker::rlimits::Rlimits;
use atr_worker::{ManagerConfig, Registry, RunnerConfig};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "atr-worker", about = "Runs background tasks of the release platform")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run one worker: claim, run, store, repeat.
    Run {
        /// The state directory.
        #[arg(long)]
        state_dir: PathBuf,
        /// Exit after this many tasks.
        #[arg(long, default_value_t = 1000)]
        max_tasks: u64,
        /// Lease length in seconds (renewed while a task runs).
        #[arg(long, default_value_t = 30)]
        lease_secs: u64,
        /// Milliseconds between polls of an empty queue.
        #[arg(long, default_value_t = 20)]
        poll_ms: u64,
        /// Seconds before the first retry of a failed attempt (doubling each time).
        #[arg(long, default_value_t = 1)]
        retry_secs: u64,
        /// Exit when the queue is empty.
        #[arg(long)]
        exit_when_idle: bool,
        /// Address-space limit in MiB (0: inherit).
        #[arg(long, default_value_t = 1024)]
        max_memory_mib: u64,
        /// CPU-time limit in seconds per task (0: inherit).
        #[arg(long, default_value_t = 600)]
        max_cpu_secs: u64,
        /// Open-files limit (0: inherit).
        #[arg(long, default_value_t = 256)]
        max_open_files: u64,
        /// Written-file size limit in MiB (0: inherit).
        #[arg(long, default_value_t = 4096)]
        max_file_mib: u64,
    },
    /// Run the manager: keep N workers alive until SIGTERM or Ctrl-C.
    Manage {
        /// The state directory.
        #[arg(long)]
        state_dir: PathBuf,
        /// Number of workers (default: number of cores).
        #[arg(long)]
        workers: Option<usize>,
        /// Per-task time limit in seconds.
        #[arg(long, default_value_t = 300)]
        time_limit_secs: u64,
    },
}

fn opt(v: u64, scale: u64) -> Option<u64> {
    (v > 0).then(|| v.saturating_mul(scale))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let stop = atr_worker::install_signal_handlers();
    match cli.command {
        Cmd::Run {
            state_dir,
            max_tasks,
            lease_secs,
            poll_ms,
            retry_secs,
            exit_when_idle,
            max_memory_mib,
            max_cpu_secs,
            max_open_files,
            max_file_mib,
        } => {
            let mut config = RunnerConfig::new(state_dir);
            config.max_tasks = max_tasks;
            config.lease = Duration::from_secs(lease_secs.max(1));
            config.poll = Duration::from_millis(poll_ms);
            config.retry_base = Duration::from_secs(retry_secs);
            config.exit_when_idle = exit_when_idle;
            config.rlimits = Rlimits {
                address_space: opt(max_memory_mib, 1 << 20),
                cpu_secs: opt(max_cpu_secs, 1),
                open_files: opt(max_open_files, 1),
                file_size: opt(max_file_mib, 1 << 20),
            };
            let stats = atr_worker::run(&config, &registry(), stop)?;
            tracing::info!("worker {} done: {stats:?}", config.worker_id);
        }
        Cmd::Manage { state_dir, workers, time_limit_secs } => {
            let mut config = ManagerConfig::new(state_dir);
            if let Some(n) = workers {
                config.workers = n;
            }
            config.time_limit = Duration::from_secs(time_limit_secs);
            let stats = atr_worker::manager::run(&config, stop)?;
            tracing::info!("manager done: {stats:?}");
        }
    }
    Ok(())
}

#[cfg(feature = "testing")]
fn registry() -> Registry {
    Registry::with_test_handlers()
}

#[cfg(not(feature = "testing"))]
fn registry() -> Registry {
    Registry::production()
}
