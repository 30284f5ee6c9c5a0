//! The release lifecycle as one pure function: [`apply`].
//!
//! `apply(&ReleaseState, Command, &Actor, now)` authorises the command (through
//! [`crate::permissions`]), checks every guard, and returns either a [`Transition`] (the next
//! state, the effects for adapters to carry out, and exactly one audit event) or a [`Refusal`]
//! that says what was refused, why and how to fix it. It never performs the effects.
//!
//! Phases: draft → candidate → preview → release. The only way back is a failed or cancelled
//! vote (candidate → draft). Guards (ATR §2, tightened):
//! - files change only in draft ([`Command::AddRevision`]) and, by finishing moves only, in
//!   preview ([`Command::FinishMove`]); the candidate is immutable while its vote runs;
//! - a vote starts only on the latest revision, with files, no pending quarantine, no ongoing
//!   checks ("All checks must be completed before starting a vote"), no blockers or
//!   unignored exceptions, and every non-ignored concern acknowledged (or none at all under
//!   strict checking);
//! - a vote resolves as passed or failed only after its period ends (policy `min_hours`);
//!   passed needs the ASF tally (≥3 binding +1, more binding +1 than −1) except in manual mode,
//!   which needs the two `lists.apache.org` thread URLs instead; cancelled is allowed any time;
//! - podlings vote twice: a passed committee round starts the Incubator round;
//! - announce only from preview, on the latest revision, with no ongoing checks and no blockers.
//!
//! Adapters fill [`ReleaseState`] from storage (the release row, its latest revision and file
//! list, counts of queued/active check tasks and of findings for that revision, the ballots of
//! the running round), call `apply`, then carry out the effects in one transaction whose
//! conditional update fails if the latest revision changed meanwhile.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::check::{CheckResult, CheckStatus};
use crate::error::{Refusal, RefusalKind};
use crate::ids::{CommitteeKey, ProjectKey, ReleaseKey, RevisionNumber, Uid, VersionKey};
use crate::model::audit::{AuditAction, AuditEvent};
use crate::model::committee::ProjectStatus;
use crate::model::ignore::CheckResultIgnore;
use crate::model::policy::{DEFAULT_MIN_HOURS, ReleasePolicy, VoteMode};
use crate::model::release::{Release, ReleasePhase, VoteRound};
use crate::model::task::TaskSpec;
use crate::model::vote::{Ballot, Tally, VoteChoice, VoteResolution};
use crate::path::RelPath;
use crate::permissions::{Action, Actor, Grant, authorise};
use crate::plan::{PlanContext, plan_checks};
use crate::time::Timestamp;

/// The longest vote a release manager may ask for, in hours (30 days).
pub const MAX_VOTE_HOURS: u32 = 720;
/// Where the Incubator round of a podling vote is held.
pub const INCUBATOR_VOTE_LIST: &str = "general@incubator.apache.org";
/// The prefix of a mailing-list thread URL accepted as evidence of a manual vote.
pub const THREAD_URL_PREFIX: &str = "https://lists.apache.org/thread/";
/// The JSON API's answer to starting a vote while checks run: the exact text of ATR and of the
/// real `atr` client's transcripts (`cli_slow_task.t`).
pub const CHECKS_ONGOING_API_TEXT: &str = "All checks must be completed before starting a vote";
/// Files that travel with an artifact when it is moved in the finish phase.
pub const COMPANION_SUFFIXES: [&str; 3] = [".asc", ".sha256", ".sha512"];

/// What the lifecycle needs to know about the project of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectContext {
    /// The project.
    pub project_key: ProjectKey,
    /// Its full name, for email subjects (`Apache Foo`).
    pub project_name: String,
    /// The committee that releases it.
    pub committee_key: CommitteeKey,
    /// Whether the committee is a podling's PPMC.
    pub is_podling: bool,
    /// Whether it may start releases.
    pub status: ProjectStatus,
    /// Its release policy.
    pub policy: ReleasePolicy,
}

/// Counts of the checks of the latest revision, as the vote and announce guards need them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// Queued or active check tasks.
    pub ongoing: u32,
    /// Blocker results (never ignorable).
    pub blockers: u32,
    /// Exception results not hidden by an ignore rule.
    pub exceptions: u32,
    /// Checkers with concern results not hidden by an ignore rule.
    pub concerns: BTreeSet<String>,
    /// Uploads held in quarantine, not yet validated.
    pub quarantined: u32,
}

impl CheckSummary {
    /// Summarises the results of revision `revision` of `release`, applying `ignores` at `now`.
    pub fn from_results(
        release: &ReleaseKey,
        revision: RevisionNumber,
        results: &[CheckResult],
        ignores: &[CheckResultIgnore],
        ongoing: u32,
        now: Timestamp,
    ) -> CheckSummary {
        let mut s = CheckSummary { ongoing, ..CheckSummary::default() };
        for r in results {
            if ignores.iter().any(|i| i.matches(release, revision, r, now)) {
                continue;
            }
            match r.status {
                CheckStatus::Blocker => s.blockers += 1,
                CheckStatus::Exception => s.exceptions += 1,
                CheckStatus::Concern => {
                    s.concerns.insert(r.checker.name.to_owned());
                }
                CheckStatus::Note | CheckStatus::Suggestion => {}
            }
        }
        s
    }
}

