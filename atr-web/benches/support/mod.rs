//! What the atr-web benchmarks share: the real server binary on a free loopback port, a minimal
//! HTTP/1.1 keep-alive client, the server's CPU time and memory from /proc, `wrk`, a login, and
//! the seeded draft of 1,000 files with 20,000 check results.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::ids::{ProjectKey, Uid, VersionKey};
use atr_core::model::Release;
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use atr_storage::db::checks::ResultContext;
use atr_storage::{NewRevision, Storage};

/// The server binary cargo built for this benchmark.
pub(crate) const SERVER: &str = env!("CARGO_BIN_EXE_atr-web");
/// The demo project every benchmark release belongs to.
pub(crate) const PROJECT: &str = "test-client";

/// The current time.
pub(crate) fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    Timestamp::from_unix(since.as_secs() as i64)
}

/// A free TCP port on loopback.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The 1-minute load average, as /proc/loadavg says it.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

/// The server process (`atr-web serve`, plain HTTP on a free loopback port, no workers), stopped
/// with SIGTERM when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    /// The HTTP port.
    pub(crate) port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sending SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server on `state` without the SSH service and waits until it answers.
    pub(crate) fn start(state: &Path) -> Server {
        Server::start_with(state, &[("ATR_SSH_BIND", "off".to_owned())])
    }

    /// Starts the server on `state` with extra environment variables (its log goes to
    /// `<state>.log`) and waits until it answers `GET /login`.
    pub(crate) fn start_with(state: &Path, env: &[(&str, String)]) -> Server {
        let port = free_port();
        let log = std::fs::File::create(Server::log_path(state)).unwrap();
        let mut cmd = Command::new(SERVER);
        cmd.arg("serve")
            .env("ATR_STATE_DIR", state)
            .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
            .env("ATR_WORKERS", "0")
            .env("ATR_PLAIN_HTTP", "1")
            .env("ATR_SECURE_COOKIES", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.stdout(Stdio::null()).stderr(log).spawn().expect("the atr-web binary starts");
        let server = Server { child, port };
        let started = Instant::now();
        loop {
            if let Ok(mut c) = Conn::open(port)
                && c.get("/login", None).0 == 200
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Starts the server on `state` as it runs by default, HTTPS with its self-signed certificate
    /// (no SSH service; its log goes to `<state>.https.log`), and waits until `curl` gets
    /// `/login` from it. Another server may run on the same state directory: a session made
    /// there is valid here.
    pub(crate) fn start_https(state: &Path) -> Server {
        let port = free_port();
        let log = std::fs::File::create(state.with_extension("https.log")).unwrap();
        let child = Command::new(SERVER)
            .arg("serve")
            .env("ATR_STATE_DIR", state)
            .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
            .env("ATR_WORKERS", "0")
            .env("ATR_SSH_BIND", "off")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the atr-web binary starts");
        let server = Server { child, port };
        let url = format!("https://127.0.0.1:{port}/login");
        let started = Instant::now();
        while Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", &url])
            .output()
            .map_or(true, |o| o.stdout != b"200")
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the HTTPS server did not start (is curl installed?)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Where the server started on `state` writes its log.
    pub(crate) fn log_path(state: &Path) -> std::path::PathBuf {
        state.with_extension("log")
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The full URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// CPU seconds (user + system) the server has used so far, from /proc (clock ticks of 10 ms):
    /// unlike wall time, not inflated when other work shares the machine's cores.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|x| x.parse().ok()).collect();
        f.iter().sum::<f64>() / 100.0
    }

    /// A field of /proc/<pid>/status in KiB (`VmRSS:`, `VmHWM:`), 0 when unreadable.
    pub(crate) fn status_kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }
}

/// A minimal HTTP/1.1 keep-alive client (the server speaks plain HTTP here).
#[derive(Debug)]
pub(crate) struct Conn {
    stream: BufReader<TcpStream>,
}

/// One HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The status code.
    pub(crate) status: u16,
    /// `name=value` of each Set-Cookie header.
    pub(crate) cookies: Vec<String>,
    /// The body (chunked transfer decoded).
    pub(crate) body: Vec<u8>,
}

impl Conn {
    /// Connects to the server's port.
    pub(crate) fn open(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Conn { stream: BufReader::new(s) })
    }

    /// Status and body of `GET path`, with a Cookie header when given.
    pub(crate) fn get(&mut self, path: &str, cookie: Option<&str>) -> (u16, Vec<u8>) {
        let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
        self.write(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}\r\n").as_bytes());
        let r = self.read_reply();
        (r.status, r.body)
    }

    /// Status and body of `GET path` asking for JSON.
    pub(crate) fn get_json(&mut self, path: &str) -> (u16, Vec<u8>) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
        self.write(req.as_bytes());
        let r = self.read_reply();
        (r.status, r.body)
    }

    /// Writes raw request bytes.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.stream.get_mut().write_all(bytes).unwrap();
    }

    /// Reads one response.
    pub(crate) fn read_reply(&mut self) -> Reply {
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (mut length, mut chunked, mut cookies) = (None, false, Vec::new());
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "set-cookie" => cookies.push(value.split(';').next().unwrap_or("").to_owned()),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                self.stream.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).unwrap();
        }
        Reply { status, cookies, body }
    }
}

