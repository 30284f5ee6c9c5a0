//! End to end with real worker processes: `atr-web serve` with `ATR_WORKERS=2`, driven over HTTPS
//! by `curl` with a cookie jar, as the committee member `alice`: add the fixture's key to the
//! committee, start `test-client` 0.1, upload the three files of the project's fixture release (tests/fixtures), wait
//! until the checks are done, and read real results on the report and compose pages.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");
const TARBALL: &str = "apache-test-0.2.tar.gz";

/// The server process, stopped with SIGINT (then killed) when dropped.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl` with a cookie jar against one server.
struct Curl {
    base: String,
    jar: PathBuf,
}

impl Curl {
    /// Runs curl with `args` on `path`; returns the HTTP status and the body.
    fn run(&self, path: &str, args: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-sk", "--max-time", "30", "-b"])
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar)
            .args(["-w", "\n%{http_code}"])
            .args(args)
            .arg(format!("{}{path}", self.base))
            .output()
            .expect("curl runs (installed by make deps)");
        assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.parse().unwrap(), body.to_owned())
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.run(path, &["-L"])
    }

    /// The CSRF token of the session, read from a page's forms.
    fn csrf(&self) -> String {
        let (_, page) = self.get("/login");
        let marker = "name=\"csrf_token\" value=\"";
        let start = page.find(marker).expect("a CSRF field") + marker.len();
        page[start..].split('"').next().unwrap().to_owned()
    }

    /// Posts a urlencoded form (with the session's CSRF token) and follows the redirect.
    fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let token = self.csrf();
        let mut args = vec!["-L".to_owned(), "--data-urlencode".to_owned(), format!("csrf_token={token}")];
        for (k, v) in fields {
            args.push("--data-urlencode".to_owned());
            args.push(format!("{k}={v}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run(path, &args)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn add_user(state: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .args(["user", "add", "alice", "--member", "test"])
        .env("ATR_STATE_DIR", state)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.trim().strip_prefix("user alice password: ").expect("the password is printed").to_owned()
}

fn start(state: &Path, log: PathBuf) -> (Server, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_atr-web"))
        .arg("serve")
        .env("ATR_STATE_DIR", state)
        .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
        .env("ATR_WORKERS", "2")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (Server { child, log }, format!("https://127.0.0.1:{port}"))
}

/// The number of per-file blocker cells that are not zero on a compose page, plus the blockers
/// about the whole revision.
fn blockers(compose: &str) -> usize {
    let whole = compose
        .split_once("Results about the whole revision: ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .map_or(0, |n| n.parse::<usize>().unwrap());
    compose.matches("<td class=\"blocker\">").count() + whole
}

#[test]
fn workers_check_an_uploaded_release_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let password = add_user(&state);
    let (mut server, base) = start(&state, dir.path().join("server.log"));
    let curl = Curl { base, jar: dir.path().join("cookies.txt") };

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("curl")
            .args(["-sk", "--max-time", "2", "-o", "/dev/null", &format!("{}/", curl.base)])
            .status()
            .unwrap();
        if out.success() {
            break;
        }
        assert!(Instant::now() < deadline, "no answer within 60 s\n{}", server.log());
        assert!(server.child.try_wait().unwrap().is_none(), "the server exited\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    let (status, home) = curl.post("/login", &[("uid", "alice"), ("password", &password)]);
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Signed in as <strong>alice</strong>"), "{home}");

    let key = std::fs::read_to_string(format!("{FIXTURE}/signer.asc")).unwrap();
    let (status, page) = curl.post("/keys/add", &[("key", &key), ("committee", "test")]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Added key ") && page.contains("0F15DA58C059358F"), "{page}");

    let (status, page) = curl.post("/start/test-client", &[("version", "0.1")]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Started test-client-0.1"), "{page}");

    let token = curl.csrf();
    let mut args = vec!["-L".to_owned()];
    for f in [TARBALL, "apache-test-0.2.tar.gz.asc", "apache-test-0.2.tar.gz.sha512"] {
        args.push("-F".to_owned());
        args.push(format!("files=@{FIXTURE}/{f}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (status, page) = curl.run(&format!("/upload/test-client/0.1?csrf_token={token}"), &args);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("the archives are validated now"), "the tarball waits in quarantine\n{page}");

    let deadline = Instant::now() + Duration::from_secs(60);
    let compose = loop {
        let (status, page) = curl.get("/compose/test-client/0.1");
        assert_eq!(status, 200, "{page}");
        // A worker validates the quarantined tarball; revision 00002 then appears, the workers
        // check it and the page refreshes until done.
        if page.contains("Latest revision <strong>00002</strong>")
            && page.contains("All checks of this revision are done.")
        {
            break page;
        }
        assert!(!page.contains("Refused uploads"), "the fixture passes validation\n{page}");
        assert!(
            Instant::now() < deadline,
            "checks still running after 60 s\n{page}\n--- server log ---\n{}",
            server.log()
        );
        assert!(server.child.try_wait().unwrap().is_none(), "the server exited\n{}", server.log());
        std::thread::sleep(Duration::from_millis(250));
    };

    let (status, report) = curl.get(&format!("/report/test-client/0.1/{TARBALL}"));
    assert_eq!(status, 200, "{report}");
    assert!(!report.contains("still running"), "{report}");
    let (_, asc) = curl.get(&format!("/report/test-client/0.1/{TARBALL}.asc"));
    let (_, sha) = curl.get(&format!("/report/test-client/0.1/{TARBALL}.sha512"));
    let all = format!("{report}{asc}{sha}");
    assert!(all.contains("is a good signature of"), "signature verified with the committee's key\n{all}");
    assert!(all.contains("checksum of") && all.contains("matches"), "hash ok\n{all}");
    assert!(report.contains("atr.tasks.checks.targz.integrity"), "{report}");
    assert!(compose.contains(&format!("<code>{TARBALL}</code>")), "{compose}");
    assert_eq!(blockers(&compose), 0, "no blocker in the release\n{compose}");

    let log = server.log();
    assert!(log.contains("check workers started"), "{log}");
    drop(server);
}
