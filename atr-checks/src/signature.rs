//! Detached OpenPGP signatures (`X.asc` over `X`) against a committee's [`Keyring`].
//!
//! Verdicts follow `gpg --verify` where gpg is right and are stricter where it is lax:
//! - a signature whose key is not in KEYS, a bad signature, a key revoked or expired at
//!   signature time, a key that may not sign, a signature over SHA-1: **blocker**;
//! - an RSA key under 4096 bits: **concern** (under 2048: **blocker**); a signer without an
//!   `@apache.org` user ID: **concern**;
//! - a key whose self-signatures use SHA-1 still verifies (as in gpg) with a **concern** asking
//!   the signer to refresh them (Sequoia's standard policy would refuse the key outright);
//! - a key that expired or was revoked *after* signing: the signature is good, with a **concern**
//!   (gpg exits 0 and prints a warning few people read; here it is never a silent pass);
//! - every signature in a file with several is verified and reported (one armoured block holding
//!   several, or several blocks one after the other as `cat a.asc b.asc` makes): any that is not good
//!   is a blocker even next to good ones, and a summary says how many of how many are good.
//!
//! The artifact is streamed, never read into memory.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::SystemTime;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use sequoia_openpgp as openpgp;
use serde_json::json;

use openpgp::cert::prelude::*;
use openpgp::crypto::mpi;
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DetachedVerifierBuilder, GoodChecksum, MessageLayer, MessageStructure, VerificationError,
    VerificationHelper,
};
use openpgp::policy::{AsymmetricAlgorithm, HashAlgoSecurity, StandardPolicy};
use openpgp::types::{HashAlgorithm, RevocationStatus};
use openpgp::{Cert, KeyHandle};

use crate::context::CheckContext;
use crate::error::{CheckError, read_limited};
use crate::keys::Keyring;
use crate::util::format_time;

const CHECKER: CheckerId = CheckerId::SIGNATURE;
const ARMOR_BEGIN: &[u8] = b"-----BEGIN PGP SIGNATURE-----";

/// The verdict on one signature of a detached signature file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignatureVerdict {
    /// What happened.
    pub outcome: SignatureOutcome,
    /// Issuer key IDs and fingerprints named by the signature (upper-case hex).
    pub issuers: Vec<String>,
    /// When the signature says it was made.
    pub signature_time: Option<SystemTime>,
    /// The hash algorithm of the signature (`SHA512`, …).
    pub hash_algorithm: String,
    /// The key that made it, when it is in the keyring.
    pub signer: Option<SignerInfo>,
}

/// What a signature verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureOutcome {
    /// The signature is cryptographically good and the key was valid when it signed.
    Good,
    /// No key in the keyring made it.
    MissingKey,
    /// The signature does not match the file (or is otherwise invalid); `reason` says why.
    BadSignature {
        /// The underlying reason.
        reason: String,
    },
    /// The signature uses a broken hash (SHA-1, MD5).
    WeakHash,
    /// The key was revoked at signature time (or hard-revoked, which applies retroactively).
    KeyRevoked {
        /// The underlying reason.
        reason: String,
    },
    /// The key had expired at signature time.
    KeyExpired {
        /// The underlying reason.
        reason: String,
    },
    /// The key is not marked as able to sign.
    NotSigningCapable,
    /// The key is in the keyring but has no valid binding at signature time.
    KeyUnusable {
        /// The underlying reason.
        reason: String,
    },
    /// The signature packet is malformed or of an unknown kind.
    Malformed {
        /// The underlying reason.
        reason: String,
    },
}

/// Facts about the key that made a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignerInfo {
    /// Fingerprint of the certificate (primary key), upper-case hex.
    pub certificate_fingerprint: String,
    /// Fingerprint of the (sub)key that signed, upper-case hex.
    pub key_fingerprint: String,
    /// The certificate's user IDs.
    pub user_ids: Vec<String>,
    /// The ASF uid, from the first `@apache.org` user ID.
    pub asf_uid: Option<String>,
    /// Whether the key is an automated-signing key (`private@<committee>.apache.org`).
    pub automated: bool,
    /// The public-key algorithm (`RSA`, `EdDSA`, …).
    pub key_algorithm: String,
    /// Whether it is an RSA key.
    pub is_rsa: bool,
    /// Key size in bits, where it has one.
    pub key_bits: Option<usize>,
    /// Whether the key is only usable because SHA-1 self-signatures were accepted.
    pub needs_sha1_leniency: bool,
    /// Set when the key is no longer valid at the reference time (expired or revoked after signing).
    pub invalid_now: Option<String>,
}

