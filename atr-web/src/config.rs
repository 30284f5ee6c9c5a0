//! Server configuration: development defaults in a named constructor, then a TOML file, then
//! environment variables (each layer overrides the one before).
//!
//! The file is `$ATR_CONFIG` when that is set (it must exist), else `<state>/config.toml` when it
//! exists (`<state>` from `ATR_STATE_DIR`, default `./state`); without either, the development
//! defaults and the environment apply. Unknown keys are refused, so a typo is an error at start,
//! not a silently ignored setting. `atr-web/config.example.toml` shows every key.
//!
//! | key | variable | default | meaning |
//! |-----|----------|---------|---------|
//! | `state_dir` | `ATR_STATE_DIR` | `./state` | database, revisions, downloads, temporary files (only in an `ATR_CONFIG` file) |
//! | `https_bind` | `ATR_HTTPS_BIND` | `127.0.0.1:8080` | address of the web server |
//! | `ssh_bind` | `ATR_SSH_BIND` | `127.0.0.1:2222` | address of the SSH service for rsync uploads; `off` for none |
//! | `upload_max_bytes` | `ATR_UPLOAD_MAX_BYTES` | 2 GiB | largest upload request (web form, API); also the largest file of an rsync upload |
//! | `rsync_max_bytes` | `ATR_RSYNC_MAX_BYTES` | 8 GiB | most bytes of new or changed files one rsync upload may bring |
//! | `workers` | `ATR_WORKERS` | one per core | check workers `serve` runs; 0 when they run elsewhere |
//! | `plain_http` | `ATR_PLAIN_HTTP` | false | plain HTTP behind a TLS-terminating reverse proxy |
//! | `secure_cookies` | `ATR_SECURE_COOKIES` | true | the `Secure` flag of session cookies |
//! | `test_mode` | `ATR_TEST_MODE` | false | allows what only tests may do (`file://` SVN URLs); refused unless every listener is on a loopback address |
//! | `svn_allowed_prefixes` | `ATR_SVN_ALLOWED_PREFIXES` | ASF dist areas | URL prefixes SVN imports may come from |
//! | `[oidc]` | | none | the OAuth2/OIDC identity provider, see [`OidcConfig`] |
//! | `oidc.client_secret` | `ATR_OIDC_CLIENT_SECRET` | | the client secret (keep it out of the file if you like) |
//! | `[mail]` | | | how mail leaves, see [`MailConfig`] and `mail.rs` |
//! | `mail.site_origin` | `ATR_SITE_ORIGIN` | `https://release-test.apache.org` | public origin of links in mails |
//! | `mail.smtp_host` | `ATR_SMTP_HOST` | none | SMTP relay; none: mail stays in `state/mail/outbox` and the list archives |
//! | `mail.smtp_port` | `ATR_SMTP_PORT` | 587 | relay port (submission; STARTTLS is required) |
//! | `mail.smtp_ca_file` | `ATR_SMTP_CA_FILE` | web PKI roots | PEM of an extra CA for a private relay's certificate |
//! | `mail.smtp_hello` | `ATR_SMTP_HELLO` | `atr.apache.org` | the name given in `EHLO` |
//! | `[registries]` | | | package registries asked about distribution records, see [`RegistryConfig`] |
//! | `registries.fetch` | `ATR_REGISTRY_FETCH` | true | ask the registry when a distribution is recorded; false: records stay pending |
//! | `registries.timeout_ms` | `ATR_REGISTRY_TIMEOUT_MS` | 10000 | how long a registry may take to answer |
//! | `registries.npm` | `ATR_REGISTRY_NPM` | `https://registry.npmjs.org` | npm registry |
//! | `registries.pypi` | `ATR_REGISTRY_PYPI` | `https://pypi.org` | PyPI |
//! | `registries.pypi_staging` | `ATR_REGISTRY_PYPI_STAGING` | `https://test.pypi.org` | PyPI's staging registry (TestPyPI) |
//! | `registries.maven` | `ATR_REGISTRY_MAVEN` | `https://search.maven.org` | Maven Central's search API |
//! | `registries.docker_hub` | `ATR_REGISTRY_DOCKER_HUB` | `https://hub.docker.com` | Docker Hub |
//! | `registries.artifact_hub` | `ATR_REGISTRY_ARTIFACT_HUB` | `https://artifacthub.io` | Artifact Hub |
//! | `registries.artifact_hub_staging` | `ATR_REGISTRY_ARTIFACT_HUB_STAGING` | `https://staging.artifacthub.io` | Artifact Hub's staging instance |
//!
//! Booleans in variables are `1`/`true`/`yes` or `0`/`false`/`no`; in the file, TOML booleans.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;

