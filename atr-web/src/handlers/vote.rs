//! Handlers of the vote: the vote page, starting a vote, ballots cast in the app, tabulating a
//! mail thread (mbox or Pony Mail JSON) and resolving the vote.

use std::collections::BTreeSet;

use atr_core::ids::RevisionNumber;
use atr_core::model::{ReleasePhase, VoteChoice, VoteResolution};
use atr_core::permissions::{Action, authorise};
use salvo::prelude::*;
use serde::Deserialize;

use super::{Cx, form, now, release_params};
use crate::error::WebError;
use crate::{ops, pages, views};

/// The largest vote thread accepted for tabulation.
const THREAD_LIMIT: usize = 16 << 20;

#[handler]
pub(crate) async fn page(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (actor, at) = (cx.actor.clone(), now());
    let view = cx.run(move |s| views::vote(s, &actor, &p, &v, at)).await?;
    let committee = &view.state.project.committee_key;
    authorise(&cx.actor, Action::ViewRelease, committee)?;
    let can_vote = authorise(&cx.actor, Action::CastBallot, committee).is_ok();
    let can_resolve = authorise(&cx.actor, Action::ResolveVote, committee).is_ok();
    cx.render(res, pages::vote::vote(&cx.chrome(), &view, can_vote, can_resolve));
    Ok(())
}

/// Starts the vote: the acknowledged concerns are the checked `concern` boxes.
#[handler]
pub(crate) async fn start(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let data = req
        .form_data()
        .await
        .map_err(|e| WebError::bad_request(format!("The vote form could not be read: {e}.")))?;
    let field = |name: &str| data.fields.get(name).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let revision = field("revision")
        .map(|r| {
            RevisionNumber::parse(&r).map_err(|e| {
                WebError::invalid(format!("`{}` is not a revision number: {e}", r.escape_debug()))
            })
        })
        .transpose()?;
    let duration_hours = field("duration_hours")
        .map(|d| {
            d.parse::<u32>().map_err(|_| {
                WebError::invalid(format!("`{}` is not a number of hours, such as 72.", d.escape_debug()))
            })
        })
        .transpose()?;
    let concerns_noted: BTreeSet<String> =
        data.fields.get_vec("concern").map(|v| v.iter().cloned().collect()).unwrap_or_default();
    let request = ops::StartVoteRequest {
        revision,
        email_to: field("email_to").unwrap_or_default(),
        duration_hours,
        concerns_noted,
    };
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let sent = cx.run(move |s| ops::start_vote(s, &actor, &pp, &vv, request, at)).await?;
    let message = match sent.message_id {
        Some(id) => format!("The vote has started; the vote mail <{id}> was sent."),
        None => "The vote has started.".to_owned(),
    };
    cx.redirect(res, &format!("/vote/{p}/{v}"), true, message);
    Ok(())
}

#[derive(Debug, Deserialize)]
struct BallotForm {
    choice: String,
    #[serde(default)]
    comment: String,
}

