//! Votes, announcement, ignore rules, distribution records and SBOM tasks through the API.

use std::collections::BTreeSet;

use atr_core::ids::{ProjectKey, RevisionNumber};
use atr_core::model::{ReleasePhase, TaskSpec, TaskType, VoteMode, VoteResolution};
use atr_core::permissions::{Action, authorise};
use salvo::http::StatusCode;
use serde_json::{Value, json};

use super::releases::{ReleaseRequest, SuccessResponse, release_fields};
use super::schema::{True, wire};
use super::{ApiError, BODY_LIMIT, Reply, actor, app, body, field, models, param, run};
use crate::ops;

wire! {
    /// Request of `/vote/start`, as the `atr` client sends it.
    VoteStartRequest {
        project: String,
        version: String,
        revision: Option<String>,
        email_to: String,
        #[serde(default)]
        email_cc: Vec<String>,
        #[serde(default)]
        email_bcc: Vec<String>,
        vote_duration: Option<u32>,
        subject: Option<String>,
        body: Option<String>,
        second_round_email_to: Option<String>,
        #[serde(default)]
        notify_when_finished: bool,
        #[serde(default)]
        automatic_resolve_when_finished: bool,
        #[serde(default)]
        automatic_publish_when_resolved: bool,
        #[serde(default)]
        concerns_noted: Vec<String>,
    }
}

wire! {
    /// Response of `/vote/start` and `/sbom/generate`: the task that records the work.
    TaskResponse { endpoint: String, task: models::Task }
}

wire! {
    /// Request of `/vote/resolve`.
    VoteResolveRequest { project: String, version: String, resolution: String }
}

wire! {
    /// Request of `/vote/cast`: `choice` is `+1`, `0` or `-1`.
    VoteCastRequest {
        project: String,
        version: String,
        choice: String,
        #[serde(default)]
        comment: String,
    }
}

wire! {
    /// Response of `/vote/cast`: where the receipt went.
    VoteCastResponse { endpoint: String, success: True, receipt_email_to: Vec<String> }
}

wire! {
    /// Response of `/vote/tabulate`.
    VoteTabulateResponse {
        endpoint: String,
        details: Option<Value>,
        vote_mode: String,
        vote_seq: Option<u32>,
        trusted_ballots: Option<Vec<Value>>,
        trusted_summary: Option<Value>,
        trusted_passed: Option<bool>,
    }
}

wire! {
    /// Request of `/release/announce`.
    AnnounceRequest {
        project: String,
        version: String,
        revision: Option<String>,
        email_to: String,
        body: Option<String>,
        path_suffix: Option<String>,
    }
}

wire! {
    /// Request of `/ignore/add`: every glob may be null (matches anything).
    IgnoreAddRequest {
        project_key: String,
        release_glob: Option<String>,
        revision_number: Option<String>,
        checker_glob: Option<String>,
        primary_rel_path_glob: Option<String>,
        member_rel_path_glob: Option<String>,
        status: Option<String>,
        message_glob: Option<String>,
    }
}

wire! {
    /// Request of `/ignore/delete`.
    IgnoreDeleteRequest { project_key: String, id: i64 }
}

wire! {
    /// Response of `/ignore/list`.
    IgnoreListResponse { endpoint: String, ignores: Vec<models::CheckResultIgnore> }
}

wire! {
    /// Request of `/distribution/record`.
    DistributionRecordRequest {
        project: String,
        version: String,
        platform: String,
        distribution_owner_namespace: Option<String>,
        distribution_package: String,
        distribution_version: String,
        staging: bool,
        details: bool,
    }
}

wire! {
    /// Response of `/distribution/list`.
    DistributionListResponse { endpoint: String, distributions: Vec<models::Distribution> }
}

wire! {
    /// Request of `/sbom/generate`.
    SbomGenerateRequest { project: String, version: String, relpath: String }
}

fn optional_revision(raw: Option<&str>) -> Result<Option<RevisionNumber>, ApiError> {
    raw.map(|r| super::revision_field("revision", r)).transpose()
}