/// Why a signature file could not be verified at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The signature file is not an OpenPGP signature.
    #[error("it is not an OpenPGP signature ({0})")]
    Parse(String),
    /// Reading the signed data failed.
    #[error("reading the signed file failed: {0}")]
    Io(#[from] io::Error),
}

/// The lenient policy: the standard policy at the reference time, except that SHA-1 is accepted where only
/// second-preimage resistance is needed (self-signatures and bindings, as gpg does), and short RSA/DSA keys
/// are let through so that our own key-size rule can explain the problem.
fn lenient_policy(at: SystemTime) -> StandardPolicy<'static> {
    let mut p = StandardPolicy::at(at);
    p.accept_hash_property(HashAlgorithm::SHA1, HashAlgoSecurity::SecondPreImageResistance);
    for a in [AsymmetricAlgorithm::RSA1024, AsymmetricAlgorithm::DSA1024] {
        p.accept_asymmetric_algo(a);
    }
    p
}

/// Verifies the detached signature(s) in `sig` over the data read from `data`. Pure apart from reading `data`.
///
/// ```
/// use atr_checks::{keys::Keyring, signature::{verify_detached, SignatureOutcome}, CheckContext};
/// let ring = Keyring::default();
/// let ctx = CheckContext::new(std::time::SystemTime::UNIX_EPOCH);
/// assert!(verify_detached(b"not a signature", &b"data"[..], &ring, &ctx).is_err());
/// ```
pub fn verify_detached<R: Read + Send + Sync>(
    sig: &[u8],
    data: R,
    keyring: &Keyring,
    ctx: &CheckContext,
) -> Result<Vec<SignatureVerdict>, VerifyError> {
    let lenient = lenient_policy(ctx.reference_time);
    let strict = StandardPolicy::at(ctx.reference_time);
    let helper = Helper { keyring, ctx, lenient: &lenient, strict: &strict, verdicts: Vec::new() };
    let packets = dearmor_all(sig)?;
    let mut v = DetachedVerifierBuilder::from_bytes(&packets)
        .map_err(|e| VerifyError::Parse(format!("{e:#}")))?
        .with_policy(&lenient, Some(ctx.reference_time), helper)
        .map_err(|e| VerifyError::Parse(format!("{e:#}")))?;
    if let Err(e) = v.verify_reader(data) {
        return match e.downcast::<io::Error>() {
            Ok(io) => Err(VerifyError::Io(io)),
            Err(e) => Err(VerifyError::Parse(format!("{e:#}"))),
        };
    }
    Ok(v.into_helper().verdicts)
}

/// The signature packets of every armoured block in `sig`, concatenated; `sig` itself when it holds no
/// armour (binary signature packets).
///
/// An `.asc` made by several release managers is often several armoured blocks one after the other
/// (`cat a.asc b.asc`); gpg verifies them all, and so must we: an armour reader stops after the first
/// block, which would let a BAD second signature go unseen.
fn dearmor_all(sig: &[u8]) -> Result<Vec<u8>, VerifyError> {
    const END: &[u8] = b"-----END PGP SIGNATURE-----";
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let mut rest = sig;
    let mut packets = Vec::new();
    let mut blocks = 0usize;
    while let Some(begin) = find(rest, ARMOR_BEGIN) {
        let block = &rest[begin..];
        let end = find(block, END).map_or(block.len(), |e| e + END.len());
        let mut reader = openpgp::armor::Reader::from_bytes(
            &block[..end],
            openpgp::armor::ReaderMode::Tolerant(Some(openpgp::armor::Kind::Signature)),
        );
        reader.read_to_end(&mut packets).map_err(|e| {
            VerifyError::Parse(format!("armoured block {} cannot be decoded: {e}", blocks + 1))
        })?;
        blocks += 1;
        rest = &block[end..];
    }
    Ok(if blocks == 0 { sig.to_vec() } else { packets })
}

