//! Checksum files over real files: formats, mismatch, legacy algorithms.

use atr_checks::CheckStatus;
use atr_checks::hashes::{HashAlgorithm, check_hash_file, hash_file};

use crate::support::*;

const DATA: &[u8] = b"hello release";

fn sums(r: &Release) -> (String, String) {
    let p = r.file("foo-1.0.tar.gz", DATA);
    (hash_file(&p, HashAlgorithm::Sha256).unwrap(), hash_file(&p, HashAlgorithm::Sha512).unwrap())
}

#[test]
fn every_common_format_verifies() {
    let r = Release::new();
    let (h256, h512) = sums(&r);
    let grouped: Vec<String> =
        h512.to_uppercase().as_bytes().chunks(8).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
    let cases = [
        ("foo-1.0.tar.gz.sha512", format!("{h512}  foo-1.0.tar.gz\n")),
        ("foo-1.0.tar.gz.sha512", format!("{h512} *foo-1.0.tar.gz\n")),
        ("foo-1.0.tar.gz.sha512", format!("{}\n", h512.to_uppercase())),
        ("foo-1.0.tar.gz.sha512", format!("SHA512 (foo-1.0.tar.gz) = {h512}\n")),
        (
            "foo-1.0.tar.gz.sha512",
            format!("foo-1.0.tar.gz: {}\n{}\n", grouped[..8].join(" "), grouped[8..].join(" ")),
        ),
        ("foo-1.0.tar.gz.sha512", format!("{}  other.tar.gz\n{h512}  foo-1.0.tar.gz\n", "0".repeat(128))),
        ("foo-1.0.tar.gz.sha256", format!("{h256}  foo-1.0.tar.gz\n")),
        ("foo-1.0.tar.gz.sha256", format!("SHA256 (foo-1.0.tar.gz) = {}\r\n", h256.to_uppercase())),
    ];
    for (name, text) in cases {
        r.file(name, &text);
        let res = check_hash_file(r.path(), &rel(name), &ctx());
        assert_eq!(res.len(), 1);
        assert_eq!(res[0].status, CheckStatus::Note, "{text:?}: {}", res[0].message);
        assert!(res[0].message.contains("matches"), "{}", res[0].message);
    }
}

#[test]
fn mismatch_is_a_blocker_showing_both_values() {
    let r = Release::new();
    let (_, h512) = sums(&r);
    let wrong = "ab".repeat(64);
    r.file("foo-1.0.tar.gz.sha512", format!("{wrong}  foo-1.0.tar.gz\n"));
    let res = check_hash_file(r.path(), &rel("foo-1.0.tar.gz.sha512"), &ctx());
    assert_one(&res, CheckStatus::Blocker, &[&h512, &wrong, "regenerate"]);
    assert_eq!(res[0].data["computed"], h512);
    assert_eq!(res[0].data["expected"], wrong);
}

#[test]
fn legacy_and_broken_files() {
    let r = Release::new();
    sums(&r);
    r.file("foo-1.0.tar.gz.md5", "d41d8cd98f00b204e9800998ecf8427e\n");
    let res = check_hash_file(r.path(), &rel("foo-1.0.tar.gz.md5"), &ctx());
    assert_one(&res, CheckStatus::Blocker, &["MD5", "forbids", "foo-1.0.tar.gz.sha512"]);
    for name in ["foo-1.0.tar.gz.sha1", "foo-1.0.tar.gz.sha"] {
        r.file(name, "da39a3ee5e6b4b0d3255bfef95601890afd80709\n");
        let res = check_hash_file(r.path(), &rel(name), &ctx());
        assert_one(&res, CheckStatus::Concern, &["SHA-1", "should not"]);
    }
    r.file("foo-1.0.tar.gz.sha512", "this is not a checksum\n");
    let res = check_hash_file(r.path(), &rel("foo-1.0.tar.gz.sha512"), &ctx());
    assert_one(&res, CheckStatus::Blocker, &["cannot be read", "line 1", "sha512sum"]);
    r.file("gone-1.0.tar.gz.sha512", format!("{}  gone-1.0.tar.gz\n", "a".repeat(128)));
    let res = check_hash_file(r.path(), &rel("gone-1.0.tar.gz.sha512"), &ctx());
    assert_one(&res, CheckStatus::Blocker, &["not in the release"]);
}

#[test]
fn agrees_with_sha512sum() {
    let r = Release::new();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let p = r.file("big.tar.gz", &data);
    let out = std::process::Command::new("sha512sum").arg(&p).output().unwrap();
    assert!(out.status.success());
    let theirs = String::from_utf8(out.stdout).unwrap();
    assert_eq!(theirs.split_whitespace().next().unwrap(), hash_file(&p, HashAlgorithm::Sha512).unwrap());
}
