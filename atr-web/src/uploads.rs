//! The upload operation shared by the browser form, the API, rsync and SVN: authorised by the core,
//! stored through [`Storage::upload`] / [`Storage::upload_staged`] (archives held in quarantine
//! until a worker validated them).
//!
//! The browser form is received by [`receive_form`]: each multipart file is streamed once, as it
//! arrives, into a [`StagedUpload`] under the state directory (hashed on the way), so the file is
//! written once and later hard-linked into its revision or renamed into quarantine.

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::lifecycle::{Command, apply};
use atr_core::model::ReleasePhase;
use atr_core::permissions::{Action, Actor, authorise};
use atr_core::time::Timestamp;
use atr_storage::Storage;
use atr_storage::quarantine::{Quarantined, StagedUpload, Upload, UploadOutcome};
use atr_storage::revision::NewRevision;

use std::collections::HashSet;
use std::io::Write as _;
use std::sync::Arc;

use atr_core::path::RelPath;
use http_body_util::BodyExt as _;
use hyper::body::Bytes;
use salvo::http::StatusCode;
use salvo::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use salvo::prelude::Request;

use crate::error::WebError;
use crate::handlers::rel_path_field;

/// Stores `uploads` in the draft of `project` `version`: a new revision at once when no file is
/// an archive, else a quarantined upload whose validation task decides (HTTP 201 or 202).
///
/// The core decides first, on the file list the revision would have (the latest revision's files
/// plus the uploaded ones): permission, phase, and that nobody added a revision meanwhile.
pub(crate) fn upload_files(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    description: &str,
    uploads: Vec<Upload<'_>>,
    now: Timestamp,
) -> Result<UploadOutcome, WebError> {
    let req = decide(s, actor, project, version, description, uploads.iter().map(|u| &u.path), &[], now)?;
    Ok(s.upload(&req, uploads)?)
}

/// [`upload_files`] for files already received into `staged` (the browser form, rsync): the same
/// decision by the core, then [`Storage::upload_staged`]; its removals (rsync `--delete`) join
/// the same revision.
pub(crate) fn upload_staged_files(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    description: &str,
    staged: StagedUpload,
    now: Timestamp,
) -> Result<UploadOutcome, WebError> {
    let req = decide(s, actor, project, version, description, staged.paths(), staged.removals(), now)?;
    Ok(s.upload_staged(&req, staged)?)
}

/// The core's decision on an upload of `paths` removing `removals`, and the revision request.
#[expect(clippy::too_many_arguments, reason = "the two upload entry points share it")]
fn decide<'p>(
    s: &Storage,
    actor: &Actor,
    project: &ProjectKey,
    version: &VersionKey,
    description: &str,
    paths: impl Iterator<Item = &'p RelPath>,
    removals: &[RelPath],
    now: Timestamp,
) -> Result<NewRevision, WebError> {
    let state = s.release_state(project, version, now)?;
    let uid = actor.uid.clone().ok_or_else(WebError::unauthenticated)?;
    let grant = authorise(actor, Action::AddRevision, &state.project.committee_key)?;
    let mut files = state.files.clone();
    for r in removals {
        files.remove(r);
    }
    files.extend(paths.cloned());
    let command = Command::AddRevision {
        files,
        description: description.to_owned(),
        expected_latest: state.latest_revision,
    };
    apply(&state, command, actor, now)?;
    let mut req = NewRevision::new(project.clone(), version.clone(), uid, now, description)
        .in_phases(&[ReleasePhase::Draft]);
    req.as_admin = grant.as_admin;
    if let Some(n) = state.latest_revision {
        req = req.expecting_latest(n);
    }
    Ok(req)
}

/// Most files one form upload may hold.
const MAX_FORM_FILES: usize = 10_000;
/// Most parts (files and fields) one form upload may hold.
const MAX_FORM_PARTS: usize = 10_100;
/// Chunks in flight between the connection and the disk writer (bounds the memory an upload uses).
const CHUNKS_IN_FLIGHT: usize = 8;

/// What the connection hands to the disk writer.
#[derive(Debug)]
enum Piece {
    Begin(RelPath),
    Data(Bytes),
    End,
    /// The form is complete; anything else (a closed channel) means it was abandoned.
    Done,
}

/// A received upload form: its files, staged, and the optional target directory field.
#[derive(Debug)]
pub(crate) struct ReceivedForm {
    /// The files, written once under the state directory.
    pub(crate) staged: StagedUpload,
    /// The `directory` field, validated.
    pub(crate) directory: Option<RelPath>,
}

/// The refusal of an upload over `limit` bytes.
pub(crate) fn too_large(limit: u64) -> WebError {
    WebError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The upload is larger than the server accepts in one request ({} MiB); nothing was kept. \
             Upload fewer or smaller files at a time, or use rsync.",
            limit >> 20
        ),
    )
}

fn form_error(e: multra::Error, limit: u64) -> WebError {
    match e {
        multra::Error::StreamSizeExceeded { .. } => too_large(limit),
        other => WebError::bad_request(format!("The upload could not be read: {other}.")),
    }
}

