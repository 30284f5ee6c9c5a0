//! Page benchmarks of the real server binary (`atr-web serve`, plain HTTP on a free loopback port,
//! no workers): compose and report page server time for a release of 1,000 files with 20,000
//! check results; `wrk` requests per second for the compose page against a static page of the same
//! server; the compose page of a draft holding httpd 2.4.68 (checked by the real worker) when
//! `target/bench-data` or `target/dev-corpus` has it; a 1 GiB upload streamed, with the server's
//! resident memory growth.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

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
use atr_storage::quarantine::Upload;
use atr_storage::{NewRevision, Storage};

const SERVER: &str = env!("CARGO_BIN_EXE_atr-web");
const PROJECT: &str = "test-client";

fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    Timestamp::from_unix(since.as_secs() as i64)
}

/// The server process.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: sending SIGTERM to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(state: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(state.with_extension("log")).unwrap();
        let child = Command::new(SERVER)
            .arg("serve")
            .env("ATR_STATE_DIR", state)
            .env("ATR_HTTPS_BIND", format!("127.0.0.1:{port}"))
            .env("ATR_WORKERS", "0")
            .env("ATR_PLAIN_HTTP", "1")
            .env("ATR_SECURE_COOKIES", "0")
            .env("ATR_SSH_BIND", "off")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the atr-web binary starts");
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// A minimal HTTP/1.1 keep-alive client (the server speaks plain HTTP here).
struct Conn {
    stream: BufReader<TcpStream>,
}

