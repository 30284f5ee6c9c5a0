//! `atr-web serve --plain-http` (behind a TLS-terminating proxy): plain HTTP, a loud warning,
//! session cookies still `Secure` unless `ATR_SECURE_COOKIES=0`; and request ids on responses and
//! in the log lines of their request.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the server with `args` and `env`; returns it and its base URL once it answers.
fn start(state: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .arg("serve")
        .args(args)
        .env("ATR_STATE_DIR", state)
        .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
        .env("ATR_WORKERS", "0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = Command::new("curl")
            .args(["-s", "--max-time", "2", "-o", "/dev/null", &format!("{base}/")])
            .status()
            .unwrap()
            .success();
        if ok {
            return (child, base);
        }
        let log = std::fs::read_to_string(log).unwrap_or_default();
        assert!(Instant::now() < deadline, "no plain HTTP answer within 30 s\n{log}");
        assert!(child.try_wait().unwrap().is_none(), "the server exited\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stop(mut child: Child) {
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert!(child.wait().unwrap().success());
}

/// The response headers (lower-cased names) of a GET with extra request `headers`.
fn headers(url: &str, extra: &[&str]) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "5", "-o", "/dev/null", "-D", "-"]);
    for h in extra {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
}

fn request_id(headers: &str) -> Option<String> {
    headers.lines().find_map(|l| l.strip_prefix("x-request-id: ")).map(|v| v.trim().to_owned())
}

#[test]
fn plain_http_behind_a_proxy_keeps_secure_cookies_and_ids_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log = dir.path().join("server.log");
    let (child, base) = start(&state, &log, &["--plain-http"], &[]);

    let h = headers(&format!("{base}/login"), &["X-Request-Id: proxy-id.42_a"]);
    assert!(h.starts_with("http/1.1 200"), "{h}");
    assert_eq!(request_id(&h).as_deref(), Some("proxy-id.42_a"), "a sane id is echoed\n{h}");
    let cookie = h.lines().find(|l| l.starts_with("set-cookie: atr_session=")).expect("a session cookie");
    assert!(cookie.contains("; secure") && cookie.contains("httponly"), "{cookie}");

    // An insane id is replaced by a fresh one; unmatched routes carry one too.
    let h = headers(&format!("{base}/no/such/page"), &["X-Request-Id: has space;and<more>"]);
    assert!(h.starts_with("http/1.1 404"), "{h}");
    let fresh = request_id(&h).expect("a 404 carries an id");
    assert!(fresh.len() == 16 && fresh.bytes().all(|b| b.is_ascii_hexdigit()), "{fresh}");

    stop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("PLAIN HTTP") && text.contains("reverse proxy"), "{text}");
    assert!(!text.contains("listening on https://"), "no TLS certificate in plain HTTP\n{text}");
    let line = text
        .lines()
        .find(|l| l.contains("proxy-id.42_a") && l.contains("response"))
        .unwrap_or_else(|| panic!("the request's log line names its id\n{text}"));
    assert!(line.contains("/login") && line.contains("status=200"), "{line}");
    assert!(text.lines().any(|l| l.contains(&fresh) && l.contains("status=404")), "{text}");
}

#[test]
fn plain_http_by_environment_and_cookies_without_secure_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let log = dir.path().join("server.log");
    let env = [("ATR_PLAIN_HTTP", "1"), ("ATR_SECURE_COOKIES", "0")];
    let (child, base) = start(&state, &log, &[], &env);
    let h = headers(&format!("{base}/login"), &[]);
    let cookie = h.lines().find(|l| l.starts_with("set-cookie: atr_session=")).expect("a session cookie");
    assert!(!cookie.contains("secure") && cookie.contains("httponly"), "{cookie}");
    stop(child);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("PLAIN HTTP"), "{text}");

    let bad = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .arg("serve")
        .env("ATR_STATE_DIR", &state)
        .env("ATR_PLAIN_HTTP", "maybe")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("ATR_PLAIN_HTTP=\"maybe\"") && err.contains("use 1 (on) or 0 (off)"), "{err}");
}
