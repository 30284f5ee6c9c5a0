//! The JSON API through HTTP: tokens and JWTs, the error shape, every endpoint's success shape
//! (exact top-level keys and JSON types), its error statuses and permission refusals, the
//! endpoint table against docs/API.md (our own description of the API), and the `atr` client's whole release workflow.

use atr_core::ids::{CommitteeKey, ProjectKey, Uid, VersionKey};
use atr_core::permissions::Actor;
use base64::Engine as _;
use salvo::http::StatusCode;
use salvo::test::{ResponseExt as _, TestClient};
use serde_json::{Value, json};

use super::{BASE, TestApp};
use crate::ops;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");
const TARBALL: &str = "apache-test-0.2.tar.gz";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURE}/{name}")).unwrap()
}

/// One answer: status, parsed body (Null when not JSON), raw body and the request-id header.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    json: Value,
    raw: String,
    request_id: Option<String>,
    content_type: Option<String>,
    retry_after: Option<String>,
}

async fn send(app: &TestApp, mut req: salvo::test::RequestBuilder, jwt: Option<&str>) -> Answer {
    if let Some(jwt) = jwt {
        req = req.add_header("authorization", format!("Bearer {jwt}"), true);
    }
    let mut res = req.send(&app.service).await;
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (request_id, content_type) = (header("x-request-id"), header("content-type"));
    let retry_after = header("retry-after");
    let raw = res.take_string().await.unwrap_or_default();
    Answer {
        status: res.status_code.unwrap_or(StatusCode::OK),
        json: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        request_id,
        content_type,
        retry_after,
    }
}

async fn get(app: &TestApp, path: &str) -> Answer {
    send(app, TestClient::get(format!("{BASE}{path}")), None).await
}

async fn post(app: &TestApp, path: &str, body: &Value, jwt: Option<&str>) -> Answer {
    send(app, TestClient::post(format!("{BASE}{path}")).json(body), jwt).await
}

/// A new personal access token of `uid`.
fn pat(app: &TestApp, uid: &str) -> String {
    let actor = Actor::user(Uid::new(uid).unwrap());
    ops::create_token(&app.storage, &actor, "api test", 30, crate::handlers::now()).unwrap()
}

/// A JWT of `uid`, through `/api/jwt/create`.
async fn jwt(app: &TestApp, uid: &str) -> String {
    let token = pat(app, uid);
    let a = post(app, "/api/jwt/create", &json!({ "asfuid": uid, "pat": token }), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    a.json["jwt"].as_str().unwrap().to_owned()
}

/// Asserts the exact set of top-level keys of `v`.
#[track_caller]
fn assert_keys(v: &Value, expected: &[&str]) {
    let mut got: Vec<&str> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want, "{v:#}");
}

/// Asserts an error answer: status, the message contains `needle`, exactly `error` and
/// `request_id` (matching the header), pretty-printed with sorted keys.
#[track_caller]
fn assert_error(a: &Answer, status: StatusCode, needle: &str) {
    assert_eq!(a.status, status, "{}", a.raw);
    assert_keys(&a.json, &["error", "request_id"]);
    let message = a.json["error"].as_str().unwrap();
    assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    assert_eq!(a.json["request_id"].as_str(), a.request_id.as_deref());
    assert_eq!(a.raw, crate::api::pretty_sorted(&a.json), "pretty, sorted, 2-space indent");
    assert!(a.raw.starts_with("{\n  \"error\": "), "{}", a.raw);
}

/// Starts draft `test-client` `version` through the API as `jwt`'s user.
async fn start(app: &TestApp, jwt: &str, version: &str) -> Answer {
    post(app, "/api/release/create", &json!({ "project": "test-client", "version": version }), Some(jwt))
        .await
}

fn upload_body(version: &str, relpath: &str, bytes: &[u8], expected: Option<&str>) -> Value {
    json!({
        "project": "test-client",
        "version": version,
        "relpath": relpath,
        "content": base64::engine::general_purpose::STANDARD.encode(bytes),
        "expected_revision": expected,
    })
}

#[tokio::test]
async fn jwt_create_exchanges_a_pat_and_is_audited_and_rate_limited() {
    let app = TestApp::new();
    let token = pat(&app, "alice");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice", "pat": token }), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "asfuid", "jwt"]);
    assert_eq!(a.json["endpoint"], "/jwt/create");
    assert_eq!(a.json["asfuid"], "alice");
    let jwt = a.json["jwt"].as_str().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let decode = |p: &str| -> Value {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
    };
    assert_eq!(decode(parts[0]), json!({ "alg": "HS256", "typ": "JWT" }));
    let claims = decode(parts[1]);
    assert_keys(&claims, &["sub", "iat", "exp", "jti", "pat"]);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 90 * 60);

    // The token's use is recorded, and the issuance audited.
    let uid = Uid::new("alice").unwrap();
    let stored = app.storage.read(|tx| tx.tokens_of(&uid)).unwrap();
    assert!(stored[0].last_used.is_some());
    let events = app.storage.read(|tx| tx.audit_events_for("alice")).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.action == atr_core::model::AuditAction::JwtIssue && e.details["jti"] == claims["jti"]),
        "{events:?}"
    );
    let secret = std::fs::metadata(app.storage.layout().root().join("secrets/jwt.key")).unwrap();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&secret.permissions()) & 0o777, 0o600);

    // Wrong PAT, another user's PAT, an unknown user, an expired PAT.
    let wrong = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice", "pat": "nope" }), None).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "Invalid PAT");
    let bobs = pat(&app, "bob");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice", "pat": bobs }), None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Invalid PAT");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "mallory", "pat": bobs }), None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Invalid PAT");
    let old = "expired-token-value";
    app.storage
        .write(|tx| {
            tx.insert_token(&atr_core::model::PersonalAccessToken {
                id: None,
                asfuid: Uid::new("carol").unwrap(),
                token_hash: crate::api::auth::token_hash(old),
                created: atr_core::time::Timestamp::from_unix(1_000),
                expires: atr_core::time::Timestamp::from_unix(2_000),
                last_used: None,
                label: "old".into(),
            })
        })
        .unwrap();
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "carol", "pat": old }), None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Expired PAT");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice" }), None).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "missing field `pat`");

    // A revoked PAT no longer works.
    let id = stored[0].id.unwrap();
    ops::delete_token(&app.storage, &Actor::user(uid.clone()), id, crate::handlers::now()).unwrap();
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice", "pat": token }), None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Invalid PAT");

    // Ten failures per hour per address: five were counted so far (the unparsable call and the
    // successful exchanges were not). Successes still do not count; five more failures do, and
    // then even the right token is refused from that address.
    for _ in 0..12 {
        let fresh = pat(&app, "admin");
        let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "admin", "pat": fresh }), None).await;
        assert_eq!(a.status, StatusCode::OK, "successful exchanges are not limited: {}", a.raw);
    }
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            post(&app, "/api/jwt/create", &json!({ "asfuid": "bob", "pat": "guess" }), None).await.status,
        );
    }
    assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5], "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "the address's 11th failure: {statuses:?}");
    let fresh = pat(&app, "admin");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "admin", "pat": fresh }), None).await;
    assert_error(&a, StatusCode::TOO_MANY_REQUESTS, "for address");
    let limited = post(&app, "/api/jwt/create", &json!({ "asfuid": "admin", "pat": "x" }), None).await;
    assert_error(&limited, StatusCode::TOO_MANY_REQUESTS, "at most 10 per hour");
}