/// Everything the guards look at: filled by adapters from storage, returned updated by [`apply`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseState {
    /// The project.
    pub project: ProjectContext,
    /// The release, or `None` before it is started and after it is deleted.
    pub release: Option<Release>,
    /// The latest revision (after announce: the published one).
    pub latest_revision: Option<RevisionNumber>,
    /// The files of the latest revision.
    pub files: BTreeSet<RelPath>,
    /// The checks of the latest revision.
    pub checks: CheckSummary,
    /// The ballots of the running vote round.
    pub ballots: Vec<Ballot>,
}

impl ReleaseState {
    /// The state of a project with no release of this version yet.
    pub fn unstarted(project: ProjectContext) -> ReleaseState {
        ReleaseState {
            project,
            release: None,
            latest_revision: None,
            files: BTreeSet::new(),
            checks: CheckSummary::default(),
            ballots: Vec::new(),
        }
    }

    /// The phase, if the release exists.
    pub fn phase(&self) -> Option<ReleasePhase> {
        self.release.as_ref().map(|r| r.phase)
    }
}

/// One file move in the finish phase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileMove {
    /// Current path.
    pub from: RelPath,
    /// New path.
    pub to: RelPath,
}

/// Thread URLs proving the outcome of a vote held outside the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualEvidence {
    /// The `[VOTE]` thread.
    pub vote_thread_url: String,
    /// The `[RESULT]` thread.
    pub result_thread_url: String,
}

/// A request to move a release through its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Start a draft of this version, with an empty revision `00001`.
    Start {
        /// The version.
        version: VersionKey,
    },
    /// Record a new draft revision holding `files` (the adapter has staged the change).
    AddRevision {
        /// The complete file list of the new revision.
        files: BTreeSet<RelPath>,
        /// What changed.
        description: String,
        /// The revision the change was based on; refused if a newer one exists.
        expected_latest: Option<RevisionNumber>,
    },
    /// Start the vote on the latest draft revision.
    StartVote {
        /// The revision the caller looked at; refused if it is not the latest.
        revision: Option<RevisionNumber>,
        /// Vote length in hours (default: the policy minimum, or 72).
        duration_hours: Option<u32>,
        /// The mailing list (not used for manual votes).
        email_to: Option<String>,
        /// Subject override.
        subject: Option<String>,
        /// Body override (`None`: render the policy template).
        body: Option<String>,
        /// Checkers whose concerns the caller has read and accepts.
        concerns_noted: BTreeSet<String>,
    },
    /// Resolve the running vote round.
    Resolve {
        /// Passed, failed or cancelled.
        resolution: VoteResolution,
        /// For manual votes: the thread URLs.
        evidence: Option<ManualEvidence>,
        /// A test server's bypass (`ATR_TEST_MODE` only, as ATR's tests have): resolve at once,
        /// before the vote period ends and whatever the tally; recorded in the audit.
        test_mode_bypass: bool,
    },
    /// Move files in the finish phase (with their `.asc`/`.sha256`/`.sha512` companions).
    FinishMove {
        /// The moves.
        moves: Vec<FileMove>,
        /// The revision the moves were based on; refused if a newer one exists.
        expected_latest: Option<RevisionNumber>,
    },
    /// Announce the release and publish its files.
    Announce {
        /// The revision the caller looked at; refused if it is not the latest.
        revision: Option<RevisionNumber>,
        /// The mailing list.
        email_to: String,
        /// Body override (`None`: render the policy template).
        body: Option<String>,
        /// Where under the committee's download directory the files go (default by ATR's rule).
        path_suffix: Option<String>,
    },
    /// Delete the release (its revisions; for an announced release also its published files).
    Delete,
}

impl Command {
    /// The command's name, for messages and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start { .. } => "start",
            Command::AddRevision { .. } => "add_revision",
            Command::StartVote { .. } => "start_vote",
            Command::Resolve { .. } => "resolve",
            Command::FinishMove { .. } => "finish_move",
            Command::Announce { .. } => "announce",
            Command::Delete => "delete",
        }
    }
}

/// How the files of a new revision come about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevisionSource {
    /// An empty directory (the first revision of a draft).
    Empty,
    /// The change the adapter staged (upload, delete, …), hard-linked over the parent.
    Staged,
    /// An unchanged hard-link copy of the parent.
    CopyOfParent,
    /// The parent with these moves applied (companions included).
    Moves(Vec<FileMove>),
}

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// The `[VOTE]` email opening a round.
    VoteStart,
    /// The `[VOTE] [RESULT]` email closing a round.
    VoteResult,
    /// The `[ANNOUNCE]` email.
    Announce,
}

/// An email to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mail {
    /// Which email.
    pub kind: MailKind,
    /// From `<uid>@apache.org`.
    pub from: Uid,
    /// Where it goes.
    pub to: MailTo,
    /// Subject line.
    pub subject: String,
    /// Body; `None` means render the policy's template.
    pub body: Option<String>,
    /// Vote length in hours (vote emails).
    pub duration_hours: Option<u32>,
}

/// Where an email goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTo {
    /// A mailing list address.
    List(String),
    /// A reply in the thread of the vote round being resolved (same list, `In-Reply-To` its message).
    VoteThread,
}

