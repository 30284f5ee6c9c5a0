//! The one route table of the server, with the hoops every request passes through.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use atr_core::permissions::Actor;
use cookie::Key;
use salvo::http::request::SecureMaxSize;
use salvo::http::{FormLimits, StatusCode};
use salvo::prelude::*;
use serde::Deserialize;

use crate::handlers::distributions;
use crate::handlers::{
    IncomingFlash, admin, browse, compose, downloads, files, ignores, keys, svn, tokens, vote,
};
use crate::identity::LocalAccounts;
use crate::pages;
use crate::session::{self, Session};

/// What every handler may use.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub(crate) storage: Arc<atr_storage::Storage>,
    pub(crate) accounts: Arc<AccountsCache>,
    pub(crate) session_key: Key,
    /// Whether cookies get the `Secure` flag (true when serving HTTPS).
    pub(crate) secure_cookies: bool,
    /// The largest upload request accepted, in bytes.
    pub(crate) upload_limit: usize,
    /// Cached release pages, checked against the database's change stamps (`cache.rs`).
    pub(crate) pages: Arc<crate::cache::PageCache>,
    /// Test mode (`ATR_TEST_MODE`): votes may be resolved at once, as ATR's tests need.
    pub(crate) test_mode: bool,
}

/// The local accounts file, reloaded when it changes on disk (`atr-web user add` while serving).
#[derive(Debug)]
pub(crate) struct AccountsCache {
    path: PathBuf,
    cached: Mutex<(Option<SystemTime>, Arc<LocalAccounts>)>,
}

impl AccountsCache {
    /// Loads the accounts file at `path`.
    pub(crate) fn load(path: PathBuf) -> anyhow::Result<AccountsCache> {
        let accounts = LocalAccounts::load(&path)?;
        let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        Ok(AccountsCache { path, cached: Mutex::new((mtime, Arc::new(accounts))) })
    }

    /// The current accounts.
    pub(crate) fn current(&self) -> Arc<LocalAccounts> {
        let mtime = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        if cached.0 != mtime {
            match LocalAccounts::load(&self.path) {
                Ok(fresh) => *cached = (mtime, Arc::new(fresh)),
                Err(e) => tracing::error!("keeping the previous accounts: {e:#}"),
            }
        }
        Arc::clone(&cached.1)
    }
}

/// The largest KEYS file upload accepted (the largest ASF KEYS files are a few hundred KiB).
const KEYS_UPLOAD_LIMIT: usize = 8 << 20;

/// The largest vote thread (mbox or Pony Mail JSON) accepted for tabulation.
const VOTE_THREAD_LIMIT: usize = 16 << 20;

