//! Signature and KEYS checks with real keys: every blocker and concern, each message checked.

use std::time::Duration;

use atr_checks::keys::Keyring;
use atr_checks::signature::{check_signature_bytes, check_signature_file};
use atr_checks::testing::{DAY, TestKey, flip_signature_bit, keys_file, sign_many, t0};
use atr_checks::{CheckResult, CheckStatus, CheckerId};
use sequoia_openpgp::types::{HashAlgorithm, ReasonForRevocation};

use crate::support::*;

const DATA: &[u8] = b"apache-foo-1.0 source archive bytes";

/// Verifies `sig` over DATA against a keyring of `keys`.
fn verify(sig: &[u8], keys: &[&TestKey]) -> Vec<CheckResult> {
    let ring = Keyring::parse(keys_file(keys).as_bytes());
    assert_eq!(ring.certs().len(), keys.len());
    check_signature_bytes(sig, DATA, &rel("foo-1.0.tar.gz.asc"), &rel("foo-1.0.tar.gz"), &ring, &ctx())
}

#[test]
fn good_signature_is_one_note_with_signer_details() {
    let key = asf_key();
    let r = verify(&key.sign(DATA, t0() + DAY), &[key]);
    assert_all_notes(&r);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].checker, CheckerId::SIGNATURE);
    assert!(
        r[0].message.contains("good signature") && r[0].message.contains(&key.fingerprint()),
        "{}",
        r[0].message
    );
    assert_eq!(r[0].data["certificate_fingerprint"], key.fingerprint());
    assert_eq!(r[0].data["asf_uid"], "rm");
    assert_eq!(r[0].data["signature_time"], "2025-01-02 00:00:00 UTC");
    assert_eq!(r[0].data["user_ids"][0], "Release Manager <rm@apache.org>");
}

#[test]
fn missing_key_is_a_blocker_naming_the_issuer() {
    let signer = TestKey::ed25519("Stranger <s@apache.org>");
    let r = verify(&signer.sign(DATA, t0() + DAY), &[asf_key()]);
    let signing_subkey = signer.cert.keys().subkeys().next().unwrap().key().fingerprint().to_hex();
    assert_one(&r, CheckStatus::Blocker, &["not in the committee's KEYS", &signing_subkey, "Keys page"]);
    assert!(r[0].data["issuers"].as_array().unwrap().iter().any(|i| i == &signing_subkey), "{:?}", r[0].data);
}

#[test]
fn tampered_data_is_a_bad_signature() {
    let key = asf_key();
    let sig = key.sign(b"other bytes", t0() + DAY);
    let r = verify(&sig, &[key]);
    assert_one(&r, CheckStatus::Blocker, &["does not match", "BAD", "re-sign"]);
}

#[test]
fn key_revoked_before_signing_is_a_blocker() {
    let key = TestKey::ed25519("Rev <rev@apache.org>");
    let revoked = key.revoked(ReasonForRevocation::KeyRetired, t0() + DAY);
    let sig = key.sign(DATA, t0() + 2 * DAY);
    let r = verify(&sig, &[&revoked]);
    assert_one(&r, CheckStatus::Blocker, &["revoked", "re-sign"]);
}

#[test]
fn compromised_key_is_a_blocker_even_for_older_signatures() {
    let key = TestKey::ed25519("Rev <rev@apache.org>");
    let sig = key.sign(DATA, t0() + DAY);
    let revoked = key.revoked(ReasonForRevocation::KeyCompromised, t0() + 3 * DAY);
    let r = verify(&sig, &[&revoked]);
    assert_one(&r, CheckStatus::Blocker, &["revoked"]);
}

#[test]
fn key_retired_after_signing_is_a_concern_never_a_silent_pass() {
    let key = TestKey::ed25519("Rev <rev@apache.org>");
    let sig = key.sign(DATA, t0() + DAY);
    let revoked = key.revoked(ReasonForRevocation::KeyRetired, t0() + 3 * DAY);
    let r = verify(&sig, &[&revoked]);
    assert_one(&r, CheckStatus::Note, &["good signature"]);
    assert_one(&r, CheckStatus::Concern, &["no longer valid", "revoked"]);
}

