//! The web's operations: each loads what `atr-core` needs from storage, asks the core (which checks
//! permissions and guards), and carries out the accepted transition's effects through storage.
//! No rule is decided here; every refusal comes from `atr-core` (or a storage guard).

use atr_core::ids::{ProjectKey, ReleaseKey, VersionKey};
use atr_core::lifecycle::{Command, Effect, apply};
use atr_core::model::{ReleasePhase, Revision};
use atr_core::permissions::{Action, Actor, authorise};
use atr_core::time::Timestamp;
use atr_storage::{Base, InterimDir, NewRevision, Storage, StorageError};

use crate::error::WebError;

/// Refuses early (before any upload is read) unless `actor` may change the files of the project's releases.
pub(crate) fn authorise_project(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    action: Action,
) -> Result<atr_core::model::Project, WebError> {
    let p = s
        .read(|tx| tx.project(project))?
        .ok_or_else(|| WebError::not_found(format!("There is no project `{project}`.")))?;
    authorise(actor, action, &p.committee_key)?;
    Ok(p)
}

/// Starts a draft of `version` with its empty first revision; returns the release key.
pub(crate) fn start_release(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: VersionKey,
    now: Timestamp,
) -> Result<ReleaseKey, WebError> {
    let state = s.release_state(project, &version, now)?;
    let t = apply(&state, Command::Start { version: version.clone() }, actor, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    // The release row and audit record first, then revision 00001, whose check tasks storage
    // plans in the transaction of the revision row (so no task names a revision that does not
    // exist, and results of identical earlier runs are reused).
    let mut without_tasks = t.clone();
    without_tasks.effects.retain(|e| !matches!(e, Effect::EnqueueTask(_)));
    s.write(|tx| tx.record_transition(&state, &without_tasks, now))?;
    let description = t
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::CreateRevision { description, .. } => Some(description.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "Creation of empty release candidate draft".to_owned());
    let req = NewRevision::new(project.clone(), version.clone(), uid, now, description)
        .with_base(Base::Empty)
        .in_phases(&[ReleasePhase::Draft]);
    s.create_draft_revision(&req, |_| Ok::<_, StorageError>(()))?;
    Ok(ReleaseKey::new(project.clone(), version))
}

/// Makes a new draft revision: `change` edits a copy of the latest revision; the core then decides
/// on the resulting file list (permission, phase, latest revision), and storage queues the planned
/// checks in the transaction that records the revision. Refused changes leave nothing behind.
pub(crate) fn add_revision(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    description: &str,
    now: Timestamp,
    change: impl FnOnce(&mut InterimDir<'_>) -> Result<(), WebError>,
) -> Result<Revision, WebError> {
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let grant = authorise(actor, Action::AddRevision, &state.project.committee_key)?;
    let mut req = NewRevision::new(project.clone(), version.clone(), uid, now, description)
        .in_phases(&[ReleasePhase::Draft]);
    req.as_admin = grant.as_admin;
    if let Some(n) = state.latest_revision {
        req = req.expecting_latest(n);
    }
    // The core decides on the resulting file list; storage then plans and queues the checks
    // (reusing results of unchanged files) in the transaction that records the revision.
    let (revision, (), _planned) = s.create_draft_revision(&req, |dir| {
        change(dir)?;
        let files = dir.files()?.into_iter().collect();
        let command = Command::AddRevision {
            files,
            description: description.to_owned(),
            expected_latest: state.latest_revision,
        };
        apply(&state, command, actor, now)?;
        Ok::<_, WebError>(())
    })?;
    Ok(revision)
}

/// Deletes a release (permission and phase decided by the core: an announced one only by an
/// administrator, which also takes its files out of the download area), its rows and its
/// directories, with the core's audit record. Returns the download paths removed.
pub(crate) fn delete_release(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    now: Timestamp,
) -> Result<Vec<String>, WebError> {
    let state = s.release_state(project, version, now)?;
    let t = apply(&state, Command::Delete, actor, now)?;
    let unpublish = t.effects.iter().any(|e| matches!(e, Effect::DeleteRelease { remove_downloads: true }));
    let area = unpublish.then_some((&state.project.committee_key, state.project.is_podling));
    Ok(s.delete_release_as(project, version, &t.audit, area)?)
}

/// The audit record of a change made by `actor` outside the lifecycle (ignores, keys, tokens, policy).
pub(crate) fn audit_event(
    actor: &Actor,
    as_admin: bool,
    action: atr_core::model::AuditAction,
    target: String,
    details: serde_json::Value,
    now: Timestamp,
) -> atr_core::model::AuditEvent {
    atr_core::model::AuditEvent {
        id: None,
        at: now,
        actor: actor.uid.clone(),
        as_admin,
        action,
        target,
        details,
    }
}

/// What to do with a project's ignore rules.
#[derive(Debug)]
pub(crate) enum IgnoreChange {
    /// Add a rule.
    Add(atr_core::model::CheckResultIgnore),
    /// Replace rule `id` by a new one.
    Update(i64, atr_core::model::CheckResultIgnore),
    /// Delete rule `id`.
    Delete(i64),
}

/// Adds, replaces or deletes an ignore rule of `project`: committee members only (core rule),
/// the rule validated by the core, and the change audited in the same transaction.
pub(crate) fn change_ignore(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    change: IgnoreChange,
    now: Timestamp,
) -> Result<(), WebError> {
    let p = authorise_project(s, actor, project, Action::ManageIgnores)?;
    let grant = authorise(actor, Action::ManageIgnores, &p.committee_key)?;
    if let IgnoreChange::Add(rule) | IgnoreChange::Update(_, rule) = &change {
        if rule.reason.trim().is_empty() {
            return Err(WebError::invalid(
                "Give a reason for the ignore rule, so reviewers know why results are hidden.",
            ));
        }
        rule.validate().map_err(|e| WebError::invalid(format!("The rule was not saved: {e}.")))?;
    }
    s.write(|tx| {
        let (what, id) = match &change {
            IgnoreChange::Add(r) => ("add", tx.insert_ignore(r)?),
            IgnoreChange::Update(id, r) => {
                tx.delete_ignore(project, *id)?;
                ("update", tx.insert_ignore(r)?)
            }
            IgnoreChange::Delete(id) => {
                tx.delete_ignore(project, *id)?;
                ("delete", *id)
            }
        };
        let details = serde_json::json!({ "change": what, "id": id });
        let event = audit_event(
            actor,
            grant.as_admin,
            atr_core::model::AuditAction::IgnoreChange,
            project.to_string(),
            details,
            now,
        );
        tx.append_audit(&event).map(|_| ())
    })?;
    Ok(())
}

/// Stores the OpenPGP keys found in `text` and links them to `committee` (if given, which needs
/// committer status there). `single` requires exactly one key (the "add a key" form). Returns the
/// stored fingerprints and a message per part that could not be used.
pub(crate) fn add_signing_keys(
    s: &Storage,
    actor: &Actor,
    text: &[u8],
    committee: Option<&atr_core::ids::CommitteeKey>,
    single: bool,
    now: Timestamp,
) -> Result<(Vec<atr_core::model::Fingerprint>, Vec<String>), WebError> {
    if actor.uid.is_none() {
        return Err(WebError::unauthenticated());
    }
    let mut as_admin = false;
    if let Some(c) = committee {
        if s.read(|tx| tx.committee(c))?.is_none() {
            return Err(WebError::not_found(format!("There is no committee `{c}`.")));
        }
        as_admin = authorise(actor, Action::ManageCommitteeKeys, c)?.as_admin;
    }
    let (keys, errors) = crate::keyinfo::parse(text);
    if single && keys.len() != 1 {
        return Err(WebError::invalid(format!(
            "Expected exactly one OpenPGP public key block, found {} usable keys{}; paste one ASCII-armored key.",
            keys.len(),
            if errors.is_empty() { String::new() } else { format!(" ({})", errors.join("; ")) }
        )));
    }
    if keys.is_empty() {
        return Err(WebError::invalid(format!(
            "No usable OpenPGP key was found{}.",
            if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) }
        )));
    }
    let fingerprints: Vec<_> = keys.iter().map(|k| k.fingerprint.clone()).collect();
    s.write(|tx| {
        for k in &keys {
            tx.upsert_signing_key(k)?;
            if let Some(c) = committee {
                tx.link_key(&atr_core::model::KeyLink {
                    committee_key: c.clone(),
                    fingerprint: k.fingerprint.clone(),
                })?;
            }
        }
        let details = serde_json::json!({
            "change": "add",
            "fingerprints": fingerprints.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "committee": committee.map(|c| c.as_str()),
        });
        let target = committee.map_or_else(|| "keys".to_owned(), |c| c.to_string());
        tx.append_audit(&audit_event(
            actor,
            as_admin,
            atr_core::model::AuditAction::KeyChange,
            target,
            details,
            now,
        ))
    })?;
    Ok((fingerprints, errors))
}

