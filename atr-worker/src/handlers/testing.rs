//! Test handlers (feature `testing` only), registered in place of `metadata_update`. The task's
//! `action` argument picks the behaviour.

use std::io::Write;
use std::time::Duration;

use anyhow::anyhow;

use super::{Output, TaskContext};

/// Runs the test action named by the task's `action` argument:
/// - `noop`: nothing;
/// - `record`: appends `<task id> <pid>` to the file `file`;
/// - `sleep`: sleeps `secs` seconds;
/// - `sleep_first`: on the first attempt writes the pid to `file` and sleeps `secs` seconds;
///   on later attempts records like `record`;
/// - `spin`: burns CPU for `secs` seconds;
/// - `panic`: panics;
/// - `alloc`: allocates and touches `mib` MiB;
/// - `fail`: returns an error.
pub fn dispatch(t: &TaskContext<'_>) -> anyhow::Result<Output> {
    let args = &t.task.task.spec.task_args;
    let action = args.get("action").and_then(|a| a.as_str()).unwrap_or("noop");
    let file = args.get("file").and_then(|f| f.as_str());
    let secs = args.get("secs").and_then(|s| s.as_f64()).unwrap_or(0.0);
    let record = || -> anyhow::Result<()> {
        let file = file.ok_or_else(|| anyhow!("`record` needs `file`"))?;
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(file)?;
        f.write_all(format!("{} {}\n", t.task.task.id, std::process::id()).as_bytes())?;
        Ok(())
    };
    match action {
        "noop" => {}
        "record" => record()?,
        "sleep" => std::thread::sleep(Duration::from_secs_f64(secs)),
        "sleep_first" => {
            if t.task.task.attempts == 1 {
                let file = file.ok_or_else(|| anyhow!("`sleep_first` needs `file`"))?;
                std::fs::write(format!("{file}.pid"), std::process::id().to_string())?;
                std::thread::sleep(Duration::from_secs_f64(secs));
            }
            record()?;
        }
        "spin" => {
            let end = std::time::Instant::now() + Duration::from_secs_f64(secs);
            let mut x = 0u64;
            while std::time::Instant::now() < end {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        "panic" => panic!("test handler panicked on purpose"),
        "alloc" => {
            let mib = args.get("mib").and_then(|m| m.as_u64()).unwrap_or(1024) as usize;
            let v = vec![1u8; mib << 20];
            std::hint::black_box(&v);
        }
        "fail" => return Err(anyhow!("test handler failed on purpose")),
        other => return Err(anyhow!("unknown test action `{other}`")),
    }
    Ok(Output {
        results: Vec::new(),
        value: serde_json::json!({ "kind": "test", "action": action, "pid": std::process::id() }),
    })
}
