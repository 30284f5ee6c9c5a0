//! Benchmark: SBOM generation (archive checks + manifest collection + artifact hashes + CycloneDX
//! document + schema validation, all in the archive checks' single pass) against the archive
//! checks alone, on the largest dev-corpus release, in the same run.
//!
//! Target (issue 9): under 10% extra time, because generation adds no second decompression.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use atr_checks::archive::{ArchiveCheckContext, ArchiveRole, check_archive};
use atr_checks::sbom::{SbomRequest, generate, schema};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
}

/// The largest archive of the dev corpus, if it was fetched (`make corpus`).
fn largest() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dev-corpus");
    let mut best: Option<(u64, PathBuf)> = None;
    for release in std::fs::read_dir(&dir).ok()?.flatten() {
        for f in std::fs::read_dir(release.path().join("release")).into_iter().flatten().flatten() {
            let p = f.path();
            let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let archive =
                [".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"].iter().any(|s| name.ends_with(s));
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if archive && best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, p));
            }
        }
    }
    best.map(|(_, p)| p)
}

fn main() {
    let Some(path) = largest() else {
        out("SKIPPED sbom bench: no dev corpus in target/dev-corpus (run `make corpus`)");
        return;
    };
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let rel = RelPath::new(&name).unwrap();
    let ctx = ArchiveCheckContext::new(ArchiveRole::Source);
    let req = SbomRequest::new("bench", "1.0", Timestamp::from_unix(1_767_225_600));
    // Compile the schema validator once first, as a long-running worker has.
    schema::validate(&serde_json::json!({ "bomFormat": "CycloneDX", "specVersion": "1.6" })).unwrap();
    let rounds = 3;
    let (mut alone, mut with_sbom) = (f64::MAX, f64::MAX);
    let mut components = 0;
    let mut members = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let report = check_archive(&path, &rel, &ctx);
        alone = alone.min(t.elapsed().as_secs_f64());
        members = report.listing.len();
        let t = Instant::now();
        let g = generate(&path, &rel, &ctx, &req).expect("the corpus archive reads");
        with_sbom = with_sbom.min(t.elapsed().as_secs_f64());
        components = g.bom["components"].as_array().map_or(0, Vec::len);
    }
    let extra = (with_sbom / alone - 1.0) * 100.0;
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    out(&format!("SBOM generation vs archive checks alone, best of {rounds} (same run)"));
    out(&format!("{:<44} {:>10} {:>8}", "archive", "MiB", "members"));
    out(&format!("{name:<44} {:>10.1} {members:>8}", size as f64 / 1048576.0));
    out(&format!("{:<44} {:>10.3} s", "archive checks alone", alone));
    out(&format!(
        "{:<44} {:>10.3} s  ({components} components)",
        "archive checks + SBOM (one pass)", with_sbom
    ));
    out(&format!("{:<44} {:>+9.1} %  (target < 10 %)", "extra", extra));
}