/// Every route of the server.
///
/// Every request passes [`session_hoop`], which refuses a state-changing request without the
/// session's CSRF token before any handler runs. The upload route sets its size and file-count
/// limits first, so that when the token is in the form rather than the URL, the form is read
/// under the upload limit. Permissions are decided by `atr-core` in each operation, and every
/// state change is audited by storage in the same transaction.
pub(crate) fn router(app: App) -> Router {
    let upload_limit = app.upload_limit;
    Router::new()
        .hoop(InjectApp(app))
        .push(crate::api::router())
        .push(
            Router::with_path("upload/{project}/{version}")
                .hoop(SecureMaxSize::new(upload_limit))
                .hoop(FormLimits::new().max_files(10_000).max_parts(10_100))
                .hoop(session_hoop)
                .get(compose::upload_form)
                .post(compose::upload),
        )
        .push(
            Router::with_path("vote/tabulate/{project}/{version}")
                .hoop(SecureMaxSize::new(VOTE_THREAD_LIMIT))
                .hoop(session_hoop)
                .post(vote::tabulate),
        )
        .push(
            Router::with_path("keys/upload")
                .hoop(SecureMaxSize::new(KEYS_UPLOAD_LIMIT))
                .hoop(session_hoop)
                .post(keys::upload),
        )
        .push(
            Router::new()
                .hoop(session_hoop)
                .get(browse::home)
                .push(Router::with_path("static/atr.css").get(stylesheet))
                .push(Router::with_path("login").get(login_form).post(login))
                .push(Router::with_path("logout").post(logout))
                .push(
                    Router::with_path("auth/oidc/login")
                        .get(crate::oidc::login_page)
                        .post(crate::oidc::start),
                )
                .push(Router::with_path("auth/oidc/callback").get(crate::oidc::callback))
                .push(Router::with_path("committees").get(browse::committees))
                .push(Router::with_path("committees/{committee}").get(browse::committee))
                .push(Router::with_path("projects").get(browse::projects))
                .push(Router::with_path("projects/{project}").get(browse::project))
                .push(Router::with_path("projects/{project}/policy").post(browse::save_policy))
                .push(Router::with_path("start/{project}").get(browse::start_form).post(browse::start))
                .push(Router::with_path("compose/{project}/{version}").get(compose::compose))
                .push(Router::with_path("draft/svn/{project}/{version}").get(svn::page).post(svn::import))
                .push(Router::with_path("draft/delete/{project}/{version}").post(compose::delete_draft))
                .push(Router::with_path("draft/delete-file/{project}/{version}").post(files::delete_file))
                .push(Router::with_path("draft/hashgen/{project}/{version}").post(files::hashgen))
                .push(Router::with_path("draft/file/{project}/{version}/{**path}").get(compose::file_actions))
                .push(Router::with_path("draft/sbom/{project}/{version}").post(files::sbom_generate))
                .push(Router::with_path("report/{project}/{version}/{**path}").get(files::report))
                .push(Router::with_path("file/{project}/{version}/{**path}").get(files::file))
                .push(Router::with_path("revisions/{project}/{version}").get(files::revisions))
                .push(Router::with_path("ignores/{project}").get(ignores::list))
                .push(Router::with_path("ignores/{project}/add").post(ignores::add))
                .push(Router::with_path("ignores/{project}/update").post(ignores::update))
                .push(Router::with_path("ignores/{project}/delete").post(ignores::delete))
                .push(Router::with_path("keys").get(keys::overview))
                .push(Router::with_path("keys/add").post(keys::add))
                .push(Router::with_path("keys/delete").post(keys::delete))
                .push(Router::with_path("keys/details/{fingerprint}").get(keys::details))
                .push(Router::with_path("keys/export/{committee}").get(keys::export))
                .push(Router::with_path("keys/ssh/add").post(keys::ssh_add))
                .push(Router::with_path("keys/ssh/delete").post(keys::ssh_delete))
                .push(Router::with_path("tokens").get(tokens::list).post(tokens::create))
                .push(Router::with_path("tokens/delete").post(tokens::delete))
                .push(Router::with_path("admin/releases").get(admin::releases))
                .push(Router::with_path("admin/tasks").get(admin::tasks))
                .push(Router::with_path("admin/consistency").get(admin::consistency))
                .push(Router::with_path("vote/{project}/{version}").get(vote::page))
                .push(Router::with_path("vote/start/{project}/{version}").post(vote::start))
                .push(Router::with_path("vote/ballot/{project}/{version}").post(vote::ballot))
                .push(Router::with_path("vote/resolve/{project}/{version}").post(vote::resolve))
                .push(Router::with_path("finish/{project}/{version}").get(vote::finish))
                .push(Router::with_path("finish/move/{project}/{version}").post(vote::finish_move))
                .push(Router::with_path("finish/rc-tags/{project}/{version}").post(vote::remove_rc_tags))
                .push(Router::with_path("announce/{project}/{version}").post(vote::announce))
                .push(Router::with_path("release/{project}/{version}").get(downloads::release_page))
                .push(Router::with_path("distributions/{project}/{version}").get(distributions::page))
                .push(
                    Router::with_path("distribution/record/{project}/{version}").post(distributions::record),
                )
                .push(
                    Router::with_path("distribution/delete/{project}/{version}").post(distributions::delete),
                )
                .push(
                    Router::with_path("distribution/refresh/{project}/{version}")
                        .post(distributions::refresh),
                )
                .push(Router::with_path("downloads").get(downloads::browse))
                .push(Router::with_path("downloads/{**path}").get(downloads::browse)),
        )
}

/// The service of the server: the [`router`] behind the hoops that run for every request, matched
/// or not (the [`crate::request_id`] hoop, so that even a 404 carries its id).
pub(crate) fn service(app: App) -> Service {
    Service::new(router(app)).hoop(crate::request_id::hoop).hoop(security_headers)
}

/// The site's stylesheet ([`crate::pages::STYLE`]), cached by browsers for a day.
#[handler]
async fn stylesheet(res: &mut Response) {
    res.headers_mut().insert(
        salvo::http::header::CACHE_CONTROL,
        salvo::http::HeaderValue::from_static("public, max-age=86400"),
    );
    res.render(Text::Css(crate::pages::STYLE));
}

