//! API benchmark of the real server binary (`atr-web serve`, plain HTTP on a free loopback port, no
//! workers): `GET /api/checks/list/<project>/<version>` for a release with 20,000 check results,
//! timed over one keep-alive connection with a minimal HTTP/1.1 client (median and p95).

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
use atr_storage::{NewRevision, Storage};

const SERVER: &str = env!("CARGO_BIN_EXE_atr-web");
const PROJECT: &str = "test-client";
const VERSION: &str = "1.0.0";
const RESULTS: usize = 20_000;
const TARGET_MS: f64 = 30.0;

fn now() -> Timestamp {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    Timestamp::from_unix(since.as_secs() as i64)
}

/// The server process, stopped with SIGTERM when dropped.
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
                && c.get("/api/openapi.json").0 == 200
            {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

/// A minimal HTTP/1.1 keep-alive client.
struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        Ok(Conn { stream: BufReader::new(s) })
    }

    /// Status and body of `GET path`.
    fn get(&mut self, path: &str) -> (u16, Vec<u8>) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
        self.stream.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
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
        (status, body)
    }
}

/// A draft of 1,000 files (250 artifacts with .asc, .sha256, .sha512) and 20,000 check results:
/// 2,018 about members of the first archive, 18 about every other file.
fn seed(s: &Storage) {
    let (p, v) = (ProjectKey::new(PROJECT).unwrap(), VersionKey::new(VERSION).unwrap());
    s.write(|tx| tx.insert_release(&Release::new_draft(p.clone(), v.clone(), now()))).unwrap();
    let mut paths = Vec::new();
    for i in 0..250 {
        let dir = if i % 2 == 0 { String::new() } else { format!("dir{}/", i % 10) };
        let art = format!("{dir}apache-bench-{VERSION}-part{i:03}-src.tar.gz");
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
    let mut results = Vec::with_capacity(RESULTS);
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
    assert_eq!(results.len(), RESULTS);
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
}

/// CPU seconds (user + system) the process `pid` has used so far, from /proc (clock ticks of
/// 10 ms): unlike wall time, not inflated when other work shares the machine's cores.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|x| x.parse().ok()).collect();
    f.iter().sum::<f64>() / 100.0
}

/// Milliseconds per request of `path` over one keep-alive connection: (p50, p95, mean, body bytes).
fn time(port: u16, path: &str, runs: usize) -> (f64, f64, f64, usize) {
    let mut c = Conn::open(port).unwrap();
    let (status, body) = c.get(path);
    assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    for _ in 0..5 {
        c.get(path);
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let (status, _) = c.get(path);
            assert_eq!(status, 200);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    (times[runs / 2], times[runs * 95 / 100], mean, body.len())
}

fn main() {
    println!("atr-web API benchmark (real server binary, plain HTTP on loopback, no workers)\n");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let server = Server::start(&state);
    let storage = Storage::open(&state).unwrap();
    let t = Instant::now();
    seed(&storage);
    println!("seeded 1,000 files and {RESULTS} check results in {:.1} s", t.elapsed().as_secs_f64());

    let path = format!("/api/checks/list/{PROJECT}/{VERSION}");
    let mut c = Conn::open(server.port).unwrap();
    let (status, body) = c.get(&path);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).expect("the reply is JSON");
    let count = json["checks"].as_array().map_or(0, Vec::len);
    assert_eq!(count, RESULTS, "every stored result is listed");

    println!(
        "\n{:<46} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6}",
        "request (sequential, keep-alive)", "p50 ms", "p95 ms", "mean ms", "KiB", "target", ""
    );
    let cpu_before = cpu_seconds(server.child.id());
    let (p50, p95, mean, bytes) = time(server.port, &path, 100);
    // 106 requests: the first, 5 warm-up runs and 100 timed runs.
    let cpu_ms = (cpu_seconds(server.child.id()) - cpu_before) * 1000.0 / 106.0;
    println!(
        "{:<46} {p50:>8.2} {p95:>8.2} {mean:>8.2} {:>9} {:>9} {:>6}",
        "checks/list, 20,000 results (100 runs)",
        bytes / 1024,
        format!("< {TARGET_MS} ms"),
        if p50 < TARGET_MS { "ok" } else { "MISSED" }
    );
    println!(
        "{:<46} {cpu_ms:>8.2}   (server CPU per request; load average now {})",
        "checks/list, server CPU ms per request",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().next().unwrap_or("?")
    );
    let (p50, p95, mean, bytes) = time(server.port, &format!("/api/checks/ongoing/{PROJECT}/{VERSION}"), 100);
    println!(
        "{:<46} {p50:>8.2} {p95:>8.2} {mean:>8.2} {:>9} {:>9} {:>6}",
        "checks/ongoing (baseline, 100 runs)",
        bytes / 1024,
        "",
        ""
    );
}
