//! Background tasks: what the worker runs, and the queue row that tracks each run.
//!
//! The core decides *which* tasks a change needs ([`TaskSpec`], from [`crate::plan`] and
//! [`crate::lifecycle`]); storage queues them; the worker claims and runs them.

use serde::{Deserialize, Serialize};

use crate::ids::{ProjectKey, RevisionNumber, Uid, VersionKey};
use crate::path::RelPath;
use crate::time::Timestamp;

wire_enum! {
    /// The kind of a task. Check kinds run checkers over one revision; the others carry out effects.
    pub enum TaskType, what = "task type" {
        /// Verify one detached `.asc` signature against the committee's keys.
        SignatureCheck = "signature_check",
        /// Verify one `.sha256`/`.sha512` file.
        HashingCheck = "hashing_check",
        /// Path and naming rules over the whole revision (once per revision).
        PathsCheck = "paths_check",
        /// Every archive check (structure, integrity, licence files, headers, RAT-class analysis) over
        /// one archive, in a single pass.
        ArchiveCheck = "archive_check",
        /// The same tree shipped in several archive formats (once per revision with two or more archives).
        ParityCheck = "parity_check",
        /// One CycloneDX SBOM file.
        SbomCheck = "sbom_check",
        /// Send the vote email.
        VoteInitiate = "vote_initiate",
        /// Send one email (vote result, announcement, receipt).
        MessageSend = "message_send",
        /// Validate a quarantined upload before it becomes a revision.
        QuarantineValidate = "quarantine_validate",
        /// Refresh committee and project metadata.
        MetadataUpdate = "metadata_update",
        /// Import keys from a KEYS file in a draft.
        KeysImportFile = "keys_import_file",
        /// Import files from Subversion into a draft.
        SvnImportFiles = "svn_import_files",
        /// Generate a CycloneDX SBOM for an artifact.
        SbomGenerateCyclonedx = "sbom_generate_cyclonedx",
        /// Ask a package registry about one distribution record (upload date, pending or not).
        DistributionStatus = "distribution_status",
    }
}

impl TaskType {
    /// Whether this task runs checkers and records check results (and so blocks a vote while queued or active).
    pub fn is_check(self) -> bool {
        matches!(
            self,
            TaskType::SignatureCheck
                | TaskType::HashingCheck
                | TaskType::PathsCheck
                | TaskType::ArchiveCheck
                | TaskType::ParityCheck
                | TaskType::SbomCheck
        )
    }
}

wire_enum! {
    /// Where a task is in its life. `queued → active → completed | failed`.
    pub enum TaskStatus, what = "task status" {
        /// Waiting for a worker.
        Queued = "queued",
        /// Claimed by a worker and running.
        Active = "active",
        /// Finished; its result is stored.
        Completed = "completed",
        /// Gave up; its error is stored.
        Failed = "failed",
    }
}

impl TaskStatus {
    /// Whether the task has not finished yet (queued or active).
    pub fn is_ongoing(self) -> bool {
        matches!(self, TaskStatus::Queued | TaskStatus::Active)
    }

    /// Whether moving from `self` to `next` is allowed.
    pub fn can_become(self, next: TaskStatus) -> bool {
        matches!(
            (self, next),
            (TaskStatus::Queued, TaskStatus::Active)
                | (TaskStatus::Active, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Queued)
        )
    }
}

/// The storage id of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub i64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A task to enqueue: what to run and on what. Produced by the core, queued by storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// What to run.
    pub task_type: TaskType,
    /// Typed arguments as JSON (kind-specific; for checks the list of checkers and flags such as `is_podling`).
    pub task_args: serde_json::Value,
    /// On whose behalf (`None` for the system).
    pub asf_uid: Option<Uid>,
    /// The project it concerns, if any.
    pub project_key: Option<ProjectKey>,
    /// The version it concerns, if any.
    pub version_key: Option<VersionKey>,
    /// The revision it concerns, if any.
    pub revision_number: Option<RevisionNumber>,
    /// The file it concerns, if any.
    pub primary_rel_path: Option<RelPath>,
}

/// A task as stored in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Storage id.
    pub id: TaskId,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// What to run and on what.
    #[serde(flatten)]
    pub spec: TaskSpec,
    /// When it was queued.
    pub added: Timestamp,
    /// When a worker claimed it.
    pub started: Option<Timestamp>,
    /// When it finished.
    pub completed: Option<Timestamp>,
    /// Result JSON (completed tasks).
    pub result: Option<serde_json::Value>,
    /// Error text (failed tasks).
    pub error: Option<String>,
    /// How many times it has been attempted.
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_type_table() {
        crate::model::assert_wire_table(
            TaskType::ALL,
            &[
                "signature_check",
                "hashing_check",
                "paths_check",
                "archive_check",
                "parity_check",
                "sbom_check",
                "vote_initiate",
                "message_send",
                "quarantine_validate",
                "metadata_update",
                "keys_import_file",
                "svn_import_files",
                "sbom_generate_cyclonedx",
                "distribution_status",
            ],
        );
        let checks: Vec<_> = TaskType::ALL.iter().filter(|t| t.is_check()).map(|t| t.as_str()).collect();
        assert_eq!(
            checks,
            [
                "signature_check",
                "hashing_check",
                "paths_check",
                "archive_check",
                "parity_check",
                "sbom_check"
            ]
        );
    }

    #[test]
    fn task_status_table_and_transitions() {
        crate::model::assert_wire_table(TaskStatus::ALL, &["queued", "active", "completed", "failed"]);
        use TaskStatus::*;
        let allowed = [(Queued, Active), (Active, Completed), (Active, Failed), (Active, Queued)];
        for &a in TaskStatus::ALL {
            for &b in TaskStatus::ALL {
                assert_eq!(a.can_become(b), allowed.contains(&(a, b)), "{a} -> {b}");
            }
        }
        assert!(
            Queued.is_ongoing() && Active.is_ongoing() && !Completed.is_ongoing() && !Failed.is_ongoing()
        );
    }

    #[test]
    fn task_json_is_flat() {
        let t = Task {
            id: TaskId(7),
            status: TaskStatus::Queued,
            spec: TaskSpec {
                task_type: TaskType::HashingCheck,
                task_args: serde_json::json!({}),
                asf_uid: Some(Uid::new("alice").unwrap()),
                project_key: Some(ProjectKey::new("foo").unwrap()),
                version_key: Some(VersionKey::new("1.0").unwrap()),
                revision_number: Some(RevisionNumber::FIRST),
                primary_rel_path: Some(RelPath::new("a.tar.gz.sha512").unwrap()),
            },
            added: Timestamp::EPOCH,
            started: None,
            completed: None,
            result: None,
            error: None,
            attempts: 0,
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["task_type"], "hashing_check");
        assert_eq!(v["revision_number"], "00001");
        assert_eq!(v["id"], 7);
        assert_eq!(serde_json::from_value::<Task>(v).unwrap(), t);
    }
}
