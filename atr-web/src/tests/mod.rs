//! In-process HTTP tests of the routes, through salvo's test client and a real state directory.

use std::sync::Arc;

use salvo::http::StatusCode;
use salvo::prelude::*;
use salvo::test::{ResponseExt as _, TestClient};

use crate::identity::LocalAccounts;
use crate::routes::{self, AccountsCache, App};
use crate::session;

const BASE: &str = "http://127.0.0.1:5800";

struct TestApp {
    _dir: tempfile::TempDir,
    service: Service,
    alice_password: String,
}

impl TestApp {
    fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let storage = atr_storage::Storage::open(&state).unwrap();
        let accounts_path = state.join("accounts.toml");
        let mut accounts = LocalAccounts::load(&accounts_path).unwrap();
        let alice = accounts
            .add_user(
                atr_core::ids::Uid::new("alice").unwrap(),
                false,
                [atr_core::ids::CommitteeKey::new("test").unwrap()].into(),
                Default::default(),
            )
            .unwrap();
        let app = App {
            storage: Arc::new(storage),
            accounts: Arc::new(AccountsCache::load(accounts_path).unwrap()),
            session_key: session::load_or_create_key(&state.join("secrets/session.key")).unwrap(),
            secure_cookies: false,
        };
        TestApp { _dir: dir, service: Service::new(routes::router(app)), alice_password: alice.password }
    }
}

/// A browser-like client: keeps the session cookie between requests.
#[derive(Default)]
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    fn remember(&mut self, res: &Response) {
        for value in res.headers().get_all("set-cookie") {
            let v = value.to_str().unwrap();
            if let Some(pair) = v.split(';').next().filter(|p| p.starts_with(session::COOKIE)) {
                self.cookie = Some(pair.to_owned());
            }
        }
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let mut req = TestClient::get(format!("{BASE}{path}"));
        if let Some(c) = &self.cookie {
            req = req.add_header("cookie", c.as_str(), true);
        }
        let mut res = req.send(&app.service).await;
        self.remember(&res);
        (res.status_code.unwrap_or(StatusCode::OK), res.take_string().await.unwrap())
    }

    async fn post(&mut self, app: &TestApp, path: &str, form: &str) -> (StatusCode, String) {
        let mut req = TestClient::post(format!("{BASE}{path}")).raw_form(form.to_owned());
        if let Some(c) = &self.cookie {
            req = req.add_header("cookie", c.as_str(), true);
        }
        let mut res = req.send(&app.service).await;
        self.remember(&res);
        (res.status_code.unwrap_or(StatusCode::OK), res.take_string().await.unwrap())
    }
}

fn csrf_from(html: &str) -> String {
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
    let mut forger = Browser { cookie: Some(format!("{}=not-encrypted", session::COOKIE)) };
    let (status, _) = forger.post(&app, "/login", &format!("csrf_token={token}&{good}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
