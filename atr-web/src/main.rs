//! `atr-web`: the web server of the release platform.
//!
//! A thin adapter: it reads its [`config::Config`], opens the storage (creating and migrating the
//! state directory), and serves the routes of [`routes::router`] until Ctrl-C or SIGTERM.

mod api;
mod cache;
mod config;
mod consistency;
mod demo;
mod error;
mod handlers;
mod identity;
mod import;
mod jwt;
mod keyinfo;
mod mail;
mod oidc;
mod ops;
mod pages;
mod request_id;
mod routes;
mod session;
mod ssh;
#[cfg(test)]
mod tests;
mod tls;
mod uploads;
mod views;

use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use salvo::conn::rustls::{Keycert, RustlsConfig};
use salvo::prelude::*;
use salvo::server::ServerHandle;

/// The web server of the release platform.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (configuration from ATR_STATE_DIR and ATR_HTTPS_BIND; see the README).
    Serve {
        /// Serve plain HTTP, only behind a reverse proxy that terminates TLS (also ATR_PLAIN_HTTP=1).
        #[arg(long)]
        plain_http: bool,
    },
    /// Manage local accounts (the development identity provider).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Import data from the ASF public JSON formats.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a personal access token for UID; prints it once (only its SHA3-256 is stored).
    Create {
        /// The owner's user id.
        #[arg(long)]
        uid: atr_core::ids::Uid,
        /// A label to recognise the token by.
        #[arg(long, default_value = "created by the operator")]
        label: String,
        /// How many days it lives.
        #[arg(long, default_value_t = 180)]
        days: u32,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Committees (Whimsy committee-info.json) and projects (projects.apache.org projects.json);
    /// give committee-info.json first so projects find their committee.
    Committees {
        /// The JSON files, in order.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an account (or reset its roles and password); prints the new password once.
    Add {
        /// The user id, such as `alice`.
        uid: atr_core::ids::Uid,
        /// Make the account a platform administrator.
        #[arg(long)]
        admin: bool,
        /// A committee the account is a member of (repeatable).
        #[arg(long = "member", value_name = "COMMITTEE")]
        member: Vec<atr_core::ids::CommitteeKey>,
        /// A committee the account is a committer of (repeatable).
        #[arg(long = "committer", value_name = "COMMITTEE")]
        committer: Vec<atr_core::ids::CommitteeKey>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut config = config::Config::from_environment()?;
    match Cli::parse().command {
        Command::Serve { plain_http } => {
            config.plain_http |= plain_http;
            serve(config).await
        }
        Command::Token { command: TokenCommand::Create { uid, label, days } } => {
            let storage = atr_storage::Storage::open(&config.state_dir)
                .with_context(|| format!("cannot open the state directory {}", config.state_dir.display()))?;
            let actor = atr_core::permissions::Actor::user(uid.clone());
            let token = ops::create_token(&storage, &actor, &label, days, handlers::now())
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            #[expect(clippy::print_stdout, reason = "the operator command prints the new token once")]
            {
                println!("token for {uid} (valid {days} days): {token}");
            }
            Ok(())
        }
        Command::Import { command: ImportCommand::Committees { files } } => {
            let storage = atr_storage::Storage::open(&config.state_dir)
                .with_context(|| format!("cannot open the state directory {}", config.state_dir.display()))?;
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                let s = import::import(&storage, &text, handlers::now())
                    .with_context(|| format!("cannot import {}", file.display()))?;
                for skipped in &s.skipped {
                    tracing::warn!("skipped {skipped}");
                }
                tracing::info!(
                    file = %file.display(),
                    "committees: {} added, {} updated; projects: {} added, {} updated; {} skipped",
                    s.committees_added,
                    s.committees_updated,
                    s.projects_added,
                    s.projects_updated,
                    s.skipped.len()
                );
            }
            Ok(())
        }
        Command::User { command: UserCommand::Add { uid, admin, member, committer } } => {
            std::fs::create_dir_all(&config.state_dir)
                .with_context(|| format!("cannot create {}", config.state_dir.display()))?;
            let storage = atr_storage::Storage::open(&config.state_dir)
                .with_context(|| format!("cannot open the state in {}", config.state_dir.display()))?;
            let member_of: std::collections::BTreeSet<_> = member.into_iter().collect();
            let committer_of = committer.into_iter().filter(|c| !member_of.contains(c)).collect();
            let added = identity::set_roles(
                &storage,
                &uid,
                &member_of,
                &committer_of,
                "atr-web user add",
                handlers::now(),
            )
            .context("cannot record the committee roles")?;
            for c in added {
                tracing::warn!("committee `{c}` was not known; it was added with {uid} in its roster");
            }
            let mut accounts = identity::LocalAccounts::load(&config.accounts_file())?;
            let new = accounts.add_user(uid, admin)?;
            #[expect(clippy::print_stdout, reason = "the operator command prints the new password once")]
            {
                println!("user {} password: {}", new.uid, new.password);
            }
            Ok(())
        }
    }
}

/// Creates the demo accounts on first start and prints their passwords once.
fn create_demo_accounts(config: &config::Config) -> anyhow::Result<()> {
    let mut accounts = identity::LocalAccounts::load(&config.accounts_file())?;
    if !accounts.is_empty() {
        return Ok(());
    }
    // Their roles are in the demo committee's roster (`demo::seed`).
    let admin = accounts.add_user(atr_core::ids::Uid::new("admin")?, true)?;
    let member = accounts.add_user(atr_core::ids::Uid::new("alice")?, false)?;
    let committer = accounts.add_user(atr_core::ids::Uid::new("bob")?, false)?;
    tracing::warn!(
        "made demo accounts (shown only now; reset with `atr-web user add UID`): \
         admin / {} (administrator), alice / {} (member of `test`), bob / {} (committer of `test`)",
        admin.password,
        member.password,
        committer.password
    );
    Ok(())
}

async fn serve(config: config::Config) -> anyhow::Result<()> {
    let state_dir = config.state_dir.clone();
    let storage = tokio::task::spawn_blocking(move || atr_storage::Storage::open(&state_dir))
        .await?
        .with_context(|| format!("cannot open the state directory {}", config.state_dir.display()))?;
    tracing::info!(state_dir = %config.state_dir.display(), "state directory ready, database migrated");
    storage.configure_mail(mail::settings(&config.mail)?);
    create_demo_accounts(&config)?;
    if demo::seed(&storage, handlers::now())? {
        tracing::info!("made the demo committee `test` with project `test-client`");
    }
    let moved = identity::migrate_legacy_roles(&storage, &config.accounts_file(), handlers::now())?;
    if moved > 0 {
        tracing::info!(
            "moved the committee roles of {moved} account(s) from the accounts file into the rosters"
        );
    }
    let svn = handlers::svn::SvnSettings::from_config(&config)?;
    let sso = oidc::InjectProvider::from_config(&config);
    let registries = handlers::distributions::InjectRegistries(config.registries.clone());
    let app = routes::App {
        storage: Arc::new(storage),
        accounts: Arc::new(routes::AccountsCache::load(config.accounts_file())?),
        session_key: session::load_or_create_key(&config.state_dir.join("secrets/session.key"))?,
        secure_cookies: config.secure_cookies,
        upload_limit: config.upload_max_bytes,
        pages: Arc::default(),
        test_mode: config.test_mode,
    };
    let _ssh = ssh::start_configured(&config, &app.storage, &app.accounts).await;

    let cannot_listen =
        || format!("cannot listen on {}; set ATR_HTTPS_BIND to a free address", config.https_bind);
    if config.plain_http {
        tracing::warn!(
            secure_cookies = config.secure_cookies,
            "PLAIN HTTP (--plain-http / ATR_PLAIN_HTTP=1): no TLS in this process; serve only behind a \
             reverse proxy that terminates TLS, never exposed directly"
        );
        let acceptor = TcpListener::new(config.https_bind).try_bind().await.with_context(cannot_listen)?;
        tracing::warn!("listening on PLAIN http://{}", config.https_bind);
        let manager = start_workers(&config)?;
        let server = tuned(Server::new(acceptor));
        tokio::spawn(stop_on_signal(server.handle()));
        server
            .serve(routes::service(app).hoop(svn.clone().hoop()).hoop(sso.clone()).hoop(registries.clone()))
            .await;
        return stop_workers(manager).await;
    }
    if !config.secure_cookies {
        tracing::warn!("ATR_SECURE_COOKIES=0: session cookies lack the Secure flag");
    }
    let cert = tls::Certificate::load_or_create(&config.state_dir.join("tls"))?;
    if cert.created {
        tracing::info!(dir = %cert.dir.display(), "made a self-signed TLS certificate");
    }
    let rustls =
        RustlsConfig::new(Keycert::new().cert(cert.cert_pem.as_bytes()).key(cert.key_pem.as_bytes()));
    let acceptor =
        TcpListener::new(config.https_bind).rustls(rustls).try_bind().await.with_context(cannot_listen)?;
    tracing::info!(fingerprint = %cert.fingerprint()?, "listening on https://{}", config.https_bind);
    let manager = start_workers(&config)?;
    let server = tuned(Server::new(acceptor));
    tokio::spawn(stop_on_signal(server.handle()));
    server
        .serve(routes::service(app).hoop(svn.clone().hoop()).hoop(sso.clone()).hoop(registries.clone()))
        .await;
    stop_workers(manager).await
}

/// HTTP/2 flow control sized for uploads: hyper's defaults (a 64 KiB window per stream, 16 KiB
/// frames) hold a browser's upload over HTTPS (which browsers send as HTTP/2) to a fraction of
/// what HTTP/1.1 reaches on the same connection (66 vs 329 MB/s for 1 GiB on loopback). Memory
/// stays bounded: the upload path reads the body as it arrives, a few chunks at a time.
fn tuned<A: salvo::conn::Acceptor + Send>(mut server: Server<A>) -> Server<A> {
    server
        .http2_mut()
        .initial_stream_window_size(8 << 20)
        .initial_connection_window_size(16 << 20)
        .max_frame_size(1 << 20);
    server
}

/// Stops the worker manager (if any) after the server stopped.
async fn stop_workers(manager: Option<atr_worker::Manager>) -> anyhow::Result<()> {
    if let Some(manager) = manager {
        let stats = tokio::task::spawn_blocking(move || manager.shutdown()).await??;
        tracing::info!(?stats, "workers stopped");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts the worker manager that runs the check tasks (unless `ATR_WORKERS=0`).
fn start_workers(config: &config::Config) -> anyhow::Result<Option<atr_worker::Manager>> {
    let mut manager_config = atr_worker::ManagerConfig::new(&config.state_dir);
    match config.workers {
        Some(0) => {
            tracing::info!("ATR_WORKERS=0: no check workers in this process");
            return Ok(None);
        }
        Some(n) => manager_config.workers = n,
        None => {}
    }
    let workers = manager_config.workers;
    let manager = atr_worker::Manager::start(manager_config).context("cannot start the check workers")?;
    tracing::info!(workers, "check workers started");
    Ok(Some(manager))
}

/// Stops the server gracefully on Ctrl-C or SIGTERM.
async fn stop_on_signal(handle: ServerHandle) {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGTERM: {e}");
            let _ = ctrl_c.await;
            handle.stop_graceful(std::time::Duration::from_secs(10));
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
    }
    handle.stop_graceful(std::time::Duration::from_secs(10));
}
