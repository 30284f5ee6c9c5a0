//! Handlers of the compose page, uploads (archives through quarantine) and draft deletion.

use std::path::PathBuf;
use std::sync::Arc;

use atr_core::path::RelPath;
use atr_core::permissions::{Action, authorise};
use salvo::http::form::FilePart;
use salvo::http::header::CONTENT_DISPOSITION;
use salvo::http::{ParseError, StatusCode};
use salvo::prelude::*;

use super::{Cx, now, path_param, rel_path_field, release_params};
use crate::error::WebError;
use atr_storage::quarantine::{Upload, UploadOutcome};

use crate::{cache, ops, pages, uploads, views};

/// How many refused uploads the compose page lists (newest first).
const REFUSALS_SHOWN: usize = 5;

/// The compose page: the release's part comes from the page cache (checked against the
/// database's change stamps on every request), the chrome is rendered for this request.
#[handler]
pub(crate) async fn compose(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let listing = pages::compose::Listing::from_query(
        req.query::<String>("show").as_deref(),
        req.query::<String>("page").as_deref(),
    );
    let (at, cache) = (now(), Arc::clone(&cx.app.pages));
    let data = cx.run(move |s| cache.compose(s, &p, &v, at, REFUSALS_SHOWN)).await?;
    let view = &data.view;
    authorise(&cx.actor, Action::ViewRelease, &view.project.committee_key)?;
    let can_edit = view.release.phase == atr_core::model::ReleasePhase::Draft
        && authorise(&cx.actor, Action::AddRevision, &view.project.committee_key).is_ok();
    let key = cache::BodyKey { can_edit, page: listing.page, filter: listing.filter };
    let body = cx.app.pages.compose_body(&data, key, || {
        let quarantine = pages::compose::Quarantine { pending: &data.pending, refused: &data.refused };
        pages::compose::compose_body(view, &quarantine, can_edit, &listing).into_string()
    });
    let refresh = !view.ongoing.is_empty() || !data.pending.is_empty();
    cx.render(res, pages::compose::compose(&cx.chrome(), view, refresh, &body, can_edit));
    Ok(())
}

/// The actions on one file of a draft (checksums, SBOM, delete), for those who may change it.
#[handler]
pub(crate) async fn file_actions(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let ((p, v), path) = (release_params(req)?, path_param(req)?);
    let actor = cx.actor.clone();
    let view = cx
        .run(move |s| {
            ops::authorise_project(s, &actor, &p, Action::AddRevision)?;
            views::file_actions(s, &p, &v, &path)
        })
        .await?;
    let can_edit = view.release.phase == atr_core::model::ReleasePhase::Draft;
    cx.render(res, pages::compose::file_actions(&cx.chrome(), &view, can_edit));
    Ok(())
}

#[handler]
pub(crate) async fn upload_form(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let actor = cx.actor.clone();
    let project = p.clone();
    cx.run(move |s| ops::authorise_project(s, &actor, &project, Action::AddRevision)).await?;
    cx.render(res, pages::compose::upload(&cx.chrome(), p.as_str(), v.as_str(), cx.app.upload_limit));
    Ok(())
}

