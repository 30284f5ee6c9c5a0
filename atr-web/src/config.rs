//! Server configuration: development defaults in a named constructor, overrides from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;

/// Configuration of the web server.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The state directory: database, revisions, downloads, temporary files.
    pub(crate) state_dir: PathBuf,
    /// Address the web server listens on.
    pub(crate) https_bind: SocketAddr,
    /// The largest upload request accepted, in bytes.
    pub(crate) upload_max_bytes: usize,
    /// How many worker processes the embedded manager keeps alive (0: none; `None`: one per core).
    pub(crate) workers: Option<usize>,
}

impl Config {
    /// The embedded development defaults used by `make serve`.
    pub(crate) fn development() -> Config {
        Config {
            state_dir: PathBuf::from("./state"),
            https_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upload_max_bytes: 2 << 30,
            workers: None,
        }
    }

    /// The local accounts file of the development identity provider.
    pub(crate) fn accounts_file(&self) -> PathBuf {
        self.state_dir.join("accounts.toml")
    }

    /// The development defaults, overridden by environment variables:
    ///
    /// - `ATR_STATE_DIR`: the state directory (default `./state`).
    /// - `ATR_HTTPS_BIND`: the listening address (default `127.0.0.1:8080`).
    /// - `ATR_UPLOAD_MAX_BYTES`: the largest upload request in bytes (default 2 GiB).
    /// - `ATR_WORKERS`: how many check workers `serve` runs (default one per CPU core; 0 for none,
    ///   when workers run elsewhere with `atr-worker manage`).
    pub(crate) fn from_environment() -> anyhow::Result<Config> {
        let mut config = Config::development();
        if let Some(dir) = std::env::var_os("ATR_STATE_DIR") {
            config.state_dir = PathBuf::from(dir);
        }
        if let Ok(bind) = std::env::var("ATR_HTTPS_BIND") {
            config.https_bind = bind.parse().with_context(|| {
                format!("ATR_HTTPS_BIND={bind:?} is not an address such as 127.0.0.1:8080")
            })?;
        }
        if let Ok(max) = std::env::var("ATR_UPLOAD_MAX_BYTES") {
            config.upload_max_bytes = max.parse().with_context(|| {
                format!("ATR_UPLOAD_MAX_BYTES={max:?} is not a number of bytes such as 2147483648")
            })?;
        }
        if let Ok(n) = std::env::var("ATR_WORKERS") {
            config.workers = Some(n.parse().with_context(|| {
                format!("ATR_WORKERS={n:?} is not a number of worker processes such as 2 (0 for none)")
            })?);
        }
        Ok(config)
    }
}