#[test]
fn key_expired_at_signing_time_is_a_blocker() {
    let key = TestKey::ed25519_with("Exp <exp@apache.org>", t0(), Some(2 * DAY));
    let sig = key.sign(DATA, t0() + 5 * DAY);
    let r = verify(&sig, &[&key]);
    assert_one(&r, CheckStatus::Blocker, &["had expired at that time", "quick-set-expire"]);
}

#[test]
fn key_expired_since_signing_is_a_concern() {
    let key = TestKey::ed25519_with("Exp <exp@apache.org>", t0(), Some(10 * DAY));
    let sig = key.sign(DATA, t0() + DAY);
    let r = verify(&sig, &[&key]);
    assert_one(&r, CheckStatus::Note, &["good signature"]);
    assert_one(&r, CheckStatus::Concern, &["no longer valid", "expired"]);
}

#[test]
fn key_not_allowed_to_sign_is_a_blocker() {
    let key = TestKey::certify_only("Cert Only <co@apache.org>");
    let r = verify(&key.sign(DATA, t0() + DAY), &[&key]);
    assert_one(&r, CheckStatus::Blocker, &["not marked for signing"]);
}

#[test]
fn sha1_data_signature_is_a_blocker() {
    let key = asf_key();
    let r = verify(&key.sign_with_hash(DATA, t0() + DAY, HashAlgorithm::SHA1), &[key]);
    assert_one(&r, CheckStatus::Blocker, &["broken hash SHA1", "--digest-algo SHA512"]);
}

#[test]
fn sha1_self_signed_binding_verifies_with_a_refresh_concern() {
    let key = TestKey::sha1_bound("Old Timer <old@apache.org>");
    let r = verify(&key.sign(DATA, t0() + DAY), &[&key]);
    assert_one(&r, CheckStatus::Note, &["good signature"]);
    assert_one(&r, CheckStatus::Concern, &["SHA-1", "refresh"]);
}

#[test]
fn signer_without_asf_uid_is_a_concern() {
    let key = TestKey::ed25519("Someone <someone@example.org>");
    let r = verify(&key.sign(DATA, t0() + DAY), &[&key]);
    assert_one(&r, CheckStatus::Concern, &["no `@apache.org` user ID", "quick-add-uid"]);
    assert_eq!(r[0].data["asf_uid"], serde_json::Value::Null);
}

#[test]
fn automated_signing_key_needs_no_personal_uid() {
    let key = TestKey::ed25519("Apache Foo Automated Release Signing <private@foo.apache.org>");
    let ring = Keyring::parse(keys_file(&[&key]).as_bytes());
    let c = ctx().with_committee("foo");
    let r = check_signature_bytes(
        &key.sign(DATA, t0() + DAY),
        DATA,
        &rel("a.tar.gz.asc"),
        &rel("a.tar.gz"),
        &ring,
        &c,
    );
    assert_all_notes(&r);
    assert_eq!(r[0].data["automated_signing_key"], true);
}

#[test]
fn rsa_key_sizes() {
    for (bits, status, part) in [
        (1024, CheckStatus::Blocker, "below the 2048 bits"),
        (2048, CheckStatus::Concern, "2048-bit RSA"),
        (3072, CheckStatus::Concern, "3072-bit RSA"),
    ] {
        let key = rsa_key(bits);
        let r = verify(&key.sign(DATA, t0() + DAY), &[&key]);
        assert_one(&r, CheckStatus::Note, &["good signature"]);
        assert_one(&r, status, &[part]);
        assert_eq!(r[0].data["key_bits"], bits);
    }
    let key = rsa_key(4096);
    let r = verify(&key.sign(DATA, t0() + DAY), &[&key]);
    assert_all_notes(&r);
}

#[test]
fn several_signatures_are_each_reported() {
    let known = asf_key();
    let unknown = TestKey::ed25519("Other <other@apache.org>");
    let sig = sign_many(&[known, &unknown], DATA, t0() + DAY, HashAlgorithm::SHA512);
    let r = verify(&sig, &[known]);
    assert_eq!(r.len(), 3, "{r:#?}");
    assert!(r[0].message.contains("1 of 2 are good"), "{}", r[0].message);
    assert_eq!(with_status(&r, CheckStatus::Note).len(), 2, "{r:#?}");
    assert!(
        r.iter().any(|n| n.message.contains("good signature") && n.message.contains(&known.fingerprint()))
    );
    assert_one(&r, CheckStatus::Blocker, &["not in the committee's KEYS"]);
}

