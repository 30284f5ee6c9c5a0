//! The OAuth2 / OpenID Connect identity provider: the authorization code flow with `state`,
//! `nonce` and PKCE (S256).
//!
//! 1. `POST /auth/oidc/login` (CSRF-checked like every form) makes a random `state`, `nonce` and
//!    PKCE verifier, keeps them for 10 minutes in the browser's session (the encrypted, signed
//!    `SameSite=Lax` session cookie), and redirects to the provider.
//! 2. `GET /auth/oidc/callback` needs that pending login in the session and its `state` (so a
//!    code obtained by someone else cannot be planted in this browser: login CSRF); the pending
//!    login is removed from the session whatever happens next (single use). It exchanges the code at the token
//!    endpoint (client secret by HTTP Basic, PKCE verifier), checks the ID token's `nonce`, `aud`,
//!    `exp` and `iss`, then reads the claims from the userinfo endpoint with the access token and
//!    checks that its `sub` is the ID token's. A new session (new CSRF token) holds the uid and
//!    the committee roles mapped from the configured claims.
//!
//! The ID token's signature is not verified: both tokens come straight from the provider over a
//! TLS connection this server opened and checked (OpenID Connect Core §3.1.3.7 allows TLS server
//! validation in place of the signature for a token received this way), and the claims that
//! grant anything come from the userinfo endpoint over TLS. Endpoints must therefore be
//! `https://`; plain `http://` is accepted only on a loopback address (a provider on the same
//! machine, as in the tests).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use atr_core::ids::{CommitteeKey, Uid};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use salvo::http::StatusCode;
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use tokio::sync::OnceCell;

use crate::config::{OidcConfig, check_endpoint};
use crate::error::WebError;
use crate::routes::App;
use crate::session::{self, ExternalRoles, Session};

/// How long a login at the provider may take.
const FLOW_SECONDS: i64 = 600;
/// The largest response read from the provider.
const RESPONSE_LIMIT: usize = 1 << 20;
/// How long one request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// The provider's endpoints (configured, or discovered from the issuer).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoints {
    authorize: url::Url,
    token: url::Url,
    userinfo: url::Url,
}

/// A configured OIDC provider, shared by the requests.
#[derive(Debug)]
pub(crate) struct Provider {
    config: OidcConfig,
    endpoints: OnceCell<Endpoints>,
    http: atr_worker::http::HttpClient,
}

/// What a login at the provider yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The user id.
    pub(crate) uid: Uid,
    /// The roles.
    pub(crate) roles: ExternalRoles,
}

/// The state of one login in progress (kept in the browser's session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    expires: i64,
}

/// Why a login through the provider failed; the message is for the person logging in.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OidcError {
    /// The browser's request does not belong to a login this server started.
    #[error("{0}")]
    Flow(String),
    /// The provider answered something this server cannot accept.
    #[error("{0}")]
    Provider(String),
}

impl From<OidcError> for WebError {
    fn from(e: OidcError) -> WebError {
        let status = match e {
            OidcError::Flow(_) => StatusCode::BAD_REQUEST,
            OidcError::Provider(_) => StatusCode::BAD_GATEWAY,
        };
        WebError::new(status, format!("Single sign-on failed: {e}"))
    }
}

