//! Ignore rules for check results: a committee says "this finding is known and accepted".
//!
//! A rule has optional criteria; every criterion that is set must match. Text criteria are
//! globs matched against the whole value: `*` matches any run of characters (including `/`),
//! `?` matches one character, everything else matches itself. A leading `!` negates the glob,
//! and `!` alone matches an absent value (such as a result about no archive member).
//! Unlike ATR, globs are anchored (`license` does not match `atr.tasks.checks.license.files`;
//! write `*license*`), and regular expressions are refused instead of silently half-supported.
//! Blockers and notes are never ignored; a rule past its expiry matches nothing.

use serde::{Deserialize, Serialize};

use crate::check::{CheckResult, CheckStatus};
use crate::ids::{ProjectKey, ReleaseKey, RevisionNumber, Uid};
use crate::time::Timestamp;

/// A rule that hides matching non-blocking check results of a project's releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResultIgnore {
    /// Storage id (`None` before it is stored).
    pub id: Option<i64>,
    /// Who made the rule.
    pub asf_uid: Uid,
    /// When it was made.
    pub created: Timestamp,
    /// The project whose results it applies to.
    pub project_key: ProjectKey,
    /// Glob over the release key (`<project>-<version>`).
    pub release_glob: Option<String>,
    /// Exact revision number.
    pub revision_number: Option<RevisionNumber>,
    /// Glob over the checker name.
    pub checker_glob: Option<String>,
    /// Glob over the file path.
    pub primary_rel_path_glob: Option<String>,
    /// Glob over the archive member path.
    pub member_rel_path_glob: Option<String>,
    /// Exact status: only `concern`, `exception` or `suggestion`.
    pub status: Option<CheckStatus>,
    /// Glob over the message.
    pub message_glob: Option<String>,
    /// Why the results are acceptable, shown next to every ignored result. Empty when the rule came
    /// through the API, whose ignore request has no reason field.
    pub reason: String,
    /// When the rule stops applying, if ever.
    pub expires: Option<Timestamp>,
}

/// Why an ignore rule cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// Blockers and notes cannot be ignored.
    #[error(
        "results with status `{0}` cannot be ignored; only concern, exception and suggestion results can"
    )]
    Status(CheckStatus),
    /// A pattern looks like a regular expression.
    #[error(
        "the pattern `{0}` looks like a regular expression; patterns are globs (`*` any text, `?` one character, leading `!` negates)"
    )]
    Regex(String),
    /// The rule has no criterion at all.
    #[error(
        "the rule matches every result; give at least one criterion (checker, path, message, status, release or revision)"
    )]
    NoCriterion,
    /// The expiry is not after the creation time.
    #[error(
        "the rule would expire at {expires}, before it was made ({created}); give a later expiry or none"
    )]
    Expiry {
        /// When it was made.
        created: Timestamp,
        /// The refused expiry.
        expires: Timestamp,
    },
}

impl CheckResultIgnore {
    fn globs(&self) -> [&Option<String>; 5] {
        [
            &self.release_glob,
            &self.checker_glob,
            &self.primary_rel_path_glob,
            &self.member_rel_path_glob,
            &self.message_glob,
        ]
    }

    /// Checks the rules a saved ignore must meet.
    pub fn validate(&self) -> Result<(), IgnoreError> {
        if let Some(st) = self.status
            && !matches!(st, CheckStatus::Concern | CheckStatus::Exception | CheckStatus::Suggestion)
        {
            return Err(IgnoreError::Status(st));
        }
        for g in self.globs().into_iter().flatten() {
            let body = g.strip_prefix('!').unwrap_or(g);
            if body.starts_with('^') || body.ends_with('$') {
                return Err(IgnoreError::Regex(g.clone()));
            }
        }
        if self.globs().iter().all(|g| g.is_none()) && self.status.is_none() && self.revision_number.is_none()
        {
            return Err(IgnoreError::NoCriterion);
        }
        if let Some(expires) = self.expires
            && expires <= self.created
        {
            return Err(IgnoreError::Expiry { created: self.created, expires });
        }
        Ok(())
    }

    /// Whether this rule hides `result`, found in revision `revision` of release `release`, at time `now`.
    pub fn matches(
        &self,
        release: &ReleaseKey,
        revision: RevisionNumber,
        result: &CheckResult,
        now: Timestamp,
    ) -> bool {
        if matches!(result.status, CheckStatus::Blocker | CheckStatus::Note) {
            return false;
        }
        if self.expires.is_some_and(|e| e <= now) || release.project != self.project_key {
            return false;
        }
        if self.status.is_some_and(|s| s != result.status)
            || self.revision_number.is_some_and(|r| r != revision)
        {
            return false;
        }
        let release = release.to_string();
        let primary = result.primary_rel_path.as_ref().map(|p| p.as_str());
        field_matches(&self.release_glob, Some(&release))
            && field_matches(&self.checker_glob, Some(result.checker.name))
            && field_matches(&self.primary_rel_path_glob, primary)
            && field_matches(&self.member_rel_path_glob, result.member_rel_path.as_deref())
            && field_matches(&self.message_glob, Some(&result.message))
    }
}

