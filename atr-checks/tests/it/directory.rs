//! Whole-directory checks: the project's fixture release (tests/fixtures), a complete release, a broken one, parallel runs.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use atr_checks::archive::ArchiveFormat;
use atr_checks::keys::Keyring;
use atr_checks::testing::archive::ArchiveBuilder;
use atr_checks::testing::{TestKey, keys_file};
use atr_checks::{
    CheckContext, CheckStatus, CheckerId, Limits, RunOptions, check_directory, check_directory_with,
};

use atr_core::model::MissingSbom;

use crate::support::*;

#[test]
fn fixture_release_key_signature_and_checksum_verify() {
    let fx = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2"));
    let r = Release::new();
    for f in ["apache-test-0.2.tar.gz", "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"] {
        std::fs::copy(fx.join(f), r.path().join(f)).unwrap();
    }
    let ring = Keyring::from_file(&fx.join("signer.asc"), &Limits::default()).unwrap();
    assert_eq!(ring.certs().len(), 1);
    let ctx = CheckContext::new(UNIX_EPOCH + Duration::from_secs(1_779_100_505 + 86_400));
    let report = check_directory(r.path(), Some(&ring), &ctx).unwrap();
    let sig = report.results.iter().find(|x| x.checker == CheckerId::SIGNATURE).unwrap();
    assert_eq!(sig.status, CheckStatus::Note, "{}", sig.message);
    assert_eq!(sig.data["certificate_fingerprint"], "9F6E155B254C3A3CD6270E040F15DA58C059358F");
    assert_eq!(sig.data["asf_uid"], "test");
    let hash = report.results.iter().find(|x| x.checker == CheckerId::HASHING).unwrap();
    assert_eq!(hash.status, CheckStatus::Note, "{}", hash.message);
    assert_eq!(report.summary.blocker, 0, "{:#?}", report.results);
    // The fixture has no SBOM: that is the one suggestion (the server's default policy, as ATR's),
    // nothing else.
    let others: Vec<_> = report.results.iter().filter(|x| x.status != CheckStatus::Note).collect();
    assert_eq!(others.len(), 1, "{others:#?}");
    assert_eq!((others[0].checker, others[0].status), (CheckerId::SBOM, CheckStatus::Suggestion));
    assert_eq!(others[0].data["sbom"], "apache-test-0.2.tar.gz.cdx.json");
}

fn tgz(root: &str) -> Vec<u8> {
    ArchiveBuilder::source_release(ArchiveFormat::TarGz, root).build()
}

#[test]
fn complete_release_passes_and_broken_one_lists_each_problem() {
    let key = asf_key();
    let ring = Keyring::parse(keys_file(&[key]).as_bytes());
    let r = Release::new();
    r.signed("apache-foo-1.0-src.tar.gz", &tgz("apache-foo-1.0"), key);
    r.signed(
        "apache-foo-1.0-src.zip",
        &ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-foo-1.0").build(),
        key,
    );
    r.file("README", "read me");
    // This project keeps a missing SBOM a suggestion (the release policy's setting).
    let report =
        check_directory(r.path(), Some(&ring), &ctx().with_missing_sbom(MissingSbom::Suggestion)).unwrap();
    assert!(!report.has_blockers(), "{:#?}", report.results);
    assert_eq!(report.summary.concern + report.summary.exception, 0, "{:#?}", report.results);
    assert_eq!(report.summary.suggestion, 2, "each source archive lacks its SBOM: {:#?}", report.results);
    // Archive checks ran on both archives, and parity compared them.
    assert!(report.results.iter().any(|x| x.checker == CheckerId::PARITY && x.status == CheckStatus::Note));
    assert!(report.results.iter().any(|x| x.checker == CheckerId::LICENSE_FILES));
    assert_eq!(report.results.iter().filter(|x| x.checker == CheckerId::SIGNATURE).count(), 2);
    assert_eq!(report.results.iter().filter(|x| x.checker == CheckerId::HASHING).count(), 2);

    // Break it in several ways at once.
    r.file(
        "apache-foo-1.0-src.zip",
        ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-foo-1.0")
            .file("apache-foo-1.0/extra.txt", "x")
            .build(),
    );
    r.file("KEYS", keys_file(&[key]));
    r.file(".DS_Store", b"junk");
    r.file("apache-foo-1.0-src.tar.gz.md5", "d41d8cd98f00b204e9800998ecf8427e");
    let report = check_directory(r.path(), Some(&ring), &ctx()).unwrap();
    let blockers: Vec<_> = report.results.iter().filter(|x| x.status == CheckStatus::Blocker).collect();
    assert_eq!(blockers.len(), 3, "{blockers:#?}"); // bad signature, checksum mismatch, md5
    assert!(
        blockers.iter().any(|b| b.checker == CheckerId::SIGNATURE && b.message.contains("does not match"))
    );
    assert!(blockers.iter().any(|b| b.checker == CheckerId::HASHING && b.message.contains("checksum of")));
    assert!(blockers.iter().any(|b| b.message.contains("MD5")));
    let concerns: Vec<_> = report.results.iter().filter(|x| x.status == CheckStatus::Concern).collect();
    assert!(concerns.iter().any(|c| c.message.contains("KEYS file")), "{concerns:#?}");
    assert!(concerns.iter().any(|c| c.message.contains(".DS_Store")), "{concerns:#?}");
    assert!(concerns.iter().any(|c| c.checker == CheckerId::PARITY), "{concerns:#?}"); // the zip gained a file
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"]["blocker"], 3);
    assert_eq!(json["results"].as_array().unwrap().len(), report.results.len());
}

