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
    /// Serve plain HTTP instead of HTTPS, for running behind a TLS-terminating reverse proxy
    /// (`serve --plain-http` or `ATR_PLAIN_HTTP=1`). Never the default; logged loudly at start.
    pub(crate) plain_http: bool,
    /// Whether session cookies get the `Secure` flag (`ATR_SECURE_COOKIES`, default true). Keep it
    /// true behind a reverse proxy: the browser still sees HTTPS. Set it to 0 only to try the
    /// server over plain HTTP without a proxy, where browsers would otherwise drop the cookies.
    pub(crate) secure_cookies: bool,
    /// Test mode (`ATR_TEST_MODE=1`, default off): allows what only tests may do, such as
    /// importing from `file://` SVN URLs.
    pub(crate) test_mode: bool,
    /// URL prefixes SVN imports may come from (`ATR_SVN_ALLOWED_PREFIXES`, space- or
    /// comma-separated; default the ASF dist dev and release areas).
    pub(crate) svn_allowed_prefixes: Vec<String>,
    /// Address of the SSH service for rsync uploads (`ATR_SSH_BIND`, default `127.0.0.1:2222`;
    /// `off` for none).
    pub(crate) ssh_bind: Option<SocketAddr>,
}

impl Config {
    /// The embedded development defaults used by `make serve`.
    pub(crate) fn development() -> Config {
        Config {
            state_dir: PathBuf::from("./state"),
            https_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upload_max_bytes: 2 << 30,
            workers: None,
            plain_http: false,
            secure_cookies: true,
            test_mode: false,
            svn_allowed_prefixes: atr_core::svn::DEFAULT_ALLOWED_PREFIXES.map(str::to_owned).to_vec(),
            ssh_bind: Some(SocketAddr::from(([127, 0, 0, 1], 2222))),
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
    /// - `ATR_PLAIN_HTTP`: `1` serves plain HTTP on `ATR_HTTPS_BIND` for a TLS-terminating reverse
    ///   proxy in front (default `0`; same as `serve --plain-http`).
    /// - `ATR_SECURE_COOKIES`: `0` drops the `Secure` flag of the session cookies (default `1`; keep
    ///   it behind a reverse proxy, where the browser sees HTTPS).
    /// - `ATR_TEST_MODE`: `1` turns on test mode (default `0`).
    /// - `ATR_SVN_ALLOWED_PREFIXES`: the URL prefixes SVN imports may come from.
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
        if let Ok(v) = std::env::var("ATR_PLAIN_HTTP") {
            config.plain_http = flag("ATR_PLAIN_HTTP", &v)?;
        }
        if let Ok(v) = std::env::var("ATR_SECURE_COOKIES") {
            config.secure_cookies = flag("ATR_SECURE_COOKIES", &v)?;
        }
        if let Ok(v) = std::env::var("ATR_TEST_MODE") {
            config.test_mode = flag("ATR_TEST_MODE", &v)?;
        }
        if let Ok(v) = std::env::var("ATR_SVN_ALLOWED_PREFIXES") {
            config.svn_allowed_prefixes =
                v.split([' ', ',']).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        }
        if let Ok(bind) = std::env::var("ATR_SSH_BIND") {
            config.ssh_bind = match bind.trim() {
                "off" | "" => None,
                b => Some(b.parse().with_context(|| {
                    format!("ATR_SSH_BIND={bind:?} is not an address such as 127.0.0.1:2222 (or off)")
                })?),
            };
        }
        Ok(config)
    }
}

/// A boolean environment variable: `1`/`true`/`yes` or `0`/`false`/`no`.
fn flag(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        _ => anyhow::bail!("{name}={value:?} is not a switch; use 1 (on) or 0 (off)"),
    }
}
