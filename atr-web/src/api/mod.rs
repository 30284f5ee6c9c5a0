//! The JSON API under `/api`, compatible with the `atr` command-line client (api-contract.md §4),
//! and `GET /download/path/<project>/<version>/<path>`.
//!
//! Endpoints parse their input into the request types of [`endpoints`], call the same operations
//! as the HTML handlers ([`crate::ops`], [`crate::views`], storage queries) and answer with the
//! response types; permissions are decided by `atr-core` inside those operations. Every `POST`
//! and `GET /task/get` need `Authorization: Bearer <jwt>` (from `POST /api/jwt/create`); the other
//! `GET`s are public. Errors are pretty-printed JSON with sorted keys, always with `error` and
//! `request_id`, and on server faults `exception_type` and a one-line `traceback`.

/// Declares an endpoint handler: the body computes a `Result<Reply, ApiError>` that is written
/// as the response (errors in the API's JSON error shape).
macro_rules! endpoint {
    ($(#[$meta:meta])* $name:ident($req:ident, $depot:ident) $body:block) => {
        $(#[$meta])*
        #[salvo::handler]
        pub(crate) async fn $name($req: &mut salvo::Request, $depot: &mut salvo::Depot, res: &mut salvo::Response) {
            let outcome: Result<$crate::api::Reply, $crate::api::ApiError> = async { $body }.await;
            $crate::api::write($depot, res, outcome);
        }
    };
}

pub(crate) mod schema;

pub(crate) mod auth;
pub(crate) mod docs;
pub(crate) mod endpoints;
pub(crate) mod keys;
pub(crate) mod limits;
pub(crate) mod models;
pub(crate) mod releases;
pub(crate) mod svn;
pub(crate) mod vote;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use atr_core::permissions::Actor;
use salvo::http::StatusCode;
use salvo::http::header::CONTENT_TYPE;
use salvo::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::error::WebError;
use crate::request_id::RequestId;
use crate::routes::App;

/// The largest JSON body of an API request other than an upload (KEYS files are the largest).
pub(crate) const BODY_LIMIT: usize = 8 << 20;

/// An API error: a status and a message for the client, plus the exception type and a one-line
/// traceback when it is a fault of the server (or the client's `SshFingerprintError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) exception: Option<(String, String)>,
    /// For 429: seconds until the call may be retried (the `Retry-After` header).
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), exception: None, retry_after: None }
    }

    /// 400: the request is malformed.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no token, or a token that is not valid.
    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404.
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 429: too many calls; retry in `retry_after` seconds.
    pub(crate) fn too_many(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError { retry_after: Some(retry_after), ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, message) }
    }

    /// 409: the state does not allow it now.
    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// A server-side exception, reported as ATR's server does (500 with type and traceback).
    pub(crate) fn exception(message: impl Into<String>, kind: &str, traceback: &str) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            exception: Some((kind.to_owned(), traceback.to_owned())),
            retry_after: None,
        }
    }

    /// The JSON body for request `request_id`: keys sorted, 2-space indentation, trailing newline.
    pub(crate) fn body(&self, request_id: &str) -> String {
        let mut map = serde_json::Map::new();
        map.insert("error".to_owned(), Value::String(self.message.clone()));
        map.insert("request_id".to_owned(), Value::String(request_id.to_owned()));
        if let Some((kind, traceback)) = &self.exception {
            map.insert("exception_type".to_owned(), Value::String(kind.clone()));
            // One line: the client's harness reads the body line by line.
            let one_line = traceback.replace(['\r', '\n'], " | ");
            map.insert("traceback".to_owned(), Value::String(one_line));
        }
        pretty_sorted(&Value::Object(map))
    }
}

