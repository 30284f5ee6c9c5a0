//! Releases, revisions, files, uploads and check results through the API.

use atr_core::ids::{ProjectKey, RevisionNumber, VersionKey};
use atr_core::model::ReleasePhase;
use atr_core::path::RelPath;
use atr_core::permissions::{Action, authorise};
use atr_storage::Storage;
use base64::Engine as _;
use salvo::http::StatusCode;
use salvo::prelude::*;

use super::schema::{True, wire};
use super::{ApiError, BODY_LIMIT, Reply, actor, app, body, field, models, param, run, write_error};
use crate::ops;

wire! {
    /// Request of `/release/create`, `/release/delete`, `/release/draft/delete` and `/vote/tabulate`.
    ReleaseRequest { project: String, version: String }
}

wire! {
    /// Response of `/release/create` and `/release/get`.
    ReleaseResponse { endpoint: String, release: models::Release }
}

wire! {
    /// Response of `/release/delete`.
    DeletedResponse { endpoint: String, deleted: True }
}

wire! {
    /// Response of the endpoints that answer `{"success": true}`.
    SuccessResponse { endpoint: String, success: True }
}

wire! {
    /// Response of `/project/releases`.
    ReleasesResponse { endpoint: String, releases: Vec<models::Release> }
}

wire! {
    /// Response of `/project/get`.
    ProjectResponse { endpoint: String, project: models::Project }
}

wire! {
    /// Response of `/release/revisions`.
    RevisionsResponse { endpoint: String, revisions: Vec<models::Revision> }
}

wire! {
    /// Response of `/release/paths`.
    PathsResponse { endpoint: String, rel_paths: Vec<String> }
}

wire! {
    /// Response of `/checks/list`.
    ChecksListResponse {
        endpoint: String,
        checks: Vec<models::CheckResult>,
        checks_revision: String,
        current_phase: ReleasePhase,
    }
}

wire! {
    /// Response of `/checks/ongoing`.
    ChecksOngoingResponse { endpoint: String, ongoing: u32 }
}

wire! {
    /// Request of `/release/upload`: the file's bytes in standard base64.
    UploadRequest {
        project: String,
        version: String,
        relpath: String,
        content: String,
        expected_revision: Option<String>,
    }
}

wire! {
    /// Response of `/release/upload` (201): the new revision.
    UploadResponse { endpoint: String, revision: models::Revision }
}

wire! {
    /// Response of `/release/upload` (202): an archive held until a worker validated it; the
    /// revision appears in `/release/revisions` afterwards.
    QuarantinedResponse { endpoint: String, quarantined: True, message: String }
}

/// The project and version of a request body (400 when malformed).
pub(crate) fn release_fields(project: &str, version: &str) -> Result<(ProjectKey, VersionKey), ApiError> {
    Ok((field("project", project)?, field("version", version)?))
}

/// The `{project}` and `{version}` path parameters.
fn release_params(req: &Request) -> Result<(ProjectKey, VersionKey), ApiError> {
    Ok((param(req, "project")?, param(req, "version")?))
}

/// The release and its latest revision (404 when there is no such release).
pub(crate) fn release_and_latest(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
) -> Result<(atr_core::model::Release, Option<RevisionNumber>), ApiError> {
    s.read(|tx| {
        let release =
            tx.release(p, v)?.ok_or_else(|| ApiError::not_found(format!("There is no release {p}-{v}.")))?;
        let latest = tx.latest_revision(p, v)?;
        Ok((release, latest))
    })
}

/// The `{revision}` parameter if given, else the latest revision (404 when there is none).
fn revision_of(
    req: &Request,
    latest: Option<RevisionNumber>,
    p: &ProjectKey,
    v: &VersionKey,
) -> Result<RevisionNumber, ApiError> {
    match req.param::<String>("revision") {
        Some(raw) => RevisionNumber::parse(&raw)
            .map_err(|e| ApiError::not_found(format!("No such revision `{}`: {e}", raw.escape_debug()))),
        None => latest.ok_or_else(|| ApiError::not_found(format!("{p}-{v} has no revision yet."))),
    }
}

/// The revision numbers of `p`-`v` that were made from a validated (quarantined) upload.
fn quarantined_revisions(
    s: &Storage,
    p: &ProjectKey,
    v: &VersionKey,
) -> Result<Vec<RevisionNumber>, ApiError> {
    Ok(s.read(|tx| tx.quarantined_of_release(p, v))?.into_iter().filter_map(|q| q.revision_number).collect())
}