fn provider_error(what: impl std::fmt::Display) -> OidcError {
    OidcError::Provider(what.to_string())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

impl Provider {
    /// The provider of `config` (already validated by [`crate::config`]).
    pub(crate) fn new(config: OidcConfig) -> Provider {
        let http = atr_worker::http::HttpClient::new(concat!("atr-web/", env!("CARGO_PKG_VERSION")));
        Provider { config, endpoints: OnceCell::new(), http }
    }

    /// The label of the login button.
    pub(crate) fn label(&self) -> &str {
        &self.config.label
    }

    async fn endpoints(&self) -> Result<&Endpoints, OidcError> {
        self.endpoints
            .get_or_try_init(|| async {
                let c = &self.config;
                let parse = |key: &str, u: &str| {
                    check_endpoint(key, u).map_err(provider_error)?;
                    url::Url::parse(u).map_err(provider_error)
                };
                if let (Some(a), Some(t), Some(u)) = (&c.authorize_url, &c.token_url, &c.userinfo_url) {
                    return Ok(Endpoints {
                        authorize: parse("authorize_url", a)?,
                        token: parse("token_url", t)?,
                        userinfo: parse("userinfo_url", u)?,
                    });
                }
                let issuer = c.issuer.as_deref().ok_or_else(|| provider_error("no issuer configured"))?;
                let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
                let (status, body) = self.request(&parse("issuer", &discovery)?, None, None).await?;
                let doc = json_object(status, &body, "the discovery document")?;
                let field = |name: &str, key: &str| {
                    let configured = match key {
                        "authorize_url" => &c.authorize_url,
                        "token_url" => &c.token_url,
                        _ => &c.userinfo_url,
                    };
                    let u = match configured {
                        Some(u) => u.clone(),
                        None => {
                            doc.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                                provider_error(format!(
                                    "the discovery document at {discovery} has no `{name}`"
                                ))
                            })?
                        }
                    };
                    parse(key, &u)
                };
                Ok(Endpoints {
                    authorize: field("authorization_endpoint", "authorize_url")?,
                    token: field("token_endpoint", "token_url")?,
                    userinfo: field("userinfo_endpoint", "userinfo_url")?,
                })
            })
            .await
    }

    /// One HTTP/1.1 request to the provider (TLS unless a loopback `http://` URL) through the
    /// shared client ([`atr_worker::http`]); returns the status and at most [`RESPONSE_LIMIT`]
    /// bytes of body.
    async fn request(
        &self,
        url: &url::Url,
        auth: Option<String>,
        form: Option<String>,
    ) -> Result<(u16, Vec<u8>), OidcError> {
        let mut headers = vec![("accept", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let body = form.map(|f| atr_worker::http::HttpBody {
            content_type: "application/x-www-form-urlencoded",
            bytes: f.into_bytes(),
        });
        let answer = self
            .http
            .request(url, &headers, body, REQUEST_TIMEOUT, RESPONSE_LIMIT)
            .await
            .map_err(|e| provider_error(e.message))?;
        Ok((answer.status, answer.body))
    }

    /// The URL to send the browser to, and the flow to keep in the browser's cookie.
    async fn start(&self) -> Result<(url::Url, Flow), OidcError> {
        let endpoints = self.endpoints().await?;
        let flow = Flow {
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
            expires: unix_now() + FLOW_SECONDS,
        };
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(flow.verifier.as_bytes()));
        let mut to = endpoints.authorize.clone();
        to.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", &self.config.scopes.join(" "))
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((to, flow))
    }

    /// Completes a login: `code` and `state` from the callback, `flow` from the browser's cookie.
    async fn finish(&self, flow: &Flow, code: &str, state: &str) -> Result<Identity, OidcError> {
        if flow.expires <= unix_now() {
            return Err(OidcError::Flow("the login took longer than 10 minutes; start again".to_owned()));
        }
        if !session::tokens_match(&flow.state, state) {
            return Err(OidcError::Flow(
                "the answer does not belong to the login started in this browser (state mismatch); start again"
                    .to_owned(),
            ));
        }
        let endpoints = self.endpoints().await?;
        let c = &self.config;
        let secret = c.client_secret.as_deref().unwrap_or_default();
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let basic = format!("Basic {}", STANDARD.encode(format!("{}:{}", enc(&c.client_id), enc(secret))));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &c.redirect_url)
            .append_pair("client_id", &c.client_id)
            .append_pair("code_verifier", &flow.verifier)
            .finish();
        let (status, body) = self.request(&endpoints.token, Some(basic), Some(form)).await?;
        let tokens = json_object(status, &body, "the token endpoint")?;
        let access = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| provider_error("the token endpoint returned no access_token"))?;
        let id_sub = match tokens.get("id_token").and_then(Value::as_str) {
            Some(jwt) => Some(self.check_id_token(jwt, &flow.nonce)?),
            None if c.scopes.iter().any(|s| s == "openid") => {
                return Err(provider_error("the token endpoint returned no id_token for the `openid` scope"));
            }
            None => None,
        };
        let (status, body) =
            self.request(&endpoints.userinfo, Some(format!("Bearer {access}")), None).await?;
        let claims = json_object(status, &body, "the userinfo endpoint")?;
        if let Some(sub) = id_sub
            && claims.get("sub").and_then(Value::as_str) != Some(sub.as_str())
        {
            return Err(provider_error("the userinfo `sub` is not the ID token's `sub`"));
        }
        map_claims(c, &claims)
    }

    /// Checks the ID token's claims (not its signature, see the module docs); returns its `sub`.
    fn check_id_token(&self, jwt: &str, nonce: &str) -> Result<String, OidcError> {
        let payload = jwt.split('.').nth(1).ok_or_else(|| provider_error("the id_token is not a JWT"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| provider_error("the id_token payload is not base64url"))?;
        let claims: Value =
            serde_json::from_slice(&bytes).map_err(|_| provider_error("the id_token payload is not JSON"))?;
        if claims.get("nonce").and_then(Value::as_str).is_none_or(|n| !session::tokens_match(n, nonce)) {
            return Err(provider_error(
                "the id_token's nonce is not the one this login sent (replayed token?)",
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.config.client_id,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.config.client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(provider_error("the id_token is not meant for this client (aud)"));
        }
        if claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp <= unix_now()) {
            return Err(provider_error("the id_token has expired"));
        }
        if let Some(issuer) = &self.config.issuer
            && claims.get("iss").and_then(Value::as_str).map(|i| i.trim_end_matches('/'))
                != Some(issuer.trim_end_matches('/'))
        {
            return Err(provider_error(format!("the id_token was not issued by {issuer}")));
        }
        claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| provider_error("the id_token has no sub"))
    }
}