/// Sequential timings of one request over one keep-alive connection.
#[derive(Debug)]
pub(crate) struct Timing {
    /// Median wall milliseconds.
    pub(crate) p50: f64,
    /// 95th percentile wall milliseconds.
    pub(crate) p95: f64,
    /// Mean wall milliseconds.
    pub(crate) mean: f64,
    /// Server CPU milliseconds per request (user + system, /proc; 10 ms ticks averaged).
    pub(crate) cpu_ms: f64,
    /// Body size of the first reply.
    pub(crate) bytes: usize,
}

/// Times `runs` sequential requests made by `request` (which returns the status) after one
/// checked first request and five warm-up runs; CPU covers all of them.
pub(crate) fn time_requests(
    server: &Server,
    runs: usize,
    request: impl FnMut(&mut Conn) -> (u16, Vec<u8>),
) -> Timing {
    time_requests_after(server, runs, || {}, request)
}

/// As [`time_requests`], with `before` run (untimed, in this process) before each request: a
/// write that changes what the page shows measures the page built afresh instead of cached.
pub(crate) fn time_requests_after(
    server: &Server,
    runs: usize,
    mut before: impl FnMut(),
    mut request: impl FnMut(&mut Conn) -> (u16, Vec<u8>),
) -> Timing {
    let mut c = Conn::open(server.port).unwrap();
    let cpu_before = server.cpu_seconds();
    let (status, body) = request(&mut c);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    for _ in 0..5 {
        before();
        request(&mut c);
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            before();
            let t = Instant::now();
            let (status, _) = request(&mut c);
            assert_eq!(status, 200);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let cpu_ms = (server.cpu_seconds() - cpu_before) * 1000.0 / (runs + 6) as f64;
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    Timing { p50: times[runs / 2], p95: times[runs * 95 / 100], mean, cpu_ms, bytes: body.len() }
}

/// `wrk -t2 -c4 -d10s --latency url` (with a Cookie header when given): (requests per second,
/// p50 latency in ms); `None` without `wrk`.
pub(crate) fn wrk(url: &str, cookie: Option<&str>) -> Option<(f64, f64)> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c4", "-d10s", "--latency"]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {c}")]);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps =
        text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok())?;
    let p50 = text.lines().find_map(|l| l.trim().strip_prefix("50%")).map(|v| ms(v.trim()))?;
    if let Some(l) = text.lines().find(|l| l.contains("Non-2xx")) {
        println!("  warning: wrk on {url}: {}", l.trim());
    }
    Some((rps, p50))
}