/// Configuration of the web server.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The state directory: database, revisions, downloads, temporary files.
    pub(crate) state_dir: PathBuf,
    /// Address the web server listens on.
    pub(crate) https_bind: SocketAddr,
    /// The largest upload request accepted, in bytes; also the largest file of an rsync upload.
    pub(crate) upload_max_bytes: usize,
    /// The most bytes of new or changed files one rsync upload may bring (`ATR_RSYNC_MAX_BYTES`).
    pub(crate) rsync_max_bytes: u64,
    /// How many worker processes the embedded manager keeps alive (0: none; `None`: one per core).
    pub(crate) workers: Option<usize>,
    /// Serve plain HTTP instead of HTTPS, for running behind a TLS-terminating reverse proxy
    /// (`serve --plain-http` or `ATR_PLAIN_HTTP=1`). Never the default; logged loudly at start.
    pub(crate) plain_http: bool,
    /// Whether session cookies get the `Secure` flag (`ATR_SECURE_COOKIES`, default true). Keep it
    /// true behind a reverse proxy: the browser still sees HTTPS. Set it to 0 only to try the
    /// server over plain HTTP without a proxy, where browsers would otherwise drop the cookies.
    pub(crate) secure_cookies: bool,
    /// Address of the SSH service for rsync uploads (`ATR_SSH_BIND`, default `127.0.0.1:2222`;
    /// `off` for none).
    pub(crate) ssh_bind: Option<SocketAddr>,
    /// Test mode (`ATR_TEST_MODE=1`, default off): allows what only tests may do, such as
    /// importing from `file://` SVN URLs.
    pub(crate) test_mode: bool,
    /// URL prefixes SVN imports may come from (`ATR_SVN_ALLOWED_PREFIXES`, space- or
    /// comma-separated; default the ASF dist dev and release areas).
    pub(crate) svn_allowed_prefixes: Vec<String>,
    /// The OAuth2/OIDC identity provider (`[oidc]` in the file); `None`: local accounts only.
    pub(crate) oidc: Option<OidcConfig>,
    /// How mail leaves (`[mail]`, `ATR_SITE_ORIGIN`, `ATR_SMTP_*`; checked by `mail.rs`).
    pub(crate) mail: MailConfig,
    /// The package registries asked about distribution records (`[registries]`, `ATR_REGISTRY_*`).
    pub(crate) registries: RegistryConfig,
    /// The configuration file that was read, if any.
    pub(crate) file: Option<PathBuf>,
}

/// The `[mail]` section (each key also from its environment variable, which wins). The values
/// are checked when the server starts (`mail::settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MailConfig {
    /// Public origin of links in mails (`ATR_SITE_ORIGIN`).
    #[serde(default)]
    pub(crate) site_origin: Option<String>,
    /// The SMTP relay (`ATR_SMTP_HOST`); none: mail stays in the outbox and the list archives.
    #[serde(default)]
    pub(crate) smtp_host: Option<String>,
    /// The relay's port (`ATR_SMTP_PORT`, default 587).
    #[serde(default)]
    pub(crate) smtp_port: Option<u16>,
    /// PEM of an extra CA for the relay's certificate (`ATR_SMTP_CA_FILE`).
    #[serde(default)]
    pub(crate) smtp_ca_file: Option<PathBuf>,
    /// The name given in `EHLO` (`ATR_SMTP_HELLO`).
    #[serde(default)]
    pub(crate) smtp_hello: Option<String>,
}

/// The package registries asked about distribution records: whether to ask at all, how long an
/// answer may take, and each registry's base URL (`https://`, or `http://` on a loopback address,
/// for a registry on the same machine as in the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryConfig {
    /// Ask the registry when a distribution is recorded (default true).
    pub(crate) fetch: bool,
    /// How long a registry may take to answer, in milliseconds (default 10,000).
    pub(crate) timeout_ms: u64,
    /// The base URLs.
    pub(crate) bases: atr_core::model::Registries,
}

impl Default for RegistryConfig {
    fn default() -> RegistryConfig {
        RegistryConfig { fetch: true, timeout_ms: 10_000, bases: atr_core::model::Registries::default() }
    }
}

/// The `[registries]` section of the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRegistries {
    fetch: Option<bool>,
    timeout_ms: Option<u64>,
    npm: Option<String>,
    pypi: Option<String>,
    pypi_staging: Option<String>,
    maven: Option<String>,
    docker_hub: Option<String>,
    artifact_hub: Option<String>,
    artifact_hub_staging: Option<String>,
}

