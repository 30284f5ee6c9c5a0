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
