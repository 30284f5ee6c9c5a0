//! The compose page's cache (`cache.rs`) never serves a stale page: after every kind of change a
//! release's compose page shows (task finished, new check result, ignore added and removed,
//! upload pending, accepted and refused, file deleted, project changed, draft deleted and started
//! again, phase change) the next view shows it, while an unchanged release is served from the
//! cache. Also: ignore expiry, the bound on memory, the file list's pages and filters, no session
//! data in the cached part, and the per-file actions page that replaced the per-row forms.

use std::sync::Arc;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_core::model::{CheckResultIgnore, ReleasePhase};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use atr_storage::NewRevision;
use atr_storage::db::checks::ResultContext;
use salvo::http::StatusCode;

use super::compose::row_counts;
use super::{Browser, TestApp};

const TARBALL: &str = "apache-test-client-0.1-src.tar.gz";

fn keys(version: &str) -> (ProjectKey, VersionKey) {
    (ProjectKey::new("test-client").unwrap(), VersionKey::new(version).unwrap())
}

fn latest(app: &TestApp, version: &str) -> RevisionNumber {
    let (p, v) = keys(version);
    app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap().unwrap()
}

/// Stores `results` about the latest revision of 0.1 as a worker would.
fn insert_results(app: &TestApp, results: &[CheckResult]) {
    let (p, v) = keys("0.1");
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: latest(app, "0.1"),
        created: crate::handlers::now(),
        inputs_hash: None,
        cached: false,
    };
    app.storage.write(|tx| tx.insert_check_results(&ctx, results)).unwrap();
}