impl RegistryConfig {
    /// The base URL field named `key` (as in the file).
    fn base_mut(&mut self, key: &str) -> &mut String {
        let b = &mut self.bases;
        match key {
            "npm" => &mut b.npm,
            "pypi" => &mut b.pypi,
            "pypi_staging" => &mut b.pypi_staging,
            "maven" => &mut b.maven,
            "docker_hub" => &mut b.docker_hub,
            "artifact_hub" => &mut b.artifact_hub,
            _ => &mut b.artifact_hub_staging,
        }
    }

    fn apply_file(&mut self, f: FileRegistries) {
        if let Some(v) = f.fetch {
            self.fetch = v;
        }
        if let Some(v) = f.timeout_ms {
            self.timeout_ms = v;
        }
        let bases = [
            ("npm", f.npm),
            ("pypi", f.pypi),
            ("pypi_staging", f.pypi_staging),
            ("maven", f.maven),
            ("docker_hub", f.docker_hub),
            ("artifact_hub", f.artifact_hub),
            ("artifact_hub_staging", f.artifact_hub_staging),
        ];
        for (key, value) in bases {
            if let Some(v) = value {
                *self.base_mut(key) = v;
            }
        }
    }

    fn apply_environment(&mut self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = env("ATR_REGISTRY_FETCH") {
            self.fetch = flag("ATR_REGISTRY_FETCH", &v)?;
        }
        if let Some(v) = env("ATR_REGISTRY_TIMEOUT_MS") {
            self.timeout_ms = v.parse().with_context(|| {
                format!("ATR_REGISTRY_TIMEOUT_MS={v:?} is not a number of milliseconds such as 10000")
            })?;
        }
        for key in
            ["npm", "pypi", "pypi_staging", "maven", "docker_hub", "artifact_hub", "artifact_hub_staging"]
        {
            if let Some(v) = env(&format!("ATR_REGISTRY_{}", key.to_ascii_uppercase())) {
                *self.base_mut(key) = v;
            }
        }
        Ok(())
    }

    /// Refuses a base URL that is not `https://` (or `http://` on a loopback address) and a zero
    /// time-out, naming the key.
    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.timeout_ms > 0, "[registries] `timeout_ms` must be more than 0 milliseconds");
        for (key, url) in self.bases.all() {
            let parsed = url::Url::parse(url).with_context(|| {
                format!(
                    "[registries] `{key}` = {url:?} is not a URL (ATR_REGISTRY_{})",
                    key.to_ascii_uppercase()
                )
            })?;
            let loopback = match parsed.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(a)) => a.is_loopback(),
                Some(url::Host::Ipv6(a)) => a.is_loopback(),
                None => false,
            };
            let ok = match parsed.scheme() {
                "https" => parsed.host().is_some(),
                "http" => loopback,
                _ => false,
            } && parsed.query().is_none();
            anyhow::ensure!(
                ok,
                "[registries] `{key}` = {url:?} must be an https:// URL without a query (http:// only on a loopback address)"
            );
        }
        Ok(())
    }
}

/// The `[oidc]` section: an OAuth2/OpenID Connect provider used with the authorization code flow.
///
/// Give either `issuer` (its endpoints are read from `<issuer>/.well-known/openid-configuration`
/// at the first login) or the three endpoint URLs. Endpoints must be `https://`, except on a
/// loopback address (for a provider on the same machine). The provider's claims (from the
/// userinfo endpoint, read with the access token over that TLS connection) map to the user:
/// `uid_claim` is the user id; `member_claim` and `committer_claim` are lists of committee keys
/// (a string is one key); `admin_claim`, if set, is a boolean claim that makes the user an
/// administrator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OidcConfig {
    /// The issuer, for discovery and to check the `iss` of the token response.
    #[serde(default)]
    pub(crate) issuer: Option<String>,
    /// The authorization endpoint the browser is sent to.
    #[serde(default)]
    pub(crate) authorize_url: Option<String>,
    /// The token endpoint (code → tokens).
    #[serde(default)]
    pub(crate) token_url: Option<String>,
    /// The userinfo endpoint (access token → claims).
    #[serde(default)]
    pub(crate) userinfo_url: Option<String>,
    /// The client id registered at the provider.
    pub(crate) client_id: String,
    /// The client secret (or `ATR_OIDC_CLIENT_SECRET`).
    #[serde(default)]
    pub(crate) client_secret: Option<String>,
    /// Where the provider sends the browser back: `https://<host>/auth/oidc/callback`.
    pub(crate) redirect_url: String,
    /// The scopes asked for (default `openid profile`).
    #[serde(default = "default_scopes")]
    pub(crate) scopes: Vec<String>,
    /// The claim holding the user id (default `sub`).
    #[serde(default = "default_uid_claim")]
    pub(crate) uid_claim: String,
    /// The claim listing the committees the user is a member of (default `member_of`).
    #[serde(default = "default_member_claim")]
    pub(crate) member_claim: String,
    /// The claim listing the committees the user is a committer of (default `committer_of`).
    #[serde(default = "default_committer_claim")]
    pub(crate) committer_claim: String,
    /// A boolean claim that makes the user an administrator (default: none does).
    #[serde(default)]
    pub(crate) admin_claim: Option<String>,
    /// The text of the login button (default `Log in with single sign-on`).
    #[serde(default = "default_label")]
    pub(crate) label: String,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".to_owned(), "profile".to_owned()]
}
fn default_uid_claim() -> String {
    "sub".to_owned()
}
fn default_member_claim() -> String {
    "member_of".to_owned()
}
fn default_committer_claim() -> String {
    "committer_of".to_owned()
}
fn default_label() -> String {
    "Log in with single sign-on".to_owned()
}