fn json_object(status: u16, body: &[u8], what: &str) -> Result<serde_json::Map<String, Value>, OidcError> {
    let text = String::from_utf8_lossy(body);
    if !(200..300).contains(&status) {
        let short: String = text.chars().take(200).collect();
        return Err(provider_error(format!("{what} answered HTTP {status}: {short}")));
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(provider_error(format!("{what} did not answer with a JSON object"))),
    }
}

/// Maps the provider's claims to a user: `uid_claim` must be a valid uid; the committee claims
/// are a list of keys or one key (keys that are not valid committee keys are skipped and logged).
pub(crate) fn map_claims(
    c: &OidcConfig,
    claims: &serde_json::Map<String, Value>,
) -> Result<Identity, OidcError> {
    let raw = claims.get(&c.uid_claim).and_then(Value::as_str).ok_or_else(|| {
        provider_error(format!("the provider sent no `{}` claim for the user id", c.uid_claim))
    })?;
    let uid = Uid::new(raw)
        .map_err(|e| provider_error(format!("the `{}` claim {raw:?} is not a user id: {e}", c.uid_claim)))?;
    let committees = |name: &str| -> BTreeSet<CommitteeKey> {
        let values: Vec<&str> = match claims.get(name) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        values
            .into_iter()
            .filter_map(|v| match CommitteeKey::new(v) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::warn!(claim = name, value = v, "skipped a committee the provider named: {e}");
                    None
                }
            })
            .collect()
    };
    let admin =
        c.admin_claim.as_ref().is_some_and(|name| claims.get(name).and_then(Value::as_bool) == Some(true));
    let roles = ExternalRoles {
        member_of: committees(&c.member_claim),
        committer_of: committees(&c.committer_claim),
        admin,
    };
    Ok(Identity { uid, roles })
}

/// Puts the configured provider (if any) into the depot of every request (a service-level hoop).
#[derive(Debug, Clone)]
pub(crate) struct InjectProvider(pub(crate) Option<Arc<Provider>>);

impl InjectProvider {
    /// The hoop for the `[oidc]` section of `config` (a no-op without one).
    pub(crate) fn from_config(config: &crate::config::Config) -> InjectProvider {
        InjectProvider(config.oidc.clone().map(|c| Arc::new(Provider::new(c))))
    }
}

#[async_trait]
impl Handler for InjectProvider {
    async fn handle(&self, _req: &mut Request, depot: &mut Depot, _res: &mut Response, _ctrl: &mut FlowCtrl) {
        if let Some(p) = &self.0 {
            depot.insert_typed(Arc::clone(p));
        }
    }
}

