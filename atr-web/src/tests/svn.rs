//! Import from SVN, end to end with real processes: a repository made by `svnadmin create`
//! holding the fixture release, served by `svnserve` on loopback and read through `file://`; the
//! real worker (in-process, [`TestApp::settle`]) runs the real `svn` client, the import becomes a
//! revision through quarantine, and its checks run. Refusals queue nothing; failed exports make
//! no revision and say why.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atr_core::check::{CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::{AuditAction, TaskStatus};
use atr_core::svn::{SvnLimits, SvnPolicy};
use salvo::http::StatusCode;

use super::{Browser, TestApp};
use crate::handlers::svn::SvnSettings;
use crate::routes;

const FIXTURE: &str = "../tests/fixtures/apache-test-0.2";
const FILES: [&str; 3] =
    ["apache-test-0.2.tar.gz", "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"];

/// A repository with the fixture release at `dev/test-client/0.2/` (revision 1) and, in revision
/// 2, a symbolic link and a dot-file beside it, served by `svnserve` on a free loopback port.
struct Repo {
    _dir: tempfile::TempDir,
    root: PathBuf,
    server: Child,
    port: u16,
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e} (is Debian `subversion` installed?)"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        run(Command::new("svnadmin").arg("create").arg(&root));
        let tree = dir.path().join("tree");
        let release = tree.join("dev/test-client/0.2");
        std::fs::create_dir_all(&release).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
        for f in FILES {
            std::fs::copy(fixture.join(f), release.join(f)).unwrap();
        }
        let url = format!("file://{}", root.display());
        run(Command::new("svn").args(["import", "-q", "--non-interactive", "-m", "r1"]).arg(&tree).arg(&url));
        // Revision 2: a link (svn:special) and a dot-file next to the release.
        let wc = dir.path().join("wc");
        run(Command::new("svn").args(["checkout", "-q", "--non-interactive"]).arg(&url).arg(&wc));
        let rel = wc.join("dev/test-client/0.2");
        std::os::unix::fs::symlink("/etc/passwd", rel.join("passwd")).unwrap();
        std::fs::write(rel.join(".htaccess"), "Deny from all\n").unwrap();
        run(Command::new("svn").args(["add", "-q"]).arg(rel.join("passwd")).arg(rel.join(".htaccess")));
        run(Command::new("svn").args(["commit", "-q", "--non-interactive", "-m", "r2"]).arg(&wc));

        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Command::new("svnserve")
            .args(["--daemon", "--foreground", "--listen-host", "127.0.0.1", "--listen-port"])
            .arg(port.to_string())
            .arg("--root")
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("svnserve runs (Debian `subversion`)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "svnserve did not start on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Repo { _dir: dir, root, server, port }
    }

    fn svn_url(&self, path: &str) -> String {
        format!("svn://127.0.0.1:{}/{path}", self.port)
    }

    fn file_url(&self, path: &str) -> String {
        format!("file://{}/{path}", self.root.display())
    }
}

/// A test server whose import settings allow the repository's `svn://` prefix (and `file://`
/// when `test_mode`), with `limits`.
fn app_for(repo: &Repo, test_mode: bool, limits: SvnLimits) -> TestApp {
    let mut app = TestApp::new();
    let policy = SvnPolicy::new(vec![format!("svn://127.0.0.1:{}/dev/", repo.port)], test_mode).unwrap();
    app.service = routes::service(app.app.clone()).hoop(SvnSettings { policy, limits }.hoop());
    app
}

