//! In-process HTTP tests of the routes, through salvo's test client and a real state directory.

mod accounts;
mod api;
mod browser;
mod compose;
mod consistency;
mod distributions;
mod headers;
mod lifecycle_browser;
mod mail;
mod oidc;
mod page_cache;
mod roles;
mod sbom_policy;
mod snapshots;
mod svn;
mod vote;
mod vote_mode;

use std::sync::Arc;

use salvo::http::StatusCode;
use salvo::prelude::*;
use salvo::test::{ResponseExt as _, TestClient};

use crate::identity::LocalAccounts;
use crate::routes::{self, AccountsCache, App};
use crate::session;

pub(super) const BASE: &str = "http://127.0.0.1:5800";

pub(super) struct TestApp {
    _dir: tempfile::TempDir,
    pub(super) app: App,
    pub(super) service: Service,
    pub(super) storage: Arc<atr_storage::Storage>,
    pub(super) passwords: std::collections::BTreeMap<String, String>,
    alice_password: String,
}

impl TestApp {
    /// Runs the real worker (the production handler registry) in this process until the queue is
    /// empty: quarantined uploads are validated, check tasks store their results. Tests call it
    /// where a running server's worker manager would have done the work.
    pub(super) fn settle(&self) -> atr_worker::runner::RunStats {
        let mut config = atr_worker::runner::RunnerConfig::new(self.storage.layout().root());
        config.exit_when_idle = true;
        config.rlimits = atr_worker::rlimits::Rlimits::NONE;
        config.retry_base = std::time::Duration::from_millis(1);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stats = atr_worker::runner::run(&config, &atr_worker::registry::Registry::production(), &stop)
            .expect("the in-process worker runs");
        // The runner installs a process-wide panic hook that only logs; put the default one back
        // so a failing assertion of a test still prints its message.
        drop(std::panic::take_hook());
        stats
    }

    /// A server with the demo data (committee `test`, project `test-client`), a second committee
    /// `other` with project `other-lib`, and the accounts admin, alice (member of `test`), bob
    /// (committer of `test`) and carol (member of `other`).
    pub(super) fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let storage = Arc::new(atr_storage::Storage::open(&state).unwrap());
        let now = crate::handlers::now();
        assert!(crate::demo::seed(&storage, now).unwrap());
        assert!(!crate::demo::seed(&storage, now).unwrap(), "seeding twice makes nothing");
        let other = crate::demo::committee("other", &["carol"], &[]).unwrap();
        let lib = crate::demo::project("other-lib", "other", "Apache Other Lib", now).unwrap();
        storage
            .write(|tx| {
                tx.upsert_committee(&other)?;
                tx.insert_project(&lib)
            })
            .unwrap();
        let accounts_path = state.join("accounts.toml");
        let mut accounts = LocalAccounts::load(&accounts_path).unwrap();
        let uid = |u: &str| atr_core::ids::Uid::new(u).unwrap();
        let mut passwords = std::collections::BTreeMap::new();
        // Their committee roles are in the rosters: the demo seed's and `other`'s above.
        for (name, admin) in [("admin", true), ("alice", false), ("bob", false), ("carol", false)] {
            let new = accounts.add_user(uid(name), admin).unwrap();
            passwords.insert(name.to_owned(), new.password);
        }
        let app = App {
            storage: Arc::clone(&storage),
            accounts: Arc::new(AccountsCache::load(accounts_path).unwrap()),
            session_key: session::load_or_create_key(&state.join("secrets/session.key")).unwrap(),
            secure_cookies: false,
            upload_limit: 1 << 20,
            pages: Arc::default(),
            test_mode: false,
        };
        let alice_password = passwords["alice"].clone();
        TestApp { _dir: dir, service: routes::service(app.clone()), app, storage, passwords, alice_password }
    }

    /// The same server in test mode (`ATR_TEST_MODE=1`).
    pub(super) fn in_test_mode(mut self) -> TestApp {
        self.app.test_mode = true;
        self.service = routes::service(self.app.clone());
        self
    }

    /// A browser logged in as `uid` (or anonymous for `None`), with its current CSRF token.
    pub(super) async fn browser(&self, uid: Option<&str>) -> (Browser, String) {
        let mut b = Browser::default();
        let (_, page) = b.get(self, "/login").await;
        let token = csrf_from(&page);
        let Some(uid) = uid else { return (b, token) };
        let form = format!("csrf_token={token}&uid={uid}&password={}", self.passwords[uid]);
        let (status, _) = b.post(self, "/login", &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "login of {uid}");
        let (_, page) = b.get(self, "/login").await;
        let token = csrf_from(&page);
        (b, token)
    }
}