/// Finding 1 of the trust-chain issue: a BAD signature in a second armoured block, after a good one,
/// used to go unseen (the armour reader stopped after the first block) and the file passed.
#[test]
fn bad_signature_after_a_good_one_is_a_blocker() {
    let first = asf_key();
    let second = TestKey::ed25519("Second Manager <second@apache.org>");
    let mut sig = first.sign(DATA, t0() + DAY);
    sig.extend_from_slice(&flip_signature_bit(&second.sign(DATA, t0() + DAY)));
    let r = verify(&sig, &[first, &second]);
    assert_one(&r, CheckStatus::Blocker, &["BAD", "Second Manager", &second.fingerprint()]);
    let good = with_status(&r, CheckStatus::Note);
    assert!(good.iter().any(|n| n.message.contains("1 of 2 are good")), "{r:#?}");
    assert!(
        good.iter().any(|n| n.message.contains("good signature") && n.message.contains(&first.fingerprint()))
    );
}

/// Several release managers each append their own armoured block (`cat a.asc b.asc c.asc`), as in
/// Subversion's releases: every block is verified and the summary names each good signer.
#[test]
fn signatures_in_consecutive_armoured_blocks_are_all_verified() {
    let keys = [
        asf_key().clone(),
        TestKey::ed25519("Two <two@apache.org>"),
        TestKey::ed25519("Three <three@apache.org>"),
    ];
    let mut sig = Vec::new();
    for k in &keys {
        sig.extend_from_slice(&k.sign(DATA, t0() + DAY));
        sig.extend_from_slice(b"\n");
    }
    let refs: Vec<&TestKey> = keys.iter().collect();
    let r = verify(&sig, &refs);
    assert_all_notes(&r);
    assert!(
        r[0].message.contains("holds 3 signatures") && r[0].message.contains("all 3 are good"),
        "{}",
        r[0].message
    );
    assert_eq!(r[0].data["good"], 3);
    for k in &keys {
        assert!(r[0].message.contains(&k.fingerprint()), "{}", r[0].message);
    }
    // Without the first signer's key, its signature blocks although the other two are good.
    let r = verify(&sig, &refs[1..]);
    assert_one(&r, CheckStatus::Blocker, &["not in the committee's KEYS"]);
    assert!(r[0].message.contains("2 of 3 are good"), "{}", r[0].message);
}

#[test]
fn signature_from_the_future_is_a_blocker() {
    let key = asf_key();
    let r = verify(&key.sign(DATA, now() + 10 * DAY), &[key]);
    assert_one(&r, CheckStatus::Blocker, &["does not match"]);
}

#[test]
fn unarmored_and_garbage_signatures_are_blockers() {
    let key = asf_key();
    let armored = key.sign(DATA, t0() + DAY);
    let mut reader = sequoia_openpgp::armor::Reader::from_bytes(&armored, None);
    let mut binary = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut binary).unwrap();
    let r = verify(&binary, &[key]);
    assert_one(&r, CheckStatus::Blocker, &["not an ASCII-armoured", "--armor --detach-sign foo-1.0.tar.gz"]);
    let r = verify(b"-----BEGIN PGP SIGNATURE-----\n\nnot base64 !!\n-----END PGP SIGNATURE-----\n", &[key]);
    assert_eq!(with_status(&r, CheckStatus::Blocker).len(), 1, "{r:#?}");
    assert!(r[0].message.contains("re-create it"), "{}", r[0].message);
}

#[test]
fn binary_sig_file_is_a_blocker() {
    let rel_ = Release::new();
    rel_.file("foo-1.0.tar.gz", DATA);
    rel_.file("foo-1.0.tar.gz.sig", b"\x88\x00");
    let r = check_signature_file(rel_.path(), &rel("foo-1.0.tar.gz.sig"), &Keyring::default(), &ctx());
    assert_one(&r, CheckStatus::Blocker, &["binary `.sig`", "foo-1.0.tar.gz.asc"]);
}

