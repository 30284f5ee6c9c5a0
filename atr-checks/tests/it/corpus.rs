//! The dev corpus: real Apache releases with their real upstream signatures and KEYS, compared with
//! `dev-corpus-truth.tsv` (gpg's verdicts) through the library and the `atr-check` command, and
//! file by file with Apache RAT's verdicts.
//!
//! The script that downloads the releases (once, into `target/dev-corpus`) and the expected
//! verdicts are in the project's surroundings (`corpus` in the shared folder); without them, or when the
//! download is impossible, each test prints one `SKIPPED:` line and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use crate::support::find;
use atr_checks::archive::{ArchiveCheckContext, ArchiveReport, ArchiveRole, MemberKind, check_archive};
use atr_checks::keys::Keyring;
use atr_checks::licence::MemberLicence;
use atr_checks::testing::surroundings::{SHARED, beside, skipped};
use atr_checks::{CheckContext, CheckStatus, CheckerId, Limits, check_directory};
use atr_core::path::RelPath;

const WHAT: &str = "the dev corpus of real Apache releases";

/// How to provide the corpus.
fn how() -> String {
    format!(
        "put the project's shared folder at {SHARED} beside the checkout, with its `corpus` folder, as CI \
         does; `make corpus` then downloads the releases into target/dev-corpus from the Debian mirror"
    )
}

/// One row of `dev-corpus-truth.tsv`, by column name.
type Row = BTreeMap<String, String>;

/// The fetched corpus: where its releases are, the expected verdicts, and RAT's verdicts.
struct Corpus {
    dir: PathBuf,
    rows: Vec<Row>,
    rat: PathBuf,
}

impl Corpus {
    /// The corpus, downloaded on first use by any test of the run; `None` after a `SKIPPED:` line
    /// when the surroundings are missing or the download failed.
    fn get() -> Option<&'static Corpus> {
        let script = beside("corpus/fetch-dev-corpus.sh", WHAT, &how())?;
        let truth = beside("corpus/dev-corpus-truth.tsv", WHAT, &how())?;
        let rat = beside("corpus/rat", WHAT, &how())?;
        static FETCHED: OnceLock<Result<Corpus, String>> = OnceLock::new();
        let fetched = FETCHED.get_or_init(|| {
            let text = std::fs::read_to_string(&truth)
                .map_err(|e| format!("cannot read {}: {e}", truth.display()))?;
            let rows = parse_truth(&text);
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dev-corpus");
            let complete = |dir: &Path| rows.iter().all(|r| artifact_path(dir, r).is_file());
            if !complete(&dir) {
                let out = std::process::Command::new("bash")
                    .arg(&script)
                    .arg(&dir)
                    .output()
                    .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
                if !out.status.success() || !complete(&dir) {
                    return Err(format!(
                        "{} could not download it (exit {:?}): {}",
                        script.display(),
                        out.status.code(),
                        String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
                    ));
                }
            }
            Ok(Corpus { dir, rows, rat })
        });
        match fetched {
            Ok(corpus) => Some(corpus),
            Err(why) => {
                skipped(WHAT, &format!("{why}; {}", how()));
                None
            }
        }
    }

    /// Every release: its truth row and the path of its artifact.
    fn releases(&self) -> impl Iterator<Item = (&Row, PathBuf)> {
        self.rows.iter().map(|r| (r, artifact_path(&self.dir, r)))
    }

    /// RAT's verdict on each file of release `name`: file path -> RAT's class (`AL`, `UNKNOWN`, ...).
    fn rat(&self, name: &str) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.rat.join(format!("{name}.tsv"))).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(class, path)| (path.to_owned(), class.to_owned()))
            .collect()
    }
}

fn parse_truth(text: &str) -> Vec<Row> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().map(|h| (*h).to_owned()).zip(l.split('\t').map(str::to_owned)).collect())
        .collect()
}

fn artifact_path(dir: &Path, row: &Row) -> PathBuf {
    dir.join(&row["name"]).join("release").join(&row["artifact"])
}

fn archive_report(path: &Path) -> ArchiveReport {
    let rel = RelPath::new(path.file_name().unwrap().to_str().unwrap()).unwrap();
    check_archive(path, &rel, &ArchiveCheckContext::new(ArchiveRole::Source))
}

