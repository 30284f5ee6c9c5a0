//! Keys, SSH keys, tokens, ignores and admin pages through HTTP.

use salvo::http::StatusCode;

use super::{Browser, TestApp};
use crate::keyinfo::tests::FIXTURE_KEY;

/// A well-formed OpenSSH ed25519 public key line (the key bytes are arbitrary).
pub(super) fn ssh_line() -> String {
    use base64::Engine as _;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[7u8; 32]);
    format!("ssh-ed25519 {} bob@laptop", base64::engine::general_purpose::STANDARD.encode(blob))
}

/// `application/x-www-form-urlencoded` escaping of one value.
pub(super) fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn page(b: &mut Browser, app: &TestApp, path: &str) -> String {
    let (status, body) = b.get(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn openpgp_keys_are_added_exported_uploaded_and_deleted() {
    let app = TestApp::new();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let armored = std::fs::read_to_string(FIXTURE_KEY).unwrap();
    let (status, body) = alice
        .post(&app, "/keys/add", &format!("csrf_token={token}&committee=test&key={}", enc(&armored)))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let keys = app
        .storage
        .read(|tx| tx.signing_keys_of_committee(&atr_core::ids::CommitteeKey::new("test").unwrap()))
        .unwrap();
    assert_eq!(keys.len(), 1);
    let fp = keys[0].fingerprint.clone();
    let shown = page(&mut alice, &app, "/keys").await;
    assert!(shown.contains(&format!("Added key {}.", fp.to_uppercase())), "{shown}");

    let export = page(&mut alice, &app, "/keys/export/test").await;
    assert!(
        export.starts_with("# Apache Software Foundation (ASF)") && export.contains(&fp.to_uppercase()),
        "{export}"
    );
    let details = page(&mut alice, &app, &format!("/keys/details/{fp}")).await;
    assert!(details.contains("BEGIN PGP PUBLIC KEY BLOCK"), "{details}");
    let committee_page = page(&mut alice, &app, "/committees/test").await;
    assert!(committee_page.contains(&fp.to_uppercase()));

    // Exactly one key for the add form; nonsense is refused with the reason.
    let (status, body) = alice.post(&app, "/keys/add", &format!("csrf_token={token}&key=hello")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Expected exactly one OpenPGP public key block"), "{body}");
    // A committer of no committee cannot link keys to `test`.
    let (mut carol, carol_token) = app.browser(Some("carol")).await;
    let (status, _) = carol
        .post(&app, "/keys/add", &format!("csrf_token={carol_token}&committee=test&key={}", enc(&armored)))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Upload a KEYS file (the export itself) for the committee.
    let body = {
        let mut b = Vec::new();
        b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"committee\"\r\n\r\ntest\r\n");
        b.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"keys_file\"; filename=\"KEYS\"\r\n\r\n",
        );
        b.extend_from_slice(export.as_bytes());
        b.extend_from_slice(b"\r\n--XyZ--\r\n");
        b
    };
    let req = salvo::test::TestClient::post(format!("{}/keys/upload?csrf_token={token}", super::BASE))
        .body(body)
        .add_header("content-type", "multipart/form-data; boundary=XyZ", true);
    let (status, _, text) = alice.send(&app, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    assert!(page(&mut alice, &app, "/keys").await.contains("Processed 1 keys: 1 successful, 0 failed."));

    // The fixture key names no @apache.org address, so it is nobody's: only an admin may delete it.
    let (status, body) =
        alice.post(&app, "/keys/delete", &format!("csrf_token={token}&fingerprint={fp}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (mut admin, admin_token) = app.browser(Some("admin")).await;
    let (status, _) =
        admin.post(&app, "/keys/delete", &format!("csrf_token={admin_token}&fingerprint={fp}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.storage.read(|tx| tx.signing_key(&fp)).unwrap().is_none());
    let (status, _) = alice.get(&app, "/keys/export/test").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let audit = app.storage.read(|tx| tx.recent_audit_events(1)).unwrap();
    assert_eq!(audit[0].action, atr_core::model::AuditAction::KeyChange);
    assert!(audit[0].as_admin);
}

#[tokio::test]
async fn ssh_keys_and_tokens() {
    let app = TestApp::new();
    let (mut bob, token) = app.browser(Some("bob")).await;
    let line = ssh_line();
    let (status, body) =
        bob.post(&app, "/keys/ssh/add", &format!("csrf_token={token}&key={}", enc(&line))).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let fp = crate::ops::ssh_fingerprint(&line).unwrap();
    assert!(fp.starts_with("SHA256:") && page(&mut bob, &app, "/keys").await.contains(&fp));
    for bad in [
        "ssh-ed25519",
        "ssh-dss AAAA",
        "ssh-ed25519 !!!notbase64",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwc=",
    ] {
        let (status, body) =
            bob.post(&app, "/keys/ssh/add", &format!("csrf_token={token}&key={}", enc(bad))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, _) =
        bob.post(&app, "/keys/ssh/delete", &format!("csrf_token={token}&fingerprint={}", enc(&fp))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page(&mut bob, &app, "/keys").await.contains(&format!("Deleted SSH key {fp}.")));
    let bob_uid = atr_core::ids::Uid::new("bob").unwrap();
    assert!(app.storage.read(|tx| tx.ssh_keys_of(&bob_uid)).unwrap().is_empty());
    assert!(!page(&mut bob, &app, "/keys").await.contains(&fp), "gone from the list");

    let (status, body) = bob.post(&app, "/tokens", &format!("csrf_token={token}&label=laptop&days=30")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let start = body.find(r#"<code id="new-token">"#).unwrap() + r#"<code id="new-token">"#.len();
    let pat = &body[start..start + body[start..].find('<').unwrap()];
    assert_eq!(pat.len(), 43, "{pat}");
    let hash: String = {
        use sha3::Digest as _;
        sha3::Sha3_256::digest(pat.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let uid = atr_core::ids::Uid::new("bob").unwrap();
    let stored =
        app.storage.read(|tx| tx.token_by_hash(&uid, &hash)).unwrap().expect("only the SHA3-256 is stored");
    assert_eq!(stored.label, "laptop");
    let list = page(&mut bob, &app, "/tokens").await;
    assert!(list.contains("laptop") && !list.contains(pat), "the token is shown only once");
    let (status, _) = bob.post(&app, "/tokens", &format!("csrf_token={token}&label=x&days=999")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let id = stored.id.unwrap();
    let (mut alice, alice_token) = app.browser(Some("alice")).await;
    let (status, _) = alice.post(&app, "/tokens/delete", &format!("csrf_token={alice_token}&id={id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "one cannot delete someone else's token");
    let (status, _) = bob.post(&app, "/tokens/delete", &format!("csrf_token={token}&id={id}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.storage.read(|tx| tx.tokens_of(&uid)).unwrap().is_empty());
}

#[tokio::test]
async fn ignores_need_a_member_and_a_reason() {
    let app = TestApp::new();
    let (mut alice, token) = app.browser(Some("alice")).await;
    let rule = "checker_glob=atr.tasks.checks.license.*&primary_rel_path_glob=*.tar.gz&status=concern&expires=2099-01-01";
    let (status, body) =
        alice.post(&app, "/ignores/test-client/add", &format!("csrf_token={token}&{rule}&reason=")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Give a reason"), "{body}");
    let (status, body) = alice
        .post(&app, "/ignores/test-client/add", &format!("csrf_token={token}&status=blocker&reason=r"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("cannot be ignored"), "{body}");
    let (status, _) = alice
        .post(&app, "/ignores/test-client/add", &format!("csrf_token={token}&{rule}&reason=Vendored+code"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let p = atr_core::ids::ProjectKey::new("test-client").unwrap();
    let rules = app.storage.read(|tx| tx.ignores(&p)).unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].reason, "Vendored code");
    assert!(rules[0].expires.is_some());
    let id = rules[0].id.unwrap();
    let shown = page(&mut alice, &app, "/ignores/test-client").await;
    assert!(shown.contains("The ignore rule is added.") && shown.contains("Vendored code"), "{shown}");

    let (mut bob, bob_token) = app.browser(Some("bob")).await;
    let (status, _) =
        bob.post(&app, "/ignores/test-client/delete", &format!("csrf_token={bob_token}&id={id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "committers may not change ignores");
    let (status, _) = alice
        .post(
            &app,
            "/ignores/test-client/update",
            &format!("csrf_token={token}&id={id}&checker_glob=x*&reason=Changed"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let rules = app.storage.read(|tx| tx.ignores(&p)).unwrap();
    assert_eq!((rules.len(), rules[0].reason.as_str()), (1, "Changed"));
    let id = rules[0].id.unwrap();
    let (status, _) =
        alice.post(&app, "/ignores/test-client/delete", &format!("csrf_token={token}&id={id}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(app.storage.read(|tx| tx.ignores(&p)).unwrap().is_empty());
    let audit = app.storage.read(|tx| tx.recent_audit_events(1)).unwrap();
    assert_eq!(audit[0].action, atr_core::model::AuditAction::IgnoreChange);
}