/// Deletes an OpenPGP key bound to the actor's own uid (admins may delete any).
pub(crate) fn delete_signing_key(
    s: &Storage,
    actor: &Actor,
    fingerprint: &atr_core::model::Fingerprint,
    now: Timestamp,
) -> Result<(), WebError> {
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let key = s
        .read(|tx| tx.signing_key(fingerprint))?
        .ok_or_else(|| WebError::not_found(format!("There is no key {}.", fingerprint.to_uppercase())))?;
    let own = key.apache_uid.as_ref() == Some(&uid);
    if !own && !actor.admin {
        return Err(WebError::forbidden(format!(
            "Cannot delete key {}: it is not bound to {uid} (its user IDs name no {uid}@apache.org address). Ask its owner or an administrator.",
            fingerprint.to_uppercase()
        )));
    }
    s.write(|tx| {
        tx.delete_signing_key(fingerprint)?;
        let details = serde_json::json!({ "change": "delete", "fingerprint": fingerprint.as_str() });
        tx.append_audit(&audit_event(
            actor,
            !own,
            atr_core::model::AuditAction::KeyChange,
            "keys".to_owned(),
            details,
            now,
        ))
    })?;
    Ok(())
}

/// The `SHA256:…` fingerprint of an OpenSSH public key line, or why it is not one.
pub(crate) fn ssh_fingerprint(line: &str) -> Result<String, WebError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    const TYPES: [&str; 6] = [
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
    ];
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err(WebError::invalid(
            "An SSH public key is one line: `ssh-ed25519 AAAA… comment`; paste the .pub file.",
        ));
    };
    if !TYPES.contains(&kind) {
        return Err(WebError::invalid(format!(
            "`{}` is not a supported SSH key type; use one of {}.",
            kind.escape_debug(),
            TYPES.join(", ")
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(blob).map_err(|_| {
        WebError::invalid("The SSH key's base64 part is damaged; paste the whole .pub file line.")
    })?;
    let embedded = bytes.get(4..).and_then(|rest| {
        let n = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        rest.get(..n)
    });
    if embedded != Some(kind.as_bytes()) {
        return Err(WebError::invalid(format!(
            "The SSH key data does not match its type `{kind}`; paste the .pub file line unchanged."
        )));
    }
    let digest = sha2::Sha256::digest(&bytes);
    Ok(format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)))
}

/// Adds or deletes one of the actor's SSH keys (for rsync uploads), audited.
pub(crate) fn change_ssh_key(
    s: &Storage,
    actor: &Actor,
    add: Option<&str>,
    delete: Option<&str>,
    now: Timestamp,
) -> Result<String, WebError> {
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    s.write(|tx| {
        let (change, fp) = match (add, delete) {
            (Some(line), _) => {
                let fp = ssh_fingerprint(line)?;
                let key = line.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
                tx.insert_ssh_key(&atr_core::model::SshKey {
                    fingerprint: fp.clone(),
                    key,
                    asf_uid: uid.clone(),
                })?;
                ("add", fp)
            }
            (None, Some(fp)) => {
                tx.delete_ssh_key(&uid, fp)?;
                ("delete", fp.to_owned())
            }
            (None, None) => return Err(WebError::bad_request("Nothing to change.")),
        };
        let details = serde_json::json!({ "change": change, "fingerprint": fp });
        tx.append_audit(&audit_event(
            actor,
            false,
            atr_core::model::AuditAction::SshKeyChange,
            uid.to_string(),
            details,
            now,
        ))?;
        Ok(fp)
    })
}

/// The most days a personal access token may live.
pub(crate) const MAX_TOKEN_DAYS: u32 = 180;

/// Creates a personal access token for the actor; returns the token (shown once; only its SHA3-256 is stored).
pub(crate) fn create_token(
    s: &Storage,
    actor: &Actor,
    label: &str,
    days: u32,
    now: Timestamp,
) -> Result<String, WebError> {
    use argon2::password_hash::rand_core::{OsRng, RngCore as _};
    use base64::Engine as _;
    use sha3::Digest as _;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(WebError::invalid(format!("A token lives 1 to {MAX_TOKEN_DAYS} days, not {days}.")));
    }
    let label = label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(WebError::invalid(
            "Give the token a label of 1 to 100 characters, such as `release laptop`.",
        ));
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash: String = sha3::Sha3_256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let pat = atr_core::model::PersonalAccessToken {
        id: None,
        asfuid: uid.clone(),
        token_hash: hash,
        created: now,
        expires: now.plus_hours(days * 24),
        last_used: None,
        label: label.to_owned(),
    };
    s.write(|tx| {
        let id = tx.insert_token(&pat)?;
        let details = serde_json::json!({ "change": "create", "id": id, "label": label, "days": days });
        tx.append_audit(&audit_event(
            actor,
            false,
            atr_core::model::AuditAction::TokenChange,
            uid.to_string(),
            details,
            now,
        ))
    })?;
    Ok(token)
}