struct Helper<'a> {
    keyring: &'a Keyring,
    ctx: &'a CheckContext,
    lenient: &'a StandardPolicy<'a>,
    strict: &'a StandardPolicy<'a>,
    verdicts: Vec<SignatureVerdict>,
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self
            .keyring
            .certs()
            .iter()
            .filter(|c| {
                ids.is_empty() || c.keys().any(|k| ids.iter().any(|id| k.key().key_handle().aliases(id)))
            })
            .cloned()
            .collect())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            if let MessageLayer::SignatureGroup { results } = layer {
                for r in results {
                    let v = self.verdict(r);
                    self.verdicts.push(v);
                }
            }
        }
        Ok(())
    }
}

impl Helper<'_> {
    fn verdict(&self, r: Result<GoodChecksum<'_>, VerificationError<'_>>) -> SignatureVerdict {
        match r {
            Ok(GoodChecksum { sig, ka }) => {
                let signer = self.signer_info(sig, ka.cert(), ka.key());
                base(sig, SignatureOutcome::Good, Some(signer))
            }
            Err(VerificationError::MissingKey { sig }) => base(sig, SignatureOutcome::MissingKey, None),
            Err(VerificationError::UnboundKey { sig, cert, error }) => {
                let key = cert.primary_key().key().clone();
                let signer = self.signer_info(sig, cert, &key.role_into_unspecified());
                base(sig, SignatureOutcome::KeyUnusable { reason: format!("{error:#}") }, Some(signer))
            }
            Err(VerificationError::BadKey { sig, ka, error }) => {
                let reason = format!("{error:#}");
                let lower = reason.to_lowercase();
                let outcome = if lower.contains("revoked") {
                    SignatureOutcome::KeyRevoked { reason }
                } else if lower.contains("not signing capable") {
                    SignatureOutcome::NotSigningCapable
                } else if lower.contains("expired")
                    || lower.contains("not live")
                    || lower.contains("not alive")
                {
                    SignatureOutcome::KeyExpired { reason }
                } else {
                    SignatureOutcome::KeyUnusable { reason }
                };
                let signer = self.signer_info(sig, ka.cert(), ka.key());
                base(sig, outcome, Some(signer))
            }
            Err(VerificationError::BadSignature { sig, ka, error }) => {
                let weak = matches!(
                    sig.hash_algo(),
                    HashAlgorithm::SHA1 | HashAlgorithm::MD5 | HashAlgorithm::RipeMD
                );
                let outcome = if weak {
                    SignatureOutcome::WeakHash
                } else {
                    SignatureOutcome::BadSignature { reason: format!("{error:#}") }
                };
                let signer = self.signer_info(sig, ka.cert(), ka.key());
                base(sig, outcome, Some(signer))
            }
            Err(VerificationError::MalformedSignature { sig, error }) => {
                base(sig, SignatureOutcome::Malformed { reason: format!("{error:#}") }, None)
            }
            Err(VerificationError::UnknownSignature { sig, .. }) => SignatureVerdict {
                outcome: SignatureOutcome::Malformed { reason: format!("{:#}", sig.error()) },
                issuers: Vec::new(),
                signature_time: None,
                hash_algorithm: String::new(),
                signer: None,
            },
            Err(e) => SignatureVerdict {
                outcome: SignatureOutcome::Malformed { reason: e.to_string() },
                issuers: Vec::new(),
                signature_time: None,
                hash_algorithm: String::new(),
                signer: None,
            },
        }
    }

    fn signer_info<R: openpgp::packet::key::KeyRole>(
        &self,
        sig: &Signature,
        cert: &Cert,
        key: &openpgp::packet::Key<openpgp::packet::key::PublicParts, R>,
    ) -> SignerInfo {
        let user_ids: Vec<String> =
            cert.userids().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned()).collect();
        let emails: Vec<String> = user_ids.iter().filter_map(|u| email_of(u)).collect();
        let asf_uid = emails.iter().find_map(|e| e.strip_suffix("@apache.org").map(str::to_owned));
        let automated = emails.iter().any(|e| match &self.ctx.committee {
            Some(c) => *e == format!("private@{c}.apache.org"),
            None => e.starts_with("private@") && e.ends_with(".apache.org"),
        });
        let key_fpr = key.fingerprint();
        let sig_time = sig.signature_creation_time();
        let strict_ok = cert
            .with_policy(self.strict, sig_time)
            .map(|vc| vc.keys().key_handle(key_fpr.clone()).next().is_some())
            .unwrap_or(false);
        let lenient_ok = cert
            .with_policy(self.lenient, sig_time)
            .map(|vc| vc.keys().key_handle(key_fpr.clone()).next().is_some())
            .unwrap_or(false);
        let is_rsa = matches!(key.mpis(), mpi::PublicKey::RSA { .. });
        SignerInfo {
            certificate_fingerprint: cert.fingerprint().to_hex(),
            key_fingerprint: key_fpr.to_hex(),
            user_ids,
            asf_uid,
            automated,
            key_algorithm: key.pk_algo().to_string(),
            is_rsa,
            key_bits: key.mpis().bits(),
            needs_sha1_leniency: lenient_ok && !strict_ok,
            invalid_now: self.invalid_now(cert, &key_fpr),
        }
    }

    /// Why the key is not valid at the reference time, if it is not.
    fn invalid_now(&self, cert: &Cert, key_fpr: &openpgp::Fingerprint) -> Option<String> {
        let now = self.ctx.reference_time;
        let vc = match cert.with_policy(self.lenient, now) {
            Ok(vc) => vc,
            Err(e) => return Some(format!("{e:#}")),
        };
        if let RevocationStatus::Revoked(revs) = vc.revocation_status() {
            return Some(revocation_text("the certificate was revoked", &revs));
        }
        if let Err(e) = vc.alive() {
            return Some(format!("the certificate has expired ({e:#})"));
        }
        let Some(ka) = vc.keys().key_handle(key_fpr.clone()).next() else {
            return Some("the signing key is no longer bound to the certificate".into());
        };
        if let RevocationStatus::Revoked(revs) = ka.revocation_status() {
            return Some(revocation_text("the signing key was revoked", &revs));
        }
        if let Err(e) = ka.alive() {
            return Some(format!("the signing key has expired ({e:#})"));
        }
        None
    }
}

