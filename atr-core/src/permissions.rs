//! Permissions as pure rules: who may do what to a committee's releases.
//!
//! Roles, from least to most: the public (not logged in), an authenticated committer with no
//! role in the committee, a participant (committer of the committee), a committee member
//! (PMC/PPMC), and an admin. Each [`Action`] needs one minimum [`Role`]; [`authorise`] compares.
//! The lifecycle calls [`authorise`] for every command, so no adapter can skip it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::{Refusal, RefusalKind};
use crate::ids::{CommitteeKey, Uid};

/// A role relative to one committee, ordered from least to most powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Not logged in.
    Public,
    /// Logged in (an ASF committer), with no role in this committee.
    Authenticated,
    /// A committer of this committee (LDAP project member, "participant").
    Participant,
    /// A member of this committee (PMC or PPMC member).
    Member,
    /// A platform administrator: may act on every committee.
    Admin,
}

impl Role {
    /// Every role, least powerful first.
    pub const ALL: [Role; 5] =
        [Role::Public, Role::Authenticated, Role::Participant, Role::Member, Role::Admin];

    /// How the role is described in messages.
    pub fn describe(self, committee: &CommitteeKey) -> String {
        match self {
            Role::Public => "anyone".to_owned(),
            Role::Authenticated => "a logged-in committer".to_owned(),
            Role::Participant => format!("a committer of the {committee} committee"),
            Role::Member => format!("a member of the {committee} committee (PMC or PPMC)"),
            Role::Admin => "a platform administrator".to_owned(),
        }
    }
}

/// Who is asking: their uid (if logged in), their committee roles and the admin flag.
///
/// Memberships come from the identity source (LDAP/OAuth) via the adapter.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Actor {
    /// The uid; `None` for the public.
    pub uid: Option<Uid>,
    /// Committees the actor is a committer (participant) of.
    pub participant_of: BTreeSet<CommitteeKey>,
    /// Committees the actor is a member of (members are participants too).
    pub member_of: BTreeSet<CommitteeKey>,
    /// Whether the actor is a platform administrator.
    pub admin: bool,
}

impl Actor {
    /// Someone not logged in.
    pub fn public() -> Actor {
        Actor::default()
    }

    /// A logged-in person with no roles yet.
    pub fn user(uid: Uid) -> Actor {
        Actor { uid: Some(uid), ..Actor::default() }
    }

    /// Adds committer (participant) status in `committee`.
    pub fn participant_of(mut self, committee: CommitteeKey) -> Actor {
        self.participant_of.insert(committee);
        self
    }

    /// Adds membership of `committee` (which implies participant status).
    pub fn member_of(mut self, committee: CommitteeKey) -> Actor {
        self.participant_of.insert(committee.clone());
        self.member_of.insert(committee);
        self
    }

    /// Makes the actor an administrator.
    pub fn admin(mut self) -> Actor {
        self.admin = true;
        self
    }

    /// The actor's own role in `committee`, ignoring admin rights.
    pub fn committee_role(&self, committee: &CommitteeKey) -> Role {
        if self.uid.is_none() {
            Role::Public
        } else if self.member_of.contains(committee) {
            Role::Member
        } else if self.participant_of.contains(committee) {
            Role::Participant
        } else {
            Role::Authenticated
        }
    }

    /// The actor's effective role in `committee` (admin when the actor is an admin).
    pub fn role_in(&self, committee: &CommitteeKey) -> Role {
        if self.admin && self.uid.is_some() { Role::Admin } else { self.committee_role(committee) }
    }
}