/// Something for an adapter to carry out, in order, in one transaction where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// Create revision `number` (directory and row) from `parent`.
    CreateRevision {
        /// The new number.
        number: RevisionNumber,
        /// The revision it derives from.
        parent: Option<RevisionNumber>,
        /// The release phase it is created in.
        phase: ReleasePhase,
        /// What changed.
        description: String,
        /// How its files come about.
        source: RevisionSource,
    },
    /// Queue a task.
    EnqueueTask(TaskSpec),
    /// Send an email (through a `message_send` or `vote_initiate` task).
    SendMail(Mail),
    /// Move the revision into the finished tree and hard-link it into the download area.
    Publish {
        /// The revision to publish.
        revision: RevisionNumber,
        /// The committee's download directory.
        committee_key: CommitteeKey,
        /// Normalised suffix below it, starting and ending with `/`.
        download_path_suffix: String,
        /// Whether files no announced release owns may be replaced ([`crate::publish::judge`]).
        replace_unowned: bool,
    },
    /// Delete the release's rows and directories.
    DeleteRelease {
        /// Also remove its files from the download area (announced releases).
        remove_downloads: bool,
    },
}

/// The outcome of an accepted command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The state after the command.
    pub state: ReleaseState,
    /// What the adapters must do.
    pub effects: Vec<Effect>,
    /// The audit record of the command.
    pub audit: AuditEvent,
}

impl Transition {
    /// The tasks among the effects.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskSpec> {
        self.effects.iter().filter_map(|e| match e {
            Effect::EnqueueTask(t) => Some(t),
            _ => None,
        })
    }

    /// The emails among the effects.
    pub fn mails(&self) -> impl Iterator<Item = &Mail> {
        self.effects.iter().filter_map(|e| match e {
            Effect::SendMail(m) => Some(m),
            _ => None,
        })
    }
}

/// Addresses a vote may be sent to by `uid` for `committee` (ATR's list).
pub fn permitted_vote_recipients(uid: &Uid, committee: &CommitteeKey) -> Vec<String> {
    vec![
        format!("dev@{committee}.apache.org"),
        format!("private@{committee}.apache.org"),
        "user-tests@tooling.apache.org".to_owned(),
        format!("{uid}@apache.org"),
    ]
}

/// Addresses an announcement may be sent to by `uid` (ATR's deliberately narrow list while in alpha).
pub fn permitted_announce_recipients(uid: &Uid) -> Vec<String> {
    vec!["user-tests@tooling.apache.org".to_owned(), format!("{uid}@apache.org")]
}

/// Validates and normalises a download path suffix to start and end with `/`.
pub fn normalise_download_suffix(suffix: &str) -> Result<String, String> {
    if suffix.contains("..") || suffix.contains("//") || suffix.contains("/.") || suffix.starts_with('.') {
        return Err(format!("the download path `{suffix}` contains `..`, `//` or a dot-directory"));
    }
    if suffix.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!(
            "the download path `{}` contains a control character or backslash",
            suffix.escape_debug()
        ));
    }
    let mut s = suffix.to_owned();
    if !s.starts_with('/') {
        s.insert(0, '/');
    }
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// Applies `command` by `actor` at `now` to `state`.
pub fn apply(
    state: &ReleaseState,
    command: Command,
    actor: &Actor,
    now: Timestamp,
) -> Result<Transition, Refusal> {
    let cx = Cx { state, actor, now };
    match command {
        Command::Start { version } => cx.start(version),
        Command::AddRevision { files, description, expected_latest } => {
            cx.add_revision(files, description, expected_latest)
        }
        Command::StartVote { revision, duration_hours, email_to, subject, body, concerns_noted } => {
            cx.start_vote(revision, duration_hours, email_to, subject, body, &concerns_noted)
        }
        Command::Resolve { resolution, evidence, test_mode_bypass } => {
            cx.resolve(resolution, evidence, test_mode_bypass)
        }
        Command::FinishMove { moves, expected_latest } => cx.finish_move(moves, expected_latest),
        Command::Announce { revision, email_to, body, path_suffix } => {
            cx.announce(revision, email_to, body, path_suffix)
        }
        Command::Delete => cx.delete(),
    }
}

struct Cx<'a> {
    state: &'a ReleaseState,
    actor: &'a Actor,
    now: Timestamp,
}