#[test]
fn real_releases_match_gpg_verdicts() {
    let Some(corpus) = Corpus::get() else { return };
    // After every corpus signature was made, before the end of the test keys' lives.
    let ctx = CheckContext::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600)); // 2026-01-01
    assert_eq!(corpus.rows.len(), 4);
    for (row, _) in corpus.releases() {
        let name = &row["name"];
        let base = corpus.dir.join(name);
        let artifact = &row["artifact"];
        let ring = if base.join("KEYS").is_file() {
            Keyring::from_file(&base.join("KEYS"), &Limits::default()).unwrap()
        } else {
            Keyring::default()
        };
        if let Ok(processed) = row["keys_processed"].parse::<usize>() {
            assert_eq!(ring.certs().len() + ring.skipped().len(), processed, "{name}: keys processed");
            let v3: usize = row["keys_skipped_pgp2"].parse().unwrap();
            assert_eq!(ring.skipped().len(), v3, "{name}: {:?}", ring.skipped());
            assert!(
                ring.skipped().iter().all(|s| s.reason.contains("version 3")),
                "{name}: {:?}",
                ring.skipped()
            );
        }
        let report = check_directory(&base.join("release"), Some(&ring), &ctx).unwrap();
        // The command gives the same verdict as the library.
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_atr-check"));
        cmd.arg(base.join("release")).args(["--format", "json", "--jobs", "2", "--at", "1767225600"]);
        if base.join("KEYS").is_file() {
            cmd.arg("--keys").arg(base.join("KEYS"));
        }
        let out = cmd.output().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["summary"], serde_json::to_value(report.summary).unwrap(), "{name}");
        assert_eq!(out.status.code(), Some(if report.blocks_vote() { 1 } else { 0 }), "{name}");
        let hash = report.results.iter().find(|r| r.checker == CheckerId::HASHING).unwrap();
        assert_eq!(hash.status, CheckStatus::Note, "{name}: {}", hash.message);
        assert_eq!(hash.data["computed"], row["sha512"].as_str(), "{name}");
        let sig: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.checker == CheckerId::SIGNATURE && r.primary_rel_path.is_some())
            .collect();
        match row["gpg_verdict"].as_str() {
            "good" => {
                let good = sig
                    .iter()
                    .find(|r| r.status == CheckStatus::Note)
                    .unwrap_or_else(|| panic!("{name}: {sig:#?}"));
                assert_eq!(good.data["certificate_fingerprint"], row["gpg_signer_fprs"].as_str(), "{name}");
                assert!(sig.iter().all(|r| r.status != CheckStatus::Blocker), "{name}: {sig:#?}");
            }
            "no_pubkey" => {
                let b = sig
                    .iter()
                    .find(|r| r.status == CheckStatus::Blocker)
                    .unwrap_or_else(|| panic!("{name}: {sig:#?}"));
                assert!(b.message.contains("not in the committee's KEYS"), "{name}: {}", b.message);
                let issuers = b.data["issuers"].as_array().unwrap();
                assert!(
                    issuers.iter().any(|i| row["gpg_missing_keyids"].ends_with(i.as_str().unwrap())),
                    "{name}: {issuers:?}"
                );
            }
            "unsigned" => {
                assert!(sig.is_empty());
                let p = report
                    .results
                    .iter()
                    .find(|r| r.checker == CheckerId::PATHS && r.status == CheckStatus::Blocker)
                    .unwrap_or_else(|| panic!("{name}: {:#?}", report.results));
                assert!(
                    p.message.contains(&format!("no signature `{artifact}.asc`")),
                    "{name}: {}",
                    p.message
                );
            }
            other => panic!("unknown verdict {other}"),
        }
        if name == "avro-c-1.11.1" {
            assert!(
                sig.iter().any(|r| r.status == CheckStatus::Concern && r.message.contains("SHA-1")),
                "{sig:#?}"
            );
        }
        // Every artifact is a source package by ASF convention.
        assert!(!report.results.iter().any(|r| r.message.contains("No artifact is classified as a source")));
    }
}

// ---- the same releases, archive by archive, against Apache RAT ----

