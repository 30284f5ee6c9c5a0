//! Embedding `atr-checks`: check a release directory from your own Rust program and print a report.
//!
//! Usage: `cargo run -p atr-examples --example embed_checks -- DIR [KEYS]`
//! (DIR defaults to the current directory). Exits 1 when something blocks a vote.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use atr_checks::keys::Keyring;
use atr_checks::{CheckContext, CheckStatus, RunOptions, check_directory_with};
use atr_core::classify::ClassificationPolicy;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let dir = args.next().map_or_else(|| PathBuf::from("."), PathBuf::from);
    let keys = args.next().map(PathBuf::from);
    let mut out = std::io::stdout().lock();

    // 1. Everything the checks depend on is explicit: the reference time, the project's policy, the limits.
    let policy =
        ClassificationPolicy::new(&["*-src.*", "*-source-release.*"], &["*-bin.*"]).expect("valid globs");
    let ctx = CheckContext::new(SystemTime::now()).with_policy(policy);

    // 2. Parse the committee's KEYS once; reuse the keyring for every signature (and every release).
    let keyring = match keys.as_deref().map(|k| Keyring::from_file(k, &ctx.limits)) {
        Some(Ok(ring)) => {
            let _ = writeln!(
                out,
                "KEYS: {} usable certificates, {} skipped",
                ring.certs().len(),
                ring.skipped().len()
            );
            Some(ring)
        }
        Some(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "embed_checks: {e}");
            return ExitCode::from(2);
        }
        None => None,
    };

    // 3. Run every check; results come back as data, never printed by the library.
    let report = match check_directory_with(&dir, keyring.as_ref(), &ctx, &RunOptions::default().with_jobs(2))
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "embed_checks: {e}");
            return ExitCode::from(2);
        }
    };

    // 4. Use them: here, print everything worse than a note, then the counts.
    for r in report.results.iter().filter(|r| r.status != CheckStatus::Note) {
        let file = r.primary_rel_path.as_ref().map_or("(release)".to_owned(), |p| p.to_string());
        let _ = writeln!(out, "{:<10} {:<40} {}", r.status.as_str(), file, r.message);
    }
    let s = report.summary;
    let _ = writeln!(
        out,
        "summary: {} blocker, {} exception, {} concern, {} suggestion, {} note",
        s.blocker, s.exception, s.concern, s.suggestion, s.note
    );
    if report.blocks_vote() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
