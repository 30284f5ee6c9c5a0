//! JSON Web Tokens for the API: HS256, claims `sub`, `iat`, `exp` (90 minutes) and `jti`, signed
//! with a secret kept in the state directory (`secrets/jwt.key`, mode 0600, made on first use), so
//! a restart does not log every script out.
//!
//! The header is exactly `{"alg":"HS256","typ":"JWT"}` (the `atr` client's `jwt dump` requires
//! it). Verification accepts only that algorithm, compares the signature in constant time and
//! refuses expired tokens.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

/// How long a JWT lives, in seconds (ATR: 90 minutes).
pub(crate) const LIFETIME_SECS: i64 = 90 * 60;

/// The one header this server issues and accepts.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The claims of an issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The user id.
    pub(crate) sub: String,
    /// Issued at (Unix seconds).
    pub(crate) iat: i64,
    /// Expires at (Unix seconds).
    pub(crate) exp: i64,
    /// A random id (16 hex digits), named in the audit record of the issuance.
    pub(crate) jti: String,
    /// The id of the personal access token it was made from: the bearer check looks it up, so
    /// deleting the token ends its JWTs at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) pat: Option<i64>,
}

/// Why a bearer token was refused (each message is what the client shows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JwtError {
    /// Not three base64url parts with a JSON header and payload.
    #[error("Invalid Bearer JWT format")]
    Format,
    /// Another algorithm or header than HS256/JWT.
    #[error("Unsupported JWT header: only HS256 tokens issued by this server are accepted")]
    Algorithm,
    /// The signature does not match this server's secret.
    #[error(
        "Invalid JWT signature: the token was not issued by this server (or its secret changed); get a new one from /api/jwt/create"
    )]
    Signature,
    /// `exp` has passed.
    #[error("Token has expired")]
    Expired,
}

/// The server's signing secret (32 random bytes).
#[derive(Clone)]
pub(crate) struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// Reads the secret at `path`, or makes it (mode 0600) when there is none yet.
    pub(crate) fn load_or_create(path: &Path) -> anyhow::Result<Secret> {
        use anyhow::Context as _;
        match fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    anyhow::anyhow!(
                        "{} holds {} bytes, not 32; delete it to make a new secret (every issued JWT becomes invalid)",
                        path.display(),
                        bytes.len()
                    )
                })?;
                return Ok(Secret(key));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        let tmp = path.with_extension("tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(&key)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        // Two processes starting at once: the first link wins and both use the file on disk.
        match fs::hard_link(&tmp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let _ = fs::remove_file(&tmp);
                return Secret::load_or_create(path);
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
        let _ = fs::remove_file(&tmp);
        Ok(Secret(key))
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(key: [u8; 32]) -> Secret {
        Secret(key)
    }
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&sha2::Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let mut inner = sha2::Sha256::new();
    inner.update(pad(0x36));
    inner.update(message);
    let mut outer = sha2::Sha256::new();
    outer.update(pad(0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh token for `uid`, issued at `now` (Unix seconds).
pub(crate) fn issue(secret: &Secret, uid: &str, pat: Option<i64>, now: i64) -> (String, Claims) {
    let mut id = [0u8; 8];
    OsRng.fill_bytes(&mut id);
    let claims = Claims {
        sub: uid.to_owned(),
        iat: now,
        exp: now + LIFETIME_SECS,
        jti: id.iter().map(|b| format!("{b:02x}")).collect(),
        pat,
    };
    let payload = serde_json::to_vec(&claims).expect("claims always serialize");
    let signing_input = format!("{}.{}", b64(HEADER.as_bytes()), b64(&payload));
    let signature = hmac_sha256(&secret.0, signing_input.as_bytes());
    (format!("{signing_input}.{}", b64(&signature)), claims)
}

/// The claims of `token` when it is well formed, signed with `secret` and not expired at `now`.
pub(crate) fn verify(secret: &Secret, token: &str, now: i64) -> Result<Claims, JwtError> {
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Format)
    };
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Format);
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(header)?).map_err(|_| JwtError::Format)?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(JwtError::Algorithm);
    }
    let claims: Claims = serde_json::from_slice(&decode(payload)?).map_err(|_| JwtError::Format)?;
    let given = decode(signature)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    let expected = hmac_sha256(&secret.0, signing_input.as_bytes());
    // Constant time: every byte is compared whatever the earlier ones were.
    let same = given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(JwtError::Signature);
    }
    if claims.exp <= now {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test cases 1, 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_claims() {
        let secret = Secret::from_bytes([7; 32]);
        let (token, claims) = issue(&secret, "alice", Some(1), 1_000);
        assert_eq!(token.split('.').count(), 3);
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        assert_eq!(header, HEADER.as_bytes());
        assert_eq!(claims.exp - claims.iat, 5400);
        assert_eq!(claims.jti.len(), 16);
        assert_eq!(verify(&secret, &token, 1_001), Ok(claims.clone()));
        assert_eq!(verify(&secret, &token, 1_000 + LIFETIME_SECS), Err(JwtError::Expired));
        assert_eq!(verify(&Secret::from_bytes([8; 32]), &token, 1_001), Err(JwtError::Signature));
        let (second, c2) = issue(&secret, "alice", Some(1), 1_000);
        assert_ne!((second, c2.jti), (token.clone(), claims.jti), "each token has its own jti");
    }

    #[test]
    fn tampered_and_malformed_tokens_are_refused() {
        let secret = Secret::from_bytes([7; 32]);
        let (token, _) = issue(&secret, "alice", Some(1), 1_000);
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = b64(br#"{"sub":"admin","iat":1000,"exp":99999999999,"jti":"0000000000000000"}"#);
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify(&secret, &forged, 1_001), Err(JwtError::Signature));
        let none_alg = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert_eq!(verify(&secret, &none_alg, 1_001), Err(JwtError::Algorithm));
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(verify(&secret, bad, 1_001), Err(JwtError::Format), "{bad}");
        }
    }

    #[test]
    fn the_secret_is_kept_private_and_reused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/jwt.key");
        let first = Secret::load_or_create(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = Secret::load_or_create(&path).unwrap();
        assert_eq!(first.0, again.0, "a restart keeps the secret");
        fs::write(&path, b"short").unwrap();
        let e = Secret::load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("not 32"), "{e}");
    }
}
