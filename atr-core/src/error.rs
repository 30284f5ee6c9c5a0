//! `Refusal`: the one error type of the core. It says what was refused, why, and how to fix it.
//!
//! Every rule of the core (permissions, lifecycle guards) refuses with a `Refusal`. Its
//! [`RefusalKind`] lets adapters pick a status code (401, 403, 404, 409, 422, 425) without
//! parsing text; its message is written for the person who asked, and is shown as is.

use std::fmt;

/// What sort of refusal this is, so an adapter can map it to a status without reading the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The actor is not logged in and must be.
    Unauthenticated,
    /// The actor is logged in but lacks the role.
    Forbidden,
    /// The release (or another thing named) does not exist.
    NotFound,
    /// The state does not allow it now (wrong phase, newer revision, checks running, blockers).
    Conflict,
    /// The request itself is malformed (bad recipient, bad path, bad duration).
    Invalid,
    /// It is too early (the vote is still open).
    TooEarly,
}

impl RefusalKind {
    /// The stable text form (`unauthenticated`, `forbidden`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Unauthenticated => "unauthenticated",
            RefusalKind::Forbidden => "forbidden",
            RefusalKind::NotFound => "not_found",
            RefusalKind::Conflict => "conflict",
            RefusalKind::Invalid => "invalid",
            RefusalKind::TooEarly => "too_early",
        }
    }
}

impl fmt::Display for RefusalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused request: `Cannot <action>: <reason>. <fix>`
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Cannot {action}: {reason}. {fix}")]
pub struct Refusal {
    /// What sort of refusal.
    pub kind: RefusalKind,
    /// What was refused, such as `start a vote on foo-1.0`.
    pub action: String,
    /// Why, such as `all checks must be completed before starting a vote (2 still running)`.
    pub reason: String,
    /// How to fix it, as an instruction, such as `Wait for the checks to finish, then try again.`
    pub fix: String,
    /// The exact text the JSON API answers with instead, where the real `atr` client's contract
    /// (its transcripts, or ATR itself) fixes one; the web pages keep the full explanation.
    pub api_text: Option<&'static str>,
}

impl Refusal {
    /// Builds a refusal.
    pub fn new(
        kind: RefusalKind,
        action: impl Into<String>,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Refusal { kind, action: action.into(), reason: reason.into(), fix: fix.into(), api_text: None }
    }

    /// The same refusal, answered on the JSON API with exactly `text` (the client's contract).
    pub fn with_api_text(mut self, text: &'static str) -> Self {
        self.api_text = Some(text);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_has_action_reason_and_fix() {
        let r = Refusal::new(
            RefusalKind::Conflict,
            "start a vote on foo-1.0",
            "checks are running",
            "Wait for them.",
        );
        assert_eq!(r.to_string(), "Cannot start a vote on foo-1.0: checks are running. Wait for them.");
        assert_eq!(r.kind.as_str(), "conflict");
    }
}