#[test]
fn the_limiter_counts_per_key_and_window() {
    let dir = tempfile::tempdir().unwrap();
    let state = crate::api::ApiState::of(dir.path()).unwrap();
    let keys = |u: &str| [format!("uid {u}"), "address 10.0.0.1".to_owned()];
    for i in 0..10 {
        state.limit(&[format!("uid {i}")], 10, 3600, 100).unwrap();
    }
    for _ in 0..10 {
        state.limit(&keys("alice"), 10, 3600, 100).unwrap();
    }
    assert_eq!(state.limit(&keys("bob"), 10, 3600, 200).unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
    state.limit(&["uid bob".to_owned()], 10, 3600, 200).unwrap();
    // An hour later the old attempts no longer count.
    state.limit(&keys("alice"), 10, 3600, 3701).unwrap();
    // An attempt taken back frees its place, once.
    let carol = ["uid carol".to_owned()];
    for _ in 0..10 {
        state.limit(&carol, 10, 3600, 4000).unwrap();
    }
    state.limit(&carol, 10, 3600, 4000).unwrap_err();
    state.forgive(&carol, 4000);
    state.limit(&carol, 10, 3600, 4000).unwrap();
    state.limit(&carol, 10, 3600, 4000).unwrap_err();
}

#[test]
fn expensive_endpoints_have_a_token_bucket_per_caller() {
    use crate::api::limits::{Buckets, Expensive};
    use std::time::Duration;
    let buckets = Buckets::default();
    let t0 = std::time::Instant::now();
    let (burst, every) = Expensive::VoteStart.rule();
    for _ in 0..burst {
        buckets.take(Expensive::VoteStart, "uid alice", t0).unwrap();
    }
    let refused = buckets.take(Expensive::VoteStart, "uid alice", t0).unwrap_err();
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.retry_after, Some(every.as_secs()));
    assert!(refused.message.contains("/vote/start"), "{}", refused.message);
    // Other callers and other endpoints have their own buckets.
    buckets.take(Expensive::VoteStart, "uid bob", t0).unwrap();
    buckets.take(Expensive::Upload, "uid alice", t0).unwrap();
    // One token comes back per period, and no more than that.
    buckets.take(Expensive::VoteStart, "uid alice", t0 + every / 2).unwrap_err();
    buckets.take(Expensive::VoteStart, "uid alice", t0 + every).unwrap();
    buckets.take(Expensive::VoteStart, "uid alice", t0 + every).unwrap_err();
    // An idle caller's bucket refills only up to the burst.
    let later = t0 + every * (burst * 10) + Duration::from_secs(1);
    for _ in 0..burst {
        buckets.take(Expensive::VoteStart, "uid alice", later).unwrap();
    }
    buckets.take(Expensive::VoteStart, "uid alice", later).unwrap_err();
}

#[tokio::test]
async fn a_caller_over_an_expensive_endpoints_limit_gets_429_with_retry_after() {
    let app = TestApp::new();
    let (alice, bob) = (jwt(&app, "alice").await, jwt(&app, "bob").await);
    let vote = json!({
        "project": "test-client", "version": "9.9", "revision": "00001",
        "email_to": "dev@test-client.apache.org", "vote_duration": 72, "subject": "s", "body": "b"
    });
    let (burst, _) = crate::api::limits::Expensive::VoteStart.rule();
    for _ in 0..burst {
        let a = post(&app, "/api/vote/start", &vote, Some(&alice)).await;
        assert_ne!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.raw);
        assert_eq!(a.retry_after, None);
    }
    let a = post(&app, "/api/vote/start", &vote, Some(&alice)).await;
    assert_error(&a, StatusCode::TOO_MANY_REQUESTS, "Too many requests to /vote/start");
    let wait: u64 = a.retry_after.as_deref().expect("a Retry-After header").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Bob is not held back by alice's calls.
    let a = post(&app, "/api/vote/start", &vote, Some(&bob)).await;
    assert_ne!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.raw);
}

/// Draft `test-client` `version` with the signed fixture release uploaded and checked.
async fn checked_draft(app: &TestApp, jwt: &str, version: &str) {
    assert_eq!(start(app, jwt, version).await.status, StatusCode::CREATED);
    let key = String::from_utf8(fixture("signer.asc")).unwrap();
    let body = json!({ "asfuid": "alice", "key": key, "committees": ["test"] });
    let a = post(app, "/api/key/add", &body, Some(jwt)).await;
    assert!(a.status.is_success() || a.status == StatusCode::CONFLICT, "{}", a.raw);
    for name in [TARBALL.to_owned(), format!("{TARBALL}.sha512"), format!("{TARBALL}.asc")] {
        let a =
            post(app, "/api/release/upload", &upload_body(version, &name, &fixture(&name), None), Some(jwt))
                .await;
        assert!(a.status.is_success(), "{name}: {}", a.raw);
        app.settle();
    }
}

#[tokio::test]
async fn in_test_mode_a_vote_resolves_at_once_and_the_audit_says_so() {
    let vote = |v: &str| json!({ "project": "test-client", "version": v, "email_to": "alice@apache.org" });
    let resolve = |v: &str, r: &str| json!({ "project": "test-client", "version": v, "resolution": r });
    // A normal server: the period and the tally hold.
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    checked_draft(&app, &alice, "0.7").await;
    let a = post(&app, "/api/vote/start", &vote("0.7"), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let a = post(&app, "/api/vote/resolve", &resolve("0.7", "passed"), Some(&alice)).await;
    assert_error(&a, StatusCode::CONFLICT, "the vote is open until");
    // A test server (as the `atr` client's cli_workflow.t needs): failed, then passed, at once.
    let app = TestApp::new().in_test_mode();
    let alice = jwt(&app, "alice").await;
    checked_draft(&app, &alice, "0.7").await;
    for resolution in ["failed", "passed"] {
        let a = post(&app, "/api/vote/start", &vote("0.7"), Some(&alice)).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
        let a = post(&app, "/api/vote/resolve", &resolve("0.7", resolution), Some(&alice)).await;
        assert_eq!(a.status, StatusCode::OK, "{resolution}: {}", a.raw);
    }
    let release = get(&app, "/api/release/get/test-client/0.7").await.json["release"].clone();
    assert_eq!(release["phase"], "release_preview", "{release}");
    let audit = app.storage.read(|tx| tx.audit_events_for("test-client-0.7")).unwrap();
    let resolved: Vec<_> =
        audit.iter().filter(|e| e.action == atr_core::model::AuditAction::VoteResolve).collect();
    assert_eq!(resolved.len(), 2, "{audit:?}");
    assert!(resolved.iter().all(|e| e.details["test_mode_bypass"] == true), "{resolved:?}");
    // Permission is not bypassed: bob (committer) may not resolve.
    let bob = jwt(&app, "bob").await;
    assert_error(
        &post(&app, "/api/vote/resolve", &resolve("0.7", "failed"), Some(&bob)).await,
        StatusCode::FORBIDDEN,
        "",
    );
}

#[tokio::test]
async fn posts_and_task_get_need_a_valid_bearer_jwt() {
    let app = TestApp::new();
    let body = json!({ "project": "test-client", "version": "1.0" });
    let a = post(&app, "/api/release/create", &body, None).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Authentication required");
    let a = post(&app, "/api/release/create", &body, Some("not-a-jwt")).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Invalid Bearer JWT format");
    let a = get(&app, "/api/task/get/1").await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Authentication required");

    let state = crate::api::ApiState::of(app.storage.layout().root()).unwrap();
    let now = crate::handlers::now().unix();
    let (expired, _) = crate::jwt::issue(state.secret(), "alice", None, now - 2 * 3600);
    let a = post(&app, "/api/release/create", &body, Some(&expired)).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Token has expired");
    let (forged, _) = crate::jwt::issue(&crate::jwt::Secret::from_bytes([1; 32]), "admin", None, now);
    let a = post(&app, "/api/release/create", &body, Some(&forged)).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "Invalid JWT signature");
    let (ghost, _) = crate::jwt::issue(state.secret(), "ghost", None, now);
    let a = post(&app, "/api/release/create", &body, Some(&ghost)).await;
    assert_error(&a, StatusCode::UNAUTHORIZED, "no account");

    // The client's request id is echoed in the header and the body.
    let req = TestClient::post(format!("{BASE}/api/release/create")).json(&body).add_header(
        "x-request-id",
        "abc-123",
        true,
    );
    let a = send(&app, req, None).await;
    assert_eq!(a.request_id.as_deref(), Some("abc-123"));
    assert_eq!(
        a.raw,
        "{\n  \"error\": \"Authentication required. Send `Authorization: Bearer <jwt>`, with a JWT from POST /api/jwt/create.\",\n  \"request_id\": \"abc-123\"\n}\n"
    );
    assert_eq!(a.content_type.as_deref(), Some("application/json"));

    // An unknown path under /api is a JSON 404 too.
    let a = get(&app, "/api/no/such/thing").await;
    assert_error(&a, StatusCode::NOT_FOUND, "There is no API endpoint GET /api/no/such/thing");
}