endpoint! {
    /// Starts a draft release (its empty first revision).
    release_create(req, depot) {
        let f: ReleaseRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let (release, latest) = run(&app, move |s| {
            ops::start_release(s, &actor, &p, v.clone(), now)?;
            release_and_latest(s, &p, &v)
        })
        .await?;
        Reply::created(&ReleaseResponse { endpoint: "/release/create".to_owned(), release: models::Release::of(&release, latest) })
    }
}

endpoint! {
    /// Deletes a release (whatever its phase, as far as the core allows the actor).
    release_delete(req, depot) {
        let f: ReleaseRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| Ok(ops::delete_release(s, &actor, &p, &v, now)?)).await?;
        Reply::ok(&DeletedResponse { endpoint: "/release/delete".to_owned(), deleted: True })
    }
}

endpoint! {
    /// Deletes a release that is still a draft (409 otherwise).
    release_draft_delete(req, depot) {
        let f: ReleaseRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| {
            let (release, _) = release_and_latest(s, &p, &v)?;
            if release.phase != ReleasePhase::Draft {
                return Err(ApiError::conflict(format!(
                    "{p}-{v} is not a draft (it is in the {} phase); use /release/delete for a candidate or preview.",
                    release.phase.label()
                )));
            }
            Ok(ops::delete_release(s, &actor, &p, &v, now)?)
        })
        .await?;
        Reply::ok(&SuccessResponse { endpoint: "/release/draft/delete".to_owned(), success: True })
    }
}

endpoint! {
    /// A release with its latest revision number.
    release_get(req, depot) {
        let (p, v) = release_params(req)?;
        let app = app(depot);
        let (release, latest) = run(&app, move |s| release_and_latest(s, &p, &v)).await?;
        Reply::ok(&ReleaseResponse { endpoint: "/release/get".to_owned(), release: models::Release::of(&release, latest) })
    }
}

endpoint! {
    /// Every revision of a release.
    release_revisions(req, depot) {
        let (p, v) = release_params(req)?;
        let app = app(depot);
        let revisions = run(&app, move |s| {
            release_and_latest(s, &p, &v)?;
            let quarantined = quarantined_revisions(s, &p, &v)?;
            let all = s.read(|tx| tx.revisions(&p, &v))?;
            Ok(all.iter().map(|r| models::Revision::of(r, quarantined.contains(&r.number))).collect())
        })
        .await?;
        Reply::ok(&RevisionsResponse { endpoint: "/release/revisions".to_owned(), revisions })
    }
}

endpoint! {
    /// The file paths of a revision (the latest unless given).
    release_paths(req, depot) {
        let (p, v) = release_params(req)?;
        let app = app(depot);
        let requested = req.param::<String>("revision").is_some();
        let (release, latest) = run(&app, { let (p, v) = (p.clone(), v.clone()); move |s| release_and_latest(s, &p, &v) }).await?;
        let n = revision_of(req, latest, &p, &v)?;
        let rel_paths = run(&app, move |s| {
            if release.phase == ReleasePhase::Release && !requested {
                let root = s.layout().finished_release(&p, &v);
                let mut out = Vec::new();
                crate::api::releases::walk(&root, &root, &mut out)?;
                return Ok(out);
            }
            Ok(s.revision_files(&p, &v, n)?.into_iter().map(|f| f.to_string()).collect())
        })
        .await?;
        Reply::ok(&PathsResponse { endpoint: "/release/paths".to_owned(), rel_paths })
    }
}

/// The regular files under `dir`, relative to `root`, sorted.
pub(crate) fn walk(
    root: &std::path::Path,
    dir: &std::path::Path,
    out: &mut Vec<String>,
) -> Result<(), ApiError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ApiError::from(crate::error::WebError::internal("list files", e)))?;
    let mut names: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    for path in names {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| ApiError::from(crate::error::WebError::internal("list files", e)))?;
        if meta.is_dir() {
            walk(root, &path, out)?;
        } else if meta.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

endpoint! {
    /// A project.
    project_get(req, depot) {
        let p: ProjectKey = param(req, "project")?;
        let app = app(depot);
        let project = run(&app, move |s| {
            s.read(|tx| tx.project(&p))?.ok_or_else(|| ApiError::not_found(format!("There is no project `{p}`.")))
        })
        .await?;
        Reply::ok(&ProjectResponse { endpoint: "/project/get".to_owned(), project: models::Project::of(&project) })
    }
}

