//! Handlers about the files of a release: report, viewer, revisions and diff, delete, hash generation.

use atr_core::ids::RevisionNumber;
use atr_core::lifecycle::COMPANION_SUFFIXES;
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now, path_param, rel_path_field, release_params};
use crate::error::WebError;
use crate::{ops, pages, views};

#[handler]
pub(crate) async fn report(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let ((p, v), path, at) = (release_params(req)?, path_param(req)?, now());
    let view = cx.run(move |s| views::report(s, &p, &v, &path, at)).await?;
    cx.render(res, pages::files::report(&cx.chrome(), &view));
    Ok(())
}

#[handler]
pub(crate) async fn file(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let ((p, v), path) = (release_params(req)?, path_param(req)?);
    let view = cx.run(move |s| views::file_view(s, &p, &v, &path)).await?;
    cx.render(res, pages::files::file(&cx.chrome(), &view));
    Ok(())
}

fn revision_query(req: &Request, name: &str) -> Result<Option<RevisionNumber>, WebError> {
    match req.query::<String>(name).filter(|s| !s.trim().is_empty()) {
        None => Ok(None),
        Some(s) => RevisionNumber::parse(s.trim())
            .or_else(|_| {
                s.trim()
                    .parse::<u32>()
                    .map_err(|e| e.to_string())
                    .and_then(|n| RevisionNumber::new(n).map_err(|e| e.to_string()))
                    .map_err(|_| ())
            })
            .map(Some)
            .map_err(|()| {
                WebError::invalid(format!("`{}` is not a revision number such as 00002.", s.escape_debug()))
            }),
    }
}

#[handler]
pub(crate) async fn revisions(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let pair = match (revision_query(req, "from")?, revision_query(req, "to")?) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    };
    let (release, list, diff) = cx
        .run(move |s| {
            let (release, list) = views::revisions(s, &p, &v)?;
            let diff = pair.map(|(a, b)| views::diff(s, &p, &v, a, b).map(|d| (a, b, d))).transpose()?;
            Ok((release, list, diff))
        })
        .await?;
    let diff = diff.as_ref().map(|(a, b, d)| (*a, *b, d));
    cx.render(res, pages::files::revisions(&cx.chrome(), &release, &list, diff));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct PathForm {
    path: String,
}

/// Deletes a file and its `.asc`/`.sha256`/`.sha512` companions in a new revision.
#[handler]
pub(crate) async fn delete_file(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: PathForm = form(req, "path").await?;
    let path = rel_path_field(&f.path)?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let description = format!("Deletion of {path}");
    let target = path.clone();
    let (_, removed) = cx
        .run(move |s| {
            let mut removed = Vec::new();
            let rev = ops::add_revision(s, &actor, &pp, &vv, &description, at, |dir| {
                if !dir.contains(&target) {
                    return Err(WebError::not_found(format!("There is no file `{target}` in the draft.")));
                }
                dir.remove(&target)?;
                for suffix in COMPANION_SUFFIXES {
                    if let Ok(companion) = target.with_appended(suffix)
                        && dir.contains(&companion)
                    {
                        dir.remove(&companion)?;
                        removed.push(companion.to_string());
                    }
                }
                Ok(())
            })?;
            Ok((rev, removed))
        })
        .await?;
    let also = if removed.is_empty() { String::new() } else { format!(" (with {})", removed.join(", ")) };
    cx.redirect(res, &format!("/compose/{p}/{v}"), true, format!("Deleted {path}{also}."));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct HashForm {
    path: String,
    hash_type: String,
}

/// Writes `<file>.sha256` or `<file>.sha512` (`"<hex>  <name>\n"`) in a new revision.
#[handler]
pub(crate) async fn hashgen(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: HashForm = form(req, "path and hash_type").await?;
    let path = rel_path_field(&f.path)?;
    let suffix = match f.hash_type.as_str() {
        "sha256" => ".sha256",
        "sha512" => ".sha512",
        other => {
            return Err(WebError::invalid(format!(
                "`{}` is not a hash type; use sha256 or sha512.",
                other.escape_debug()
            )));
        }
    };
    let hash_path = path.with_appended(suffix).map_err(|e| WebError::invalid(e.to_string()))?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let description = format!("Generation of {hash_path}");
    let (source, target) = (path.clone(), hash_path.clone());
    cx.run(move |s| {
        ops::add_revision(s, &actor, &pp, &vv, &description, at, |dir| {
            if !dir.contains(&source) {
                return Err(WebError::not_found(format!("There is no file `{source}` in the draft.")));
            }
            if dir.contains(&target) {
                return Err(WebError::invalid(format!(
                    "`{target}` exists already; delete it first to make a new one."
                )));
            }
            let mut full = dir.root().to_path_buf();
            full.extend(source.segments());
            let fh = std::fs::File::open(&full).map_err(|e| WebError::internal("read the file", e))?;
            let hex = if suffix == ".sha256" {
                views::hex_digest::<sha2::Sha256>(fh)
            } else {
                views::hex_digest::<sha2::Sha512>(fh)
            }
            .map_err(|e| WebError::internal("hash the file", e))?;
            dir.write(&target, format!("{hex}  {}\n", source.file_name()).as_bytes())?;
            Ok(())
        })
    })
    .await?;
    cx.redirect(res, &format!("/compose/{p}/{v}"), true, format!("Generated {hash_path}."));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct SbomForm {
    path: String,
}

/// Queues the generation of `<archive>.cdx.json`; a worker adds it in a new revision.
#[handler]
pub(crate) async fn sbom_generate(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: SbomForm = form(req, "path").await?;
    let path = rel_path_field(&f.path)?;
    let (actor, at, (pp, vv), artifact) = (cx.actor.clone(), now(), (p.clone(), v.clone()), path.clone());
    cx.run(move |s| ops::request_sbom_generation(s, &actor, &pp, &vv, &artifact, at)).await?;
    let message = format!(
        "Generating the SBOM of {path}: {path}.cdx.json appears in a new revision when the worker is done."
    );
    cx.redirect(res, &format!("/compose/{p}/{v}"), true, message);
    Ok(())
}