/// A browser-like client: keeps the session cookie between requests.
#[derive(Default)]
pub(super) struct Browser {
    cookie: Option<String>,
    flash: Option<String>,
}

impl Browser {
    fn remember(&mut self, res: &Response) {
        for value in res.headers().get_all("set-cookie") {
            let v = value.to_str().unwrap();
            let pair = v.split(';').next().unwrap_or_default();
            if pair.starts_with(&format!("{}=", session::COOKIE)) {
                self.cookie = Some(pair.to_owned());
            } else if pair.starts_with(&format!("{}=", session::FLASH_COOKIE)) {
                self.flash = Some(pair.to_owned()).filter(|p| p.len() > session::FLASH_COOKIE.len() + 1);
            }
        }
    }

    fn cookies(&self) -> Option<String> {
        let all: Vec<&str> = [self.cookie.as_deref(), self.flash.as_deref()].into_iter().flatten().collect();
        (!all.is_empty()).then(|| all.join("; "))
    }

    /// Sends a request with the cookies, remembers the new ones, returns status, location and body.
    pub(super) async fn send(
        &mut self,
        app: &TestApp,
        mut req: salvo::test::RequestBuilder,
    ) -> (StatusCode, Option<String>, String) {
        if let Some(c) = self.cookies() {
            req = req.add_header("cookie", c, true);
        }
        let mut res = req.send(&app.service).await;
        self.remember(&res);
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        (res.status_code.unwrap_or(StatusCode::OK), location, res.take_string().await.unwrap())
    }

    pub(super) async fn get(&mut self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let (status, _, body) = self.send(app, TestClient::get(format!("{BASE}{path}"))).await;
        (status, body)
    }

    pub(super) async fn post(&mut self, app: &TestApp, path: &str, form: &str) -> (StatusCode, String) {
        let (status, _, body) =
            self.send(app, TestClient::post(format!("{BASE}{path}")).raw_form(form.to_owned())).await;
        (status, body)
    }

    /// Posts a multipart form of `files` (name, bytes) and text `fields` to `path`.
    pub(super) async fn upload(
        &mut self,
        app: &TestApp,
        path: &str,
        files: &[(&str, &[u8])],
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        let req = TestClient::post(format!("{BASE}{path}")).body(body).add_header(
            "content-type",
            "multipart/form-data; boundary=XyZ",
            true,
        );
        let (status, _, body) = self.send(app, req).await;
        (status, body)
    }
}

pub(super) fn csrf_from(html: &str) -> String {
    let marker = format!("name=\"{}\" value=\"", session::CSRF_FIELD);
    let start = html.find(&marker).expect("the page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn login_and_logout_with_csrf_tokens() {
    let app = TestApp::new();
    let mut browser = Browser::default();

    let (status, page) = browser.get(&app, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert!(browser.cookie.is_some(), "a visitor gets a session cookie");
    let token = csrf_from(&page);

    let (status, page) =
        browser.post(&app, "/login", &format!("csrf_token={token}&uid=alice&password=wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("unknown user id or wrong password"), "{page}");

    let form = format!("csrf_token={token}&uid=alice&password={}", app.alice_password);
    let (status, _) = browser.post(&app, "/login", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, home) = browser.get(&app, "/").await;
    assert!(home.contains("Signed in as <strong>alice</strong>"), "{home}");

    // The token of the anonymous session is void after login.
    let (status, _) = browser.post(&app, "/logout", &format!("csrf_token={token}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let fresh = csrf_from(&home);
    let (status, _) = browser.post(&app, "/logout", &format!("csrf_token={fresh}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, home) = browser.get(&app, "/").await;
    assert!(!home.contains("Signed in as") && home.contains("Log in"), "{home}");
}

#[tokio::test]
async fn state_changing_requests_without_a_valid_token_are_refused() {
    let app = TestApp::new();
    let mut browser = Browser::default();
    let (_, page) = browser.get(&app, "/login").await;
    let token = csrf_from(&page);
    let good = format!("uid=alice&password={}", app.alice_password);

    for form in [good.clone(), format!("csrf_token=forged&{good}"), format!("csrf_token={token}x&{good}")] {
        let (status, body) = browser.post(&app, "/login", &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{form}");
        assert!(body.contains("security token"), "{body}");
    }

    // A valid token from someone else's session does not help without that session's cookie.
    let mut stranger = Browser::default();
    let (status, _) = stranger.post(&app, "/login", &format!("csrf_token={token}&{good}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A forged cookie is not a session.
    let mut forger = Browser { cookie: Some(format!("{}=not-encrypted", session::COOKIE)), flash: None };
    let (status, _) = forger.post(&app, "/login", &format!("csrf_token={token}&{good}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