impl OidcConfig {
    /// Refuses an incomplete or unsafe provider configuration, naming the key to fix.
    fn validate(&self) -> anyhow::Result<()> {
        let endpoints = [&self.authorize_url, &self.token_url, &self.userinfo_url];
        let given = endpoints.iter().filter(|u| u.is_some()).count();
        if self.issuer.is_none() && given < 3 {
            anyhow::bail!(
                "[oidc] needs `issuer` (for discovery) or all of `authorize_url`, `token_url` and `userinfo_url`"
            );
        }
        let urls = [
            ("issuer", &self.issuer),
            ("authorize_url", &self.authorize_url),
            ("token_url", &self.token_url),
            ("userinfo_url", &self.userinfo_url),
            ("redirect_url", &Some(self.redirect_url.clone())),
        ];
        for (key, url) in urls {
            if let Some(url) = url {
                check_endpoint(key, url)?;
            }
        }
        if self.client_id.trim().is_empty() {
            anyhow::bail!("[oidc] `client_id` is empty; set the id the provider registered for this server");
        }
        match &self.client_secret {
            Some(s) if !s.is_empty() => Ok(()),
            _ => anyhow::bail!(
                "[oidc] has no client secret; set `client_secret` in the file or ATR_OIDC_CLIENT_SECRET"
            ),
        }
    }
}

/// An endpoint must be HTTPS, or HTTP on a loopback address (a provider on the same machine).
pub(crate) fn check_endpoint(key: &str, url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("[oidc] `{key}` = {url:?} is not a URL"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => anyhow::bail!(
            "[oidc] `{key}` = {url:?} must be an https:// URL (http:// only on a loopback address)"
        ),
    }
}

/// The file layer: every key optional; unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    state_dir: Option<PathBuf>,
    https_bind: Option<SocketAddr>,
    ssh_bind: Option<String>,
    upload_max_bytes: Option<usize>,
    rsync_max_bytes: Option<u64>,
    workers: Option<usize>,
    plain_http: Option<bool>,
    secure_cookies: Option<bool>,
    test_mode: Option<bool>,
    svn_allowed_prefixes: Option<Vec<String>>,
    oidc: Option<OidcConfig>,
    mail: Option<MailConfig>,
    registries: Option<FileRegistries>,
}

impl Config {
    /// The embedded development defaults used by `make serve`.
    pub(crate) fn development() -> Config {
        Config {
            state_dir: PathBuf::from("./state"),
            https_bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upload_max_bytes: 2 << 30,
            rsync_max_bytes: 8 << 30,
            workers: None,
            plain_http: false,
            secure_cookies: true,
            ssh_bind: Some(SocketAddr::from(([127, 0, 0, 1], 2222))),
            test_mode: false,
            svn_allowed_prefixes: atr_core::svn::DEFAULT_ALLOWED_PREFIXES.map(str::to_owned).to_vec(),
            oidc: None,
            mail: MailConfig::default(),
            registries: RegistryConfig::default(),
            file: None,
        }
    }

    /// The local accounts file of the development identity provider.
    pub(crate) fn accounts_file(&self) -> PathBuf {
        self.state_dir.join("accounts.toml")
    }

    /// The development defaults, overridden by the configuration file (see the module docs),
    /// overridden by the process's environment variables.
    pub(crate) fn from_environment() -> anyhow::Result<Config> {
        Config::from_sources(&|name| std::env::var(name).ok())
    }

