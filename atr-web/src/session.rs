//! Sessions and CSRF protection.
//!
//! A session is a private cookie (AES-256-GCM: signed and encrypted with a key kept in the state
//! directory, so a restart does not log anyone out) holding the uid, the expiry and a random CSRF
//! token. Visitors who are not logged in get a session too, so the login form is protected.
//! Every state-changing request (any method but GET and HEAD) must carry the session's token in
//! the `csrf_token` form field or the `X-CSRF-Token` header; otherwise it is refused before any
//! handler runs. The roles of a local account are not stored in the cookie: they are looked up on
//! every request, so a change of roles applies at once. The roles an OIDC provider vouched for at
//! login are kept in the cookie ([`ExternalRoles`]) for the session's lifetime.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context as _;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use atr_core::ids::{CommitteeKey, Uid};
use atr_core::permissions::Actor;
use cookie::{Cookie, CookieJar, Key, SameSite};
use salvo::http::{Method, StatusCode};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};

/// Name of the session cookie.
pub(crate) const COOKIE: &str = "atr_session";
/// Name of the CSRF form field.
pub(crate) const CSRF_FIELD: &str = "csrf_token";
/// Name of the CSRF header (for scripts and uploads that send the token outside the form).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub(crate) const LIFETIME_SECONDS: i64 = 12 * 60 * 60;

/// The session of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    /// Who is logged in, if anyone.
    pub(crate) uid: Option<Uid>,
    /// Unix seconds after which the session is void.
    pub(crate) expires: i64,
    /// The token every state-changing request must echo.
    pub(crate) csrf: String,
    /// The roles an external identity provider (OIDC) vouched for at login; `None` for local
    /// accounts, whose roles are looked up on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) external: Option<ExternalRoles>,
    /// The OIDC login this browser started and has not finished (state, nonce, PKCE verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oidc_flow: Option<crate::oidc::Flow>,
}

/// Roles granted by an external identity provider, kept in the (encrypted, signed) session
/// cookie until the session ends; a new login fetches them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExternalRoles {
    /// Committees the user is a member of.
    pub(crate) member_of: BTreeSet<CommitteeKey>,
    /// Committees the user is a committer of.
    pub(crate) committer_of: BTreeSet<CommitteeKey>,
    /// Whether the user is an administrator.
    pub(crate) admin: bool,
}

impl Session {
    /// Who this session acts as, with the committee roles the rosters give it now (an identity
    /// provider's login wrote its claims there): administrator as the external login or the local
    /// account says; anonymous without a uid, or for a local uid whose account is gone.
    pub(crate) fn actor(
        &self,
        accounts: &crate::identity::LocalAccounts,
        storage: &atr_storage::Storage,
    ) -> Actor {
        let Some(uid) = &self.uid else { return Actor::public() };
        let admin = match &self.external {
            Some(roles) => roles.admin,
            None => match accounts.get(uid) {
                Some(a) => a.admin,
                None => return Actor::public(),
            },
        };
        crate::identity::actor_for(storage, uid, admin)
    }
}

impl Session {
    /// A fresh session, logged in as `uid` (or anonymous), expiring [`LIFETIME_SECONDS`] from `now`.
    pub(crate) fn new(uid: Option<Uid>, now: i64) -> Session {
        let mut bytes = [0u8; 24];
        OsRng.fill_bytes(&mut bytes);
        let csrf = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Session { uid, expires: now + LIFETIME_SECONDS, csrf, external: None, oidc_flow: None }
    }
}

