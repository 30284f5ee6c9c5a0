//! Queue benchmark: claims per second (threads over one database, and real worker processes) on an
//! empty handler; time from upload to all check results stored for the fixture release (and any
//! real releases found under `target/dev-corpus` or `target/bench-data`); peak memory.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::model::{
    Committee, Fingerprint, KeyLink, Project, ProjectStatus, PublicSigningKey, Release, ReleasePolicy,
    TaskSpec, TaskType,
};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use atr_storage::quarantine::{Upload, UploadOutcome};
use atr_storage::{NewRevision, Storage};
use atr_worker::ManagerConfig;
use atr_worker::runner::now;

const WORKER: &str = env!("CARGO_BIN_EXE_atr-worker");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");

fn noop() -> TaskSpec {
    TaskSpec {
        task_type: TaskType::MetadataUpdate,
        task_args: serde_json::json!({"action": "noop"}),
        asf_uid: None,
        project_key: None,
        version_key: None,
        revision_number: None,
        primary_rel_path: None,
    }
}

fn fill(s: &Storage, n: usize) {
    s.write(|tx| {
        for _ in 0..n {
            tx.enqueue_task(&noop(), now())?;
        }
        Ok::<_, atr_storage::StorageError>(())
    })
    .unwrap();
}

/// Claims + completions per second by `threads` threads sharing one `Storage` (the queue alone).
fn claims_threads(threads: usize, n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    fill(&s, n);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..threads {
            let s = &s;
            scope.spawn(move || {
                let name = format!("t{w}");
                while let Some(t) = s.write(|tx| tx.claim_task(&name, now(), 30)).unwrap() {
                    s.write(|tx| tx.complete_task(t.task.id, &name, now(), &serde_json::Value::Null))
                        .unwrap();
                }
            });
        }
    });
    n as f64 / start.elapsed().as_secs_f64()
}

