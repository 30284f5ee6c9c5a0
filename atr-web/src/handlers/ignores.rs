//! Handlers of the ignore rules of a project.

use atr_core::check::CheckStatus;
use atr_core::model::CheckResultIgnore;
use atr_core::permissions::{Action, authorise};
use atr_core::time::Timestamp;
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now, project_param};
use crate::error::WebError;
use crate::ops::{self, IgnoreChange};
use crate::pages;

#[handler]
pub(crate) async fn list(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let (project, rules) = cx
        .run(move |s| {
            let p = s
                .read(|tx| tx.project(&key))?
                .ok_or_else(|| WebError::not_found(format!("There is no project `{key}`.")))?;
            Ok((p, s.read(|tx| tx.ignores(&key))?))
        })
        .await?;
    let can_edit = authorise(&cx.actor, Action::ManageIgnores, &project.committee_key).is_ok();
    cx.render(res, pages::ignores::ignores(&cx.chrome(), &project, &rules, can_edit));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct RuleForm {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    checker_glob: String,
    #[serde(default)]
    primary_rel_path_glob: String,
    #[serde(default)]
    member_rel_path_glob: String,
    #[serde(default)]
    message_glob: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    reason: String,
}

fn opt(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl RuleForm {
    fn rule(
        self,
        cx: &Cx,
        project: &atr_core::ids::ProjectKey,
        at: Timestamp,
    ) -> Result<CheckResultIgnore, WebError> {
        let status = opt(self.status)
            .map(|s| s.parse::<CheckStatus>().map_err(|e| WebError::invalid(format!("{e}."))))
            .transpose()?;
        let expires = opt(self.expires)
            .map(|d| {
                Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z")).map_err(|_| {
                    WebError::invalid(format!("The expiry `{d}` is not a date such as 2027-01-31."))
                })
            })
            .transpose()?;
        Ok(CheckResultIgnore {
            id: None,
            asf_uid: cx.uid()?,
            created: at,
            project_key: project.clone(),
            release_glob: None,
            revision_number: None,
            checker_glob: opt(self.checker_glob),
            primary_rel_path_glob: opt(self.primary_rel_path_glob),
            member_rel_path_glob: opt(self.member_rel_path_glob),
            status,
            message_glob: opt(self.message_glob),
            reason: self.reason.trim().to_owned(),
            expires,
        })
    }
}

async fn change(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    kind: &str,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let key = project_param(req)?;
    let f: RuleForm = form(req, "the rule's fields and a reason").await?;
    let at = now();
    let id = f.id;
    let need_id = || id.ok_or_else(|| WebError::bad_request("The form needs the rule's id."));
    let change = match kind {
        "add" => IgnoreChange::Add(f.rule(&cx, &key, at)?),
        "update" => IgnoreChange::Update(need_id()?, f.rule(&cx, &key, at)?),
        _ => IgnoreChange::Delete(need_id()?),
    };
    let (actor, k) = (cx.actor.clone(), key.clone());
    cx.run(move |s| ops::change_ignore(s, &actor, &k, change, at)).await?;
    let message = match kind {
        "add" => "The ignore rule is added.",
        "update" => "The ignore rule is saved.",
        _ => "The ignore rule is deleted.",
    };
    cx.redirect(res, &format!("/ignores/{key}"), true, message);
    Ok(())
}

#[handler]
pub(crate) async fn add(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    change(req, depot, res, "add").await
}

#[handler]
pub(crate) async fn update(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    change(req, depot, res, "update").await
}

#[handler]
pub(crate) async fn delete(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    change(req, depot, res, "delete").await
}
