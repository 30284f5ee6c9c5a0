//! `atr-check`: run the platform's checks on a local release directory, exactly as the server would.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atr_checks::keys::Keyring;
use atr_checks::{
    CheckContext, CheckResult, CheckStatus, CheckerId, Progress, Report, RunOptions, check_directory_with,
};
use atr_core::classify::ClassificationPolicy;
use atr_core::model::MissingSbom;
use clap::{Parser, ValueEnum};

/// Check a release directory the way Apache Trusted Releases does before a vote.
///
/// Runs every check the server runs on the files of DIR: signatures (`.asc`) against the
/// committee's KEYS file, checksum files (`.sha512`, `.sha256`), the paths policy (each artifact
/// signed and checksummed, at least one source package, no hidden or junk files), the archive
/// checks (integrity, structure, LICENSE/NOTICE, licence headers, hostile members), and the SBOM
/// checks: every CycloneDX `*.cdx.json` is validated against its schema and its artifact's hashes,
/// scored against the NTIA minimum elements and its licence bill drawn up (Category B and X
/// components), and each source archive needs its SBOM `<archive>.cdx.json` beside it
/// (see --missing-sbom).
///
/// Exit status: 0 when nothing blocks a vote; 1 when at least one result is a blocker or a check
/// could not run (an exception, for example signatures without --keys); 2 on a usage error or when
/// DIR or KEYS cannot be read.
#[derive(Debug, Parser)]
#[command(name = "atr-check", version, about, long_about)]
struct Args {
    /// The release directory: artifacts with their `.asc` and `.sha512` files, as they will be uploaded.
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// The committee's KEYS file (for example downloaded from downloads.apache.org/COMMITTEE/KEYS).
    /// Without it, signatures are not verified and are reported as exceptions.
    #[arg(long, value_name = "KEYS")]
    keys: Option<PathBuf>,

    /// The project is an Apache Incubator podling: artifact names must contain `incubating`
    /// and source archives need a DISCLAIMER.
    #[arg(long)]
    podling: bool,

    /// Output format: `text` (grouped by file, for people) or `json` (`{"results": [...], "summary": {...}}`,
    /// each result with the fields of the API's check results).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Number of files checked in parallel.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,

    /// A glob (as in the project's release policy) naming source artifacts, such as `*-src.tar.gz`.
    /// Repeatable; tried before the filename heuristics.
    #[arg(long = "source", value_name = "GLOB")]
    source_patterns: Vec<String>,

    /// A glob naming binary (convenience) artifacts, such as `*-bin.tar.gz` or `dist/**`. Repeatable.
    #[arg(long = "binary", value_name = "GLOB")]
    binary_patterns: Vec<String>,

    /// The committee key (such as `foo`), so that `private@foo.apache.org` automated-signing keys are recognised.
    #[arg(long, value_name = "NAME")]
    committee: Option<String>,

    /// Check as of this time (seconds since 1970-01-01 UTC) instead of now, for reproducible results.
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,

    /// How serious a source archive without its SBOM (`<archive>.cdx.json`) beside it is: use the
    /// project's release policy setting ("Missing SBOM"; the server's default is `suggestion`, as ATR's).
    #[arg(long, value_enum, value_name = "SEVERITY", default_value_t = MissingSbomArg::Suggestion)]
    missing_sbom: MissingSbomArg,

    /// Also list passed checks (notes) in text output.
    #[arg(long, short = 'v')]
    verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The values of the release policy's missing-SBOM setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MissingSbomArg {
    /// Shown; nothing to acknowledge.
    Suggestion,
    /// Acknowledged before a vote.
    Concern,
    /// No vote until every source archive has its SBOM.
    Blocker,
}