    /// [`Config::from_environment`] with the variables read through `env`.
    pub(crate) fn from_sources(env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
        let mut config = Config::development();
        let state_from_env = env("ATR_STATE_DIR").map(PathBuf::from);
        let file = match env("ATR_CONFIG").filter(|p| !p.is_empty()) {
            Some(path) => Some((PathBuf::from(path), true)),
            None => {
                let path = state_from_env.as_deref().unwrap_or(&config.state_dir).join("config.toml");
                path.is_file().then_some((path, false))
            }
        };
        if let Some((path, explicit)) = file {
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!("cannot read the configuration file {} (ATR_CONFIG)", path.display())
            })?;
            config.apply_file(&text, explicit).with_context(|| format!("in {}", path.display()))?;
            config.file = Some(path);
        }
        config.apply_environment(env)?;
        config.refuse_test_mode_in_production()?;
        config.registries.validate().with_context(|| match &config.file {
            Some(f) => format!("in {} or the ATR_REGISTRY_* variables", f.display()),
            None => "in the ATR_REGISTRY_* variables".to_owned(),
        })?;
        if let Some(oidc) = &config.oidc {
            oidc.validate().with_context(|| match &config.file {
                Some(f) => format!("in {}", f.display()),
                None => "in the configuration".to_owned(),
            })?;
        }
        Ok(config)
    }

    /// Test mode lets `file://` SVN URLs through and slows tasks on purpose: it is for test servers
    /// only. A server whose web or SSH listener is reachable from other machines (not a loopback
    /// address) is a production configuration, and test mode is refused there.
    fn refuse_test_mode_in_production(&self) -> anyhow::Result<()> {
        if !self.test_mode {
            return Ok(());
        }
        let exposed = std::iter::once(("web", self.https_bind))
            .chain(self.ssh_bind.map(|a| ("SSH", a)))
            .find(|(_, addr)| !addr.ip().is_loopback());
        if let Some((what, addr)) = exposed {
            anyhow::bail!(
                "test mode (test_mode / ATR_TEST_MODE) is refused: the {what} service listens on {addr}, which \
                 other machines can reach, so this is a production configuration. Test mode is for servers bound \
                 to a loopback address such as 127.0.0.1; turn it off here."
            );
        }
        Ok(())
    }

    fn apply_file(&mut self, text: &str, may_set_state_dir: bool) -> anyhow::Result<()> {
        let f: FileConfig = toml::from_str(text).context("the configuration file is not valid")?;
        if let Some(dir) = f.state_dir {
            if !may_set_state_dir {
                anyhow::bail!(
                    "`state_dir` cannot be set in the state directory's own config.toml; \
                     use ATR_STATE_DIR, or a file named by ATR_CONFIG"
                );
            }
            self.state_dir = dir;
        }
        if let Some(v) = f.https_bind {
            self.https_bind = v;
        }
        if let Some(v) = f.ssh_bind {
            self.ssh_bind = ssh_bind("ssh_bind", &v)?;
        }
        if let Some(v) = f.upload_max_bytes {
            self.upload_max_bytes = v;
        }
        if let Some(v) = f.rsync_max_bytes {
            self.rsync_max_bytes = v;
        }
        if let Some(v) = f.workers {
            self.workers = Some(v);
        }
        if let Some(v) = f.plain_http {
            self.plain_http = v;
        }
        if let Some(v) = f.secure_cookies {
            self.secure_cookies = v;
        }
        if let Some(v) = f.test_mode {
            self.test_mode = v;
        }
        if let Some(v) = f.svn_allowed_prefixes {
            self.svn_allowed_prefixes = v;
        }
        if f.oidc.is_some() {
            self.oidc = f.oidc;
        }
        if let Some(m) = f.mail {
            self.mail = m;
        }
        if let Some(r) = f.registries {
            self.registries.apply_file(r);
        }
        Ok(())
    }

    /// The environment layer:
    ///
    /// - `ATR_STATE_DIR`: the state directory (default `./state`).
    /// - `ATR_HTTPS_BIND`: the listening address (default `127.0.0.1:8080`).
    /// - `ATR_UPLOAD_MAX_BYTES`: the largest upload request in bytes (default 2 GiB).
    /// - `ATR_RSYNC_MAX_BYTES`: the most bytes of new or changed files in one rsync upload (default 8 GiB).
    /// - `ATR_WORKERS`: how many check workers `serve` runs (default one per CPU core; 0 for none,
    ///   when workers run elsewhere with `atr-worker manage`).
    /// - `ATR_PLAIN_HTTP`: `1` serves plain HTTP on `ATR_HTTPS_BIND` for a TLS-terminating reverse
    ///   proxy in front (default `0`; same as `serve --plain-http`).
    /// - `ATR_SECURE_COOKIES`: `0` drops the `Secure` flag of the session cookies (default `1`; keep
    ///   it behind a reverse proxy, where the browser sees HTTPS).
    /// - `ATR_SSH_BIND`: the address of the SSH service for rsync uploads (default
    ///   `127.0.0.1:2222`; `off` for none).
    /// - `ATR_TEST_MODE`: `1` turns on test mode (default `0`).
    /// - `ATR_SVN_ALLOWED_PREFIXES`: the URL prefixes SVN imports may come from.
    /// - `ATR_OIDC_CLIENT_SECRET`: the client secret of the `[oidc]` provider.
    /// - `ATR_SITE_ORIGIN`, `ATR_SMTP_HOST`, `ATR_SMTP_PORT`, `ATR_SMTP_CA_FILE`, `ATR_SMTP_HELLO`:
    ///   the `[mail]` keys.
    /// - `ATR_REGISTRY_FETCH`, `ATR_REGISTRY_TIMEOUT_MS`, `ATR_REGISTRY_<KEY>`: the `[registries]` keys.
    fn apply_environment(&mut self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let config = self;
        if let Some(dir) = env("ATR_STATE_DIR") {
            config.state_dir = PathBuf::from(dir);
        }
        if let Some(bind) = env("ATR_HTTPS_BIND") {
            config.https_bind = bind.parse().with_context(|| {
                format!("ATR_HTTPS_BIND={bind:?} is not an address such as 127.0.0.1:8080")
            })?;
        }
        if let Some(max) = env("ATR_UPLOAD_MAX_BYTES") {
            config.upload_max_bytes = max.parse().with_context(|| {
                format!("ATR_UPLOAD_MAX_BYTES={max:?} is not a number of bytes such as 2147483648")
            })?;
        }
        if let Some(max) = env("ATR_RSYNC_MAX_BYTES") {
            config.rsync_max_bytes = max.parse().with_context(|| {
                format!("ATR_RSYNC_MAX_BYTES={max:?} is not a number of bytes such as 8589934592")
            })?;
        }
        if let Some(n) = env("ATR_WORKERS") {
            config.workers = Some(n.parse().with_context(|| {
                format!("ATR_WORKERS={n:?} is not a number of worker processes such as 2 (0 for none)")
            })?);
        }
        if let Some(v) = env("ATR_PLAIN_HTTP") {
            config.plain_http = flag("ATR_PLAIN_HTTP", &v)?;
        }
        if let Some(v) = env("ATR_SECURE_COOKIES") {
            config.secure_cookies = flag("ATR_SECURE_COOKIES", &v)?;
        }
        if let Some(bind) = env("ATR_SSH_BIND") {
            config.ssh_bind = ssh_bind("ATR_SSH_BIND", &bind)?;
        }
        if let Some(v) = env("ATR_TEST_MODE") {
            config.test_mode = flag("ATR_TEST_MODE", &v)?;
        }
        if let Some(v) = env("ATR_SVN_ALLOWED_PREFIXES") {
            config.svn_allowed_prefixes =
                v.split([' ', ',']).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        }
        let mail = &mut config.mail;
        let text = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = text("ATR_SITE_ORIGIN") {
            mail.site_origin = Some(v);
        }
        if let Some(v) = text("ATR_SMTP_HOST") {
            mail.smtp_host = Some(v);
        }
        if let Some(p) = text("ATR_SMTP_PORT") {
            mail.smtp_port = Some(
                p.trim()
                    .parse()
                    .with_context(|| format!("ATR_SMTP_PORT={p:?} is not a port number such as 587"))?,
            );
        }
        if let Some(v) = text("ATR_SMTP_CA_FILE") {
            mail.smtp_ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = text("ATR_SMTP_HELLO") {
            mail.smtp_hello = Some(v);
        }
        config.registries.apply_environment(env)?;
        if let Some(secret) = env("ATR_OIDC_CLIENT_SECRET") {
            match &mut config.oidc {
                Some(oidc) => oidc.client_secret = Some(secret),
                None => anyhow::bail!(
                    "ATR_OIDC_CLIENT_SECRET is set but the configuration has no [oidc] section; add one (see config.example.toml)"
                ),
            }
        }
        Ok(())
    }
}

