//! The local identity provider: accounts in a TOML file in the state directory, argon2 password hashes.
//!
//! It answers one question, "who is this and what are their roles?", as an
//! [`atr_core::permissions::Actor`]; what an actor may do is decided by `atr-core`.
//!
//! An account holds a uid, a password hash and whether it is an administrator. Committee roles
//! live in one place only, the committee rosters in the database ([`actor_for`]): the same rows
//! decide member permissions and whether a ballot is binding, and the committee import,
//! `atr-web user add --member C` and an identity provider's login all write them.

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
    /// Roles an older version kept here; moved into the rosters by [`migrate_legacy_roles`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) member_of: BTreeSet<CommitteeKey>,
    /// As `member_of`, for committer roles.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub(crate) committer_of: BTreeSet<CommitteeKey>,
}

/// The actor `uid` acts as: its committee roles from the rosters (members take part too), and an
/// administrator when `admin`. A roster that cannot be read gives no roles (fail closed).
pub(crate) fn actor_for(storage: &atr_storage::Storage, uid: &Uid, admin: bool) -> Actor {
    let roles = storage.read(|tx| tx.roles_of(uid)).unwrap_or_else(|e| {
        tracing::error!(%uid, "cannot read the committee roles, acting without any: {e}");
        atr_storage::db::committees::PersonRoles::default()
    });
    let mut actor = Actor::user(uid.clone());
    for c in roles.participant_of {
        actor = actor.participant_of(c);
    }
    for c in roles.member_of {
        actor = actor.member_of(c);
    }
    if admin {
        actor = actor.admin();
    }
    actor
}

/// Makes `uid` a member of exactly `member_of` and a committer of exactly `committer_of` in the
/// rosters, with an audit record; returns the committees that had to be added.
pub(crate) fn set_roles(
    storage: &atr_storage::Storage,
    uid: &Uid,
    member_of: &BTreeSet<CommitteeKey>,
    committer_of: &BTreeSet<CommitteeKey>,
    by: &str,
    now: atr_core::time::Timestamp,
) -> Result<Vec<CommitteeKey>, atr_storage::StorageError> {
    storage.write(|tx| {
        let added = tx.set_roles(uid, member_of, committer_of)?;
        tx.append_audit(&atr_core::model::AuditEvent {
            id: None,
            at: now,
            actor: None,
            as_admin: true,
            action: atr_core::model::AuditAction::RosterChange,
            target: uid.to_string(),
            details: serde_json::json!({ "member_of": member_of, "committer_of": committer_of, "by": by }),
        })?;
        Ok(added)
    })
}

