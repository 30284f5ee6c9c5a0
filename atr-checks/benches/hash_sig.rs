//! Benchmark: SHA-512 and signature verification over a 100 MiB file, against `sha512sum` and `gpg --verify`.
//!
//! Prints a table with the best of three runs of each and the ratios. Targets: SHA-512 within 10% of
//! `sha512sum`; signature verification faster than gpg. The KEYS file is parsed once and reused.

use std::process::Command;
use std::time::{Duration, Instant};

use atr_checks::hashes::{HashAlgorithm, hash_file};
use atr_checks::keys::Keyring;
use atr_checks::signature::check_signature_file;
use atr_checks::testing::{DAY, TestKey, keys_file, t0};
use atr_checks::{CheckContext, CheckStatus};
use atr_core::path::RelPath;

const SIZE: usize = 100 << 20;
const RUNS: usize = 3;

fn best<F: FnMut()>(mut f: F) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn run(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn mibs(d: Duration) -> f64 {
    (SIZE as f64 / (1 << 20) as f64) / d.as_secs_f64()
}

fn row(name: &str, ours: Duration, theirs: Option<Duration>, tool: &str) {
    let mut e = std::io::stderr();
    use std::io::Write;
    match theirs {
        Some(t) => {
            let _ = writeln!(
                e,
                "{name:<28} ours {:>8.1} ms ({:>7.1} MiB/s)   {tool:<14} {:>8.1} ms   ratio ours/theirs {:.2}",
                ours.as_secs_f64() * 1e3,
                mibs(ours),
                t.as_secs_f64() * 1e3,
                ours.as_secs_f64() / t.as_secs_f64()
            );
        }
        None => {
            let _ = writeln!(
                e,
                "{name:<28} ours {:>8.1} ms ({:>7.1} MiB/s)   {tool} not available",
                ours.as_secs_f64() * 1e3,
                mibs(ours)
            );
        }
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_path = dir.path().join("bench-1.0.tar.gz");
    let mut data = vec![0u8; SIZE];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    std::fs::write(&data_path, &data).expect("write data");
    let key = TestKey::ed25519("Bench Signer <bench@apache.org>");
    let sig = key.sign(&data, t0() + DAY);
    drop(data);
    std::fs::write(dir.path().join("bench-1.0.tar.gz.asc"), &sig).expect("write sig");
    let keys = keys_file(&[&key]);
    std::fs::write(dir.path().join("KEYS"), &keys).expect("write KEYS");

    // SHA-512.
    let ours = best(|| {
        hash_file(&data_path, HashAlgorithm::Sha512).expect("hash");
    });
    let theirs = run(Command::new("sha512sum").arg("--version"))
        .then(|| best(|| assert!(run(Command::new("sha512sum").arg(&data_path)))));
    row("SHA-512, 100 MiB", ours, theirs, "sha512sum");

    // Signature verification (KEYS parsed once, outside the timing, as the server does per committee).
    let parse_start = Instant::now();
    let ring = Keyring::parse(keys.as_bytes());
    let parse = parse_start.elapsed();
    let ctx = CheckContext::new(t0() + 30 * DAY);
    let rel = RelPath::new("bench-1.0.tar.gz.asc").expect("rel");
    let ours = best(|| {
        let r = check_signature_file(dir.path(), &rel, &ring, &ctx);
        assert!(r.iter().all(|r| r.status == CheckStatus::Note), "{r:?}");
    });
    let gnupghome = dir.path().join("gnupg");
    std::fs::create_dir(&gnupghome).expect("gnupg home");
    let gpg = |args: &[&str]| {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(&gnupghome).args(["--batch", "--quiet", "--no-auto-check-trustdb"]).args(args);
        c
    };
    let theirs = run(&mut gpg(&["--import", &dir.path().join("KEYS").to_string_lossy()])).then(|| {
        best(|| {
            let asc = dir.path().join("bench-1.0.tar.gz.asc");
            assert!(run(&mut gpg(&["--verify", &asc.to_string_lossy(), &data_path.to_string_lossy()])));
        })
    });
    row("verify .asc, 100 MiB", ours, theirs, "gpg --verify");
    // The usual ASF key: RSA-4096 (cached in tests/data, generation takes seconds).
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Ok(text) = std::fs::read_to_string(manifest.join("tests/data/rsa-4096.key.asc")) {
        let rsa = TestKey::from_armored(&text);
        let data = std::fs::read(&data_path).expect("read data");
        let sig = rsa.sign(&data, t0() + DAY);
        drop(data);
        std::fs::write(dir.path().join("bench-1.0.tar.gz.asc"), &sig).expect("write sig");
        let rsa_keys = keys_file(&[&rsa]);
        let rsa_ring = Keyring::parse(rsa_keys.as_bytes());
        let ours = best(|| {
            let r = check_signature_file(dir.path(), &rel, &rsa_ring, &ctx);
            assert!(r.iter().all(|r| r.status == CheckStatus::Note), "{r:?}");
        });
        std::fs::write(dir.path().join("KEYS-rsa"), &rsa_keys).expect("write KEYS");
        let theirs =
            run(&mut gpg(&["--import", &dir.path().join("KEYS-rsa").to_string_lossy()])).then(|| {
                best(|| {
                    let asc = dir.path().join("bench-1.0.tar.gz.asc");
                    assert!(run(&mut gpg(&[
                        "--verify",
                        &asc.to_string_lossy(),
                        &data_path.to_string_lossy()
                    ])));
                })
            });
        row("verify .asc (RSA-4096)", ours, theirs, "gpg --verify");
    }
    let mut e = std::io::stderr();
    use std::io::Write;
    let _ =
        writeln!(e, "KEYS parse, 1 Ed25519 key (once per committee): {:.2} ms", parse.as_secs_f64() * 1e3);
    // A real, messy KEYS file (62 blocks, 27 PGP-2 keys) from the dev corpus, when it has been fetched.
    let real = manifest.join("../target/dev-corpus/apr-util-1.6.3/KEYS");
    if let Ok(bytes) = std::fs::read(&real) {
        let mut ring = Keyring::default();
        let t = best(|| ring = Keyring::parse(&bytes));
        let _ = writeln!(
            e,
            "KEYS parse, apr-util ({} KiB, {} usable, {} skipped): {:.1} ms",
            bytes.len() / 1024,
            ring.certs().len(),
            ring.skipped().len(),
            t.as_secs_f64() * 1e3
        );
    }
}