impl Cx<'_> {
    fn committee(&self) -> &CommitteeKey {
        &self.state.project.committee_key
    }

    fn policy(&self) -> &ReleasePolicy {
        &self.state.project.policy
    }

    fn what(&self, verb: &str) -> String {
        match &self.state.release {
            Some(r) => format!("{verb} {}", r.key()),
            None => format!("{verb} a release of {}", self.state.project.project_key),
        }
    }

    fn refuse(
        &self,
        kind: RefusalKind,
        verb: &str,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Refusal {
        Refusal::new(kind, self.what(verb), reason, fix)
    }

    fn release(&self, verb: &str) -> Result<&Release, Refusal> {
        self.state.release.as_ref().ok_or_else(|| {
            self.refuse(
                RefusalKind::NotFound,
                verb,
                "there is no such release",
                "Check the project and version, or start the release first.",
            )
        })
    }

    fn authorise(&self, action: Action, verb: &str) -> Result<Grant, Refusal> {
        authorise(self.actor, action, self.committee()).map_err(|mut r| {
            r.action = self.what(verb);
            r
        })
    }

    /// The actor's uid. Every lifecycle action needs a logged-in actor, so after `authorise`
    /// succeeded this cannot fail; it still refuses rather than panics.
    fn uid(&self, verb: &str) -> Result<Uid, Refusal> {
        self.actor.uid.clone().ok_or_else(|| {
            self.refuse(RefusalKind::Unauthenticated, verb, "you are not logged in", "Log in and try again.")
        })
    }

    fn wrong_phase(&self, verb: &str, phase: ReleasePhase, allowed: &str, fix: &str) -> Refusal {
        self.refuse(
            RefusalKind::Conflict,
            verb,
            format!(
                "the release is in the {} ({}) phase, and this is only possible {allowed}",
                phase.label(),
                phase
            ),
            fix,
        )
    }

    fn check_latest(&self, verb: &str, given: Option<RevisionNumber>) -> Result<(), Refusal> {
        match (given, self.state.latest_revision) {
            (Some(g), Some(latest)) if g != latest => Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!("revision {g} is not the latest; a newer revision ({latest}) appeared"),
                "Refresh, review the latest revision and try again.",
            )),
            _ => Ok(()),
        }
    }

    fn next_revision(&self, verb: &str) -> Result<RevisionNumber, Refusal> {
        match self.state.latest_revision {
            None => Ok(RevisionNumber::FIRST),
            Some(n) => n.next().ok_or_else(|| {
                self.refuse(
                    RefusalKind::Conflict,
                    verb,
                    format!(
                        "the release already has {} revisions, the most a release may have",
                        RevisionNumber::MAX
                    ),
                    "Start a new release version.",
                )
            }),
        }
    }

    fn audit(
        &self,
        grant: Grant,
        action: AuditAction,
        target: String,
        details: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            id: None,
            at: self.now,
            actor: self.actor.uid.clone(),
            as_admin: grant.as_admin,
            action,
            target,
            details,
        }
    }

    fn plan(&self, release: &Release, revision: RevisionNumber, files: &BTreeSet<RelPath>) -> Vec<TaskSpec> {
        // The policy was validated when saved; an invalid pattern here falls back to heuristics
        // rather than skipping checks.
        let classification = self.policy().classification_policy().unwrap_or_default();
        let uid = self.actor.uid.as_ref();
        let ctx = PlanContext {
            project_key: &release.project_key,
            version_key: &release.version_key,
            revision,
            committee_key: self.committee(),
            is_podling: self.state.project.is_podling,
            asf_uid: uid,
            classification: &classification,
            missing_sbom: self.policy().missing_sbom_status,
        };
        plan_checks(files, &ctx)
    }

    fn subject_name(&self, release: &Release) -> String {
        format!("{} {}", self.state.project.project_name, release.version_key)
    }

    // ---- commands -------------------------------------------------------------------------

    fn start(&self, version: VersionKey) -> Result<Transition, Refusal> {
        let key = ReleaseKey::new(self.state.project.project_key.clone(), version.clone());
        if let Some(existing) = &self.state.release {
            return Err(Refusal::new(
                RefusalKind::Conflict,
                format!("start {key}"),
                format!(
                    "a release {} already exists in the {} phase",
                    existing.key(),
                    existing.phase.label()
                ),
                "Choose another version, or continue the existing release.",
            ));
        }
        let grant = authorise(self.actor, Action::StartRelease, self.committee()).map_err(|mut r| {
            r.action = format!("start {key}");
            r
        })?;
        if !self.state.project.status.accepts_releases() {
            return Err(Refusal::new(
                RefusalKind::Conflict,
                format!("start {key}"),
                format!("the project {} is {}", self.state.project.project_key, self.state.project.status),
                "Only active projects make releases; ask the committee to reactivate the project.",
            ));
        }
        let release = Release::new_draft(self.state.project.project_key.clone(), version, self.now);
        let files = BTreeSet::new();
        let tasks = self.plan(&release, RevisionNumber::FIRST, &files);
        let mut effects = vec![Effect::CreateRevision {
            number: RevisionNumber::FIRST,
            parent: None,
            phase: ReleasePhase::Draft,
            description: "Creation of empty release candidate draft".to_owned(),
            source: RevisionSource::Empty,
        }];
        let state = ReleaseState {
            project: self.state.project.clone(),
            release: Some(release),
            latest_revision: Some(RevisionNumber::FIRST),
            files,
            checks: CheckSummary { ongoing: count(tasks.len()), ..CheckSummary::default() },
            ballots: Vec::new(),
        };
        effects.extend(tasks.into_iter().map(Effect::EnqueueTask));
        let audit =
            self.audit(grant, AuditAction::ReleaseStart, key.to_string(), json!({ "revision": "00001" }));
        Ok(Transition { state, effects, audit })
    }

    fn add_revision(
        &self,
        files: BTreeSet<RelPath>,
        description: String,
        expected_latest: Option<RevisionNumber>,
    ) -> Result<Transition, Refusal> {
        let verb = "change the files of";
        let release = self.release(verb)?;
        let grant = self.authorise(Action::AddRevision, verb)?;
        match release.phase {
            ReleasePhase::Draft => {}
            ReleasePhase::Candidate => {
                return Err(self.wrong_phase(
                    verb,
                    release.phase,
                    "in a draft: the candidate is immutable while its vote runs",
                    "Cancel the vote to return to the draft, change the files, then start a new vote.",
                ));
            }
            ReleasePhase::Preview => {
                return Err(self.wrong_phase(
                    verb,
                    release.phase,
                    "in a draft: after the vote only finishing moves are allowed",
                    "Use the finish page to move or rename files.",
                ));
            }
            ReleasePhase::Release => {
                return Err(self.wrong_phase(
                    verb,
                    release.phase,
                    "in a draft: an announced release is final",
                    "Start a new release version.",
                ));
            }
        }
        self.check_latest(verb, expected_latest)?;
        let number = self.next_revision(verb)?;
        let tasks = self.plan(release, number, &files);
        let mut effects = vec![Effect::CreateRevision {
            number,
            parent: self.state.latest_revision,
            phase: ReleasePhase::Draft,
            description: description.clone(),
            source: RevisionSource::Staged,
        }];
        let audit = self.audit(
            grant,
            AuditAction::RevisionAdd,
            format!("{} {number}", release.key()),
            json!({ "description": description, "files": files.len() }),
        );
        let state = ReleaseState {
            latest_revision: Some(number),
            checks: CheckSummary { ongoing: count(tasks.len()), ..CheckSummary::default() },
            files,
            ..self.state.clone()
        };
        effects.extend(tasks.into_iter().map(Effect::EnqueueTask));
        Ok(Transition { state, effects, audit })
    }

    fn start_vote(
        &self,
        revision: Option<RevisionNumber>,
        duration_hours: Option<u32>,
        email_to: Option<String>,
        subject: Option<String>,
        body: Option<String>,
        concerns_noted: &BTreeSet<String>,
    ) -> Result<Transition, Refusal> {
        let verb = "start a vote on";
        let release = self.release(verb)?;
        let grant = self.authorise(Action::StartVote, verb)?;
        if release.phase != ReleasePhase::Draft {
            let fix = match release.phase {
                ReleasePhase::Candidate => "A vote is already running; resolve or cancel it first.",
                _ => "The vote on this release is over; start a new release version for a new vote.",
            };
            return Err(self.wrong_phase(verb, release.phase, "from a draft", fix));
        }
        self.check_latest(verb, revision)?;
        let latest = self.state.latest_revision.unwrap_or(RevisionNumber::FIRST);
        if self.state.files.is_empty() {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!("revision {latest} has no files"),
                "Upload the release artifacts, their signatures and checksums first.",
            ));
        }
        let checks = &self.state.checks;
        if checks.quarantined > 0 {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!(
                    "{} upload(s) are still in quarantine awaiting archive validation",
                    checks.quarantined
                ),
                "Wait for the validation to finish (or dismiss failed uploads), then try again.",
            ));
        }
        if checks.ongoing > 0 {
            return Err(self
                .refuse(
                    RefusalKind::Conflict,
                    verb,
                    format!(
                        "all checks must be completed before starting a vote ({} still queued or running)",
                        checks.ongoing
                    ),
                    "Wait for the checks to finish, then try again.",
                )
                .with_api_text(CHECKS_ONGOING_API_TEXT));
        }
        if checks.blockers > 0 || checks.exceptions > 0 {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!(
                    "revision {latest} has {} blocker(s) and {} unresolved check exception(s)",
                    checks.blockers, checks.exceptions
                ),
                "Fix the files and upload a new revision; exceptions may instead be re-run or ignored with a reason.",
            ));
        }
        let open: Vec<&str> =
            checks.concerns.iter().map(String::as_str).filter(|c| !concerns_noted.contains(*c)).collect();
        if self.policy().strict_checking && !checks.concerns.is_empty() {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!(
                    "the project's policy uses strict checking and revision {latest} has concerns from {}",
                    join(checks.concerns.iter().map(String::as_str))
                ),
                "Fix the files, or add ignore rules with a reason for accepted concerns.",
            ));
        }
        if !open.is_empty() {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!("concerns from {} have not been acknowledged", join(open.iter().copied())),
                "Read the concerns and acknowledge each checker (concerns_noted), or fix the files.",
            ));
        }
        let uid = self.uid(verb)?;
        let mode = self.policy().vote_mode;
        let to = if mode == VoteMode::Manual {
            None
        } else {
            let to = email_to.unwrap_or_default();
            let permitted = permitted_vote_recipients(&uid, self.committee());
            if !permitted.contains(&to) {
                return Err(self.refuse(
                    RefusalKind::Invalid,
                    verb,
                    format!("`{}` is not a list you may send this vote to", to.escape_debug()),
                    format!("Use one of {}.", permitted.join(", ")),
                ));
            }
            Some(to)
        };
        let min = self.policy().min_hours;
        let hours = duration_hours.unwrap_or(min.max(DEFAULT_MIN_HOURS));
        if hours < min || hours > MAX_VOTE_HOURS || hours == 0 {
            return Err(self.refuse(
                RefusalKind::Invalid,
                verb,
                format!("a vote of {hours} hours is not allowed"),
                format!("Give a duration from {} to {MAX_VOTE_HOURS} hours.", min.max(1)),
            ));
        }
        let mut next = release.clone();
        next.phase = ReleasePhase::Candidate;
        next.vote_mode = Some(mode);
        next.vote_seq += 1;
        next.vote_round = Some(VoteRound::Committee);
        next.vote_started = Some(self.now);
        next.vote_ends = Some(self.now.plus_hours(hours));
        next.vote_resolved = None;
        next.podling_thread_id = None;
        let effects: Vec<Effect> = to
            .iter()
            .map(|to| {
                Effect::SendMail(Mail {
                    kind: MailKind::VoteStart,
                    from: uid.clone(),
                    to: MailTo::List(to.clone()),
                    subject: subject
                        .clone()
                        .unwrap_or_else(|| format!("[VOTE] Release {}", self.subject_name(release))),
                    body: body.clone(),
                    duration_hours: Some(hours),
                })
            })
            .collect();
        let audit = self.audit(
            grant,
            AuditAction::VoteStart,
            format!("{} {latest}", release.key()),
            json!({ "mode": mode.as_str(), "hours": hours, "email_to": to, "concerns_noted": concerns_noted }),
        );
        let state = ReleaseState { release: Some(next), ballots: Vec::new(), ..self.state.clone() };
        Ok(Transition { state, effects, audit })
    }

    fn resolve(
        &self,
        resolution: VoteResolution,
        evidence: Option<ManualEvidence>,
        test_mode_bypass: bool,
    ) -> Result<Transition, Refusal> {
        let verb = "resolve the vote on";
        let release = self.release(verb)?;
        let action =
            if resolution == VoteResolution::Cancelled { Action::CancelVote } else { Action::ResolveVote };
        let grant = self.authorise(action, verb)?;
        if release.phase != ReleasePhase::Candidate {
            return Err(self.wrong_phase(
                verb,
                release.phase,
                "while a vote is running",
                "Only a release in the Vote phase has a vote to resolve.",
            ));
        }
        let uid = self.uid(verb)?;
        let mode = release.vote_mode.unwrap_or(self.policy().vote_mode);
        let round = release.vote_round.unwrap_or(VoteRound::Committee);
        if resolution != VoteResolution::Cancelled
            && !test_mode_bypass
            && let Some(ends) = release.vote_ends
            && self.now < ends
        {
            let left = ends.secs_since(self.now);
            return Err(self.refuse(
                RefusalKind::TooEarly,
                verb,
                format!(
                    "the vote is open until {ends} ({}h {}m left), and may only be resolved as {resolution} after that",
                    left / 3600,
                    left % 3600 / 60
                ),
                "Wait until the vote period ends, or cancel the vote.",
            ));
        }
        // Only ballots of this vote and this round count, whatever the adapter passed in.
        let ballots: Vec<Ballot> = self
            .state
            .ballots
            .iter()
            .filter(|b| b.vote_seq == release.vote_seq && b.vote_round == round)
            .cloned()
            .collect();
        let tally = Tally::of(&ballots);
        if resolution == VoteResolution::Passed && !test_mode_bypass {
            if mode == VoteMode::Manual {
                let ok = evidence.as_ref().is_some_and(|e| {
                    [&e.vote_thread_url, &e.result_thread_url]
                        .iter()
                        .all(|u| u.starts_with(THREAD_URL_PREFIX) && u.len() > THREAD_URL_PREFIX.len())
                });
                if !ok {
                    return Err(self.refuse(
                        RefusalKind::Invalid,
                        verb,
                        "a manual vote needs the vote thread and the result thread as evidence",
                        format!("Give both thread URLs; each must start with {THREAD_URL_PREFIX}."),
                    ));
                }
            } else if let Some(short) = tally.shortfall() {
                return Err(self.refuse(
                    RefusalKind::Conflict,
                    verb,
                    format!("the vote has not passed: {short}"),
                    "Resolve it as failed, or cancel it and start a new vote.",
                ));
            }
        }
        let mut next = release.clone();
        let mut effects = Vec::new();
        let subject = format!("[VOTE] [RESULT] Release {}", self.subject_name(release));
        let result_mail = |outcome: &str, effects: &mut Vec<Effect>| {
            if mode != VoteMode::Manual {
                effects.push(Effect::SendMail(Mail {
                    kind: MailKind::VoteResult,
                    from: uid.clone(),
                    to: MailTo::VoteThread,
                    subject: format!("{subject} {outcome}"),
                    body: None,
                    duration_hours: None,
                }));
            }
        };
        let mut state = self.state.clone();
        let audit_action;
        match resolution {
            VoteResolution::Passed if self.state.project.is_podling && round == VoteRound::Committee => {
                result_mail("PASSED", &mut effects);
                let hours = self.policy().min_hours.max(DEFAULT_MIN_HOURS);
                next.vote_round = Some(VoteRound::Incubator);
                next.vote_started = Some(self.now);
                next.vote_ends = Some(self.now.plus_hours(hours));
                effects.push(Effect::SendMail(Mail {
                    kind: MailKind::VoteStart,
                    from: uid.clone(),
                    to: MailTo::List(INCUBATOR_VOTE_LIST.to_owned()),
                    subject: format!("[VOTE] Release {} (Incubator)", self.subject_name(release)),
                    body: None,
                    duration_hours: Some(hours),
                }));
                state.ballots = Vec::new();
                audit_action = AuditAction::VoteNextRound;
            }
            VoteResolution::Passed => {
                result_mail("PASSED", &mut effects);
                let number = self.next_revision(verb)?;
                next.phase = ReleasePhase::Preview;
                next.vote_round = None;
                next.vote_resolved = Some(self.now);
                effects.insert(
                    0,
                    Effect::CreateRevision {
                        number,
                        parent: self.state.latest_revision,
                        phase: ReleasePhase::Preview,
                        description: "Create a preview revision from the last candidate draft".to_owned(),
                        source: RevisionSource::CopyOfParent,
                    },
                );
                // The copy has the candidate's files, already checked: the summary carries over.
                state.latest_revision = Some(number);
                state.ballots = Vec::new();
                audit_action = AuditAction::VoteResolve;
            }
            VoteResolution::Failed | VoteResolution::Cancelled => {
                result_mail(
                    if resolution == VoteResolution::Failed { "FAILED" } else { "CANCELLED" },
                    &mut effects,
                );
                next.phase = ReleasePhase::Draft;
                next.vote_round = None;
                next.vote_ends = None;
                next.vote_resolved = Some(self.now);
                state.ballots = Vec::new();
                audit_action = AuditAction::VoteResolve;
            }
        }
        let audit = self.audit(
            grant,
            audit_action,
            release.key().to_string(),
            json!({
                "resolution": resolution.as_str(),
                "round": round.as_str(),
                "vote_seq": release.vote_seq,
                "binding_yes": tally.binding_yes,
                "binding_no": tally.binding_no,
                "evidence": evidence,
                "test_mode_bypass": test_mode_bypass,
            }),
        );
        state.release = Some(next);
        Ok(Transition { state, effects, audit })
    }

    fn finish_move(
        &self,
        moves: Vec<FileMove>,
        expected_latest: Option<RevisionNumber>,
    ) -> Result<Transition, Refusal> {
        let verb = "move files of";
        let release = self.release(verb)?;
        let grant = self.authorise(Action::FinishMove, verb)?;
        if release.phase != ReleasePhase::Preview {
            let fix = match release.phase {
                ReleasePhase::Draft => "In a draft, change files by uploading or deleting them.",
                ReleasePhase::Candidate => "The candidate is immutable while its vote runs.",
                _ => "An announced release is final.",
            };
            return Err(self.wrong_phase(
                verb,
                release.phase,
                "in the Finish phase, after the vote passed",
                fix,
            ));
        }
        self.check_latest(verb, expected_latest)?;
        if moves.is_empty() {
            return Err(self.refuse(
                RefusalKind::Invalid,
                verb,
                "no moves were given",
                "Name at least one file and its new path.",
            ));
        }
        let all = expand_companions(&moves, &self.state.files);
        let mut files = self.state.files.clone();
        let sources: BTreeSet<&RelPath> = all.iter().map(|m| &m.from).collect();
        for m in &all {
            if !self.state.files.contains(&m.from) {
                return Err(self.refuse(
                    RefusalKind::Invalid,
                    verb,
                    format!(
                        "`{}` is not a file of revision {}",
                        m.from,
                        self.state.latest_revision.unwrap_or(RevisionNumber::FIRST)
                    ),
                    "Refresh the file list and pick an existing file.",
                ));
            }
            if m.from == m.to {
                return Err(self.refuse(
                    RefusalKind::Invalid,
                    verb,
                    format!("`{}` would move onto itself", m.from),
                    "Give a different target path.",
                ));
            }
            files.remove(&m.from);
        }
        for m in &all {
            let collides_with_kept = self.state.files.contains(&m.to) && !sources.contains(&m.to);
            if collides_with_kept || !files.insert(m.to.clone()) {
                return Err(self.refuse(
                    RefusalKind::Conflict,
                    verb,
                    format!("`{}` already exists (or two files would move there)", m.to),
                    "Choose a target path that is not taken.",
                ));
            }
            if m.to.as_str().starts_with(&format!("{}/", m.from)) {
                return Err(self.refuse(
                    RefusalKind::Invalid,
                    verb,
                    format!("`{}` cannot move into itself", m.from),
                    "Give a target outside it.",
                ));
            }
        }
        let number = self.next_revision(verb)?;
        let tasks = self.plan(release, number, &files);
        let mut effects = vec![Effect::CreateRevision {
            number,
            parent: self.state.latest_revision,
            phase: ReleasePhase::Preview,
            description: format!("Move {} file(s)", all.len()),
            source: RevisionSource::Moves(all.clone()),
        }];
        let audit = self.audit(
            grant,
            AuditAction::FinishMove,
            format!("{} {number}", release.key()),
            json!({ "moves": all.iter().map(|m| [m.from.as_str(), m.to.as_str()]).collect::<Vec<_>>() }),
        );
        let state = ReleaseState {
            latest_revision: Some(number),
            checks: CheckSummary { ongoing: count(tasks.len()), ..CheckSummary::default() },
            files,
            ..self.state.clone()
        };
        effects.extend(tasks.into_iter().map(Effect::EnqueueTask));
        Ok(Transition { state, effects, audit })
    }

    fn announce(
        &self,
        revision: Option<RevisionNumber>,
        email_to: String,
        body: Option<String>,
        path_suffix: Option<String>,
    ) -> Result<Transition, Refusal> {
        let verb = "announce";
        let release = self.release(verb)?;
        let grant = self.authorise(Action::Announce, verb)?;
        if release.phase != ReleasePhase::Preview {
            let fix = match release.phase {
                ReleasePhase::Draft => "Start a vote; once it passes the release can be announced.",
                ReleasePhase::Candidate => {
                    "Resolve the vote first; a passed vote moves the release to the Finish phase."
                }
                _ => "This release was already announced.",
            };
            return Err(self.wrong_phase(
                verb,
                release.phase,
                "from the Finish phase, after the vote passed",
                fix,
            ));
        }
        self.check_latest(verb, revision)?;
        let latest = self.state.latest_revision.unwrap_or(RevisionNumber::FIRST);
        let checks = &self.state.checks;
        if checks.ongoing > 0 {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!(
                    "the checks of revision {latest} are not complete ({} still queued or running)",
                    checks.ongoing
                ),
                "Wait for the checks to finish, then try again.",
            ));
        }
        if checks.blockers > 0 {
            return Err(self.refuse(
                RefusalKind::Conflict,
                verb,
                format!("revision {latest} has {} blocker(s)", checks.blockers),
                "Undo or fix the finishing moves that caused them.",
            ));
        }
        let uid = self.uid(verb)?;
        let permitted = permitted_announce_recipients(&uid);
        if !permitted.contains(&email_to) {
            return Err(self.refuse(
                RefusalKind::Invalid,
                verb,
                format!("`{}` is not a list you may announce to", email_to.escape_debug()),
                format!("Use one of {}.", permitted.join(", ")),
            ));
        }
        let default_suffix = if release.project_key.as_str() == self.committee().as_str() {
            "/".to_owned()
        } else {
            format!("/{}/", release.key())
        };
        let suffix = normalise_download_suffix(path_suffix.as_deref().unwrap_or(&default_suffix)).map_err(
            |reason| {
                self.refuse(
                    RefusalKind::Invalid,
                    verb,
                    reason,
                    "Give a plain relative directory such as `foo-1.0`.",
                )
            },
        )?;
        let mut next = release.clone();
        next.phase = ReleasePhase::Release;
        next.released = Some(self.now);
        let effects = vec![
            Effect::Publish {
                revision: latest,
                committee_key: self.committee().clone(),
                download_path_suffix: suffix.clone(),
                replace_unowned: self.policy().replace_download_files,
            },
            Effect::SendMail(Mail {
                kind: MailKind::Announce,
                from: uid,
                to: MailTo::List(email_to.clone()),
                subject: format!("[ANNOUNCE] {} released", self.subject_name(release)),
                body,
                duration_hours: None,
            }),
        ];
        let audit = self.audit(
            grant,
            AuditAction::ReleaseAnnounce,
            format!("{} {latest}", release.key()),
            json!({ "email_to": email_to, "download_path_suffix": suffix }),
        );
        let state = ReleaseState { release: Some(next), ..self.state.clone() };
        Ok(Transition { state, effects, audit })
    }

    fn delete(&self) -> Result<Transition, Refusal> {
        let verb = "delete";
        let release = self.release(verb)?;
        let action = match release.phase {
            ReleasePhase::Draft => Action::DeleteDraft,
            ReleasePhase::Candidate => Action::DeleteCandidate,
            ReleasePhase::Preview => Action::DeletePreview,
            ReleasePhase::Release => Action::DeleteAnnounced,
        };
        let grant = self.authorise(action, verb).map_err(|mut r| {
            if action == Action::DeleteCandidate {
                r.fix = format!("{} Or cancel the vote first, then delete the draft.", r.fix);
            }
            r
        })?;
        let effects =
            vec![Effect::DeleteRelease { remove_downloads: release.phase == ReleasePhase::Release }];
        let audit = self.audit(
            grant,
            AuditAction::ReleaseDelete,
            release.key().to_string(),
            json!({ "phase": release.phase.as_str(), "latest_revision": self.state.latest_revision }),
        );
        Ok(Transition { state: ReleaseState::unstarted(self.state.project.clone()), effects, audit })
    }
}

