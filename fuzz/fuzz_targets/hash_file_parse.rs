//! Fuzz target: checksum-file parsing never panics, and every checksum it returns has the right length.
#![no_main]

use atr_checks::hashes::{HashAlgorithm, parse_hash_file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for algo in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
        if let Ok(entries) = parse_hash_file(text, algo) {
            assert!(!entries.is_empty());
            for e in entries {
                assert_eq!(e.hex.len(), algo.hex_len());
                assert!(e.hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            }
        }
    }
});