impl From<MissingSbomArg> for MissingSbom {
    fn from(a: MissingSbomArg) -> Self {
        match a {
            MissingSbomArg::Suggestion => MissingSbom::Suggestion,
            MissingSbomArg::Concern => MissingSbom::Concern,
            MissingSbomArg::Blocker => MissingSbom::Blocker,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if report.blocks_vote() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(msg) => {
            let _ = writeln!(std::io::stderr(), "atr-check: {msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Report, String> {
    let source: Vec<&str> = args.source_patterns.iter().map(String::as_str).collect();
    let binary: Vec<&str> = args.binary_patterns.iter().map(String::as_str).collect();
    let policy = ClassificationPolicy::new(&source, &binary)
        .map_err(|e| format!("bad --source/--binary pattern: {e}"))?;
    let at = match args.at {
        Some(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        None => SystemTime::now(),
    };
    let mut ctx = CheckContext::new(at)
        .with_podling(args.podling)
        .with_policy(policy)
        .with_missing_sbom(args.missing_sbom.into());
    if let Some(c) = &args.committee {
        ctx = ctx.with_committee(c.clone());
    }
    let keyring = match &args.keys {
        Some(path) => Some(Keyring::from_file(path, &ctx.limits).map_err(|e| e.to_string())?),
        None => None,
    };
    let progress = ProgressLine::new();
    let report_progress = |p: &Progress| progress.update(p);
    let opts = RunOptions::default().with_jobs(usize::from(args.jobs)).with_progress(&report_progress);
    let report = check_directory_with(&args.dir, keyring.as_ref(), &ctx, &opts).map_err(|e| e.to_string())?;
    progress.finish();
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out)),
        Format::Text => write_text(&mut out, &report, args.verbose, colour_wanted()),
    };
    written.map_err(|e| format!("cannot write the report: {e}"))?;
    Ok(report)
}

fn colour_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A one-line progress indication on stderr, shown only on a terminal and only once work takes longer than a moment.
struct ProgressLine {
    start: Instant,
    enabled: bool,
    shown: Mutex<bool>,
}

impl ProgressLine {
    fn new() -> Self {
        ProgressLine {
            start: Instant::now(),
            enabled: std::io::stderr().is_terminal(),
            shown: Mutex::new(false),
        }
    }

    fn update(&self, p: &Progress) {
        if !self.enabled || self.start.elapsed() < Duration::from_millis(500) {
            return;
        }
        if let Ok(mut shown) = self.shown.lock() {
            *shown = true;
            let width = 30;
            let filled = (p.done * width).checked_div(p.total).unwrap_or(width).min(width);
            let name: String = p.file.chars().take(50).collect();
            let _ = write!(
                std::io::stderr(),
                "\r\x1b[2K[{}{}] {}/{} {name}",
                "#".repeat(filled),
                " ".repeat(width - filled),
                p.done,
                p.total
            );
        }
    }

    fn finish(&self) {
        if self.shown.lock().is_ok_and(|s| *s) {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

fn status_code(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Blocker => "1;31",
        CheckStatus::Exception => "1;35",
        CheckStatus::Concern => "33",
        CheckStatus::Suggestion => "36",
        CheckStatus::Note => "32",
    }
}

fn short_checker(r: &CheckResult) -> &'static str {
    r.checker.name.strip_prefix("atr.tasks.checks.").unwrap_or(r.checker.name)
}

/// An SBOM's NTIA score or licence bill: shown in text output even when it is a note.
fn is_sbom_summary(r: &CheckResult) -> bool {
    r.checker == CheckerId::SBOM && (r.data.get("ntia").is_some() || r.data.get("category_a").is_some())
}

/// Archive-member lines shown per (checker, status) in text output without --verbose.
const MEMBER_LINES: usize = 5;

fn write_text(out: &mut impl Write, report: &Report, verbose: bool, colour: bool) -> std::io::Result<()> {
    let mut groups: Vec<(String, Vec<&CheckResult>)> = Vec::new();
    for r in &report.results {
        let key = r.primary_rel_path.as_ref().map_or_else(|| "(whole release)".to_owned(), |p| p.to_string());
        match groups.last_mut() {
            Some((k, v)) if *k == key => v.push(r),
            _ => groups.push((key, vec![r])),
        }
    }
    for (file, results) in &groups {
        let shown: Vec<&&CheckResult> = results
            .iter()
            .filter(|r| verbose || r.status != CheckStatus::Note || is_sbom_summary(r))
            .collect();
        let notes = results
            .iter()
            .filter(|r| r.status == CheckStatus::Note && (verbose || !is_sbom_summary(r)))
            .count();
        let worst = results.iter().map(|r| r.status).min().unwrap_or(CheckStatus::Note);
        let mark = match worst {
            CheckStatus::Note => paint(colour, "32", "ok"),
            s => paint(colour, status_code(s), s.as_str()),
        };
        let passed = if notes > 0 && !verbose { format!(" ({notes} passed)") } else { String::new() };
        writeln!(out, "{} [{mark}]{passed}", paint(colour, "1", file))?;
        // Per-member findings can run into hundreds: show the first few of each kind unless --verbose.
        let mut per_kind: Vec<((&str, CheckStatus), usize)> = Vec::new();
        for r in shown {
            let member = r.member_rel_path.as_ref().map(|m| format!("[{m}] ")).unwrap_or_default();
            if r.member_rel_path.is_some() && !verbose {
                let kind = (short_checker(r), r.status);
                let seen = match per_kind.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        per_kind.push((kind, 1));
                        1
                    }
                };
                if seen > MEMBER_LINES {
                    continue;
                }
            }
            writeln!(
                out,
                "  {} {:<28} {member}{}",
                paint(colour, status_code(r.status), &format!("{:<10}", r.status.as_str())),
                short_checker(r),
                r.message
            )?;
        }
        for ((checker, status), n) in per_kind.into_iter().filter(|(_, n)| *n > MEMBER_LINES) {
            writeln!(
                out,
                "  {} {checker:<28} … and {} more archive members with this finding (--verbose or --format json lists them all)",
                paint(colour, status_code(status), &format!("{:<10}", status.as_str())),
                n - MEMBER_LINES
            )?;
        }
    }
    let s = &report.summary;
    let verdict = if report.blocks_vote() {
        paint(colour, "1;31", "a vote cannot start")
    } else if s.concern > 0 {
        paint(colour, "33", "concerns must be acknowledged before a vote")
    } else {
        paint(colour, "1;32", "ready for a vote")
    };
    writeln!(
        out,
        "\n{} blocker(s), {} exception(s), {} concern(s), {} suggestion(s), {} note(s): {verdict}",
        s.blocker, s.exception, s.concern, s.suggestion, s.note
    )
}