/// Deletes one of the actor's tokens.
pub(crate) fn delete_token(s: &Storage, actor: &Actor, id: i64, now: Timestamp) -> Result<(), WebError> {
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    s.write(|tx| {
        tx.delete_token(&uid, id)?;
        let details = serde_json::json!({ "change": "delete", "id": id });
        tx.append_audit(&audit_event(
            actor,
            false,
            atr_core::model::AuditAction::TokenChange,
            uid.to_string(),
            details,
            now,
        ))
    })?;
    Ok(())
}

/// The default body of a `[VOTE]` mail when the policy has no template (ATR's, §9).
pub(crate) const DEFAULT_VOTE_TEMPLATE: &str = "Hello [COMMITTEE],\n\n\
I'd like to call a vote on releasing the following artifacts as Apache [PROJECT] [VERSION].\n\n\
The release candidate page, including downloads, can be found at:\n\n  [REVIEW_URL]\n\n\
The release artifacts are signed with one or more OpenPGP keys from:\n\n  [KEYS_FILE]\n\n\
Please review the release candidate and vote accordingly.\n\n\
[ ] +1 Release this package\n[ ] +0 Abstain\n[ ] -1 Do not release this package (please provide specific comments)\n\n\
[HOW_TO_VOTE]\n\n\
This vote will remain open for [DURATION] hours.\n\n[RELEASE_CHECKLIST]\n\
Thanks,\n[YOUR_FULL_NAME] ([YOUR_ASF_ID])\n";

/// How the vote mail tells people to vote, by the policy's vote mode.
fn how_to_vote(mode: atr_core::model::VoteMode) -> &'static str {
    match mode {
        atr_core::model::VoteMode::Trusted => {
            "Vote on the platform at the URL above: members' votes there are binding and tallied live. You may also reply to this email."
        }
        atr_core::model::VoteMode::Email => {
            "Vote by replying to this email; the tally is read from this thread in the list archive."
        }
        atr_core::model::VoteMode::Manual => {
            "Vote by replying to this email; the release manager records the result."
        }
    }
}

/// The SHA-512 (hex) of every artifact of revision `n`, by path.
pub(crate) fn artifact_digests(
    s: &Storage,
    policy: &atr_core::model::ReleasePolicy,
    project: &ProjectKey,
    version: &VersionKey,
    n: atr_core::ids::RevisionNumber,
) -> Result<Vec<(atr_core::path::RelPath, String)>, WebError> {
    let classes = policy.classification_policy().unwrap_or_default();
    let root = s.layout().revision(project, version, n);
    let mut out = Vec::new();
    for path in s.revision_files(project, version, n)? {
        if !atr_core::classify::classify(&path, &classes).class.is_artifact() {
            continue;
        }
        let digest = file_sha512(&root.join(path.as_str()))?;
        out.push((path, digest));
    }
    Ok(out)
}

/// Replaces the `[NAME]` placeholders of `template` by `values`.
pub(crate) fn fill_template(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("[{name}]"), value);
    }
    out
}

/// The body of the `[VOTE]` mail: the policy's template with its placeholders filled, then the
/// revision voted on and the SHA-512 of every artifact, so voters know exactly what they vote on.
pub(crate) fn vote_mail_body(
    s: &Storage,
    state: &atr_core::lifecycle::ReleaseState,
    uid: &atr_core::ids::Uid,
    hours: u32,
) -> Result<String, WebError> {
    Ok(vote_mail_text(s, state, uid, hours, &CustomMail::default())?.1)
}

/// The text a release manager gave for a lifecycle mail instead of the policy's template (the API's
/// `subject` and `body`); placeholders are filled as in the templates.
#[derive(Debug, Clone, Default)]
pub(crate) struct CustomMail {
    /// Subject line (`None` or blank: the core's).
    pub(crate) subject: Option<String>,
    /// Body template (`None` or blank: the policy's).
    pub(crate) body: Option<String>,
}

impl CustomMail {
    fn subject(&self) -> Result<Option<&str>, WebError> {
        let subject = self.subject.as_deref().filter(|t| !t.trim().is_empty());
        if subject.is_some_and(|t| t.chars().any(char::is_control)) {
            return Err(WebError::invalid("The mail subject must be one line without control characters."));
        }
        Ok(subject)
    }

    fn body(&self) -> Option<&str> {
        self.body.as_deref().filter(|t| !t.trim().is_empty())
    }
}

