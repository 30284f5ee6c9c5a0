//! `POST /api/jwt/create` (a personal access token exchanged for a JWT) and `GET /api/task/get`.

use atr_core::ids::Uid;
use atr_core::model::TaskId;

use super::schema::wire;
use super::{ApiError, ApiState, BODY_LIMIT, Reply, app, body, models, param, run, unix_now};

/// At most this many failed `/jwt/create` calls per uid and per client address per hour (then
/// every call of that uid or address is refused until the oldest failure is an hour old).
/// Successful exchanges are not counted: a script that logs in often is not guessing tokens.
pub(crate) const JWT_CREATE_PER_HOUR: usize = 10;

wire! {
    /// Request of `/jwt/create`.
    JwtCreateRequest { asfuid: String, pat: String }
}

wire! {
    /// Response of `/jwt/create`.
    JwtCreateResponse { endpoint: String, asfuid: String, jwt: String }
}

wire! {
    /// Response of `/task/get`.
    TaskGetResponse { endpoint: String, task: models::Task }
}

/// The stored hash of a personal access token: SHA3-256, lowercase hex (as ATR stores it).
pub(crate) fn token_hash(pat: &str) -> String {
    use sha3::Digest as _;
    sha3::Sha3_256::digest(pat.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

endpoint! {
    /// Exchanges uid + personal access token for a JWT (90 minutes); rate limited; audited.
    jwt_create(req, depot) {
        let address = req.remote_addr().to_string();
        let address = address.rsplit_once(':').map_or(address.as_str(), |(host, _)| host).to_owned();
        let f: JwtCreateRequest = body(req, BODY_LIMIT).await?;
        let app = app(depot);
        let state = ApiState::of(app.storage.layout().root())?;
        let now = unix_now();
        let keys = [format!("uid {}", f.asfuid.escape_debug()), format!("address {address}")];
        // Counted at once (so parallel guesses cannot all pass), taken back unless the token was wrong.
        state.limit(&keys, JWT_CREATE_PER_HOUR, 3600, now)?;
        let issued = exchange(&app, f, now).await;
        if !issued.as_ref().is_err_and(|e| e.status == salvo::http::StatusCode::UNAUTHORIZED) {
            state.forgive(&keys, now);
        }
        let (uid, jwt) = issued?;
        tracing::info!(%uid, "issued a JWT");
        Reply::ok(&JwtCreateResponse { endpoint: "/jwt/create".to_owned(), asfuid: uid.to_string(), jwt })
    }
}

endpoint! {
    /// A background task (for `atr sbom generate --wait`); needs a JWT.
    task_get(req, depot) {
        let id: i64 = param(req, "id")?;
        let app = app(depot);
        let task = run(&app, move |s| Ok(s.read(|tx| tx.task(TaskId(id)))?)).await?
            .ok_or_else(|| ApiError::not_found(format!("There is no task {id}.")))?;
        Reply::ok(&TaskGetResponse { endpoint: "/task/get".to_owned(), task: models::Task::of(&task) })
    }
}

/// Checks uid + PAT and issues a JWT (audited with the token's id and the JWT's id); 401 for an
/// unknown user or a wrong, revoked or expired token.
async fn exchange(
    app: &crate::routes::App,
    f: JwtCreateRequest,
    now: i64,
) -> Result<(Uid, String), ApiError> {
    let state = ApiState::of(app.storage.layout().root())?;
    let uid = Uid::new(f.asfuid.as_str()).map_err(|_| ApiError::unauthorized("Invalid PAT"))?;
    if app.accounts.current().get(&uid).is_none() {
        return Err(ApiError::unauthorized("Invalid PAT"));
    }
    let hash = token_hash(&f.pat);
    let at = crate::handlers::now();
    let secret = state.secret().clone();
    let uid2 = uid.clone();
    let jwt = run(app, move |s| {
        s.write(|tx| {
            let pat = tx.token_by_hash(&uid2, &hash)?.ok_or_else(|| ApiError::unauthorized("Invalid PAT"))?;
            if !pat.is_valid_at(at) {
                return Err(ApiError::unauthorized("Expired PAT"));
            }
            let id = pat.id.ok_or_else(|| ApiError::unauthorized("Invalid PAT"))?;
            let (jwt, claims) = crate::jwt::issue(&secret, uid2.as_str(), Some(id), now);
            let jti = claims.jti.clone();
            tx.touch_token(id, at)?;
            let event = crate::ops::audit_event(
                &atr_core::permissions::Actor::user(uid2.clone()),
                false,
                atr_core::model::AuditAction::JwtIssue,
                uid2.to_string(),
                serde_json::json!({ "token_id": id, "jti": jti, "expires": claims.exp }),
                at,
            );
            tx.append_audit(&event)?;
            Ok(jwt)
        })
    })
    .await?;
    Ok((uid, jwt))
}
