//! Test helpers (feature `testing`): real OpenPGP keys and signatures made with Sequoia, Apache-style KEYS files.
//!
//! Everything is real: the keys are generated, the signatures are made over the bytes given.
//! Times are explicit so tests are reproducible; [`t0`] is the default creation time.
//!
//! ```
//! use atr_checks::testing::{TestKey, t0, keys_file};
//! use std::time::Duration;
//! let key = TestKey::ed25519("Test <test@apache.org>");
//! let sig = key.sign(b"data", t0() + Duration::from_secs(60));
//! assert!(String::from_utf8_lossy(&sig).starts_with("-----BEGIN PGP SIGNATURE-----"));
//! assert!(keys_file(&[&key]).contains("BEGIN PGP PUBLIC KEY BLOCK"));
//! ```

pub mod archive;
pub mod surroundings;

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::armor;
use openpgp::cert::prelude::*;
use openpgp::packet::key::{Key4, PrimaryRole, SecretParts};
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{Key, UserID};
use openpgp::parse::Parse;
use openpgp::policy::{AsymmetricAlgorithm, HashAlgoSecurity, StandardPolicy};
use openpgp::serialize::SerializeInto;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::types::{HashAlgorithm, KeyFlags, ReasonForRevocation, SignatureType};
use openpgp::{Cert, Packet};

/// Default creation time of test keys, 2025-01-01 00:00:00 UTC, as seconds since the epoch.
pub const T0_SECS: u64 = 1_735_689_600;

/// Default creation time of test keys: 2025-01-01 00:00:00 UTC.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0_SECS)
}

/// One day.
pub const DAY: Duration = Duration::from_secs(86_400);

/// A certificate with its secret keys, able to sign.
#[derive(Debug, Clone)]
pub struct TestKey {
    /// The certificate including secret key material.
    pub cert: Cert,
}

fn policy(at: SystemTime) -> StandardPolicy<'static> {
    let mut p = StandardPolicy::at(at);
    p.accept_hash_property(HashAlgorithm::SHA1, HashAlgoSecurity::SecondPreImageResistance);
    p.accept_asymmetric_algo(AsymmetricAlgorithm::RSA1024);
    p
}

impl TestKey {
    /// An Ed25519 certificate created at [`t0`], never expiring, with a signing subkey.
    pub fn ed25519(uid: &str) -> TestKey {
        TestKey::ed25519_with(uid, t0(), None)
    }

    /// An Ed25519 certificate created at `created`, valid for `validity` (or forever), with a signing subkey.
    pub fn ed25519_with(uid: &str, created: SystemTime, validity: Option<Duration>) -> TestKey {
        let (cert, _) = CertBuilder::new()
            .add_userid(uid)
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(created)
            .set_validity_period(validity)
            .add_signing_subkey()
            .generate()
            .expect("Ed25519 key generation");
        TestKey { cert }
    }

    /// An Ed25519 certificate whose only key is a certification-only primary key (it may not sign).
    pub fn certify_only(uid: &str) -> TestKey {
        let (cert, _) = CertBuilder::new()
            .add_userid(uid)
            .set_cipher_suite(CipherSuite::Cv25519)
            .set_creation_time(t0())
            .set_validity_period(None)
            .set_primary_key_flags(KeyFlags::empty().set_certification())
            .generate()
            .expect("Ed25519 key generation");
        TestKey { cert }
    }

    /// An RSA certificate of `bits` bits (any size, even below 2048), one primary key that certifies and
    /// signs, with its user ID bound by a self-signature over `binding_hash`. RSA-4096 takes seconds: cache it.
    pub fn rsa(bits: usize, uid: &str, binding_hash: HashAlgorithm) -> TestKey {
        let key: Key<SecretParts, PrimaryRole> =
            Key4::<SecretParts, PrimaryRole>::generate_rsa(bits).expect("RSA key generation").into();
        TestKey::single_key(key, uid, binding_hash)
    }

    /// An Ed25519 certificate (one primary key that certifies and signs) whose user-ID binding is
    /// self-signed with SHA-1, like many older keys in Apache KEYS files.
    pub fn sha1_bound(uid: &str) -> TestKey {
        let key: Key<SecretParts, PrimaryRole> =
            Key4::<SecretParts, PrimaryRole>::generate_ecc(true, openpgp::types::Curve::Ed25519)
                .expect("Ed25519 key generation")
                .into();
        TestKey::single_key(key, uid, HashAlgorithm::SHA1)
    }

    fn single_key(mut key: Key<SecretParts, PrimaryRole>, uid: &str, hash: HashAlgorithm) -> TestKey {
        key.set_creation_time(t0()).expect("creation time");
        let mut signer = key.clone().into_keypair().expect("keypair");
        let cert = Cert::try_from(vec![Packet::from(key.clone())]).expect("cert");
        let uid = UserID::from(uid);
        let binding = SignatureBuilder::new(SignatureType::PositiveCertification)
            .set_hash_algo(hash)
            .set_signature_creation_time(t0())
            .expect("time")
            .set_key_flags(KeyFlags::empty().set_signing().set_certification())
            .expect("flags")
            .set_primary_userid(true)
            .expect("primary")
            .sign_userid_binding(&mut signer, key.parts_as_public(), &uid)
            .expect("binding");
        let cert = cert.insert_packets(vec![Packet::from(uid), binding.into()]).expect("insert").0;
        TestKey { cert }
    }