/// Subject (`None`: the core's) and body of the `[VOTE]` mail, from `custom` or the policy.
fn vote_mail_text(
    s: &Storage,
    state: &atr_core::lifecycle::ReleaseState,
    uid: &atr_core::ids::Uid,
    hours: u32,
    custom: &CustomMail,
) -> Result<(Option<String>, String), WebError> {
    let release = state.release.as_ref().ok_or_else(|| WebError::not_found("There is no such release."))?;
    let n = state.latest_revision.ok_or_else(|| WebError::invalid("The release has no revision yet."))?;
    let policy = &state.project.policy;
    let template = if let Some(body) = custom.body() {
        body
    } else if policy.start_vote_template.trim().is_empty() {
        DEFAULT_VOTE_TEMPLATE
    } else {
        policy.start_vote_template.as_str()
    };
    let committee = &state.project.committee_key;
    let has_keys = !s.read(|tx| tx.signing_keys_of_committee(committee))?.is_empty();
    let keys_file = if has_keys {
        format!("{}/keys/export/{committee}", site_origin(s))
    } else {
        "[Sorry, the KEYS file is missing!]".to_owned()
    };
    let (p, v) = (&release.project_key, &release.version_key);
    let values = [
        ("COMMITTEE", committee.to_string()),
        ("DURATION", hours.to_string()),
        ("HOW_TO_VOTE", how_to_vote(policy.vote_mode).to_owned()),
        ("KEYS_FILE", keys_file),
        ("PROJECT", state.project.project_name.clone()),
        ("RELEASE_CHECKLIST", policy.release_checklist.clone()),
        ("REVIEW_URL", format!("{}/vote/{p}/{v}", site_origin(s))),
        ("VERSION", v.to_string()),
        ("YOUR_ASF_ID", uid.to_string()),
        ("YOUR_FULL_NAME", uid.to_string()),
    ];
    let subject = custom.subject()?.map(|t| fill_template(t, &values));
    let body = fill_template(template, &values);
    let mut out = body.trim_end().to_owned();
    out.push_str(&format!("\n\nThis vote is on revision {n} of {p}-{v}. SHA-512 of each artifact:\n\n"));
    for (path, digest) in artifact_digests(s, policy, p, v, n)? {
        out.push_str(&format!("{digest}  {path}\n"));
    }
    Ok((subject, out))
}

/// What starting a vote asks for.
#[derive(Debug, Clone)]
pub(crate) struct StartVoteRequest {
    /// The revision the release manager looked at.
    pub(crate) revision: Option<atr_core::ids::RevisionNumber>,
    /// The mailing list (one of the permitted recipients).
    pub(crate) email_to: String,
    /// Vote length in hours (`None`: the policy's).
    pub(crate) duration_hours: Option<u32>,
    /// Checkers whose concerns were acknowledged.
    pub(crate) concerns_noted: std::collections::BTreeSet<String>,
}

/// The public origin links in mails point to (configured with the mail settings).
pub(crate) fn site_origin(s: &Storage) -> String {
    s.mail_settings().site_origin
}

/// Sends the mail of a lifecycle step in its own transaction (see [`deliver_in`]).
fn deliver(
    s: &Storage,
    mail: &atr_core::lifecycle::Mail,
    body: String,
    to: &str,
    in_reply_to: Option<String>,
    now: Timestamp,
) -> Result<atr_storage::outbox::Delivered, WebError> {
    s.write(|tx| deliver_in(s, tx, mail, body, to, in_reply_to, now))
}

/// Sends the mail of a lifecycle step: into the outbox and the list's archive, and queued for the
/// SMTP relay in `tx` when one is configured.
fn deliver_in(
    s: &Storage,
    tx: &atr_storage::db::Tx<'_>,
    mail: &atr_core::lifecycle::Mail,
    body: String,
    to: &str,
    in_reply_to: Option<String>,
    now: Timestamp,
) -> Result<atr_storage::outbox::Delivered, WebError> {
    let out = atr_storage::outbox::OutgoingMail {
        from: format!("{}@apache.org", mail.from),
        from_name: mail.from.to_string(),
        to: vec![to.to_owned()],
        subject: mail.subject.clone(),
        body,
        in_reply_to,
        date: now,
    };
    s.send_mail(tx, &out, &[to]).map_err(|e| WebError::invalid(format!("The mail was not sent: {e}.")))
}

/// Starts the vote on the latest draft revision (every guard in the core): the phase change and
/// its audit record (with the acknowledged concerns) are written, then the `[VOTE]` mail built
/// from the policy template is delivered to the chosen list.
pub(crate) fn start_vote(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    req: StartVoteRequest,
    now: Timestamp,
) -> Result<VoteStarted, WebError> {
    start_vote_with(s, actor, project, version, req, &CustomMail::default(), now)
}

/// A started vote: its mail and when it ends.
#[derive(Debug, Clone)]
pub(crate) struct VoteStarted {
    /// The Message-ID of the `[VOTE]` mail (`None` when no mail went to a list).
    pub(crate) message_id: Option<String>,
    /// The mail's recipient and subject.
    pub(crate) email_to: String,
    pub(crate) subject: String,
    /// The end of the vote period.
    pub(crate) vote_end: Timestamp,
}

/// [`start_vote`] with the subject and body template given by the release manager (the API).
pub(crate) fn start_vote_with(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    req: StartVoteRequest,
    custom: &CustomMail,
    now: Timestamp,
) -> Result<VoteStarted, WebError> {
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let hours = req
        .duration_hours
        .unwrap_or(state.project.policy.min_hours.max(atr_core::model::policy::DEFAULT_MIN_HOURS));
    let (subject, body) = if state.release.as_ref().is_some_and(|r| r.phase == ReleasePhase::Draft)
        && state.latest_revision.is_some()
    {
        let (subject, body) = vote_mail_text(s, &state, &uid, hours, custom)?;
        (subject, Some(body))
    } else {
        (None, None)
    };
    let command = Command::StartVote {
        revision: req.revision,
        duration_hours: Some(hours),
        email_to: Some(req.email_to.clone()),
        subject,
        body,
        concerns_noted: req.concerns_noted,
    };
    let email_to = req.email_to.clone();
    let t = apply(&state, command, actor, now)?;
    s.write(|tx| {
        tx.record_transition(&state, &t, now)?;
        let mut started = VoteStarted {
            message_id: None,
            email_to,
            subject: String::new(),
            vote_end: now.plus_hours(hours),
        };
        for mail in t.mails() {
            if let atr_core::lifecycle::MailTo::List(to) = &mail.to {
                let body = mail.body.clone().unwrap_or_default();
                let id = deliver_in(s, tx, mail, body, to, None, now)?.message_id;
                tx.set_vote_message_id(project, version, &id)?;
                started.message_id = Some(id);
                started.subject.clone_from(&mail.subject);
            }
        }
        Ok::<_, WebError>(started)
    })
}