endpoint! {
    /// Starts the vote on the latest draft revision (409 while checks run); the vote mail is sent
    /// at once (its `subject` and `body`, else the policy's template, placeholders filled) and
    /// recorded as a completed `vote_initiate` task, which is returned.
    vote_start(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::VoteStart)?;
        let f: VoteStartRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let revision = optional_revision(f.revision.as_deref())?;
        if !f.email_cc.is_empty() || !f.email_bcc.is_empty() {
            return Err(ApiError::bad_request(
                "Copies of the vote mail (email_cc, email_bcc) are not supported; send the vote to one permitted list.",
            ));
        }
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let task = run(&app, move |s| {
            let request = ops::StartVoteRequest {
                revision,
                email_to: f.email_to.clone(),
                duration_hours: f.vote_duration,
                concerns_noted: f.concerns_noted.iter().cloned().collect::<BTreeSet<_>>(),
            };
            let custom = ops::CustomMail { subject: f.subject.clone(), body: f.body.clone() };
            let started = ops::start_vote_with(s, &actor, &p, &v, request, &custom, now)?;
            let message_id = started.message_id.clone();
            let n = s.read(|tx| tx.latest_revision(&p, &v))?;
            // The mail went out in-process; the task row records it for the client and the admin pages.
            let spec = TaskSpec {
                task_type: TaskType::VoteInitiate,
                task_args: json!({
                    "email_to": f.email_to,
                    "vote_duration": f.vote_duration,
                    "subject": f.subject,
                    "message_id": message_id,
                }),
                asf_uid: actor.uid.clone(),
                project_key: Some(p.clone()),
                version_key: Some(v.clone()),
                revision_number: n,
                primary_rel_path: None,
            };
            s.write(|tx| {
                let id = tx.enqueue_task(&spec, now)?;
                let result = serde_json::to_value(models::VoteInitiate::of(&started))
                    .map_err(|e| ApiError::exception("The vote task result could not be encoded.", "SerializationError", &e.to_string()))?;
                tx.complete_queued_task(id, "atr-web", now, &result)?;
                tx.task(id)?.ok_or_else(|| ApiError::not_found("The vote task vanished."))
            })
        })
        .await?;
        Reply::created(&TaskResponse { endpoint: "/vote/start".to_owned(), task: models::Task::of(&task) })
    }
}

endpoint! {
    /// Casts the caller's ballot in a vote held on the platform: bound to the manifest digest of
    /// the voted revision, binding when the committee roster lists the caller as a member, with a
    /// receipt mailed to the voter. A later ballot by the same person replaces the earlier one.
    vote_cast(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::VoteCast)?;
        let f: VoteCastRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let choice: atr_core::model::VoteChoice = field("choice", &f.choice)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let ballot = run(&app, move |s| Ok(ops::cast_ballot(s, &actor, &p, &v, choice, f.comment, now)?)).await?;
        let to = ballot.voter.map(|u| format!("{u}@apache.org")).into_iter().collect();
        Reply::ok(&VoteCastResponse { endpoint: "/vote/cast".to_owned(), success: True, receipt_email_to: to })
    }
}

endpoint! {
    /// Resolves the running vote: passed, failed or cancelled.
    vote_resolve(req, depot) {
        let f: VoteResolveRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let resolution: VoteResolution = field("resolution", &f.resolution)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let bypass = app.test_mode;
        run(&app, move |s| {
            let request =
                ops::ResolveRequest { resolution, evidence: None, result_body: None, test_mode_bypass: bypass };
            ops::resolve_vote(s, &actor, &p, &v, request, now)?;
            Ok(())
        })
        .await?;
        Reply::ok(&SuccessResponse { endpoint: "/vote/resolve".to_owned(), success: True })
    }
}