/// The file name as the client sent it (salvo's own `name()` strips `/`, which would hide a
/// traversal attempt instead of refusing it).
fn raw_file_name(part: &FilePart) -> Option<String> {
    let header = part.headers().get(CONTENT_DISPOSITION)?.to_str().ok()?;
    let start = header.find("filename=\"")? + "filename=\"".len();
    let rest = &header[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Where each uploaded file goes: `directory/name`, both validated as relative paths.
fn upload_targets(directory: Option<&str>, parts: &[FilePart]) -> Result<Vec<(RelPath, FilePart)>, WebError> {
    let dir = directory.map(rel_path_field).transpose()?;
    let mut out = Vec::new();
    for part in parts {
        let name = raw_file_name(part).or_else(|| part.name().map(str::to_owned)).unwrap_or_default();
        if name.is_empty() && part.size() == 0 {
            continue; // The empty file input of a form submitted without a file.
        }
        let rel = rel_path_field(&name)?;
        let target = match &dir {
            Some(d) => d.join(&rel),
            None => rel,
        };
        if out.iter().any(|(t, _): &(RelPath, FilePart)| t == &target) {
            return Err(WebError::invalid(format!(
                "`{target}` appears twice in the upload; send each file once."
            )));
        }
        out.push((target, part.clone()));
    }
    if out.is_empty() {
        return Err(WebError::invalid("The upload holds no file; choose at least one."));
    }
    Ok(out)
}

fn form_error(e: ParseError) -> WebError {
    match e {
        ParseError::PayloadTooLarge => WebError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The upload is larger than the server accepts in one request; upload fewer or smaller files at a time, or use rsync.",
        ),
        other => WebError::bad_request(format!("The upload could not be read: {other}.")),
    }
}

/// Streams each file once into the state directory as it arrives (validated name first, size
/// limit while streaming) and makes one revision, or one quarantined upload when it holds archives.
#[handler]
pub(crate) async fn upload(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (actor, project) = (cx.actor.clone(), p.clone());
    // Refuse before a byte of the body is read.
    cx.run(move |s| ops::authorise_project(s, &actor, &project, Action::AddRevision)).await?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let outcome = if req.body().is_none() {
        // The CSRF token came inside the form, so the session hoop has read the whole form
        // already (under the route's size limit) into salvo's temporary files.
        let form = req.form_data().await.map_err(form_error)?;
        let directory = form.fields.get("directory").map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        let parts: Vec<FilePart> = form.files.get_vec("files").cloned().unwrap_or_default();
        let targets = upload_targets(directory.as_deref(), &parts)?;
        let description = describe(targets.iter().map(|(t, _)| t));
        cx.run(move |s| {
            let mut opened = Vec::with_capacity(targets.len());
            for (target, part) in &targets {
                let source: &PathBuf = part.path();
                let file =
                    std::fs::File::open(source).map_err(|e| WebError::internal("read the upload", e))?;
                opened.push((target.clone(), file));
            }
            let uploads =
                opened.iter_mut().map(|(path, reader)| Upload { path: path.clone(), reader }).collect();
            uploads::upload_files(s, &actor, &pp, &vv, &description, uploads, at)
        })
        .await?
    } else {
        let limit = u64::try_from(cx.app.upload_limit).unwrap_or(u64::MAX);
        let mut form = uploads::receive_form(std::sync::Arc::clone(&cx.app.storage), req, limit).await?;
        if let Some(dir) = &form.directory {
            form.staged.prefix(dir);
        }
        if form.staged.is_empty() {
            return Err(WebError::invalid("The upload holds no file; choose at least one."));
        }
        let description = describe(form.staged.paths());
        cx.run(move |s| uploads::upload_staged_files(s, &actor, &pp, &vv, &description, form.staged, at))
            .await?
    };
    let to = format!("/compose/{p}/{v}");
    let message = match outcome {
        UploadOutcome::Revision { revision, .. } => {
            format!("Uploaded: revision {} is checked now.", revision.number)
        }
        UploadOutcome::Quarantined { quarantined, .. } => format!(
            "Uploaded {} files: the archives are validated now; they join a new revision when they pass (upload {}).",
            quarantined.files.len(),
            quarantined.id
        ),
    };
    cx.redirect(res, &to, true, message);
    Ok(())
}

/// The revision description of an upload of `paths`.
fn describe<'p>(mut paths: impl ExactSizeIterator<Item = &'p RelPath>) -> String {
    match (paths.len(), paths.next()) {
        (1, Some(one)) => format!("Upload of {one}"),
        (n, _) => format!("Upload of {n} files"),
    }
}

#[handler]
pub(crate) async fn delete_draft(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    cx.run(move |s| ops::delete_release(s, &actor, &pp, &vv, at)).await?;
    cx.redirect(res, &format!("/projects/{p}"), true, format!("Deleted {p}-{v}."));
    Ok(())
}
