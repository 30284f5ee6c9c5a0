//! The real `atr` command-line client against `atr-web serve` of this build: all six of the
//! client's own transcript tests (`tests/*.t`, run by its own pytest harness), twice in a row on
//! the same server, as a user re-running them would.
//!
//! The client, its harness and the scripts that install and run them are in the project's
//! surroundings (`client` in the shared folder); without them this test prints one `SKIPPED:`
//! line and passes. With them, a failure names the transcript and its first mismatch.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atr_checks::testing::surroundings::{SHARED, beside};

const WHAT: &str = "the real atr client";

fn how() -> String {
    format!(
        "put the project's shared folder at {SHARED} beside the checkout, with its `client` folder, as CI does; \
         the test installs the client from PyPI with its setup.sh"
    )
}

/// `atr-web serve` in test mode with registry lookups off, stopped when dropped.
struct Server {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_atr-web"))
            .arg("serve")
            .env("ATR_STATE_DIR", dir.path().join("state"))
            .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
            .env("ATR_SSH_BIND", format!("127.0.0.1:{}", free_port()))
            .env("ATR_TEST_MODE", "1")
            .env("ATR_REGISTRY_FETCH", "false")
            .env("ATR_WORKERS", "2")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut server = Server { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.log().contains("listening on https") {
            assert!(Instant::now() < deadline, "the server did not start within 60 s:\n{}", server.log());
            assert!(server.child.try_wait().unwrap().is_none(), "the server exited:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Runs `atr-web ARGS` on this server's state directory; its standard output.
    fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_atr-web"))
            .args(args)
            .env("ATR_STATE_DIR", self.dir.path().join("state"))
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "atr-web {args:?}: {text}");
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs every transcript once; the runner's output (one line per transcript, then the count).
fn run_transcripts(runner: &Path, port: u16, pat: &str) -> (bool, String) {
    let out = Command::new("bash")
        .arg(runner)
        .arg(format!("127.0.0.1:{port}"))
        .arg("-")
        .env("ATR_TEST_USER", "alice")
        .env("ATR_TEST_PAT", pat)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_real_atr_clients_six_transcripts_pass_twice_on_one_server() {
    let Some(setup) = beside("client/setup.sh", WHAT, &how()) else { return };
    let Some(runner) = beside("client/run-transcripts.sh", WHAT, &how()) else { return };
    // Installs the client and its harness with their locked versions (idempotent; ~40 s once).
    let out = Command::new("bash").arg(&setup).output().unwrap();
    assert!(
        out.status.success(),
        "{} failed; the client could not be installed:\n{}",
        setup.display(),
        String::from_utf8_lossy(&out.stderr)
    );

    let server = Server::start();
    // What the transcripts need (as ATR's own test set-up): alice, an administrator and a member
    // of `test` (the demo data has committee `test` with project `test-client`), with a PAT.
    server.admin(&["user", "add", "alice", "--admin", "--member", "test"]);
    let created = server.admin(&["token", "create", "--uid", "alice", "--label", "transcripts"]);
    let pat = created
        .lines()
        .find(|l| l.starts_with("token for alice"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_default()
        .to_owned();
    assert!(pat.len() >= 32, "a PAT was printed: {created}");

    for round in ["first", "second"] {
        let (ok, text) = run_transcripts(&runner, server.port, &pat);
        assert!(
            ok && text.contains("6 passed, 0 failed"),
            "{round} run of the client's transcripts:\n{text}\n--- server log (last lines) ---\n{}",
            server
                .log()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