endpoint! {
    /// The releases of a project, each with its latest revision number.
    project_releases(req, depot) {
        let p: ProjectKey = param(req, "project")?;
        let app = app(depot);
        let releases = run(&app, move |s| {
            s.read(|tx| {
                tx.project(&p)?.ok_or_else(|| ApiError::not_found(format!("There is no project `{p}`.")))?;
                let mut out = Vec::new();
                for r in tx.releases_of_project(&p)? {
                    let latest = tx.latest_revision(&r.project_key, &r.version_key)?;
                    out.push(models::Release::of(&r, latest));
                }
                Ok(out)
            })
        })
        .await?;
        Reply::ok(&ReleasesResponse { endpoint: "/project/releases".to_owned(), releases })
    }
}

endpoint! {
    /// The check results of a revision (the latest unless given), encoded straight from the rows.
    checks_list(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::ChecksList)?;
        let (p, v) = release_params(req)?;
        let given = match req.param::<String>("revision") {
            Some(raw) => Some(RevisionNumber::parse(&raw).map_err(|e| {
                ApiError::not_found(format!("No such revision `{}`: {e}", raw.escape_debug()))
            })?),
            None => None,
        };
        let app = app(depot);
        let body = run(&app, move |s| {
            s.read(|tx| {
                let release = tx
                    .release(&p, &v)?
                    .ok_or_else(|| ApiError::not_found(format!("There is no release {p}-{v}.")))?;
                let n = match given {
                    Some(n) => n,
                    None => tx
                        .latest_revision(&p, &v)?
                        .ok_or_else(|| ApiError::not_found(format!("{p}-{v} has no revision yet.")))?,
                };
                if given.is_some() && !tx.revision_exists(&p, &v, n)? {
                    return Err(ApiError::not_found(format!("{p}-{v} has no revision {n}.")));
                }
                encode_checks_list(release.phase, n, |visit| Ok(tx.each_check_result(&p, &v, n, visit)?), &format!("{p}-{v}"))
            })
        })
        .await?;
        Ok(Reply::ok_encoded(body))
    }
}

/// Encodes the `/checks/list` answer into one buffer: the keys and JSON types of
/// [`ChecksListResponse`] (a test compares the two), from the rows `rows` visits, without an
/// intermediate value per row.
pub(crate) fn encode_checks_list(
    phase: ReleasePhase,
    n: RevisionNumber,
    rows: impl FnOnce(&mut dyn FnMut(&atr_storage::db::checks::CheckResultColumns<'_>)) -> Result<usize, ApiError>,
    release_key: &str,
) -> Result<Vec<u8>, ApiError> {
    fn string(out: &mut Vec<u8>, s: &str) {
        // Nearly every value (checker names, paths, messages) has nothing to escape: one pass over
        // the bytes without an early exit (which the compiler vectorises), then one copy. Only a
        // value with a quote, a backslash or a control character goes through serde_json's escaper
        // (byte by byte), so the text is the same as serde_json's either way.
        let bytes = s.as_bytes();
        let escape = bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
        if escape {
            serde_json::to_writer(&mut *out, s).expect("a string always encodes into a Vec");
        } else {
            out.reserve(bytes.len() + 2);
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        }
    }
    fn opt(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            Some(s) => string(out, s),
            None => out.extend_from_slice(b"null"),
        }
    }
    let revision = n.to_string();
    // The same for every row: from `,"release_key"` up to the checker's value.
    let mut common = b",\"release_key\":".to_vec();
    string(&mut common, release_key);
    common.extend_from_slice(b",\"revision_number\":\"");
    common.extend_from_slice(revision.as_bytes());
    common.extend_from_slice(b"\",\"checker\":");
    // Most rows share their timestamp: `,"created":"…"` is encoded once per distinct value.
    let mut created: Option<(atr_core::time::Timestamp, Vec<u8>)> = None;
    // Start at the size of the last answer, which is usually the same list again.
    static LAST_SIZE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let hint = LAST_SIZE.load(std::sync::atomic::Ordering::Relaxed);
    let mut out = Vec::with_capacity((hint + hint / 8).clamp(1 << 12, 64 << 20));
    out.extend_from_slice(b"{\"endpoint\":\"/checks/list\",\"checks\":[");
    let mut first = true;
    rows(&mut |c| {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut out, &c.id).expect("an integer always encodes into a Vec");
        out.extend_from_slice(&common);
        string(&mut out, c.checker);
        out.extend_from_slice(b",\"checker_version\":");
        string(&mut out, c.checker_version);
        out.extend_from_slice(b",\"primary_rel_path\":");
        opt(&mut out, c.primary_rel_path);
        out.extend_from_slice(b",\"member_rel_path\":");
        opt(&mut out, c.member_rel_path);
        out.extend_from_slice(b",\"status\":");
        string(&mut out, c.status);
        out.extend_from_slice(b",\"message\":");
        string(&mut out, c.message);
        // `data` is JSON text (the schema checks `json_valid`).
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(c.data.as_bytes());
        match &created {
            Some((at, encoded)) if *at == c.created => out.extend_from_slice(encoded),
            _ => {
                let encoded = format!(",\"created\":\"{}\"", c.created).into_bytes();
                out.extend_from_slice(&encoded);
                created = Some((c.created, encoded));
            }
        }
        out.extend_from_slice(b",\"inputs_hash\":");
        opt(&mut out, c.inputs_hash);
        out.extend_from_slice(if c.cached { b",\"cached\":true}" } else { b",\"cached\":false}" });
    })?;
    out.extend_from_slice(b"],\"checks_revision\":\"");
    out.extend_from_slice(revision.as_bytes());
    out.extend_from_slice(b"\",\"current_phase\":");
    serde_json::to_writer(&mut out, &phase).map_err(|e| {
        ApiError::exception("The server could not encode its answer.", "SerializationError", &e.to_string())
    })?;
    out.push(b'}');
    LAST_SIZE.store(out.len(), std::sync::atomic::Ordering::Relaxed);
    Ok(out)
}

