//! Cross-check of signature verdicts with the real `gpg --verify` (temporary GNUPGHOME, faked system time).
//!
//! Agreement rule: where gpg reports GOODSIG we report a good signature (plus concerns where gpg only
//! warns); where gpg reports BADSIG or cannot check (ERRSIG) we report a blocker; where gpg reports
//! EXPKEYSIG / REVKEYSIG (and exits 0) we never pass silently. Cases where we are deliberately stricter
//! than gpg are listed with the reason.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use atr_checks::keys::Keyring;
use atr_checks::signature::check_signature_file;
use atr_checks::testing::{DAY, TestKey, flip_signature_bit, keys_file, sign_many, t0};
use atr_checks::{CheckContext, CheckResult, CheckStatus};
use sequoia_openpgp::types::{HashAlgorithm, ReasonForRevocation};

use crate::support::*;

const DATA: &[u8] = b"release bytes for the gpg cross-check";

/// gpg's status tokens of interest and its exit code.
#[derive(Debug)]
struct GpgVerdict {
    tokens: Vec<String>,
    success: bool,
}

fn gpg_verify(keys: &str, sig: &Path, data: &Path, at: SystemTime) -> GpgVerdict {
    let home = tempfile::tempdir().unwrap();
    let keys_path = home.path().join("KEYS");
    std::fs::write(&keys_path, keys).unwrap();
    let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let gpg = |args: &[&str]| {
        Command::new("gpg")
            .arg("--homedir")
            .arg(home.path())
            .args(["--batch", "--no-auto-check-trustdb", "--faked-system-time", &format!("{secs}!")])
            .args(args)
            .output()
            .expect("gpg is installed (Debian package gnupg)")
    };
    let _ = gpg(&["--import", keys_path.to_str().unwrap()]);
    let out = gpg(&["--status-fd", "1", "--verify", sig.to_str().unwrap(), data.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let tokens = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|t| {
            ["GOODSIG", "BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "NO_PUBKEY"].contains(t)
        })
        .map(str::to_owned)
        .collect();
    GpgVerdict { tokens, success: out.status.success() }
}

struct Case {
    name: &'static str,
    keys: Vec<TestKey>,
    sig: Vec<u8>,
    /// The gpg status tokens expected (in order).
    gpg: &'static [&'static str],
    /// Our worst status.
    ours: CheckStatus,
}

fn cases() -> Vec<Case> {
    let good = asf_key().clone();
    let stranger = TestKey::ed25519("Stranger <s@apache.org>");
    let expiring = TestKey::ed25519_with("Exp <exp@apache.org>", t0(), Some(2 * DAY));
    let short = TestKey::ed25519_with("Short <short@apache.org>", t0(), Some(10 * DAY));
    let rev = TestKey::ed25519("Rev <rev@apache.org>");
    let sha1 = TestKey::sha1_bound("Old <old@apache.org>");
    let noasf = TestKey::ed25519("Someone <someone@example.org>");
    let rsa2k = rsa_key(2048);
    vec![
        Case {
            name: "good",
            keys: vec![good.clone()],
            sig: good.sign(DATA, t0() + DAY),
            gpg: &["GOODSIG"],
            ours: CheckStatus::Note,
        },
        Case {
            name: "tampered",
            keys: vec![good.clone()],
            sig: good.sign(b"different", t0() + DAY),
            gpg: &["BADSIG"],
            ours: CheckStatus::Blocker,
        },
        Case {
            name: "no key",
            keys: vec![good.clone()],
            sig: stranger.sign(DATA, t0() + DAY),
            gpg: &["ERRSIG", "NO_PUBKEY"],
            ours: CheckStatus::Blocker,
        },
        // gpg says "Good signature" with EXPKEYSIG and exits 0; the key was dead when it signed: blocker.
        Case {
            name: "expired at signing",
            keys: vec![expiring.clone()],
            sig: expiring.sign(DATA, t0() + 5 * DAY),
            gpg: &["EXPKEYSIG"],
            ours: CheckStatus::Blocker,
        },
        // Signed while valid, expired since: gpg EXPKEYSIG + exit 0; we pass with a concern.
        Case {
            name: "expired since",
            keys: vec![short.clone()],
            sig: short.sign(DATA, t0() + DAY),
            gpg: &["EXPKEYSIG"],
            ours: CheckStatus::Concern,
        },
        Case {
            name: "revoked before signing",
            keys: vec![rev.revoked(ReasonForRevocation::KeyRetired, t0() + DAY)],
            sig: rev.sign(DATA, t0() + 2 * DAY),
            gpg: &["REVKEYSIG"],
            ours: CheckStatus::Blocker,
        },
        Case {
            name: "retired after signing",
            keys: vec![rev.revoked(ReasonForRevocation::KeyRetired, t0() + 3 * DAY)],
            sig: rev.sign(DATA, t0() + DAY),
            gpg: &["REVKEYSIG"],
            ours: CheckStatus::Concern,
        },
        Case {
            name: "sha1 binding",
            keys: vec![sha1.clone()],
            sig: sha1.sign(DATA, t0() + DAY),
            gpg: &["GOODSIG"],
            ours: CheckStatus::Concern,
        },
        Case {
            name: "no asf uid",
            keys: vec![noasf.clone()],
            sig: noasf.sign(DATA, t0() + DAY),
            gpg: &["GOODSIG"],
            ours: CheckStatus::Concern,
        },
        Case {
            name: "rsa 2048",
            keys: vec![rsa2k.clone()],
            sig: rsa2k.sign(DATA, t0() + DAY),
            gpg: &["GOODSIG"],
            ours: CheckStatus::Concern,
        },
        Case {
            name: "two signers, one unknown",
            keys: vec![good.clone()],
            sig: sign_many(&[&good, &stranger], DATA, t0() + DAY, HashAlgorithm::SHA512),
            gpg: &["GOODSIG", "ERRSIG", "NO_PUBKEY"],
            ours: CheckStatus::Blocker,
        },
        // Two armoured blocks one after the other (`cat a.asc b.asc`), as Subversion ships them.
        Case {
            name: "two blocks, both good",
            keys: vec![good.clone(), noasf.clone()],
            sig: [good.sign(DATA, t0() + DAY), noasf.sign(DATA, t0() + DAY)].concat(),
            gpg: &["GOODSIG", "GOODSIG"],
            ours: CheckStatus::Concern,
        },
        // A good block, then a block whose signature has one bit flipped: gpg exits 1 with BADSIG.
        Case {
            name: "good block then bit-flipped block",
            keys: vec![good.clone(), rsa2k.clone()],
            sig: [good.sign(DATA, t0() + DAY), flip_signature_bit(&rsa2k.sign(DATA, t0() + DAY))].concat(),
            gpg: &["GOODSIG", "BADSIG"],
            ours: CheckStatus::Blocker,
        },
    ]
}

fn worst(results: &[CheckResult]) -> CheckStatus {
    [
        CheckStatus::Blocker,
        CheckStatus::Exception,
        CheckStatus::Concern,
        CheckStatus::Suggestion,
        CheckStatus::Note,
    ]
    .into_iter()
    .find(|s| results.iter().any(|r| r.status == *s))
    .unwrap()
}

#[test]
fn verdicts_agree_with_gpg() {
    let at = now();
    let mut failures = Vec::new();
    for case in cases() {
        let r = Release::new();
        r.file("foo-1.0.tar.gz", DATA);
        let sig = r.file("foo-1.0.tar.gz.asc", &case.sig);
        let refs: Vec<&TestKey> = case.keys.iter().collect();
        let keys = keys_file(&refs);
        let g = gpg_verify(&keys, &sig, &r.path().join("foo-1.0.tar.gz"), at);
        let ring = Keyring::parse(keys.as_bytes());
        let ours = check_signature_file(r.path(), &rel("foo-1.0.tar.gz.asc"), &ring, &CheckContext::new(at));
        let good_for_gpg = g.tokens.iter().any(|t| t == "GOODSIG");
        let good_for_us =
            ours.iter().any(|r| r.status == CheckStatus::Note && r.message.contains("good signature"));
        let mut sorted_tokens = g.tokens.clone();
        sorted_tokens.sort();
        let mut expected: Vec<String> = case.gpg.iter().map(|s| s.to_string()).collect();
        expected.sort();
        if sorted_tokens != expected {
            failures.push(format!(
                "{}: gpg said {:?} (exit ok {}), expected {:?}",
                case.name, g.tokens, g.success, case.gpg
            ));
        }
        if worst(&ours) != case.ours {
            failures.push(format!(
                "{}: our worst status is {} not {}: {ours:#?}",
                case.name,
                worst(&ours),
                case.ours
            ));
        }
        // A GOODSIG from gpg is a good signature for us too; a signature we call good is
        // cryptographically good for gpg too (GOODSIG, or EXPKEYSIG / REVKEYSIG, its "good, but" forms).
        let crypto_good_for_gpg =
            g.tokens.iter().any(|t| ["GOODSIG", "EXPKEYSIG", "REVKEYSIG"].contains(&t.as_str()));
        if (good_for_gpg && !good_for_us) || (good_for_us && !crypto_good_for_gpg) {
            failures.push(format!("{}: gpg said {:?} but ours good={good_for_us}", case.name, g.tokens));
        }
        let gpg_warns = g.tokens.iter().any(|t| t == "EXPKEYSIG" || t == "REVKEYSIG");
        if gpg_warns && worst(&ours) == CheckStatus::Note {
            failures.push(format!("{}: gpg warned about the key but we passed silently", case.name));
        }
        if !g.success && !g.tokens.iter().any(|t| t == "GOODSIG") && worst(&ours) != CheckStatus::Blocker {
            failures.push(format!("{}: gpg failed but we did not block", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Cases where we are deliberately stricter than gpg 2.2: data signatures over SHA-1, and keys not
/// flagged for signing. gpg's verdict is recorded here so a change in gpg shows up.
#[test]
fn deliberately_stricter_than_gpg() {
    let at = now();
    let good = asf_key();
    let certify_only = TestKey::certify_only("Cert Only <co@apache.org>");
    for (name, key, sig) in [
        ("sha1 data signature", good.clone(), good.sign_with_hash(DATA, t0() + DAY, HashAlgorithm::SHA1)),
        ("certify-only key", certify_only.clone(), certify_only.sign(DATA, t0() + DAY)),
    ] {
        let r = Release::new();
        r.file("foo-1.0.tar.gz", DATA);
        let sig_path = r.file("foo-1.0.tar.gz.asc", &sig);
        let keys = keys_file(&[&key]);
        let g = gpg_verify(&keys, &sig_path, &r.path().join("foo-1.0.tar.gz"), at);
        let ring = Keyring::parse(keys.as_bytes());
        let ours = check_signature_file(r.path(), &rel("foo-1.0.tar.gz.asc"), &ring, &CheckContext::new(at));
        assert_eq!(worst(&ours), CheckStatus::Blocker, "{name}: {ours:#?}");
        eprintln!("{name}: gpg says {:?} (exit ok {}); we block", g.tokens, g.success);
        assert!(!g.tokens.is_empty(), "{name}: gpg gave no verdict");
    }
}

/// The fixture release's own key and signature verify with gpg and with us.
#[test]
fn fixture_release_agrees_with_gpg() {
    let fx = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2"));
    let keys = std::fs::read_to_string(fx.join("signer.asc")).unwrap();
    let at = UNIX_EPOCH + std::time::Duration::from_secs(1_779_100_505) + DAY;
    let g = gpg_verify(&keys, &fx.join("apache-test-0.2.tar.gz.asc"), &fx.join("apache-test-0.2.tar.gz"), at);
    assert_eq!(g.tokens, ["GOODSIG"]);
    assert!(g.success);
}