/// Tasks per second through `workers` real `atr-worker` processes (claim, run the empty handler,
/// complete), including process start-up.
fn claims_processes(workers: usize, n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let s = Storage::open(dir.path()).unwrap();
    fill(&s, n);
    let start = Instant::now();
    let mut children: Vec<_> = (0..workers)
        .map(|_| {
            Command::new(WORKER)
                .args(["run", "--exit-when-idle", "--max-tasks", "1000000", "--state-dir"])
                .arg(dir.path())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    let secs = start.elapsed().as_secs_f64();
    let (q, a, c, f) = s.read(|tx| tx.task_counts()).unwrap();
    assert_eq!((q, a, c as usize, f), (0, 0, n, 0));
    n as f64 / secs
}

fn seeded(dir: &Path) -> Storage {
    let s = Storage::open(dir).unwrap();
    let uid = Uid::new("alice").unwrap();
    let committee = CommitteeKey::new("test").unwrap();
    let armored = std::fs::read_to_string(Path::new(FIXTURE).join("signer.asc")).unwrap();
    let fpr = Fingerprint::new("9F6E155B254C3A3CD6270E040F15DA58C059358F").unwrap();
    s.write(|tx| {
        tx.upsert_committee(&Committee {
            key: committee.clone(),
            full_name: Some("Apache Test".into()),
            is_podling: false,
            parent: None,
            members: vec![uid.clone()],
            committers: vec![],
            release_managers: vec![uid.clone()],
        })?;
        tx.insert_project(&Project {
            key: ProjectKey::new("test").unwrap(),
            committee_key: committee.clone(),
            name: "Apache Test".into(),
            status: ProjectStatus::Active,
            super_project: None,
            description: String::new(),
            category: vec![],
            programming_languages: vec![],
            created: now(),
            created_by: uid.clone(),
            policy: ReleasePolicy::default(),
        })?;
        tx.upsert_signing_key(&PublicSigningKey {
            fingerprint: fpr.clone(),
            algorithm: 22,
            length: 255,
            created: Timestamp::from_unix(1_779_100_350),
            latest_self_signature: None,
            expires: None,
            primary_declared_uid: None,
            secondary_declared_uids: vec![],
            apache_uid: Some(uid.clone()),
            ascii_armored_key: armored,
        })?;
        tx.link_key(&KeyLink { committee_key: committee, fingerprint: fpr })
    })
    .unwrap();
    s
}

/// Seconds from the upload call until every task it caused has completed (validation, then checks).
fn upload_to_results(s: &Storage, version: &str, release_dir: &Path) -> (f64, usize) {
    let project = ProjectKey::new("test").unwrap();
    let version = VersionKey::new(version).unwrap();
    s.write(|tx| tx.insert_release(&Release::new_draft(project.clone(), version.clone(), now()))).unwrap();
    let mut files: Vec<(RelPath, PathBuf)> = std::fs::read_dir(release_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (RelPath::new(e.file_name().to_string_lossy().into_owned()).unwrap(), e.path()))
        .filter(|(p, _)| !p.as_str().ends_with("_public.asc"))
        .collect();
    files.sort();
    let req = NewRevision::new(project.clone(), version.clone(), Uid::new("alice").unwrap(), now(), "bench");
    // Streamed from disk, as the server streams a request body.
    let start = Instant::now();
    let mut readers: Vec<(RelPath, std::fs::File)> =
        files.iter().map(|(p, f)| (p.clone(), std::fs::File::open(f).unwrap())).collect();
    let uploads = readers.iter_mut().map(|(p, r)| Upload { path: p.clone(), reader: r }).collect();
    let out = s.upload(&req, uploads).unwrap();
    assert!(matches!(out, UploadOutcome::Quarantined { .. }));
    loop {
        let (q, a, _, f) = s.read(|tx| tx.task_counts()).unwrap();
        let rev = s.read(|tx| tx.latest_revision(&project, &version)).unwrap();
        if q == 0 && a == 0 && rev.is_some() {
            assert_eq!(f, 0, "no task failed");
            let secs = start.elapsed().as_secs_f64();
            let n = s.read(|tx| tx.check_results(&project, &version, rev.unwrap())).unwrap().len();
            return (secs, n);
        }
        assert!(start.elapsed() < Duration::from_secs(120), "checks did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn max_rss_kib(who: i32) -> i64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru.ru_maxrss
    }
}

/// Peak resident memory of this process since its exec (`VmHWM`; `ru_maxrss` would include the
/// memory of cargo, which forked it).
fn own_hwm_kib() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn release_dirs() -> Vec<(String, PathBuf)> {
    let mut out = vec![("apache-test-0.2 (fixture)".to_owned(), PathBuf::from(FIXTURE))];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    for base in ["dev-corpus", "bench-data"] {
        let Ok(entries) = std::fs::read_dir(root.join(base)) else { continue };
        let mut found: Vec<_> =
            entries.filter_map(|e| e.ok()).map(|e| e.path().join("release")).filter(|p| p.is_dir()).collect();
        found.sort();
        for p in found {
            let name = p.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, p));
        }
    }
    out
}

fn main() {
    println!("atr-worker queue benchmark (real SQLite, WAL; real worker processes)\n");
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let workers = 4;
    let mut config = ManagerConfig::new(dir.path());
    config.program = PathBuf::from(WORKER);
    config.workers = workers;
    config.worker_args = vec!["--poll-ms".into(), "5".into()];
    let manager = atr_worker::Manager::start(config).unwrap();
    // Let the workers start and go idle.
    std::thread::sleep(Duration::from_millis(500));
    println!("{:<44} {:>10} {:>9}", "upload → all results stored (4 workers)", "seconds", "results");
    for (i, (name, path)) in release_dirs().into_iter().enumerate() {
        // The fixture is small: repeat it and report the median and the best run.
        let runs = if i == 0 { 7 } else { 1 };
        let mut times = Vec::new();
        let mut n = 0;
        for r in 0..runs {
            let (secs, count) = upload_to_results(&s, &format!("0.{}.{r}", i + 100), &path);
            times.push(secs);
            n = count;
        }
        times.sort_by(f64::total_cmp);
        if runs > 1 {
            println!("{:<44} {:>10.3} {n:>9}", format!("{name}, median of {runs}"), times[runs / 2]);
            println!("{:<44} {:>10.3} {n:>9}", format!("{name}, best of {runs}"), times[0]);
        } else {
            println!("{name:<44} {:>10.3} {n:>9}", times[0]);
        }
    }
    println!("  target: fixture < 0.2 s (ATR: 1.65 s); httpd 2.4.68 < 0.7 s (ATR: 20.5 s)");
    if !Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data/httpd-2.4.68/release").is_dir() {
        println!(
            "  (httpd 2.4.68 not measured: put httpd-2.4.68.tar.gz{{,.asc,.sha512}} from the Debian source package \
             apache2 2.4.68 into target/bench-data/httpd-2.4.68/release/)"
        );
    }
    println!();
    manager.shutdown().unwrap();
    // Measured before the claims section, so the bench process stands for a server (manager thread,
    // storage, uploads streamed from disk).
    let worker_peak = max_rss_kib(libc::RUSAGE_CHILDREN);
    let own_peak = own_hwm_kib();
    println!("{:<44} {:>12}", "claims (claim + complete)", "per second");
    for t in [1, 4] {
        println!(
            "{:<44} {:>12.0}",
            format!("{t} thread(s), one process, 20,000 tasks"),
            claims_threads(t, 20_000)
        );
    }
    for w in [1, 4] {
        println!(
            "{:<44} {:>12.0}",
            format!("{w} worker process(es), 10,000 tasks"),
            claims_processes(w, 10_000)
        );
    }
    println!("  target: at least 2,000/s\n");

    println!("{:<44} {:>10}", "peak memory while checking the releases above", "MiB");
    println!("{:<44} {:>10.1}", "largest worker process (max RSS, upper bound)", worker_peak as f64 / 1024.0);
    println!("{:<44} {:>10.1}", "bench process (manager + uploader)", own_peak as f64 / 1024.0);
    println!(
        "{:<44} {:>10.1}",
        format!("bound: bench + {workers} × largest worker"),
        (own_peak + workers as i64 * worker_peak) as f64 / 1024.0
    );
}