fn field_matches(pattern: &Option<String>, value: Option<&str>) -> bool {
    match pattern.as_deref() {
        None => true,
        Some("!") => value.is_none(),
        Some(p) => match p.strip_prefix('!') {
            Some(neg) => !value.is_some_and(|v| glob_match(neg, v)),
            None => value.is_some_and(|v| glob_match(p, v)),
        },
    }
}

/// Whole-string glob match: `*` any run of characters, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckerId;
    use crate::ids::VersionKey;
    use crate::path::RelPath;

    fn rule() -> CheckResultIgnore {
        CheckResultIgnore {
            id: None,
            asf_uid: Uid::new("alice").unwrap(),
            created: Timestamp::from_unix(1000),
            project_key: ProjectKey::new("foo").unwrap(),
            release_glob: None,
            revision_number: None,
            checker_glob: None,
            primary_rel_path_glob: None,
            member_rel_path_glob: None,
            status: None,
            message_glob: None,
            reason: "known".into(),
            expires: None,
        }
    }

    fn key() -> ReleaseKey {
        ReleaseKey::new(ProjectKey::new("foo").unwrap(), VersionKey::new("1.0").unwrap())
    }

    fn concern() -> CheckResult {
        CheckResult::new(
            CheckerId::RAT,
            CheckStatus::Concern,
            Some(RelPath::new("foo-1.0-src.tar.gz").unwrap()),
            "Unknown licence in foo/x.c",
        )
    }

    const REV: fn() -> RevisionNumber = || RevisionNumber::new(2).unwrap();

    #[test]
    fn globs() {
        assert!(glob_match("*.tar.gz", "a/b.tar.gz"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("license", "atr.tasks.checks.license.files"));
        assert!(glob_match("*license*", "atr.tasks.checks.license.files"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn criteria_all_must_match() {
        let now = Timestamp::from_unix(2000);
        let r = CheckResultIgnore { checker_glob: Some("atr.tasks.checks.rat.*".into()), ..rule() };
        assert!(r.matches(&key(), REV(), &concern(), now));
        let r = CheckResultIgnore {
            message_glob: Some("*x.c".into()),
            status: Some(CheckStatus::Concern),
            ..rule()
        };
        assert!(r.matches(&key(), REV(), &concern(), now));
        let r = CheckResultIgnore { status: Some(CheckStatus::Suggestion), ..rule() };
        assert!(!r.matches(&key(), REV(), &concern(), now));
        let r = CheckResultIgnore { revision_number: Some(RevisionNumber::new(1).unwrap()), ..rule() };
        assert!(!r.matches(&key(), REV(), &concern(), now));
        let r = CheckResultIgnore { release_glob: Some("foo-2.*".into()), ..rule() };
        assert!(!r.matches(&key(), REV(), &concern(), now));
        let r = CheckResultIgnore { member_rel_path_glob: Some("!".into()), ..rule() };
        assert!(r.matches(&key(), REV(), &concern(), now));
        assert!(!r.matches(&key(), REV(), &concern().with_member("foo/x.c"), now));
        let r = CheckResultIgnore { primary_rel_path_glob: Some("!*.zip".into()), ..rule() };
        assert!(r.matches(&key(), REV(), &concern(), now));
        let other = ReleaseKey::new(ProjectKey::new("bar").unwrap(), VersionKey::new("1.0").unwrap());
        assert!(!rule().matches(&other, REV(), &concern(), now), "another project's rule never applies");
    }

    #[test]
    fn blockers_notes_and_expired_rules_never_match() {
        let now = Timestamp::from_unix(2000);
        let any = CheckResultIgnore { checker_glob: Some("*".into()), ..rule() };
        let mut blocker = concern();
        blocker.status = CheckStatus::Blocker;
        assert!(!any.matches(&key(), REV(), &blocker, now));
        blocker.status = CheckStatus::Note;
        assert!(!any.matches(&key(), REV(), &blocker, now));
        let expiring = CheckResultIgnore { expires: Some(Timestamp::from_unix(1500)), ..any };
        assert!(expiring.matches(&key(), REV(), &concern(), Timestamp::from_unix(1499)));
        assert!(!expiring.matches(&key(), REV(), &concern(), now));
    }

    #[test]
    fn validation() {
        let ok = CheckResultIgnore { checker_glob: Some("*rat*".into()), ..rule() };
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(rule().validate(), Err(IgnoreError::NoCriterion));
        let bad = CheckResultIgnore { status: Some(CheckStatus::Blocker), ..ok.clone() };
        assert!(bad.validate().unwrap_err().to_string().contains("cannot be ignored"));
        let bad = CheckResultIgnore { message_glob: Some("^foo".into()), ..ok.clone() };
        assert!(matches!(bad.validate(), Err(IgnoreError::Regex(_))));
        let api_made = CheckResultIgnore { reason: String::new(), ..ok.clone() };
        assert_eq!(api_made.validate(), Ok(()));
        let bad = CheckResultIgnore { expires: Some(Timestamp::from_unix(10)), ..ok };
        assert!(matches!(bad.validate(), Err(IgnoreError::Expiry { .. })));
    }
}