#[test]
fn dev_corpus_matches_the_expected_listing_and_licence_files() {
    let Some(corpus) = Corpus::get() else { return };
    for (t, path) in corpus.releases() {
        let name = &t["name"];
        let r = archive_report(&path);
        assert!(r.complete, "{name}: {:#?}", r.results);
        assert_eq!(r.listing.len().to_string(), t["members"], "{name} members");
        let files = r.listing.iter().filter(|m| m.kind == MemberKind::File).count();
        assert_eq!(files.to_string(), t["regular_files"], "{name} files");
        let size: u64 = r.listing.iter().filter(|m| m.kind == MemberKind::File).map(|m| m.size).sum();
        assert_eq!(size.to_string(), t["uncompressed_bytes"], "{name} bytes");
        find(&r, CheckStatus::Note, &format!("exactly one root directory, `{}`", t["top_level_dirs"]));
        find(
            &r,
            CheckStatus::Note,
            &format!(
                "`{}/{}` starts with the full Apache License 2.0 text",
                t["top_level_dirs"], t["license_files"]
            ),
        );
        find(
            &r,
            CheckStatus::Note,
            &format!("`{}/{}` has the product line", t["top_level_dirs"], t["notice_files"]),
        );
        // These are real, voted ASF releases: nothing in them blocks a vote.
        assert!(
            r.results.iter().all(|c| c.status != CheckStatus::Blocker),
            "{name}: {:#?}",
            r.results.iter().filter(|c| c.status == CheckStatus::Blocker).collect::<Vec<_>>()
        );
    }
}

#[test]
fn dev_corpus_licence_analysis_is_no_worse_than_apache_rat() {
    let Some(corpus) = Corpus::get() else { return };
    for (row, path) in corpus.releases() {
        let name = &row["name"];
        let rat_owned = corpus.rat(name);
        let rat: BTreeMap<&str, &str> = rat_owned.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
        let r = archive_report(&path);
        let ours: BTreeMap<&str, &MemberLicence> = r.licences.iter().map(|(p, v)| (p.as_str(), v)).collect();
        for res in
            r.results.iter().filter(|c| c.member_rel_path.is_none() || c.status == CheckStatus::Blocker)
        {
            eprintln!("{name}: {} {}: {}", res.status, res.checker, res.message);
        }
        // Every file RAT judged, we judged too.
        let missing: Vec<&&str> = rat.keys().filter(|p| !ours.contains_key(**p)).collect();
        assert!(missing.is_empty(), "{name}: files RAT saw that we did not classify: {missing:?}");
        // Every file RAT accepts as Apache-licensed, we accept.
        let rejected: Vec<(&str, &MemberLicence)> = rat
            .iter()
            .filter(|(_, c)| **c == "AL")
            .map(|(p, _)| (*p, ours[p]))
            .filter(|(_, v)| v.is_flagged())
            .collect();
        assert!(
            rejected.is_empty(),
            "{name}: RAT accepts these as Apache-licensed but we flag them: {rejected:?}"
        );
        // No more flagged files than RAT; a file RAT passes is flagged only when RAT passed it as
        // generated from a marker far down the file (where we take it for a generator's output string).
        let flagged: BTreeSet<&str> = ours.iter().filter(|(_, v)| v.is_flagged()).map(|(p, _)| *p).collect();
        let rat_flagged: BTreeSet<&str> =
            rat.iter().filter(|(_, c)| **c == "UNKNOWN").map(|(p, _)| *p).collect();
        let extra: Vec<(&&str, &str)> = flagged
            .iter()
            .filter(|p| !rat_flagged.contains(**p))
            .map(|p| (p, rat.get(*p).copied().unwrap_or("not judged by RAT")))
            .filter(|(_, c)| *c != "GEN")
            .collect();
        assert!(extra.is_empty(), "{name}: we flag files RAT does not: {extra:?}");
        assert!(flagged.len() <= rat_flagged.len());
        // On a release RAT fails, we find problems too.
        assert!(
            !rat_flagged.is_empty() && !flagged.is_empty(),
            "{name}: RAT flags {} files, we flag none",
            rat_flagged.len()
        );
        let accepted: Vec<String> = rat_flagged
            .iter()
            .filter(|p| !flagged.contains(**p))
            .map(|p| format!("{p}: {}", ours[p].family()))
            .collect();
        eprintln!("{name}: RAT's unknown files that we recognise: {accepted:#?}");
        eprintln!(
            "{name}: RAT flags {} files, we flag {} (the rest carry a licence or generated marker RAT does not know)",
            rat_flagged.len(),
            flagged.len()
        );
    }
}

#[test]
fn the_own_fixture_release_is_always_there() {
    let fixture = atr_checks::testing::surroundings::fixture_release();
    for name in [
        "apache-test-0.2.tar.gz",
        "apache-test-0.2.tar.gz.asc",
        "apache-test-0.2.tar.gz.sha512",
        "signer.asc",
    ] {
        assert!(fixture.join(name).is_file(), "{} is in the repository", fixture.join(name).display());
    }
}