struct Reply {
    status: u16,
    cookies: Vec<String>,
    body: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Conn { stream: BufReader::new(s) })
    }

    fn get(&mut self, path: &str, cookie: Option<&str>) -> (u16, Vec<u8>) {
        let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}\r\n");
        self.stream.get_mut().write_all(req.as_bytes()).unwrap();
        let r = self.read_reply();
        (r.status, r.body)
    }

    fn read_reply(&mut self) -> Reply {
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

/// Milliseconds per request of `path` over one keep-alive connection: (p50, p95, mean).
fn server_time(port: u16, path: &str, runs: usize) -> (f64, f64, f64, usize) {
    let mut c = Conn::open(port).unwrap();
    let (status, body) = c.get(path, None);
    assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    for _ in 0..5 {
        c.get(path, None);
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let (status, _) = c.get(path, None);
            assert_eq!(status, 200);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    (times[runs / 2], times[runs * 95 / 100], mean, body.len())
}

/// `wrk -t2 -c4 -d10s --latency url`: (requests per second, p50 latency in ms).
fn wrk(url: &str) -> Option<(f64, f64)> {
    let out = Command::new("wrk").args(["-t2", "-c4", "-d10s", "--latency", url]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rps =
        text.lines().find_map(|l| l.strip_prefix("Requests/sec:")).and_then(|v| v.trim().parse().ok())?;
    let p50 = text.lines().find_map(|l| l.trim().strip_prefix("50%")).map(|v| ms(v.trim()))?;
    let non2xx = text.lines().find(|l| l.contains("Non-2xx"));
    if let Some(l) = non2xx {
        println!("  warning: wrk on {url}: {}", l.trim());
    }
    Some((rps, p50))
}

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

fn keys(version: &str) -> (ProjectKey, VersionKey) {
    (ProjectKey::new(PROJECT).unwrap(), VersionKey::new(version).unwrap())
}

fn start_release(s: &Storage, version: &str) {
    let (p, v) = keys(version);
    s.write(|tx| tx.insert_release(&Release::new_draft(p, v, now()))).unwrap();
}

/// A draft of 1,000 files (250 artifacts with .asc, .sha256, .sha512) and 20,000 results: 2,018
/// about the members of the first archive, 18 about every other file.
fn seed_large(s: &Storage, version: &str) -> String {
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
    let mut results = Vec::with_capacity(20_000);
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
    assert_eq!(results.len(), 20_000);
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

/// A draft holding the httpd 2.4.68 release, checked by the real worker in this process; its
/// result count. `None` when the release files are absent.
fn seed_httpd(s: &Storage, state: &Path, version: &str) -> Option<usize> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let dir = ["bench-data", "dev-corpus"]
        .iter()
        .map(|b| root.join(b).join("httpd-2.4.68/release"))
        .find(|d| d.join("httpd-2.4.68.tar.gz").is_file())?;
    start_release(s, version);
    let (p, v) = keys(version);
    let names = ["httpd-2.4.68.tar.gz", "httpd-2.4.68.tar.gz.asc", "httpd-2.4.68.tar.gz.sha512"];
    let mut files: Vec<_> = names.iter().map(|n| std::fs::File::open(dir.join(n)).unwrap()).collect();
    let uploads = names
        .iter()
        .zip(files.iter_mut())
        .map(|(n, f)| Upload { path: RelPath::new(*n).unwrap(), reader: f })
        .collect();
    let req = NewRevision::new(p.clone(), v.clone(), Uid::new("bench").unwrap(), now(), "httpd");
    s.upload(&req, uploads).unwrap();
    let mut config = atr_worker::runner::RunnerConfig::new(state);
    config.exit_when_idle = true;
    config.rlimits = atr_worker::rlimits::Rlimits::NONE;
    let stop = std::sync::atomic::AtomicBool::new(false);
    atr_worker::runner::run(&config, &atr_worker::registry::Registry::production(), &stop).unwrap();
    let n = s.read(|tx| tx.latest_revision(&p, &v)).unwrap()?;
    Some(s.read(|tx| tx.check_results(&p, &v, n)).unwrap().len())
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Logs in as a new committee member made with `atr-web user add`; returns the cookie header and
/// the session's CSRF token.
fn login(server: &Server, state: &Path) -> (String, String) {
    let out = Command::new(SERVER)
        .args(["user", "add", "benchuser", "--member", "test"])
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
    c.stream.get_mut().write_all(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let r = c.read_reply();
    let cookie = r.cookies.join("; ");
    let token = csrf(&r.body);
    let form = format!("csrf_token={token}&uid=benchuser&password={password}");
    let req = format!(
        "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    c.stream.get_mut().write_all(req.as_bytes()).unwrap();
    let r = c.read_reply();
    assert_eq!(r.status, 303, "login: {}", String::from_utf8_lossy(&r.body));
    let cookie = r.cookies.iter().find(|c| !c.ends_with('=')).cloned().unwrap_or(cookie);
    let (_, body) = c.get("/login", Some(&cookie));
    (cookie, csrf(&body))
}

fn csrf(html: &[u8]) -> String {
    let html = String::from_utf8_lossy(html);
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Streams a 1 GiB file as a multipart upload; returns (MB/s, growth of the server's peak
/// resident memory in MiB, status).
fn upload_1gib(server: &Server, state: &Path, version: &str) -> (f64, f64, u16) {
    let (cookie, token) = login(server, state);
    const SIZE: u64 = 1 << 30;
    let boundary = "BenchBoundary7";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() as u64 + SIZE + tail.len() as u64;
    let pid = server.pid();
    // Reset the peak (VmHWM) to the current resident size, so the peak after is the growth.
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let rss_before = status_kib(pid, "VmRSS:");
    let mut c = Conn::open(server.port).unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
    }
    let start = Instant::now();
    let req = format!(
        "POST /upload/{PROJECT}/{version}?csrf_token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    let w = c.stream.get_mut();
    w.write_all(req.as_bytes()).unwrap();
    for _ in 0..(SIZE >> 20) {
        w.write_all(&block).unwrap();
    }
    w.write_all(tail.as_bytes()).unwrap();
    let r = c.read_reply();
    let secs = start.elapsed().as_secs_f64();
    let hwm = status_kib(pid, "VmHWM:");
    let growth = hwm.saturating_sub(rss_before) as f64 / 1024.0;
    if r.status != 303 {
        println!("  upload answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
    }
    (SIZE as f64 / 1e6 / secs, growth, r.status)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn main() {
    println!("atr-web page benchmark (real server binary, plain HTTP on loopback, no workers)\n");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let server = Server::start(&state);
    let storage = Storage::open(&state).unwrap();
    let t = Instant::now();
    let archive = seed_large(&storage, "1.0.0");
    println!("seeded 1,000 files and 20,000 check results in {:.1} s", t.elapsed().as_secs_f64());

    let compose = "/compose/test-client/1.0.0".to_owned();
    let report = format!("/report/test-client/1.0.0/{archive}");
    println!(
        "\n{:<52} {:>8} {:>8} {:>8} {:>9} {:>14} {:>6}",
        "page (sequential, keep-alive)", "p50 ms", "p95 ms", "mean ms", "KiB", "target", ""
    );
    for (name, path) in [
        ("compose, 1,000 files / 20,000 results", &compose),
        ("report of the archive with 2,018 results", &report),
    ] {
        let (p50, p95, mean, bytes) = server_time(server.port, path, 100);
        println!(
            "{name:<52} {p50:>8.2} {p95:>8.2} {mean:>8.2} {:>9} {:>14} {:>6}",
            bytes / 1024,
            "< 20 ms",
            verdict(p50 < 20.0)
        );
    }

    println!(
        "\n{:<52} {:>10} {:>8} {:>14} {:>6}",
        "wrk -t2 -c4 -d10s --latency", "req/s", "p50 ms", "target", ""
    );
    match (wrk(&server.url("/login")), wrk(&server.url(&compose))) {
        (Some((static_rps, static_p50)), Some((rps, p50))) => {
            println!("{:<52} {static_rps:>10.0} {static_p50:>8.2} {:>14}", "static page (/login)", "");
            let share = rps / static_rps * 100.0;
            println!(
                "{:<52} {rps:>10.0} {p50:>8.2} {:>14} {:>6}",
                format!("compose, 1,000 files ({share:.0}% of static)"),
                ">= 40%",
                verdict(share >= 40.0)
            );
        }
        _ => println!("  wrk not measured: install Debian `wrk` (make deps)"),
    }

    let t = Instant::now();
    match seed_httpd(&storage, &state, "2.4.68") {
        Some(results) => {
            println!(
                "  (httpd 2.4.68 draft checked by the worker in {:.1} s: {results} results)",
                t.elapsed().as_secs_f64()
            );
            let path = "/compose/test-client/2.4.68";
            let (p50s, _, _, _) = server_time(server.port, path, 100);
            match wrk(&server.url(path)) {
                Some((rps, p50)) => println!(
                    "{:<52} {rps:>10.0} {p50:>8.2} {:>14} {:>6}   (sequential p50 {p50s:.2} ms; ATR: 25 req/s, p50 154 ms)",
                    "compose, httpd 2.4.68 draft",
                    "p50<=5, >=1000",
                    verdict(p50 <= 5.0 && rps >= 1000.0)
                ),
                None => println!("  httpd compose: sequential p50 {p50s:.2} ms (wrk missing)"),
            }
        }
        None => println!(
            "  httpd 2.4.68 not measured: put httpd-2.4.68.tar.gz{{,.asc,.sha512}} into target/bench-data/httpd-2.4.68/release/"
        ),
    }

    start_release(&storage, "9.9.9");
    let (mbps, growth, status) = upload_1gib(&server, &state, "9.9.9");
    println!(
        "\n{:<52} {:>10} {:>12} {:>22} {:>6}",
        "upload (multipart, streamed)", "MB/s", "RSS +MiB", "target", ""
    );
    println!(
        "{:<52} {mbps:>10.0} {growth:>12.1} {:>22} {:>6}",
        format!("1 GiB file (HTTP {status})"),
        ">= 200 MB/s, < 50 MiB",
        verdict(status == 303 && mbps >= 200.0 && growth < 50.0)
    );
}
