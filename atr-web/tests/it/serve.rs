//! `atr-web serve` starts, creates and migrates the state directory, serves HTTPS, and stops cleanly.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn fetch(url: &str) -> Option<String> {
    let out = Command::new("curl").args(["-sk", "--max-time", "2", url]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn serve_creates_state_serves_https_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/");
    let mut child = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .arg("serve")
        .env("ATR_STATE_DIR", &state)
        .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        if let Some(body) = fetch(&url) {
            break body;
        }
        assert!(Instant::now() < deadline, "the server did not answer on {url} within 30 s");
        assert!(child.try_wait().unwrap().is_none(), "the server exited early");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.contains("Trusted Releases"), "{body}");
    assert!(state.join("atr.db").is_file());
    for sub in ["unfinished", "finished", "downloads", "tmp"] {
        assert!(state.join(sub).is_dir(), "state/{sub} missing");
    }
    assert!(state.join("tls/cert.pem").is_file() && state.join("tls/key.pem").is_file());

    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit status {:?}\n{log}", output.status);
    assert!(log.contains("fingerprint="), "the certificate fingerprint is printed at start\n{log}");
    assert!(log.contains("check workers started") && log.contains("workers stopped"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn a_bad_bind_address_is_refused_with_the_fix() {
    let out = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .arg("serve")
        .env("ATR_HTTPS_BIND", "not-an-address")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ATR_HTTPS_BIND") && err.contains("127.0.0.1:8080"), "{err}");
}
