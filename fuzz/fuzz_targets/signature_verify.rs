//! Fuzz target: parsing and verifying an arbitrary detached signature over arbitrary data never panics.
//!
//! The first two bytes give the length of the signature part; the rest is the signed data. The keyring
//! holds one real Ed25519 key, so issuer lookups, policy checks and verification paths are all reached.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use atr_checks::CheckContext;
use atr_checks::keys::Keyring;
use atr_checks::signature::{check_signature_bytes, verify_detached};
use atr_checks::testing::{TestKey, keys_file, t0};
use atr_core::path::RelPath;
use libfuzzer_sys::fuzz_target;

fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let key = TestKey::ed25519("Fuzz <fuzz@apache.org>");
        Keyring::parse(keys_file(&[&key]).as_bytes())
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let rest = &data[2..];
    let (sig, signed) = rest.split_at(n.min(rest.len()));
    let ctx = CheckContext::new(t0() + Duration::from_secs(86_400 * 30));
    let _ = verify_detached(sig, signed, keyring(), &ctx);
    let sig_rel = RelPath::new("a.tar.gz.asc").expect("valid");
    let art_rel = RelPath::new("a.tar.gz").expect("valid");
    let results = check_signature_bytes(sig, signed, &sig_rel, &art_rel, keyring(), &ctx);
    assert!(!results.is_empty());
});
