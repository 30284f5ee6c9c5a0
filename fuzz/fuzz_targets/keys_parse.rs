//! Fuzz target: KEYS parsing (free text with armored certificates) never panics, and what it keeps is usable.
#![no_main]

use atr_checks::keys::Keyring;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ring = Keyring::parse(data);
    // Every skipped entry is reported; every kept certificate has a fingerprint.
    assert_eq!(ring.notes().len(), ring.skipped().len());
    for cert in ring.certs() {
        let _ = cert.fingerprint().to_hex();
    }
});