endpoint! {
    /// Where the running vote stands: an email vote is tabulated from the list's archive (and its
    /// ballots stored), a trusted vote from the ballots cast on the platform.
    vote_tabulate(req, depot) {
        let f: ReleaseRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let answer = run(&app, move |s| {
            let state = s.release_state(&p, &v, now)?;
            let release = state.release.clone().ok_or_else(|| ApiError::not_found(format!("There is no release {p}-{v}.")))?;
            authorise(&actor, Action::ResolveVote, &state.project.committee_key)?;
            if release.phase != ReleasePhase::Candidate {
                return Err(ApiError::conflict(format!(
                    "{p}-{v} has no running vote (it is in the {} phase).",
                    release.phase.label()
                )));
            }
            let mode = release.vote_mode.unwrap_or(state.project.policy.vote_mode);
            let mut out = VoteTabulateResponse {
                endpoint: "/vote/tabulate".to_owned(),
                details: None,
                vote_mode: mode.as_str().to_owned(),
                vote_seq: Some(release.vote_seq),
                trusted_ballots: None,
                trusted_summary: None,
                trusted_passed: None,
            };
            match mode {
                VoteMode::Email => {
                    let list = ops::vote_list(s, &state)?
                        .ok_or_else(|| ApiError::conflict("The vote's mailing list is not known; tabulate it on the vote page."))?;
                    let tab = ops::tabulate_from_archive(s, &actor, &p, &v, now)?;
                    out.details = Some(json!({
                        "list": list,
                        "started": tab.started.map(|t| t.to_string()),
                        "votes": tab.votes.len(),
                        "skipped": tab.skipped.len(),
                        "tally": tab.tally,
                        "passes": tab.tally.passes(),
                    }));
                }
                VoteMode::Trusted => {
                    let tally = atr_core::model::Tally::of(&state.ballots);
                    out.trusted_ballots = Some(state.ballots.iter().map(|b| serde_json::to_value(b).unwrap_or(Value::Null)).collect());
                    out.trusted_summary = Some(serde_json::to_value(tally).unwrap_or(Value::Null));
                    out.trusted_passed = Some(tally.passes());
                }
                VoteMode::Manual => {}
            }
            Ok(out)
        })
        .await?;
        Reply::ok(&answer)
    }
}

endpoint! {
    /// Announces a preview: the files are published and the `[ANNOUNCE]` mail (from `body`, else
    /// the policy's template, placeholders filled) goes to `email_to`.
    release_announce(req, depot) {
        let f: AnnounceRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let revision = optional_revision(f.revision.as_deref())?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| {
            let request = ops::AnnounceRequest { revision, email_to: f.email_to, path_suffix: f.path_suffix };
            let custom = ops::CustomMail { subject: None, body: f.body };
            ops::announce_with(s, &actor, &p, &v, request, &custom, now)?;
            Ok(())
        })
        .await?;
        Reply::created(&SuccessResponse { endpoint: "/release/announce".to_owned(), success: True })
    }
}

endpoint! {
    /// Adds an ignore rule to a project (committee members).
    ignore_add(req, depot) {
        let f: IgnoreAddRequest = body(req, BODY_LIMIT).await?;
        let project: ProjectKey = field("project_key", &f.project_key)?;
        let revision_number = f.revision_number.as_deref().map(|r| super::revision_field("revision_number", r)).transpose()?;
        let status = f.status.as_deref().map(|s| field::<atr_core::check::CheckStatus>("status", s)).transpose()?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let uid = actor.uid.clone().ok_or_else(|| ApiError::unauthorized("Authentication required."))?;
        let rule = atr_core::model::CheckResultIgnore {
            id: None,
            asf_uid: uid,
            created: now,
            project_key: project.clone(),
            release_glob: f.release_glob,
            revision_number,
            checker_glob: f.checker_glob,
            primary_rel_path_glob: f.primary_rel_path_glob,
            member_rel_path_glob: f.member_rel_path_glob,
            status,
            message_glob: f.message_glob,
            reason: "Added with the atr client (the API takes no reason).".to_owned(),
            expires: None,
        };
        run(&app, move |s| Ok(ops::change_ignore(s, &actor, &project, ops::IgnoreChange::Add(rule), now)?)).await?;
        Reply::ok(&SuccessResponse { endpoint: "/ignore/add".to_owned(), success: True })
    }
}

