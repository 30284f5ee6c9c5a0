//! Every lifecycle command × every role, with the expected outcome, through `apply`.

use atr_core::error::RefusalKind;
use atr_core::lifecycle::{Command, ReleaseState, apply};
use atr_core::model::vote::VoteResolution;
use atr_core::permissions::{Action, Actor, Role, authorise};
use atr_core::time::Timestamp;

use crate::fixture::*;

/// An outcome in the table: `Y` allowed, `A` unauthenticated, `F` forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum O {
    Y,
    A,
    F,
}
use O::*;

fn roles() -> [(&'static str, Actor); 5] {
    [
        ("public", public()),
        ("outsider", outsider()),
        ("committer", committer()),
        ("member", member()),
        ("admin", admin()),
    ]
}

fn case(name: &str) -> (ReleaseState, Command, Timestamp) {
    match name {
        "start" => (ReleaseState::unstarted(project(false)), Command::Start { version: version() }, T0),
        "add_revision" => (started(project(false)), add_files(), T0),
        "start_vote" => (draft(), start_vote(), T0),
        "resolve_passed" => (candidate(), resolve(VoteResolution::Passed), after_vote()),
        "resolve_failed" => (candidate(), resolve(VoteResolution::Failed), after_vote()),
        "resolve_cancelled" => (candidate(), resolve(VoteResolution::Cancelled), T0),
        "finish_move" => (
            preview(),
            Command::FinishMove {
                moves: vec![atr_core::lifecycle::FileMove {
                    from: atr_core::path::RelPath::new("README").unwrap(),
                    to: atr_core::path::RelPath::new("docs/README").unwrap(),
                }],
                expected_latest: None,
            },
            after_vote(),
        ),
        "announce" => (
            preview(),
            // The admin and member must each be allowed to send to their own address; use the shared list.
            announce(),
            after_vote(),
        ),
        "delete_draft" => (draft(), Command::Delete, T0),
        "delete_candidate" => (candidate(), Command::Delete, T0),
        "delete_preview" => (preview(), Command::Delete, T0),
        "delete_released" => (released(), Command::Delete, T0),
        other => panic!("no case {other}"),
    }
}

#[test]
fn every_command_times_every_role() {
    //                       public outsider committer member admin
    let table: [(&str, [O; 5]); 12] = [
        ("start", [A, F, Y, Y, Y]),
        ("add_revision", [A, F, Y, Y, Y]),
        ("start_vote", [A, F, Y, Y, Y]),
        ("resolve_passed", [A, F, F, Y, Y]),
        ("resolve_failed", [A, F, F, Y, Y]),
        ("resolve_cancelled", [A, F, Y, Y, Y]),
        ("finish_move", [A, F, Y, Y, Y]),
        ("announce", [A, F, F, Y, Y]),
        ("delete_draft", [A, F, Y, Y, Y]),
        ("delete_candidate", [A, F, F, F, Y]),
        ("delete_preview", [A, F, F, Y, Y]),
        ("delete_released", [A, F, F, F, Y]),
    ];
    for (name, expected) in table {
        for ((role, actor), want) in roles().into_iter().zip(expected) {
            let (state, cmd, now) = case(name);
            let got = match apply(&state, cmd, &actor, now) {
                Ok(t) => {
                    assert_eq!(t.audit.as_admin, role == "admin", "{name} by {role}: as_admin flag");
                    Y
                }
                Err(r) if r.kind == RefusalKind::Unauthenticated => A,
                Err(r) if r.kind == RefusalKind::Forbidden => F,
                Err(r) => panic!("{name} by {role}: refused for another reason: {r}"),
            };
            assert_eq!(got, want, "{name} by {role}");
        }
    }
}

#[test]
fn every_action_has_one_minimum_role_and_authorise_respects_it() {
    let c = committee();
    for action in Action::ALL {
        let needed = action.required_role();
        for (_, actor) in roles() {
            let role = actor.role_in(&c);
            assert_eq!(authorise(&actor, action, &c).is_ok(), role >= needed, "{action:?} by {role:?}");
        }
    }
    assert_eq!(Action::ViewRelease.required_role(), Role::Public);
    assert_eq!(Action::CastBallot.required_role(), Role::Authenticated);
    assert!(authorise(&public(), Action::ViewRelease, &c).is_ok());
}
