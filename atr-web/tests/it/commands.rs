//! Operator commands (`atr-web import committees FILE…`, `atr-web token create`) as real processes.

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

#[test]
fn token_create_prints_a_token_once_and_refuses_bad_days() {
    let dir = tempfile::tempdir().unwrap();
    let run = |days: &str| {
        Command::new(env!("CARGO_BIN_EXE_atr-web"))
            .args(["token", "create", "--uid", "bob", "--label", "ci", "--days", days])
            .env("ATR_STATE_DIR", dir.path().join("state"))
            .output()
            .unwrap()
    };
    let ok = run("7");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let out = String::from_utf8_lossy(&ok.stdout);
    let token = out.trim().rsplit(' ').next().unwrap();
    assert!(out.starts_with("token for bob (valid 7 days): ") && token.len() == 43, "{out}");
    let bad = run("1000");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("A token lives 1 to 180 days"));
}
