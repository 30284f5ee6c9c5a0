//! `atr-web import committees FILE…` as a real process.

use std::process::Command;

#[test]
fn import_committees_then_projects_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let committees = dir.path().join("committee-info.json");
    let projects = dir.path().join("projects.json");
    std::fs::write(
        &committees,
        r#"{"committees": {"tooling": {"display_name": "Tooling", "roster": {"wave": {"name": "W"}}, "pmc": true}}}"#,
    )
    .unwrap();
    std::fs::write(
        &projects,
        r#"{"tooling-trusted-releases": {"name": "Apache Trusted Releases", "pmc": "tooling"}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .args(["import", "committees"])
        .arg(&committees)
        .arg(&projects)
        .env("ATR_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("committees: 1 added, 0 updated"), "{log}");
    assert!(log.contains("projects: 1 added, 0 updated"), "{log}");

    let missing = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .args(["import", "committees", "/nonexistent/committee-info.json"])
        .env("ATR_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("cannot read /nonexistent/committee-info.json")
    );
}