#[test]
fn server_faults_carry_the_exception_type_and_a_one_line_traceback() {
    let e = crate::api::ApiError::exception(
        "Invalid SSH key format",
        "SshFingerprintError",
        "line one\nline two",
    );
    let body = e.body("r1");
    assert_eq!(
        body,
        "{\n  \"error\": \"Invalid SSH key format\",\n  \"exception_type\": \"SshFingerprintError\",\n  \"request_id\": \"r1\",\n  \"traceback\": \"line one | line two\"\n}\n"
    );
}

#[tokio::test]
async fn releases_revisions_paths_and_projects_have_the_clients_shapes() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    let a = start(&app, &alice, "0.3+cli").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "release"]);
    let release = &a.json["release"];
    assert_eq!(release["phase"], "release_candidate_draft");
    assert_eq!(release["version"], "0.3+cli");
    assert_eq!(release["project_key"], "test-client");
    assert_eq!(release["latest_revision_number"], "00001");
    assert!(release["created"].is_string());

    let a = start(&app, &alice, "0.3+cli").await;
    assert_error(&a, StatusCode::CONFLICT, "0.3+cli");
    let a = post(
        &app,
        "/api/release/create",
        &json!({ "project": "test-client", "version": "../x" }),
        Some(&alice),
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "version");
    let a = post(&app, "/api/release/create", &json!({ "project": "nope", "version": "1.0" }), Some(&alice))
        .await;
    assert_error(&a, StatusCode::NOT_FOUND, "nope");
    let a = post(
        &app,
        "/api/release/create",
        &json!({ "project": "test-client", "version": "1.0", "extra": 1 }),
        Some(&alice),
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "unknown field `extra`");
    let carol = jwt(&app, "carol").await;
    let a = start(&app, &carol, "9.9").await;
    assert_error(&a, StatusCode::FORBIDDEN, "");

    // The `+` of a version in a path is a literal plus.
    let a = get(&app, "/api/release/get/test-client/0.3+cli").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "release"]);
    assert_eq!(a.json["endpoint"], "/release/get");
    assert_error(&get(&app, "/api/release/get/test-client/4.0").await, StatusCode::NOT_FOUND, "4.0");

    let a = post(
        &app,
        "/api/release/upload",
        &upload_body("0.3+cli", "README.txt", b"hello\n", Some("00001")),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "revision"]);
    let rev = &a.json["revision"];
    assert_eq!(rev["number"], "00002");
    assert_eq!(rev["asfuid"], "alice");
    assert_eq!(rev["phase"], "release_candidate_draft");
    assert_eq!(rev["key"], "test-client-0.3+cli 00002");
    assert_eq!(rev["parent_key"], "test-client-0.3+cli 00001");
    assert_eq!(rev["seq"], 2);

    let a = get(&app, "/api/release/revisions/test-client/0.3+cli").await;
    assert_keys(&a.json, &["endpoint", "revisions"]);
    assert_eq!(a.json["revisions"].as_array().unwrap().len(), 2);
    let a = get(&app, "/api/release/paths/test-client/0.3+cli").await;
    assert_keys(&a.json, &["endpoint", "rel_paths"]);
    assert_eq!(a.json["rel_paths"], json!(["README.txt"]));
    let a = get(&app, "/api/release/paths/test-client/0.3+cli/00001").await;
    assert_eq!(a.json["rel_paths"], json!([]));
    assert_error(
        &get(&app, "/api/release/paths/test-client/0.3+cli/xyz").await,
        StatusCode::NOT_FOUND,
        "revision",
    );

    let a = get(&app, "/api/project/get/test-client").await;
    assert_keys(&a.json, &["endpoint", "project"]);
    assert_eq!(a.json["project"]["key"], "test-client");
    assert_eq!(a.json["project"]["committee_key"], "test");
    assert_error(&get(&app, "/api/project/get/nope").await, StatusCode::NOT_FOUND, "nope");
    let a = get(&app, "/api/project/releases/test-client").await;
    assert_keys(&a.json, &["endpoint", "releases"]);
    assert_eq!(a.json["releases"][0]["latest_revision_number"], "00002");

    // Downloads: raw bytes of the latest revision, no redirect.
    let a = get(&app, "/download/path/test-client/0.3+cli/README.txt").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(a.raw, "hello\n");
    assert_error(
        &get(&app, "/download/path/test-client/0.3+cli/missing.txt").await,
        StatusCode::NOT_FOUND,
        "missing.txt",
    );
    assert_error(&get(&app, "/download/path/test-client/0.3+cli/../x").await, StatusCode::NOT_FOUND, "");

    // Draft delete: a stranger is refused, a member deletes it.
    let body = json!({ "project": "test-client", "version": "0.3+cli" });
    assert_error(
        &post(&app, "/api/release/draft/delete", &body, Some(&carol)).await,
        StatusCode::FORBIDDEN,
        "",
    );
    let a = post(&app, "/api/release/draft/delete", &body, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    assert_eq!(a.json["success"], true);
    assert_error(
        &post(&app, "/api/release/draft/delete", &body, Some(&alice)).await,
        StatusCode::NOT_FOUND,
        "",
    );
    start(&app, &alice, "0.4").await;
    let a = post(
        &app,
        "/api/release/delete",
        &json!({ "project": "test-client", "version": "0.4" }),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "deleted"]);
    assert_eq!(a.json["deleted"], true);
}

#[tokio::test]
async fn uploads_are_validated_and_archives_quarantined() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    start(&app, &alice, "0.2").await;
    let a = post(
        &app,
        "/api/release/upload",
        &upload_body("0.2", TARBALL, &fixture(TARBALL), None),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "quarantined", "message"]);
    assert_eq!(a.json["quarantined"], true);
    let before = get(&app, "/api/release/get/test-client/0.2").await;
    assert_eq!(before.json["release"]["latest_revision_number"], "00001", "not yet a revision");
    app.settle();
    let after = get(&app, "/api/release/get/test-client/0.2").await;
    assert_eq!(after.json["release"]["latest_revision_number"], "00002");
    let revs = get(&app, "/api/release/revisions/test-client/0.2").await;
    assert_eq!(revs.json["revisions"][1]["was_quarantined"], true);
    assert_eq!(revs.json["revisions"][0]["was_quarantined"], false);

    // A stale expected revision, damaged base64, bad paths, too large, strangers.
    let a =
        post(&app, "/api/release/upload", &upload_body("0.2", "a.txt", b"x", Some("00001")), Some(&alice))
            .await;
    assert_error(&a, StatusCode::CONFLICT, "not the expected 00001");
    let mut bad = upload_body("0.2", "a.txt", b"x", None);
    bad["content"] = json!("%%%");
    assert_error(
        &post(&app, "/api/release/upload", &bad, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "base64",
    );
    for path in ["../evil", "/abs", ".hidden", "a//b"] {
        let a = post(&app, "/api/release/upload", &upload_body("0.2", path, b"x", None), Some(&alice)).await;
        assert_error(&a, StatusCode::BAD_REQUEST, "relpath");
    }
    let big = vec![b'x'; app.app.upload_limit + 1];
    let a = post(&app, "/api/release/upload", &upload_body("0.2", "big.bin", &big, None), Some(&alice)).await;
    assert_error(&a, StatusCode::PAYLOAD_TOO_LARGE, "rsync");
    let huge = vec![b'x'; app.app.upload_limit * 2];
    let a =
        post(&app, "/api/release/upload", &upload_body("0.2", "big.bin", &huge, None), Some(&alice)).await;
    assert_error(&a, StatusCode::PAYLOAD_TOO_LARGE, "rsync");
    let carol = jwt(&app, "carol").await;
    let a = post(&app, "/api/release/upload", &upload_body("0.2", "a.txt", b"x", None), Some(&carol)).await;
    assert_error(&a, StatusCode::FORBIDDEN, "");
    let a = post(&app, "/api/release/upload", &upload_body("9.9", "a.txt", b"x", None), Some(&alice)).await;
    assert_error(&a, StatusCode::NOT_FOUND, "");
    assert_eq!(
        get(&app, "/api/release/get/test-client/0.2").await.json["release"]["latest_revision_number"],
        "00002"
    );
}

/// An OpenPGP key of `uid`@apache.org, armored.
fn generated_key(uid: &str) -> String {
    use sequoia_openpgp::serialize::SerializeInto as _;
    let (cert, _) =
        sequoia_openpgp::cert::CertBuilder::general_purpose(Some(format!("{uid} <{uid}@apache.org>")))
            .generate()
            .unwrap();
    String::from_utf8(cert.armored().to_vec().unwrap()).unwrap()
}

