//! Every route × role gives the expected status; every state-changing route refuses a missing or
//! forged CSRF token.

use salvo::http::StatusCode;

use super::TestApp;

const OK: u16 = 200;
const SEE_OTHER: u16 = 303;
const UNAUTH: u16 = 401;
const FORBIDDEN: u16 = 403;

/// Roles in column order: anonymous, committer (bob), member (alice), admin, member of another committee (carol).
const ROLES: [Option<&str>; 5] = [None, Some("bob"), Some("alice"), Some("admin"), Some("carol")];

const GETS: &[(&str, [u16; 5])] = &[
    ("/", [OK; 5]),
    ("/committees", [OK; 5]),
    ("/committees/test", [OK; 5]),
    ("/projects", [OK; 5]),
    ("/projects/test-client", [OK; 5]),
    ("/start/test-client", [UNAUTH, OK, OK, OK, FORBIDDEN]),
    ("/compose/test-client/0.1", [OK; 5]),
    ("/upload/test-client/0.1", [UNAUTH, OK, OK, OK, FORBIDDEN]),
    ("/report/test-client/0.1/README.txt", [OK; 5]),
    ("/file/test-client/0.1/README.txt", [OK; 5]),
    ("/draft/file/test-client/0.1/README.txt", [UNAUTH, OK, OK, OK, FORBIDDEN]),
    ("/revisions/test-client/0.1", [OK; 5]),
    ("/compose/test-client/9.9", [404; 5]),
    ("/ignores/test-client", [OK; 5]),
    ("/keys", [UNAUTH, OK, OK, OK, OK]),
    ("/tokens", [UNAUTH, OK, OK, OK, OK]),
    ("/admin/releases", [UNAUTH, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN]),
    ("/admin/tasks", [UNAUTH, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN]),
    ("/admin/consistency", [UNAUTH, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN]),
    ("/committees/nope", [404; 5]),
];

/// State-changing routes, in an order where each leaves the next something to act on.
const POSTS: &[(&str, &str, [u16; 5])] = &[
    (
        "/ignores/test-client/add",
        "checker_glob=x*&reason=because",
        [UNAUTH, FORBIDDEN, SEE_OTHER, SEE_OTHER, FORBIDDEN],
    ),
    ("/tokens", "label=ci&days=3", [UNAUTH, OK, OK, OK, OK]),
    ("/projects/test-client/policy", "min_hours=72", [UNAUTH, FORBIDDEN, SEE_OTHER, SEE_OTHER, FORBIDDEN]),
    ("/start/test-client", "version=0.2", [UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, FORBIDDEN]),
    (
        "/draft/hashgen/test-client/0.1",
        "path=README.txt&hash_type=sha256",
        [UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, FORBIDDEN],
    ),
    (
        "/draft/delete-file/test-client/0.1",
        "path=README.txt",
        [UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, FORBIDDEN],
    ),
    ("/draft/delete/test-client/0.1", "", [UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, FORBIDDEN]),
];