fn revocation_text(what: &str, revs: &[&Signature]) -> String {
    let when = revs.first().and_then(|s| s.signature_creation_time()).map(format_time);
    let why = revs.first().and_then(|s| s.reason_for_revocation()).map(|(r, m)| {
        let m = String::from_utf8_lossy(m).trim().to_owned();
        if m.is_empty() { format!("{r}") } else { format!("{r}: {m}") }
    });
    let mut s = what.to_owned();
    if let Some(w) = when {
        s.push_str(&format!(" on {w}"));
    }
    if let Some(w) = why {
        s.push_str(&format!(" ({w})"));
    }
    s
}

fn base(sig: &Signature, outcome: SignatureOutcome, signer: Option<SignerInfo>) -> SignatureVerdict {
    SignatureVerdict {
        outcome,
        issuers: sig.get_issuers().iter().map(|h| h.to_hex()).collect(),
        signature_time: sig.signature_creation_time(),
        hash_algorithm: format!("{}", sig.hash_algo()),
        signer,
    }
}

/// The e-mail address of a user ID (`Name <a@b>` or a bare address), lower-cased.
fn email_of(uid: &str) -> Option<String> {
    if let (Some(s), Some(e)) = (uid.rfind('<'), uid.rfind('>'))
        && s < e
    {
        let inner = uid[s + 1..e].trim();
        return inner.contains('@').then(|| inner.to_ascii_lowercase());
    }
    let t = uid.trim();
    (t.contains('@') && !t.contains(char::is_whitespace)).then(|| t.to_ascii_lowercase())
}