endpoint! {
    /// How many check tasks of a revision (the latest unless given) are queued or running.
    checks_ongoing(req, depot) {
        let (p, v) = release_params(req)?;
        let app = app(depot);
        let (_, latest) = run(&app, { let (p, v) = (p.clone(), v.clone()); move |s| release_and_latest(s, &p, &v) }).await?;
        let n = revision_of(req, latest, &p, &v)?;
        let ongoing = run(&app, move |s| Ok(s.read(|tx| tx.ongoing_task_count(&p, &v, n))?)).await?;
        Reply::ok(&ChecksOngoingResponse { endpoint: "/checks/ongoing".to_owned(), ongoing })
    }
}

/// The largest upload body: base64 of the upload limit plus room for the other fields.
pub(crate) fn upload_body_limit(upload_limit: usize) -> usize {
    upload_limit.div_ceil(3) * 4 + (64 << 10)
}

/// Stores one uploaded file through the shared upload operation (the core decides on the
/// resulting file list): an archive is held in quarantine, any other file makes a revision at once.
fn store_upload(
    s: &Storage,
    actor: &atr_core::permissions::Actor,
    (p, v): (&ProjectKey, &VersionKey),
    (path, bytes, expected): (RelPath, Vec<u8>, Option<RevisionNumber>),
    now: atr_core::time::Timestamp,
) -> Result<Reply, ApiError> {
    let state = s.release_state(p, v, now)?;
    if let Some(expected) = expected
        && state.latest_revision != Some(expected)
    {
        return Err(ApiError::conflict(format!(
            "The latest revision of {p}-{v} is {}, not the expected {expected}: someone changed the release meanwhile. Look at the new revision and upload again.",
            state.latest_revision.map_or_else(|| "none".to_owned(), |n| n.to_string())
        )));
    }
    let description = format!("Upload of {path} through the API");
    let mut reader = bytes.as_slice();
    let uploads = vec![atr_storage::quarantine::Upload { path: path.clone(), reader: &mut reader }];
    match crate::uploads::upload_files(s, actor, p, v, &description, uploads, now)? {
        atr_storage::quarantine::UploadOutcome::Revision { revision, .. } => {
            Reply::created(&UploadResponse {
                endpoint: "/release/upload".to_owned(),
                revision: models::Revision::of(&revision, false),
            })
        }
        atr_storage::quarantine::UploadOutcome::Quarantined { quarantined, .. } => Reply::with(
            StatusCode::ACCEPTED,
            &QuarantinedResponse {
                endpoint: "/release/upload".to_owned(),
                quarantined: True,
                message: format!(
                    "{path} is held in quarantine (upload {}) until the archive is validated; a new revision appears in /release/revisions when it passes.",
                    quarantined.id
                ),
            },
        ),
    }
}

