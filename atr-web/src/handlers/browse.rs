//! Handlers of the home page, committees, projects (with the policy form) and starting a release.

use atr_core::ids::VersionKey;
use atr_core::model::{AuditAction, AuditEvent, MissingSbom, VoteMode};
use atr_core::permissions::{Action, authorise};
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, committee_param, form, now, project_param};
use crate::error::WebError;
use crate::{ops, pages, views};

#[handler]
pub(crate) async fn home(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let actor = cx.actor.clone();
    let mine = cx.run(move |s| views::dashboard(s, &actor)).await?;
    cx.render(res, pages::browse::home(&cx.chrome(), &mine));
    Ok(())
}

#[handler]
pub(crate) async fn committees(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let list = cx.run(views::committees).await?;
    cx.render(res, pages::browse::committees(&cx.chrome(), &list));
    Ok(())
}

#[handler]
pub(crate) async fn committee(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = committee_param(req)?;
    let view = cx.run(move |s| views::committee(s, &key)).await?;
    cx.render(res, pages::browse::committee(&cx.chrome(), &view));
    Ok(())
}

#[handler]
pub(crate) async fn projects(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let list = cx.run(|s| Ok(s.read(|tx| tx.projects())?)).await?;
    cx.render(res, pages::browse::projects(&cx.chrome(), &list));
    Ok(())
}

#[handler]
pub(crate) async fn project(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let view = cx.run(move |s| views::project(s, &key)).await?;
    let can_edit = authorise(&cx.actor, Action::EditPolicy, &view.committee.key).is_ok();
    cx.render(res, pages::browse::project(&cx.chrome(), &view, can_edit));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct PolicyForm {
    #[serde(default)]
    mailto_addresses: String,
    min_hours: u32,
    #[serde(default)]
    source_artifact_paths: String,
    #[serde(default)]
    binary_artifact_paths: String,
    #[serde(default)]
    strict_checking: Option<String>,
    #[serde(default)]
    release_checklist: String,
    /// `suggestion`, `concern` or `blocker`; absent keeps the current setting.
    #[serde(default)]
    missing_sbom_status: Option<String>,
    /// `trusted`, `email` or `manual`; absent keeps the current setting.
    #[serde(default)]
    vote_mode: Option<String>,
    #[serde(default)]
    replace_download_files: Option<String>,
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Saves the release policy: committee members only; the core validates the policy.
#[handler]
pub(crate) async fn save_policy(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let f: PolicyForm = form(req, "min_hours and the policy fields").await?;
    let (actor, uid, at) = (cx.actor.clone(), cx.uid()?, now());
    let k = key.clone();
    cx.run(move |s| {
        let view = views::project(s, &k)?;
        let grant = authorise(&actor, Action::EditPolicy, &view.committee.key)?;
        let mut policy = view.project.policy.clone();
        policy.mailto_addresses = lines(&f.mailto_addresses);
        policy.min_hours = f.min_hours;
        policy.source_artifact_paths = lines(&f.source_artifact_paths);
        policy.binary_artifact_paths = lines(&f.binary_artifact_paths);
        policy.strict_checking = f.strict_checking.is_some();
        policy.replace_download_files = f.replace_download_files.is_some();
        policy.release_checklist = f.release_checklist;
        if let Some(m) = f.vote_mode.as_deref() {
            policy.vote_mode = m
                .parse::<VoteMode>()
                .map_err(|e| WebError::invalid(format!("The policy was not saved: {e}.")))?;
        }
        if let Some(m) = f.missing_sbom_status.as_deref() {
            policy.missing_sbom_status = m
                .parse::<MissingSbom>()
                .map_err(|e| WebError::invalid(format!("The policy was not saved: {e}.")))?;
        }
        policy
            .validate(view.committee.is_podling)
            .map_err(|e| WebError::invalid(format!("The policy was not saved: {e}.")))?;
        s.write(|tx| {
            tx.set_release_policy(&k, &policy)?;
            tx.append_audit(&AuditEvent {
                id: None,
                at,
                actor: Some(uid),
                as_admin: grant.as_admin,
                action: AuditAction::PolicyChange,
                target: k.to_string(),
                details: serde_json::json!({
                    "min_hours": policy.min_hours,
                    "strict_checking": policy.strict_checking,
                    "vote_mode": policy.vote_mode,
                    "replace_download_files": policy.replace_download_files,
                    "missing_sbom_status": policy.missing_sbom_status,
                }),
            })
        })?;
        Ok(())
    })
    .await?;
    cx.redirect(res, &format!("/projects/{key}"), true, "The release policy is saved.");
    Ok(())
}

#[handler]
pub(crate) async fn start_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let actor = cx.actor.clone();
    let proj = cx.run(move |s| ops::authorise_project(s, &actor, &key, Action::StartRelease)).await?;
    cx.render(res, pages::browse::start(&cx.chrome(), &proj));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct StartForm {
    version: String,
}

#[handler]
pub(crate) async fn start(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let f: StartForm = form(req, "version").await?;
    let version = VersionKey::new(f.version.trim()).map_err(|e| WebError::invalid(format!("{e}.")))?;
    let (actor, at) = (cx.actor.clone(), now());
    let release = cx.run(move |s| ops::start_release(s, &actor, &key, version, at)).await?;
    let to = format!("/compose/{}/{}", release.project, release.version);
    cx.redirect(res, &to, true, format!("Started {release}; upload its files next."));
    Ok(())
}
