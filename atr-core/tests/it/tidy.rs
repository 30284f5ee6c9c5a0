//! Tidy checks over the code base: atr-core stays pure, every file has a module doc, no test is skipped.

#![expect(
    clippy::disallowed_methods,
    reason = "the tidy test reads the source tree; atr-core's own code may not"
)]

use std::fs;
use std::path::{Path, PathBuf};

fn core_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_dir() -> PathBuf {
    core_dir().parent().expect("atr-core lives in the workspace").to_path_buf()
}

/// Every `.rs` file under `dir`, skipping build output, VCS data and hidden directories.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if name != "target" && !name.starts_with('.') && name != "corpus" && name != "artifacts" {
                    stack.push(path);
                }
            } else if ft.is_file() && name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn core_depends_only_on_the_allowlist() {
    const ALLOWED: [&str; 3] = ["thiserror", "serde", "serde_json"];
    let manifest = fs::read_to_string(core_dir().join("Cargo.toml")).unwrap();
    let deps = dependency_names(&manifest, "dependencies");
    assert!(deps.contains(&"thiserror".to_owned()), "the parser found the [dependencies] section: {deps:?}");
    let extra: Vec<_> = deps.iter().filter(|d| !ALLOWED.contains(&d.as_str())).collect();
    assert!(extra.is_empty(), "atr-core must stay pure; remove these dependencies: {extra:?}");
}

/// Names of the entries of `[section]` (also `[section.name]` tables) in a Cargo manifest.
fn dependency_names(manifest: &str, section: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            let header = header.trim_end_matches(']').trim();
            inside = header == section;
            if let Some(name) = header.strip_prefix(&format!("{section}.")) {
                names.push(name.to_owned());
            }
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            let key = line.split(['=', '.']).next().unwrap_or("").trim().trim_matches('"');
            names.push(key.to_owned());
        }
    }
    names
}

#[test]
fn dependency_parser_sees_every_form() {
    let m = "[package]\nname = \"x\"\n[dependencies]\n# c\nserde.workspace = true\nfoo = \"1\"\n\"bar\" = { path = \"b\" }\n\
             [dev-dependencies]\nproptest = \"1\"\n[dependencies.baz]\nversion = \"1\"\n";
    assert_eq!(dependency_names(m, "dependencies"), ["serde", "foo", "bar", "baz"]);
}

#[test]
fn core_sources_do_no_io_and_read_no_clock() {
    const BANNED: [&str; 10] = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::thread::sleep",
        "SystemTime::now",
        "Instant::now",
        "tokio",
        "rusqlite",
        "File::open",
    ];
    let files = rust_files(&core_dir().join("src"));
    assert!(files.len() >= 10, "found the sources: {files:?}");
    let mut hits = Vec::new();
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for (n, line) in text.lines().enumerate() {
            // `use std::{fs, …}` hides the path; catch the brace form too.
            let braced =
                line.contains("std::{") && ["fs", "net", "process", "env"].iter().any(|m| line.contains(m));
            for b in BANNED.iter().filter(|b| line.contains(**b)) {
                hits.push(format!("{}:{}: {b}", f.display(), n + 1));
            }
            if braced {
                hits.push(format!("{}:{}: std::{{…}} import of an I/O module", f.display(), n + 1));
            }
        }
    }
    assert!(hits.is_empty(), "atr-core must stay pure (pass time and data in instead):\n{}", hits.join("\n"));
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let files = rust_files(&workspace_dir());
    assert!(files.iter().any(|f| f.ends_with("atr-core/src/lib.rs")), "walked the workspace");
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !fs::read_to_string(f).unwrap_or_default().trim_start().starts_with("//!"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(missing.is_empty(), "add a `//!` line at the top of:\n{}", missing.join("\n"));
}

#[test]
fn no_test_is_skipped_or_expects_a_panic() {
    // Built from pieces so this file does not match itself.
    let banned = [concat!("#[", "ignore"), concat!("#[", "should_panic")];
    let mut hits = Vec::new();
    for f in rust_files(&workspace_dir()) {
        let text = fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if banned.iter().any(|b| line.contains(b)) {
                hits.push(format!("{}:{}", f.display(), n + 1));
            }
        }
    }
    assert!(hits.is_empty(), "tests must run and must not rely on panics; fix:\n{}", hits.join("\n"));
}

#[test]
fn only_the_surroundings_module_reads_the_shared_folder() {
    // The shared folder sits beside CI's checkout but not beside anybody else's clone: a test that reads
    // it must go through the one module that prints `SKIPPED: ...` and passes when it is absent.
    const GATE: &str = "atr-checks/src/testing/surroundings.rs";
    let names = [concat!("../", "shared"), concat!("\"", "shared", "\"")];
    let mut hits = Vec::new();
    for f in rust_files(&workspace_dir()) {
        if f.ends_with(GATE) || f.ends_with("atr-core/tests/it/tidy.rs") {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if names.iter().any(|b| line.contains(b)) {
                hits.push(format!("{}:{}", f.display(), n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "read the project's surroundings through atr_checks::testing::surroundings::beside, which skips \
         the test with a SKIPPED line when they are absent; fix:\n{}",
        hits.join("\n")
    );
    let gate = fs::read_to_string(workspace_dir().join(GATE)).unwrap();
    assert!(gate.contains(concat!("../", "shared")), "{GATE} names the surroundings");
    assert!(gate.contains("SKIPPED: {what} is not available ({how})"), "{GATE} keeps its skip line");
}