/// The session key (64 bytes) at `path`, made on first use and readable by the owner only.
pub(crate) fn load_or_create_key(path: &Path) -> anyhow::Result<Key> {
    match fs::read(path) {
        Ok(bytes) if bytes.len() == 64 => return Ok(Key::from(&bytes)),
        Ok(bytes) => anyhow::bail!(
            "{} holds {} bytes, not 64; delete it to make a new key (everyone will be logged out)",
            path.display(),
            bytes.len()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let key = Key::generate();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(key.master())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(key)
}

/// Reads and decrypts the session of a request; `None` when absent, forged or expired.
pub(crate) fn read(req: &Request, key: &Key, now: i64) -> Option<Session> {
    let cookie = req.cookies().private(key).get(COOKIE)?;
    let session: Session = serde_json::from_str(cookie.value()).ok()?;
    (session.expires > now).then_some(session)
}

/// Encrypts `session` into the response's cookie.
pub(crate) fn write(res: &mut Response, key: &Key, session: &Session, secure: bool) {
    let value = serde_json::to_string(session).expect("a session always serializes");
    let cookie = Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(LIFETIME_SECONDS))
        .build();
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(cookie);
    if let Some(encrypted) = jar.get(COOKIE) {
        res.add_cookie(encrypted.clone());
    }
}

/// Whether a request with this method changes state and so needs a CSRF token.
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF token a request carries, from the header, the query string or the form.
///
/// The query string is for the upload form: its token is checked before the (large) body is read,
/// so a forged upload is refused without a byte of it being written to disk.
pub(crate) async fn presented_token(req: &mut Request) -> Option<String> {
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.to_owned());
    }
    if let Some(v) = req.query::<String>(CSRF_FIELD) {
        return Some(v);
    }
    req.form::<String>(CSRF_FIELD).await
}

/// Name of the cookie holding the message shown once on the next page.
pub(crate) const FLASH_COOKIE: &str = "atr_flash";

/// A message shown once on the next page after a redirect (success or refusal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Flash {
    /// Whether it reports a success (otherwise a refusal or an error).
    pub(crate) ok: bool,
    /// The message.
    pub(crate) message: String,
}

/// The flash message of a request, if any (encrypted like the session, so it cannot be forged).
pub(crate) fn read_flash(req: &Request, key: &Key) -> Option<Flash> {
    let cookie = req.cookies().private(key).get(FLASH_COOKIE)?;
    serde_json::from_str(cookie.value()).ok()
}

/// Sets the flash message shown on the next page.
pub(crate) fn write_flash(res: &mut Response, key: &Key, flash: &Flash, secure: bool) {
    let value = serde_json::to_string(flash).expect("a flash message always serializes");
    let cookie = Cookie::build((FLASH_COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(300))
        .build();
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(cookie);
    if let Some(encrypted) = jar.get(FLASH_COOKIE) {
        res.add_cookie(encrypted.clone());
    }
}

/// Removes the flash cookie (it has been shown).
pub(crate) fn clear_flash(res: &mut Response, secure: bool) {
    let cookie = Cookie::build((FLASH_COOKIE, ""))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    res.add_cookie(cookie);
}

/// Compares two tokens in constant time.
pub(crate) fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The refusal of a state-changing request without a valid token.
pub(crate) fn refuse_csrf(res: &mut Response) {
    res.status_code(StatusCode::FORBIDDEN);
    res.render(Text::Plain(
        "This form was refused because its security token is missing or out of date \
         (it protects you against forged requests). Go back, reload the page and submit again.",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/session.key");
        let a = load_or_create_key(&path).unwrap();
        let b = load_or_create_key(&path).unwrap();
        assert_eq!(a.master(), b.master());
        fs::write(&path, b"short").unwrap();
        let err = load_or_create_key(&path).unwrap_err().to_string();
        assert!(err.contains("not 64") && err.contains("delete it"), "{err}");
    }

    #[test]
    fn tokens_compare_exactly() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "abcd"));
        assert!(!tokens_match("", "a"));
    }

    #[test]
    fn sessions_have_distinct_tokens_and_expire_later() {
        let a = Session::new(None, 100);
        let b = Session::new(None, 100);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.csrf.len(), 48);
        assert_eq!(a.expires, 100 + LIFETIME_SECONDS);
    }
}
