//! Import from SVN into a draft: the form, the request (checked by `atr-core` and queued as an
//! `svn_import_files` task with its audit record in one transaction), and the page that shows
//! what each import added and skipped.

use atr_core::model::{AuditAction, Task};
use atr_core::svn::{SvnImportRequest, SvnLimits, SvnPolicy, authorise_import};
use atr_storage::Storage;
use atr_storage::db::tasks::EnqueueOptions;
use atr_storage::quarantine::Quarantined;
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now, release_params};
use crate::error::WebError;
use crate::{ops, pages};

/// Where imports may come from and how large they may be (from the configuration).
#[derive(Debug, Clone, Default)]
pub(crate) struct SvnSettings {
    /// Allowed URL prefixes and whether `file://` is allowed (test mode).
    pub(crate) policy: SvnPolicy,
    /// Size, file-count and time limits of one import.
    pub(crate) limits: SvnLimits,
}

impl SvnSettings {
    /// The settings of `config`: its prefixes (the ASF dist areas by default) and `file://` only
    /// in test mode.
    pub(crate) fn from_config(config: &crate::config::Config) -> anyhow::Result<SvnSettings> {
        let policy = SvnPolicy::new(config.svn_allowed_prefixes.clone(), config.test_mode)
            .map_err(|e| anyhow::anyhow!("ATR_SVN_ALLOWED_PREFIXES: {e}"))?;
        Ok(SvnSettings { policy, limits: SvnLimits::default() })
    }

    /// A hoop that makes these settings available to the import handlers (without it they use
    /// the defaults: the ASF dist areas, no `file://`).
    pub(crate) fn hoop(self) -> InjectSettings {
        InjectSettings(self)
    }
}

/// Puts the [`SvnSettings`] into every request's depot.
#[derive(Debug)]
pub(crate) struct InjectSettings(SvnSettings);

#[async_trait]
impl Handler for InjectSettings {
    async fn handle(&self, _req: &mut Request, depot: &mut Depot, _res: &mut Response, _ctrl: &mut FlowCtrl) {
        depot.insert_typed(self.0.clone());
    }
}

/// The import settings of this request (the defaults when no hoop set them).
pub(crate) fn settings(depot: &Depot) -> SvnSettings {
    depot.get_typed::<SvnSettings>().cloned().unwrap_or_default()
}

/// One import as the page shows it: the task, and the quarantined upload it became (if any).
#[derive(Debug)]
pub(crate) struct ImportView {
    pub(crate) task: Task,
    pub(crate) quarantined: Option<Quarantined>,
}

fn imports(
    s: &Storage,
    p: &atr_core::ids::ProjectKey,
    v: &atr_core::ids::VersionKey,
) -> Result<Vec<ImportView>, WebError> {
    Ok(s.read(|tx| {
        let tasks = tx.svn_import_tasks(p, v, 20)?;
        tasks
            .into_iter()
            .map(|task| {
                let qid = task.result.as_ref().and_then(|r| r.get("quarantine_id")).and_then(|q| q.as_i64());
                let quarantined = qid.map(|id| tx.quarantined(id)).transpose()?.flatten();
                Ok::<_, atr_storage::StorageError>(ImportView { task, quarantined })
            })
            .collect::<Result<Vec<_>, _>>()
    })?)
}

/// The import form and the imports of this release.
#[handler]
pub(crate) async fn page(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (actor, project) = (cx.actor.clone(), p.clone());
    let (pp, vv) = (p.clone(), v.clone());
    let list = cx
        .run(move |s| {
            ops::authorise_project(s, &actor, &project, atr_core::permissions::Action::AddRevision)?;
            s.read(|tx| tx.release(&pp, &vv))?
                .ok_or_else(|| WebError::not_found(format!("There is no release {pp}-{vv}.")))?;
            imports(s, &pp, &vv)
        })
        .await?;
    let settings = settings(depot);
    cx.render(res, pages::svn::page(&cx.chrome(), p.as_str(), v.as_str(), &settings, &list));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ImportForm {
    url: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    overwrite: Option<String>,
}

/// Checks the request in `atr-core` and queues the import; nothing is queued on refusal.
pub(crate) fn request_import(
    s: &Storage,
    actor: &atr_core::permissions::Actor,
    p: &atr_core::ids::ProjectKey,
    v: &atr_core::ids::VersionKey,
    request: &SvnImportRequest,
    settings: &SvnSettings,
    at: atr_core::time::Timestamp,
) -> Result<atr_core::model::TaskId, WebError> {
    let state = s.release_state(p, v, at)?;
    let accepted = authorise_import(&state, actor, request, &settings.policy, settings.limits, at)?;
    let audit = |task: atr_core::model::TaskId| {
        ops::audit_event(
            actor,
            accepted.as_admin,
            AuditAction::SvnImport,
            format!("{p}-{v}"),
            serde_json::json!({ "task": task.0, "args": accepted.task.task_args }),
            at,
        )
    };
    let id = s.write(|tx| {
        // One attempt for a fault the worker cannot tell from a bad request, two for the rest.
        let opts = EnqueueOptions { max_attempts: 2, ..EnqueueOptions::default() };
        let id = tx.enqueue_task_with(&accepted.task, at, &opts)?;
        tx.append_audit(&audit(id))?;
        Ok::<_, atr_storage::StorageError>(id)
    })?;
    Ok(id)
}

/// Queues an import.
#[handler]
pub(crate) async fn import(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: ImportForm = form(req, "url (and optionally revision, target and overwrite)").await?;
    let request = SvnImportRequest {
        url: f.url,
        revision: f.revision,
        target: f.target,
        overwrite: f.overwrite.is_some_and(|o| matches!(o.as_str(), "on" | "1" | "true" | "yes")),
    };
    let settings = settings(depot);
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let url = request.url.trim().to_owned();
    let id = cx.run(move |s| request_import(s, &actor, &pp, &vv, &request, &settings, at)).await?;
    cx.redirect(
        res,
        &format!("/draft/svn/{p}/{v}"),
        true,
        format!("The import of {url} is queued (task {id}); this page shows what it added when it is done."),
    );
    Ok(())
}