/// The label of the single sign-on button when a provider is configured (the login page links to it).
pub(crate) fn configured_label(depot: &Depot) -> Option<String> {
    depot.get_typed::<Arc<Provider>>().ok().map(|p| p.label().to_owned())
}

fn provider(depot: &Depot) -> Result<Arc<Provider>, WebError> {
    depot.get_typed::<Arc<Provider>>().cloned().map_err(|_| {
        WebError::not_found("Single sign-on is not configured on this server; log in with a local account.")
    })
}

fn app(depot: &Depot) -> App {
    depot.get_typed::<App>().expect("the InjectApp hoop runs first").clone()
}

/// `GET /auth/oidc/login`: a page with the button that starts the login (a form, so the CSRF
/// token is checked).
#[handler]
pub(crate) async fn login_page(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let p = provider(depot)?;
    let session = current_session(depot);
    let actor = crate::routes::actor(depot);
    let chrome = crate::pages::Chrome::new(&actor, &session);
    res.render(crate::pages::Page(crate::pages::layout(
        &chrome,
        "Single sign-on",
        maud::html! {
            h1 { "Single sign-on" }
            form method="post" action="/auth/oidc/login" {
                (chrome.csrf_field())
                button type="submit" { (p.label()) }
            }
            p { a href="/login" { "Log in with a local account instead" } }
        },
    )));
    Ok(())
}

/// `POST /auth/oidc/login`: starts the authorization code flow.
#[handler]
pub(crate) async fn start(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let p = provider(depot)?;
    let app = app(depot);
    let (to, flow) = p.start().await?;
    let mut session = current_session(depot);
    session.oidc_flow = Some(flow);
    session::write(res, &app.session_key, &session, app.secure_cookies);
    res.render(Redirect::other(to.as_str()));
    Ok(())
}

fn current_session(depot: &Depot) -> Session {
    depot.get_typed::<Session>().expect("the session hoop runs first").clone()
}

/// `GET /auth/oidc/callback`: completes the flow and logs the user in with a new session.
#[handler]
pub(crate) async fn callback(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let p = provider(depot)?;
    let app = app(depot);
    // The pending login is single-use: removed from the session whatever happens next.
    let mut session = current_session(depot);
    let flow = session.oidc_flow.take();
    if flow.is_some() {
        session::write(res, &app.session_key, &session, app.secure_cookies);
    }
    let Some(flow) = flow else {
        return Err(OidcError::Flow(
            "this browser has no login in progress (it took too long, or it was started elsewhere); start again"
                .to_owned(),
        )
        .into());
    };
    if let Some(error) = req.query::<String>("error") {
        let detail = req.query::<String>("error_description").unwrap_or_default();
        return Err(provider_error(format!("the provider refused the login: {error} {detail}")).into());
    }
    let (Some(code), Some(state)) = (req.query::<String>("code"), req.query::<String>("state")) else {
        return Err(OidcError::Flow("the provider's answer lacks `code` or `state`".to_owned()).into());
    };
    let identity = p.finish(&flow, &code, &state).await?;
    // The provider vouches for the person's committee roles: they go into the rosters, the one
    // record that permissions and binding votes read.
    let (storage, uid, roles) = (Arc::clone(&app.storage), identity.uid.clone(), identity.roles.clone());
    let at = crate::handlers::now();
    tokio::task::spawn_blocking(move || {
        let committers: std::collections::BTreeSet<_> =
            roles.committer_of.difference(&roles.member_of).cloned().collect();
        crate::identity::set_roles(
            &storage,
            &uid,
            &roles.member_of,
            &committers,
            "identity provider login",
            at,
        )
    })
    .await
    .map_err(|e| WebError::internal("record the roles of the login", e))?
    .map_err(WebError::from)?;
    let mut session = Session::new(Some(identity.uid.clone()), unix_now());
    session.external = Some(identity.roles);
    session::write(res, &app.session_key, &session, app.secure_cookies);
    tracing::info!(uid = %identity.uid, "logged in through OIDC");
    res.render(Redirect::other("/"));
    Ok(())
}