endpoint! {
    /// Deletes an ignore rule of a project.
    ignore_delete(req, depot) {
        let f: IgnoreDeleteRequest = body(req, BODY_LIMIT).await?;
        let project: ProjectKey = field("project_key", &f.project_key)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        run(&app, move |s| Ok(ops::change_ignore(s, &actor, &project, ops::IgnoreChange::Delete(f.id), now)?)).await?;
        Reply::ok(&SuccessResponse { endpoint: "/ignore/delete".to_owned(), success: True })
    }
}

endpoint! {
    /// The ignore rules of a project.
    ignore_list(req, depot) {
        let project: ProjectKey = param(req, "key")?;
        let app = app(depot);
        let ignores = run(&app, move |s| {
            s.read(|tx| {
                tx.project(&project)?.ok_or_else(|| ApiError::not_found(format!("There is no project `{project}`.")))?;
                Ok(tx.ignores(&project)?)
            })
        })
        .await?;
        Reply::ok(&IgnoreListResponse {
            endpoint: "/ignore/list".to_owned(),
            ignores: ignores.iter().map(models::CheckResultIgnore::of).collect(),
        })
    }
}

endpoint! {
    /// The distribution records of a release.
    distribution_list(req, depot) {
        let (p, v): (ProjectKey, atr_core::ids::VersionKey) = (param(req, "project")?, param(req, "version")?);
        let app = app(depot);
        let records = run(&app, move |s| Ok(ops::list_distributions(s, &p, &v)?)).await?;
        Reply::ok(&DistributionListResponse {
            endpoint: "/distribution/list".to_owned(),
            distributions: records.iter().map(models::Distribution::of).collect(),
        })
    }
}

endpoint! {
    /// Records that a release is also published in a package registry (the same operation as the
    /// web page: phase rule and URLs from the core, audited, and the registry lookup queued). ATR
    /// always asks the registry; its `details` flag only adds the registry's answer to the web
    /// form's reply. This response is strict (`endpoint`, `success`), so `details` is accepted and
    /// what the registry says appears in `/distribution/list` (`pending`, `upload_date`, `web_url`)
    /// once the worker has asked it. Unlike ATR, an unreachable registry is not a 424: the record
    /// is kept, pending, with the reason on the distributions page.
    distribution_record(req, depot) {
        let f: DistributionRecordRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let platform: atr_core::model::DistributionPlatform = field("platform", &f.platform)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let input = atr_core::model::distribution::DistributionInput {
            platform,
            owner_namespace: f.distribution_owner_namespace.filter(|o| !o.is_empty()),
            package: f.distribution_package,
            version: f.distribution_version,
            staging: f.staging,
        };
        let registries = crate::handlers::distributions::registries(depot);
        run(&app, move |s| Ok(ops::record_distribution(s, &actor, &p, &v, input, &registries, now).map(|_| ())?))
            .await?;
        Reply::created(&SuccessResponse { endpoint: "/distribution/record".to_owned(), success: True })
    }
}

endpoint! {
    /// Queues a CycloneDX SBOM generation for a source archive of the latest draft revision (the
    /// worker adds `<archive>.cdx.json` in a new revision).
    sbom_generate(req, depot) {
        super::limits::throttle(req, depot, super::limits::Expensive::SbomGenerate)?;
        let f: SbomGenerateRequest = body(req, BODY_LIMIT).await?;
        let (p, v) = release_fields(&f.project, &f.version)?;
        let path: atr_core::path::RelPath = field("relpath", &f.relpath)?;
        let (app, actor, now) = (app(depot), actor(depot), crate::handlers::now());
        let task = run(&app, move |s| {
            let id = ops::request_sbom_generation(s, &actor, &p, &v, &path, now)?;
            s.read(|tx| tx.task(id))?.ok_or_else(|| ApiError::not_found("The SBOM task vanished."))
        })
        .await?;
        Reply::with(StatusCode::CREATED, &TaskResponse { endpoint: "/sbom/generate".to_owned(), task: models::Task::of(&task) })
    }
}