/// Moves the committee roles an older accounts file kept into the rosters (adding to what the
/// rosters already say) and rewrites the file without them. Returns how many accounts moved.
pub(crate) fn migrate_legacy_roles(
    storage: &atr_storage::Storage,
    path: &Path,
    now: atr_core::time::Timestamp,
) -> anyhow::Result<usize> {
    let mut accounts = LocalAccounts::load(path)?;
    let mut moved = 0;
    for a in &mut accounts.users {
        if a.member_of.is_empty() && a.committer_of.is_empty() {
            continue;
        }
        let current = storage.read(|tx| tx.roles_of(&a.uid))?;
        let members: BTreeSet<CommitteeKey> = current.member_of.union(&a.member_of).cloned().collect();
        let committers: BTreeSet<CommitteeKey> = a.committer_of.difference(&members).cloned().collect();
        set_roles(storage, &a.uid, &members, &committers, "accounts file migration", now)?;
        a.member_of.clear();
        a.committer_of.clear();
        moved += 1;
    }
    if moved > 0 {
        accounts.save()?;
    }
    Ok(moved)
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

    /// Checks a uid and password; the account's uid on success.
    pub(crate) fn authenticate(&self, uid: &str, password: &str) -> Result<Uid, LoginError> {
        let account = Uid::new(uid).ok().and_then(|uid| self.get(&uid));
        // Verify against a fixed hash when the uid is unknown, so timing does not reveal which uids exist.
        let hash = account.map_or(DUMMY_HASH, |a| a.password_hash.as_str());
        let ok = verify_password(password, hash);
        match account {
            Some(a) if ok => Ok(a.uid.clone()),
            _ => Err(LoginError::BadCredentials),
        }
    }

    /// Adds an account with a fresh random password (returned, to be shown once), or replaces the
    /// administrator flag and password of an existing one, and saves the file. Committee roles are
    /// set in the rosters ([`set_roles`]).
    pub(crate) fn add_user(&mut self, uid: Uid, admin: bool) -> anyhow::Result<NewPassword> {
        let password = random_password();
        let account = Account {
            uid: uid.clone(),
            password_hash: hash_password(&password)?,
            admin,
            member_of: BTreeSet::new(),
            committer_of: BTreeSet::new(),
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
    fn added_user_can_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = LocalAccounts::load(&path).unwrap();
        assert!(accounts.is_empty());
        let new = accounts.add_user(Uid::new("alice").unwrap(), false).unwrap();

        let reloaded = LocalAccounts::load(&path).unwrap();
        assert_eq!(reloaded.authenticate("alice", &new.password), Ok(Uid::new("alice").unwrap()));
        assert!(!reloaded.get(&Uid::new("alice").unwrap()).unwrap().admin);
        assert_eq!(reloaded.authenticate("alice", "wrong"), Err(LoginError::BadCredentials));
        assert_eq!(reloaded.authenticate("bob", &new.password), Err(LoginError::BadCredentials));
        assert_eq!(reloaded.authenticate("../x", &new.password), Err(LoginError::BadCredentials));
        let text = fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&new.password), "the password itself is never stored");
        assert!(text.contains("$argon2id$"));
    }

    #[test]
    fn adding_again_replaces_the_admin_flag_and_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("accounts.toml");
        let mut accounts = LocalAccounts::load(&path).unwrap();
        let uid = Uid::new("carol").unwrap();
        let first = accounts.add_user(uid.clone(), false).unwrap();
        let second = accounts.add_user(uid.clone(), true).unwrap();
        let reloaded = LocalAccounts::load(&path).unwrap();
        assert!(reloaded.authenticate("carol", &first.password).is_err());
        assert!(reloaded.authenticate("carol", &second.password).is_ok());
        assert!(reloaded.get(&uid).unwrap().admin);
    }

    /// Finding 5 of the trust-chain issue: roles given to an account used to live beside the
    /// committee roster, so a member for permissions could cast non-binding ballots. Now the
    /// roster is the one record, and roles an older accounts file kept move into it.
    #[test]
    fn roles_live_in_the_roster_and_legacy_roles_move_there() {
        let dir = tempfile::tempdir().unwrap();
        let storage = atr_storage::Storage::open(dir.path().join("state")).unwrap();
        let path = dir.path().join("accounts.toml");
        let now = atr_core::time::Timestamp::from_unix(1_800_000_000);
        fs::write(
            &path,
            format!(
                "[[user]]\nuid = \"dave\"\npassword_hash = \"{DUMMY_HASH}\"\nmember_of = [\"test\"]\ncommitter_of = [\"other\"]\n"
            ),
        )
        .unwrap();
        let dave = Uid::new("dave").unwrap();
        assert!(actor_for(&storage, &dave, false).member_of.is_empty());
        assert_eq!(migrate_legacy_roles(&storage, &path, now).unwrap(), 1);
        let actor = actor_for(&storage, &dave, false);
        assert!(actor.member_of.contains(&committee("test")));
        assert!(actor.participant_of.contains(&committee("other")));
        let roster = storage.read(|tx| tx.committee(&committee("test"))).unwrap().unwrap();
        assert_eq!(roster.members, std::slice::from_ref(&dave), "the roster the ballots read says the same");
        assert!(!fs::read_to_string(&path).unwrap().contains("member_of"), "the file no longer holds roles");
        assert_eq!(migrate_legacy_roles(&storage, &path, now).unwrap(), 0);
        // Setting roles replaces them; the audit log records it.
        set_roles(&storage, &dave, &BTreeSet::new(), &[committee("test")].into(), "test", now).unwrap();
        let actor = actor_for(&storage, &dave, true);
        assert!(
            actor.member_of.is_empty() && actor.participant_of.contains(&committee("test")) && actor.admin
        );
        let events = storage.read(|tx| tx.audit_events_for("dave")).unwrap();
        assert_eq!(events.len(), 2);
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