/// The committee whose members' votes are binding in the Incubator round of a podling vote.
pub const INCUBATOR_COMMITTEE: &str = "incubator";

/// Casts `actor`'s ballot in the running vote round (trusted votes on the platform).
///
/// The ballot is binding when the actor is a member of the committee (in the Incubator round: of
/// the Incubator PMC). Admin rights never make a vote binding. Later ballots of the same person
/// replace earlier ones in the tally. Refused when no vote runs or the vote is held outside the
/// platform (manual mode).
pub fn cast_ballot(
    state: &ReleaseState,
    actor: &Actor,
    choice: VoteChoice,
    comment: String,
    now: Timestamp,
) -> Result<(Ballot, AuditEvent), Refusal> {
    let cx = Cx { state, actor, now };
    let verb = "vote on";
    let release = cx.release(verb)?;
    let grant = cx.authorise(Action::CastBallot, verb)?;
    if release.phase != ReleasePhase::Candidate {
        return Err(cx.wrong_phase(
            verb,
            release.phase,
            "while a vote is running",
            "Wait for a vote to start.",
        ));
    }
    if release.vote_mode == Some(VoteMode::Manual) {
        return Err(cx.refuse(
            RefusalKind::Conflict,
            verb,
            "this vote is held outside the platform (manual vote mode)",
            "Vote by replying to the vote thread on the mailing list.",
        ));
    }
    let uid = cx.uid(verb)?;
    let round = release.vote_round.unwrap_or(VoteRound::Committee);
    let binding = match round {
        VoteRound::Committee => actor.member_of.contains(&state.project.committee_key),
        VoteRound::Incubator => actor.member_of.iter().any(|c| c.as_str() == INCUBATOR_COMMITTEE),
    };
    let ballot = Ballot {
        voter: Some(uid.clone()),
        voter_name: uid.to_string(),
        choice,
        binding,
        comment,
        vote_seq: release.vote_seq,
        vote_round: round,
        revision_number: state.latest_revision.unwrap_or(RevisionNumber::FIRST),
        cast_at: now,
        manifest_digest: None,
    };
    let audit = cx.audit(
        grant,
        AuditAction::BallotCast,
        release.key().to_string(),
        json!({ "choice": choice.as_str(), "binding": binding, "round": round.as_str(), "vote_seq": release.vote_seq }),
    );
    Ok((ballot, audit))
}

/// Adds the `.asc`/`.sha256`/`.sha512` companions of moved files (unless moved explicitly).
pub fn expand_companions(moves: &[FileMove], files: &BTreeSet<RelPath>) -> Vec<FileMove> {
    let explicit: BTreeSet<&RelPath> = moves.iter().map(|m| &m.from).collect();
    let mut all = moves.to_vec();
    for m in moves {
        for suffix in COMPANION_SUFFIXES {
            let (Ok(from), Ok(to)) = (m.from.with_appended(suffix), m.to.with_appended(suffix)) else {
                continue;
            };
            if files.contains(&from) && !explicit.contains(&from) {
                all.push(FileMove { from, to });
            }
        }
    }
    all
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
