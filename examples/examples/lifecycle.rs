//! Drives one release through the lifecycle state machine in memory and prints every step.
//!
//! Run with `cargo run -p atr-examples --example lifecycle`. Nothing is stored and no mail is
//! sent: the core returns effects as data, and this example only prints them. The "world"
//! between commands (checks finishing, people voting, time passing) is simulated by editing
//! the state the way an adapter would refill it from storage.

#![expect(clippy::print_stdout, reason = "an example prints its steps")]

use std::collections::BTreeSet;

use atr_core::ids::{CommitteeKey, ProjectKey, RevisionNumber, Uid, VersionKey};
use atr_core::lifecycle::{
    Command, Effect, FileMove, MailTo, ProjectContext, ReleaseState, RevisionSource, Transition, apply,
};
use atr_core::model::committee::ProjectStatus;
use atr_core::model::policy::ReleasePolicy;
use atr_core::model::release::VoteRound;
use atr_core::model::vote::{Ballot, VoteChoice, VoteResolution};
use atr_core::path::RelPath;
use atr_core::permissions::Actor;
use atr_core::time::Timestamp;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let committee = CommitteeKey::new("tooling")?;
    let project = ProjectContext {
        project_key: ProjectKey::new("tooling-example")?,
        project_name: "Apache Tooling Example".into(),
        committee_key: committee.clone(),
        is_podling: false,
        status: ProjectStatus::Active,
        policy: ReleasePolicy::default(),
    };
    let rm = Actor::user(Uid::new("carol")?).participant_of(committee.clone());
    let pmc = Actor::user(Uid::new("alice")?).member_of(committee.clone());
    let t0 = Timestamp::parse_rfc3339("2025-10-29T12:00:00Z")?;

    let mut state = ReleaseState::unstarted(project);
    let mut step = 0;
    let mut run = |state: &mut ReleaseState, label: &str, cmd: Command, actor: &Actor, now: Timestamp| {
        step += 1;
        println!("\n{step}. {label}  [{} by {} at {now}]", cmd.name(), who(actor));
        match apply(state, cmd, actor, now) {
            Ok(t) => {
                show(&t);
                *state = t.state;
            }
            Err(refusal) => println!("   REFUSED ({}): {refusal}", refusal.kind),
        }
    };

    run(&mut state, "Start the draft", Command::Start { version: VersionKey::new("1.0.0")? }, &rm, t0);

    let files: BTreeSet<RelPath> = [
        "apache-tooling-example-1.0.0-src.tar.gz",
        "apache-tooling-example-1.0.0-src.tar.gz.asc",
        "apache-tooling-example-1.0.0-src.tar.gz.sha512",
        "apache-tooling-example-1.0.0-bin.zip",
        "apache-tooling-example-1.0.0-bin.zip.asc",
        "apache-tooling-example-1.0.0-bin.zip.sha512",
        "README",
    ]
    .into_iter()
    .map(RelPath::new)
    .collect::<Result<_, _>>()?;
    let upload = Command::AddRevision {
        files,
        description: "Upload artifacts".into(),
        expected_latest: state.latest_revision,
    };
    run(&mut state, "Upload the artifacts", upload, &rm, t0.plus_secs(600));

    let vote = |concerns: &[&str]| Command::StartVote {
        revision: None,
        duration_hours: None,
        email_to: Some("dev@tooling.apache.org".into()),
        subject: None,
        body: None,
        concerns_noted: concerns.iter().map(|c| (*c).to_owned()).collect(),
    };
    run(&mut state, "Try to start the vote while checks run", vote(&[]), &rm, t0.plus_secs(660));

    println!("\n   (the worker finishes the checks: no blockers, one concern from the RAT check)");
    state.checks.ongoing = 0;
    state.checks.concerns = ["atr.tasks.checks.rat.check".to_owned()].into();
    run(&mut state, "Try again without acknowledging the concern", vote(&[]), &rm, t0.plus_secs(900));
    run(
        &mut state,
        "Start the vote, acknowledging the concern",
        vote(&["atr.tasks.checks.rat.check"]),
        &rm,
        t0.plus_secs(960),
    );
    let vote_start = t0.plus_secs(960);

    println!("\n   (three PMC members vote +1 on the mailing list, one committer votes +1)");
    let revision = state.latest_revision.unwrap_or(RevisionNumber::FIRST);
    for (uid, binding) in [("alice", true), ("bob", true), ("dave", true), ("carol", false)] {
        state.ballots.push(Ballot {
            voter: Some(Uid::new(uid)?),
            voter_name: uid.into(),
            choice: VoteChoice::Yes,
            binding,
            comment: String::new(),
            vote_seq: 1,
            vote_round: VoteRound::Committee,
            revision_number: revision,
            cast_at: vote_start.plus_hours(5),
            manifest_digest: None,
        });
    }
    let resolve = |resolution| Command::Resolve { resolution, evidence: None, test_mode_bypass: false };
    run(
        &mut state,
        "Try to resolve after one day",
        resolve(VoteResolution::Passed),
        &pmc,
        vote_start.plus_hours(24),
    );
    run(
        &mut state,
        "A committer tries to resolve after 72 hours",
        resolve(VoteResolution::Passed),
        &rm,
        vote_start.plus_hours(72),
    );
    run(
        &mut state,
        "The PMC member resolves after 72 hours",
        resolve(VoteResolution::Passed),
        &pmc,
        vote_start.plus_hours(72),
    );

    let moves = vec![FileMove {
        from: RelPath::new("apache-tooling-example-1.0.0-bin.zip")?,
        to: RelPath::new("binaries/apache-tooling-example-1.0.0-bin.zip")?,
    }];
    let finish = Command::FinishMove { moves, expected_latest: state.latest_revision };
    run(&mut state, "Move the binary into its own directory", finish, &rm, vote_start.plus_hours(73));
    state.checks.ongoing = 0;

    let announce = Command::Announce {
        revision: state.latest_revision,
        email_to: "user-tests@tooling.apache.org".into(),
        body: None,
        path_suffix: None,
    };
    run(&mut state, "Announce", announce, &pmc, vote_start.plus_hours(74));
    run(
        &mut state,
        "Try to change an announced release",
        Command::AddRevision { files: BTreeSet::new(), description: "oops".into(), expected_latest: None },
        &rm,
        vote_start.plus_hours(75),
    );
    println!("\nFinal phase: {:?}", state.phase().map(|p| p.label()));
    Ok(())
}

