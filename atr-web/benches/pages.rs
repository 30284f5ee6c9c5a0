//! Page benchmarks of the real server binary (`atr-web serve`, plain HTTP on a free loopback port,
//! no workers): compose and report page server time for a release of 1,000 files with 20,000
//! check results (wall time and the server's CPU time per request), for an anonymous visitor and
//! for a logged-in committee member; `wrk` requests per second for the compose page against a
//! static page of the same server in the same run; the compose page of a draft holding httpd
//! 2.4.68 (checked by the real worker) when `target/bench-data` or `target/dev-corpus` has it.
//! The 1 GiB upload is `benches/upload.rs`.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

#[expect(dead_code, reason = "this benchmark uses part of the shared support")]
mod support;

use std::path::Path;
use std::time::Instant;

use atr_core::path::RelPath;
use atr_storage::quarantine::Upload;
use atr_storage::{NewRevision, Storage};
use support::{
    Conn, Server, Timing, keys, load_average, login, seed_large, start_release, time_requests,
    time_requests_after, verdict, wrk,
};

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
    let req = NewRevision::new(
        p.clone(),
        v.clone(),
        atr_core::ids::Uid::new("bench").unwrap(),
        support::now(),
        "httpd",
    );
    s.upload(&req, uploads).unwrap();
    let mut config = atr_worker::runner::RunnerConfig::new(state);
    config.exit_when_idle = true;
    config.rlimits = atr_worker::rlimits::Rlimits::NONE;
    let stop = std::sync::atomic::AtomicBool::new(false);
    atr_worker::runner::run(&config, &atr_worker::registry::Registry::production(), &stop).unwrap();
    let n = s.read(|tx| tx.latest_revision(&p, &v)).unwrap()?;
    Some(s.read(|tx| tx.check_results(&p, &v, n)).unwrap().len())
}

fn row(name: &str, t: &Timing, target: &str, ok: Option<bool>) {
    println!(
        "{name:<52} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7} {target:>10} {:>6}",
        t.p50,
        t.p95,
        t.mean,
        t.cpu_ms,
        t.bytes / 1024,
        ok.map_or("", verdict)
    );
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
    let (cookie, _) = login(&server, &state, "benchuser");

    let compose = "/compose/test-client/1.0.0".to_owned();
    let report = format!("/report/test-client/1.0.0/{archive}");
    println!("load average at start: {}", load_average());
    println!(
        "\n{:<52} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>6}",
        "page (100 sequential, keep-alive)", "p50 ms", "p95 ms", "mean ms", "CPU ms", "KiB", "target", ""
    );
    for (name, path) in [
        ("compose, 1,000 files / 20,000 results", &compose),
        ("report of the archive with 2,018 results", &report),
    ] {
        let anon = time_requests(&server, 100, |c: &mut Conn| c.get(path, None));
        row(&format!("{name}, anonymous"), &anon, "< 20 ms", Some(anon.p50 < 20.0));
        let member = time_requests(&server, 100, |c: &mut Conn| c.get(path, Some(&cookie)));
        row(&format!("{name}, member"), &member, "< 20 ms", Some(member.p50 < 20.0));
    }
    // The same pages built afresh: before each request the project's release policy is saved
    // again (unchanged), which moves the project's change stamp, so no cached page may be used.
    let project = keys("1.0.0").0;
    let touch = || {
        storage
            .write(|tx| {
                let p = tx.project(&project)?.expect("the seeded project");
                tx.set_release_policy(&project, &p.policy)
            })
            .unwrap();
    };
    for (name, path) in [("compose", &compose), ("report", &report)] {
        let fresh = time_requests_after(&server, 50, touch, |c: &mut Conn| c.get(path, Some(&cookie)));
        row(&format!("{name}, member, rebuilt after each change"), &fresh, "< 20 ms", Some(fresh.p50 < 20.0));
    }
    let static_page = time_requests(&server, 100, |c: &mut Conn| c.get("/login", None));
    row("static page (/login)", &static_page, "", None);

    println!(
        "\n{:<52} {:>10} {:>8} {:>14} {:>6}   (load average {})",
        "wrk -t2 -c4 -d10s --latency",
        "req/s",
        "p50 ms",
        "target",
        "",
        load_average()
    );
    let cpu = server.cpu_seconds();
    let runs = [
        ("static page (/login)", wrk(&server.url("/login"), None)),
        ("compose, 1,000 files, anonymous", wrk(&server.url(&compose), None)),
        ("compose, 1,000 files, member", wrk(&server.url(&compose), Some(&cookie))),
    ];
    let cpu = server.cpu_seconds() - cpu;
    match runs {
        [(_, Some((static_rps, static_p50))), (_, Some(anon)), (_, Some(member))] => {
            println!("{:<52} {static_rps:>10.0} {static_p50:>8.2}", runs[0].0);
            for (name, (rps, p50)) in [(runs[1].0, anon), (runs[2].0, member)] {
                let share = rps / static_rps * 100.0;
                println!(
                    "{:<52} {rps:>10.0} {p50:>8.2} {:>14} {:>6}",
                    format!("{name} ({share:.0}% of static)"),
                    ">= 40%",
                    verdict(share >= 40.0)
                );
            }
            println!("  (server CPU during the three 10 s wrk runs: {cpu:.1} s, on 2 cores shared with wrk)");
        }
        _ => println!("  wrk not measured: install Debian `wrk` (make deps)"),
    }

    let t = Instant::now();
    match seed_httpd(&storage, &state, "2.4.68") {
        Some(results) => {
            println!(
                "\n  (httpd 2.4.68 draft checked by the worker in {:.1} s: {results} results)",
                t.elapsed().as_secs_f64()
            );
            let path = "/compose/test-client/2.4.68";
            let seq = time_requests(&server, 100, |c: &mut Conn| c.get(path, Some(&cookie)));
            match wrk(&server.url(path), Some(&cookie)) {
                Some((rps, p50)) => println!(
                    "{:<52} {rps:>10.0} {p50:>8.2} {:>14} {:>6}   (sequential p50 {:.2} ms, CPU {:.2} ms; ATR: 25 req/s, p50 154 ms)",
                    "compose, httpd 2.4.68 draft, member",
                    "p50<=5, >=1000",
                    verdict(p50 <= 5.0 && rps >= 1000.0),
                    seq.p50,
                    seq.cpu_ms
                ),
                None => println!("  httpd compose: sequential p50 {:.2} ms (wrk missing)", seq.p50),
            }
        }
        None => println!(
            "  httpd 2.4.68 not measured: put httpd-2.4.68.tar.gz{{,.asc,.sha512}} into target/bench-data/httpd-2.4.68/release/"
        ),
    }
}