impl From<WebError> for ApiError {
    fn from(mut e: WebError) -> ApiError {
        if let Some(text) = e.api_text {
            e.message = text.to_owned();
        }
        match e.status {
            // The API's "bad input" is 400 (the HTML pages use 422 for refused form input).
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::bad_request(e.message),
            StatusCode::INTERNAL_SERVER_ERROR => {
                ApiError::exception(e.message.clone(), "InternalError", &format!("WebError: {}", e.message))
            }
            status => ApiError::new(status, e.message),
        }
    }
}

impl From<atr_storage::StorageError> for ApiError {
    fn from(e: atr_storage::StorageError) -> ApiError {
        WebError::from(e).into()
    }
}

impl From<atr_core::error::Refusal> for ApiError {
    /// The status of the refusal; the message is the client's contract text where it fixes one.
    fn from(e: atr_core::error::Refusal) -> ApiError {
        WebError::from(e).into()
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> ApiError {
        tracing::error!("API task failed: {e}");
        ApiError::exception("The server could not finish the request.", "JoinError", &e.to_string())
    }
}

/// `value` as pretty JSON with every object's keys sorted and a trailing newline (whatever
/// serde_json's map order is in this build).
pub(crate) fn pretty_sorted(value: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: std::collections::BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    let mut out = serde_json::to_string_pretty(&sort(value)).expect("a JSON value always serializes");
    out.push('\n');
    out
}

/// A successful answer: a status and a JSON body.
///
/// Success bodies are compact JSON: the client parses them (api-contract.md §2); only error
/// bodies, which it prints line by line, are pretty-printed.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// `body` with status `status`.
    pub(crate) fn with<T: Serialize>(status: StatusCode, body: &T) -> Result<Reply, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            ApiError::exception(
                "The server could not encode its answer.",
                "SerializationError",
                &e.to_string(),
            )
        })?;
        Ok(Reply { status, body })
    }

    /// 200 with a JSON body already encoded.
    pub(crate) fn ok_encoded(body: Vec<u8>) -> Reply {
        Reply { status: StatusCode::OK, body }
    }

    /// 200 with `body`.
    pub(crate) fn ok<T: Serialize>(body: &T) -> Result<Reply, ApiError> {
        Reply::with(StatusCode::OK, body)
    }

    /// 201 with `body`.
    pub(crate) fn created<T: Serialize>(body: &T) -> Result<Reply, ApiError> {
        Reply::with(StatusCode::CREATED, body)
    }
}

/// The id of this request (set by the request-id hoop; a fresh one if that did not run).
fn request_id(depot: &Depot) -> String {
    depot.get_typed::<RequestId>().map(|r| r.0.clone()).unwrap_or_else(|_| crate::request_id::fresh())
}

/// Writes an error response.
pub(crate) fn write_error(depot: &Depot, res: &mut Response, e: &ApiError) {
    if e.status.is_server_error() {
        tracing::error!(status = e.status.as_u16(), "API error: {}", e.message);
    }
    res.status_code(e.status);
    let _ = res.write_body(e.body(&request_id(depot)));
    res.headers_mut().insert(CONTENT_TYPE, "application/json".parse().expect("a valid header value"));
    if let Some(seconds) = e.retry_after {
        res.headers_mut().insert(salvo::http::header::RETRY_AFTER, seconds.into());
    }
}

/// Writes the outcome of an endpoint.
pub(crate) fn write(depot: &Depot, res: &mut Response, outcome: Result<Reply, ApiError>) {
    match outcome {
        Ok(reply) => {
            res.status_code(reply.status);
            let _ = res.write_body(reply.body);
            res.headers_mut().insert(CONTENT_TYPE, "application/json".parse().expect("a valid header value"));
        }
        Err(e) => write_error(depot, res, &e),
    }
}

/// Per-state-directory state of the API: the JWT secret and the rate limiter.
#[derive(Debug)]
pub(crate) struct ApiState {
    secret: crate::jwt::Secret,
    /// Recent attempts (Unix seconds) per limited key.
    attempts: Mutex<HashMap<String, VecDeque<i64>>>,
    /// The token buckets of the expensive endpoints.
    buckets: limits::Buckets,
}

