//! Apache KEYS files: free text with many armored OpenPGP certificates, parsed certificate by certificate.
//!
//! Real KEYS files are messy: old PGP 2 (version 3) keys, comments, `gpg --list-keys` output
//! between blocks. [`Keyring::parse`] never rejects the whole file: each armored block is parsed on
//! its own and what cannot be used is recorded as a [`SkippedKey`] (reported as a `note`).
//! Parse a committee's KEYS once and reuse the [`Keyring`] for every signature.
//!
//! ```
//! use atr_checks::keys::Keyring;
//! let ring = Keyring::parse(b"pub   rsa4096 2019-01-01\nno key here\n");
//! assert!(ring.certs().is_empty());
//! assert!(ring.skipped().is_empty());
//! ```

use std::path::Path;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use sequoia_openpgp as openpgp;

use openpgp::Cert;
use openpgp::cert::CertParser;
use openpgp::parse::Parse;

use crate::context::Limits;
use crate::error::{CheckError, read_limited};

const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";
const BEGIN_PRIVATE: &str = "-----BEGIN PGP PRIVATE KEY BLOCK-----";

/// A set of OpenPGP certificates (a committee's keys), parsed once and reused.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    certs: Vec<Cert>,
    skipped: Vec<SkippedKey>,
    blocks: usize,
}

/// Something in a KEYS file that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// 1-based number of the armored block in the file.
    pub block: usize,
    /// 1-based line where the block starts.
    pub line: usize,
    /// Why it was skipped, phrased for a release manager.
    pub reason: String,
}

impl Keyring {
    /// Parses a KEYS file (or a single armored key, or a binary keyring). Never fails: unusable parts are skipped.
    pub fn parse(bytes: &[u8]) -> Keyring {
        let text = String::from_utf8_lossy(bytes);
        let mut ring = Keyring::default();
        let mut in_block: Option<(usize, String)> = None;
        let mut saw_armor = false;
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with(BEGIN_PRIVATE) {
                saw_armor = true;
                ring.blocks += 1;
                ring.skipped.push(SkippedKey {
                    block: ring.blocks,
                    line: i + 1,
                    reason: "this block is a PRIVATE key; it was ignored, remove it from the KEYS file at once and revoke the key if it was published".into(),
                });
                continue;
            }
            if trimmed.starts_with(BEGIN) {
                saw_armor = true;
                if let Some((start, block)) = in_block.take() {
                    // A block without END: parse what we have, then start the new one.
                    ring.add_block(start, &block);
                }
                in_block = Some((i + 1, format!("{trimmed}\n")));
                continue;
            }
            if let Some((_, block)) = in_block.as_mut() {
                block.push_str(line);
                block.push('\n');
                if trimmed.starts_with(END) {
                    let (start, block) = in_block.take().unwrap_or_default();
                    ring.add_block(start, &block);
                }
            }
        }
        if let Some((start, block)) = in_block.take() {
            ring.add_block(start, &block);
        }
        if !saw_armor && !bytes.is_empty() && !bytes.is_ascii() {
            // A binary keyring (`gpg --export` without --armor).
            ring.add_parsed(1, 1, bytes);
        }
        ring
    }

    /// Reads and parses a KEYS file, refusing files over `limits.max_keys_bytes`.
    pub fn from_file(path: &Path, limits: &Limits) -> Result<Keyring, CheckError> {
        Ok(Keyring::parse(&read_limited(path, limits.max_keys_bytes, "KEYS")?))
    }

    /// A keyring holding exactly these certificates.
    pub fn from_certs(certs: Vec<Cert>) -> Keyring {
        Keyring { blocks: certs.len(), certs, skipped: Vec::new() }
    }

    fn add_block(&mut self, start_line: usize, block: &str) {
        self.blocks += 1;
        let block_no = self.blocks;
        self.add_parsed(block_no, start_line, block.as_bytes());
    }

    fn add_parsed(&mut self, block: usize, line: usize, bytes: &[u8]) {
        let parser = match CertParser::from_bytes(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.skipped.push(SkippedKey { block, line, reason: explain(&e) });
                return;
            }
        };
        let mut any = false;
        for r in parser {
            any = true;
            match r {
                Ok(cert) => self.certs.push(cert),
                Err(e) => self.skipped.push(SkippedKey { block, line, reason: explain(&e) }),
            }
        }
        if !any {
            self.skipped.push(SkippedKey {
                block,
                line,
                reason: "the block holds no OpenPGP certificate; remove it or paste the output of `gpg --armor --export FINGERPRINT`".into(),
            });
        }
    }

    /// The usable certificates.
    pub fn certs(&self) -> &[Cert] {
        &self.certs
    }

    /// What was skipped.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Number of armored blocks seen.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// One `note` per skipped key (for the signature checker, about the whole revision).
    pub fn notes(&self) -> Vec<CheckResult> {
        self.skipped
            .iter()
            .map(|s| {
                CheckResult::new(
                    CheckerId::SIGNATURE,
                    CheckStatus::Note,
                    None,
                    format!("KEYS block {} (line {}) was skipped: {}.", s.block, s.line, s.reason),
                )
                .with_data(serde_json::json!({ "keys_block": s.block, "keys_line": s.line }))
            })
            .collect()
    }
}

fn explain(e: &openpgp::anyhow::Error) -> String {
    let text = format!("{e:#}");
    if text.contains("unknown version")
        || text.contains("version 3")
        || text.contains("Unsupported primary key")
    {
        format!(
            "it is an old PGP 2 (version 3) key, which cannot verify modern signatures ({text}); its owner should remove it from KEYS and use a current key"
        )
    } else {
        format!(
            "it cannot be parsed as an OpenPGP certificate ({text}); re-export it with `gpg --armor --export FINGERPRINT`"
        )
    }
}