/// Something an actor may want to do to a committee's release or settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read a release, its files and check results.
    ViewRelease,
    /// Start a release draft.
    StartRelease,
    /// Add a revision to a draft (upload, delete, generate hashes, …).
    AddRevision,
    /// Start a vote on a draft.
    StartVote,
    /// Cast a ballot (binding or not is decided by membership).
    CastBallot,
    /// Cancel a running vote (back to draft).
    CancelVote,
    /// Resolve a vote as passed or failed.
    ResolveVote,
    /// Move files in the finish phase.
    FinishMove,
    /// Announce and publish a release.
    Announce,
    /// Delete a draft.
    DeleteDraft,
    /// Delete a release whose vote is running.
    DeleteCandidate,
    /// Delete a release in the finish phase.
    DeletePreview,
    /// Delete an announced release (and its published files).
    DeleteAnnounced,
    /// Add or remove check-result ignore rules.
    ManageIgnores,
    /// Edit the project's release policy.
    EditPolicy,
    /// Record or remove a distribution.
    RecordDistribution,
    /// Link or unlink signing keys to the committee.
    ManageCommitteeKeys,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 17] = [
        Action::ViewRelease,
        Action::StartRelease,
        Action::AddRevision,
        Action::StartVote,
        Action::CastBallot,
        Action::CancelVote,
        Action::ResolveVote,
        Action::FinishMove,
        Action::Announce,
        Action::DeleteDraft,
        Action::DeleteCandidate,
        Action::DeletePreview,
        Action::DeleteAnnounced,
        Action::ManageIgnores,
        Action::EditPolicy,
        Action::RecordDistribution,
        Action::ManageCommitteeKeys,
    ];

    /// The least role that may do this.
    ///
    /// Release managers need not be committee members (ASF practice), so composing, starting
    /// and cancelling a vote and finishing moves need committer status; deciding the outcome,
    /// announcing and deleting a finished candidate need a committee member; deleting a
    /// release whose vote is running or that was announced needs an admin.
    pub fn required_role(self) -> Role {
        match self {
            Action::ViewRelease => Role::Public,
            Action::CastBallot => Role::Authenticated,
            Action::StartRelease
            | Action::AddRevision
            | Action::StartVote
            | Action::CancelVote
            | Action::FinishMove
            | Action::DeleteDraft
            | Action::ManageCommitteeKeys => Role::Participant,
            Action::ResolveVote
            | Action::Announce
            | Action::DeletePreview
            | Action::ManageIgnores
            | Action::EditPolicy
            | Action::RecordDistribution => Role::Member,
            Action::DeleteCandidate | Action::DeleteAnnounced => Role::Admin,
        }
    }

    /// A short phrase for messages, such as `start a vote`.
    pub fn describe(self) -> &'static str {
        match self {
            Action::ViewRelease => "view the release",
            Action::StartRelease => "start a release",
            Action::AddRevision => "change the files of the draft",
            Action::StartVote => "start a vote",
            Action::CastBallot => "cast a vote",
            Action::CancelVote => "cancel the vote",
            Action::ResolveVote => "resolve the vote",
            Action::FinishMove => "move files",
            Action::Announce => "announce the release",
            Action::DeleteDraft => "delete the draft",
            Action::DeleteCandidate => "delete a release while its vote is running",
            Action::DeletePreview => "delete the release preview",
            Action::DeleteAnnounced => "delete an announced release",
            Action::ManageIgnores => "change the ignored check results",
            Action::EditPolicy => "edit the release policy",
            Action::RecordDistribution => "record a distribution",
            Action::ManageCommitteeKeys => "change the committee's signing keys",
        }
    }
}

/// Permission granted: with which role, and whether only admin rights allowed it (worth auditing and showing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The role that was used.
    pub role: Role,
    /// True when the actor's own committee role would not have been enough.
    pub as_admin: bool,
}

/// Decides whether `actor` may do `action` to something of `committee`.
pub fn authorise(actor: &Actor, action: Action, committee: &CommitteeKey) -> Result<Grant, Refusal> {
    let needed = action.required_role();
    let own = actor.committee_role(committee);
    let effective = actor.role_in(committee);
    if effective >= needed {
        return Ok(Grant { role: effective, as_admin: own < needed });
    }
    let what = format!("{} of {committee}", action.describe());
    if own == Role::Public {
        return Err(Refusal::new(
            RefusalKind::Unauthenticated,
            what,
            "you are not logged in",
            "Log in (or send a bearer token) and try again.",
        ));
    }
    let uid = actor.uid.as_ref().map_or("you", Uid::as_str);
    Err(Refusal::new(
        RefusalKind::Forbidden,
        what,
        format!("only {} may do this, and {uid} is {}", needed.describe(committee), own.describe(committee)),
        match needed {
            Role::Admin => "Ask a platform administrator.".to_owned(),
            _ => format!("Ask {} to do it, or to give you that role.", needed.describe(committee)),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_follow_memberships() {
        let c = CommitteeKey::new("foo").unwrap();
        let other = CommitteeKey::new("bar").unwrap();
        let alice = Uid::new("alice").unwrap();
        assert_eq!(Actor::public().role_in(&c), Role::Public);
        assert_eq!(Actor::public().admin().role_in(&c), Role::Public, "admin without login is nobody");
        assert_eq!(Actor::user(alice.clone()).role_in(&c), Role::Authenticated);
        assert_eq!(Actor::user(alice.clone()).participant_of(c.clone()).role_in(&c), Role::Participant);
        assert_eq!(Actor::user(alice.clone()).member_of(c.clone()).role_in(&c), Role::Member);
        assert_eq!(Actor::user(alice.clone()).member_of(other).role_in(&c), Role::Authenticated);
        assert_eq!(Actor::user(alice).admin().role_in(&c), Role::Admin);
    }

    #[test]
    fn refusals_say_who_may() {
        let c = CommitteeKey::new("foo").unwrap();
        let alice = Actor::user(Uid::new("alice").unwrap()).participant_of(c.clone());
        let r = authorise(&alice, Action::Announce, &c).unwrap_err();
        assert_eq!(r.kind, RefusalKind::Forbidden);
        assert_eq!(
            r.to_string(),
            "Cannot announce the release of foo: only a member of the foo committee (PMC or PPMC) may do this, \
             and alice is a committer of the foo committee. Ask a member of the foo committee (PMC or PPMC) to do it, \
             or to give you that role."
        );
        let r = authorise(&Actor::public(), Action::StartVote, &c).unwrap_err();
        assert_eq!(r.kind, RefusalKind::Unauthenticated);
        assert!(r.to_string().contains("not logged in"));
        let admin = Actor::user(Uid::new("root").unwrap()).admin();
        assert_eq!(authorise(&admin, Action::Announce, &c), Ok(Grant { role: Role::Admin, as_admin: true }));
        let member = Actor::user(Uid::new("bob").unwrap()).member_of(c.clone()).admin();
        assert_eq!(
            authorise(&member, Action::Announce, &c),
            Ok(Grant { role: Role::Admin, as_admin: false })
        );
    }
}