#[tokio::test]
async fn openpgp_and_ssh_keys() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    let armored = String::from_utf8(fixture("signer.asc")).unwrap();
    let a = post(
        &app,
        "/api/key/add",
        &json!({ "asfuid": "alice", "key": armored, "committees": ["test"] }),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "fingerprint", "warnings"]);
    let fp = a.json["fingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fp, fp.to_uppercase());
    assert!(fp.ends_with("0F15DA58C059358F"), "{fp}");
    let a = post(
        &app,
        "/api/key/add",
        &json!({ "asfuid": "bob", "key": armored, "committees": [] }),
        Some(&alice),
    )
    .await;
    assert_error(&a, StatusCode::FORBIDDEN, "bob");
    let a = post(
        &app,
        "/api/key/add",
        &json!({ "asfuid": "alice", "key": "garbage", "committees": [] }),
        Some(&alice),
    )
    .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "");
    let carol = jwt(&app, "carol").await;
    let a = post(
        &app,
        "/api/key/add",
        &json!({ "asfuid": "carol", "key": armored, "committees": ["test"] }),
        Some(&carol),
    )
    .await;
    assert_error(&a, StatusCode::FORBIDDEN, "");

    let a = get(&app, &format!("/api/key/get/{fp}")).await;
    assert_keys(&a.json, &["endpoint", "key"]);
    let key = &a.json["key"];
    assert_eq!(key["fingerprint"], fp.to_lowercase());
    assert!(key["algorithm"].is_u64() && key["length"].is_u64() && key["created"].is_string());
    assert!(key["ascii_armored_key"].as_str().unwrap().contains("BEGIN PGP PUBLIC KEY BLOCK"));
    assert!(key.get("primary_declared_uid").is_some() && key.get("apache_uid").is_some());
    assert_error(&get(&app, &format!("/api/key/get/{}", "0".repeat(40))).await, StatusCode::NOT_FOUND, "");
    let a = get(&app, "/api/committee/keys/test").await;
    assert_keys(&a.json, &["endpoint", "keys"]);
    assert_eq!(a.json["keys"].as_array().unwrap().len(), 1);
    assert_error(&get(&app, "/api/committee/keys/nope").await, StatusCode::NOT_FOUND, "nope");

    // A KEYS file of two keys, one damaged block; then alice's own key deleted.
    let own = generated_key("alice");
    let keys_file = format!(
        "{own}\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n{armored}"
    );
    let a =
        post(&app, "/api/keys/upload", &json!({ "filetext": keys_file, "committee": "test" }), Some(&alice))
            .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(
        &a.json,
        &["endpoint", "results", "success_count", "error_count", "submitted_committee", "warnings"],
    );
    assert_eq!(a.json["success_count"], 2);
    assert_eq!(a.json["error_count"], 1);
    assert_eq!(a.json["submitted_committee"], "test");
    let results = a.json["results"].as_array().unwrap();
    assert_keys(&results[0], &["status", "key"]);
    assert_keys(&results[2], &["status", "key", "error", "error_type"]);
    assert_eq!(results[2]["status"], "error");
    let a = get(&app, "/api/keys/user/alice").await;
    assert_keys(&a.json, &["endpoint", "keys"]);
    let own_fp = a.json["keys"][0]["fingerprint"].as_str().unwrap().to_owned();
    let a = post(&app, "/api/key/delete", &json!({ "fingerprint": fp }), Some(&alice)).await;
    assert_error(&a, StatusCode::FORBIDDEN, "not bound to alice");
    let a = post(&app, "/api/key/delete", &json!({ "fingerprint": own_fp }), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success", "warnings"]);
    assert_eq!(get(&app, "/api/keys/user/alice").await.json["keys"], json!([]));

    // SSH keys: ATR's fingerprint form, the client's 500 for a bad line, list, delete.
    let mut blob = Vec::new();
    for part in [&b"ssh-ed25519"[..], &[7u8; 32][..]] {
        blob.extend_from_slice(&u32::try_from(part.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(part);
    }
    let line = format!("ssh-ed25519 {} testing-key", base64::engine::general_purpose::STANDARD.encode(&blob));
    let expected = {
        use sha2::Digest as _;
        format!(
            "SHA256:{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob))
        )
    };
    let a = post(&app, "/api/ssh-key/add", &json!({ "text": line }), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "fingerprint"]);
    assert_eq!(a.json["fingerprint"], expected);
    let a = post(&app, "/api/ssh-key/add", &json!({ "text": "invalid-key" }), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_keys(&a.json, &["error", "exception_type", "request_id", "traceback"]);
    assert_eq!(a.json["error"], "Invalid SSH key format");
    assert_eq!(a.json["exception_type"], "SshFingerprintError");
    assert_eq!(a.raw.lines().count(), 6, "one line per key: {}", a.raw);
    let a = get(&app, "/api/ssh-keys/list/alice").await;
    assert_keys(&a.json, &["endpoint", "data", "count"]);
    assert_eq!(a.json["count"], 1);
    assert_keys(&a.json["data"][0], &["fingerprint", "key", "asf_uid"]);
    let a = post(&app, "/api/ssh-key/delete", &json!({ "fingerprint": expected }), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    assert_eq!(get(&app, "/api/ssh-keys/list/alice").await.json["count"], 0);
    let a = post(&app, "/api/ssh-key/delete", &json!({ "fingerprint": expected }), Some(&alice)).await;
    assert_error(&a, StatusCode::NOT_FOUND, "");
}

#[tokio::test]
async fn ignores_and_distributions() {
    let app = TestApp::new();
    let (alice, bob) = (jwt(&app, "alice").await, jwt(&app, "bob").await);
    let rule = json!({
        "project_key": "test-client", "release_glob": null, "revision_number": null,
        "checker_glob": "atr.tasks.checks.paths*", "primary_rel_path_glob": null,
        "member_rel_path_glob": null, "status": "concern", "message_glob": null,
    });
    assert_error(&post(&app, "/api/ignore/add", &rule, Some(&bob)).await, StatusCode::FORBIDDEN, "");
    let a = post(&app, "/api/ignore/add", &rule, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    let mut bad = rule.clone();
    bad["status"] = json!("blocker-ish");
    assert_error(&post(&app, "/api/ignore/add", &bad, Some(&alice)).await, StatusCode::BAD_REQUEST, "status");
    let a = get(&app, "/api/ignore/list/test-client").await;
    assert_keys(&a.json, &["endpoint", "ignores"]);
    let ignore = &a.json["ignores"][0];
    for k in [
        "asf_uid",
        "created",
        "project_key",
        "release_glob",
        "revision_number",
        "checker_glob",
        "primary_rel_path_glob",
        "member_rel_path_glob",
        "message_glob",
        "id",
        "status",
    ] {
        assert!(ignore.get(k).is_some(), "{k} in {ignore}");
    }
    assert_error(&get(&app, "/api/ignore/list/nope").await, StatusCode::NOT_FOUND, "");
    let id = ignore["id"].as_i64().unwrap();
    let a =
        post(&app, "/api/ignore/delete", &json!({ "project_key": "test-client", "id": id }), Some(&alice))
            .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(get(&app, "/api/ignore/list/test-client").await.json["ignores"], json!([]));
    let a =
        post(&app, "/api/ignore/delete", &json!({ "project_key": "test-client", "id": "x" }), Some(&alice))
            .await;
    assert_error(&a, StatusCode::BAD_REQUEST, "");

    start(&app, &alice, "1.0").await;
    let record = json!({
        "project": "test-client", "version": "1.0", "platform": "PYPI",
        "distribution_owner_namespace": null, "distribution_package": "apache-test-client",
        "distribution_version": "1.0", "staging": false, "details": false,
    });
    let a = post(&app, "/api/distribution/record", &record, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    let mut maven = record.clone();
    maven["platform"] = json!("MAVEN");
    assert_error(
        &post(&app, "/api/distribution/record", &maven, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "owner namespace",
    );
    maven["platform"] = json!("CRAN");
    assert_error(
        &post(&app, "/api/distribution/record", &maven, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "platform",
    );
    let carol = jwt(&app, "carol").await;
    assert_error(
        &post(&app, "/api/distribution/record", &record, Some(&carol)).await,
        StatusCode::FORBIDDEN,
        "",
    );
    let a = get(&app, "/api/distribution/list/test-client/1.0").await;
    assert_keys(&a.json, &["endpoint", "distributions"]);
    let d = &a.json["distributions"][0];
    assert_keys(
        d,
        &[
            "platform",
            "owner_namespace",
            "package",
            "version",
            "staging",
            "pending",
            "upload_date",
            "api_url",
            "web_url",
        ],
    );
    assert_eq!(d["platform"], "PYPI");
    assert_eq!(d["owner_namespace"], "");
    assert_eq!(d["api_url"], "https://pypi.org/pypi/apache-test-client/1.0/json");
    assert_error(&get(&app, "/api/distribution/list/test-client/2.0").await, StatusCode::NOT_FOUND, "");
}

/// Moves the end of the running vote of `test-client` `version` into the past (the API runs on the
/// real clock; a vote may be resolved only after its period).
fn end_vote(app: &TestApp, version: &str) {
    let (p, v) = (ProjectKey::new("test-client").unwrap(), VersionKey::new(version).unwrap());
    app.storage
        .write(|tx| {
            let mut release = tx.release(&p, &v)?.unwrap();
            let latest = tx.latest_revision(&p, &v)?;
            release.vote_ends = Some(crate::handlers::now().plus_secs(-1));
            tx.update_release_guarded(release.phase, latest, &release)
        })
        .unwrap();
}

/// The client's workflow, end to end: create, add key, upload the tarball (202, then a revision
/// once validated), its .sha512 and .asc (201), wait for checks, list them, start a vote (409
/// while checks run, then 201), resolve failed, start again, resolve passed, record and list a
/// distribution, announce, download, and delete.
#[tokio::test]
async fn the_clients_release_workflow_end_to_end() {
    let app = TestApp::new();
    // Trusted votes with no minimum duration, so the test can cast ballots and resolve at once.
    let p = ProjectKey::new("test-client").unwrap();
    app.storage
        .write(|tx| {
            let mut project = tx.project(&p)?.unwrap();
            project.policy.vote_mode = atr_core::model::VoteMode::Trusted;
            project.policy.min_hours = 0;
            tx.set_release_policy(&p, &project.policy)
        })
        .unwrap();
    let alice = jwt(&app, "alice").await;
    let a = start(&app, &alice, "0.2").await;
    assert_eq!(a.status, StatusCode::CREATED);
    let armored = String::from_utf8(fixture("signer.asc")).unwrap();
    let a = post(
        &app,
        "/api/key/add",
        &json!({ "asfuid": "alice", "key": armored, "committees": ["test"] }),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);

    let vote = json!({
        "project": "test-client", "version": "0.2", "revision": null, "email_to": "alice@apache.org",
        "email_cc": [], "email_bcc": [], "vote_duration": null, "subject": null, "body": null,
        "second_round_email_to": null, "notify_when_finished": false,
        "automatic_resolve_when_finished": false, "automatic_publish_when_resolved": false,
        "concerns_noted": [],
    });

    // The tarball waits in quarantine (no vote meanwhile) until the worker validated it, as the
    // client polls for; then the signature and checksum make revisions at once.
    let a = post(
        &app,
        "/api/release/upload",
        &upload_body("0.2", TARBALL, &fixture(TARBALL), Some("00001")),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
    assert_error(
        &post(&app, "/api/vote/start", &vote, Some(&alice)).await,
        StatusCode::CONFLICT,
        "Cannot start a vote",
    );
    app.settle();
    assert_eq!(
        get(&app, "/api/release/get/test-client/0.2").await.json["release"]["latest_revision_number"],
        "00002"
    );
    for name in [format!("{TARBALL}.sha512"), format!("{TARBALL}.asc")] {
        let a = post(
            &app,
            "/api/release/upload",
            &upload_body("0.2", &name, &fixture(&name), None),
            Some(&alice),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED, "{name}: {}", a.raw);
    }

    // Checks are queued: the vote is refused with 409, and the ongoing count says why.
    let a = get(&app, "/api/checks/ongoing/test-client/0.2").await;
    assert_keys(&a.json, &["endpoint", "ongoing"]);
    assert!(a.json["ongoing"].as_u64().unwrap() > 0, "{}", a.raw);
    let a = post(&app, "/api/vote/start", &vote, Some(&alice)).await;
    assert_error(&a, StatusCode::CONFLICT, "All checks must be completed before starting a vote");
    // Exactly the client's contract text (cli_slow_task.t); the web page keeps the full reason.
    assert_eq!(a.json["error"], "All checks must be completed before starting a vote", "{}", a.raw);

    let stats = app.settle();
    assert_eq!(stats.failed_attempts, 0, "{stats:?}");
    let release = get(&app, "/api/release/get/test-client/0.2").await.json["release"].clone();
    let latest = release["latest_revision_number"].as_str().unwrap().to_owned();
    assert_eq!(latest, "00004", "tarball (after quarantine), .sha512, .asc");
    assert_eq!(get(&app, "/api/checks/ongoing/test-client/0.2").await.json["ongoing"], 0);
    let a = get(&app, "/api/checks/list/test-client/0.2").await;
    assert_keys(&a.json, &["endpoint", "checks", "checks_revision", "current_phase"]);
    assert_eq!(a.json["checks_revision"], latest);
    assert_eq!(a.json["current_phase"], "release_candidate_draft");
    let checks = a.json["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    for c in checks {
        for k in ["release_key", "checker", "created", "message", "data", "status", "revision_number"] {
            assert!(c.get(k).is_some(), "{k} in {c}");
        }
        assert_ne!(c["status"], "blocker", "{c}");
    }
    assert!(
        checks.iter().any(|c| c["primary_rel_path"] == format!("{TARBALL}.asc") && c["status"] == "note"),
        "{checks:?}"
    );
    // The direct encoder gives exactly the serde form of the response type (keys and types).
    let reference = {
        let (p, v) = (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.2").unwrap());
        let n = atr_core::ids::RevisionNumber::parse(&latest).unwrap();
        let stored = app.storage.read(|tx| tx.check_results(&p, &v, n)).unwrap();
        serde_json::to_value(crate::api::releases::ChecksListResponse {
            endpoint: "/checks/list".to_owned(),
            checks: stored.iter().map(crate::api::models::CheckResult::of).collect(),
            checks_revision: latest.clone(),
            current_phase: atr_core::model::ReleasePhase::Draft,
        })
        .unwrap()
    };
    assert_eq!(a.json, reference);
    let typed: crate::api::releases::ChecksListResponse = serde_json::from_str(&a.raw).unwrap();
    assert_eq!(typed.checks.len(), checks.len());
    let a = get(&app, "/api/checks/list/test-client/0.2/00002").await;
    assert_eq!(a.json["checks_revision"], "00002");
    assert_error(&get(&app, "/api/checks/list/test-client/0.2/00099").await, StatusCode::NOT_FOUND, "00099");
    let a = get(&app, "/api/release/paths/test-client/0.2").await;
    assert_eq!(a.json["rel_paths"], json!([TARBALL, format!("{TARBALL}.asc"), format!("{TARBALL}.sha512")]));

    // Vote: the stranger is refused; alice starts it; the task records the mail.
    let mut concerns = vote.clone();
    concerns["concerns_noted"] = json!(
        checks.iter().filter(|c| c["status"] == "concern").map(|c| c["checker"].clone()).collect::<Vec<_>>()
    );
    let carol = jwt(&app, "carol").await;
    assert_error(&post(&app, "/api/vote/start", &concerns, Some(&carol)).await, StatusCode::FORBIDDEN, "");
    let mut wrong_list = concerns.clone();
    wrong_list["email_to"] = json!("everyone@example.com");
    assert_error(
        &post(&app, "/api/vote/start", &wrong_list, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "everyone@example.com",
    );
    let a = post(&app, "/api/vote/start", &concerns, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "task"]);
    let task = &a.json["task"];
    assert_eq!(task["task_args"]["email_to"], "alice@apache.org");
    assert_eq!(task["task_type"], "vote_initiate");
    assert_eq!(task["asf_uid"], "alice");
    // The result is the client's `VoteInitiate` model (discriminated by `kind`), field by field.
    let result = &task["result"];
    assert_keys(result, &["kind", "message", "email_to", "vote_end", "subject", "mid", "mail_send_warnings"]);
    assert_eq!(result["kind"], "vote_initiate");
    assert_eq!(result["email_to"], "alice@apache.org");
    assert_eq!(result["subject"], "[VOTE] Release Apache Test Client 0.2", "{result}");
    assert!(result["message"].as_str().is_some_and(|m| !m.is_empty()), "{result}");
    assert!(result["mid"].as_str().is_some_and(|m| m.contains('@') && !m.contains('<')), "{result}");
    assert_eq!(result["mail_send_warnings"], json!([]));
    let end = result["vote_end"].as_str().unwrap();
    let as_rfc3339 = format!("{}Z", end.strip_suffix(" UTC").unwrap().replace(' ', "T"));
    let end = atr_core::time::Timestamp::parse_rfc3339(&as_rfc3339).unwrap();
    let hours = end.secs_since(crate::handlers::now()) as f64 / 3600.0;
    assert!((71.9..=72.0).contains(&hours), "the vote ends 72 h from now: {result}");
    let id = task["id"].as_i64().unwrap();
    let a = send(&app, TestClient::get(format!("{BASE}/api/task/get/{id}")), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "task"]);
    assert_eq!(a.json["task"]["status"], "completed");
    assert_error(
        &send(&app, TestClient::get(format!("{BASE}/api/task/get/99999")), Some(&alice)).await,
        StatusCode::NOT_FOUND,
        "",
    );
    assert_error(&post(&app, "/api/vote/start", &concerns, Some(&alice)).await, StatusCode::CONFLICT, "");

    let resolve = |r: &str| json!({ "project": "test-client", "version": "0.2", "resolution": r });
    assert_error(
        &post(&app, "/api/vote/resolve", &resolve("maybe"), Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "resolution",
    );
    end_vote(&app, "0.2");
    let a = post(&app, "/api/vote/resolve", &resolve("failed"), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    assert_eq!(
        get(&app, "/api/release/get/test-client/0.2").await.json["release"]["phase"],
        "release_candidate_draft"
    );

    // Second round, with the release manager's own subject and body (placeholders filled as in
    // templates, the revision and digests still appended); a subject of two lines is refused.
    let mut second = concerns.clone();
    second["subject"] = json!("[VOTE] Release [PROJECT] [VERSION] (second round)");
    second["body"] =
        json!("Round two of [PROJECT] [VERSION], open for [DURATION] hours.\nReview: [REVIEW_URL]\n");
    let mut injected = second.clone();
    injected["subject"] = json!("[VOTE] Release\r\nBcc: everyone@example.com");
    assert_error(
        &post(&app, "/api/vote/start", &injected, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "subject",
    );
    let before = super::vote::outbox(&app).len();
    let a = post(&app, "/api/vote/start", &second, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let mails = super::vote::outbox(&app);
    assert_eq!(mails.len(), before + 1, "one vote mail");
    let mail =
        mails.iter().find(|m| m.contains("(second round)")).expect("the vote mail has the given subject");
    assert!(mail.contains("Subject: [VOTE] Release Apache Test Client 0.2 (second round)"), "{mail}");
    assert!(mail.contains("Round two of Apache Test Client 0.2, open for 72 hours."), "{mail}");
    assert!(mail.contains("/vote/test-client/0.2"), "{mail}");
    assert!(mail.contains("This vote is on revision"), "{mail}");
    assert!(!mail.contains("[PROJECT]") && !mail.contains("[DURATION]"), "{mail}");
    let v = VersionKey::new("0.2").unwrap();
    let test = CommitteeKey::new("test").unwrap();
    for uid in ["alice", "dave", "erin"] {
        let member = Actor::user(Uid::new(uid).unwrap()).member_of(test.clone());
        ops::cast_ballot(
            &app.storage,
            &member,
            &p,
            &v,
            atr_core::model::VoteChoice::Yes,
            String::new(),
            crate::handlers::now(),
        )
        .unwrap();
    }
    let tab = json!({ "project": "test-client", "version": "0.2" });
    assert_error(&post(&app, "/api/vote/tabulate", &tab, Some(&carol)).await, StatusCode::FORBIDDEN, "");
    let a = post(&app, "/api/vote/tabulate", &tab, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(
        &a.json,
        &[
            "endpoint",
            "details",
            "vote_mode",
            "vote_seq",
            "trusted_ballots",
            "trusted_summary",
            "trusted_passed",
        ],
    );
    assert_eq!(a.json["vote_mode"], "trusted");
    assert_eq!(a.json["vote_seq"], 2);
    assert_eq!(a.json["trusted_passed"], true);
    assert_eq!(a.json["trusted_ballots"].as_array().unwrap().len(), 3);
    end_vote(&app, "0.2");
    let a = post(&app, "/api/vote/resolve", &resolve("passed"), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_eq!(
        get(&app, "/api/release/get/test-client/0.2").await.json["release"]["phase"],
        "release_preview"
    );
    assert_error(
        &post(&app, "/api/vote/tabulate", &tab, Some(&alice)).await,
        StatusCode::CONFLICT,
        "no running vote",
    );

    // A distribution, then the announcement with the release manager's body.
    let record = json!({
        "project": "test-client", "version": "0.2", "platform": "MAVEN",
        "distribution_owner_namespace": "org.apache.test", "distribution_package": "test-client",
        "distribution_version": "0.2", "staging": false, "details": false,
    });
    assert_eq!(
        post(&app, "/api/distribution/record", &record, Some(&alice)).await.status,
        StatusCode::CREATED
    );
    let listed = get(&app, "/api/distribution/list/test-client/0.2").await;
    assert_eq!(listed.json["distributions"][0]["owner_namespace"], "org.apache.test");
    let announce = json!({
        "project": "test-client", "version": "0.2", "revision": null, "email_to": "alice@apache.org",
        "body": null, "path_suffix": null,
    });
    let mut elsewhere = announce.clone();
    elsewhere["email_to"] = json!("announce@apache.org");
    assert_error(
        &post(&app, "/api/release/announce", &elsewhere, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "announce@apache.org",
    );
    let mut custom = announce.clone();
    custom["body"] = json!("[PROJECT] [VERSION] is out: [DOWNLOAD_URL]\n\n-- [YOUR_ASF_ID]\n");
    let a = post(&app, "/api/release/announce", &custom, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success"]);
    let mails = super::vote::outbox(&app);
    let mail = mails.iter().find(|m| m.contains("[ANNOUNCE]")).expect("the announcement was sent");
    assert!(mail.contains("Apache Test Client 0.2 is out: "), "{mail}");
    assert!(mail.contains("/release/test-client/0.2"), "{mail}");
    assert!(mail.contains("-- alice"), "{mail}");
    assert!(!mail.contains("[DOWNLOAD_URL]"), "{mail}");
    let a = get(&app, "/api/release/get/test-client/0.2").await;
    assert_eq!(a.json["release"]["phase"], "release");
    assert!(a.json["release"]["released"].is_string());

    // The published files: the voted bytes.
    let a = get(&app, &format!("/download/path/test-client/0.2/{TARBALL}.sha512")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.raw.as_bytes(), fixture(&format!("{TARBALL}.sha512")));
    assert_eq!(a.content_type.as_deref(), Some("application/octet-stream"));

    // Signature provenance: the fixture key, and the committee whose release holds the .asc.
    let asc = String::from_utf8(fixture(&format!("{TARBALL}.asc"))).unwrap();
    let digest: String = {
        use sha3::Digest as _;
        sha3::Sha3_256::digest(asc.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let prov = json!({
        "signature_file_name": format!("{TARBALL}.asc"), "signature_asc_text": asc,
        "signature_sha3_256": digest, "project_key": null, "version_key": null,
    });
    let a = post(&app, "/api/signature/provenance", &prov, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "fingerprint", "key_asc_text", "committees_with_artifact"]);
    assert!(a.json["fingerprint"].as_str().unwrap().ends_with("0F15DA58C059358F"));
    assert_eq!(a.json["committees_with_artifact"], json!([{ "committee": "test" }]));
    let mut wrong = prov.clone();
    wrong["signature_sha3_256"] = json!("00");
    assert_error(
        &post(&app, "/api/signature/provenance", &wrong, Some(&alice)).await,
        StatusCode::BAD_REQUEST,
        "SHA3-256",
    );

    // A member may not delete an announced release (its published files); a draft, yes.
    let del = json!({ "project": "test-client", "version": "0.2" });
    assert_error(&post(&app, "/api/release/delete", &del, Some(&alice)).await, StatusCode::FORBIDDEN, "");
    assert_error(
        &post(&app, "/api/release/draft/delete", &del, Some(&alice)).await,
        StatusCode::CONFLICT,
        "not a draft",
    );
    start(&app, &alice, "0.3").await;
    let a = post(
        &app,
        "/api/release/delete",
        &json!({ "project": "test-client", "version": "0.3" }),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_error(&get(&app, "/api/release/get/test-client/0.3").await, StatusCode::NOT_FOUND, "");

    // An administrator may (as in ATR, and as the client's `dev delete` does): the release's files
    // leave the download area, found by inode, and nothing else there does; the audit says which.
    let layout = app.storage.layout();
    let area = layout.downloads_committee(&CommitteeKey::new("test").unwrap());
    let files_in = |dir: &std::path::Path| -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![dir.to_path_buf()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.file_type().unwrap().is_dir() {
                    dirs.push(e.path());
                } else {
                    out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    };
    let published: Vec<String> = files_in(&area).into_iter().filter(|f| f.contains("apache-test")).collect();
    assert_eq!(published.len(), 3, "{published:?}");
    // A file of the same name that is not one of the release's (another inode) stays.
    let first = area.join(&published[0]);
    let other = area.join("elsewhere").join(first.file_name().unwrap());
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::copy(&first, &other).unwrap();
    let admin = jwt(&app, "admin").await;
    let a = post(&app, "/api/release/delete", &del, Some(&admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    let left = files_in(&area);
    assert!(left.iter().all(|f| !published.contains(f)), "{left:?}");
    assert!(left.contains(&"KEYS".to_owned()), "{left:?}");
    assert!(other.is_file(), "a copy with another inode is not the release's file");
    let (p, v) = (ProjectKey::new("test-client").unwrap(), VersionKey::new("0.2").unwrap());
    assert!(!layout.finished_release(&p, &v).exists());
    assert_error(&get(&app, "/api/release/get/test-client/0.2").await, StatusCode::NOT_FOUND, "");
    let audit = app.storage.read(|tx| tx.audit_events_for("test-client-0.2")).unwrap();
    let delete = audit.iter().find(|e| e.action == atr_core::model::AuditAction::ReleaseDelete).unwrap();
    assert!(delete.as_admin, "{delete:?}");
    assert_eq!(delete.details["phase"], "release");
    assert_eq!(delete.details["download_files_removed"].as_array().unwrap().len(), 3, "{delete:?}");
}

#[tokio::test]
async fn sbom_generation_is_queued_for_a_source_archive_of_the_draft() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    start(&app, &alice, "0.5").await;
    post(&app, "/api/release/upload", &upload_body("0.5", "README.txt", b"hi\n", None), Some(&alice)).await;
    let a = post(
        &app,
        "/api/release/upload",
        &upload_body("0.5", TARBALL, &fixture(TARBALL), None),
        Some(&alice),
    )
    .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.raw);
    app.settle();
    let body = |relpath: &str| json!({ "project": "test-client", "version": "0.5", "relpath": relpath });
    let carol = jwt(&app, "carol").await;
    assert_error(
        &post(&app, "/api/sbom/generate", &body(TARBALL), Some(&carol)).await,
        StatusCode::FORBIDDEN,
        "",
    );
    let a = post(&app, "/api/sbom/generate", &body("nope.tar.gz"), Some(&alice)).await;
    assert_error(&a, StatusCode::NOT_FOUND, "nope.tar.gz");
    let a = post(&app, "/api/sbom/generate", &body("README.txt"), Some(&alice)).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "not a source archive");
    let a = post(&app, "/api/sbom/generate", &body(TARBALL), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "task"]);
    assert_eq!(a.json["task"]["task_type"], "sbom_generate_cyclonedx");
    assert_eq!(a.json["task"]["status"], "queued");
    assert_eq!(a.json["task"]["asf_uid"], "alice");

    // The client's --wait: /task/get until completed; the SBOM is then a file of the draft.
    let id = a.json["task"]["id"].as_i64().unwrap();
    app.settle();
    let a = send(&app, TestClient::get(format!("{BASE}/api/task/get/{id}")), Some(&alice)).await;
    assert_eq!(a.json["task"]["status"], "completed", "{}", a.raw);
    let paths = get(&app, "/api/release/paths/test-client/0.5").await;
    assert!(
        paths.json["rel_paths"].as_array().unwrap().contains(&json!(format!("{TARBALL}.cdx.json"))),
        "{}",
        paths.raw
    );
}

/// The rows of the endpoint table of `docs/API.md`, the project's own contract: method, path
/// (arguments as `{}`), whether a JWT is needed, and the status of success.
fn contract() -> Vec<(String, String, bool, u16)> {
    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md");
    let text = std::fs::read_to_string(doc).unwrap();
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let method = *cells.get(1)?;
            if method != "GET" && method != "POST" {
                return None;
            }
            let auth = match cells[3] {
                "JWT" => true,
                "-" => false,
                other => panic!("docs/API.md: auth is `JWT` or `-`, not `{other}`: {l}"),
            };
            Some((method.to_owned(), cells[2].to_owned(), auth, cells[4].parse().unwrap()))
        })
        .collect()
}

/// The contract's path of a route: `api/x/{a}` → `/x/{a}`, download under `https://{host}`.
fn contract_path(route: &str) -> String {
    match route.strip_prefix("api") {
        Some(rest) => rest.to_owned(),
        None => format!("https://{{host}}/{}", route.replace("{**", "{")),
    }
}

#[tokio::test]
async fn every_endpoint_of_the_contract_is_served_with_its_authentication() {
    let endpoints = crate::api::endpoints::all();
    let contract = contract();
    assert_eq!(contract.len(), 35, "docs/API.md lists 35 endpoints");
    assert_eq!(
        endpoints.len(),
        contract.len(),
        "the server serves each endpoint of docs/API.md, and no other"
    );
    for (e, (method, path, auth, status)) in endpoints.iter().zip(&contract) {
        let path = path.as_str();
        assert_eq!(e.method, method, "{path}");
        assert_eq!(e.auth, *auth, "{path}");
        assert_eq!(e.status, *status, "{path}");
        let (base, optional) = match path.split_once("[/{revision}]") {
            Some((b, _)) => (b.to_owned(), true),
            None => (path.to_owned(), false),
        };
        let routes: Vec<String> = e.paths.iter().map(|r| contract_path(r)).collect();
        let mut want = vec![base.clone()];
        if optional {
            want.push(format!("{base}/{{revision}}"));
        }
        assert_eq!(routes, want);
    }

    // Each is routed: a JWT endpoint without a token is 401; a public one answers with its own
    // 404 (not the router's "no endpoint").
    let app = TestApp::new();
    for e in &endpoints {
        for route in e.paths {
            let url = format!("/{}", route.replace("{**path}", "x").replace(['{', '}'], ""));
            let a = if e.method == "GET" {
                get(&app, &url).await
            } else {
                post(&app, &url, &json!({}), None).await
            };
            if e.auth {
                assert_error(&a, StatusCode::UNAUTHORIZED, "Authentication required");
            } else {
                assert!(!a.raw.contains("There is no API endpoint"), "{url}: {}", a.raw);
                assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{url}");
            }
        }
    }
}

#[tokio::test]
async fn the_openapi_description_is_made_from_the_endpoint_types() {
    let app = TestApp::new();
    let a = get(&app, "/api/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json["openapi"], "3.1.0");
    let paths = a.json["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, 38, "35 endpoints, three with an optional revision");
    let create = &paths["/api/release/create"]["post"];
    assert_eq!(create["security"], json!([{ "bearer": [] }]));
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["required"],
        json!(["project", "version"])
    );
    let ok = &create["responses"]["201"]["content"]["application/json"]["schema"];
    assert_eq!(ok["required"], json!(["endpoint", "release"]));
    assert!(ok["properties"]["release"]["properties"]["latest_revision_number"].is_object());
    let upload = &paths["/api/release/upload"]["post"]["responses"];
    assert_eq!(
        upload["202"]["content"]["application/json"]["schema"]["required"],
        json!(["endpoint", "quarantined", "message"])
    );
    let download = &paths["/download/path/{project}/{version}/{path}"]["get"];
    assert!(download["responses"]["200"]["content"]["application/octet-stream"].is_object());
    assert_eq!(download["parameters"].as_array().unwrap().len(), 3);
    let ongoing = &paths["/api/checks/ongoing/{project}/{version}"]["get"]["responses"]["200"];
    assert_eq!(ongoing["content"]["application/json"]["schema"]["properties"]["ongoing"]["type"], "integer");

    let page = get(&app, "/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.raw.contains("/api/openapi.json") && page.raw.contains("<code>/api/vote/start</code>"),
        "{}",
        page.raw
    );
}

#[tokio::test]
async fn in_test_mode_the_slow_file_keeps_its_checks_running() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    start(&app, &alice, "0.6").await;
    let slow = atr_worker::runner::SLOW_TEST_FILE;
    let a = post(&app, "/api/release/upload", &upload_body("0.6", slow, b"slow\n", None), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    assert!(get(&app, "/api/checks/ongoing/test-client/0.6").await.json["ongoing"].as_u64().unwrap() > 0);

    // The worker of a test-mode server (ATR_TEST_MODE=1 makes the delay 20 s; shorter here).
    let delay = std::time::Duration::from_millis(400);
    let mut config = atr_worker::runner::RunnerConfig::new(app.storage.layout().root());
    config.exit_when_idle = true;
    config.rlimits = atr_worker::rlimits::Rlimits::NONE;
    config.slow_test_file_delay = Some(delay);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let started = std::time::Instant::now();
    let stats =
        atr_worker::runner::run(&config, &atr_worker::registry::Registry::production(), &stop).unwrap();
    let elapsed = started.elapsed();
    let ongoing = get(&app, "/api/checks/ongoing/test-client/0.6").await.json["ongoing"].clone();
    let checks = get(&app, "/api/checks/list/test-client/0.6").await;
    // The runner replaces the panic hook (handler panics go to the log), so say what failed here.
    let ok = elapsed >= delay
        && stats.failed_attempts == 0
        && ongoing == 0
        && checks.json["checks"].as_array().is_some_and(|c| c.iter().any(|c| c["primary_rel_path"] == slow));
    if !ok {
        eprintln!("elapsed {elapsed:?}, {stats:?}, ongoing {ongoing}, checks {}", checks.raw);
    }
    assert!(ok, "the slow file's checks waited {delay:?}, then completed");
}

/// Finding 4 of the trust-chain issue: members could not vote on the platform through the API.
/// `/api/vote/cast` takes ATR 2026's request, records a ballot bound to the voted revision's
/// manifest digest (binding for a roster member), mails a receipt and allows 60 calls an hour.
#[tokio::test]
async fn members_vote_through_the_api_with_receipts() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    checked_draft(&app, &alice, "0.8").await;
    let vote = json!({ "project": "test-client", "version": "0.8", "email_to": "alice@apache.org" });
    let a = post(&app, "/api/vote/start", &vote, Some(&alice)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.raw);
    let cast = |choice: &str, comment: &str| json!({ "project": "test-client", "version": "0.8", "choice": choice, "comment": comment });
    let a = post(&app, "/api/vote/cast", &cast("+1", "checked the signature"), Some(&alice)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);
    assert_keys(&a.json, &["endpoint", "success", "receipt_email_to"]);
    assert_eq!(a.json["endpoint"], "/vote/cast");
    assert_eq!(a.json["receipt_email_to"], json!(["alice@apache.org"]));
    let bob = jwt(&app, "bob").await;
    let a = post(&app, "/api/vote/cast", &cast("-1", ""), Some(&bob)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.raw);

    let ballots = app
        .storage
        .read(|tx| {
            tx.ballots(
                &ProjectKey::new("test-client").unwrap(),
                &VersionKey::new("0.8").unwrap(),
                1,
                atr_core::model::VoteRound::Committee,
            )
        })
        .unwrap();
    assert_eq!(ballots.len(), 2, "{ballots:?}");
    let by = |u: &str| ballots.iter().find(|b| b.voter.as_ref().is_some_and(|v| v.as_str() == u)).unwrap();
    assert!(by("alice").binding && !by("bob").binding, "a member binds, a committer does not");
    assert_eq!(by("alice").comment, "checked the signature");
    assert!(by("alice").manifest_digest.as_ref().is_some_and(|d| d.len() == 64), "bound to the manifest");
    let tab = post(
        &app,
        "/api/vote/tabulate",
        &json!({ "project": "test-client", "version": "0.8" }),
        Some(&alice),
    )
    .await;
    assert_eq!(tab.json["vote_mode"], "trusted", "{}", tab.raw);
    assert_eq!(tab.json["trusted_summary"]["binding_yes"], 1, "{}", tab.raw);
    let receipts = std::fs::read_dir(app.storage.mail_outbox().join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|m| m.contains("Your vote on test-client-0.8"))
        .count();
    assert_eq!(receipts, 2);

    let a = post(&app, "/api/vote/cast", &cast("yes", ""), Some(&alice)).await;
    assert_error(&a, StatusCode::BAD_REQUEST, "+1");
    assert_error(&post(&app, "/api/vote/cast", &cast("+1", ""), None).await, StatusCode::UNAUTHORIZED, "");
    // 60 calls an hour per person: alice's two above count, so 58 more pass and the next is 429.
    for i in 0..58 {
        let a = post(&app, "/api/vote/cast", &cast("+1", ""), Some(&alice)).await;
        assert_eq!(a.status, StatusCode::OK, "call {i}: {}", a.raw);
    }
    let a = post(&app, "/api/vote/cast", &cast("+1", ""), Some(&alice)).await;
    assert_error(&a, StatusCode::TOO_MANY_REQUESTS, "/vote/cast");
    assert!(a.retry_after.is_some());
}

/// Request hygiene (trust-chain issue): a file name over 255 bytes used to reach the file system
/// and answer 500; it and names with invisible or look-alike characters are now a 400 naming the
/// problem, before anything is stored.
#[tokio::test]
async fn hostile_file_names_are_refused_with_a_clear_400() {
    let app = TestApp::new();
    let alice = jwt(&app, "alice").await;
    assert_eq!(start(&app, &alice, "0.9").await.status, StatusCode::CREATED);
    let long = format!("{}.tar.gz", "a".repeat(300));
    for (name, needle) in [
        (long.as_str(), "longer than 255 bytes"),
        ("apache-test\u{202E}zg.rat.tar.gz", "U+202E"),
        ("apache-test-0.9\u{2215}evil.tar.gz", "look-alike of `/`"),
    ] {
        let a =
            post(&app, "/api/release/upload", &upload_body("0.9", name, b"bytes", None), Some(&alice)).await;
        assert_error(&a, StatusCode::BAD_REQUEST, needle);
    }
    let paths = get(&app, "/api/release/paths/test-client/0.9").await;
    assert_eq!(paths.json["rel_paths"], json!([]), "nothing was stored: {}", paths.raw);
}

/// Request hygiene (trust-chain issue): deleting a PAT left the JWTs made from it valid for up to
/// 90 minutes. A JWT now names its PAT and the bearer check looks it up, so deletion ends it at once.
#[tokio::test]
async fn deleting_a_pat_ends_the_jwts_made_from_it_at_once() {
    let app = TestApp::new();
    let token = pat(&app, "alice");
    let a = post(&app, "/api/jwt/create", &json!({ "asfuid": "alice", "pat": token }), None).await;
    let jwt = a.json["jwt"].as_str().unwrap().to_owned();
    assert_eq!(start(&app, &jwt, "0.10").await.status, StatusCode::CREATED, "the JWT works");
    let alice = Actor::user(Uid::new("alice").unwrap());
    let id = app.storage.read(|tx| tx.tokens_of(&Uid::new("alice").unwrap())).unwrap()[0].id.unwrap();
    ops::delete_token(&app.storage, &alice, id, crate::handlers::now()).unwrap();
    assert_error(&start(&app, &jwt, "0.11").await, StatusCode::UNAUTHORIZED, "was deleted or has expired");
    // A JWT that names no PAT (as made before this rule) is refused too.
    let state = crate::api::ApiState::of(app.storage.layout().root()).unwrap();
    let (bare, _) = crate::jwt::issue(state.secret(), "alice", None, crate::handlers::now().unix());
    assert_error(
        &start(&app, &bare, "0.11").await,
        StatusCode::UNAUTHORIZED,
        "names no personal access token",
    );
}