    /// Reads a key saved with [`TestKey::secret_armored`].
    pub fn from_armored(text: &str) -> TestKey {
        TestKey { cert: Cert::from_bytes(text.as_bytes()).expect("a saved test key") }
    }

    /// The certificate with its secrets, armored (for caching generated keys in files).
    pub fn secret_armored(&self) -> String {
        String::from_utf8(self.cert.as_tsk().armored().to_vec().expect("serialize")).expect("armor is ASCII")
    }

    /// The public certificate, armored, as it appears in a KEYS file.
    pub fn public_armored(&self) -> String {
        String::from_utf8(self.cert.armored().to_vec().expect("serialize")).expect("armor is ASCII")
    }

    /// The certificate's fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// A copy of this key revoked at `at` for `reason` (`KeyCompromised` applies retroactively).
    pub fn revoked(&self, reason: ReasonForRevocation, at: SystemTime) -> TestKey {
        let mut primary = self
            .cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .expect("secret")
            .into_keypair()
            .expect("kp");
        let rev = CertRevocationBuilder::new()
            .set_reason_for_revocation(reason, b"test revocation")
            .expect("reason")
            .set_signature_creation_time(at)
            .expect("time")
            .build(&mut primary, &self.cert, None)
            .expect("revocation");
        TestKey { cert: self.cert.clone().insert_packets(rev).expect("insert").0 }
    }

    fn signing_keypair(&self, at: SystemTime) -> openpgp::crypto::KeyPair {
        let p = policy(at);
        let vc = self.cert.with_policy(&p, at).expect("the test key is valid under the lenient policy");
        let ka = vc.keys().secret().for_signing().next().unwrap_or_else(|| {
            // Not signing-capable: sign with the primary key anyway (to test that verifiers refuse it).
            vc.keys().secret().next().expect("a secret key")
        });
        ka.key().clone().into_keypair().expect("keypair")
    }

    /// An armored detached SHA-512 signature over `data` made at `at`.
    pub fn sign(&self, data: &[u8], at: SystemTime) -> Vec<u8> {
        self.sign_with_hash(data, at, HashAlgorithm::SHA512)
    }

    /// An armored detached signature over `data` made at `at` with hash `hash`.
    pub fn sign_with_hash(&self, data: &[u8], at: SystemTime, hash: HashAlgorithm) -> Vec<u8> {
        sign_many(&[self], data, at, hash)
    }
}

/// One armored detached signature block holding one signature per key, all made at `at` with `hash`.
pub fn sign_many(keys: &[&TestKey], data: &[u8], at: SystemTime, hash: HashAlgorithm) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let message = Message::new(&mut out);
        let message = Armorer::new(message).kind(armor::Kind::Signature).build().expect("armorer");
        let mut pairs = keys.iter().map(|k| k.signing_keypair(at));
        let first = pairs.next().expect("at least one key");
        let mut signer = Signer::with_template(message, first, SignatureBuilder::new(SignatureType::Binary))
            .expect("signer")
            .hash_algo(hash)
            .expect("hash");
        for kp in pairs {
            signer = signer.add_signer(kp).expect("add signer");
        }
        let mut w = signer.detached().creation_time(at).build().expect("build");
        w.write_all(data).expect("write");
        w.finalize().expect("finalize");
    }
    out
}

/// An Apache-style KEYS file: a comment header, then for each key some `gpg --list-keys`-like text
/// and its armored public certificate.
pub fn keys_file(keys: &[&TestKey]) -> String {
    let mut s = String::from(
        "This file contains the PGP keys of various developers.\n\nUsers: pgp < KEYS\n       gpg --import KEYS\nDevelopers:\n        pgp -kxa <your name> and append it to this file.\n\n",
    );
    for k in keys {
        s.push_str(&format!("pub   {}\n      {}\n\n", k.cert.primary_key().key().pk_algo(), k.fingerprint()));
        s.push_str(&k.public_armored());
        s.push_str("\n\n");
    }
    s
}

/// `armored` (one armoured signature block) with one bit of its last signature value flipped and armoured
/// again: a signature that parses and names its key but is BAD, as gpg reports it.
pub fn flip_signature_bit(armored: &[u8]) -> Vec<u8> {
    let mut binary = Vec::new();
    let mut reader = armor::Reader::from_bytes(armored, None);
    std::io::Read::read_to_end(&mut reader, &mut binary).expect("an armoured signature");
    let last = binary.len() - 1;
    binary[last] ^= 0x01;
    let mut out = Vec::new();
    {
        let mut w = armor::Writer::new(&mut out, armor::Kind::Signature).expect("armor writer");
        w.write_all(&binary).expect("write");
        w.finalize().expect("finalize");
    }
    out
}