/// Records a ballot cast in the app (trusted vote mode) by `actor`, with who, when and the revision.
pub(crate) fn cast_ballot(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    choice: atr_core::model::VoteChoice,
    comment: String,
    now: Timestamp,
) -> Result<atr_core::model::Ballot, WebError> {
    let state = s.release_state(project, version, now)?;
    let (mut ballot, audit) = atr_core::lifecycle::cast_ballot(&state, actor, choice, comment, now)?;
    let artifacts = artifact_digests(s, &state.project.policy, project, version, ballot.revision_number)?;
    let digest = manifest_digest(&artifacts);
    ballot.manifest_digest = Some(digest.clone());
    s.write(|tx| {
        tx.insert_ballot(project, version, &ballot)?;
        tx.append_audit(&audit)
    })?;
    // The receipt: to the voter only, naming the revision and the artifacts' digests voted on.
    let uid = uid_of(actor)?;
    let mut body = format!(
        "Your {} vote {} on {project}-{version} revision {} was recorded at {now}.\n\n\
         Manifest digest (SHA-256 of the sorted \"path NUL sha512\" lines below): {digest}\n\n\
         The artifacts of that revision (SHA-512):\n\n",
        if ballot.binding { "binding" } else { "non-binding" },
        ballot.choice.as_str(),
        ballot.revision_number,
    );
    for (path, sha512) in &artifacts {
        body.push_str(&format!("{sha512}  {path}\n"));
    }
    let receipt = atr_storage::outbox::OutgoingMail {
        from: format!("{uid}@apache.org"),
        from_name: String::new(),
        to: vec![format!("{uid}@apache.org")],
        subject: format!("Your vote on {project}-{version}: {}", ballot.choice.as_str()),
        body,
        in_reply_to: None,
        date: now,
    };
    s.write(|tx| {
        s.send_mail(tx, &receipt, &[])
            .map_err(|e| WebError::invalid(format!("The receipt was not sent: {e}.")))
    })?;
    Ok(ballot)
}

/// The SHA-256 (lowercase hex) of the artifact manifest of a revision
/// ([`atr_core::model::manifest_text`] of its `(path, SHA-512)` pairs), stored with trusted ballots.
pub(crate) fn manifest_digest(artifacts: &[(atr_core::path::RelPath, String)]) -> String {
    use sha2::Digest as _;
    let text = atr_core::model::manifest_text(artifacts.iter().map(|(p, d)| (p.as_str(), d.as_str())));
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn uid_of(actor: &Actor) -> Result<atr_core::ids::Uid, WebError> {
    actor.uid.clone().ok_or_else(WebError::unauthenticated)
}

/// The Message-ID of the latest `[VOTE]` mail of `release` in the archive of `list`, if any.
pub(crate) fn vote_thread(s: &Storage, list: &str, subject: &str) -> Option<String> {
    let path = s.list_archive(list).ok()?;
    let bytes = std::fs::read(path).ok()?;
    let messages = atr_core::tabulate::parse_mbox(&bytes).ok()?;
    messages.into_iter().rev().find(|m| m.subject == subject).map(|m| m.message_id)
}

/// What resolving a vote asks for.
#[derive(Debug, Clone)]
pub(crate) struct ResolveRequest {
    /// Passed, failed or cancelled.
    pub(crate) resolution: atr_core::model::VoteResolution,
    /// For manual votes: the vote and result thread URLs.
    pub(crate) evidence: Option<atr_core::lifecycle::ManualEvidence>,
    /// The result mail's body (`None`: a short one naming the resolution).
    pub(crate) result_body: Option<String>,
    /// A test server (`ATR_TEST_MODE`): resolve before the period ends, whatever the tally.
    pub(crate) test_mode_bypass: bool,
}

/// Resolves the running vote (the tally, phase and minimum duration decided by the core): passed
/// makes a preview revision (hard-link copy) with the phase change in its transaction; failed and
/// cancelled return to the draft. The result mail replies to the vote thread on the list the vote
/// was sent to.
pub(crate) fn resolve_vote(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    req: ResolveRequest,
    now: Timestamp,
) -> Result<atr_core::lifecycle::Transition, WebError> {
    let ResolveRequest { resolution, evidence, result_body, test_mode_bypass } = req;
    let state = s.release_state(project, version, now)?;
    let list = vote_list(s, &state)?;
    let list = list.as_deref();
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let t = apply(&state, Command::Resolve { resolution, evidence, test_mode_bypass }, actor, now)?;
    let creates = t.effects.iter().any(|e| matches!(e, Effect::CreateRevision { .. }));
    if creates {
        let grant = authorise(actor, Action::ResolveVote, &state.project.committee_key)?;
        let mut req = NewRevision::new(
            project.clone(),
            version.clone(),
            uid,
            now,
            "Create a preview revision from the last candidate draft",
        )
        .in_phases(&[ReleasePhase::Candidate]);
        req.as_admin = grant.as_admin;
        if let Some(n) = state.latest_revision {
            req = req.expecting_latest(n);
        }
        s.create_revision_with(
            &req,
            |_| Ok::<_, WebError>(()),
            |tx, rev| {
                // The guard compares with the latest revision, which is now the new one.
                let before =
                    atr_core::lifecycle::ReleaseState { latest_revision: Some(rev.number), ..state.clone() };
                tx.record_transition(&before, &t, now).map(|_| ())
            },
            &mut |_| {},
        )?;
    } else {
        s.write(|tx| tx.record_transition(&state, &t, now))?;
    }
    if let Some(list) = list {
        let release = state.release.as_ref().map(|r| r.key().to_string()).unwrap_or_default();
        let subject_of_vote = format!("[VOTE] Release {} {}", state.project.project_name, version);
        // The recorded vote mail; by subject only for votes started before it was recorded (an
        // invented thread with the same subject must not receive the result).
        let thread = match s.read(|tx| tx.vote_message_id(project, version))? {
            Some(id) => Some(id),
            None => vote_thread(s, list, &subject_of_vote),
        };
        for mail in t.mails() {
            match (&mail.kind, &mail.to) {
                (atr_core::lifecycle::MailKind::VoteStart, atr_core::lifecycle::MailTo::List(to)) => {
                    // The next round (the Incubator's for a podling): a new vote mail of its own.
                    let hours = mail.duration_hours.unwrap_or(atr_core::model::policy::DEFAULT_MIN_HOURS);
                    let body = vote_mail_body(s, &state, &uid_of(actor)?, hours)?;
                    s.write(|tx| {
                        let id = deliver_in(s, tx, mail, body, to, None, now)?.message_id;
                        tx.set_vote_message_id(project, version, &id).map_err(WebError::from)
                    })?;
                }
                (_, to) => {
                    let body = result_body
                        .clone()
                        .unwrap_or_else(|| format!("The vote on {release} is resolved: {resolution}.\n"));
                    let to = match to {
                        atr_core::lifecycle::MailTo::List(l) => l.clone(),
                        atr_core::lifecycle::MailTo::VoteThread => list.to_owned(),
                    };
                    deliver(s, mail, body, &to, thread.clone(), now)?;
                }
            }
        }
    }
    Ok(t)
}

/// The list the running vote was sent to (from the audit record of its start), if any.
pub(crate) fn vote_list(
    s: &Storage,
    state: &atr_core::lifecycle::ReleaseState,
) -> Result<Option<String>, WebError> {
    let (Some(release), Some(n)) = (&state.release, state.latest_revision) else { return Ok(None) };
    let events = s.read(|tx| tx.audit_events_for(&format!("{} {n}", release.key())))?;
    Ok(events
        .iter()
        .rev()
        .find(|e| e.action == atr_core::model::AuditAction::VoteStart)
        .and_then(|e| e.details.get("email_to")?.as_str().map(str::to_owned)))
}

/// Reads a vote thread: an mbox file, or a Pony Mail JSON thread when it starts with `{`.
fn parse_thread(bytes: &[u8]) -> Result<Vec<atr_core::tabulate::Message>, WebError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| WebError::invalid("The Pony Mail JSON thread is not UTF-8 text."))?;
        atr_core::tabulate::parse_ponymail(text)
    } else {
        atr_core::tabulate::parse_mbox(bytes)
    }
    .map_err(|e| WebError::invalid(format!("The vote thread could not be read: {e}.")))
}

