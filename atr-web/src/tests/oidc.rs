//! Login through an OAuth2/OIDC provider: a minimal provider runs on loopback in the test (real
//! HTTP: discovery document, authorize redirect, token endpoint with client authentication and
//! PKCE, an HS256-signed ID token, userinfo), and the browser goes through the real flow.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use salvo::http::StatusCode;
use salvo::test::TestClient;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::{BASE, Browser, TestApp, csrf_from};
use crate::oidc::{InjectProvider, Provider};
use crate::routes;

const CLIENT_ID: &str = "atr-test";
const CLIENT_SECRET: &str = "s3cret/with:odd chars";

/// What the provider knows about its pending codes and tokens.
#[derive(Default)]
struct IdpState {
    /// code → (nonce, code_challenge, redirect_uri).
    codes: BTreeMap<String, (String, String, String)>,
    /// access token → claims.
    tokens: BTreeMap<String, Value>,
    /// Sends this nonce in the ID token instead of the one asked for.
    wrong_nonce: bool,
    /// The claims of the user who "logs in" at the provider.
    claims: Value,
    counter: u32,
}

/// A minimal OpenID provider on a loopback port, one thread, HTTP/1.1 with `Connection: close`.
struct Idp {
    base: String,
    state: Arc<Mutex<IdpState>>,
}

struct HttpRequest {
    method: String,
    target: String,
    headers: BTreeMap<String, String>,
    body: String,
}

fn read_request(stream: &mut TcpStream) -> Option<HttpRequest> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(HttpRequest { method, target, headers, body: String::from_utf8(body).ok()? })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes());
}

fn query(target: &str) -> BTreeMap<String, String> {
    let q = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = sha2::Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    sha2::Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

fn jwt(claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(json!({ "alg": "HS256", "typ": "JWT" }).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{head}.{body}");
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(CLIENT_SECRET.as_bytes(), signed.as_bytes()));
    format!("{signed}.{sig}")
}

impl Idp {
    fn start(claims: Value) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(Mutex::new(IdpState { claims, ..IdpState::default() }));
        let (shared, issuer) = (Arc::clone(&state), base.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if let Some(req) = read_request(&mut stream) {
                    serve(&mut stream, &req, &shared, &issuer);
                }
            }
        });
        Idp { base, state }
    }
}

fn serve(stream: &mut TcpStream, req: &HttpRequest, state: &Mutex<IdpState>, issuer: &str) {
    let path = req.target.split('?').next().unwrap_or_default();
    let mut st = state.lock().unwrap();
    match (req.method.as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => {
            let doc = json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/authorize"),
                "token_endpoint": format!("{issuer}/token"),
                "userinfo_endpoint": format!("{issuer}/userinfo"),
            });
            respond(stream, "200 OK", &[("Content-Type", "application/json")], &doc.to_string());
        }
        ("GET", "/authorize") => {
            let q = query(&req.target);
            let ok = q.get("response_type").map(String::as_str) == Some("code")
                && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("code_challenge_method").map(String::as_str) == Some("S256")
                && q.get("scope").is_some_and(|s| s.split(' ').any(|s| s == "openid"));
            if !ok {
                return respond(stream, "400 Bad Request", &[], "bad authorization request");
            }
            st.counter += 1;
            let code = format!("code-{}", st.counter);
            st.codes.insert(
                code.clone(),
                (q["nonce"].clone(), q["code_challenge"].clone(), q["redirect_uri"].clone()),
            );
            let mut to = url::Url::parse(&q["redirect_uri"]).unwrap();
            to.query_pairs_mut().append_pair("code", &code).append_pair("state", &q["state"]);
            respond(stream, "303 See Other", &[("Location", to.as_str())], "");
        }
        ("POST", "/token") => {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic =
                format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET))));
            if req.headers.get("authorization") != Some(&basic) {
                return respond(stream, "401 Unauthorized", &[], r#"{"error":"invalid_client"}"#);
            }
            let form: BTreeMap<String, String> =
                url::form_urlencoded::parse(req.body.as_bytes()).into_owned().collect();
            let Some((nonce, challenge, redirect)) = form.get("code").and_then(|c| st.codes.remove(c)) else {
                return respond(stream, "400 Bad Request", &[], r#"{"error":"invalid_grant"}"#);
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let pkce_ok = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())) == challenge;
            if !pkce_ok || form.get("redirect_uri") != Some(&redirect) {
                return respond(stream, "400 Bad Request", &[], r#"{"error":"invalid_grant"}"#);
            }
            st.counter += 1;
            let access = format!("access-{}", st.counter);
            let claims = st.claims.clone();
            st.tokens.insert(access.clone(), claims.clone());
            let nonce = if st.wrong_nonce { "another-nonce".to_owned() } else { nonce };
            let now = crate::handlers::now().unix();
            let id_token = jwt(&json!({
                "iss": issuer, "sub": claims["sub"], "aud": CLIENT_ID, "exp": now + 300, "iat": now, "nonce": nonce,
            }));
            let body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token });
            respond(stream, "200 OK", &[("Content-Type", "application/json")], &body.to_string());
        }
        ("GET", "/userinfo") => {
            let token = req.headers.get("authorization").and_then(|a| a.strip_prefix("Bearer "));
            match token.and_then(|t| st.tokens.get(t)) {
                Some(claims) => {
                    respond(stream, "200 OK", &[("Content-Type", "application/json")], &claims.to_string())
                }
                None => respond(stream, "401 Unauthorized", &[], r#"{"error":"invalid_token"}"#),
            }
        }
        _ => respond(stream, "404 Not Found", &[], "no such endpoint"),
    }
}

