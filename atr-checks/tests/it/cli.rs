//! The `atr-check` command: exit codes, text and JSON output, help.

use std::path::Path;
use std::process::{Command, Output};

use atr_checks::archive::ArchiveFormat;
use atr_checks::testing::archive::ArchiveBuilder;
use atr_checks::testing::keys_file;

use crate::support::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");
const FIXTURE_AT: &str = "1779186905"; // one day after the fixture was signed

fn atr_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atr-check")).args(args).env("NO_COLOR", "1").output().unwrap()
}

fn fixture_copy() -> Release {
    let r = Release::new();
    for f in ["apache-test-0.2.tar.gz", "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"] {
        std::fs::copy(Path::new(FIXTURE).join(f), r.path().join(f)).unwrap();
    }
    r
}

fn keys() -> String {
    format!("{FIXTURE}/signer.asc")
}

#[test]
fn fixture_release_passes_with_exit_0() {
    let r = fixture_copy();
    let out = atr_check(&[r.path().to_str().unwrap(), "--keys", &keys(), "--at", FIXTURE_AT]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("apache-test-0.2.tar.gz.asc [ok]"), "{text}");
    // The fixture has no SBOM: a suggestion under the default setting (as ATR), a concern to
    // acknowledge when the project's policy says so.
    assert!(text.contains("0 blocker(s)") && text.contains("ready for a vote"), "{text}");
    assert!(text.contains("has no SBOM beside it"), "{text}");
    for (level, verdict) in [("concern", "concerns must be acknowledged"), ("suggestion", "ready for a vote")]
    {
        let at = [r.path().to_str().unwrap(), "--keys", &keys(), "--at", FIXTURE_AT, "--missing-sbom", level];
        let out = atr_check(&at);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{level}: {text}");
        assert!(text.contains("0 blocker(s)") && text.contains(verdict), "{level}: {text}");
    }
    assert!(!text.contains("\x1b["), "no colour when not on a terminal: {text}");
    let verbose =
        atr_check(&[r.path().to_str().unwrap(), "--keys", &keys(), "--at", FIXTURE_AT, "-v", "--jobs", "3"]);
    let vtext = String::from_utf8_lossy(&verbose.stdout);
    assert!(vtext.contains("good signature") && vtext.contains("signature.check"), "{vtext}");
}

#[test]
fn blockers_exit_1_and_json_has_exactly_the_api_fields() {
    let r = fixture_copy();
    r.file("apache-test-0.2.tar.gz.sha512", format!("{}  apache-test-0.2.tar.gz\n", "0".repeat(128)));
    let out =
        atr_check(&[r.path().to_str().unwrap(), "--keys", &keys(), "--at", FIXTURE_AT, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_object().unwrap().keys().collect::<Vec<_>>(), ["results", "summary"]);
    assert_eq!(v["summary"]["blocker"], 1);
    for key in ["blocker", "concern", "exception", "note", "suggestion"] {
        assert!(v["summary"][key].is_u64(), "{key}");
    }
    let results = v["results"].as_array().unwrap();
    for r in results {
        let mut keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["checker", "data", "member_rel_path", "message", "primary_rel_path", "status"]);
    }
    let blocker = results.iter().find(|r| r["status"] == "blocker").unwrap();
    assert_eq!(blocker["checker"], "atr.tasks.checks.hashing.check");
    assert_eq!(blocker["primary_rel_path"], "apache-test-0.2.tar.gz.sha512");
}

#[test]
fn text_output_groups_by_file_and_names_problems() {
    let key = asf_key();
    let r = Release::new();
    r.signed(
        "apache-foo-1.0-src.tar.gz",
        &ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0").build(),
        key,
    );
    r.file(
        "apache-foo-1.0-bin.tar.gz",
        ArchiveBuilder::new(ArchiveFormat::TarGz).file("apache-foo-1.0/LICENSE", "x").build(),
    );
    let keys_path = r.path().join("../KEYS-for-cli-test");
    std::fs::write(&keys_path, keys_file(&[key])).unwrap();
    let out =
        atr_check(&[r.path().to_str().unwrap(), "--keys", keys_path.to_str().unwrap(), "--at", "1738281600"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("apache-foo-1.0-bin.tar.gz [blocker]"), "{text}");
    assert!(text.contains("no signature `apache-foo-1.0-bin.tar.gz.asc`"), "{text}");
    assert!(text.contains("a vote cannot start"), "{text}");
    std::fs::remove_file(keys_path).unwrap();
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = atr_check(&["/nonexistent/release"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
    let r = fixture_copy();
    let out = atr_check(&[r.path().to_str().unwrap(), "--keys", "/nonexistent/KEYS"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/KEYS"));
    assert_eq!(atr_check(&["--format", "xml", "."]).status.code(), Some(2));
    assert_eq!(atr_check(&[]).status.code(), Some(2));
    assert_eq!(atr_check(&[".", "--jobs", "0"]).status.code(), Some(2));
    let out = atr_check(&[".", "--source", "[unclosed"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("closing `]`"));
}

#[test]
fn without_keys_signatures_are_not_silently_passed() {
    let r = fixture_copy();
    let out = atr_check(&[r.path().to_str().unwrap(), "--at", FIXTURE_AT]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--keys"));
}

#[test]
fn help_explains_each_option() {
    let out = atr_check(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for part in [
        "--keys",
        "--podling",
        "--format",
        "--jobs",
        "--source",
        "--binary",
        "--at",
        "--missing-sbom",
        "Exit status",
        "KEYS file",
    ] {
        assert!(help.contains(part), "help lacks {part}: {help}");
    }
}

#[test]
fn many_member_findings_are_summarised_unless_verbose() {
    let key = asf_key();
    let r = Release::new();
    let mut b = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-foo-1.0");
    for i in 0..12 {
        b = b.file(&format!("apache-foo-1.0/src/F{i}.java"), "class F {}\n");
    }
    r.signed("apache-foo-1.0-src.tar.gz", &b.build(), key);
    let keys_path = r.path().join("../KEYS-for-cli-summary-test");
    std::fs::write(&keys_path, keys_file(&[key])).unwrap();
    let args = [r.path().to_str().unwrap(), "--keys", keys_path.to_str().unwrap(), "--at", "1738281600"];
    let text = String::from_utf8(atr_check(&args).stdout).unwrap();
    assert!(text.contains("… and 7 more archive members"), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("apache-foo-1.0/src/F")).count(), 5, "{text}");
    let mut verbose_args = args.to_vec();
    verbose_args.push("--verbose");
    let verbose = String::from_utf8(atr_check(&verbose_args).stdout).unwrap();
    assert!(!verbose.contains("more archive members"), "{verbose}");
    assert!(verbose.contains("F11.java"), "{verbose}");
    std::fs::remove_file(keys_path).unwrap();
}
