//! `POST /api/svn/import`: import files from SVN into a draft, the same request as the web form
//! (checked by `atr-core`, queued as an `svn_import_files` task with its audit record); the
//! client follows the task with `GET /api/task/get/{id}`, whose result lists the added and
//! skipped files.

use atr_core::svn::SvnImportRequest;

use super::releases::release_fields;
use super::schema::wire;
use super::vote::TaskResponse;
use super::{ApiError, BODY_LIMIT, Reply, actor, app, body, models, run};

wire! {
    /// Request of `/svn/import`.
    SvnImportApiRequest {
        project: String,
        version: String,
        url: String,
        revision: Option<String>,
        target: Option<String>,
        #[serde(default)]
        overwrite: bool,
    }
}

endpoint! {
    /// Queues an import from SVN into a draft (201 with the task).
    svn_import(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::SvnImport)?;
        let f: SvnImportApiRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let request = SvnImportRequest {
            url: f.url,
            revision: f.revision.unwrap_or_default(),
            target: f.target.unwrap_or_default(),
            overwrite: f.overwrite,
        };
        let settings = crate::handlers::svn::settings(depot);
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let task = run(&app, move |s| {
            let id = crate::handlers::svn::request_import(s, &actor, &p, &v, &request, &settings, now)?;
            s.read(|tx| tx.task(id))?.ok_or_else(|| ApiError::not_found(format!("task {id} vanished")))
        })
        .await?;
        Reply::created(&TaskResponse { endpoint: "/svn/import".to_owned(), task: models::Task::of(&task) })
    }
}

/// The route of the import. It is not in [`super::endpoints::all`], which is the table of
/// api-contract.md §4 (the `atr` client has no SVN command).
pub(crate) fn router() -> salvo::Router {
    salvo::Router::with_path("api/svn/import").hoop(super::require_jwt).post(svn_import)
}
