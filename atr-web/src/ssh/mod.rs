//! The SSH service for rsync uploads and downloads (`rsync -av -e 'ssh -p 2222' dir/ uid@host:/p/v/`).
//!
//! - Public-key login only: username = uid, the keys the user registered (web `/keys` or the API).
//!   Passwords, keyboard-interactive and unknown keys are refused.
//! - One exec request per channel, parsed strictly by [`command::parse`]; shells, other commands,
//!   subsystems (sftp), pseudo-terminals, port and agent forwarding are refused with a message.
//! - An upload runs the system `rsync --server` in an interim directory seeded (hard links) from
//!   the latest revision; on success its changes become one new revision through atr-storage
//!   (archives through quarantine), see [`upload`]. A download serves the latest revision.
//!
//! The host key (Ed25519) is made on first start in `secrets/ssh_host_ed25519_key` (0600) under
//! the state directory and reused afterwards.

mod command;
mod handler;
mod upload;

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use atr_storage::Storage;
use russh::keys::PrivateKey;
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;

use crate::routes::AccountsCache;

/// What every SSH session shares.
#[derive(Debug)]
pub(crate) struct SshContext {
    /// The storage.
    pub(crate) storage: Arc<Storage>,
    /// Who is who (roles of a uid).
    pub(crate) accounts: Arc<AccountsCache>,
    /// Limits of one rsync upload.
    pub(crate) limits: upload::Limits,
    /// The web address shown after an upload (`https://host:port`).
    pub(crate) web_url: String,
}

/// The host key file under the state directory.
fn host_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("secrets").join("ssh_host_ed25519_key")
}

/// Loads the host key, or makes one (0600) on first start.
pub(crate) fn load_or_create_host_key(state_dir: &Path) -> anyhow::Result<(PrivateKey, bool)> {
    use argon2::password_hash::rand_core::{OsRng, RngCore as _};
    let path = host_key_path(state_dir);
    if path.exists() {
        let key = russh::keys::load_secret_key(&path, None).with_context(|| {
            format!("cannot read the SSH host key {}; remove it to make a new one", path.display())
        })?;
        return Ok((key, false));
    }
    let dir = path.parent().expect("a file in secrets/");
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    let text = key.to_openssh(LineEnding::LF).context("cannot encode the SSH host key")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok((key, true))
}

/// Starts the SSH service of `atr-web serve` as configured (`ATR_SSH_BIND`). A failure to start
/// is logged as an error and the web server runs on without it (several servers on one machine,
/// such as tests, would otherwise fight over port 2222).
pub(crate) async fn start_configured(
    config: &crate::config::Config,
    storage: &Arc<Storage>,
    accounts: &Arc<AccountsCache>,
) -> Option<tokio::task::JoinHandle<()>> {
    let Some(bind) = config.ssh_bind else {
        tracing::info!("ATR_SSH_BIND=off: no SSH service for rsync uploads");
        return None;
    };
    // Links point to the public origin when one is configured (ATR_SITE_ORIGIN, as in mails),
    // else to this server's own address.
    let web_url = if std::env::var_os("ATR_SITE_ORIGIN").is_some() {
        storage.mail_settings().site_origin
    } else {
        let scheme = if config.plain_http { "http" } else { "https" };
        format!("{scheme}://{}", config.https_bind)
    };
    let limits = upload::Limits {
        file_bytes: u64::try_from(config.upload_max_bytes).unwrap_or(u64::MAX),
        total_bytes: config.rsync_max_bytes,
    };
    match start(bind, &config.state_dir, Arc::clone(storage), Arc::clone(accounts), web_url, limits).await {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::error!("the SSH service for rsync uploads is NOT running: {e:#}");
            None
        }
    }
}

/// Binds `bind` and serves SSH sessions until the returned task is aborted.
pub(crate) async fn start(
    bind: SocketAddr,
    state_dir: &Path,
    storage: Arc<Storage>,
    accounts: Arc<AccountsCache>,
    web_url: String,
    limits: upload::Limits,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    use russh::server::Server as _;
    let (key, created) = load_or_create_host_key(state_dir)?;
    let fingerprint = key.public_key().fingerprint(russh::keys::HashAlg::Sha256);
    if created {
        tracing::info!(%fingerprint, "made the SSH host key {}", host_key_path(state_dir).display());
    }
    // Interim trees live in the layout's `ssh-uploads/` (same file system as the revisions).
    upload::clean_leftovers(&storage.layout().ssh_uploads())?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}; set ATR_SSH_BIND to a free address (or off)"))?;
    let config = russh::server::Config {
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        keys: vec![key],
        auth_rejection_time: std::time::Duration::from_millis(300),
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        inactivity_timeout: Some(std::time::Duration::from_secs(3600)),
        nodelay: true,
        ..Default::default()
    };
    let cx = Arc::new(SshContext { storage, accounts, limits, web_url });
    tracing::info!(%fingerprint, "SSH service for rsync listening on {bind}");
    let mut server = handler::Server { cx };
    Ok(tokio::spawn(async move {
        if let Err(e) = server.run_on_socket(Arc::new(config), &listener).await {
            tracing::error!("the SSH service stopped: {e}");
        }
    }))
}