/// Checks one signature file `sig_rel` (an `.asc`, or a forbidden `.sig`) in the release directory `root`
/// against `keyring`. Returns one or more results; never panics.
///
/// ```
/// use atr_checks::{keys::Keyring, signature::check_signature_file, CheckContext};
/// use atr_core::{check::CheckStatus, path::RelPath};
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("a.tar.gz"), b"data").unwrap();
/// std::fs::write(dir.path().join("a.tar.gz.asc"), b"garbage").unwrap();
/// let ctx = CheckContext::new(std::time::SystemTime::UNIX_EPOCH);
/// let r = check_signature_file(dir.path(), &RelPath::new("a.tar.gz.asc").unwrap(), &Keyring::default(), &ctx);
/// assert_eq!(r[0].status, CheckStatus::Blocker);
/// ```
pub fn check_signature_file(
    root: &Path,
    sig_rel: &RelPath,
    keyring: &Keyring,
    ctx: &CheckContext,
) -> Vec<CheckResult> {
    let name = sig_rel.file_name();
    let (artifact_name, binary_sig) = if let Some(a) = name.strip_suffix(".asc") {
        (a, false)
    } else if let Some(a) = name.strip_suffix(".sig") {
        (a, true)
    } else {
        return vec![res(
            CheckStatus::Exception,
            sig_rel,
            format!("`{name}` is not a signature file; this checker handles `.asc` files."),
        )];
    };
    if binary_sig {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` is a binary `.sig` signature, which ASF policy forbids; delete it and provide `{artifact_name}.asc` made with `gpg --armor --detach-sign {artifact_name}`."
            ),
        )];
    }
    let artifact_rel = match sig_rel.parent() {
        Some(dir) => RelPath::new(format!("{dir}/{artifact_name}")),
        None => RelPath::new(artifact_name),
    };
    let Ok(artifact_rel) =
        artifact_rel.or(Err(())).and_then(|r| if artifact_name.is_empty() { Err(()) } else { Ok(r) })
    else {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` names no artifact; name a signature after its file, such as `foo-1.0.tar.gz.asc`."
            ),
        )];
    };
    let sig = match read_limited(&root.join(sig_rel.as_str()), ctx.limits.max_signature_bytes, "signature") {
        Ok(s) => s,
        Err(e) => return vec![e.to_result(CHECKER, Some(sig_rel.clone()))],
    };
    if sig.trim_ascii_start().starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` is an OpenPGP public key, not a signature; delete it from the release and add the key on the Keys page."
            ),
        )];
    }
    let artifact_path = root.join(artifact_rel.as_str());
    if !artifact_path.is_file() {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` signs `{artifact_rel}`, which is not in the release; upload `{artifact_rel}` or delete `{name}`."
            ),
        )];
    }
    let file = match File::open(&artifact_path) {
        Ok(f) => f,
        Err(e) => return vec![CheckError::io(&artifact_path, e).to_result(CHECKER, Some(sig_rel.clone()))],
    };
    check_signature_bytes(
        &sig,
        io::BufReader::with_capacity(256 * 1024, file),
        sig_rel,
        &artifact_rel,
        keyring,
        ctx,
    )
}