/// The running vote of a release the actor may resolve: its state, release, round and grant.
fn running_vote(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    now: Timestamp,
) -> Result<
    (
        atr_core::lifecycle::ReleaseState,
        atr_core::model::Release,
        atr_core::model::VoteRound,
        atr_core::permissions::Grant,
    ),
    WebError,
> {
    let state = s.release_state(project, version, now)?;
    let release = state.release.clone().ok_or_else(|| WebError::not_found("There is no such release."))?;
    let grant = authorise(actor, Action::ResolveVote, &state.project.committee_key)?;
    let (Some(round), ReleasePhase::Candidate) = (release.vote_round, release.phase) else {
        return Err(WebError::from(atr_core::error::Refusal::new(
            atr_core::error::RefusalKind::Conflict,
            format!("tabulate the vote on {}", release.key()),
            format!("the release is in the {} phase, not voting", release.phase.label()),
            "Only a running vote can be tabulated.",
        )));
    };
    Ok((state, release, round, grant))
}

fn electorate_of(
    s: &Storage,
    state: &atr_core::lifecycle::ReleaseState,
) -> Result<atr_core::tabulate::Electorate, WebError> {
    let committee = s
        .read(|tx| tx.committee(&state.project.committee_key))?
        .ok_or_else(|| WebError::not_found("The release's committee is missing."))?;
    Ok(atr_core::tabulate::Electorate {
        members: committee.members.iter().cloned().collect(),
        ..atr_core::tabulate::Electorate::default()
    })
}

/// Tabulates an uploaded thread for a look only: nothing is stored and no ballot counts. The
/// votes that count are read by the server from its own list archive ([`tabulate_from_archive`]).
pub(crate) fn preview_thread(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    bytes: &[u8],
    now: Timestamp,
) -> Result<atr_core::tabulate::Tabulation, WebError> {
    let (state, ..) = running_vote(s, actor, project, version, now)?;
    let mut messages = parse_thread(bytes)?;
    if let Some(root) = s.read(|tx| tx.vote_message_id(project, version))? {
        let thread = atr_core::tabulate::thread(&messages, &root);
        if !thread.is_empty() {
            messages = thread;
        }
    }
    Ok(atr_core::tabulate::tabulate(&messages, &electorate_of(s, &state)?))
}

/// Tabulates an email vote from the thread its `[VOTE]` mail opened in the server's own archive of
/// the vote's list (only mails that answer it, down the thread), stores the counted votes as the
/// round's ballots (binding for roster members) and records the source, the root Message-ID and
/// the SHA-256 of the archive read in the audit log.
pub(crate) fn tabulate_from_archive(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    now: Timestamp,
) -> Result<atr_core::tabulate::Tabulation, WebError> {
    use sha2::Digest as _;
    let (state, release, round, grant) = running_vote(s, actor, project, version, now)?;
    let list = vote_list(s, &state)?.ok_or_else(|| {
        WebError::invalid("The vote's mailing list is not known, so its thread cannot be read.")
    })?;
    let root = s.read(|tx| tx.vote_message_id(project, version))?.ok_or_else(|| {
        WebError::invalid("The vote mail's Message-ID is not recorded, so its thread cannot be read; resolve this vote manually.")
    })?;
    let archive = s.list_archive(&list).map_err(|e| WebError::invalid(e.to_string()))?;
    let bytes = match std::fs::read(&archive) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(WebError::internal("read the list archive", e)),
    };
    let messages = atr_core::tabulate::thread(&parse_thread(&bytes)?, &root);
    if messages.is_empty() {
        return Err(WebError::invalid(format!(
            "The archive of {list} does not hold the vote mail <{root}>; wait until it arrives, then tabulate again."
        )));
    }
    let tab = atr_core::tabulate::tabulate(&messages, &electorate_of(s, &state)?);
    let n = state.latest_revision.unwrap_or(atr_core::ids::RevisionNumber::FIRST);
    let ballots = tab.ballots(release.vote_seq, round, n);
    let digest: String = sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    s.write(|tx| {
        for b in &ballots {
            tx.insert_ballot(project, version, b)?;
        }
        let details = serde_json::json!({
            "change": "tabulate",
            "source": "list archive",
            "list": list,
            "vote_message_id": root,
            "archive_sha256": digest,
            "messages": messages.len(),
            "votes": ballots.len(),
            "binding_yes": tab.tally.binding_yes,
            "binding_no": tab.tally.binding_no,
        });
        tx.append_audit(&audit_event(
            actor,
            grant.as_admin,
            atr_core::model::AuditAction::BallotCast,
            release.key().to_string(),
            details,
            now,
        ))
    })?;
    Ok(tab)
}