/// An SSH bind address or `off`.
fn ssh_bind(name: &str, bind: &str) -> anyhow::Result<Option<SocketAddr>> {
    match bind.trim() {
        "off" | "" => Ok(None),
        b => Ok(Some(b.parse().with_context(|| {
            format!("{name}={bind:?} is not an address such as 127.0.0.1:2222 (or off)")
        })?)),
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

/// The example file shipped with the crate (for the tests).
#[cfg(test)]
fn example_file() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;

    fn load(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let vars: BTreeMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_sources(&move |name| vars.get(name).cloned())
    }

    #[test]
    fn the_example_file_documents_every_key_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_str().unwrap();
        let text = std::fs::read_to_string(example_file()).unwrap();
        // Every key of the file layer appears in the example, so none goes undocumented.
        for key in [
            "state_dir",
            "https_bind",
            "ssh_bind",
            "upload_max_bytes",
            "rsync_max_bytes",
            "workers",
            "plain_http",
            "secure_cookies",
            "test_mode",
            "svn_allowed_prefixes",
            "[oidc]",
            "issuer",
            "authorize_url",
            "token_url",
            "userinfo_url",
            "client_id",
            "client_secret",
            "redirect_url",
            "scopes",
            "uid_claim",
            "member_claim",
            "committer_claim",
            "admin_claim",
            "label",
            "[mail]",
            "site_origin",
            "smtp_host",
            "smtp_port",
            "smtp_ca_file",
            "smtp_hello",
            "[registries]",
            "fetch",
            "timeout_ms",
            "npm",
            "pypi",
            "pypi_staging",
            "maven",
            "docker_hub",
            "artifact_hub",
            "artifact_hub_staging",
        ] {
            assert!(text.contains(key), "config.example.toml does not mention {key}");
        }
        let path = dir.path().join("example.toml");
        std::fs::write(&path, &text).unwrap();
        let c = load(&[("ATR_CONFIG", path.to_str().unwrap()), ("ATR_STATE_DIR", state)]).unwrap();
        assert_eq!(c.file.as_deref(), Some(path.as_path()));
        assert_eq!(c.state_dir, Path::new(state), "the environment overrides the file");
        let oidc = c.oidc.unwrap();
        assert_eq!(oidc.uid_claim, "preferred_username");
        assert_eq!(c.ssh_bind, Some(SocketAddr::from(([127, 0, 0, 1], 2222))));
    }

    #[test]
    fn test_mode_is_refused_when_a_listener_is_reachable_from_other_machines() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().to_str().unwrap();
        let c = load(&[("ATR_STATE_DIR", state), ("ATR_TEST_MODE", "1")]).unwrap();
        assert!(c.test_mode, "loopback listeners: test mode is allowed");
        let e = load(&[("ATR_STATE_DIR", state), ("ATR_TEST_MODE", "1"), ("ATR_HTTPS_BIND", "0.0.0.0:8443")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("test mode") && e.contains("0.0.0.0:8443") && e.contains("production"), "{e}");
        let e = load(&[("ATR_STATE_DIR", state), ("ATR_TEST_MODE", "1"), ("ATR_SSH_BIND", "192.0.2.1:22")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SSH service listens on 192.0.2.1:22"), "{e}");
        let c = load(&[("ATR_STATE_DIR", state), ("ATR_HTTPS_BIND", "0.0.0.0:8443")]).unwrap();
        assert!(!c.test_mode, "without test mode any address is fine");
    }

    #[test]
    fn file_overrides_defaults_and_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::write(
            state.join("config.toml"),
            "https_bind = \"127.0.0.1:9443\"\nssh_bind = \"127.0.0.1:2022\"\nworkers = 3\nsecure_cookies = false\n",
        )
        .unwrap();
        let s = state.to_str().unwrap();
        let c = load(&[("ATR_STATE_DIR", s)]).unwrap();
        assert_eq!(c.file, Some(state.join("config.toml")), "found in the state directory");
        assert_eq!(c.https_bind, SocketAddr::from(([127, 0, 0, 1], 9443)));
        assert_eq!(c.ssh_bind, Some(SocketAddr::from(([127, 0, 0, 1], 2022))));
        assert_eq!((c.workers, c.secure_cookies, c.upload_max_bytes), (Some(3), false, 2 << 30));
        let c = load(&[("ATR_STATE_DIR", s), ("ATR_SSH_BIND", "off"), ("ATR_WORKERS", "0")]).unwrap();
        assert_eq!((c.ssh_bind, c.workers), (None, Some(0)));
        assert_eq!(c.https_bind, SocketAddr::from(([127, 0, 0, 1], 9443)));

        // Without a file: the development defaults.
        let empty = dir.path().join("empty");
        let c = load(&[("ATR_STATE_DIR", empty.to_str().unwrap())]).unwrap();
        assert_eq!((c.file, c.https_bind, c.oidc), (None, SocketAddr::from(([127, 0, 0, 1], 8080)), None));
    }

    #[test]
    fn mistakes_are_refused_with_the_key_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let p = path.to_str().unwrap();
        let err = |text: &str, vars: &[(&str, &str)]| {
            std::fs::write(&path, text).unwrap();
            let mut all = vec![("ATR_CONFIG", p)];
            all.extend_from_slice(vars);
            format!("{:#}", load(&all).unwrap_err())
        };
        assert!(err("http_bind = \"x\"\n", &[]).contains("unknown field `http_bind`"));
        assert!(err("workers = \"two\"\n", &[]).contains("workers"));
        let e = err("", &[("ATR_OIDC_CLIENT_SECRET", "s")]);
        assert!(e.contains("no [oidc] section"), "{e}");
        let oidc = "[oidc]\nclient_id = \"atr\"\nredirect_url = \"https://atr.example/auth/oidc/callback\"\n";
        let e = err(&format!("{oidc}client_secret = \"s\"\n"), &[]);
        assert!(e.contains("`issuer`") && e.contains("`userinfo_url`"), "{e}");
        let e = err(&format!("{oidc}issuer = \"https://login.example\"\n"), &[]);
        assert!(e.contains("ATR_OIDC_CLIENT_SECRET"), "{e}");
        let e = err(&format!("{oidc}issuer = \"http://login.example\"\nclient_secret = \"s\"\n"), &[]);
        assert!(e.contains("must be an https:// URL"), "{e}");
        std::fs::write(&path, format!("{oidc}issuer = \"http://127.0.0.1:1\"\nclient_secret = \"s\"\n"))
            .unwrap();
        let ok = load(&[("ATR_CONFIG", p), ("ATR_OIDC_CLIENT_SECRET", "from-env")]);
        assert_eq!(ok.unwrap().oidc.unwrap().client_secret.as_deref(), Some("from-env"));
        let e = format!("{:#}", load(&[("ATR_CONFIG", "/nonexistent/atr.toml")]).unwrap_err());
        assert!(e.contains("cannot read the configuration file /nonexistent/atr.toml"), "{e}");

        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::fs::write(state.join("config.toml"), "state_dir = \"/elsewhere\"\n").unwrap();
        let e = format!("{:#}", load(&[("ATR_STATE_DIR", state.to_str().unwrap())]).unwrap_err());
        assert!(e.contains("`state_dir` cannot be set"), "{e}");
    }

    #[test]
    fn mail_and_registry_keys_layer_defaults_file_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let p = path.to_str().unwrap();
        std::fs::write(
            &path,
            "[mail]\nsite_origin = \"https://releases.example.org\"\nsmtp_host = \"mail.example.org\"\nsmtp_port = 2525\n\
             [registries]\nfetch = false\ntimeout_ms = 1500\nnpm = \"http://127.0.0.1:4873\"\n",
        )
        .unwrap();
        let c = load(&[("ATR_CONFIG", p)]).unwrap();
        assert_eq!(c.mail.site_origin.as_deref(), Some("https://releases.example.org"));
        assert_eq!((c.mail.smtp_host.as_deref(), c.mail.smtp_port), (Some("mail.example.org"), Some(2525)));
        assert_eq!((c.registries.fetch, c.registries.timeout_ms), (false, 1500));
        assert_eq!(c.registries.bases.npm, "http://127.0.0.1:4873");
        assert_eq!(c.registries.bases.pypi, "https://pypi.org", "unset keys keep their defaults");
        let c = load(&[
            ("ATR_CONFIG", p),
            ("ATR_SMTP_PORT", "587"),
            ("ATR_SMTP_HELLO", "atr.example.org"),
            ("ATR_REGISTRY_FETCH", "1"),
            ("ATR_REGISTRY_PYPI", "https://pypi.example.org/"),
        ])
        .unwrap();
        assert_eq!((c.mail.smtp_port, c.mail.smtp_hello.as_deref()), (Some(587), Some("atr.example.org")));
        assert_eq!(c.mail.smtp_host.as_deref(), Some("mail.example.org"), "the file's value stays");
        assert!(c.registries.fetch);
        assert_eq!(c.registries.bases.pypi, "https://pypi.example.org/");
        let e = format!(
            "{:#}",
            load(&[("ATR_CONFIG", p), ("ATR_REGISTRY_NPM", "http://registry.example.org")]).unwrap_err()
        );
        assert!(e.contains("`npm`") && e.contains("http:// only on a loopback address"), "{e}");
        let e = format!("{:#}", load(&[("ATR_CONFIG", p), ("ATR_SMTP_PORT", "smtp")]).unwrap_err());
        assert!(e.contains("ATR_SMTP_PORT"), "{e}");
        std::fs::write(&path, "[registries]\nnpmjs = \"https://x\"\n").unwrap();
        assert!(format!("{:#}", load(&[("ATR_CONFIG", p)]).unwrap_err()).contains("unknown field `npmjs`"));
    }
}