/// Like [`check_signature_file`], for a signature already in memory and the signed data as a stream.
pub fn check_signature_bytes<R: Read + Send + Sync>(
    sig: &[u8],
    data: R,
    sig_rel: &RelPath,
    artifact_rel: &RelPath,
    keyring: &Keyring,
    ctx: &CheckContext,
) -> Vec<CheckResult> {
    let name = sig_rel.file_name();
    if !sig.trim_ascii_start().starts_with(ARMOR_BEGIN) {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` is not an ASCII-armoured OpenPGP signature (it does not start with `-----BEGIN PGP SIGNATURE-----`); re-create it with `gpg --armor --detach-sign {}`.",
                artifact_rel.file_name()
            ),
        )];
    }
    let verdicts = match verify_detached(sig, data, keyring, ctx) {
        Ok(v) => v,
        Err(VerifyError::Io(e)) => {
            return vec![CheckError::io(artifact_rel.as_str(), e).to_result(CHECKER, Some(sig_rel.clone()))];
        }
        Err(e) => {
            return vec![res(
                CheckStatus::Blocker,
                sig_rel,
                format!(
                    "`{name}` cannot be read: {e}; re-create it with `gpg --armor --detach-sign {}`.",
                    artifact_rel.file_name()
                ),
            )];
        }
    };
    if verdicts.is_empty() {
        return vec![res(
            CheckStatus::Blocker,
            sig_rel,
            format!(
                "`{name}` holds no signature; re-create it with `gpg --armor --detach-sign {}`.",
                artifact_rel.file_name()
            ),
        )];
    }
    let mut out = Vec::new();
    if verdicts.len() > 1 {
        out.push(summary(&verdicts, sig_rel, artifact_rel));
    }
    for v in &verdicts {
        results_for(v, sig_rel, artifact_rel, keyring, &mut out);
    }
    out
}

/// One line for a file with several signatures: how many are good out of how many, and by whom.
/// It is a note; each signature that is not good has its own blocker.
fn summary(verdicts: &[SignatureVerdict], sig_rel: &RelPath, artifact_rel: &RelPath) -> CheckResult {
    let name = sig_rel.file_name();
    let good: Vec<&SignatureVerdict> =
        verdicts.iter().filter(|v| v.outcome == SignatureOutcome::Good).collect();
    let signers: Vec<String> = good.iter().filter_map(|v| v.signer.as_ref()).map(signer_label).collect();
    let (n, g) = (verdicts.len(), good.len());
    let message = if g == n {
        format!(
            "`{name}` holds {n} signatures of `{artifact_rel}`; all {n} are good ({}).",
            signers.join("; ")
        )
    } else {
        format!(
            "`{name}` holds {n} signatures of `{artifact_rel}`; {g} of {n} are good, and every one that is not blocks the release (see below)."
        )
    };
    CheckResult::new(CHECKER, CheckStatus::Note, Some(sig_rel.clone()), message)
        .with_data(json!({ "signatures": n, "good": g, "good_signers": signers }))
}

fn signer_label(s: &SignerInfo) -> String {
    match s.user_ids.first() {
        Some(u) => format!("key {} ({u})", s.certificate_fingerprint),
        None => format!("key {}", s.certificate_fingerprint),
    }
}

fn verdict_data(v: &SignatureVerdict) -> serde_json::Value {
    let mut d = json!({
        "issuers": v.issuers,
        "signature_time": v.signature_time.map(format_time),
        "hash_algorithm": v.hash_algorithm,
    });
    if let Some(s) = &v.signer {
        d["fingerprint"] = json!(s.key_fingerprint);
        d["certificate_fingerprint"] = json!(s.certificate_fingerprint);
        d["user_ids"] = json!(s.user_ids);
        d["asf_uid"] = json!(s.asf_uid);
        d["automated_signing_key"] = json!(s.automated);
        d["key_algorithm"] = json!(s.key_algorithm);
        d["key_bits"] = json!(s.key_bits);
    }
    d
}

fn results_for(
    v: &SignatureVerdict,
    sig_rel: &RelPath,
    artifact_rel: &RelPath,
    keyring: &Keyring,
    out: &mut Vec<CheckResult>,
) {
    let name = sig_rel.file_name();
    let data = verdict_data(v);
    let when = v.signature_time.map(format_time).unwrap_or_else(|| "at an unknown time".into());
    let issuers = if v.issuers.is_empty() {
        "an unnamed key".to_owned()
    } else {
        format!("key {}", v.issuers.join(" / "))
    };
    let push = |out: &mut Vec<CheckResult>, status, msg: String| {
        out.push(CheckResult::new(CHECKER, status, Some(sig_rel.clone()), msg).with_data(data.clone()));
    };
    let signer = v.signer.as_ref();
    let who = signer.map(signer_label).unwrap_or_else(|| issuers.clone());
    match &v.outcome {
        SignatureOutcome::MissingKey => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` was made by {issuers}, which is not in the committee's KEYS file ({} usable keys); add the signer's key on the Keys page or re-sign with a listed key.",
                keyring.certs().len()
            ),
        ),
        SignatureOutcome::BadSignature { reason } => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` does not match `{artifact_rel}` (signature by {who} is BAD: {reason}); the file changed after signing or the signature is for another file, so re-upload the signed file or re-sign it."
            ),
        ),
        SignatureOutcome::WeakHash => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` by {who} uses the broken hash {}, which cannot prove the file is authentic; re-sign with `gpg --armor --detach-sign --digest-algo SHA512 {}`.",
                v.hash_algorithm,
                artifact_rel.file_name()
            ),
        ),
        SignatureOutcome::KeyRevoked { reason } => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` was made {when} by {who}, which was revoked at that time ({reason}); re-sign `{}` with a valid key listed in KEYS.",
                artifact_rel.file_name()
            ),
        ),
        SignatureOutcome::KeyExpired { reason } => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` was made {when} by {who}, which had expired at that time ({reason}); extend the key's expiry (`gpg --quick-set-expire`), update KEYS and re-sign, or re-sign with another listed key."
            ),
        ),
        SignatureOutcome::NotSigningCapable => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` was made by {who} with a key that is not marked for signing; re-sign with a signing key (`gpg --armor --detach-sign {}`).",
                artifact_rel.file_name()
            ),
        ),
        SignatureOutcome::KeyUnusable { reason } => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` was made by {who}, but that key is not validly bound to its certificate at signature time ({reason}); refresh the key's self-signatures, update KEYS and re-sign."
            ),
        ),
        SignatureOutcome::Malformed { reason } => push(
            out,
            CheckStatus::Blocker,
            format!(
                "`{name}` holds a malformed signature ({reason}); re-create it with `gpg --armor --detach-sign {}`.",
                artifact_rel.file_name()
            ),
        ),
        SignatureOutcome::Good => {
            let s = signer.expect("a good signature always has a signer");
            push(
                out,
                CheckStatus::Note,
                format!("`{name}` is a good signature of `{artifact_rel}` by {who}, made {when}."),
            );
            if s.is_rsa
                && let Some(bits) = s.key_bits
            {
                if bits < 2048 {
                    push(
                        out,
                        CheckStatus::Blocker,
                        format!(
                            "`{name}` was made with a {bits}-bit RSA key ({}), below the 2048 bits ASF policy requires; create an RSA 4096 key, add it to KEYS and re-sign.",
                            s.key_fingerprint
                        ),
                    );
                } else if bits < 4096 {
                    push(
                        out,
                        CheckStatus::Concern,
                        format!(
                            "`{name}` was made with a {bits}-bit RSA key ({}); ASF policy recommends RSA 4096 for signing keys, so plan to move to a 4096-bit key.",
                            s.key_fingerprint
                        ),
                    );
                }
            }
            if s.asf_uid.is_none() && !s.automated {
                push(
                    out,
                    CheckStatus::Concern,
                    format!(
                        "The key that made `{name}` ({}) has no `@apache.org` user ID, so it is not bound to an ASF committer; add one with `gpg --quick-add-uid {} 'Name <uid@apache.org>'` and update KEYS.",
                        s.certificate_fingerprint, s.certificate_fingerprint
                    ),
                );
            }
            if s.needs_sha1_leniency {
                push(
                    out,
                    CheckStatus::Concern,
                    format!(
                        "The key that made `{name}` ({}) has user-ID or subkey bindings self-signed with SHA-1, which modern OpenPGP software rejects; refresh them (`gpg --quick-set-expire {} 2y` and `gpg --quick-set-expire {} 2y '*'` re-sign the user IDs and subkeys with SHA-256 or better) and update KEYS.",
                        s.certificate_fingerprint, s.certificate_fingerprint, s.certificate_fingerprint
                    ),
                );
            }
            if let Some(why) = &s.invalid_now {
                push(
                    out,
                    CheckStatus::Concern,
                    format!(
                        "`{name}` was made {when} while its key was valid, but the key is no longer valid: {why}; make sure this is expected, and re-sign with a current key if the release is not yet final."
                    ),
                );
            }
        }
    }
}

fn res(status: CheckStatus, path: &RelPath, message: String) -> CheckResult {
    CheckResult::new(CHECKER, status, Some(path.clone()), message)
}
