//! The local identity provider: accounts in a TOML file in the state directory, argon2 password hashes.
//!
//! It answers one question, "who is this and what are their roles?", as an
//! [`atr_core::permissions::Actor`]; what an actor may do is decided by `atr-core`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore as _};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use atr_core::ids::{CommitteeKey, Uid};
use atr_core::permissions::Actor;
use serde::{Deserialize, Serialize};

/// One local account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Account {
    /// The user id.
    pub(crate) uid: Uid,
    /// The argon2id PHC string of the password.
    pub(crate) password_hash: String,
    /// Whether the account is a platform administrator.
    #[serde(default)]
    pub(crate) admin: bool,
    /// Committees the account is a member (PMC member) of.
    #[serde(default)]
    pub(crate) member_of: BTreeSet<CommitteeKey>,
    /// Committees the account is a committer (participant) of.
    #[serde(default)]
    pub(crate) committer_of: BTreeSet<CommitteeKey>,
}

impl Account {
    /// The actor this account acts as: members are participants too.
    pub(crate) fn actor(&self) -> Actor {
        let mut actor = Actor::user(self.uid.clone());
        for c in &self.committer_of {
            actor = actor.participant_of(c.clone());
        }
        for c in &self.member_of {
            actor = actor.member_of(c.clone());
        }
        if self.admin {
            actor = actor.admin();
        }
        actor
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AccountsFile {
    #[serde(default, rename = "user")]
    users: Vec<Account>,
}

/// Why a login failed. The message never says which of uid or password was wrong.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LoginError {
    /// Unknown uid or wrong password.
    #[error("unknown user id or wrong password; check both and try again")]
    BadCredentials,
}

/// The accounts file `<state>/accounts.toml`.
#[derive(Debug)]
pub(crate) struct LocalAccounts {
    path: PathBuf,
    users: Vec<Account>,
}

/// A password made for a new account, to be shown once.
#[derive(Debug)]
pub(crate) struct NewPassword {
    pub(crate) uid: Uid,
    pub(crate) password: String,
}

impl LocalAccounts {
    /// Loads the accounts file; a missing file is an empty set of accounts.
    pub(crate) fn load(path: &Path) -> anyhow::Result<LocalAccounts> {
        let users = match fs::read_to_string(path) {
            Ok(text) => {
                toml::from_str::<AccountsFile>(&text)
                    .with_context(|| format!("{} is not a valid accounts file", path.display()))?
                    .users
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(LocalAccounts { path: path.to_owned(), users })
    }

    /// Whether the file has no accounts yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The account of `uid`, if any.
    pub(crate) fn get(&self, uid: &Uid) -> Option<&Account> {
        self.users.iter().find(|a| &a.uid == uid)
    }

    /// Checks a uid and password.
    pub(crate) fn authenticate(&self, uid: &str, password: &str) -> Result<Actor, LoginError> {
        let account = Uid::new(uid).ok().and_then(|uid| self.get(&uid));
        // Verify against a fixed hash when the uid is unknown, so timing does not reveal which uids exist.
        let hash = account.map_or(DUMMY_HASH, |a| a.password_hash.as_str());
        let ok = verify_password(password, hash);
        match account {
            Some(a) if ok => Ok(a.actor()),
            _ => Err(LoginError::BadCredentials),
        }
    }

    /// Adds an account with a fresh random password (returned, to be shown once), or replaces the
    /// roles and password of an existing one, and saves the file.
    pub(crate) fn add_user(
        &mut self,
        uid: Uid,
        admin: bool,
        member_of: BTreeSet<CommitteeKey>,
        committer_of: BTreeSet<CommitteeKey>,
    ) -> anyhow::Result<NewPassword> {
        let password = random_password();
        let account = Account {
            uid: uid.clone(),
            password_hash: hash_password(&password)?,
            admin,
            member_of,
            committer_of,
        };
        match self.users.iter_mut().find(|a| a.uid == uid) {
            Some(existing) => *existing = account,
            None => self.users.push(account),
        }
        self.save()?;
        Ok(NewPassword { uid, password })
    }

    /// Writes the file atomically (temporary file, fsync, rename), readable by the owner only.
    fn save(&self) -> anyhow::Result<()> {
        let text = toml::to_string_pretty(&AccountsFile { users: self.users.clone() })
            .context("cannot encode the accounts file")?;
        let tmp = self.path.with_extension("toml.tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        fs::rename(&tmp, &self.path).with_context(|| format!("cannot replace {}", self.path.display()))
    }
}

/// A valid argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W8w3bQ3sL5m1nHc0jXqfUeRkZr1l2zC0Q7a2a3J3yCk";

/// Hashes a password with argon2id and a random salt.
pub(crate) fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A random password of 20 characters from an unambiguous alphabet (about 100 bits).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committee(s: &str) -> CommitteeKey {
        CommitteeKey::new(s).unwrap()
    }

    #[test]
    fn added_user_can_log_in_and_gets_its_roles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = LocalAccounts::load(&path).unwrap();
        assert!(accounts.is_empty());
        let new = accounts
            .add_user(Uid::new("alice").unwrap(), false, [committee("test")].into(), BTreeSet::new())
            .unwrap();

        let reloaded = LocalAccounts::load(&path).unwrap();
        let actor = reloaded.authenticate("alice", &new.password).unwrap();
        assert_eq!(actor.uid, Some(Uid::new("alice").unwrap()));
        assert!(actor.member_of.contains(&committee("test")));
        assert!(!actor.admin);
        assert_eq!(reloaded.authenticate("alice", "wrong"), Err(LoginError::BadCredentials));
        assert_eq!(reloaded.authenticate("bob", &new.password), Err(LoginError::BadCredentials));
        assert_eq!(reloaded.authenticate("../x", &new.password), Err(LoginError::BadCredentials));
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&new.password), "the password itself is never stored");
        assert!(text.contains("$argon2id$"));
    }

    #[test]
    fn adding_again_replaces_roles_and_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = LocalAccounts::load(&path).unwrap();
        let uid = Uid::new("carol").unwrap();
        let first = accounts.add_user(uid.clone(), false, BTreeSet::new(), BTreeSet::new()).unwrap();
        let second = accounts.add_user(uid, true, BTreeSet::new(), [committee("test")].into()).unwrap();
        let reloaded = LocalAccounts::load(&path).unwrap();
        assert!(reloaded.authenticate("carol", &first.password).is_err());
        let actor = reloaded.authenticate("carol", &second.password).unwrap();
        assert!(actor.admin && actor.participant_of.contains(&committee("test")));
    }

    #[test]
    fn a_broken_accounts_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        fs::write(&path, "[[user]]\nuid = 5\n").unwrap();
        let err = format!("{:#}", LocalAccounts::load(&path).unwrap_err());
        assert!(err.contains("accounts.toml") && err.contains("not a valid accounts file"), "{err}");
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("x", DUMMY_HASH));
    }
}
