//! Audit events: an append-only record of who did what, when, to what.

use serde::{Deserialize, Serialize};

use crate::ids::Uid;
use crate::time::Timestamp;

wire_enum! {
    /// What was done.
    pub enum AuditAction, what = "audit action" {
        /// A release draft was started.
        ReleaseStart = "release_start",
        /// A revision was added.
        RevisionAdd = "revision_add",
        /// A vote was started.
        VoteStart = "vote_start",
        /// A vote was resolved (passed, failed or cancelled).
        VoteResolve = "vote_resolve",
        /// A vote round passed and the next (Incubator) round started.
        VoteNextRound = "vote_next_round",
        /// Files were moved in the finish phase.
        FinishMove = "finish_move",
        /// A release was announced and published.
        ReleaseAnnounce = "release_announce",
        /// A release was deleted.
        ReleaseDelete = "release_delete",
        /// A ballot was cast.
        BallotCast = "ballot_cast",
        /// An ignore rule was added or removed.
        IgnoreChange = "ignore_change",
        /// A release policy was changed.
        PolicyChange = "policy_change",
        /// A signing key was added or removed.
        KeyChange = "key_change",
        /// An SSH key was added or removed.
        SshKeyChange = "ssh_key_change",
        /// A personal access token was made, used or revoked.
        TokenChange = "token_change",
        /// A JWT was issued.
        JwtIssue = "jwt_issue",
        /// A distribution was recorded or removed.
        DistributionChange = "distribution_change",
        /// A project was created, edited or deleted.
        ProjectChange = "project_change",
        /// An import from SVN was requested.
        SvnImport = "svn_import",
        /// The generation of an SBOM was requested.
        SbomGenerate = "sbom_generate",
        /// A person's committee roles were set (`atr-web user add`, an identity provider's login).
        RosterChange = "roster_change",
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Storage id (`None` before it is stored).
    pub id: Option<i64>,
    /// When.
    pub at: Timestamp,
    /// Who (`None` for the system).
    pub actor: Option<Uid>,
    /// Whether the actor acted through admin rights rather than a committee role.
    pub as_admin: bool,
    /// What.
    pub action: AuditAction,
    /// To what: a release key (`foo-1.0`), a revision (`foo-1.0 00003`), a fingerprint, …
    pub target: String,
    /// Details as JSON (never secrets: token hashes, not tokens).
    pub details: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_action_table() {
        crate::model::assert_wire_table(
            AuditAction::ALL,
            &[
                "release_start",
                "revision_add",
                "vote_start",
                "vote_resolve",
                "vote_next_round",
                "finish_move",
                "release_announce",
                "release_delete",
                "ballot_cast",
                "ignore_change",
                "policy_change",
                "key_change",
                "ssh_key_change",
                "token_change",
                "jwt_issue",
                "distribution_change",
                "project_change",
                "svn_import",
                "sbom_generate",
                "roster_change",
            ],
        );
    }
}
