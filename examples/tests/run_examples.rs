//! Runs every example program, as `cargo test` builds them, and checks what it prints.

use std::path::PathBuf;
use std::process::Command;

/// The directory where cargo puts the example binaries of this package (`target/<profile>/examples`).
fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(|deps| deps.parent()).unwrap().join("examples")
}

fn run_example(name: &str, args: &[&str]) -> (bool, String) {
    let path = examples_dir().join(name);
    assert!(path.is_file(), "{} was not built; run `cargo test -p atr-examples`", path.display());
    let out = Command::new(&path).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn lifecycle_example_walks_a_release_to_announcement_and_shows_refusals() {
    let (ok, out) = run_example("lifecycle", &[]);
    assert!(ok, "{out}");
    assert!(out.contains("REFUSED"), "the example shows refusals\n{out}");
    assert!(out.contains("Final phase: Some(\"Released\")"), "{out}");
}

/// The project's fixture release, `tests/fixtures/apache-test-0.2`.
fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/apache-test-0.2")
}

#[test]
fn embed_checks_example_passes_the_signed_fixture_and_flags_a_key_inside_the_release() {
    let fixture = fixture_dir();
    let key = fixture.join("signer.asc");
    let release = tempfile::tempdir().unwrap();
    for name in ["apache-test-0.2.tar.gz", "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"] {
        std::fs::copy(fixture.join(name), release.path().join(name)).unwrap();
    }
    let dir = release.path().to_str().unwrap();

    let (ok, out) = run_example("embed_checks", &[dir, key.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("KEYS: 1 usable certificates"), "{out}");
    assert!(out.contains("summary: 0 blocker"), "{out}");

    std::fs::copy(&key, release.path().join("signer.asc")).unwrap();
    let (ok, out) = run_example("embed_checks", &[dir, key.to_str().unwrap()]);
    assert!(!ok, "a public key inside the release blocks a vote\n{out}");
    assert!(out.contains("add the key on the Keys page"), "{out}");
}
