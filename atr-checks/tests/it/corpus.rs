//! The dev corpus: real Apache releases with their real upstream signatures and KEYS, compared with
//! `dev-corpus-truth.tsv` (gpg's verdicts), through the library and the `atr-check` command. Downloads once into target/dev-corpus; skipped, with a
//! printed reason, only when the download is impossible.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use atr_checks::keys::Keyring;
use atr_checks::{CheckContext, CheckStatus, CheckerId, Limits, check_directory};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/fetch-dev-corpus.sh");
const TRUTH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/dev-corpus-truth.tsv");

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dev-corpus");
    let complete =
        |d: &Path| d.join("commons-compress-1.22/meta").is_file() && d.join("avro-c-1.11.1/meta").is_file();
    if complete(&dir) {
        return Some(dir);
    }
    let out = std::process::Command::new("bash").arg(SCRIPT).arg(&dir).output();
    match out {
        Ok(o) if o.status.success() && complete(&dir) => Some(dir),
        Ok(o) => {
            eprintln!(
                "SKIPPED dev-corpus test: {SCRIPT} could not download the corpus (exit {:?}): {}",
                o.status.code(),
                String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
            );
            None
        }
        Err(e) => {
            eprintln!("SKIPPED dev-corpus test: cannot run {SCRIPT}: {e}");
            None
        }
    }
}

fn truth() -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(TRUTH).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split('\t').map(str::to_owned)).collect())
        .collect()
}

#[test]
fn real_releases_match_gpg_verdicts() {
    let Some(dir) = corpus_dir() else { return };
    // After every corpus signature was made, before the end of the test keys' lives.
    let ctx = CheckContext::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600)); // 2026-01-01
    let rows = truth();
    assert_eq!(rows.len(), 4);
    for row in rows {
        let name = &row["name"];
        let base = dir.join(name);
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
