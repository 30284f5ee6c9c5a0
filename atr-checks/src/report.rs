//! [`Report`]: the results of checking a release, with counts per status.

use atr_core::check::{CheckResult, CheckStatus};
use serde::Serialize;

/// Counts of results per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Policy violations: a vote cannot start.
    pub blocker: usize,
    /// To be acknowledged before a vote.
    pub concern: usize,
    /// Checks that could not run.
    pub exception: usize,
    /// Passed or informational.
    pub note: usize,
    /// Could be better.
    pub suggestion: usize,
}

impl Summary {
    /// Counts the statuses of `results`.
    pub fn of(results: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            *s.count_mut(r.status) += 1;
        }
        s
    }

    /// The count for one status.
    pub fn count(&self, status: CheckStatus) -> usize {
        match status {
            CheckStatus::Blocker => self.blocker,
            CheckStatus::Concern => self.concern,
            CheckStatus::Exception => self.exception,
            CheckStatus::Note => self.note,
            CheckStatus::Suggestion => self.suggestion,
        }
    }

    fn count_mut(&mut self, status: CheckStatus) -> &mut usize {
        match status {
            CheckStatus::Blocker => &mut self.blocker,
            CheckStatus::Concern => &mut self.concern,
            CheckStatus::Exception => &mut self.exception,
            CheckStatus::Note => &mut self.note,
            CheckStatus::Suggestion => &mut self.suggestion,
        }
    }
}

/// All results of checking a release, in a stable order (by file, then checker), with a summary.
///
/// Serializes as `{"results": [...], "summary": {"blocker": n, ...}}`.
///
/// ```
/// use atr_checks::Report;
/// use atr_core::check::{CheckResult, CheckStatus, CheckerId};
/// let r = Report::new(vec![CheckResult::new(CheckerId::PATHS, CheckStatus::Blocker, None, "no source")]);
/// assert_eq!(r.summary.blocker, 1);
/// assert!(r.has_blockers());
/// let json = serde_json::to_value(&r).unwrap();
/// assert_eq!(json["summary"]["blocker"], 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Every result.
    pub results: Vec<CheckResult>,
    /// Counts per status.
    pub summary: Summary,
}

impl Report {
    /// Builds a report, sorting results by primary path (revision-wide results first), then checker
    /// (the sort is stable, so each checker's own order is kept).
    pub fn new(mut results: Vec<CheckResult>) -> Report {
        results.sort_by(|a, b| {
            a.primary_rel_path.cmp(&b.primary_rel_path).then(a.checker.name.cmp(b.checker.name))
        });
        let summary = Summary::of(&results);
        Report { results, summary }
    }

    /// Whether any result is a blocker.
    pub fn has_blockers(&self) -> bool {
        self.summary.blocker > 0
    }

    /// Whether any result stops a vote (a blocker, or a check that could not run).
    pub fn blocks_vote(&self) -> bool {
        self.results.iter().any(|r| r.status.blocks_vote())
    }
}
