//! The paths policy over whole revisions.

use atr_checks::paths::{check_listing, check_paths};
use atr_checks::{CheckContext, CheckResult, CheckStatus};
use atr_core::classify::ClassificationPolicy;

use crate::support::*;

fn run(files: &[&str], ctx: &CheckContext) -> Vec<CheckResult> {
    check_listing(&files.iter().map(|s| s.to_string()).collect::<Vec<_>>(), ctx)
}

fn full(name: &str) -> [String; 3] {
    [name.to_owned(), format!("{name}.asc"), format!("{name}.sha512")]
}

#[test]
fn complete_release_is_all_notes_stating_classes() {
    let mut files: Vec<String> = full("apache-foo-1.0-src.tar.gz").into();
    files.extend(full("apache-foo-1.0-bin.tar.gz"));
    files.extend(["README".into(), "apache-foo-1.0.cdx.json".into(), "apache-foo-1.0.cdx.json.asc".into()]);
    let r = check_paths(&files.iter().map(|f| rel(f)).collect::<Vec<_>>(), &ctx());
    assert_all_notes(&r);
    let src = r.iter().find(|r| r.primary_rel_path == Some(rel("apache-foo-1.0-src.tar.gz"))).unwrap();
    assert_eq!(src.data["class"], "source");
    assert!(src.message.contains("source artifact") && src.message.contains("`src`"), "{}", src.message);
    let bin = r.iter().find(|r| r.primary_rel_path == Some(rel("apache-foo-1.0-bin.tar.gz"))).unwrap();
    assert_eq!(bin.data["class"], "binary");
}

#[test]
fn artifact_needs_signature_and_checksum() {
    let r = run(&["foo-1.0.tar.gz", "foo-1.0.tar.gz.sha256"], &ctx());
    assert_one(&r, CheckStatus::Blocker, &["no signature `foo-1.0.tar.gz.asc`", "gpg --armor --detach-sign"]);
    let r = run(&["foo-1.0.tar.gz", "foo-1.0.tar.gz.asc"], &ctx());
    assert_one(&r, CheckStatus::Blocker, &["no checksum", "sha512sum foo-1.0.tar.gz"]);
}

#[test]
fn no_source_artifact_is_a_blocker_naming_each_class_and_the_fix() {
    let mut files: Vec<String> = full("foo-1.0-bin.tar.gz").into();
    files.extend(full("foo-1.0.jar"));
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = run(&refs, &ctx());
    assert_one(
        &r,
        CheckStatus::Blocker,
        &[
            "No artifact is classified as a source package",
            "`foo-1.0-bin.tar.gz` was classified binary",
            "`foo-1.0.jar` was classified binary",
            "source artifact pattern",
        ],
    );
    let blocker = with_status(&r, CheckStatus::Blocker)[0];
    assert_eq!(blocker.primary_rel_path, None);
    assert_eq!(blocker.data["artifacts"].as_array().unwrap().len(), 2);
    // The project's policy fixes it.
    let policy = ClassificationPolicy::new(&["*-bin.tar.gz"], &[]).unwrap();
    let r = run(&refs, &ctx().with_policy(policy));
    assert_all_notes(&r);
    let r = run(&["README"], &ctx());
    assert_one(&r, CheckStatus::Blocker, &["no artifact at all"]);
}

#[test]
fn podling_names_need_incubating() {
    let files = full("apache-foo-1.0-src.tar.gz");
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let r = run(&refs, &ctx().with_podling(true));
    assert_one(&r, CheckStatus::Blocker, &["podling", "incubating"]);
    let files = full("apache-foo-1.0-incubating-src.tar.gz");
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    assert_all_notes(&run(&refs, &ctx().with_podling(true)));
}

#[test]
fn keys_hidden_junk_orphans_and_unknown_files() {
    let files = full("foo-1.0.tar.gz");
    let base: Vec<&str> = files.iter().map(String::as_str).collect();
    let with = |extra: &str| {
        let mut v = base.clone();
        v.push(extra);
        run(&v, &ctx())
    };
    assert_one(&with("KEYS"), CheckStatus::Concern, &["KEYS file", "Keys page"]);
    assert_one(&with(".htaccess"), CheckStatus::Blocker, &["hidden file", "delete it"]);
    assert_one(&with(".DS_Store"), CheckStatus::Concern, &["junk", "`.DS_Store`"]);
    assert_one(&with("sub/Thumbs.db"), CheckStatus::Concern, &["junk", "Thumbs.db"]);
    assert_one(&with("desktop.ini"), CheckStatus::Concern, &["junk"]);
    assert_one(&with("__MACOSX/._foo"), CheckStatus::Concern, &["junk", "__MACOSX"]);
    assert_one(
        &with("bar-1.0.tar.gz.prov"),
        CheckStatus::Concern,
        &["metadata for `bar-1.0.tar.gz`", "not in the release"],
    );
    assert_one(&with("bar-1.0.zip.asc.sha512"), CheckStatus::Concern, &["checksum for `bar-1.0.zip`"]);
    // An orphan `.asc` or `.sha512` is a blocker of the signature or hashing checker, not reported twice.
    assert!(with("bar-1.0.tar.gz.asc").iter().all(|r| r.primary_rel_path != Some(rel("bar-1.0.tar.gz.asc"))));
    assert_one(&with("notes.txt"), CheckStatus::Suggestion, &["unknown top-level file", "release policy"]);
    assert_one(&with("foo-1.0.tar.gz.mds"), CheckStatus::Suggestion, &["uncommon suffix `.mds`"]);
    assert_all_notes(&with("docs/notes.txt"));
    assert_all_notes(&with("foo-1.0.cdx.xml"));
    // Judged by the hashing and signature checkers, not twice.
    assert_all_notes(&with("foo-1.0.tar.gz.md5"));
    assert_all_notes(&with("foo-1.0.tar.gz.sig"));
}