/// Moves files of a preview (with their `.asc`/`.sha256`/`.sha512` companions, expanded by the
/// core) into a new revision; its checks are queued in the transaction that records it.
pub(crate) fn finish_move(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    moves: Vec<atr_core::lifecycle::FileMove>,
    expected_latest: Option<atr_core::ids::RevisionNumber>,
    now: Timestamp,
) -> Result<Revision, WebError> {
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let t = apply(&state, Command::FinishMove { moves, expected_latest }, actor, now)?;
    let Some((description, all)) = t.effects.iter().find_map(|e| match e {
        Effect::CreateRevision {
            description, source: atr_core::lifecycle::RevisionSource::Moves(m), ..
        } => Some((description.clone(), m.clone())),
        _ => None,
    }) else {
        return Err(WebError::internal("move files", "the core's transition made no revision"));
    };
    let grant = authorise(actor, Action::FinishMove, &state.project.committee_key)?;
    let mut req = NewRevision::new(project.clone(), version.clone(), uid, now, description)
        .in_phases(&[ReleasePhase::Preview]);
    req.as_admin = grant.as_admin;
    if let Some(n) = state.latest_revision {
        req = req.expecting_latest(n);
    }
    let (revision, ()) = s.create_revision_with(
        &req,
        |dir| {
            for m in &all {
                dir.rename(&m.from, &m.to)?;
            }
            Ok::<_, WebError>(())
        },
        |tx, rev| {
            let before =
                atr_core::lifecycle::ReleaseState { latest_revision: Some(rev.number), ..state.clone() };
            tx.record_transition(&before, &t, now).map(|_| ())
        },
        &mut |_| {},
    )?;
    Ok(revision)
}

/// The default body of an `[ANNOUNCE]` mail when the policy has no template (ATR's, §9).
pub(crate) const DEFAULT_ANNOUNCE_TEMPLATE: &str = "The Apache [COMMITTEE] project team is pleased to announce the \
release of [PROJECT] [VERSION].\n\nThis is a stable release available for production use.\n\n\
Downloads are available from the following URL:\n\n[DOWNLOAD_URL]\n\n\
On behalf of the Apache [COMMITTEE] project team,\n\n[YOUR_FULL_NAME] ([YOUR_ASF_ID])\n";

/// The committee's `KEYS` file as the keys page exports it.
pub(crate) fn committee_keys_text(
    s: &Storage,
    committee: &atr_core::ids::CommitteeKey,
    now: Timestamp,
) -> Result<String, WebError> {
    let keys = s.read(|tx| tx.signing_keys_of_committee(committee))?;
    Ok(crate::keyinfo::keys_file(committee.as_str(), &keys, now))
}

/// What announcing asks for.
#[derive(Debug, Clone)]
pub(crate) struct AnnounceRequest {
    /// The revision the release manager looked at.
    pub(crate) revision: Option<atr_core::ids::RevisionNumber>,
    /// The list (one of the permitted announce recipients).
    pub(crate) email_to: String,
    /// Where below the committee's download directory (`None`: the core's default).
    pub(crate) path_suffix: Option<String>,
}

/// Announces a preview (guards in the core; the publish step in storage either completes or leaves
/// the preview untouched): files to `finished/`, hard-linked into the downloads with the committee
/// KEYS beside them; then the `[ANNOUNCE]` mail from the policy template goes to `email_to`.
pub(crate) fn announce(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    req: AnnounceRequest,
    now: Timestamp,
) -> Result<atr_storage::publish::Published, WebError> {
    announce_with(s, actor, project, version, req, &CustomMail::default(), now)
}

/// [`announce`] with the body template given by the release manager (the API); the subject stays
/// the core's.
pub(crate) fn announce_with(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    req: AnnounceRequest,
    custom: &CustomMail,
    now: Timestamp,
) -> Result<atr_storage::publish::Published, WebError> {
    let AnnounceRequest { revision, email_to, path_suffix } = req;
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let policy = &state.project.policy;
    let template = if let Some(body) = custom.body() {
        body
    } else if policy.announce_release_template.trim().is_empty() {
        DEFAULT_ANNOUNCE_TEMPLATE
    } else {
        policy.announce_release_template.as_str()
    };
    let body = fill_template(
        template,
        &[
            ("COMMITTEE", state.project.committee_key.to_string()),
            ("DOWNLOAD_URL", format!("{}/release/{project}/{version}", site_origin(s))),
            ("PROJECT", state.project.project_name.clone()),
            ("VERSION", version.to_string()),
            ("YOUR_ASF_ID", uid.to_string()),
            ("YOUR_FULL_NAME", uid.to_string()),
        ],
    );
    let command = Command::Announce { revision, email_to, body: Some(body), path_suffix };
    let t = apply(&state, command, actor, now)?;
    let keys = committee_keys_text(s, &state.project.committee_key, now)?;
    let published = s.announce(&state, &t, &keys, now)?;
    for mail in t.mails() {
        if let atr_core::lifecycle::MailTo::List(to) = &mail.to {
            deliver(s, mail, mail.body.clone().unwrap_or_default(), to, None, now)?;
        }
    }
    Ok(published)
}

