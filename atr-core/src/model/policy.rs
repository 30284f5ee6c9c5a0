//! Per-project release policy (ATR `ReleasePolicy`, with the 2026 `vote_mode`).

use serde::{Deserialize, Serialize};

use crate::check::CheckStatus;
use crate::classify::{ClassificationPolicy, GlobError};

wire_enum! {
    /// How a vote is conducted. Frozen on the release when its vote starts.
    pub enum VoteMode, what = "vote mode" {
        /// Vote by email on the mailing list; tallied from the thread.
        Email = "email",
        /// Ballots cast on the platform by authenticated people.
        Trusted = "trusted",
        /// Conducted elsewhere; the result is recorded by hand with the thread URLs.
        Manual = "manual",
    }
}

wire_enum! {
    /// How serious it is when a source archive has no SBOM (`<archive>.cdx.json`) beside it:
    /// the status of the SBOM presence check's result. The default is ATR 2026's `suggestion`;
    /// a project may make it a `concern` (acknowledged before a vote, so the committee decides
    /// knowingly to release without an SBOM) or a `blocker`.
    #[derive(Default)]
    pub enum MissingSbom, what = "missing-SBOM severity" {
        /// Shown on the report; nothing to acknowledge.
        #[default]
        Suggestion = "suggestion",
        /// Must be acknowledged before a vote starts (or stops one under strict checking).
        Concern = "concern",
        /// No vote until every source archive has its SBOM.
        Blocker = "blocker",
    }
}

impl MissingSbom {
    /// The check status of the presence check's result when the SBOM is missing.
    pub fn status(self) -> CheckStatus {
        match self {
            MissingSbom::Suggestion => CheckStatus::Suggestion,
            MissingSbom::Concern => CheckStatus::Concern,
            MissingSbom::Blocker => CheckStatus::Blocker,
        }
    }

    /// What the setting means for a vote, for forms and messages.
    pub fn describe(self) -> &'static str {
        match self {
            MissingSbom::Suggestion => "a suggestion (shown, nothing to acknowledge)",
            MissingSbom::Concern => "a concern (acknowledged before a vote)",
            MissingSbom::Blocker => "a blocker (no vote until every source archive has its SBOM)",
        }
    }
}

/// The default minimum vote duration in hours (the ASF's 72 hours).
pub const DEFAULT_MIN_HOURS: u32 = 72;
/// The longest minimum vote duration a policy may set.
pub const MAX_MIN_HOURS: u32 = 144;

/// The release policy of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePolicy {
    /// Addresses shown as where votes go.
    pub mailto_addresses: Vec<String>,
    /// How votes are conducted.
    pub vote_mode: VoteMode,
    /// Minimum vote duration in hours: 0 (no minimum) or 72–144. Default 72.
    pub min_hours: u32,
    /// Markdown checklist substituted into the vote email.
    pub release_checklist: String,
    /// Whether to pause for the release manager between steps.
    pub pause_for_rm: bool,
    /// Subject of the vote email; empty means the default.
    pub start_vote_subject: String,
    /// Body template of the vote email; empty means the default.
    pub start_vote_template: String,
    /// Subject of the announcement; empty means the default.
    pub announce_release_subject: String,
    /// Body template of the announcement; empty means the default.
    pub announce_release_template: String,
    /// Gitignore-style patterns naming binary artifacts (their source-only checks are skipped).
    pub binary_artifact_paths: Vec<String>,
    /// Gitignore-style patterns naming source artifacts.
    pub source_artifact_paths: Vec<String>,
    /// Whether any non-ignored concern also stops a vote (blockers always do).
    pub strict_checking: bool,
    /// GitHub repository (no `/`) for trusted publishing.
    pub github_repository_name: String,
    /// Workflows allowed to act in the compose phase (each under `.github/workflows/`).
    pub github_compose_workflow_path: Vec<String>,
    /// Workflows allowed to act in the vote phase.
    pub github_vote_workflow_path: Vec<String>,
    /// Workflows allowed to act in the finish phase.
    pub github_finish_workflow_path: Vec<String>,
    /// Whether announce may replace files in the download area that belong to no announced
    /// release (another release's published files are never replaced; see [`crate::publish`]).
    #[serde(default)]
    pub replace_download_files: bool,
    /// How serious a source archive without an SBOM beside it is (default `concern`). Policies
    /// saved before the setting existed read as the default.
    #[serde(default)]
    pub missing_sbom_status: MissingSbom,
}

impl Default for ReleasePolicy {
    fn default() -> Self {
        ReleasePolicy {
            mailto_addresses: Vec::new(),
            vote_mode: VoteMode::Trusted,
            min_hours: DEFAULT_MIN_HOURS,
            release_checklist: String::new(),
            pause_for_rm: false,
            start_vote_subject: String::new(),
            start_vote_template: String::new(),
            announce_release_subject: String::new(),
            announce_release_template: String::new(),
            binary_artifact_paths: Vec::new(),
            source_artifact_paths: Vec::new(),
            strict_checking: false,
            github_repository_name: String::new(),
            github_compose_workflow_path: Vec::new(),
            github_vote_workflow_path: Vec::new(),
            github_finish_workflow_path: Vec::new(),
            replace_download_files: false,
            missing_sbom_status: MissingSbom::default(),
        }
    }
}