async fn app_with_draft() -> TestApp {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    let (status, _) = bob.post(&app, "/start/test-client", &format!("csrf_token={token}&version=0.1")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = format!("/upload/test-client/0.1?csrf_token={token}");
    let (status, _) = bob.upload(&app, &path, &[("README.txt", b"hello")], &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app
}

#[tokio::test]
async fn every_route_gives_each_role_the_expected_status() {
    for (col, role) in ROLES.iter().enumerate() {
        let app = app_with_draft().await;
        let (mut browser, token) = app.browser(*role).await;
        for (path, expected) in GETS {
            let (status, body) = browser.get(&app, path).await;
            assert_eq!(status.as_u16(), expected[col], "GET {path} as {role:?}\n{body}");
        }
        let ssh = format!("csrf_token={token}&key={}", super::accounts::enc(&super::accounts::ssh_line()));
        let (status, _) = browser.post(&app, "/keys/ssh/add", &ssh).await;
        assert_eq!(
            status.as_u16(),
            [UNAUTH, SEE_OTHER, SEE_OTHER, SEE_OTHER, SEE_OTHER][col],
            "ssh add as {role:?}"
        );
        for (path, form, expected) in POSTS {
            let sep = if form.is_empty() { "" } else { "&" };
            let (status, body) = browser.post(&app, path, &format!("csrf_token={token}{sep}{form}")).await;
            assert_eq!(status.as_u16(), expected[col], "POST {path} as {role:?}\n{body}");
            if expected[col] >= 400 {
                assert!(body.contains("role=\"alert\""), "a refusal says why: {body}");
            }
        }
    }
}

/// Every state-changing route, with a form that would be accepted with a valid token.
const ALL_POSTS: &[(&str, &str)] = &[
    ("/login", "uid=bob&password=x"),
    ("/logout", ""),
    ("/auth/oidc/login", ""),
    ("/draft/svn/test-client/0.1", "url=x"),
    ("/projects/test-client/policy", "min_hours=72"),
    ("/start/test-client", "version=0.3"),
    ("/upload/test-client/0.1", "directory=x"),
    ("/draft/delete/test-client/0.1", ""),
    ("/draft/delete-file/test-client/0.1", "path=README.txt"),
    ("/draft/hashgen/test-client/0.1", "path=README.txt&hash_type=sha256"),
    ("/draft/sbom/test-client/0.1", "path=README.txt"),
    ("/ignores/test-client/add", "checker_glob=x*&reason=r"),
    ("/ignores/test-client/update", "id=1&checker_glob=x*&reason=r"),
    ("/ignores/test-client/delete", "id=1"),
    ("/keys/add", "key=x"),
    ("/keys/upload", "committee=test"),
    ("/keys/delete", "fingerprint=x"),
    ("/keys/ssh/add", "key=x"),
    ("/keys/ssh/delete", "fingerprint=x"),
    ("/tokens", "label=l&days=3"),
    ("/tokens/delete", "id=1"),
    ("/vote/start/test-client/0.1", "email_to=dev%40test.apache.org"),
    ("/vote/ballot/test-client/0.1", "choice=%2B1"),
    ("/vote/resolve/test-client/0.1", "resolution=cancelled"),
    ("/vote/tabulate/test-client/0.1", ""),
    ("/finish/move/test-client/0.1", "path=README.txt&directory=docs"),
    ("/finish/rc-tags/test-client/0.1", ""),
    ("/announce/test-client/0.1", "email_to=alice%40apache.org"),
    ("/distribution/record/test-client/0.1", "platform=PYPI&package=p&version=0.1&staging=1"),
    ("/distribution/delete/test-client/0.1", "platform=PYPI&package=p&version=0.1"),
    ("/distribution/refresh/test-client/0.1", "platform=PYPI&package=p&version=0.1"),
];

/// Tidy: every route with a POST handler in the route table is in [`ALL_POSTS`], so the CSRF
/// test below covers it. Path parameters are matched by their position.
#[test]
fn every_post_route_is_covered_by_the_csrf_test() {
    let table = include_str!("../routes.rs");
    let mut current = None;
    let mut templates = Vec::new();
    for line in table.lines() {
        if let Some(start) = line.find("with_path(\"") {
            let rest = &line[start + "with_path(\"".len()..];
            current = Some(rest[..rest.find('"').unwrap()].to_owned());
        }
        if line.contains(".post(") {
            templates.push(current.clone().expect("a POST route has a path"));
        }
    }
    assert!(templates.len() >= 18, "{templates:?}");
    for template in templates {
        let segments: Vec<&str> = template.split('/').collect();
        let covered = ALL_POSTS.iter().any(|(path, _)| {
            let concrete: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            concrete.len() == segments.len()
                && segments.iter().zip(&concrete).all(|(t, c)| t.starts_with('{') || t == c)
        });
        assert!(covered, "the POST route `{template}` is missing from ALL_POSTS (and so from the CSRF test)");
    }
}

#[tokio::test]
async fn state_changing_routes_refuse_missing_or_forged_tokens_and_change_nothing() {
    let app = app_with_draft().await;
    let (mut bob, token) = app.browser(Some("bob")).await;
    let audit_before = app.storage.read(|tx| tx.recent_audit_events(1000)).unwrap().len();
    for (path, form) in ALL_POSTS {
        for bad in [String::new(), "csrf_token=forged&".to_owned(), format!("csrf_token={token}0&")] {
            let (status, body) = bob.post(&app, path, &format!("{bad}{form}")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "POST {path} with {bad:?}: {body}");
            assert!(body.contains("security token"), "{body}");
        }
    }
    assert_eq!(app.storage.read(|tx| tx.recent_audit_events(1000)).unwrap().len(), audit_before);
}
