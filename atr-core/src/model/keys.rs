//! OpenPGP public signing keys and their committee links, SSH keys, personal access tokens.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{CommitteeKey, IdError, Uid};
use crate::time::Timestamp;

/// An OpenPGP fingerprint: 40 (v4) or 64 (v6) hex digits, stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Validates and lowercases `s` (spaces are removed, so a grouped fingerprint is accepted).
    pub fn new(s: &str) -> Result<Self, IdError> {
        let compact: String = s.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_lowercase();
        if (compact.len() == 40 || compact.len() == 64) && compact.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Fingerprint(compact))
        } else {
            Err(IdError::Invalid {
                what: "fingerprint",
                value: s.escape_debug().to_string(),
                rule: "give the full fingerprint: 40 (v4) or 64 (v6) hexadecimal digits",
            })
        }
    }

    /// Lowercase hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Uppercase hex, as the API's `key/add` returns it.
    pub fn to_uppercase(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Fingerprint::new(s)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Fingerprint::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An OpenPGP certificate used to sign releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSigningKey {
    /// Primary key fingerprint.
    pub fingerprint: Fingerprint,
    /// Public-key algorithm id (RFC 9580).
    pub algorithm: u32,
    /// Key length in bits.
    pub length: u32,
    /// Creation time of the primary key.
    pub created: Timestamp,
    /// Time of the latest self-signature.
    pub latest_self_signature: Option<Timestamp>,
    /// Expiry, if any.
    pub expires: Option<Timestamp>,
    /// The primary user id.
    pub primary_declared_uid: Option<String>,
    /// The other user ids.
    pub secondary_declared_uids: Vec<String>,
    /// The ASF uid the key belongs to, if known.
    pub apache_uid: Option<Uid>,
    /// The key as uploaded (ASCII armour).
    pub ascii_armored_key: String,
}

/// A link between a committee and a key it accepts for its releases (the committee's KEYS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyLink {
    /// The committee.
    pub committee_key: CommitteeKey,
    /// The key.
    pub fingerprint: Fingerprint,
}

/// An SSH public key a person uses for rsync uploads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    /// `SHA256:<base64 without padding>`.
    pub fingerprint: String,
    /// The `authorized_keys` line.
    pub key: String,
    /// Owner.
    pub asf_uid: Uid,
}

/// A personal access token. Only its hash is ever stored; the plaintext is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalAccessToken {
    /// Storage id (`None` before it is stored).
    pub id: Option<i64>,
    /// Owner.
    pub asfuid: Uid,
    /// SHA3-256 of the plaintext, 64 lowercase hex digits.
    pub token_hash: String,
    /// When it was made.
    pub created: Timestamp,
    /// When it stops working.
    pub expires: Timestamp,
    /// When it was last used to get a JWT.
    pub last_used: Option<Timestamp>,
    /// The owner's label for it.
    pub label: String,
}

impl PersonalAccessToken {
    /// Whether `token_hash` has the form of a stored hash (64 lowercase hex digits).
    pub fn hash_is_well_formed(&self) -> bool {
        self.token_hash.len() == 64
            && self.token_hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// Whether the token may be used at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        now < self.expires
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_normalised() {
        let fp = Fingerprint::new("E356 04DD 9E28 92E5 465B  3D8A 203F 105A 7B33 A64F").unwrap();
        assert_eq!(fp.as_str(), "e35604dd9e2892e5465b3d8a203f105a7b33a64f");
        assert_eq!(fp.to_uppercase(), "E35604DD9E2892E5465B3D8A203F105A7B33A64F");
        assert!(Fingerprint::new("203F105A7B33A64F").unwrap_err().to_string().contains("full fingerprint"));
        assert!(Fingerprint::new(&"g".repeat(40)).is_err());
        assert_eq!(
            serde_json::from_str::<Fingerprint>("\"E35604DD9E2892E5465B3D8A203F105A7B33A64F\"").unwrap(),
            fp
        );
    }

    #[test]
    fn tokens() {
        let t = PersonalAccessToken {
            id: None,
            asfuid: Uid::new("alice").unwrap(),
            token_hash: "a".repeat(64),
            created: Timestamp::from_unix(0),
            expires: Timestamp::from_unix(100),
            last_used: None,
            label: "ci".into(),
        };
        assert!(t.hash_is_well_formed());
        assert!(t.is_valid_at(Timestamp::from_unix(99)) && !t.is_valid_at(Timestamp::from_unix(100)));
        let bad = PersonalAccessToken { token_hash: "A".repeat(64), ..t };
        assert!(!bad.hash_is_well_formed());
    }
}