/// Why a release policy cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// `min_hours` is outside 0 or 72–144.
    #[error("a minimum vote duration of {0} hours is not allowed; use 0 (no minimum) or 72 to 144 hours")]
    MinHours(u32),
    /// Podlings must vote by email or on the platform.
    #[error(
        "podlings cannot use manual votes, because the Incubator round needs a tallied vote; use the email or trusted vote mode"
    )]
    ManualVoteForPodling,
    /// A workflow path is outside `.github/workflows/`.
    #[error(
        "the workflow path `{0}` is not under `.github/workflows/`; give the path of the workflow file in the repository"
    )]
    WorkflowPath(String),
    /// The repository name has a `/` or is missing while workflows are named.
    #[error(
        "the GitHub repository name `{0}` is not valid; give the repository name only (no owner, no `/`), required when workflows are named"
    )]
    RepositoryName(String),
    /// An artifact path pattern is not a valid glob.
    #[error("the artifact path pattern is not valid: {0}")]
    PathPattern(#[from] GlobError),
}

impl ReleasePolicy {
    /// Checks the rules a saved policy must meet. `is_podling` is the owning committee's flag.
    pub fn validate(&self, is_podling: bool) -> Result<(), PolicyError> {
        if self.min_hours != 0 && !(DEFAULT_MIN_HOURS..=MAX_MIN_HOURS).contains(&self.min_hours) {
            return Err(PolicyError::MinHours(self.min_hours));
        }
        if is_podling && self.vote_mode == VoteMode::Manual {
            return Err(PolicyError::ManualVoteForPodling);
        }
        let workflows = self
            .github_compose_workflow_path
            .iter()
            .chain(&self.github_vote_workflow_path)
            .chain(&self.github_finish_workflow_path);
        let mut any_workflow = false;
        for w in workflows {
            any_workflow = true;
            if !w.starts_with(".github/workflows/")
                || w.contains("..")
                || w.len() <= ".github/workflows/".len()
            {
                return Err(PolicyError::WorkflowPath(w.clone()));
            }
        }
        let repo = &self.github_repository_name;
        if repo.contains('/') || (any_workflow && repo.is_empty()) {
            return Err(PolicyError::RepositoryName(repo.clone()));
        }
        self.classification_policy()?;
        Ok(())
    }

    /// The classification patterns of this policy, for [`crate::classify::classify`].
    pub fn classification_policy(&self) -> Result<ClassificationPolicy, GlobError> {
        let source: Vec<&str> = self.source_artifact_paths.iter().map(String::as_str).collect();
        let binary: Vec<&str> = self.binary_artifact_paths.iter().map(String::as_str).collect();
        ClassificationPolicy::new(&source, &binary)
    }

    /// The minimum vote duration, or `None` when the policy sets no minimum.
    pub fn min_vote_hours(&self) -> Option<u32> {
        (self.min_hours > 0).then_some(self.min_hours)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_mode_table() {
        crate::model::assert_wire_table(VoteMode::ALL, &["email", "trusted", "manual"]);
    }

    #[test]
    fn missing_sbom_table_and_default() {
        crate::model::assert_wire_table(MissingSbom::ALL, &["suggestion", "concern", "blocker"]);
        assert_eq!(ReleasePolicy::default().missing_sbom_status, MissingSbom::Suggestion);
        let statuses: Vec<CheckStatus> = MissingSbom::ALL.iter().map(|m| m.status()).collect();
        assert_eq!(statuses, [CheckStatus::Suggestion, CheckStatus::Concern, CheckStatus::Blocker]);
        // A policy stored before the setting existed reads as the default; others keep their choice.
        let mut old = serde_json::to_value(ReleasePolicy::default()).unwrap();
        old.as_object_mut().unwrap().remove("missing_sbom_status");
        let read: ReleasePolicy = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(read.missing_sbom_status, MissingSbom::Suggestion);
        old["missing_sbom_status"] = "blocker".into();
        let read: ReleasePolicy = serde_json::from_value(old.clone()).unwrap();
        assert_eq!(read.missing_sbom_status, MissingSbom::Blocker);
        old["missing_sbom_status"] = "note".into();
        let err = serde_json::from_value::<ReleasePolicy>(old).unwrap_err().to_string();
        assert!(err.contains("suggestion, concern, blocker"), "{err}");
    }

    #[test]
    fn defaults_follow_atr() {
        let p = ReleasePolicy::default();
        assert_eq!(p.min_hours, 72);
        assert_eq!(p.vote_mode, VoteMode::Trusted);
        assert!(!p.strict_checking && !p.replace_download_files);
        assert_eq!(p.validate(false), Ok(()));
        assert_eq!(p.min_vote_hours(), Some(72));
    }

    #[test]
    fn validation_names_the_fix() {
        let base = ReleasePolicy::default();
        for (hours, ok) in [(0, true), (1, false), (71, false), (72, true), (144, true), (145, false)] {
            let p = ReleasePolicy { min_hours: hours, ..base.clone() };
            assert_eq!(p.validate(false).is_ok(), ok, "{hours}");
        }
        let manual = ReleasePolicy { vote_mode: VoteMode::Manual, ..base.clone() };
        assert_eq!(manual.validate(false), Ok(()));
        assert!(manual.validate(true).unwrap_err().to_string().contains("podlings cannot use manual votes"));
        let wf = ReleasePolicy { github_vote_workflow_path: vec!["ci.yml".into()], ..base.clone() };
        assert_eq!(wf.validate(false), Err(PolicyError::WorkflowPath("ci.yml".into())));
        let wf = ReleasePolicy {
            github_vote_workflow_path: vec![".github/workflows/vote.yml".into()],
            ..base.clone()
        };
        assert!(matches!(wf.validate(false), Err(PolicyError::RepositoryName(_))));
        let wf = ReleasePolicy { github_repository_name: "apache/x".into(), ..base };
        assert!(matches!(wf.validate(false), Err(PolicyError::RepositoryName(_))));
        let bad = ReleasePolicy { binary_artifact_paths: vec!["[x".into()], ..ReleasePolicy::default() };
        assert!(bad.validate(false).unwrap_err().to_string().contains("without a closing"));
    }
}
