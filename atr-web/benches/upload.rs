//! Upload benchmark of the real server binary (`atr-web serve` on a free loopback port, no
//! workers): a 1 GiB file streamed as one multipart form upload into a draft, over plain HTTP and
//! then over HTTPS as a browser sends it (HTTP/2), with its rate, the server's CPU time and the
//! growth of its peak resident memory.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

#[expect(dead_code, reason = "this benchmark uses part of the shared support")]
mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use atr_storage::Storage;
use support::{Conn, PROJECT, Server, load_average, login, start_release, verdict};

/// Streams a 1 GiB file as a multipart upload; returns (MB/s, growth of the server's peak
/// resident memory in MiB, status, server CPU seconds).
fn upload_1gib(server: &Server, state: &Path, version: &str) -> (f64, f64, u16, f64) {
    let (cookie, token) = login(server, state, "benchuser");
    const SIZE: u64 = 1 << 30;
    let boundary = "BenchBoundary7";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let length = head.len() as u64 + SIZE + tail.len() as u64;
    // Reset the peak (VmHWM) to the current resident size, so the peak after is the growth.
    let _ = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5");
    let rss_before = server.status_kib("VmRSS:");
    let mut c = Conn::open(server.port).unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for b in block.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
    }
    let cpu = server.cpu_seconds();
    let start = Instant::now();
    let req = format!(
        "POST /upload/{PROJECT}/{version}?csrf_token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n{head}"
    );
    c.write(req.as_bytes());
    for _ in 0..(SIZE >> 20) {
        c.write(&block);
    }
    c.write(tail.as_bytes());
    let r = c.read_reply();
    let secs = start.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu;
    let hwm = server.status_kib("VmHWM:");
    let growth = hwm.saturating_sub(rss_before) as f64 / 1024.0;
    if r.status != 303 {
        println!("  upload answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
    }
    (SIZE as f64 / 1e6 / secs, growth, r.status, cpu)
}

/// The same upload as a browser sends it over HTTPS (HTTP/2, which browsers negotiate), by
/// `curl --http2` from a 1 GiB file, to a second server on the same state directory running
/// as `make serve` does (TLS). Returns (MB/s, RSS growth MiB, HTTP status, server CPU s, protocol).
fn upload_1gib_https(state: &Path, dir: &Path, version: &str) -> Option<(f64, f64, u16, f64, String)> {
    const SIZE: usize = 1 << 30;
    let plain = Server::start(state);
    let (cookie, token) = login(&plain, state, "benchuser2");
    drop(plain);
    let file = dir.join("big.bin");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut block = vec![0u8; 1 << 20];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..SIZE >> 20 {
            for b in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
            }
            out.write_all(&block).unwrap();
        }
        out.into_inner().unwrap().sync_all().unwrap();
    }
    let server = Server::start_https(state);
    let _ = std::fs::write(format!("/proc/{}/clear_refs", server.pid()), "5");
    let rss_before = server.status_kib("VmRSS:");
    let cpu = server.cpu_seconds();
    let start = Instant::now();
    let out = Command::new("curl")
        .args(["-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}", "-H"])
        .arg(format!("Cookie: {cookie}"))
        .arg("-F")
        .arg(format!("files=@{}", file.display()))
        .arg(format!("https://127.0.0.1:{}/upload/{PROJECT}/{version}?csrf_token={token}", server.port))
        .output()
        .ok()?;
    let secs = start.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu;
    let growth = server.status_kib("VmHWM:").saturating_sub(rss_before) as f64 / 1024.0;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, protocol) = text.split_once(' ')?;
    Some((SIZE as f64 / 1e6 / secs, growth, status.parse().ok()?, cpu, protocol.to_owned()))
}

fn main() {
    println!(
        "atr-web upload benchmark (real server binary on loopback, plain HTTP, then HTTPS; no workers)\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let server = Server::start(&state);
    let storage = Storage::open(&state).unwrap();
    start_release(&storage, "9.9.9");
    let load = load_average();
    let (mbps, growth, status, cpu) = upload_1gib(&server, &state, "9.9.9");
    println!(
        "{:<40} {:>10} {:>12} {:>10} {:>22} {:>6}",
        "upload (multipart, streamed)", "MB/s", "RSS +MiB", "CPU s", "target", ""
    );
    println!(
        "{:<40} {mbps:>10.0} {growth:>12.1} {cpu:>10.2} {:>22} {:>6}",
        format!("1 GiB file (HTTP {status})"),
        ">= 200 MB/s, < 50 MiB",
        verdict(status == 303 && mbps >= 200.0 && growth < 50.0)
    );
    drop(server);
    start_release(&storage, "9.9.10");
    match upload_1gib_https(&state, dir.path(), "9.9.10") {
        Some((mbps, growth, status, cpu, protocol)) => println!(
            "{:<40} {mbps:>10.0} {growth:>12.1} {cpu:>10.2} {:>22} {:>6}",
            format!("same over HTTPS, HTTP/{protocol} ({status})"),
            ">= 200 MB/s, < 50 MiB",
            verdict(status == 303 && mbps >= 200.0 && growth < 50.0)
        ),
        None => println!("  HTTPS upload not measured: install Debian `curl` (make deps)"),
    }
    println!("(load average {load} at start, {} at end)", load_average());
}