/// Milliseconds of a wrk duration such as `812.00us` or `1.20ms`.
fn ms(v: &str) -> f64 {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// The project and version keys of `version` of the benchmark project.
pub(crate) fn keys(version: &str) -> (ProjectKey, VersionKey) {
    (ProjectKey::new(PROJECT).unwrap(), VersionKey::new(version).unwrap())
}

/// Records a new draft `version` of the benchmark project.
pub(crate) fn start_release(s: &Storage, version: &str) {
    let (p, v) = keys(version);
    s.write(|tx| tx.insert_release(&Release::new_draft(p, v, now()))).unwrap();
}

/// Results in the seeded large draft.
pub(crate) const LARGE_RESULTS: usize = 20_000;

/// A draft of 1,000 files (250 artifacts with .asc, .sha256, .sha512) and 20,000 results: 2,018
/// about the members of the first archive, 18 about every other file. Returns the first archive.
pub(crate) fn seed_large(s: &Storage, version: &str) -> String {
    start_release(s, version);
    let (p, v) = keys(version);
    let mut paths = Vec::new();
    for i in 0..250 {
        let dir = if i % 2 == 0 { String::new() } else { format!("dir{}/", i % 10) };
        let art = format!("{dir}apache-bench-{version}-part{i:03}-src.tar.gz");
        for suffix in ["", ".asc", ".sha256", ".sha512"] {
            paths.push(RelPath::new(format!("{art}{suffix}")).unwrap());
        }
    }
    let req = NewRevision::new(p.clone(), v.clone(), Uid::new("bench").unwrap(), now(), "seed");
    let (rev, ()) = s
        .create_revision(&req, |dir| {
            for path in &paths {
                dir.write(path, path.as_str().as_bytes())?;
            }
            Ok::<_, atr_storage::StorageError>(())
        })
        .unwrap();
    let checkers =
        [CheckerId::TARGZ_INTEGRITY, CheckerId::LICENSE_HEADERS, CheckerId::RAT, CheckerId::TARGZ_STRUCTURE];
    let statuses = [
        CheckStatus::Note,
        CheckStatus::Note,
        CheckStatus::Suggestion,
        CheckStatus::Concern,
        CheckStatus::Note,
    ];
    let mut results = Vec::with_capacity(LARGE_RESULTS);
    for (n, path) in paths.iter().enumerate() {
        let per_file = if n == 0 { 2018 } else { 18 };
        for k in 0..per_file {
            let checker = if path.as_str().ends_with(".asc") {
                CheckerId::SIGNATURE
            } else if path.as_str().contains(".sha") {
                CheckerId::HASHING
            } else {
                checkers[k % checkers.len()]
            };
            let status = statuses[(n + k) % statuses.len()];
            let r = CheckResult::new(checker, status, Some(path.clone()), format!("result {k} about {path}"));
            results.push(if path.as_str().ends_with(".tar.gz") {
                r.with_member(format!("src/main/File{k}.java"))
            } else {
                r
            });
        }
    }
    assert_eq!(results.len(), LARGE_RESULTS);
    s.write(|tx| {
        let ctx = ResultContext {
            project_key: &p,
            version_key: &v,
            revision_number: rev.number,
            created: now(),
            inputs_hash: None,
            cached: false,
        };
        tx.insert_check_results(&ctx, &results)
    })
    .unwrap();
    paths[0].to_string()
}

/// Logs in as `uid`, a new committee member of `test` made with `atr-web user add`; returns the
/// cookie header and the session's CSRF token.
pub(crate) fn login(server: &Server, state: &Path, uid: &str) -> (String, String) {
    let out = Command::new(SERVER)
        .args(["user", "add", uid, "--member", "test"])
        .env("ATR_STATE_DIR", state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let password = text
        .lines()
        .find_map(|l| l.split("password: ").nth(1))
        .expect("user add prints the password")
        .trim()
        .to_owned();
    let mut c = Conn::open(server.port).unwrap();
    c.write(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let r = c.read_reply();
    let cookie = r.cookies.join("; ");
    let token = csrf(&r.body);
    let form = format!("csrf_token={token}&uid={uid}&password={password}");
    let req = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    c.write(req.as_bytes());
    let r = c.read_reply();
    assert_eq!(r.status, 303, "login: {}", String::from_utf8_lossy(&r.body));
    let cookie = r.cookies.iter().find(|c| !c.ends_with('=')).cloned().unwrap_or(cookie);
    let (_, body) = c.get("/login", Some(&cookie));
    (cookie, csrf(&body))
}

/// The first CSRF token of a page.
pub(crate) fn csrf(html: &[u8]) -> String {
    let html = String::from_utf8_lossy(html);
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// "ok" or "MISSED".
pub(crate) fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}
