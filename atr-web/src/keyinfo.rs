//! OpenPGP key records from armored text: the fields the key pages and the KEYS export show.
//!
//! Parsing is done by `atr-checks` ([`atr_checks::keys::Keyring`], block by block, never failing
//! as a whole); this module only reads the parsed certificates' metadata into
//! [`PublicSigningKey`] records.

use std::time::{SystemTime, UNIX_EPOCH};

use atr_checks::keys::Keyring;
use atr_core::ids::Uid;
use atr_core::model::{Fingerprint, PublicSigningKey};
use atr_core::time::Timestamp;
use sequoia_openpgp::Cert;
use sequoia_openpgp::policy::StandardPolicy;
use sequoia_openpgp::serialize::SerializeInto as _;

fn unix(t: SystemTime) -> Timestamp {
    Timestamp::from_unix(
        t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    )
}

/// The record of one certificate, or why it cannot be stored.
pub(crate) fn record(cert: &Cert) -> Result<PublicSigningKey, String> {
    let primary = cert.primary_key().key();
    let fingerprint = Fingerprint::new(&cert.fingerprint().to_hex()).map_err(|e| e.to_string())?;
    let policy = StandardPolicy::new();
    let valid = cert.with_policy(&policy, None).ok();
    let expires = valid.as_ref().and_then(|v| v.primary_key().key_expiration_time()).map(unix);
    let uids: Vec<String> =
        cert.userids().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned()).collect();
    let apache_uid = uids.iter().find_map(|u| {
        let email = u.rsplit_once('<').map_or(u.as_str(), |(_, rest)| rest.trim_end_matches('>'));
        email.to_ascii_lowercase().strip_suffix("@apache.org").and_then(|local| Uid::new(local).ok())
    });
    let armored = cert.armored().to_vec().map_err(|e| format!("cannot armor the key: {e}"))?;
    Ok(PublicSigningKey {
        fingerprint,
        algorithm: u32::from(u8::from(primary.pk_algo())),
        length: u32::try_from(primary.mpis().bits().unwrap_or(0)).unwrap_or(0),
        created: unix(primary.creation_time()),
        latest_self_signature: None,
        expires,
        primary_declared_uid: uids.first().cloned(),
        secondary_declared_uids: uids.iter().skip(1).cloned().collect(),
        apache_uid,
        ascii_armored_key: String::from_utf8_lossy(&armored).into_owned(),
    })
}

/// Every usable key in `text` (a single key or a KEYS file), and a message per skipped part.
pub(crate) fn parse(text: &[u8]) -> (Vec<PublicSigningKey>, Vec<String>) {
    let ring = Keyring::parse(text);
    let mut errors: Vec<String> =
        ring.skipped().iter().map(|s| format!("block {} (line {}): {}", s.block, s.line, s.reason)).collect();
    let mut keys = Vec::new();
    for cert in ring.certs() {
        match record(cert) {
            Ok(k) => keys.push(k),
            Err(e) => errors.push(e),
        }
    }
    (keys, errors)
}

/// The algorithm name of an OpenPGP algorithm id.
pub(crate) fn algorithm_name(id: u32) -> &'static str {
    match id {
        1..=3 => "RSA",
        16 => "Elgamal",
        17 => "DSA",
        18 => "ECDH",
        19 => "ECDSA",
        22 => "EdDSA",
        27 => "X25519",
        28 => "X448",
        25 => "Ed25519",
        26 => "Ed448",
        _ => "unknown",
    }
}

/// The KEYS file of a committee: a header, then each key with its fingerprint and uid as comments.
pub(crate) fn keys_file(committee: &str, keys: &[PublicSigningKey], now: Timestamp) -> String {
    let mut out = format!(
        "# Apache Software Foundation (ASF)\n# Signing keys for the {committee} committee\n# Generated at {now}\n#\n\
         # This file contains the {} OpenPGP public keys used by committers of the\n\
         # Apache {committee} projects to sign official release artifacts.\n#\n\
         # Import them with:  gpg --import KEYS\n\
         # Verify a release:  gpg --verify apache-example-1.0.tar.gz.asc apache-example-1.0.tar.gz\n\
         # See https://infra.apache.org/release-signing.html\n",
        keys.len()
    );
    for k in keys {
        out.push_str("\n\n");
        let comment = match (&k.primary_declared_uid, &k.apache_uid) {
            (Some(u), Some(uid)) => format!("Comment: {u} ({uid})\n"),
            (Some(u), None) => format!("Comment: {u}\n"),
            (None, _) => String::new(),
        };
        let mut lines = k.ascii_armored_key.lines();
        if let Some(first) = lines.next() {
            out.push_str(first);
            out.push('\n');
            out.push_str(&format!("Comment: {}\n{comment}", k.fingerprint.to_uppercase()));
        }
        for l in lines.filter(|l| !l.starts_with("Comment:")) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The OpenPGP key of the project's fixture release (tests/fixtures).
    pub(crate) const FIXTURE_KEY: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2/signer.asc");

    #[test]
    fn the_fixture_key_gives_one_record_that_survives_a_keys_export() {
        let text = std::fs::read(FIXTURE_KEY).unwrap();
        let (keys, errors) = parse(&text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(keys.len(), 1);
        let k = &keys[0];
        assert!(k.fingerprint.as_str().ends_with("0f15da58c059358f"), "{}", k.fingerprint);
        assert!(k.length > 0 && algorithm_name(k.algorithm) != "unknown", "{k:?}");
        let file = keys_file("test", &keys, Timestamp::from_unix(0));
        assert!(file.contains(&format!("Comment: {}", k.fingerprint.to_uppercase())));
        let (again, _) = parse(file.as_bytes());
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].fingerprint, k.fingerprint);
    }

    #[test]
    fn garbage_gives_no_key() {
        let (keys, _) = parse(
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 !!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        );
        assert!(keys.is_empty());
    }
}
