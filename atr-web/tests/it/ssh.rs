//! The SSH service of `atr-web serve`, used by the real `rsync` and `ssh` clients: uploads become
//! revisions (archives through quarantine and a real worker), downloads serve the latest
//! revision, and wrong keys, users, paths, flags, shells, commands and forwarding are refused.
//!
//! The clients get a temporary known_hosts file and `-F /dev/null`; `~/.ssh` is never read or written.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use atr_core::ids::{ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_storage::Storage;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/apache-test-0.2");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `atr-web serve` with its SSH service, and client keys.
struct Served {
    dir: tempfile::TempDir,
    state: PathBuf,
    https_port: u16,
    ssh_port: u16,
    child: Child,
    /// Extra environment of the server (limits).
    env: Vec<(String, String)>,
}

impl Served {
    fn spawn(dir: &Path, state: &Path, https_port: u16, ssh_port: u16, env: &[(String, String)]) -> Child {
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        Command::new(env!("CARGO_BIN_EXE_atr-web"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("ATR_STATE_DIR", state)
            .env("ATR_HTTPS_BIND", format!("127.0.0.1:{https_port}"))
            .env("ATR_SSH_BIND", format!("127.0.0.1:{ssh_port}"))
            .env("ATR_WORKERS", "1")
            .env("ATR_SITE_ORIGIN", "https://releases.example.org")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.log().contains("SSH service for rsync listening")
            || !self.log().contains("listening on https")
        {
            assert!(Instant::now() < deadline, "no SSH service within 60 s:\n{}", self.log());
            assert!(self.child.try_wait().unwrap().is_none(), "the server exited:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server and starts it again on the same state directory and ports.
    fn restart(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert!(self.child.wait().unwrap().success());
        self.child = Served::spawn(self.dir.path(), &self.state, self.https_port, self.ssh_port, &self.env);
        self.wait_ready();
    }

    fn start() -> Served {
        Served::start_with(&[])
    }

    /// [`Served::start`] with extra environment variables for the server.
    fn start_with(env: &[(&str, &str)]) -> Served {
        let env: Vec<(String, String)> =
            env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let (https_port, ssh_port) = (free_port(), free_port());
        let child = Served::spawn(dir.path(), &state, https_port, ssh_port, &env);
        let mut served = Served { dir, state, https_port, ssh_port, child, env };
        served.wait_ready();
        for name in ["alice", "other"] {
            let key = served.key(name);
            let st = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
                .arg(&key)
                .status()
                .unwrap();
            assert!(st.success());
        }
        served
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn key(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("id_{name}"))
    }

    fn storage(&self) -> Storage {
        Storage::open(&self.state).unwrap()
    }

    /// Registers the public key `name` for `uid`, as the keys page stores it.
    fn register(&self, uid: &str, name: &str) {
        let line = std::fs::read_to_string(self.key(name).with_extension("pub")).unwrap();
        let out =
            Command::new("ssh-keygen").arg("-lf").arg(self.key(name).with_extension("pub")).output().unwrap();
        let fingerprint =
            String::from_utf8(out.stdout).unwrap().split_whitespace().nth(1).unwrap().to_owned();
        let key = line.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        self.storage()
            .write(|tx| {
                tx.insert_ssh_key(&atr_core::model::SshKey {
                    fingerprint,
                    key,
                    asf_uid: Uid::new(uid).unwrap(),
                })
            })
            .unwrap();
    }

    /// Registers the public key `name` for `uid` through the API, as the `atr` client does
    /// (`atr-web token create`, `POST /api/jwt/create`, `POST /api/ssh-key/add`); returns the fingerprint.
    fn register_through_api(&self, uid: &str, name: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_atr-web"))
            .args(["token", "create", "--uid", uid, "--label", "ssh test", "--days", "1"])
            .env("ATR_STATE_DIR", &self.state)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let pat = String::from_utf8(out.stdout).unwrap().split_whitespace().last().unwrap().to_owned();
        let post = |path: &str, bearer: Option<&str>, body: serde_json::Value| -> serde_json::Value {
            let mut cmd = Command::new("curl");
            cmd.args(["-sk", "--max-time", "10", "-X", "POST", "-H", "Content-Type: application/json"]);
            if let Some(jwt) = bearer {
                cmd.args(["-H", &format!("Authorization: Bearer {jwt}")]);
            }
            let url = format!("https://127.0.0.1:{}{path}", self.https_port);
            let out = cmd.args(["-d", &body.to_string(), &url]).output().unwrap();
            serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
        };
        let jwt = post("/api/jwt/create", None, serde_json::json!({ "asfuid": uid, "pat": pat }));
        let jwt = jwt["jwt"].as_str().unwrap_or_else(|| panic!("{jwt}")).to_owned();
        let line = std::fs::read_to_string(self.key(name).with_extension("pub")).unwrap();
        let added = post("/api/ssh-key/add", Some(&jwt), serde_json::json!({ "text": line.trim() }));
        added["fingerprint"].as_str().unwrap_or_else(|| panic!("{added}")).to_owned()
    }

    /// The `ssh` command line for rsync's `-e`, logging in with key `name`.
    fn rsh(&self, name: &str) -> String {
        format!(
            "ssh -F /dev/null -p {} -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new \
             -o UserKnownHostsFile={}",
            self.ssh_port,
            self.key(name).display(),
            self.dir.path().join("known_hosts").display()
        )
    }

    fn rsync(&self, key: &str, args: &[&str]) -> Output {
        let out = Command::new("rsync")
            .arg("-e")
            .arg(self.rsh(key))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        eprintln!(
            "rsync {args:?}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn ssh(&self, key: &str, args: &[&str]) -> Output {
        let rsh = self.rsh(key);
        let mut words = rsh.split_whitespace();
        let out =
            Command::new(words.next().unwrap()).args(words).args(args).stdin(Stdio::null()).output().unwrap();
        eprintln!("ssh {args:?}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
        out
    }

    fn remote(&self, uid: &str, path: &str) -> String {
        format!("{uid}@127.0.0.1:{path}")
    }

    /// The latest revision of test-client `version` and its files with their contents.
    fn latest(&self, version: &str) -> Option<(RevisionNumber, BTreeMap<String, Vec<u8>>)> {
        let s = self.storage();
        let (p, v) = (ProjectKey::new("test-client").unwrap(), VersionKey::new(version).unwrap());
        let state = s.release_state(&p, &v, atr_core::time::Timestamp::from_unix(4_000_000_000)).unwrap();
        let n = state.latest_revision?;
        let root = s.layout().revision(&p, &v, n);
        Some((n, tree(&root)))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Every file under `root` with its content, by relative path.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = format!("{prefix}{}", e.file_name().to_str().unwrap());
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &format!("{name}/"), out);
            } else {
                out.insert(name, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out);
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The revision number in "Created revision N of …".
fn created(out: &Output) -> u32 {
    let err = stderr(out);
    let rest = err.split("Created revision ").nth(1).unwrap_or_else(|| panic!("no revision made:\n{err}"));
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn rsync_uploads_become_revisions_and_downloads_serve_the_latest() {
    let mut served = Served::start();
    let fingerprint = served.register_through_api("alice", "alice");
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(served.key("alice").with_extension("pub"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&fingerprint), "{fingerprint}");
    let fixture = format!("{FIXTURE}/");
    let expected = tree(Path::new(FIXTURE));
    assert_eq!(expected.len(), 4);

    // The first upload starts the draft (alice is a member of `test`); the tarball passes quarantine.
    let out = served.rsync("alice", &["-av", &fixture, &served.remote("alice", "/test-client/0.2/")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let n = created(&out);
    let err = stderr(&out);
    assert!(
        err.contains("of test-client 0.2")
            && err.contains("ATR: https://releases.example.org/compose/test-client/0.2\n"),
        "{err}"
    );
    assert!(err.contains("validating them"), "the tarball went through quarantine: {err}");
    let (latest, files) = served.latest("0.2").unwrap();
    assert_eq!(latest.get(), n);
    assert_eq!(files, expected, "the revision holds exactly the uploaded files");
    let s = served.storage();
    let q = s
        .read(|tx| {
            tx.quarantined_of_release(
                &ProjectKey::new("test-client").unwrap(),
                &VersionKey::new("0.2").unwrap(),
            )
        })
        .unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].revision_number.map(|r| r.get()), Some(n));
    assert_eq!(q[0].description, "File synchronisation through ssh, using rsync");

    // The same tree again: nothing changes.
    let out = served.rsync("alice", &["-av", &fixture, &served.remote("alice", "/test-client/0.2/")]);
    assert!(out.status.success() && stderr(&out).contains("No file changed"), "{}", stderr(&out));
    assert_eq!(served.latest("0.2").unwrap().0.get(), n);

    // Download: the latest revision, byte for byte.
    let back = served.dir.path().join("back");
    let out = served.rsync(
        "alice",
        &["-av", &served.remote("alice", "/test-client/0.2/"), &format!("{}/", back.display())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree(&back), expected);

    // --delete mirrors the client's tree: one revision removes the signature and adds a file (no archive: no quarantine).
    let work = served.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for (name, data) in &expected {
        if !name.ends_with(".asc") || name == "signer.asc" {
            std::fs::write(work.join(name), data).unwrap();
        }
    }
    std::fs::create_dir(work.join("notes")).unwrap();
    std::fs::write(work.join("notes/README.txt"), b"read me\n").unwrap();
    let out = served.rsync(
        "alice",
        &["-av", "--delete", &format!("{}/", work.display()), &served.remote("alice", "/test-client/0.2/")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m = created(&out);
    assert_eq!(m, n + 1, "one revision for the whole transfer");
    let (_, files) = served.latest("0.2").unwrap();
    assert_eq!(files, tree(&work));
    let audit = s.read(|tx| tx.audit_events_for(&format!("test-client-0.2 {m:05}"))).unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].actor.as_ref().map(|u| u.as_str()), Some("alice"));
    assert_eq!(audit[0].details["description"], "File synchronisation through ssh, using rsync");
    assert!(!files.contains_key("apache-test-0.2.tar.gz.asc") && files.contains_key("notes/README.txt"));

    // The earlier revision is untouched (same files, still read-only).
    let p = ProjectKey::new("test-client").unwrap();
    let v = VersionKey::new("0.2").unwrap();
    let old = s.layout().revision(&p, &v, RevisionNumber::new(n).unwrap());
    assert_eq!(tree(&old), expected);
    for name in expected.keys() {
        let mode = std::fs::metadata(old.join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444, "{name}");
    }
    // Nothing is left in the interim area; the host key is private.
    assert_eq!(std::fs::read_dir(served.state.join("ssh-uploads")).unwrap().count(), 0);
    let mode =
        std::fs::metadata(served.state.join("secrets/ssh_host_ed25519_key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let known = std::fs::read_to_string(served.dir.path().join("known_hosts")).unwrap();
    assert!(known.contains("ssh-ed25519"), "{known}");

    // After a restart the host key is the same: the client's known_hosts entry still matches.
    served.restart();
    let again = served.dir.path().join("again");
    let out = served.rsync(
        "alice",
        &["-a", &served.remote("alice", "/test-client/0.2/"), &format!("{}/", again.display())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(tree(&again), files);
    assert_eq!(std::fs::read_to_string(served.dir.path().join("known_hosts")).unwrap(), known);
}

#[test]
fn wrong_keys_users_paths_flags_shells_and_forwarding_are_refused() {
    let served = Served::start();
    served.register("alice", "alice");
    let fixture = format!("{FIXTURE}/");
    let target = served.remote("alice", "/test-client/0.2/");

    // A key alice did not register, and alice's key used for another uid.
    let out = served.rsync("other", &["-av", &fixture, &target]);
    assert!(!out.status.success() && stderr(&out).contains("Permission denied"), "{}", stderr(&out));
    let out = served.rsync("alice", &["-av", &fixture, &served.remote("bob", "/test-client/0.2/")]);
    assert!(!out.status.success() && stderr(&out).contains("Permission denied"), "{}", stderr(&out));

    // Paths: no such project, no version, an escape attempt.
    for (path, why) in [
        ("/no-such-project/0.2/", "no-such-project"),
        ("/test-client/", "version is missing"),
        ("/test-client/0.2/../../../etc/", ".."),
    ] {
        let out = served.rsync("alice", &["-av", &fixture, &served.remote("alice", path)]);
        assert!(!out.status.success(), "{path}");
        assert!(stderr(&out).contains(why), "{path}: {}", stderr(&out));
    }
    // A flag rsync -av does not send (-z), and an option outside the list.
    let out = served.rsync("alice", &["-avz", &fixture, &target]);
    assert!(!out.status.success() && stderr(&out).contains("must be -Dgloprtv"), "{}", stderr(&out));
    let out = served.rsync("alice", &["-av", "--inplace", &fixture, &target]);
    assert!(!out.status.success() && stderr(&out).contains("--inplace"), "{}", stderr(&out));

    // A shell, a command, a subsystem, remote port forwarding.
    let out = served.ssh("alice", &["alice@127.0.0.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("shells are refused"), "{}", stderr(&out));
    let out = served.ssh("alice", &["alice@127.0.0.1", "cat", "/etc/passwd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`cat /etc/passwd` is refused"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let out = served.ssh("alice", &["-s", "alice@127.0.0.1", "sftp"]);
    assert!(
        !out.status.success() && stderr(&out).contains("subsystem `sftp` is refused"),
        "{}",
        stderr(&out)
    );
    let out = served
        .ssh("alice", &["-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9", "alice@127.0.0.1", "true"]);
    assert!(!out.status.success() && stderr(&out).contains("forwarding failed"), "{}", stderr(&out));

    // carol has a key but no role in the `test` committee: the core refuses before any transfer.
    served.register("carol", "other");
    let out = served.rsync("other", &["-av", &fixture, &served.remote("carol", "/test-client/0.2/")]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("ATR:") && stderr(&out).contains("only a committer"), "{}", stderr(&out));

    // A symbolic link in the upload: refused after the transfer, nothing is kept.
    let work = served.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(work.join("a.txt"), b"a\n").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", work.join("passwd")).unwrap();
    let out = served.rsync("alice", &["-av", &format!("{}/", work.display()), &target]);
    assert!(!out.status.success() && stderr(&out).contains("symbolic link"), "{}", stderr(&out));

    assert!(served.latest("0.2").is_none(), "no refused request made a release");
    assert_eq!(std::fs::read_dir(served.state.join("ssh-uploads")).unwrap().count(), 0);
}

#[test]
fn deletions_and_archives_of_one_rsync_session_make_one_revision() {
    let served = Served::start();
    served.register("alice", "alice");
    let target = served.remote("alice", "/test-client/0.2/");
    let out = served.rsync("alice", &["-a", &format!("{FIXTURE}/"), &target]);
    assert!(out.status.success(), "{}", stderr(&out));
    let n = created(&out);

    // Drop the signature and add a second archive (through quarantine) in one --delete session.
    let work = served.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for (name, data) in tree(Path::new(FIXTURE)) {
        if name != "apache-test-0.2.tar.gz.asc" {
            std::fs::write(work.join(name), data).unwrap();
        }
    }
    let tarball = std::fs::read(Path::new(FIXTURE).join("apache-test-0.2.tar.gz")).unwrap();
    std::fs::write(work.join("apache-test-0.2-src.tar.gz"), &tarball).unwrap();
    let out = served.rsync("alice", &["-a", "--delete", &format!("{}/", work.display()), &target]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("validating them"), "the new archive went through quarantine: {err}");
    let m = created(&out);
    assert_eq!(m, n + 1, "one revision adds the archive and removes the signature: {err}");
    assert!(!err.contains("--delete"), "no second revision for the removal: {err}");
    let (latest, files) = served.latest("0.2").unwrap();
    assert_eq!(latest.get(), m);
    assert_eq!(files, tree(&work), "the revision mirrors the client's tree");
    assert_eq!(std::fs::read_dir(served.state.join("ssh-uploads")).unwrap().count(), 0);
}

#[test]
fn rsync_uploads_over_the_limits_are_stopped_and_nothing_is_kept() {
    // 1 MiB per file (upload_max_bytes), 3 MiB per upload (rsync_max_bytes).
    let served =
        Served::start_with(&[("ATR_UPLOAD_MAX_BYTES", "1048576"), ("ATR_RSYNC_MAX_BYTES", "3145728")]);
    served.register("alice", "alice");
    let target = served.remote("alice", "/test-client/0.2/");
    let no_leftovers = |what: &str| {
        let left: Vec<_> = std::fs::read_dir(served.state.join("ssh-uploads")).unwrap().flatten().collect();
        assert!(left.is_empty(), "{what}: interim directories left: {left:?}");
        let staged: Vec<_> = std::fs::read_dir(served.state.join("quarantine"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(staged.is_empty(), "{what}: nothing in quarantine: {staged:?}");
    };

    // One file over the per-file limit, on a release that does not exist yet: no release either.
    let big = served.dir.path().join("big");
    std::fs::create_dir(&big).unwrap();
    std::fs::write(big.join("notes.txt"), b"small\n").unwrap();
    std::fs::write(big.join("data.bin"), vec![7u8; (1 << 20) + 1]).unwrap();
    let out = served.rsync("alice", &["-a", &format!("{}/", big.display()), &target]);
    assert!(!out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("ATR: `data.bin` is larger than the 1 MiB a file may have"), "{err}");
    assert!(err.contains("nothing was kept"), "{err}");
    assert!(served.latest("0.2").is_none(), "no release, no revision");
    no_leftovers("per file");

    // A first good upload, then files within the per-file limit but over the total.
    let out = served.rsync("alice", &["-a", &format!("{FIXTURE}/"), &target]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = served.latest("0.2").unwrap();
    let many = served.dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..4 {
        std::fs::write(many.join(format!("part-{i}.bin")), vec![i as u8; 1 << 20]).unwrap();
    }
    let out = served.rsync("alice", &["-a", &format!("{}/", many.display()), &target]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("more than the 3 MiB one rsync upload may bring"), "{}", stderr(&out));
    assert_eq!(served.latest("0.2").unwrap(), before, "the release is unchanged");
    no_leftovers("total");

    // A huge (sparse on the client) file is stopped while it streams, not after.
    let huge = served.dir.path().join("huge");
    std::fs::create_dir(&huge).unwrap();
    std::fs::File::create(huge.join("huge.bin")).unwrap().set_len(16 << 30).unwrap();
    let t = Instant::now();
    let out = served.rsync("alice", &["-a", &format!("{}/", huge.display()), &target]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("`huge.bin"), "{}", stderr(&out));
    assert!(t.elapsed() < Duration::from_secs(60), "stopped early, not after 16 GiB: {:?}", t.elapsed());
    assert_eq!(served.latest("0.2").unwrap(), before, "the release is unchanged");
    no_leftovers("while streaming");
}
