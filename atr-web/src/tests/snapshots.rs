//! Snapshots of the main pages' HTML (one tag per line; tokens and times masked), so that layout
//! changes show up in review. Update with `INSTA_UPDATE=always cargo test -p atr-web` and read the diff.

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::path::RelPath;
use atr_storage::db::checks::ResultContext;

use super::TestApp;

/// Masks the CSRF token and RFC 3339 times and puts each tag on its own line.
fn normalise(html: &str) -> String {
    let token = super::csrf_from(html);
    let masked = html.replace(&token, "[csrf]");
    let bytes = masked.as_bytes();
    let mut out = String::with_capacity(masked.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_time = bytes.len() - i >= 20
            && bytes[i..i + 4].iter().all(u8::is_ascii_digit)
            && bytes[i + 4] == b'-'
            && bytes[i + 10] == b'T'
            && bytes[i + 19] == b'Z';
        if is_time {
            out.push_str("[time]");
            i += 20;
        } else {
            let c = masked[i..].chars().next().expect("i is at a char boundary");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out.replace("><", ">\n<")
}

#[tokio::test]
async fn main_pages() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    let tarball = atr_checks::testing::archive::ArchiveBuilder::source_release(
        atr_checks::archive::ArchiveFormat::TarGz,
        "apache-test-client-0.1-src",
    )
    .build();
    let files: [(&str, &[u8]); 3] = [
        ("apache-test-client-0.1-src.tar.gz", &tarball),
        ("apache-test-client-0.1-src.tar.gz.asc", b"signature"),
        ("README.txt", b"Read me.\n"),
    ];
    bob.upload(&app, &format!("/upload/test-client/0.1?csrf_token={token}"), &files, &[]).await;
    // The tarball is validated in quarantine, then the revision is checked.
    app.settle();
    let (p, v) = (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.1").unwrap());
    let n = app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap().unwrap();
    let tarball = RelPath::new("apache-test-client-0.1-src.tar.gz").unwrap();
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: n,
        created: atr_core::time::Timestamp::from_unix(0),
        inputs_hash: None,
        cached: false,
    };
    let results = [
        CheckResult::new(
            CheckerId::LICENSE_FILES,
            CheckStatus::Blocker,
            Some(tarball.clone()),
            "LICENSE is missing.",
        ),
        CheckResult::new(
            CheckerId::LICENSE_HEADERS,
            CheckStatus::Concern,
            Some(tarball.clone()),
            "No header.",
        )
        .with_member("src/a.c"),
        CheckResult::new(CheckerId::TARGZ_INTEGRITY, CheckStatus::Note, Some(tarball), "Read to the end."),
    ];
    app.storage.write(|tx| tx.insert_check_results(&ctx, &results)).unwrap();

    let (_, compose) = bob.get(&app, "/compose/test-client/0.1").await;
    insta::assert_snapshot!("compose", normalise(&compose));
    let (_, report) = bob.get(&app, "/report/test-client/0.1/apache-test-client-0.1-src.tar.gz").await;
    insta::assert_snapshot!("report", normalise(&report));
    let (_, home) = bob.get(&app, "/").await;
    insta::assert_snapshot!("home", normalise(&home));
    let (mut alice, _) = app.browser(Some("alice")).await;
    let (_, project) = alice.get(&app, "/projects/test-client").await;
    insta::assert_snapshot!("project", normalise(&project));
}