/// Casts the logged-in committer's ballot (trusted vote mode).
#[handler]
pub(crate) async fn ballot(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: BallotForm = form(req, "choice (+1, 0 or -1) and comment").await?;
    let choice: VoteChoice = f.choice.trim().parse().map_err(|_| {
        WebError::invalid(format!("`{}` is not a vote; choose +1, 0 or -1.", f.choice.escape_debug()))
    })?;
    if f.comment.len() > 10_000 {
        return Err(WebError::invalid("The comment is longer than 10,000 characters; shorten it."));
    }
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let b = cx.run(move |s| ops::cast_ballot(s, &actor, &pp, &vv, choice, f.comment, at)).await?;
    let kind = if b.binding { "binding" } else { "non-binding" };
    cx.redirect(
        res,
        &format!("/vote/{p}/{v}"),
        true,
        format!("Your {kind} vote {} on revision {} is recorded.", b.choice.as_str(), b.revision_number),
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
struct ResolveForm {
    resolution: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    vote_thread_url: String,
    #[serde(default)]
    result_thread_url: String,
}

/// Resolves the vote as passed, failed or cancelled (the rules are the core's).
#[handler]
pub(crate) async fn resolve(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: ResolveForm = form(req, "resolution (passed, failed or cancelled)").await?;
    let resolution: VoteResolution = f.resolution.trim().parse().map_err(|_| {
        WebError::invalid(format!(
            "`{}` is not a resolution; choose passed, failed or cancelled.",
            f.resolution.escape_debug()
        ))
    })?;
    let evidence =
        (!f.vote_thread_url.trim().is_empty() || !f.result_thread_url.trim().is_empty()).then(|| {
            atr_core::lifecycle::ManualEvidence {
                vote_thread_url: f.vote_thread_url.trim().to_owned(),
                result_thread_url: f.result_thread_url.trim().to_owned(),
            }
        });
    let request = ops::ResolveRequest {
        resolution,
        evidence,
        result_body: Some(f.body).filter(|b| !b.trim().is_empty()),
        test_mode_bypass: cx.app.test_mode,
    };
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let t = cx.run(move |s| ops::resolve_vote(s, &actor, &pp, &vv, request, at)).await?;
    let phase = t.state.phase().unwrap_or(ReleasePhase::Draft);
    let to = match phase {
        ReleasePhase::Preview => format!("/finish/{p}/{v}"),
        ReleasePhase::Candidate => format!("/vote/{p}/{v}"),
        _ => format!("/compose/{p}/{v}"),
    };
    cx.redirect(
        res,
        &to,
        true,
        format!("The vote is resolved as {resolution}; the release is now in the {} phase.", phase.label()),
    );
    Ok(())
}

/// Tabulates an email vote. Without a file the server reads the vote's thread from its own list
/// archive and stores the counted votes as the round's ballots; an uploaded thread (mbox or Pony
/// Mail JSON) is only previewed: nothing is stored and none of its votes count.
#[handler]
pub(crate) async fn tabulate(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let data = req.form_data().await.map_err(|e| {
        WebError::bad_request(format!(
            "The tabulation form could not be read ({e}); send it again, with an mbox or Pony Mail JSON file to preview one."
        ))
    })?;
    let upload = match data.files.get("thread").filter(|f| f.size() > 0) {
        Some(file) => {
            if file.size() > THREAD_LIMIT as u64 {
                return Err(WebError::invalid(format!(
                    "The thread is larger than {} MiB.",
                    THREAD_LIMIT >> 20
                )));
            }
            Some(std::fs::read(file.path()).map_err(|e| WebError::internal("read the uploaded thread", e))?)
        }
        None => None,
    };
    let preview = upload.is_some();
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let (view, tab) = cx
        .run(move |s| {
            let tab = match &upload {
                Some(bytes) => ops::preview_thread(s, &actor, &pp, &vv, bytes, at)?,
                None => ops::tabulate_from_archive(s, &actor, &pp, &vv, at)?,
            };
            Ok((views::vote(s, &actor, &pp, &vv, at)?, tab))
        })
        .await?;
    cx.render(res, pages::vote::tabulated(&cx.chrome(), &view, &tab, at, preview));
    Ok(())
}

/// The finish page of a preview: move files, remove RC tags, announce.
#[handler]
pub(crate) async fn finish(req: &mut Request, depot: &mut Depot, res: &mut Response) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let (actor, at) = (cx.actor.clone(), now());
    let view = cx.run(move |s| views::vote(s, &actor, &p, &v, at)).await?;
    let committee = &view.state.project.committee_key;
    authorise(&cx.actor, Action::ViewRelease, committee)?;
    let can_finish = authorise(&cx.actor, Action::FinishMove, committee).is_ok();
    let announce_to =
        cx.actor.uid.as_ref().map(atr_core::lifecycle::permitted_announce_recipients).unwrap_or_default();
    cx.render(res, pages::vote::finish(&cx.chrome(), &view, can_finish, &announce_to));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    revision: String,
    path: String,
    directory: String,
}

fn revision_field(raw: &str) -> Result<Option<RevisionNumber>, WebError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    RevisionNumber::parse(raw)
        .map(Some)
        .map_err(|e| WebError::invalid(format!("`{}` is not a revision number: {e}", raw.escape_debug())))
}

/// Moves one file (with its companions) into a directory (empty: the top level).
#[handler]
pub(crate) async fn finish_move(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: MoveForm = form(req, "path, directory and revision").await?;
    let from = super::rel_path_field(f.path.trim())?;
    let name = from.as_str().rsplit('/').next().unwrap_or_default().to_owned();
    let dir = f.directory.trim().trim_matches('/');
    let to = if dir.is_empty() {
        super::rel_path_field(&name)?
    } else {
        super::rel_path_field(&format!("{dir}/{name}"))?
    };
    let revision = revision_field(&f.revision)?;
    let moves = vec![atr_core::lifecycle::FileMove { from, to }];
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let rev = cx.run(move |s| ops::finish_move(s, &actor, &pp, &vv, moves, revision, at)).await?;
    cx.redirect(
        res,
        &format!("/finish/{p}/{v}"),
        true,
        format!("Moved: revision {} is checked now.", rev.number),
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
struct RevisionForm {
    #[serde(default)]
    revision: String,
}

/// Removes release-candidate tags from every path that has one, as one revision.
#[handler]
pub(crate) async fn remove_rc_tags(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: RevisionForm = form(req, "revision").await?;
    let revision = revision_field(&f.revision)?;
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let rev = cx
        .run(move |s| {
            let state = s.release_state(&pp, &vv, at)?;
            let moves = atr_core::naming::rc_tag_moves(&state.files);
            if moves.is_empty() {
                return Err(WebError::invalid(
                    "No file name has a release-candidate tag (such as -RC1) to remove.",
                ));
            }
            ops::finish_move(s, &actor, &pp, &vv, moves, revision, at)
        })
        .await?;
    cx.redirect(res, &format!("/finish/{p}/{v}"), true, format!("RC tags removed: revision {}.", rev.number));
    Ok(())
}

#[derive(Debug, Deserialize)]
struct AnnounceForm {
    #[serde(default)]
    revision: String,
    email_to: String,
    #[serde(default)]
    path_suffix: String,
}

/// Announces the release: publishes its files and sends the announcement.
#[handler]
pub(crate) async fn announce(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), WebError> {
    let cx = Cx::of(depot);
    let (p, v) = release_params(req)?;
    let f: AnnounceForm = form(req, "email_to, path_suffix and revision").await?;
    let request = ops::AnnounceRequest {
        revision: revision_field(&f.revision)?,
        email_to: f.email_to.trim().to_owned(),
        path_suffix: Some(f.path_suffix.trim().to_owned()).filter(|s| !s.is_empty()),
    };
    let (actor, at, (pp, vv)) = (cx.actor.clone(), now(), (p.clone(), v.clone()));
    let published = cx.run(move |s| ops::announce(s, &actor, &pp, &vv, request, at)).await?;
    cx.redirect(
        res,
        &format!("/release/{p}/{v}"),
        true,
        format!("Announced: {} files published.", published.files.len()),
    );
    Ok(())
}
