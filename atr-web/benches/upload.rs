//! Upload benchmark of the real server binary (`atr-web serve`, plain HTTP on a free loopback
//! port, no workers): a 1 GiB file streamed as one multipart form upload into a draft, with its
//! rate and the growth of the server's peak resident memory.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

#[expect(dead_code, reason = "this benchmark uses part of the shared support")]
mod support;

use std::path::Path;
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

fn main() {
    println!("atr-web upload benchmark (real server binary, plain HTTP on loopback, no workers)\n");
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
    println!("(load average {load} at start, {} at end)", load_average());
}