/// The SHA-512 of a file, lowercase hex.
pub(crate) fn file_sha512(path: &std::path::Path) -> Result<String, WebError> {
    use sha2::Digest as _;
    let mut f = std::fs::File::open(path).map_err(|e| WebError::internal("read a file to hash", e))?;
    let mut h = sha2::Sha512::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let k = std::io::Read::read(&mut f, &mut buf).map_err(|e| WebError::internal("hash a file", e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Identifies one distribution record of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DistributionKey {
    /// The registry.
    pub(crate) platform: atr_core::model::DistributionPlatform,
    /// Owner namespace (`""` when none).
    pub(crate) owner_namespace: String,
    /// Package name in the registry.
    pub(crate) package: String,
    /// Version in the registry.
    pub(crate) version: String,
}

fn release_phase(s: &Storage, project: &ProjectKey, version: &VersionKey) -> Result<ReleasePhase, WebError> {
    Ok(s.read(|tx| tx.release(project, version))?
        .ok_or_else(|| WebError::not_found(format!("There is no release {project} {version}.")))?
        .phase)
}

/// Records that release `project` `version` is in a package registry (committee members; the
/// phase rule and URLs from the core, under the configured registry base URLs), audited in the
/// same transaction. The record starts `pending`; unless the configuration turns registry lookups
/// off, the same transaction queues a `distribution_status` task whose worker asks the registry
/// and fills in the upload date, or leaves the record pending with the reason (the web process
/// itself never waits on a registry). Returns the record and whether it was added (`false`: the
/// same record already exists; a published record replaces a staging one).
pub(crate) fn record_distribution(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    input: atr_core::model::distribution::DistributionInput,
    registries: &crate::config::RegistryConfig,
    now: Timestamp,
) -> Result<(atr_core::model::Distribution, bool), WebError> {
    let p = authorise_project(s, actor, project, Action::RecordDistribution)?;
    let grant = authorise(actor, Action::RecordDistribution, &p.committee_key)?;
    let uid = uid_of(actor)?;
    let phase = release_phase(s, project, version)?;
    let mut record = atr_core::model::Distribution::record(
        project.clone(),
        version.clone(),
        phase,
        input,
        &registries.bases,
        uid.clone(),
    )
    .map_err(|e| WebError::invalid(format!("{e}.")))?;
    if !registries.fetch {
        record.pending_reason = Some(NO_REGISTRY_LOOKUPS.to_owned());
    }
    s.write(|tx| {
        let existing = tx.distributions(project, version)?.into_iter().find(|d| {
            (d.platform, &d.owner_namespace, &d.package, &d.version)
                == (record.platform, &record.owner_namespace, &record.package, &record.version)
        });
        if let Some(existing) = existing
            && !record.replaces(&existing)
        {
            return Ok((existing, false));
        }
        tx.upsert_distribution(&record)?;
        if registries.fetch {
            let task = atr_core::model::distribution::DistributionFetch::task(
                &record,
                registries.timeout_ms,
                Some(uid),
            );
            tx.enqueue_task(&task, now)?;
        }
        tx.append_audit(&audit_event(
            actor,
            grant.as_admin,
            atr_core::model::AuditAction::DistributionChange,
            format!("{project}-{version}"),
            serde_json::json!({
                "change": "record",
                "platform": record.platform.as_str(),
                "owner_namespace": record.owner_namespace,
                "package": record.package,
                "version": record.version,
                "staging": record.staging,
                "registry_lookup": registries.fetch,
            }),
            now,
        ))?;
        Ok::<_, WebError>((record.clone(), true))
    })
}

/// Why a record stays pending when the configuration turns registry lookups off.
const NO_REGISTRY_LOOKUPS: &str =
    "this server does not ask package registries (registries.fetch is off), so the upload date stays unknown";

/// Asks the registry about one record again (committee members, as for recording): the record's
/// registry URL is rebuilt from the configured base URLs and a `distribution_status` task is
/// queued, audited in the same transaction. Refused when the configuration turns lookups off.
pub(crate) fn refresh_distribution(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    key: &DistributionKey,
    registries: &crate::config::RegistryConfig,
    now: Timestamp,
) -> Result<atr_core::model::Distribution, WebError> {
    let p = authorise_project(s, actor, project, Action::RecordDistribution)?;
    let grant = authorise(actor, Action::RecordDistribution, &p.committee_key)?;
    let uid = uid_of(actor)?;
    release_phase(s, project, version)?;
    if !registries.fetch {
        return Err(WebError::invalid(format!("Cannot refresh: {NO_REGISTRY_LOOKUPS}.")));
    }
    s.write(|tx| {
        let mut record = tx
            .distribution(project, version, key.platform, &key.owner_namespace, &key.package, &key.version)?
            .ok_or_else(|| {
                WebError::not_found(format!(
                    "There is no {} record of {}@{} for {project} {version}.",
                    key.platform.display_name(),
                    key.package,
                    key.version
                ))
            })?;
        let owner = Some(record.owner_namespace.as_str()).filter(|o| !o.is_empty());
        record.api_url = record
            .platform
            .api_url(&registries.bases, owner, &record.package, &record.version, record.staging)
            .map_err(|e| WebError::invalid(format!("{e}.")))?;
        tx.upsert_distribution(&record)?;
        let task =
            atr_core::model::distribution::DistributionFetch::task(&record, registries.timeout_ms, Some(uid));
        tx.enqueue_task(&task, now)?;
        tx.append_audit(&audit_event(
            actor,
            grant.as_admin,
            atr_core::model::AuditAction::DistributionChange,
            format!("{project}-{version}"),
            serde_json::json!({
                "change": "refresh",
                "platform": record.platform.as_str(),
                "owner_namespace": record.owner_namespace,
                "package": record.package,
                "version": record.version,
            }),
            now,
        ))?;
        Ok::<_, WebError>(record)
    })
}

/// The distribution records of a release (anyone may read them).
pub(crate) fn list_distributions(
    s: &Storage,
    project: &ProjectKey,
    version: &VersionKey,
) -> Result<Vec<atr_core::model::Distribution>, WebError> {
    release_phase(s, project, version)?;
    Ok(s.read(|tx| tx.distributions(project, version))?)
}

/// Deletes one distribution record (committee members), audited in the same transaction.
pub(crate) fn delete_distribution(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    key: &DistributionKey,
    now: Timestamp,
) -> Result<(), WebError> {
    let p = authorise_project(s, actor, project, Action::RecordDistribution)?;
    let grant = authorise(actor, Action::RecordDistribution, &p.committee_key)?;
    release_phase(s, project, version)?;
    s.write(|tx| {
        tx.delete_distribution(
            project,
            version,
            key.platform,
            &key.owner_namespace,
            &key.package,
            &key.version,
        )?;
        tx.append_audit(&audit_event(
            actor,
            grant.as_admin,
            atr_core::model::AuditAction::DistributionChange,
            format!("{project}-{version}"),
            serde_json::json!({
                "change": "delete",
                "platform": key.platform.as_str(),
                "owner_namespace": key.owner_namespace,
                "package": key.package,
                "version": key.version,
            }),
            now,
        ))?;
        Ok::<_, WebError>(())
    })
}

/// Queues the generation of `<artifact>.cdx.json` for a source archive of the draft's latest
/// revision (the worker adds it in a new revision); returns the task id. The web form and
/// `/api/sbom/generate` both call this.
pub(crate) fn request_sbom_generation(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    artifact: &atr_core::path::RelPath,
    now: Timestamp,
) -> Result<atr_core::model::TaskId, WebError> {
    let p = authorise_project(s, actor, project, Action::AddRevision)?;
    let grant = authorise(actor, Action::AddRevision, &p.committee_key)?;
    let uid = uid_of(actor)?;
    s.request_sbom_generation(project, version, artifact, &uid, grant.as_admin, now)?.map_err(|refusal| {
        use atr_core::plan::SbomRefusal;
        match refusal {
            SbomRefusal::NoSuchFile(_) => WebError::not_found(refusal.to_string()),
            SbomRefusal::Exists(_) => WebError::conflict(refusal.to_string()),
            SbomRefusal::NotSourceArchive(_) => WebError::invalid(refusal.to_string()),
        }
    })
}