impl ApiState {
    /// The state of the server whose state directory is `root` (the JWT secret is read or made
    /// on first use).
    pub(crate) fn of(root: &std::path::Path) -> Result<Arc<ApiState>, ApiError> {
        static ALL: OnceLock<Mutex<HashMap<PathBuf, Arc<ApiState>>>> = OnceLock::new();
        let mut all = ALL.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = all.get(root) {
            return Ok(Arc::clone(s));
        }
        let secret = crate::jwt::Secret::load_or_create(&root.join("secrets/jwt.key")).map_err(|e| {
            ApiError::exception(
                "The server cannot read or create its JWT secret.",
                "SecretError",
                &format!("{e:#}"),
            )
        })?;
        let state = Arc::new(ApiState {
            secret,
            attempts: Mutex::new(HashMap::new()),
            buckets: limits::Buckets::default(),
        });
        all.insert(root.to_owned(), Arc::clone(&state));
        Ok(state)
    }

    pub(crate) fn secret(&self) -> &crate::jwt::Secret {
        &self.secret
    }

    /// Counts an attempt for each of `keys` at `now`, refusing (without counting) when any
    /// already had `limit` attempts in the last `window` seconds.
    pub(crate) fn limit(&self, keys: &[String], limit: usize, window: i64, now: i64) -> Result<(), ApiError> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            let recent = attempts.entry(key.clone()).or_default();
            while recent.front().is_some_and(|&t| t <= now - window) {
                recent.pop_front();
            }
            if recent.len() >= limit {
                let wait = recent.front().map_or(window, |&t| t + window - now);
                return Err(ApiError::too_many(
                    format!(
                        "Too many requests: at most {limit} per hour for {key}; try again in {wait} seconds."
                    ),
                    u64::try_from(wait.max(1)).unwrap_or(1),
                ));
            }
        }
        for key in keys {
            attempts.entry(key.clone()).or_default().push_back(now);
        }
        Ok(())
    }

    /// Takes back one attempt recorded at `now` by [`ApiState::limit`] for each of `keys` (the
    /// attempt turned out not to count, such as a successful login). Counting first and taking
    /// back after keeps concurrent attempts from all passing the check at once.
    pub(crate) fn forgive(&self, keys: &[String], now: i64) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some(recent) = attempts.get_mut(key)
                && let Some(i) = recent.iter().rposition(|&t| t == now)
            {
                recent.remove(i);
            }
        }
    }
}

/// Who sent this request, after [`require_jwt`].
#[derive(Debug, Clone)]
pub(crate) struct ApiActor(pub(crate) Actor);

/// The [`App`] of this request.
pub(crate) fn app(depot: &Depot) -> App {
    depot.get_typed::<App>().expect("the InjectApp hoop runs before every handler").clone()
}

/// The current time in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    crate::handlers::now().unix()
}

/// Requires `Authorization: Bearer <jwt>` issued by this server for a known user; puts the
/// user's [`ApiActor`] into the depot, or answers 401.
#[handler]
pub(crate) async fn require_jwt(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    match authenticate(req, depot) {
        Ok(actor) => {
            depot.insert_typed(ApiActor(actor));
        }
        Err(e) => {
            write_error(depot, res, &e);
            ctrl.skip_rest();
        }
    }
}