async fn compose(bob: &mut Browser, app: &TestApp, version: &str) -> String {
    let (status, page) = bob.get(app, &format!("/compose/test-client/{version}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// The cached data of 0.1 as the handler would get it at `now`.
fn cached(app: &TestApp, version: &str, now: Timestamp) -> Arc<crate::cache::ComposeData> {
    let (p, v) = keys(version);
    app.app.pages.compose(&app.storage, &p, &v, now, 5).unwrap()
}

#[tokio::test]
async fn the_compose_page_follows_every_change() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    let (status, _) = bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let upload = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, _) = bob.upload(&app, &upload, &[("README.txt", b"Read me.\n")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Checks queued: the page says so and refreshes; an unchanged release is served from the cache.
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("checks are running") && page.contains(r#"http-equiv="refresh""#), "{page}");
    let now = crate::handlers::now();
    assert!(
        Arc::ptr_eq(&cached(&app, "0.1", now), &cached(&app, "0.1", now)),
        "a second view is a cache hit"
    );
    let before = cached(&app, "0.1", now);

    // Tasks finished.
    app.settle();
    assert!(!Arc::ptr_eq(&before, &cached(&app, "0.1", now)), "finished tasks change the stamp");
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("All checks of this revision are done.") && !page.contains("http-equiv"), "{page}");
    let base = row_counts(&page, "README.txt");

    // New check results.
    let readme = RelPath::new("README.txt").unwrap();
    insert_results(
        &app,
        &[
            CheckResult::new(
                CheckerId::LICENSE_FILES,
                CheckStatus::Blocker,
                Some(readme.clone()),
                "Blocked.",
            ),
            CheckResult::new(CheckerId::PATHS, CheckStatus::Concern, Some(readme.clone()), "Odd name."),
        ],
    );
    let page = compose(&mut bob, &app, "0.1").await;
    assert_eq!(row_counts(&page, "README.txt"), [base[0] + 1, base[1] + 1, base[2], base[3]], "{page}");
    assert!(page.contains("1 file has blockers"), "{page}");

    // An ignore rule added, then removed (through the ignores form, as alice).
    let (mut alice, alice_token) = app.browser(Some("alice")).await;
    let form = format!("csrf_token={alice_token}&message_glob=Odd+name.&reason=We+like+it");
    let (status, body) = alice.post(&app, "/ignores/test-client/add", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let page = compose(&mut bob, &app, "0.1").await;
    assert_eq!(row_counts(&page, "README.txt"), [base[0] + 1, base[1], base[2], base[3] + 1], "{page}");
    assert!(page.contains("1 ignore rules"), "{page}");
    let (p, _) = keys("0.1");
    let id = app.storage.read(|tx| tx.ignores(&p)).unwrap()[0].id.unwrap();
    let (status, _) =
        alice.post(&app, "/ignores/test-client/delete", &format!("csrf_token={alice_token}&id={id}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert_eq!(row_counts(&page, "README.txt"), [base[0] + 1, base[1] + 1, base[2], base[3]], "{page}");
    assert!(page.contains("0 ignore rules"), "{page}");

    // An upload waiting in quarantine, then accepted into a new revision.
    let tarball = atr_checks::testing::archive::ArchiveBuilder::source_release(
        atr_checks::archive::ArchiveFormat::TarGz,
        "apache-test-client-0.1-src",
    )
    .build();
    let (status, _) = bob.upload(&app, &upload, &[(TARBALL, &tarball)], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains(&format!("Validating <code>{TARBALL}</code>")), "{page}");
    assert!(!page.contains(&format!("<code>{TARBALL}</code></a>")), "not a file yet\n{page}");
    app.settle();
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(!page.contains("Validating"), "{page}");
    assert!(page.contains(&format!("<code>{TARBALL}</code></a>")), "the accepted archive is listed\n{page}");
    assert!(page.contains("Latest revision <strong>00003</strong>"), "{page}");

    // An upload refused by the archive validation.
    let (status, _) = bob.upload(&app, &upload, &[("apache-test-client-0.1.zip", b"not a zip")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("Validating <code>apache-test-client-0.1.zip</code>"), "{page}");
    app.settle();
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("Refused <code>apache-test-client-0.1.zip</code>"), "{page}");

    // A file deleted.
    let (status, _) = bob
        .post(&app, "/draft/delete-file/test-client/0.1", &format!("csrf_token={token}&path=README.txt"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(!page.contains("<code>README.txt</code>"), "{page}");

    // The project renamed (the project's stamp).
    let mut project = app.storage.read(|tx| tx.project(&p)).unwrap().unwrap();
    project.name = "Renamed Client".to_owned();
    app.storage.write(|tx| tx.update_project(&project)).unwrap();
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("<h1>Renamed Client 0.1</h1>"), "{page}");

    // The draft deleted and started again under the same version: nothing of the old one shows.
    let (status, _) = bob.post(&app, "/draft/delete/test-client/0.1", &format!("csrf_token={token}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = bob.get(&app, "/compose/test-client/0.1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("The draft has no files yet.") && !page.contains("Refused"), "{page}");
    let (status, _) = bob.upload(&app, &upload, &[("README.txt", b"Read me.\n")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.settle();
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains("Actions") && page.contains("Delete this draft"), "a committer may edit\n{page}");

    // The phase changes: no more editing.
    let (_, v) = keys("0.1");
    let release = app.storage.read(|tx| tx.release(&p, &v)).unwrap().unwrap();
    let n = latest(&app, "0.1");
    let voting = atr_core::model::Release { phase: ReleasePhase::Candidate, ..release };
    app.storage.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n), &voting)).unwrap();
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains(ReleasePhase::Candidate.label()), "{page}");
    assert!(!page.contains("Actions") && !page.contains("Delete this draft"), "{page}");
}

/// An ignore rule that expires stops hiding its result at its expiry, with no change in the
/// database: the cached view is valid only until then.
#[tokio::test]
async fn an_expiring_ignore_rule_ends_the_cached_view() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    let upload = format!("/upload/test-client/0.1?csrf_token={token}");
    bob.upload(&app, &upload, &[("README.txt", b"Read me.\n")], &[]).await;
    app.settle();
    let readme = RelPath::new("README.txt").unwrap();
    insert_results(&app, &[CheckResult::new(CheckerId::PATHS, CheckStatus::Concern, Some(readme), "Odd.")]);
    let now = crate::handlers::now();
    let expires = Timestamp::from_unix(now.unix() + 100);
    let (p, _) = keys("0.1");
    let rule = CheckResultIgnore {
        id: None,
        asf_uid: Uid::new("alice").unwrap(),
        created: now,
        project_key: p,
        release_glob: None,
        revision_number: None,
        checker_glob: None,
        primary_rel_path_glob: None,
        member_rel_path_glob: None,
        status: None,
        message_glob: Some("Odd.".to_owned()),
        reason: "For now.".to_owned(),
        expires: Some(expires),
    };
    app.storage.write(|tx| tx.insert_ignore(&rule)).unwrap();
    let readme_counts = |d: &crate::cache::ComposeData| {
        d.view.files.iter().find(|f| f.path.as_str() == "README.txt").unwrap().counts
    };
    let first = cached(&app, "0.1", now);
    assert_eq!(first.view.valid_until, Some(expires));
    assert_eq!(readme_counts(&first).ignored, 1);
    let later = cached(&app, "0.1", Timestamp::from_unix(expires.unix() - 1));
    assert!(Arc::ptr_eq(&first, &later), "still valid a second before the expiry");
    let expired = cached(&app, "0.1", expires);
    assert!(!Arc::ptr_eq(&first, &expired), "built again at the expiry");
    assert_eq!((readme_counts(&expired).ignored, readme_counts(&expired).concerns), (0, 1));
    assert_eq!(expired.view.valid_until, None);
}

/// The cache keeps a bounded number of releases.
#[tokio::test]
async fn the_cache_is_bounded() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    for i in 0..20 {
        let version = format!("1.{i}");
        let (status, _) =
            bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version={version}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        compose(&mut bob, &app, &version).await;
        assert!(app.app.pages.releases() <= 16, "{} releases cached", app.app.pages.releases());
    }
    assert_eq!(app.app.pages.releases(), 16);
    // An evicted release is built again, correctly.
    let page = compose(&mut bob, &app, "1.0").await;
    assert!(page.contains(" 1.0</h1>") && page.contains("The draft has no files yet."), "{page}");
}

/// A draft of 250 files, every tenth with a blocker and every fifth with a concern.
fn large_draft(app: &TestApp) {
    let (p, v) = keys("2.0");
    app.storage
        .write(|tx| {
            tx.insert_release(&atr_core::model::Release::new_draft(
                p.clone(),
                v.clone(),
                crate::handlers::now(),
            ))
        })
        .unwrap();
    let paths: Vec<RelPath> = (0..250).map(|i| RelPath::new(format!("f{i:03}.txt")).unwrap()).collect();
    let req =
        NewRevision::new(p.clone(), v.clone(), Uid::new("bob").unwrap(), crate::handlers::now(), "seed");
    let (rev, ()) = app
        .storage
        .create_revision(&req, |dir| {
            for path in &paths {
                dir.write(path, b"x")?;
            }
            Ok::<_, atr_storage::StorageError>(())
        })
        .unwrap();
    let mut results = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        if i % 10 == 0 {
            results.push(CheckResult::new(CheckerId::PATHS, CheckStatus::Blocker, Some(path.clone()), "B."));
        }
        if i % 5 == 0 {
            results.push(CheckResult::new(CheckerId::PATHS, CheckStatus::Concern, Some(path.clone()), "C."));
        }
    }
    let ctx = ResultContext {
        project_key: &p,
        version_key: &v,
        revision_number: rev.number,
        created: crate::handlers::now(),
        inputs_hash: None,
        cached: false,
    };
    app.storage.write(|tx| tx.insert_check_results(&ctx, &results)).unwrap();
}

fn listed(page: &str) -> Vec<String> {
    page.split("<tr><td><a href=\"/report/test-client/2.0/")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

#[tokio::test]
async fn the_file_list_has_pages_filters_and_a_summary() {
    let app = TestApp::new();
    large_draft(&app);
    let (mut anon, _) = app.browser(None).await;
    let page = compose(&mut anon, &app, "2.0").await;
    let first = listed(&page);
    assert_eq!(first.len(), 100, "{page}");
    assert_eq!((first[0].as_str(), first[99].as_str()), ("f000.txt", "f099.txt"));
    assert!(page.contains("Files 1–100 of 250"), "{page}");
    // The summary counts every file, not only the page.
    let summary = &page[page.find("<h2>Summary</h2>").unwrap()..page.find("<h2>Files</h2>").unwrap()];
    assert!(
        summary.contains("<td>250</td><td class=\"blocker\">25</td><td class=\"concern\">50</td>"),
        "{summary}"
    );
    assert!(summary.contains("25 files have blockers"), "{summary}");
    assert!(summary.contains("href=\"/compose/test-client/2.0?show=blockers\""), "{summary}");
    // No session data in what is cached for everyone: an anonymous page has no token at all.
    assert!(!page.contains("csrf_token") && !page.contains("Actions"), "{page}");

    let (_, third) = anon.get(&app, "/compose/test-client/2.0?page=3").await;
    let third = listed(&third);
    assert_eq!((third.len(), third[0].as_str()), (50, "f200.txt"));
    let (_, beyond) = anon.get(&app, "/compose/test-client/2.0?page=99").await;
    assert_eq!(listed(&beyond), third, "a page past the end shows the last one");
    let (_, blockers) = anon.get(&app, "/compose/test-client/2.0?show=blockers").await;
    let blocked = listed(&blockers);
    assert_eq!(blocked.len(), 25);
    assert!(blocked.iter().all(|f| f[1..4].parse::<usize>().unwrap() % 10 == 0), "{blocked:?}");
    let (_, concerns) = anon.get(&app, "/compose/test-client/2.0?show=concerns&page=1").await;
    assert_eq!(listed(&concerns).len(), 50);

    // A committer gets the actions links and two forms with the session's token (log out, delete
    // the draft); a member of another committee sees what anonymous visitors see.
    let (mut bob, token) = app.browser(Some("bob")).await;
    let page = compose(&mut bob, &app, "2.0").await;
    assert!(page.contains("href=\"/draft/file/test-client/2.0/f000.txt\""), "{page}");
    assert_eq!(page.matches(&token).count(), 2, "{page}");
    let (mut carol, _) = app.browser(Some("carol")).await;
    let page = compose(&mut carol, &app, "2.0").await;
    assert!(!page.contains("/draft/file/") && !page.contains("Delete this draft"), "{page}");
}

#[tokio::test]
async fn the_file_actions_page_carries_the_forms() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    let tarball = atr_checks::testing::archive::ArchiveBuilder::source_release(
        atr_checks::archive::ArchiveFormat::TarGz,
        "apache-test-client-0.1-src",
    )
    .build();
    let upload = format!("/upload/test-client/0.1?csrf_token={token}");
    bob.upload(&app, &upload, &[(TARBALL, &tarball), ("README.txt", b"Read me.\n")], &[]).await;
    app.settle();
    let url = format!("/draft/file/test-client/0.1/{TARBALL}");

    let (mut anon, _) = app.browser(None).await;
    assert_eq!(anon.get(&app, &url).await.0, StatusCode::UNAUTHORIZED);
    let (mut carol, _) = app.browser(Some("carol")).await;
    assert_eq!(carol.get(&app, &url).await.0, StatusCode::FORBIDDEN);
    assert_eq!(bob.get(&app, "/draft/file/test-client/0.1/nope.txt").await.0, StatusCode::NOT_FOUND);

    let (status, page) = bob.get(&app, &url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for needle in ["Generate .sha512", "Generate .sha256", "Generate SBOM", "id=\"sbom\"", ">Delete<"] {
        assert!(page.contains(needle), "{needle}\n{page}");
    }
    let (_, readme) = bob.get(&app, "/draft/file/test-client/0.1/README.txt").await;
    assert!(readme.contains(">Delete<") && !readme.contains("Generate"), "{readme}");

    // The compose page links to it, and flags the missing SBOM there.
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(
        page.contains(&format!("href=\"{url}\"")) && page.contains(&format!("href=\"{url}#sbom\"")),
        "{page}"
    );

    // Its form works (the token is the session's), and the new file shows on the compose page.
    let (status, _) = bob
        .post(
            &app,
            "/draft/hashgen/test-client/0.1",
            &format!("csrf_token={token}&path={TARBALL}&hash_type=sha512"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = compose(&mut bob, &app, "0.1").await;
    assert!(page.contains(&format!("<code>{TARBALL}.sha512</code>")), "{page}");

    // Out of the draft phase, no forms.
    let (p, v) = keys("0.1");
    let release = app.storage.read(|tx| tx.release(&p, &v)).unwrap().unwrap();
    let n = latest(&app, "0.1");
    let voting = atr_core::model::Release { phase: ReleasePhase::Candidate, ..release };
    app.storage.write(|tx| tx.update_release_guarded(ReleasePhase::Draft, Some(n), &voting)).unwrap();
    let (_, page) = bob.get(&app, &url).await;
    assert!(
        page.contains("role=\"alert\"") && !page.contains("<form method=\"post\" action=\"/draft/"),
        "{page}"
    );
}
