//! The compose phase through HTTP: start, upload (archives through quarantine, validated by the
//! real worker in-process), compose page, report, viewer, delete, hashes, revisions and diff,
//! delete draft; refusals (path traversal, size, CSRF, hostile archives) write nothing.

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::CheckResultIgnore;
use atr_core::path::RelPath;
use atr_storage::db::checks::ResultContext;
use salvo::http::StatusCode;

use super::{Browser, TestApp};

const TARBALL: &str = "apache-test-client-0.1-src.tar.gz";

fn keys() -> (ProjectKey, VersionKey) {
    (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.1").unwrap())
}

fn latest(app: &TestApp) -> Option<RevisionNumber> {
    let (p, v) = keys();
    app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap()
}

fn files(app: &TestApp) -> Vec<String> {
    let (p, v) = keys();
    let n = latest(app).unwrap();
    app.storage.revision_files(&p, &v, n).unwrap().iter().map(ToString::to_string).collect()
}

/// A real source tarball of `test-client` 0.1 (LICENSE, NOTICE, README and an ASF-headed Java file).
fn tarball() -> Vec<u8> {
    use atr_checks::archive::ArchiveFormat;
    use atr_checks::testing::archive::ArchiveBuilder;
    ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-test-client-0.1-src").build()
}

/// bob (a committer of `test`) starts `test-client` 0.1 and uploads a tarball, its signature and
/// README; the tarball waits in quarantine, so revision 00001 is still the latest.
async fn started_and_uploaded(app: &TestApp) -> (Browser, String) {
    let (mut bob, token) = app.browser(Some("bob")).await;
    let (status, page) = bob.get(app, "/start/test-client").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, _) = bob.post(app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(latest(app), Some(RevisionNumber::FIRST));
    let tarball = tarball();
    let files: [(&str, &[u8]); 3] = [
        (TARBALL, &tarball),
        ("apache-test-client-0.1-src.tar.gz.asc", b"-----BEGIN PGP SIGNATURE-----\n"),
        ("README.txt", b"Read me.\n"),
    ];
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, body) = bob.upload(app, &path, &files, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    (bob, token)
}

/// [`started_and_uploaded`], then the worker validates the upload (revision 00002) and checks it.
async fn started_with_files(app: &TestApp) -> (Browser, String) {
    let started = started_and_uploaded(app).await;
    app.settle();
    assert_eq!(latest(app), RevisionNumber::new(2).ok(), "the validated upload is revision 00002");
    started
}

/// The blocker, concern, suggestion and ignored counts in the compose page's row of `file`.
pub(super) fn row_counts(page: &str, file: &str) -> [u32; 4] {
    let row = &page[page.find(&format!("<code>{file}</code>")).unwrap_or_else(|| panic!("{file}\n{page}"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    let cells: Vec<u32> = row
        .split("<td")
        .skip(2)
        .take(4)
        .map(|c| c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()].parse().unwrap())
        .collect();
    cells.try_into().unwrap()
}

#[tokio::test]
async fn a_committer_starts_a_release_uploads_and_sees_the_compose_page() {
    let app = TestApp::new();
    let (mut bob, _) = started_and_uploaded(&app).await;

    // The tarball is in quarantine: no revision yet; the page says so and refreshes by itself.
    assert_eq!(latest(&app), Some(RevisionNumber::FIRST));
    let (status, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("the archives are validated now"), "the flash message\n{page}");
    assert!(page.contains("Uploads being validated"), "{page}");
    assert!(page.contains(&format!("Validating <code>{TARBALL}</code>, ")), "{page}");
    assert!(page.contains(r#"http-equiv="refresh""#), "refreshes while the upload is validated");
    let (p, v) = keys();
    let pending = app.storage.read(|tx| tx.quarantined_of_release(&p, &v)).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(app.storage.quarantine_dir(pending[0].id).join(TARBALL).is_file());

    // The worker validates it: one revision of the three files, then its checks run.
    let stats = app.settle();
    assert!(stats.completed >= 2, "validation and checks ran: {stats:?}");
    assert_eq!(latest(&app), RevisionNumber::new(2).ok(), "one upload of three files is one revision");
    assert_eq!(
        files(&app),
        ["README.txt", "apache-test-client-0.1-src.tar.gz", "apache-test-client-0.1-src.tar.gz.asc"]
    );
    assert!(!app.storage.quarantine_dir(pending[0].id).exists(), "the quarantine directory is gone");
    let tasks =
        app.storage.read(|tx| tx.tasks_for_revision(&p, &v, RevisionNumber::new(2).unwrap())).unwrap();
    assert!(
        tasks.iter().any(|t| t.spec.primary_rel_path.as_ref().is_some_and(|r| r.as_str() == TARBALL)),
        "{tasks:?}"
    );
    assert!(tasks.iter().all(|t| !t.status.is_ongoing()), "{tasks:?}");

    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(page.contains("Latest revision <strong>00002</strong>"), "{page}");
    assert!(page.contains("<td>source</td>") && page.contains("<td>signature</td>"), "classes shown\n{page}");
    assert!(page.contains("All checks of this revision are done."), "{page}");
    assert!(!page.contains("Uploads being validated") && !page.contains("Refused uploads"), "{page}");
    assert!(!page.contains(r#"http-equiv="refresh""#), "nothing left to wait for\n{page}");
    assert!(!page.contains("the archives are validated now"), "the flash message is gone after one view");
    let [blockers, ..] = row_counts(&page, "apache-test-client-0.1-src.tar.gz.asc");
    assert!(blockers > 0, "the fake signature is a blocker\n{page}");

    // The dashboard lists the draft under Compose.
    let (_, home) = bob.get(&app, "/").await;
    assert!(home.contains("Compose: </strong><a href=\"/compose/test-client/0.1\">0.1</a>"), "{home}");
}

#[tokio::test]
async fn a_hostile_archive_uploaded_through_the_form_never_becomes_a_revision() {
    use atr_checks::archive::ArchiveFormat;
    use atr_checks::testing::archive::{ArchiveBuilder, compress, gzip_bomb};
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let before = (latest(&app), files(&app));
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let traversal = compress(
        ArchiveFormat::TarGz,
        &ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-test-client-0.1-src")
            .file("apache-test-client-0.1-src/../../etc/cron.d/evil", "* * * * * root sh\n")
            .build_tar(),
    );
    let (status, body) = bob
        .upload(&app, &path, &[("evil-0.1.tar.gz", &traversal), ("evil-0.1.tar.gz.sha512", b"x\n")], &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _) = bob
        .upload(&app, &path, &[("apache-test-client-0.1.zip", b"a text file named like a zip")], &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // 32 MiB of zeros in about 32 KiB: past the compression ratio limit.
    let bomb = gzip_bomb("apache-test-client-0.1-src", 32 << 20);
    let (status, _) = bob.upload(&app, &path, &[("bomb-0.1.tar.gz", &bomb)], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(
        page.contains("Validating <code>evil-0.1.tar.gz</code>, <code>evil-0.1.tar.gz.sha512</code>"),
        "{page}"
    );

    app.settle();
    assert_eq!((latest(&app), files(&app)), before, "no revision, no file");
    let (p, v) = keys();
    let decided = app.storage.read(|tx| tx.quarantined_of_release(&p, &v)).unwrap();
    assert_eq!(decided.len(), 4, "the fixture upload and the three hostile ones");
    for q in &decided[..3] {
        assert_eq!(q.status, atr_storage::quarantine::QuarantineStatus::Failed, "{q:?}");
        assert!(!app.storage.quarantine_dir(q.id).exists(), "the files are gone");
    }
    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(!page.contains("Uploads being validated"), "{page}");
    let refused = &page[page.find("Refused uploads").unwrap_or_else(|| panic!("{page}"))..];
    for needle in [
        "Refused <code>evil-0.1.tar.gz</code>, <code>evil-0.1.tar.gz.sha512</code>",
        "../",
        "Refused <code>apache-test-client-0.1.zip</code>",
        "Refused <code>bomb-0.1.tar.gz</code>",
        "The upload was discarded because an archive failed validation.",
        "Fix the archive and upload it again.",
    ] {
        assert!(refused.contains(needle), "{needle}\n{refused}");
    }
    for q in &decided[..3] {
        let why = q.error.as_deref().unwrap();
        assert!(refused.contains(&maud::html! { (why) }.into_string()), "each explanation is shown: {why}");
    }
}

#[tokio::test]
async fn hostile_upload_paths_are_refused_and_nothing_is_written() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let before = (latest(&app), files(&app));
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    for name in ["../x", "/etc/x", "a/./b", "a//b", ".hidden", "a\\b"] {
        let (status, body) = bob.upload(&app, &path, &[(name, b"evil")], &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {body}");
        assert!(body.contains("is not a valid file path"), "{body}");
    }
    for dir in ["../up", "/abs", "a/./b", "bad\0dir"] {
        let (status, body) = bob.upload(&app, &path, &[("ok.txt", b"fine")], &[("directory", dir)]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{dir:?}: {body}");
    }
    // A good file next to a bad one: the whole upload is refused.
    let (status, _) = bob.upload(&app, &path, &[("good.txt", b"g"), ("../bad", b"b")], &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((latest(&app), files(&app)), before, "no revision, no file");
    assert_eq!(scratch_left(&app), Vec::<String>::new(), "no interim revision or staged file left");

    // A subdirectory that is a valid path is fine.
    let (status, _) = bob.upload(&app, &path, &[("notes.txt", b"n")], &[("directory", "docs")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(files(&app).contains(&"docs/notes.txt".to_owned()));
}

#[tokio::test]
async fn uploads_without_a_token_or_over_the_limit_are_refused() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let before = (latest(&app), files(&app));
    let (status, body) = bob.upload(&app, "/upload/test-client/0.1", &[("x.txt", b"x")], &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) =
        bob.upload(&app, "/upload/test-client/0.1?csrf_token=forged", &[("x.txt", b"x")], &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The token inside the form works too (read under the upload's size limit).
    let (status, _) =
        bob.upload(&app, "/upload/test-client/0.1", &[("y.txt", b"y")], &[("csrf_token", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let after_y = (latest(&app), files(&app));
    assert_ne!(after_y, before);
    let big = vec![b'z'; (1 << 20) + 1];
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, body) = bob.upload(&app, &path, &[("big.bin", &big)], &[]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body.contains("larger than the server accepts in one request (1 MiB); nothing was kept"),
        "{body}"
    );
    assert_eq!((latest(&app), files(&app)), after_y);
    assert_eq!(scratch_left(&app), Vec::<String>::new(), "the partial file is removed");
    // Without a Content-Length the limit holds while the body streams (the first file is kept
    // nowhere either).
    let body = multipart(&[("files", Some("ok.txt"), b"fine"), ("files", Some("big.bin"), &big)]);
    let req = salvo::test::TestClient::post(format!("{}{path}", super::BASE))
        .body(salvo::http::ReqBody::Boxed { inner: Box::pin(Chunked(body)), fuse_config: None })
        .add_header("content-type", "multipart/form-data; boundary=XyZ", true);
    let (status, _, body) = bob.send(&app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!((latest(&app), files(&app)), after_y);
    assert_eq!(scratch_left(&app), Vec::<String>::new(), "the partial file is removed");
    // A member of another committee may not upload.
    let (mut carol, carol_token) = app.browser(Some("carol")).await;
    let path = format!("/upload/test-client/0.1?csrf_token={carol_token}");
    let (status, body) = carol.upload(&app, &path, &[("c.txt", b"c")], &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("carol"), "the refusal names who and why: {body}");
    assert_eq!((latest(&app), files(&app)), after_y);
}

#[tokio::test]
async fn report_shows_results_by_checker_and_member_with_ignored_apart() {
    let app = TestApp::new();
    let (mut bob, _) = started_with_files(&app).await;
    let (p, v) = keys();
    let n = latest(&app).unwrap();
    let (_, compose) = bob.get(&app, "/compose/test-client/0.1").await;
    let [blockers, concerns, suggestions, ignored_before] = row_counts(&compose, TARBALL);
    let tarball = RelPath::new(TARBALL).unwrap();
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: n,
        created: crate::handlers::now(),
        inputs_hash: None,
        cached: false,
    };
    let results = [
        CheckResult::new(
            CheckerId::LICENSE_FILES,
            CheckStatus::Blocker,
            Some(tarball.clone()),
            "LICENSE is missing; add it.",
        ),
        CheckResult::new(
            CheckerId::LICENSE_HEADERS,
            CheckStatus::Concern,
            Some(tarball.clone()),
            "No licence header.",
        )
        .with_member("src/main.c"),
        CheckResult::new(
            CheckerId::TARGZ_STRUCTURE,
            CheckStatus::Suggestion,
            Some(tarball.clone()),
            "Odd top directory name.",
        ),
    ];
    app.storage.write(|tx| tx.insert_check_results(&ctx, &results)).unwrap();
    let ignore = CheckResultIgnore {
        id: None,
        asf_uid: atr_core::ids::Uid::new("alice").unwrap(),
        created: crate::handlers::now(),
        project_key: p.clone(),
        release_glob: None,
        revision_number: None,
        checker_glob: Some(CheckerId::TARGZ_STRUCTURE.name.to_owned()),
        primary_rel_path_glob: None,
        member_rel_path_glob: None,
        status: None,
        message_glob: Some("Odd top directory name.".to_owned()),
        reason: "We like our directory name.".to_owned(),
        expires: None,
    };
    app.storage.write(|tx| tx.insert_ignore(&ignore)).unwrap();

    let (status, page) = bob.get(&app, &format!("/report/test-client/0.1/{TARBALL}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let by_checker = page.find("Results by checker").unwrap();
    let by_member = page.find("Results by archive member").unwrap();
    let ignored = page.find("Ignored results").unwrap();
    let pos = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} missing\n{page}"));
    assert!((by_checker..by_member).contains(&pos("LICENSE is missing; add it.")));
    assert!((by_member..ignored).contains(&pos("src/main.c")));
    assert!(pos("Odd top directory name.") > ignored);

    let (_, compose) = bob.get(&app, "/compose/test-client/0.1").await;
    assert_eq!(
        row_counts(&compose, TARBALL),
        [blockers + 1, concerns + 1, suggestions, ignored_before + 1],
        "the ignored suggestion is counted apart\n{compose}"
    );
    let row = &compose[compose.find(&format!("<code>{TARBALL}</code>")).unwrap()..];
    assert!(row.contains(r#"<td class="blocker">"#) && row.contains(r#"<td class="concern">"#), "{row}");

    let (status, _) = bob.get(&app, "/report/test-client/0.1/no-such-file").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn viewer_shows_text_and_hex() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, _) = bob.upload(&app, &path, &[("blob.bin", &[0u8, 1, 2, 0xff, b'A'])], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = bob.get(&app, "/file/test-client/0.1/README.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<pre>Read me.\n</pre>"), "{page}");
    let (_, page) = bob.get(&app, "/file/test-client/0.1/blob.bin").await;
    assert!(page.contains("00000000  00 01 02 ff 41"), "{page}");
    assert!(page.contains("|....A|"), "{page}");
}

#[tokio::test]
async fn delete_with_companions_generate_hashes_and_diff_revisions() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let (status, _) = bob
        .post(
            &app,
            "/draft/hashgen/test-client/0.1",
            &format!("csrf_token={token}&path={TARBALL}&hash_type=sha512"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (p, v) = keys();
    let n = latest(&app).unwrap();
    let dir = app.storage.layout().revision(&p, &v, n);
    let sha = std::fs::read_to_string(dir.join(format!("{TARBALL}.sha512"))).unwrap();
    let expected = {
        use sha2::Digest as _;
        let d = sha2::Sha512::digest(std::fs::read(dir.join(TARBALL)).unwrap());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    assert_eq!(sha, format!("{expected}  {TARBALL}\n"));
    let (status, page) = bob
        .post(
            &app,
            "/draft/hashgen/test-client/0.1",
            &format!("csrf_token={token}&path={TARBALL}&hash_type=md5"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");

    let (status, _) = bob
        .post(&app, "/draft/delete-file/test-client/0.1", &format!("csrf_token={token}&path={TARBALL}"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(files(&app), ["README.txt"], "the signature and checksum went with the tarball");
    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(page.contains(&format!("Deleted {TARBALL} (with {TARBALL}.asc, {TARBALL}.sha512).")), "{page}");

    let (status, page) = bob.get(&app, "/revisions/test-client/0.1?from=00002&to=4").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("0 added, 2 removed, 0 changed, 1 unchanged."), "{page}");
    let (_, page) = bob.get(&app, "/revisions/test-client/0.1?from=1&to=3").await;
    assert!(page.contains("4 added, 0 removed"), "{page}");
    let (status, _) = bob.get(&app, "/revisions/test-client/0.1?from=1&to=99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_the_draft_removes_it_and_is_audited() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let (status, _) = bob.post(&app, "/draft/delete/test-client/0.1", &format!("csrf_token={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (p, v) = keys();
    assert!(app.storage.read(|tx| tx.release(&p, &v)).unwrap().is_none());
    assert!(!app.storage.layout().unfinished_release(&p, &v).exists());
    let audit = app.storage.read(|tx| tx.recent_audit_events(1)).unwrap();
    assert_eq!(audit[0].action, atr_core::model::AuditAction::ReleaseDelete);
    let (status, _) = bob.get(&app, "/compose/test-client/0.1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn starting_twice_or_with_a_bad_version_is_refused_with_the_reason() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let (status, page) =
        bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("already exists"), "{page}");
    let (status, page) =
        bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=..")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
}

#[tokio::test]
async fn archives_are_listed_in_the_viewer_and_their_members_diffed() {
    use atr_checks::archive::ArchiveFormat;
    use atr_checks::testing::archive::ArchiveBuilder;
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let name = "apache-test-client-0.1-bin.tar.gz";
    let v1 = ArchiveBuilder::new(ArchiveFormat::TarGz).file("x/README", "one").file("x/old.txt", "o").build();
    let v2 = ArchiveBuilder::new(ArchiveFormat::TarGz).file("x/README", "two").file("x/new.txt", "n").build();
    let (status, _) = bob.upload(&app, &path, &[(name, &v1)], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.settle();
    let first = latest(&app).unwrap();
    assert_eq!(first, RevisionNumber::new(3).unwrap());
    let (_, page) = bob.get(&app, &format!("/file/test-client/0.1/{name}")).await;
    assert!(page.contains("Archive members (") && page.contains("<code>x/old.txt</code>"), "{page}");
    let (status, _) = bob.upload(&app, &path, &[(name, &v2)], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.settle();
    let second = latest(&app).unwrap();
    assert_eq!(second, RevisionNumber::new(4).unwrap());
    let (_, page) = bob.get(&app, &format!("/revisions/test-client/0.1?from={first}&to={second}")).await;
    assert!(page.contains("0 added, 0 removed, 1 changed, 3 unchanged."), "{page}");
    assert!(page.contains("1 members added, 1 removed, 1 changed."), "{page}");
    assert!(
        page.contains("Added: <code>x/new.txt</code>") && page.contains("Changed: <code>x/README</code>"),
        "{page}"
    );
}

/// The compose page offers "Generate SBOM" for a source archive without one; the form queues the
/// task (a member of another committee is refused), the real worker adds
/// `<archive>.cdx.json` in a new revision, its check runs, and the button is gone.
#[tokio::test]
async fn generate_sbom_from_the_compose_page() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(page.contains("Generate SBOM"), "{page}");
    assert_eq!(page.matches("Generate SBOM").count(), 1, "only the source archive gets the button: {page}");

    let (mut carol, carol_token) = app.browser(Some("carol")).await;
    let form = format!("csrf_token={carol_token}&path={TARBALL}");
    let (status, _) = carol.post(&app, "/draft/sbom/test-client/0.1", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        bob.post(&app, "/draft/sbom/test-client/0.1", &format!("csrf_token={token}&path=README.txt")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("is not a source archive"), "{body}");
    assert_eq!(latest(&app), RevisionNumber::new(2).ok(), "refusals queue nothing");

    let (status, _) =
        bob.post(&app, "/draft/sbom/test-client/0.1", &format!("csrf_token={token}&path={TARBALL}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stats = app.settle();
    assert_eq!(stats.failed_attempts, 0, "{stats:?}");
    assert_eq!(latest(&app), RevisionNumber::new(3).ok(), "the SBOM arrives in a new revision");
    let sbom = format!("{TARBALL}.cdx.json");
    assert!(files(&app).contains(&sbom), "{:?}", files(&app));
    let (p, v) = keys();
    let bytes =
        std::fs::read(app.storage.layout().revision(&p, &v, RevisionNumber::new(3).unwrap()).join(&sbom))
            .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["bomFormat"], "CycloneDX");
    assert_eq!(doc["specVersion"], "1.6");

    let (_, page) = bob.get(&app, "/compose/test-client/0.1").await;
    assert!(!page.contains("Generate SBOM"), "{page}");
    let (status, body) =
        bob.post(&app, "/draft/sbom/test-client/0.1", &format!("csrf_token={token}&path={TARBALL}")).await;
    assert_eq!(status, StatusCode::CONFLICT, "a second request names the existing SBOM: {body}");
    assert!(body.contains("exists already"), "{body}");
}

/// What is left in the storage handle's scratch area (interim revisions, staged uploads).
fn scratch_left(app: &TestApp) -> Vec<String> {
    let mut left = Vec::new();
    for session in std::fs::read_dir(app.storage.layout().tmp()).unwrap().flatten() {
        for e in std::fs::read_dir(session.path()).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name != "session.lock" {
                left.push(name);
            }
        }
    }
    left
}

/// A multipart body (boundary `XyZ`) of `(field, file name, content)` parts in this order.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, file, content) in parts {
        let disposition = match file {
            Some(f) => format!("form-data; name=\"{field}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{field}\""),
        };
        body.extend_from_slice(format!("--XyZ\r\nContent-Disposition: {disposition}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

/// A request body sent in 1000-byte frames with no length known in advance (chunked).
struct Chunked(Vec<u8>);

impl hyper::body::Body for Chunked {
    type Data = hyper::body::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.0.is_empty() {
            return std::task::Poll::Ready(None);
        }
        let n = self.0.len().min(1000);
        let head: Vec<u8> = self.0.drain(..n).collect();
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(head.into()))))
    }
}

#[tokio::test]
async fn a_browser_form_streams_files_in_field_order_into_one_revision() {
    let app = TestApp::new();
    let (mut bob, token) = started_with_files(&app).await;
    let path = format!("{}/upload/test-client/0.1?csrf_token={token}", super::BASE);
    let send = |body: Vec<u8>| {
        salvo::test::TestClient::post(path.clone()).body(body).add_header(
            "content-type",
            "multipart/form-data; boundary=XyZ",
            true,
        )
    };
    // As browsers send the upload page: the files first, the directory after them, and an empty
    // file input of a second field ignored.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let body = multipart(&[
        ("files", Some("a.txt"), b"alpha\n"),
        ("files", Some("big.bin"), &big),
        ("files", Some(""), b""),
        ("directory", None, b"extra/docs"),
    ]);
    let before = latest(&app).unwrap();
    let (status, _, page) = bob.send(&app, send(body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let n = latest(&app).unwrap();
    assert_eq!(n.get(), before.get() + 1, "one revision");
    let (p, v) = keys();
    let dir = app.storage.layout().revision(&p, &v, n);
    assert_eq!(std::fs::read(dir.join("extra/docs/a.txt")).unwrap(), b"alpha\n");
    assert_eq!(std::fs::read(dir.join("extra/docs/big.bin")).unwrap(), big);
    assert!(files(&app).contains(&"README.txt".to_owned()), "the earlier files stay");
    let audit = app.storage.read(|tx| tx.audit_events_for(&format!("test-client-0.1 {n}"))).unwrap();
    assert_eq!(audit[0].details["description"], "Upload of 2 files");
    assert_eq!(scratch_left(&app), Vec::<String>::new());

    // A name twice, a bad name after a good file, a bad directory after the files: refused, and
    // nothing of the good files is kept.
    for (parts, why) in [
        (vec![("files", Some("x.txt"), &b"1"[..]), ("files", Some("x.txt"), b"2")], "appears twice"),
        (
            vec![("files", Some("good.txt"), &b"g"[..]), ("files", Some("../bad"), b"b")],
            "is not a valid file path",
        ),
        (
            vec![("files", Some("good.txt"), &b"g"[..]), ("directory", None, b"../up")],
            "is not a valid file path",
        ),
    ] {
        let (status, _, page) = bob.send(&app, send(multipart(&parts))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {page}");
        assert!(page.contains(why), "{page}");
        assert_eq!(latest(&app), Some(n), "{why}: no revision");
        assert_eq!(scratch_left(&app), Vec::<String>::new(), "{why}: nothing staged is left");
    }
    // Only an empty file input: nothing to upload.
    let (status, _, page) = bob.send(&app, send(multipart(&[("files", Some(""), b"")]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("holds no file"), "{page}");
}