/// The Content-Security-Policy of every answer: nothing but this origin's stylesheet and images,
/// no script at all, never inside a frame.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every answer, matched or not: the policy above, no framing, no content
/// sniffing, the origin only as referrer, and HSTS when the request came over HTTPS.
#[handler]
async fn security_headers(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    ctrl.call_next(req, depot, res).await;
    // No route matched: our own page (the framework's default would otherwise answer, unstyled).
    if res.status_code == Some(StatusCode::NOT_FOUND)
        && res.body.is_none()
        && !req.uri().path().starts_with("/api/")
    {
        crate::error::WebError::not_found(format!(
            "There is no page at {}; check the address, or start from the home page.",
            req.uri().path()
        ))
        .render(res);
    }
    let https = req.uri().scheme_str() == Some("https") || req.scheme() == &salvo::http::uri::Scheme::HTTPS;
    let headers = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers.insert(name, salvo::http::HeaderValue::from_static(value));
    };
    set("content-security-policy", CONTENT_SECURITY_POLICY);
    set("x-frame-options", "DENY");
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "same-origin");
    if https {
        set("strict-transport-security", "max-age=31536000");
    }
}

/// Puts the [`App`] into every request's depot.
#[derive(Debug)]
struct InjectApp(App);

#[async_trait]
impl Handler for InjectApp {
    async fn handle(&self, _req: &mut Request, depot: &mut Depot, _res: &mut Response, _ctrl: &mut FlowCtrl) {
        depot.insert_typed(self.0.clone());
    }
}

/// The [`App`] of this request.
fn app(depot: &Depot) -> &App {
    depot.get_typed::<App>().expect("the InjectApp hoop runs before every handler")
}

/// The session of this request.
fn current_session(depot: &Depot) -> &Session {
    depot.get_typed::<Session>().expect("the session hoop runs before every handler")
}

/// Who is making this request, with their current roles.
pub(crate) fn actor(depot: &Depot) -> Actor {
    let app = app(depot);
    current_session(depot).actor(&app.accounts.current(), &app.storage)
}

fn now() -> i64 {
    let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// Finds or starts the session, and refuses state-changing requests without its CSRF token.
#[handler]
async fn session_hoop(req: &mut Request, depot: &mut Depot, res: &mut Response, ctrl: &mut FlowCtrl) {
    let app = app(depot).clone();
    let existing = session::read(req, &app.session_key, now());
    let flash = session::read_flash(req, &app.session_key);
    if flash.is_some() {
        session::clear_flash(res, app.secure_cookies);
    }
    depot.insert_typed(IncomingFlash(flash));
    if session::changes_state(req.method()) {
        let presented = session::presented_token(req).await;
        let valid = match (&existing, presented) {
            (Some(s), Some(token)) => session::tokens_match(&s.csrf, &token),
            _ => false,
        };
        if !valid {
            session::refuse_csrf(res);
            ctrl.skip_rest();
            return;
        }
    }
    let session = match existing {
        Some(s) => s,
        None => {
            let fresh = Session::new(None, now());
            session::write(res, &app.session_key, &fresh, app.secure_cookies);
            fresh
        }
    };
    depot.insert_typed(session);
}

#[handler]
async fn login_form(depot: &mut Depot, res: &mut Response) {
    let actor = actor(depot);
    let sso = crate::oidc::configured_label(depot);
    res.render(pages::Page(pages::login(
        &pages::Chrome::new(&actor, current_session(depot)),
        None,
        sso.as_deref(),
    )));
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    uid: String,
    password: String,
}

#[handler]
async fn login(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let app = app(depot).clone();
    let form = match req.parse_form::<LoginForm>().await {
        Ok(f) => f,
        Err(_) => {
            res.status_code(StatusCode::BAD_REQUEST);
            res.render(Text::Plain("The login form needs the fields uid and password."));
            return;
        }
    };
    let accounts = app.accounts.current();
    match tokio::task::spawn_blocking(move || accounts.authenticate(&form.uid, &form.password)).await {
        Ok(Ok(uid)) => {
            // A new session (and CSRF token) at login, so a token seen before login is useless after it.
            tracing::info!(%uid, "logged in");
            let session = Session::new(Some(uid), now());
            session::write(res, &app.session_key, &session, app.secure_cookies);
            res.render(Redirect::other("/"));
        }
        Ok(Err(e)) => {
            let actor = Actor::public();
            res.status_code(StatusCode::UNAUTHORIZED);
            let sso = crate::oidc::configured_label(depot);
            res.render(pages::Page(pages::login(
                &pages::Chrome::new(&actor, current_session(depot)),
                Some(&e.to_string()),
                sso.as_deref(),
            )));
        }
        Err(e) => {
            tracing::error!("login task failed: {e}");
            res.status_code(StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}

#[handler]
async fn logout(depot: &mut Depot, res: &mut Response) {
    let app = app(depot).clone();
    let session = Session::new(None, now());
    session::write(res, &app.session_key, &session, app.secure_cookies);
    res.render(Redirect::other("/"));
}
