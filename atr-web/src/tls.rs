//! The server's TLS certificate: a self-signed one made on first start and kept in the state directory.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// A certificate and its private key, both PEM.
#[derive(Debug)]
pub(crate) struct Certificate {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
    /// Where the files are.
    pub(crate) dir: PathBuf,
    /// Whether this start made them.
    pub(crate) created: bool,
}

impl Certificate {
    /// Loads `<dir>/cert.pem` and `<dir>/key.pem`, or makes a self-signed pair for `localhost`
    /// and `127.0.0.1` when neither exists.
    pub(crate) fn load_or_create(dir: &Path) -> anyhow::Result<Certificate> {
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Ok(Certificate {
                cert_pem: fs::read_to_string(&cert_path)
                    .with_context(|| format!("cannot read {}", cert_path.display()))?,
                key_pem: fs::read_to_string(&key_path)
                    .with_context(|| format!("cannot read {}", key_path.display()))?,
                dir: dir.to_owned(),
                created: false,
            }),
            (false, false) => {
                fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                    .context("cannot make a self-signed certificate")?;
                let cert_pem = made.cert.pem();
                let key_pem = made.signing_key.serialize_pem();
                write_new(&key_path, &key_pem, 0o600)?;
                write_new(&cert_path, &cert_pem, 0o644)?;
                Ok(Certificate { cert_pem, key_pem, dir: dir.to_owned(), created: true })
            }
            _ => anyhow::bail!(
                "only one of {} and {} exists; restore the other or delete both to make a new certificate",
                cert_path.display(),
                key_path.display()
            ),
        }
    }

    /// The SHA-256 fingerprint of the certificate (DER), as colon-separated hex.
    pub(crate) fn fingerprint(&self) -> anyhow::Result<String> {
        let b64: String = self.cert_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .context("the certificate PEM is not valid base64")?;
        let digest = Sha256::digest(&der);
        Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
    }
}

fn write_new(path: &Path, contents: &str, mode: u32) -> anyhow::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    f.sync_all().with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Certificate::load_or_create(&dir.path().join("tls")).unwrap();
        assert!(first.created);
        let second = Certificate::load_or_create(&dir.path().join("tls")).unwrap();
        assert!(!second.created);
        assert_eq!(first.fingerprint().unwrap(), second.fingerprint().unwrap());
        assert_eq!(first.fingerprint().unwrap().len(), 32 * 3 - 1);
    }

    #[test]
    fn half_a_pair_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("cert.pem"), "x").unwrap();
        let err = Certificate::load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("delete both"), "{err}");
    }
}