endpoint! {
    /// Uploads one file (base64 in JSON): 201 with the new revision, or 202 for an archive held in
    /// quarantine until a worker validated it.
    release_upload(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::Upload)?;
        let app = app(depot);
        let f: UploadRequest = body(req, upload_body_limit(app.upload_limit)).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let path: RelPath = field("relpath", &f.relpath)?;
        let expected = f.expected_revision.as_deref().map(|r| super::revision_field("expected_revision", r)).transpose()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(f.content.as_bytes())
            .map_err(|e| ApiError::bad_request(format!("`content` is not valid base64 ({e}); send the file's bytes base64-encoded.")))?;
        if bytes.len() > app.upload_limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "{path} is {} bytes; the API accepts files up to {} bytes. Upload large files with rsync.",
                    bytes.len(),
                    app.upload_limit
                ),
            ));
        }
        let (actor, now) = (actor(depot), crate::handlers::now());
        // Refuse before storing anything when the actor may not change the project's files.
        run(&app, { let (actor, p) = (actor.clone(), p.clone()); move |s| Ok(ops::authorise_project(s, &actor, &p, Action::AddRevision).map(|_| ())?) }).await?;
        run(&app, move |s| store_upload(s, &actor, (&p, &v), (path, bytes, expected), now)).await
    }
}

/// `GET /download/path/<project>/<version>/<path>`: the raw bytes of a file of the latest
/// revision (or of the announced release), `application/octet-stream`, never a redirect.
#[handler]
pub(crate) async fn download(req: &mut Request, depot: &mut Depot, res: &mut Response) {
    let outcome = async {
        let (p, v) = release_params(req)?;
        let raw = req.param::<String>("path").unwrap_or_default();
        let path = RelPath::new(raw.as_str())
            .map_err(|e| ApiError::not_found(format!("No such file `{}`: {e}", raw.escape_debug())))?;
        let app = app(depot);
        let (release, _, full) =
            run(&app, move |s| Ok(crate::views::file_on_disk(s, &p, &v, &path)?)).await?;
        let public = atr_core::permissions::Actor::public();
        let committee = run(&app, {
            let p = release.project_key.clone();
            move |s| Ok(s.read(|tx| tx.project(&p))?.map(|p| p.committee_key))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("The release's project is missing."))?;
        authorise(&public, Action::ViewRelease, &committee)?;
        Ok::<_, ApiError>(full)
    }
    .await;
    match outcome {
        Ok(full) => {
            salvo::fs::NamedFile::builder(full).content_type(mime_octet()).send(req.headers(), res).await;
        }
        Err(e) => write_error(depot, res, &e),
    }
}

fn mime_octet() -> salvo::http::mime::Mime {
    "application/octet-stream".parse().expect("a valid MIME type")
}

#[cfg(test)]
mod tests {
    use atr_core::model::ReleasePhase;
    use atr_storage::db::checks::CheckResultColumns;

    /// Values with and without characters to escape (quotes, backslashes, control characters,
    /// non-ASCII) come out exactly as serde_json writes them.
    #[test]
    fn the_encoder_escapes_as_serde_json_does() {
        let texts =
            ["plain/path.tar.gz", "say \"hi\"", "back\\slash", "tab\there\nnewline\u{1}", "héllo ✓", ""];
        let rows: Vec<CheckResultColumns<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| CheckResultColumns {
                id: i as i64,
                checker: t,
                checker_version: "1",
                primary_rel_path: Some(t),
                member_rel_path: None,
                status: "note",
                message: t,
                data: "{\"k\":[1,2]}",
                inputs_hash: None,
                cached: false,
                created: atr_core::time::Timestamp::from_unix(1_700_000_000),
            })
            .collect();
        let n = atr_core::ids::RevisionNumber::FIRST;
        let body = super::encode_checks_list(
            ReleasePhase::Draft,
            n,
            |visit| {
                rows.iter().for_each(&mut *visit);
                Ok(rows.len())
            },
            "p-1",
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let c = &v["checks"][i];
            assert_eq!((c["checker"].as_str(), c["message"].as_str()), (Some(*t), Some(*t)));
            let expected = serde_json::to_string(t).unwrap();
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains(&format!("\"message\":{expected}")), "{expected} in {text}");
        }
    }
}
