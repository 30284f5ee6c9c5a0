//! Handlers of OpenPGP keys (add, upload KEYS, details, delete, committee KEYS export) and SSH keys.

use atr_core::ids::CommitteeKey;
use atr_core::model::Fingerprint;
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, committee_param, form, now};
use crate::error::WebError;
use crate::{keyinfo, ops, pages};

#[handler]
pub(crate) async fn overview(depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let uid = cx.uid()?;
    let actor = cx.actor.clone();
    let (keys, ssh, committees) = cx
        .run(move |s| {
            Ok(s.read(|tx| {
                let mut keys = Vec::new();
                for k in tx.signing_keys_of_uid(&uid)? {
                    let cs = tx.key_committees(&k.fingerprint)?;
                    keys.push((k, cs));
                }
                let all = tx.all_committee_keys()?;
                let mine = all
                    .into_iter()
                    .filter(|c| actor.admin || actor.participant_of.contains(c))
                    .collect::<Vec<_>>();
                Ok::<_, atr_storage::StorageError>((keys, tx.ssh_keys_of(&uid)?, mine))
            })?)
        })
        .await?;
    cx.render(res, pages::keys::overview(&cx.chrome(), &keys, &ssh, &committees, now()));
    Ok(())
}

fn committee_field(raw: Option<&str>) -> Result<Option<CommitteeKey>, WebError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| CommitteeKey::new(s).map_err(|e| WebError::invalid(format!("{e}."))))
        .transpose()
}

#[derive(Debug, Deserialize)]
struct AddForm {
    key: String,
    #[serde(default)]
    committee: String,
}

#[handler]
pub(crate) async fn add(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: AddForm = form(req, "key (and optionally committee)").await?;
    let committee = committee_field(Some(&f.committee))?;
    let (actor, at) = (cx.actor.clone(), now());
    let (fps, _) = cx
        .run(move |s| ops::add_signing_keys(s, &actor, f.key.as_bytes(), committee.as_ref(), true, at))
        .await?;
    let fp = fps.first().map(Fingerprint::to_uppercase).unwrap_or_default();
    cx.redirect(res, "/keys", true, format!("Added key {fp}."));
    Ok(())
}

/// A KEYS file upload (multipart, read under the route's size limit after the token in the URL was checked).
#[handler]
pub(crate) async fn upload(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let data = req
        .form_data()
        .await
        .map_err(|e| WebError::bad_request(format!("The KEYS upload could not be read: {e}.")))?;
    let committee = committee_field(data.fields.get("committee").map(String::as_str))?
        .ok_or_else(|| WebError::invalid("Choose the committee whose KEYS these are."))?;
    let text = match data.files.get("keys_file") {
        Some(part) => std::fs::read(part.path()).map_err(|e| WebError::internal("read the upload", e))?,
        None => data.fields.get("keys_text").cloned().unwrap_or_default().into_bytes(),
    };
    let (actor, at) = (cx.actor.clone(), now());
    let (fps, errors) =
        cx.run(move |s| ops::add_signing_keys(s, &actor, &text, Some(&committee), false, at)).await?;
    let message = format!(
        "Processed {} keys: {} successful, {} failed{}",
        fps.len() + errors.len(),
        fps.len(),
        errors.len(),
        if errors.is_empty() { ".".to_owned() } else { format!(" ({}).", errors.join("; ")) }
    );
    cx.redirect(res, "/keys", errors.is_empty(), message);
    Ok(())
}

#[handler]
pub(crate) async fn details(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let raw = req.param::<String>("fingerprint").unwrap_or_default();
    let fp = Fingerprint::new(&raw).map_err(|e| WebError::not_found(format!("{e}.")))?;
    let (key, committees) = cx
        .run(move |s| {
            let key = s
                .read(|tx| tx.signing_key(&fp))?
                .ok_or_else(|| WebError::not_found(format!("There is no key {}.", fp.to_uppercase())))?;
            Ok((key, s.read(|tx| tx.key_committees(&fp))?))
        })
        .await?;
    cx.render(res, pages::keys::details(&cx.chrome(), &key, &committees, now()));
    Ok(())
}

/// The KEYS file of a committee, as text.
#[handler]
pub(crate) async fn export(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let c = committee_param(req)?;
    let at = now();
    let text = cx
        .run(move |s| {
            let view = crate::views::committee(s, &c)?;
            if view.keys.is_empty() {
                return Err(WebError::not_found(format!(
                    "The {c} committee has no signing keys yet; add one on the keys page."
                )));
            }
            Ok(keyinfo::keys_file(c.as_str(), &view.keys, at))
        })
        .await?;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res.render(text);
    Ok(())
}

#[derive(Debug, Deserialize)]
struct FingerprintForm {
    fingerprint: String,
}

#[handler]
pub(crate) async fn delete(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: FingerprintForm = form(req, "fingerprint").await?;
    let fp = Fingerprint::new(&f.fingerprint).map_err(|e| WebError::invalid(format!("{e}.")))?;
    let (actor, at, shown) = (cx.actor.clone(), now(), fp.to_uppercase());
    cx.run(move |s| ops::delete_signing_key(s, &actor, &fp, at)).await?;
    cx.redirect(res, "/keys", true, format!("Deleted key {shown}."));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct SshForm {
    key: String,
}

#[handler]
pub(crate) async fn ssh_add(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: SshForm = form(req, "key").await?;
    let (actor, at) = (cx.actor.clone(), now());
    let fp = cx.run(move |s| ops::change_ssh_key(s, &actor, Some(&f.key), None, at)).await?;
    cx.redirect(res, "/keys", true, format!("Added SSH key {fp}."));
    Ok(())
}

#[handler]
pub(crate) async fn ssh_delete(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    cx.uid()?;
    let f: FingerprintForm = form(req, "fingerprint").await?;
    let (actor, at) = (cx.actor.clone(), now());
    let fp = cx.run(move |s| ops::change_ssh_key(s, &actor, None, Some(&f.fingerprint), at)).await?;
    cx.redirect(res, "/keys", true, format!("Deleted SSH key {fp}."));
    Ok(())
}
