//! Resource limits a worker sets on itself before it runs any task, so that one hostile artifact
//! cannot exhaust the machine: address space, CPU time, open files and the size of files written.

use std::io;

/// The limits (soft and hard alike); `None` leaves a limit as inherited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimits {
    /// Bytes of virtual address space (`RLIMIT_AS`); an allocation beyond it fails and the worker
    /// aborts, which the manager records as a failed attempt.
    pub address_space: Option<u64>,
    /// Seconds of CPU time per task (`RLIMIT_CPU`, soft limit moved forward before each task by
    /// [`Rlimits::before_task`]); a task that spins past it is killed with SIGXCPU.
    pub cpu_secs: Option<u64>,
    /// Open file descriptors (`RLIMIT_NOFILE`).
    pub open_files: Option<u64>,
    /// Bytes of any file the worker writes (`RLIMIT_FSIZE`), including the database.
    pub file_size: Option<u64>,
}

impl Default for Rlimits {
    /// 1 GiB of address space, 10 minutes of CPU time per task, 256 open files, 4 GiB per file.
    fn default() -> Self {
        Rlimits {
            address_space: Some(1 << 30),
            cpu_secs: Some(600),
            open_files: Some(256),
            file_size: Some(4 << 30),
        }
    }
}

impl Rlimits {
    /// No limits set.
    pub const NONE: Rlimits =
        Rlimits { address_space: None, cpu_secs: None, open_files: None, file_size: None };

    /// Applies the limits to the current process. A limit above the inherited hard limit is
    /// lowered to it (a process can only tighten its limits).
    pub fn apply(&self) -> io::Result<()> {
        let pairs = [
            (libc::RLIMIT_AS, self.address_space, "address space"),
            (libc::RLIMIT_NOFILE, self.open_files, "open files"),
            (libc::RLIMIT_FSIZE, self.file_size, "file size"),
        ];
        for (resource, value, what) in pairs {
            let Some(value) = value else { continue };
            set(resource, value)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot limit {what}: {e}")))?;
        }
        self.before_task()
    }

    /// Gives the next task its CPU budget: the soft CPU limit becomes the CPU time used so far plus
    /// `cpu_secs` (the hard limit stays as inherited, so the soft one can move forward).
    pub fn before_task(&self) -> io::Result<()> {
        let Some(budget) = self.cpu_secs else { return Ok(()) };
        // SAFETY: getrusage writes into the zeroed struct we pass.
        let used = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
                return Err(io::Error::last_os_error());
            }
            (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1).max(0) as u64
        };
        let old = get(libc::RLIMIT_CPU)?;
        let lim =
            libc::rlimit { rlim_cur: used.saturating_add(budget).min(old.rlim_max), rlim_max: old.rlim_max };
        // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_CPU, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The current soft limit of address space, for diagnostics and tests.
    pub fn current_address_space() -> io::Result<u64> {
        get(libc::RLIMIT_AS).map(|l| l.rlim_cur)
    }
}

fn get(resource: libc::__rlimit_resource_t) -> io::Result<libc::rlimit> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim)
}

fn set(resource: libc::__rlimit_resource_t, value: u64) -> io::Result<()> {
    let old = get(resource)?;
    let value = value.min(old.rlim_max);
    let lim = libc::rlimit { rlim_cur: value, rlim_max: value };
    // SAFETY: `lim` is a valid rlimit; setrlimit only reads it.
    if unsafe { libc::setrlimit(resource, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