#[test]
fn signature_without_artifact_is_a_blocker_and_oversized_is_an_exception() {
    let rel_ = Release::new();
    rel_.file("foo-1.0.tar.gz.asc", asf_key().sign(DATA, t0() + DAY));
    let ring = Keyring::parse(keys_file(&[asf_key()]).as_bytes());
    let r = check_signature_file(rel_.path(), &rel("foo-1.0.tar.gz.asc"), &ring, &ctx());
    assert_one(&r, CheckStatus::Blocker, &["not in the release", "upload `foo-1.0.tar.gz`"]);
    rel_.file("foo-1.0.tar.gz", DATA);
    rel_.file("foo-1.0.tar.gz.asc", vec![b'a'; 2 << 20]);
    let r = check_signature_file(rel_.path(), &rel("foo-1.0.tar.gz.asc"), &ring, &ctx());
    assert_one(&r, CheckStatus::Exception, &["limit"]);
}

#[test]
fn keys_file_is_parsed_cert_by_cert_skipping_what_cannot_be_used() {
    let a = asf_key();
    let b = TestKey::ed25519("B <b@apache.org>");
    let mut text = keys_file(&[a]);
    text.push_str("pub 1024R/DEADBEEF old key\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQCNAzBrokenKeyData==\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n\n");
    text.push_str(&keys_file(&[&b]));
    let ring = Keyring::parse(text.as_bytes());
    assert_eq!(ring.certs().len(), 2);
    assert_eq!(ring.blocks(), 3);
    assert_eq!(ring.skipped().len(), 1);
    assert_eq!(ring.skipped()[0].block, 2);
    let notes = ring.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].status, CheckStatus::Note);
    assert!(
        notes[0].message.contains("KEYS block 2") && notes[0].message.contains("skipped"),
        "{}",
        notes[0].message
    );
    // The key after the broken block still verifies.
    let r = check_signature_bytes(
        &b.sign(DATA, t0() + DAY),
        DATA,
        &rel("x.tar.gz.asc"),
        &rel("x.tar.gz"),
        &ring,
        &ctx(),
    );
    assert_all_notes(&r);
}

#[test]
fn private_key_block_in_keys_is_refused_loudly() {
    let k = TestKey::ed25519("P <p@apache.org>");
    let ring = Keyring::parse(k.secret_armored().as_bytes());
    assert!(ring.certs().is_empty());
    assert!(ring.skipped()[0].reason.contains("PRIVATE"), "{:?}", ring.skipped());
}

#[test]
fn reference_time_decides_expiry_not_the_clock() {
    let key = TestKey::ed25519_with("Exp <exp@apache.org>", t0(), Some(10 * DAY));
    let sig = key.sign(DATA, t0() + DAY);
    let ring = Keyring::parse(keys_file(&[&key]).as_bytes());
    let early = atr_checks::CheckContext::new(t0() + 2 * DAY);
    let r = check_signature_bytes(&sig, DATA, &rel("a.asc"), &rel("a"), &ring, &early);
    assert_all_notes(&r);
    let late = atr_checks::CheckContext::new(t0() + 20 * DAY + Duration::from_secs(1));
    let r = check_signature_bytes(&sig, DATA, &rel("a.asc"), &rel("a"), &ring, &late);
    assert_eq!(with_status(&r, CheckStatus::Concern).len(), 1, "{r:#?}");
}

#[test]
fn public_key_named_asc_is_a_blocker_pointing_to_the_keys_page() {
    let r = Release::new();
    r.file("KEY_public.asc", asf_key().public_armored());
    let res = check_signature_file(r.path(), &rel("KEY_public.asc"), &Keyring::default(), &ctx());
    assert_one(&res, CheckStatus::Blocker, &["public key, not a signature", "Keys page"]);
}

#[test]
fn atr_generated_keys_with_comment_headers_parse() {
    // ATR inserts `Comment:` armor headers (fingerprint, e-mail) after each BEGIN line.
    let k = asf_key();
    let armored = k.public_armored().replacen(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
        &format!(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: {}\nComment: rm@apache.org (rm)\n",
            k.fingerprint()
        ),
        1,
    );
    let text =
        format!("# Apache Software Foundation (ASF)\n# Signing keys for the foo committee\n\n{armored}\n\n");
    let ring = Keyring::parse(text.replace('\n', "\r\n").as_bytes());
    assert_eq!(ring.certs().len(), 1, "{:?}", ring.skipped());
    let r = check_signature_bytes(&k.sign(DATA, t0() + DAY), DATA, &rel("a.asc"), &rel("a"), &ring, &ctx());
    assert_all_notes(&r);
}
