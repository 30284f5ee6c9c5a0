//! The public, read-only downloads area (`/downloads/…`, every path segment a validated
//! [`RelPath`], no symlink followed) and the public page of each announced release.

use std::path::Path;

use atr_core::path::RelPath;
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::prelude::*;

use super::{Cx, release_params};
use crate::error::WebError;
use crate::pages;
use crate::pages::downloads::{Entry, ReleaseFile, ReleasePage};

/// The content type of a downloaded file: text for KEYS, signatures and checksums.
fn content_type(name: &str) -> &'static str {
    let text = ["KEYS", ".asc", ".sha256", ".sha512", ".txt", ".md"];
    if text.iter().any(|t| name.ends_with(t)) {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

/// A directory listing or a file of the downloads area.
#[handler]
pub(crate) async fn browse(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let raw = req.param::<String>("path").unwrap_or_default();
    let trimmed = raw.trim_end_matches('/');
    let rel = if trimmed.is_empty() {
        None
    } else {
        Some(RelPath::new(trimmed).map_err(|e| {
            WebError::not_found(format!("There is no download `{}`: {e}", raw.escape_debug()))
        })?)
    };
    let root = cx.app.storage.layout().downloads();
    let full = match &rel {
        Some(r) => root.join(r.as_str()),
        None => root.clone(),
    };
    let shown = rel.as_ref().map(ToString::to_string).unwrap_or_default();
    let missing = || WebError::not_found(format!("There is no download `/downloads/{shown}`."));
    let meta = match std::fs::symlink_metadata(&full) {
        Ok(m) => m,
        Err(_) if rel.is_none() => {
            cx.render(res, pages::downloads::listing(&cx.chrome(), "", &[]));
            return Ok(());
        }
        Err(_) => return Err(missing()),
    };
    if meta.file_type().is_symlink() {
        return Err(missing());
    }
    if meta.is_dir() {
        let entries = list(&full).map_err(|e| WebError::internal("list a download directory", e))?;
        cx.render(res, pages::downloads::listing(&cx.chrome(), &shown, &entries));
        return Ok(());
    }
    let name = full.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
    res.send_file(&full, req.headers()).await;
    Ok(())
}

fn list(dir: &Path) -> std::io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let Ok(name) = e.file_name().into_string() else { continue };
        if name.starts_with('.') {
            continue;
        }
        let meta = e.metadata()?;
        if e.file_type()?.is_symlink() {
            continue;
        }
        out.push(Entry { name, is_dir: meta.is_dir(), size: meta.len() });
    }
    out.sort_by(|a, b| (!a.is_dir, &a.name).cmp(&(!b.is_dir, &b.name)));
    Ok(out)
}

/// Every regular file below `root` (symlinks skipped), sorted.
fn tree_files(root: &Path) -> std::io::Result<Vec<RelPath>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file()
                && let Some(rel) = e.path().strip_prefix(root).ok().and_then(|r| r.to_str())
                && let Ok(rel) = RelPath::new(rel)
            {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The issuer fingerprints of an armored or binary OpenPGP signature, uppercase hex.
fn issuers(sig: &[u8]) -> Vec<String> {
    use sequoia_openpgp::Packet;
    use sequoia_openpgp::parse::Parse as _;
    let Ok(pile) = sequoia_openpgp::PacketPile::from_bytes(sig) else { return Vec::new() };
    let mut out = Vec::new();
    for p in pile.descendants() {
        if let Packet::Signature(s) = p {
            for f in s.issuer_fingerprints() {
                out.push(f.to_hex());
            }
        }
    }
    out
}

/// The public page of an announced release: files with SHA-512 and signer, and the vote result.
#[handler]
pub(crate) async fn release_page(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let page = cx
        .run(move |s| {
            let (rel, project, keys, events) = s.read(|tx| {
                let rel = tx
                    .release(&p, &v)?
                    .filter(|r| r.phase == atr_core::model::ReleasePhase::Release)
                    .ok_or_else(|| {
                    WebError::not_found(format!("{p}-{v} is not an announced release."))
                })?;
                let project = tx
                    .project(&p)?
                    .ok_or_else(|| WebError::not_found(format!("There is no project `{p}`.")))?;
                let keys = tx.signing_keys_of_committee(&project.committee_key)?;
                let events = tx.audit_events_for(&rel.key().to_string())?;
                Ok::<_, WebError>((rel, project, keys, events))
            })?;
            let dir = s.layout().finished_release(&p, &v);
            let files = tree_files(&dir).map_err(|e| WebError::internal("list the released files", e))?;
            let mut rows = Vec::new();
            for path in &files {
                let full = dir.join(path.as_str());
                let sha512 = crate::ops::file_sha512(&full)?;
                let asc = dir.join(format!("{path}.asc"));
                let signers = match std::fs::read(&asc) {
                    Ok(bytes) => issuers(&bytes)
                        .into_iter()
                        .map(|fp| {
                            let owner = keys
                                .iter()
                                .find(|k| k.fingerprint.as_str().eq_ignore_ascii_case(&fp))
                                .and_then(|k| k.apache_uid.as_ref().map(ToString::to_string));
                            match owner {
                                Some(uid) => format!("{fp} ({uid})"),
                                None => format!("{fp} (not in the committee's KEYS)"),
                            }
                        })
                        .collect(),
                    Err(_) => Vec::new(),
                };
                rows.push(ReleaseFile { path: path.clone(), sha512, signers });
            }
            let vote =
                events.iter().rev().find(|e| e.action == atr_core::model::AuditAction::VoteResolve).map(
                    |e| {
                        format!(
                            "{} (binding +1: {}, binding −1: {}) at {}",
                            e.details["resolution"].as_str().unwrap_or("?"),
                            e.details["binding_yes"],
                            e.details["binding_no"],
                            e.at
                        )
                    },
                );
            Ok(ReleasePage { release: rel, project, files: rows, vote })
        })
        .await?;
    cx.render(res, pages::downloads::release(&cx.chrome(), &page));
    Ok(())
}
