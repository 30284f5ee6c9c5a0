//! API benchmark of the real server binary (`atr-web serve`, plain HTTP on a free loopback port, no
//! workers): `GET /api/checks/list/<project>/<version>` for a release with 20,000 check results,
//! timed over one keep-alive connection with a minimal HTTP/1.1 client (median and p95), with the
//! server's CPU time per request.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

#[expect(dead_code, reason = "this benchmark uses part of the shared support")]
mod support;

use std::time::Instant;

use atr_storage::Storage;
use support::{Conn, LARGE_RESULTS, PROJECT, Server, load_average, seed_large, time_requests, verdict};

const VERSION: &str = "1.0.0";
const TARGET_MS: f64 = 30.0;

fn main() {
    println!("atr-web API benchmark (real server binary, plain HTTP on loopback, no workers)\n");
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let server = Server::start(&state);
    let storage = Storage::open(&state).unwrap();
    let t = Instant::now();
    seed_large(&storage, VERSION);
    println!("seeded 1,000 files and {LARGE_RESULTS} check results in {:.1} s", t.elapsed().as_secs_f64());

    let path = format!("/api/checks/list/{PROJECT}/{VERSION}");
    let mut c = Conn::open(server.port).unwrap();
    let (status, body) = c.get_json(&path);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).expect("the reply is JSON");
    let count = json["checks"].as_array().map_or(0, Vec::len);
    assert_eq!(count, LARGE_RESULTS, "every stored result is listed");

    println!(
        "\n{:<46} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6}",
        "request (sequential, keep-alive)", "p50 ms", "p95 ms", "mean ms", "CPU ms", "KiB", "target", ""
    );
    let list = time_requests(&server, 100, |c: &mut Conn| c.get_json(&path));
    println!(
        "{:<46} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9} {:>9} {:>6}",
        "checks/list, 20,000 results (100 runs)",
        list.p50,
        list.p95,
        list.mean,
        list.cpu_ms,
        list.bytes / 1024,
        format!("< {TARGET_MS} ms"),
        verdict(list.p50 < TARGET_MS)
    );
    let ongoing = format!("/api/checks/ongoing/{PROJECT}/{VERSION}");
    let base = time_requests(&server, 100, |c: &mut Conn| c.get_json(&ongoing));
    println!(
        "{:<46} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9}",
        "checks/ongoing (baseline, 100 runs)",
        base.p50,
        base.p95,
        base.mean,
        base.cpu_ms,
        base.bytes / 1024
    );
    println!(
        "(CPU: the server's user + system time per request, from /proc; load average {})",
        load_average()
    );
}
