//! The web's operations: each loads what `atr-core` needs from storage, asks the core (which checks
//! permissions and guards), and carries out the accepted transition's effects through storage.
//! No rule is decided here; every refusal comes from `atr-core` (or a storage guard).

use std::cell::RefCell;

use atr_core::ids::{ProjectKey, ReleaseKey, VersionKey};
use atr_core::lifecycle::{Command, Effect, Transition, apply};
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
    // The release row and audit record first, then revision 00001 with its tasks in the same
    // transaction as the revision row (so no task names a revision that does not exist).
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
    s.create_revision_with(
        &req,
        |_| Ok::<_, StorageError>(()),
        |tx, _| t.tasks().try_for_each(|spec| tx.enqueue_task(spec, now).map(|_| ())),
        &mut |_| {},
    )?;
    Ok(ReleaseKey::new(project.clone(), version))
}

/// Makes a new draft revision: `change` edits a copy of the latest revision; the core then decides
/// on the resulting file list (permission, phase, latest revision) and plans its checks, which are
/// queued in the transaction that records the revision. Refused changes leave nothing behind.
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
    let accepted: RefCell<Option<Transition>> = RefCell::new(None);
    let (revision, ()) = s.create_revision_with(
        &req,
        |dir| {
            change(dir)?;
            let files = dir.files()?.into_iter().collect();
            let command = Command::AddRevision {
                files,
                description: description.to_owned(),
                expected_latest: state.latest_revision,
            };
            *accepted.borrow_mut() = Some(apply(&state, command, actor, now)?);
            Ok::<_, WebError>(())
        },
        |tx, _| match accepted.borrow().as_ref() {
            Some(t) => t.tasks().try_for_each(|spec| tx.enqueue_task(spec, now).map(|_| ())),
            None => Ok(()),
        },
        &mut |_| {},
    )?;
    Ok(revision)
}

/// Deletes a draft (permission and phase decided by the core), its rows and its directories.
pub(crate) fn delete_release(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    now: Timestamp,
) -> Result<(), WebError> {
    let state = s.release_state(project, version, now)?;
    let t = apply(&state, Command::Delete, actor, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    if t.effects.iter().any(|e| matches!(e, Effect::DeleteRelease { remove_downloads: true })) {
        return Err(WebError::forbidden(
            "Deleting an announced release removes published files; use the admin tools for that.",
        ));
    }
    s.delete_release(project, version, &uid, now)?;
    Ok(())
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