fn authenticate(req: &Request, depot: &Depot) -> Result<Actor, ApiError> {
    const HOW: &str =
        "Authentication required. Send `Authorization: Bearer <jwt>`, with a JWT from POST /api/jwt/create.";
    let header = req.headers().get("authorization").ok_or_else(|| ApiError::unauthorized(HOW))?;
    let header = header.to_str().map_err(|_| ApiError::unauthorized(HOW))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::unauthorized(HOW))?
        .trim();
    let app = app(depot);
    let state = ApiState::of(app.storage.layout().root())?;
    let claims = crate::jwt::verify(state.secret(), token, unix_now())
        .map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let uid = atr_core::ids::Uid::new(claims.sub.as_str())
        .map_err(|_| ApiError::unauthorized(crate::jwt::JwtError::Format.to_string()))?;
    let accounts = app.accounts.current();
    let account = accounts.get(&uid).ok_or_else(|| {
        ApiError::unauthorized(format!("The JWT's user `{uid}` has no account here any more."))
    })?;
    // The JWT lives only as long as the PAT it was made from.
    let Some(pat) = claims.pat else {
        return Err(ApiError::unauthorized(
            "This JWT names no personal access token; request a new one with POST /api/jwt/create.",
        ));
    };
    let live = app
        .storage
        .read(|tx| tx.token_of(&uid, pat))
        .map_err(ApiError::from)?
        .is_some_and(|t| t.is_valid_at(crate::handlers::now()));
    if !live {
        return Err(ApiError::unauthorized(
            "The personal access token this JWT was made from was deleted or has expired; create a new token and JWT.",
        ));
    }
    Ok(crate::identity::actor_for(&app.storage, &uid, account.admin))
}

/// The actor set by [`require_jwt`].
pub(crate) fn actor(depot: &Depot) -> Actor {
    depot.get_typed::<ApiActor>().map(|a| a.0.clone()).unwrap_or_else(|_| Actor::public())
}

/// Runs storage work on the blocking pool.
pub(crate) async fn run<T: Send + 'static>(
    app: &App,
    f: impl FnOnce(&atr_storage::Storage) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let storage = Arc::clone(&app.storage);
    tokio::task::spawn_blocking(move || f(&storage)).await?
}

/// Parses the JSON body into `T` under `limit` bytes (400 naming the problem; 413 when too large).
pub(crate) async fn body<T: serde::de::DeserializeOwned>(
    req: &mut Request,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = req.payload_with_max_size(limit).await.map_err(|e| match e {
        salvo::http::ParseError::PayloadTooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The request body is larger than the {limit} bytes this endpoint accepts; send a smaller file, or upload large files with rsync."
            ),
        ),
        other => ApiError::bad_request(format!("The request body could not be read: {other}.")),
    })?;
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("The request body is not the JSON this endpoint expects: {e}."))
    })
}

/// A path parameter parsed into a validated identifier (404 when it is not one).
pub(crate) fn param<T: std::str::FromStr>(req: &Request, name: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    let raw = req.param::<String>(name).unwrap_or_default();
    raw.parse::<T>().map_err(|e| ApiError::not_found(format!("No such {name} `{}`: {e}", raw.escape_debug())))
}

/// A revision number from a body field (400 when it is not one).
pub(crate) fn revision_field(name: &str, raw: &str) -> Result<atr_core::ids::RevisionNumber, ApiError> {
    atr_core::ids::RevisionNumber::parse(raw).map_err(|e| {
        ApiError::bad_request(format!("`{name}` is not a revision number (`{}`): {e}", raw.escape_debug()))
    })
}

/// A body field parsed into a validated identifier (400 when it is not one).
pub(crate) fn field<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    raw.parse::<T>()
        .map_err(|e| ApiError::bad_request(format!("`{name}` is not valid (`{}`): {e}", raw.escape_debug())))
}

/// Answers a path under `/api` that names no endpoint.
#[handler]
pub(crate) async fn no_such_endpoint(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let e = ApiError::not_found(format!(
        "There is no API endpoint {} {}; see /api/docs for the list.",
        req.method(),
        req.uri().path()
    ));
    write_error(depot, res, &e);
}

/// The routes of the API (`/api/…`) and of `/download/path/…`.
pub(crate) fn router() -> Router {
    // The SVN import first: the endpoint table ends with a catch-all 404 under `api/`.
    Router::new().push(svn::router()).push(endpoints::router())
}