fn keys() -> (ProjectKey, VersionKey) {
    (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.1").unwrap())
}

fn latest(app: &TestApp) -> RevisionNumber {
    let (p, v) = keys();
    app.storage.read(|tx| tx.latest_revision(&p, &v)).unwrap().unwrap()
}

fn files(app: &TestApp) -> Vec<String> {
    let (p, v) = keys();
    app.storage.revision_files(&p, &v, latest(app)).unwrap().iter().map(ToString::to_string).collect()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Alice (member of `test`) starts `test-client` 0.1.
async fn started(app: &TestApp) -> (Browser, String) {
    let (mut alice, token) = app.browser(Some("alice")).await;
    let (status, _) = alice.post(app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    (alice, token)
}

async fn import(app: &TestApp, b: &mut Browser, token: &str, form: &str) -> (StatusCode, String) {
    b.post(app, "/draft/svn/test-client/0.1", &format!("csrf_token={token}&{form}")).await
}

/// The result of the newest import task.
fn last_import(app: &TestApp) -> (TaskStatus, serde_json::Value) {
    let (p, v) = keys();
    let t = app.storage.read(|tx| tx.svn_import_tasks(&p, &v, 1)).unwrap().remove(0);
    (t.status, t.result.unwrap_or_default())
}

fn import_count(app: &TestApp) -> usize {
    let (p, v) = keys();
    app.storage.read(|tx| tx.svn_import_tasks(&p, &v, 100)).unwrap().len()
}

#[tokio::test]
async fn an_svnserve_import_becomes_a_checked_revision_and_a_second_one_skips_existing_files() {
    let repo = Repo::new();
    let app = app_for(&repo, false, SvnLimits::default());
    let (mut alice, token) = started(&app).await;
    let (status, page) = alice.get(&app, "/draft/svn/test-client/0.1").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("name=\"url\"") && page.contains("value=\"HEAD\"") && page.contains("overwrite"),
        "{page}"
    );

    // Revision 1 of the repository: the three fixture files.
    let url = repo.svn_url("dev/test-client/0.2/");
    let (status, _) = import(&app, &mut alice, &token, &format!("url={}&revision=1", enc(&url))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = alice.get(&app, "/draft/svn/test-client/0.1").await;
    assert!(page.contains("is queued") && page.contains("Waiting for a worker"), "{page}");
    let audit = app.storage.read(|tx| tx.audit_events_for("test-client-0.1")).unwrap();
    assert!(audit.iter().any(
        |e| e.action == AuditAction::SvnImport && e.actor.as_ref().is_some_and(|u| u.as_str() == "alice")
    ));

    app.settle(); // the export, the archive's quarantine validation, then the checks
    let (status, result) = last_import(&app);
    assert_eq!(status, TaskStatus::Completed, "{result}");
    assert_eq!(result["status"], "imported", "{result}");
    assert_eq!(result["svn_revision"], 1);
    assert_eq!(result["outcome"], "quarantined", "the tarball passes quarantine like any upload");
    assert_eq!(latest(&app).to_string(), "00002");
    assert_eq!(files(&app), FILES);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let (p, v) = keys();
    let dir = app.storage.layout().revision(&p, &v, latest(&app));
    for f in FILES {
        assert_eq!(std::fs::read(dir.join(f)).unwrap(), std::fs::read(fixture.join(f)).unwrap(), "{f}");
    }
    // The revision was checked: the .sha512 matches, the signature was looked at, the archive read.
    let results = app.storage.read(|tx| tx.check_results(&p, &v, latest(&app))).unwrap();
    let of = |c: CheckerId| results.iter().filter(|r| r.result.checker == c).collect::<Vec<_>>();
    assert!(of(CheckerId::HASHING).iter().any(|r| r.result.status == CheckStatus::Note), "{results:#?}");
    assert!(!of(CheckerId::SIGNATURE).is_empty());
    assert!(!of(CheckerId::TARGZ_INTEGRITY).is_empty());
    assert_eq!(app.storage.read(|tx| tx.ongoing_task_count(&p, &v, latest(&app))).unwrap(), 0);

    let (_, page) = alice.get(&app, "/draft/svn/test-client/0.1").await;
    assert!(
        page.contains("Added (3)") && page.contains("passed validation") && page.contains("00002"),
        "{page}"
    );

    // HEAD (revision 2) again: the three files exist, the link and the dot-file are refused.
    let (status, _) = import(&app, &mut alice, &token, &format!("url={}", enc(&url))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.settle();
    let (_, result) = last_import(&app);
    assert_eq!(result["svn_revision"], 2, "{result}");
    assert_eq!(result["outcome"], "nothing", "{result}");
    let skipped = result["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 5, "{result}");
    let reason =
        |p: &str| skipped.iter().find(|s| s["path"] == p).unwrap()["reason"].as_str().unwrap().to_owned();
    assert!(reason("apache-test-0.2.tar.gz").contains("exists in the draft already"));
    assert!(reason("passwd").contains("symbolic link"));
    assert!(reason(".htaccess").contains("dot-file"));
    assert_eq!(latest(&app).to_string(), "00002", "nothing imported, no revision");
    let (_, page) = alice.get(&app, "/draft/svn/test-client/0.1").await;
    assert!(page.contains("Skipped (5)") && page.contains("nothing was added"), "{page}");

    // Into a subdirectory, overwriting: the signature and checksum only (no archive: no quarantine).
    let one = repo.svn_url("dev/test-client/0.2/apache-test-0.2.tar.gz.sha512");
    let form = format!("url={}&target=checksums&overwrite=on", enc(&one));
    let (status, _) = import(&app, &mut alice, &token, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.settle();
    let (_, result) = last_import(&app);
    assert_eq!(result["outcome"], "revision", "{result}");
    assert_eq!(result["added"], serde_json::json!(["checksums/apache-test-0.2.tar.gz.sha512"]));
    assert_eq!(latest(&app).to_string(), "00003");
}

#[tokio::test]
async fn file_urls_in_test_mode_only_and_other_locations_are_refused_before_queueing() {
    let repo = Repo::new();
    let strict = app_for(&repo, false, SvnLimits::default());
    let (mut alice, token) = started(&strict).await;
    for url in [
        repo.file_url("dev/test-client/0.2"),
        "https://example.org/repos/dist/dev/test-client/0.2".to_owned(),
        repo.svn_url("private/x"),
        repo.svn_url("dev/../private"),
    ] {
        let (status, body) = import(&strict, &mut alice, &token, &format!("url={}", enc(&url))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert!(body.contains("Cannot import"), "{body}");
    }
    // Bad revision or target, a committer of another committee, a missing CSRF token: refused too.
    let good = enc(&repo.svn_url("dev/test-client/0.2"));
    let (status, _) = import(&strict, &mut alice, &token, &format!("url={good}&revision=PREV")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = import(&strict, &mut alice, &token, &format!("url={good}&target=..%2Fx")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (mut carol, carol_token) = strict.browser(Some("carol")).await;
    let (status, _) = import(&strict, &mut carol, &carol_token, &format!("url={good}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = alice.post(&strict, "/draft/svn/test-client/0.1", &format!("url={good}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(import_count(&strict), 0, "nothing was queued");

    let test_mode = app_for(&repo, true, SvnLimits::default());
    let (mut alice, token) = started(&test_mode).await;
    let url = repo.file_url("dev/test-client/0.2");
    let (status, _) = import(&test_mode, &mut alice, &token, &format!("url={}&revision=1", enc(&url))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    test_mode.settle();
    let (_, result) = last_import(&test_mode);
    assert_eq!(result["status"], "imported", "{result}");
    assert_eq!(files(&test_mode), FILES);
}

#[tokio::test]
async fn missing_paths_missing_revisions_and_oversized_exports_fail_clearly_without_a_revision() {
    let repo = Repo::new();
    let small = SvnLimits { max_bytes: 1000, ..SvnLimits::default() };
    let app = app_for(&repo, true, small);
    let (mut alice, token) = started(&app).await;
    let cases = [
        (repo.svn_url("dev/test-client/9.9"), "HEAD", "does not exist at the latest revision"),
        (repo.file_url("dev/test-client/0.2"), "99", "Revision 99 does not exist"),
        (repo.svn_url("dev/test-client/0.2"), "1", "more than the import limit of 1000 bytes"),
        (repo.svn_url("dev/test-client/0.2/apache-test-0.2.tar.gz"), "1", "more than the import limit"),
    ];
    for (url, revision, expected) in cases {
        let (status, _) =
            import(&app, &mut alice, &token, &format!("url={}&revision={revision}", enc(&url))).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        app.settle();
        let (status, result) = last_import(&app);
        assert_eq!(status, TaskStatus::Completed);
        assert_eq!(result["status"], "failed", "{url}: {result}");
        let error = result["error"].as_str().unwrap();
        assert!(error.contains(expected), "{url}: {error}");
        assert_eq!(latest(&app), RevisionNumber::FIRST, "{url}: no revision");
        let (_, page) = alice.get(&app, "/draft/svn/test-client/0.1").await;
        assert!(page.contains(&format!("Failed: {}", maud::html! { (error) }.into_string())), "{page}");
    }
    assert!(files(&app).is_empty());
}

/// A JWT of `uid` through `/api/jwt/create`, from a new personal access token.
async fn jwt(app: &TestApp, uid: &str) -> String {
    let actor = atr_core::permissions::Actor::user(atr_core::ids::Uid::new(uid).unwrap());
    let pat = crate::ops::create_token(&app.storage, &actor, "svn test", 30, crate::handlers::now()).unwrap();
    let (status, body) =
        api(app, "/api/jwt/create", &serde_json::json!({ "asfuid": uid, "pat": pat }), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["jwt"].as_str().unwrap().to_owned()
}

async fn api(
    app: &TestApp,
    path: &str,
    body: &serde_json::Value,
    jwt: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    use salvo::test::{ResponseExt as _, TestClient};
    let mut req = TestClient::post(format!("{}{path}", super::BASE)).json(body);
    if let Some(jwt) = jwt {
        req = req.add_header("authorization", format!("Bearer {jwt}"), true);
    }
    let mut res = req.send(&app.service).await;
    let raw = res.take_string().await.unwrap_or_default();
    (res.status_code.unwrap_or(StatusCode::OK), serde_json::from_str(&raw).unwrap_or_default())
}

#[tokio::test]
async fn the_api_queues_the_same_import_and_refuses_the_same_requests() {
    let repo = Repo::new();
    let app = app_for(&repo, false, SvnLimits::default());
    started(&app).await;
    let body = |url: String| serde_json::json!({ "project": "test-client", "version": "0.1", "url": url, "revision": "1" });
    let good = body(repo.svn_url("dev/test-client/0.2"));
    let (status, _) = api(&app, "/api/svn/import", &good, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a JWT is needed");
    let carol = jwt(&app, "carol").await;
    let (status, _) = api(&app, "/api/svn/import", &good, Some(&carol)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another committee's member");
    let alice = jwt(&app, "alice").await;
    let (status, answer) =
        api(&app, "/api/svn/import", &body("https://example.org/svn/x".into()), Some(&alice)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("not under an allowed SVN location"), "{answer}");
    assert_eq!(import_count(&app), 0);

    let (status, answer) = api(&app, "/api/svn/import", &good, Some(&alice)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["task"]["task_type"], "svn_import_files");
    assert_eq!(answer["task"]["status"], "queued");
    app.settle();
    let (_, result) = last_import(&app);
    assert_eq!(result["status"], "imported", "{result}");
    assert_eq!(files(&app), FILES);
}
