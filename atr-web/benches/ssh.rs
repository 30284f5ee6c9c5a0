//! rsync upload over loopback SSH into a draft (the real `atr-web serve`, the real `rsync` and
//! `ssh` clients; until the new revision exists) against `rsync -a` of the same file into a local
//! directory, in the same run. Size: `ATR_BENCH_SSH_MIB` (default 1024 MiB), incompressible data.

#![expect(clippy::print_stdout, reason = "a benchmark prints its table")]

#[expect(dead_code, reason = "this benchmark uses part of the shared support")]
mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use atr_core::ids::Uid;
use atr_storage::Storage;
use support::{Server, free_port};

/// Writes `mib` MiB of incompressible bytes (xorshift) to `path`.
fn write_data(path: &Path, mib: usize) {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.into_inner().unwrap().sync_all().unwrap();
}

fn run(cmd: &mut Command) -> (Duration, String) {
    let start = Instant::now();
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {err}");
    (took, err)
}

fn main() {
    let mib: usize = std::env::var("ATR_BENCH_SSH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(1024);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let ssh_port = free_port();
    let _server = Server::start_with(&state, &[("ATR_SSH_BIND", format!("127.0.0.1:{ssh_port}"))]);
    let log_path = Server::log_path(&state);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(&log_path).unwrap_or_default().contains("SSH service for rsync listening")
    {
        assert!(Instant::now() < deadline, "no SSH service within 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }

    let key: PathBuf = dir.path().join("id_bench");
    let st =
        Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key).status().unwrap();
    assert!(st.success());
    let line = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let fp = Command::new("ssh-keygen").arg("-lf").arg(key.with_extension("pub")).output().unwrap();
    let fingerprint = String::from_utf8(fp.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned();
    Storage::open(&state)
        .unwrap()
        .write(|tx| {
            tx.insert_ssh_key(&atr_core::model::SshKey {
                fingerprint,
                key: line.split_whitespace().take(2).collect::<Vec<_>>().join(" "),
                asf_uid: Uid::new("alice").unwrap(),
            })
        })
        .unwrap();

    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write_data(&src.join("big.bin"), mib);
    let src_arg = format!("{}/", src.display());

    // Local baseline: rsync to a directory on the same file system.
    let local = dir.path().join("local");
    let (local_took, _) =
        run(Command::new("rsync").args(["-a", &src_arg]).arg(format!("{}/", local.display())));

    // Over SSH into a new draft, until "Created revision" (includes revision creation).
    let rsh = format!(
        "ssh -F /dev/null -p {ssh_port} -i {} -o IdentitiesOnly=yes -o BatchMode=yes \
         -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={}",
        key.display(),
        dir.path().join("known_hosts").display()
    );
    let (ssh_took, err) =
        run(Command::new("rsync").args(["-a", "-e", &rsh, &src_arg, "alice@127.0.0.1:/test-client/1.0/"]));
    assert!(err.contains("Created revision"), "{err}");

    let mb = (mib as f64) * 1.048_576;
    println!("rsync upload of {mib} MiB (incompressible), same run:");
    println!("{:<40} {:>9} {:>9}", "target", "seconds", "MB/s");
    for (name, took) in
        [("local directory (rsync -a)", local_took), ("loopback SSH into a draft (atr-web)", ssh_took)]
    {
        println!("{name:<40} {:>9.2} {:>9.1}", took.as_secs_f64(), mb / took.as_secs_f64());
    }
    println!("SSH / local time: {:.2}x", ssh_took.as_secs_f64() / local_took.as_secs_f64());
}