/// The browser's visit to the provider: a real GET of the authorize URL; returns where the
/// provider sends the browser back (the callback, as path and query on our server).
fn visit_provider(authorize: &str) -> String {
    let url = url::Url::parse(authorize).unwrap();
    let mut stream = TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    write!(stream, "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", url.authority())
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let location = answer
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .unwrap_or_else(|| panic!("no Location\n{answer}"))
        .trim()
        .to_owned();
    location.strip_prefix(BASE).unwrap_or_else(|| panic!("sent back elsewhere: {location}")).to_owned()
}

/// A server whose `[oidc]` provider is `idp` (through discovery from its issuer URL).
fn app_with(idp: &Idp) -> TestApp {
    let text = format!(
        "issuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret = \"{}\"\n\
         redirect_url = \"{BASE}/auth/oidc/callback\"\nuid_claim = \"preferred_username\"\n\
         member_claim = \"groups_member\"\ncommitter_claim = \"groups_committer\"\nadmin_claim = \"is_admin\"\n\
         label = \"Log in with Test SSO\"\n",
        idp.base,
        CLIENT_SECRET.replace('\\', "\\\\"),
    );
    let config: crate::config::OidcConfig = toml::from_str(&text).unwrap();
    let mut app = TestApp::new();
    let provider = Arc::new(Provider::new(config));
    app.service = routes::service(app.app.clone()).hoop(InjectProvider(Some(provider)));
    app
}