fn who(actor: &Actor) -> String {
    actor.uid.as_ref().map_or_else(|| "the public".to_owned(), |u| u.to_string())
}

fn show(t: &Transition) {
    if let Some(r) = &t.state.release {
        let latest = t.state.latest_revision.map(|n| n.to_string()).unwrap_or_default();
        println!("   -> phase {} ({}), latest revision {latest}", r.phase.label(), r.phase);
    }
    for e in &t.effects {
        match e {
            Effect::CreateRevision { number, parent, source, .. } => {
                let from = parent.map(|p| format!(" from {p}")).unwrap_or_default();
                let how = match source {
                    RevisionSource::Empty => "empty".to_owned(),
                    RevisionSource::Staged => "staged change".to_owned(),
                    RevisionSource::CopyOfParent => "hard-link copy".to_owned(),
                    RevisionSource::Moves(m) => format!("{} move(s)", m.len()),
                };
                println!("   effect: create revision {number}{from} ({how})");
            }
            Effect::EnqueueTask(task) => {
                let path = task.primary_rel_path.as_ref().map(|p| format!(" {p}")).unwrap_or_default();
                println!("   effect: queue {}{path}", task.task_type);
            }
            Effect::SendMail(m) => {
                let to = match &m.to {
                    MailTo::List(l) => l.clone(),
                    MailTo::VoteThread => "the vote thread".to_owned(),
                };
                println!("   effect: mail \"{}\" to {to}", m.subject);
            }
            Effect::Publish { revision, committee_key, download_path_suffix, .. } => {
                println!(
                    "   effect: publish revision {revision} to downloads/{committee_key}{download_path_suffix}"
                );
            }
            Effect::DeleteRelease { remove_downloads } => {
                println!("   effect: delete the release (downloads too: {remove_downloads})");
            }
        }
    }
    println!(
        "   audit: {} {} by {}",
        t.audit.action,
        t.audit.target,
        t.audit.actor.as_ref().map_or("system", |u| u.as_str())
    );
}