#[test]
fn parallel_run_gives_the_same_report_and_reports_progress() {
    let key = asf_key();
    let ring = Keyring::parse(keys_file(&[key]).as_bytes());
    let r = Release::new();
    for i in 0..8 {
        r.signed(&format!("apache-foo-1.{i}.tar.gz"), &tgz(&format!("apache-foo-1.{i}")), key);
    }
    let serial = check_directory(r.path(), Some(&ring), &ctx()).unwrap();
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |p: &atr_checks::Progress| seen.lock().unwrap().push(p.done);
    let opts = RunOptions::default().with_jobs(4).with_progress(&progress);
    let parallel = check_directory_with(r.path(), Some(&ring), &ctx(), &opts).unwrap();
    assert_eq!(serial, parallel);
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    assert_eq!(seen, (1..=24).collect::<Vec<_>>()); // signature, checksum and archive of each
}

#[test]
fn without_keys_signatures_are_exceptions_not_passes() {
    let r = Release::new();
    r.signed("apache-foo-1.0.tar.gz", b"source", asf_key());
    let report = check_directory(r.path(), None, &ctx()).unwrap();
    assert_one(&report.results, CheckStatus::Exception, &["no KEYS file was given", "--keys"]);
    assert!(report.blocks_vote());
}

#[test]
fn links_are_reported_and_missing_directory_is_an_error() {
    let r = Release::new();
    r.signed("apache-foo-1.0.tar.gz", &tgz("apache-foo-1.0"), asf_key());
    std::os::unix::fs::symlink("/etc/passwd", r.path().join("link.tar.gz")).unwrap();
    let ring = Keyring::parse(keys_file(&[asf_key()]).as_bytes());
    let report = check_directory(r.path(), Some(&ring), &ctx()).unwrap();
    assert_one(&report.results, CheckStatus::Blocker, &["symbolic link"]);
    let err = check_directory(&r.path().join("nope"), Some(&ring), &ctx()).unwrap_err();
    assert!(err.to_string().contains("not a directory"), "{err}");
}

#[test]
fn skipped_keys_are_reported_as_notes() {
    let k = TestKey::ed25519("K <k@apache.org>");
    let mut text = keys_file(&[&k]);
    text.push_str("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbroken\n-----END PGP PUBLIC KEY BLOCK-----\n");
    let ring = Keyring::parse(text.as_bytes());
    let r = Release::new();
    r.signed("apache-foo-1.0.tar.gz", &tgz("apache-foo-1.0"), &k);
    let report = check_directory(r.path(), Some(&ring), &ctx()).unwrap();
    assert!(!report.has_blockers());
    assert!(
        report.results.iter().any(|x| x.primary_rel_path.is_none() && x.message.contains("KEYS block 2"))
    );
}