/// Receives the multipart body of `req` (fields `files`, many, and `directory`): every file name
/// is validated as a [`RelPath`] before a byte of it is written, every file is streamed to disk
/// as it arrives (never held whole in memory) and hashed on the way, and the body may not exceed
/// `limit` bytes (413, checked against `Content-Length` before reading and while streaming).
/// On any refusal, everything written so far is removed.
pub(crate) async fn receive_form(
    storage: Arc<Storage>,
    req: &mut Request,
    limit: u64,
) -> Result<ReceivedForm, WebError> {
    if req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large(limit));
    }
    let boundary = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multra::parse_boundary(v).ok())
        .ok_or_else(|| WebError::bad_request("The upload must be sent as multipart/form-data."))?;
    let body = req.take_body().into_data_stream();
    let constraints = multra::Constraints::new().size_limit(multra::SizeLimit::new().whole_stream(limit));
    let mut multipart = multra::Multipart::with_constraints(body, boundary, constraints);

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(CHUNKS_IN_FLIGHT);
    // The disk writer: one blocking thread owning the staged upload.
    let writer = tokio::task::spawn_blocking(move || {
        let mut staged = storage.stage_upload()?;
        let out_of_order = || WebError::internal("write the upload", "pieces out of order");
        loop {
            match rx.blocking_recv() {
                Some(Piece::Begin(path)) => {
                    let mut w = staged.begin(path)?;
                    loop {
                        match rx.blocking_recv() {
                            Some(Piece::Data(bytes)) => {
                                w.write_all(&bytes).map_err(|e| WebError::internal("write the upload", e))?;
                            }
                            Some(Piece::End) => {
                                w.finish()?;
                                break;
                            }
                            Some(_) => return Err(out_of_order()),
                            // Abandoned: dropping the writer and the staged upload removes every file.
                            None => return Ok(None),
                        }
                    }
                }
                Some(Piece::Done) => return Ok::<_, WebError>(Some(staged)),
                Some(_) => return Err(out_of_order()),
                None => return Ok(None),
            }
        }
    });

    let read = async {
        let mut names = HashSet::new();
        let (mut parts, mut directory) = (0usize, None);
        while let Some(mut field) = multipart.next_field().await.map_err(|e| form_error(e, limit))? {
            parts += 1;
            if parts > MAX_FORM_PARTS {
                return Err(WebError::invalid(format!(
                    "The upload has more than {MAX_FORM_PARTS} parts; send fewer files at a time."
                )));
            }
            let is_file = field.file_name().is_some();
            match field.name() {
                Some("files") if is_file => {
                    let raw = field.file_name().unwrap_or_default().to_owned();
                    if raw.is_empty() {
                        // The empty file input of a form submitted without a file.
                        while let Some(chunk) = field.chunk().await.map_err(|e| form_error(e, limit))? {
                            if !chunk.is_empty() {
                                return Err(WebError::invalid(
                                    "A file in the upload has no name; name it and upload again.",
                                ));
                            }
                        }
                        continue;
                    }
                    let rel = rel_path_field(&raw)?;
                    if !names.insert(rel.clone()) {
                        return Err(WebError::invalid(format!(
                            "`{rel}` appears twice in the upload; send each file once."
                        )));
                    }
                    if names.len() > MAX_FORM_FILES {
                        return Err(WebError::invalid(format!(
                            "The upload has more than {MAX_FORM_FILES} files; send fewer at a time."
                        )));
                    }
                    if tx.send(Piece::Begin(rel)).await.is_err() {
                        return Ok(None);
                    }
                    while let Some(chunk) = field.chunk().await.map_err(|e| form_error(e, limit))? {
                        if tx.send(Piece::Data(chunk)).await.is_err() {
                            return Ok(None);
                        }
                    }
                    if tx.send(Piece::End).await.is_err() {
                        return Ok(None);
                    }
                }
                Some("directory") if !is_file => {
                    let text = field.text().await.map_err(|e| form_error(e, limit))?;
                    let text = text.trim();
                    directory = if text.is_empty() { None } else { Some(rel_path_field(text)?) };
                }
                // Other fields (the CSRF token, …) are read past.
                _ => while field.chunk().await.map_err(|e| form_error(e, limit))?.is_some() {},
            }
        }
        Ok(if tx.send(Piece::Done).await.is_err() { None } else { Some(directory) })
    };
    let read = read.await;
    drop(tx);
    let staged = writer.await??;
    match (read?, staged) {
        (Some(directory), Some(staged)) => Ok(ReceivedForm { staged, directory }),
        // The writer stopped early: it returned its error above; this is unreachable in practice.
        _ => Err(WebError::internal("write the upload", "the disk writer stopped")),
    }
}

/// The quarantined uploads of a release to show on its compose page: every pending one, and the
/// most recent refusals (at most `refusals`), newest first.
pub(crate) fn quarantine_status(
    s: &Storage,
    project: &ProjectKey,
    version: &VersionKey,
    refusals: usize,
) -> Result<(Vec<Quarantined>, Vec<Quarantined>), WebError> {
    use atr_storage::quarantine::QuarantineStatus;
    let all = s.read(|tx| tx.quarantined_of_release(project, version))?;
    let pending = all.iter().filter(|q| q.status == QuarantineStatus::Pending).cloned().collect();
    let failed = all.into_iter().filter(|q| q.status == QuarantineStatus::Failed).take(refusals).collect();
    Ok((pending, failed))
}
