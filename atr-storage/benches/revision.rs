//! Benchmark: creating a new revision of a release that already holds 1,000 or 10,000 files.
//!
//! The new revision hard-links every file of the previous one, adds one file, fsyncs, renames the
//! directory into place and commits its row. Target: under 50 ms for 1,000 files.

use std::time::{Duration, Instant};

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::model::{Committee, Project, ProjectStatus, Release, ReleasePolicy};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use atr_storage::{NewRevision, RevisionStep, Storage, StorageError};

const NOW: Timestamp = Timestamp::from_unix(1_761_739_200);

fn setup(dir: &std::path::Path, files: usize) -> (Storage, NewRevision, Duration) {
    let s = Storage::open(dir).expect("open");
    let alice = Uid::new("alice").expect("uid");
    let committee = CommitteeKey::new("bench").expect("key");
    let project = ProjectKey::new("bench").expect("key");
    let version = VersionKey::new("1.0.0").expect("key");
    s.write(|tx| {
        tx.upsert_committee(&Committee {
            key: committee.clone(),
            full_name: None,
            is_podling: false,
            parent: None,
            members: vec![alice.clone()],
            committers: vec![],
            release_managers: vec![],
        })?;
        tx.insert_project(&Project {
            key: project.clone(),
            committee_key: committee.clone(),
            name: "Apache Bench".into(),
            status: ProjectStatus::Active,
            super_project: None,
            description: String::new(),
            category: vec![],
            programming_languages: vec![],
            created: NOW,
            created_by: alice.clone(),
            policy: ReleasePolicy::default(),
        })?;
        tx.insert_release(&Release::new_draft(project.clone(), version.clone(), NOW))
    })
    .expect("seed");
    let req = NewRevision::new(project, version, alice, NOW, "bench");
    let start = Instant::now();
    s.create_revision(&req, |d| {
        for i in 0..files {
            let path = RelPath::new(format!("dir{:02}/apache-bench-{i:05}.txt", i % 20)).expect("path");
            d.write(&path, format!("file {i}\n").as_bytes())?;
        }
        Ok::<_, StorageError>(())
    })
    .expect("first revision");
    let first = start.elapsed();
    (s, req, first)
}

/// Min, median and max of the whole call, plus the median time spent up to each step.
struct Figures {
    min: Duration,
    median: Duration,
    max: Duration,
    steps: Vec<(&'static str, Duration)>,
    first: Duration,
}

fn measure(files: usize, runs: usize) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let (s, req, first) = setup(dir.path(), files);
    let mut times = Vec::with_capacity(runs);
    let mut per_step: Vec<Vec<Duration>> = vec![Vec::new(); RevisionStep::ALL.len()];
    for i in 0..runs {
        let name = RelPath::new(format!("new-{i}.txt")).expect("path");
        let start = Instant::now();
        let mut last = start;
        let (rev, ()) = s
            .create_revision_with(&req, |d| d.write(&name, b"new"), |_, _| Ok(()), &mut |step| {
                let now = Instant::now();
                let idx = RevisionStep::ALL.iter().position(|s| *s == step).expect("known step");
                per_step[idx].push(now - last);
                last = now;
            })
            .expect("revision");
        times.push(start.elapsed());
        assert_eq!(rev.number.get() as usize, i + 2);
    }
    let count = s
        .revision_files(
            &req.project,
            &req.version,
            atr_core::ids::RevisionNumber::new(runs as u32 + 1).expect("n"),
        )
        .expect("files")
        .len();
    assert_eq!(count, files + runs, "the last revision has every file");
    times.sort();
    let steps = RevisionStep::ALL
        .iter()
        .zip(per_step)
        .map(|(step, mut d)| {
            d.sort();
            (step.as_str(), d[d.len() / 2])
        })
        .collect();
    Figures { min: times[0], median: times[times.len() / 2], max: times[times.len() - 1], steps, first }
}

fn main() {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut out = String::from("new revision (hard-link clone + 1 new file + fsync + rename + commit)\n");
    out.push_str(&format!(
        "{:>8} {:>5} {:>10} {:>10} {:>10}\n",
        "files", "runs", "min ms", "median ms", "max ms"
    ));
    let mut breakdown = String::from("median ms spent in each step (up to and including it):\n");
    let mut uploads = String::from("first revision, every file new (write + batch fsync + commit):\n");
    for (files, runs) in [(1_000, 21), (10_000, 5)] {
        let f = measure(files, runs);
        out.push_str(&format!(
            "{files:>8} {runs:>5} {:>10.1} {:>10.1} {:>10.1}\n",
            ms(f.min),
            ms(f.median),
            ms(f.max)
        ));
        if files == 1_000 {
            let verdict = if f.median < Duration::from_millis(50) { "met" } else { "MISSED" };
            out.push_str(&format!("         target < 50 ms (median) for 1,000 files: {verdict}\n"));
        }
        breakdown.push_str(&format!("{files:>8} files:"));
        for (step, d) in f.steps {
            breakdown.push_str(&format!(" {step} {:.1}", ms(d)));
        }
        breakdown.push('\n');
        uploads.push_str(&format!("{files:>8} files: {:.1} ms\n", ms(f.first)));
    }
    eprint!("{out}{breakdown}{uploads}");
}