/// Starts the flow in `browser`: the login page, its form, the redirect to the provider.
async fn start(app: &TestApp, browser: &mut Browser) -> String {
    let (_, login) = browser.get(app, "/login").await;
    assert!(login.contains(r#"<a href="/auth/oidc/login">Log in with Test SSO</a>"#), "{login}");
    let (status, page) = browser.get(app, "/auth/oidc/login").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Log in with Test SSO"), "{page}");
    let token = csrf_from(&page);
    let req = TestClient::post(format!("{BASE}/auth/oidc/login")).raw_form(format!("csrf_token={token}"));
    let (status, location, body) = browser.send(app, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let location = location.unwrap();
    assert!(
        location.contains("state=") && location.contains("nonce=") && location.contains("code_challenge=")
    );
    location
}

fn dora() -> Value {
    json!({
        "sub": "u-1234", "preferred_username": "dora", "groups_member": ["test", "Not A Key!"],
        "groups_committer": "other", "is_admin": false,
    })
}

#[tokio::test]
async fn a_user_logs_in_through_the_provider_with_roles_from_its_claims() {
    let idp = Idp::start(dora());
    let app = app_with(&idp);
    let mut browser = Browser::default();
    let authorize = start(&app, &mut browser).await;
    assert!(authorize.starts_with(&format!("{}/authorize?", idp.base)), "discovered endpoint: {authorize}");
    let callback = visit_provider(&authorize);
    let (status, location, body) = browser.send(&app, TestClient::get(format!("{BASE}{callback}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(location.as_deref(), Some("/"));

    let (_, home) = browser.get(&app, "/").await;
    assert!(home.contains("Signed in as <strong>dora</strong>"), "{home}");
    // Member of `test` (the claim's invalid key is skipped): may start a release there.
    let (status, _) = browser.get(&app, "/start/test-client").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = browser.get(&app, "/admin/tasks").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not an administrator");

    // The callback works once: the new session holds no pending login.
    let (status, _, body) = browser.send(&app, TestClient::get(format!("{BASE}{callback}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no login in progress"), "{body}");
    let (_, home) = browser.get(&app, "/").await;
    assert!(home.contains("Signed in as <strong>dora</strong>"), "the session is untouched\n{home}");
}

#[tokio::test]
async fn a_user_without_committees_is_logged_in_with_no_roles() {
    let idp = Idp::start(json!({ "sub": "u-9", "preferred_username": "eve" }));
    let app = app_with(&idp);
    let mut browser = Browser::default();
    let callback = visit_provider(&start(&app, &mut browser).await);
    let (status, _, body) = browser.send(&app, TestClient::get(format!("{BASE}{callback}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, home) = browser.get(&app, "/").await;
    assert!(home.contains("Signed in as <strong>eve</strong>"), "{home}");
    let (status, _) = browser.get(&app, "/start/test-client").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forged_state_another_browser_and_a_wrong_nonce_are_refused() {
    let idp = Idp::start(dora());
    let app = app_with(&idp);

    // A code for the victim's browser with a state that is not the one it sent.
    let mut victim = Browser::default();
    let callback = visit_provider(&start(&app, &mut victim).await);
    let forged = callback.replace("state=", "state=x");
    let (status, _, body) = victim.send(&app, TestClient::get(format!("{BASE}{forged}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("state mismatch"), "{body}");
    let (_, home) = victim.get(&app, "/").await;
    assert!(!home.contains("Signed in as"), "{home}");

    // An attacker's own callback URL planted in a browser that started no login (login CSRF).
    let mut attacker = Browser::default();
    let planted = visit_provider(&start(&app, &mut attacker).await);
    let mut other = Browser::default();
    let (status, _, body) = other.send(&app, TestClient::get(format!("{BASE}{planted}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("no login in progress"), "{body}");

    // Starting the login needs the CSRF token like every form.
    let (status, _) = other.post(&app, "/auth/oidc/login", "csrf_token=forged").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // An ID token with another nonce (a replayed token) is refused.
    idp.state.lock().unwrap().wrong_nonce = true;
    let mut browser = Browser::default();
    let callback = visit_provider(&start(&app, &mut browser).await);
    let (status, _, body) = browser.send(&app, TestClient::get(format!("{BASE}{callback}"))).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body.contains("nonce"), "{body}");
    let (_, home) = browser.get(&app, "/").await;
    assert!(!home.contains("Signed in as"), "{home}");
}

#[tokio::test]
async fn without_a_provider_the_routes_say_so() {
    let app = TestApp::new();
    let mut browser = Browser::default();
    let (_, login) = browser.get(&app, "/login").await;
    assert!(!login.contains("/auth/oidc/login"), "no single sign-on link without a provider: {login}");
    let (status, page) = browser.get(&app, "/auth/oidc/login").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("not configured"), "{page}");
}

#[test]
fn claims_map_to_a_uid_and_committees_and_bad_uids_are_refused() {
    let config: crate::config::OidcConfig = toml::from_str(
        "issuer = \"https://login.example\"\nclient_id = \"c\"\nredirect_url = \"https://atr.example/cb\"\n\
         admin_claim = \"admin\"\n",
    )
    .unwrap();
    let claims = |v: Value| v.as_object().unwrap().clone();
    let id = crate::oidc::map_claims(
        &config,
        &claims(json!({ "sub": "frank", "member_of": "test", "committer_of": ["a", "b"], "admin": true })),
    )
    .unwrap();
    assert_eq!(id.uid.as_str(), "frank");
    assert!(id.roles.admin);
    assert_eq!(id.roles.member_of.iter().map(|k| k.as_str()).collect::<Vec<_>>(), ["test"]);
    assert_eq!(id.roles.committer_of.len(), 2);
    let err = crate::oidc::map_claims(&config, &claims(json!({ "sub": "../root" }))).unwrap_err();
    assert!(err.to_string().contains("is not a user id"), "{err}");
    let err = crate::oidc::map_claims(&config, &claims(json!({ "name": "x" }))).unwrap_err();
    assert!(err.to_string().contains("no `sub` claim"), "{err}");
}
