//! The vote page: start a vote (with the core's refusals and the concerns to acknowledge), cast
//! ballots in trusted mode with the live tally, and resolve the vote.

use atr_core::model::{ReleasePhase, Tally, VoteMode};
use maud::{Markup, html};

use super::{Chrome, layout, time};
use crate::views::VoteView;

/// The tally as a table.
pub(crate) fn tally_table(t: &Tally) -> Markup {
    html! {
        table class="tally" {
            thead { tr { th { "" } th { "+1" } th { "0" } th { "−1" } } }
            tbody {
                tr { th { "Binding" } td { (t.binding_yes) } td { (t.binding_abstain) } td { (t.binding_no) } }
                tr { th { "Non-binding" } td { (t.non_binding_yes) } td { (t.non_binding_abstain) } td { (t.non_binding_no) } }
            }
        }
        p {
            @match t.shortfall() {
                None => "With these ballots the vote passes.",
                Some(short) => { "With these ballots the vote does not pass: " (short) "." }
            }
        }
    }
}

/// The vote page.
pub(crate) fn vote(chrome: &Chrome<'_>, v: &VoteView, can_vote: bool, can_resolve: bool) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let title = format!("Vote on {} {}", v.state.project.project_name, r.version_key);
    let latest = v.state.latest_revision.map(|n| n.to_string()).unwrap_or_default();
    layout(
        chrome,
        &title,
        html! {
            h1 { (title) }
            p { "Phase: " strong { (r.phase.label()) } " · revision " strong { (latest) } " · "
                a href={ "/compose/" (base) } { "Files and checks" } }
            @if !v.digests.is_empty() {
                h2 { "Artifacts" }
                table {
                    thead { tr { th { "File" } th { "SHA-512" } } }
                    tbody { @for (path, digest) in &v.digests { tr { td { code { (path) } } td { code class="digest" { (digest) } } } } }
                }
            }
            @match r.phase {
                ReleasePhase::Draft => (start_form(chrome, v, &base, &latest)),
                ReleasePhase::Candidate => (running(chrome, v, &base, can_vote, can_resolve)),
                ReleasePhase::Preview => p { "The vote passed. " a href={ "/finish/" (base) } { "Finish the release" } },
                ReleasePhase::Release => p { "This release is announced. " a href={ "/release/" (base) } { "Release page" } },
            }
        },
    )
}

fn start_form(chrome: &Chrome<'_>, v: &VoteView, base: &str, latest: &str) -> Markup {
    let policy = &v.state.project.policy;
    html! {
        h2 { "Start the vote" }
        @if let Some(refusal) = &v.start_refusal {
            p role="alert" class="flash error" { "A vote cannot start now: " (refusal) }
        }
        @if v.state.checks.ongoing > 0 {
            p role="status" { (v.state.checks.ongoing) " checks are still running." }
        }
        @if v.start_refusal.is_none() || !v.state.checks.concerns.is_empty() {
            form method="post" action={ "/vote/start/" (base) } {
                (chrome.csrf_field())
                input type="hidden" name="revision" value=(latest);
                @if !v.state.checks.concerns.is_empty() {
                    fieldset {
                        legend { "Concerns to acknowledge (recorded with the vote)" }
                        @for c in &v.state.checks.concerns {
                            p { label { input type="checkbox" name="concern" value=(c); " I have read the concerns of " code { (c) } " and accept them" } }
                        }
                    }
                }
                @if policy.vote_mode != VoteMode::Manual {
                    fieldset {
                        legend { "Send the vote to" }
                        @for (i, to) in v.recipients.iter().enumerate() {
                            p { label { input type="radio" name="email_to" value=(to) checked[i == 0]; " " (to) } }
                        }
                    }
                }
                p { label for="duration" { "Duration in hours (at least " (policy.min_hours.max(1)) ")" } br;
                    input id="duration" name="duration_hours" type="number" min=(policy.min_hours.max(1)) value=(policy.min_hours.max(atr_core::model::policy::DEFAULT_MIN_HOURS)); }
                p { "Vote mode: " strong { (policy.vote_mode.as_str()) } ". The vote mail lists the SHA-512 of every artifact and the revision number." }
                p { button type="submit" { "Start the vote on revision " (latest) } }
            }
        }
    }
}

fn running(chrome: &Chrome<'_>, v: &VoteView, base: &str, can_vote: bool, can_resolve: bool) -> Markup {
    let r = &v.release;
    html! {
        h2 { "The vote" }
        p {
            "Mode " strong { (r.vote_mode.map_or("?", |m| m.as_str())) }
            @if let Some(t) = r.vote_started { ", started " (time(t)) }
            @if let Some(t) = r.vote_ends { ", open until " strong { (time(t)) } }
            "."
        }
        h3 { "Ballots cast here" }
        (tally_table(&v.tally))
        @if !v.state.ballots.is_empty() {
            table {
                thead { tr { th { "Voter" } th { "Vote" } th { "Binding" } th { "Revision" } th { "Manifest (SHA-256)" } th { "When" } th { "Comment" } } }
                tbody { @for b in &v.state.ballots {
                    tr { td { (b.voter_name) } td { (b.choice.as_str()) } td { (if b.binding { "yes" } else { "no" }) }
                         td { (b.revision_number) }
                         td { @if let Some(d) = &b.manifest_digest { code title="SHA-256 of the sorted path NUL sha512 lines of the revision's artifacts" { (d) } } @else { "—" } }
                         td { (time(b.cast_at)) } td { (b.comment) } }
                } }
            }
        }
        @if can_vote && r.vote_mode == Some(VoteMode::Trusted) {
            form method="post" action={ "/vote/ballot/" (base) } {
                (chrome.csrf_field())
                fieldset {
                    legend { "Your vote" }
                    @for (value, label) in [("+1", "+1 Release this package"), ("0", "0 Abstain"), ("-1", "−1 Do not release this package")] {
                        p { label { input type="radio" name="choice" value=(value) required; " " (label) } }
                    }
                    p { label for="comment" { "Comment" } br; input id="comment" name="comment"; }
                    p { button type="submit" { "Cast my vote" } }
                }
            }
        }
        @if can_resolve {
            h2 { "Resolve" }
            @if r.vote_mode == Some(VoteMode::Email) {
                form method="post" action={ "/vote/tabulate/" (base) } enctype="multipart/form-data" {
                    (chrome.csrf_field())
                    p { "The server reads the vote's thread from its archive of the list: only replies to the vote mail count." }
                    p { button type="submit" { "Count the votes from the list archive" } }
                }
                form method="post" action={ "/vote/tabulate/" (base) } enctype="multipart/form-data" {
                    (chrome.csrf_field())
                    p { label for="thread" { "Preview a thread file (mbox or Pony Mail JSON); nothing is stored and its votes do not count" } br;
                        input id="thread" name="thread" type="file" required; }
                    p { button type="submit" { "Preview" } }
                }
            }
            form method="post" action={ "/vote/resolve/" (base) } {
                (chrome.csrf_field())
                p {
                    @for (value, label) in [("passed", "Passed"), ("failed", "Failed"), ("cancelled", "Cancelled")] {
                        label { input type="radio" name="resolution" value=(value) required; " " (label) } " "
                    }
                }
                @if r.vote_mode == Some(VoteMode::Manual) {
                    p { label for="vote_thread_url" { "Vote thread (https://lists.apache.org/thread/…)" } br;
                        input id="vote_thread_url" name="vote_thread_url" type="url" size="80"; }
                    p { label for="result_thread_url" { "Result thread (https://lists.apache.org/thread/…)" } br;
                        input id="result_thread_url" name="result_thread_url" type="url" size="80"; }
                }
                p { button type="submit" { "Resolve the vote" } }
            }
        }
    }
}

/// The tabulation of an uploaded thread: tally, outcome, counted and skipped mails, and the
/// resolution form with the `[RESULT]` mail prefilled.
pub(crate) fn tabulated(
    chrome: &Chrome<'_>,
    v: &VoteView,
    tab: &atr_core::tabulate::Tabulation,
    now: atr_core::time::Timestamp,
    preview: bool,
) -> Markup {
    use atr_core::tabulate::Outcome;
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let min = v.state.project.policy.min_hours;
    let outcome = tab.outcome(now, (min > 0).then_some(min));
    let passed = matches!(outcome, Outcome::Passed);
    let name = format!("{} {}", v.state.project.project_name, r.version_key);
    layout(
        chrome,
        "Vote tabulation",
        html! {
            h1 { "Tabulation of the vote on " (name) }
            @if preview {
                p role="note" class="flash error" { strong { "Preview of an uploaded file: nothing was stored, and none of these votes count." }
                    " The votes that count are read by the server from its list archive; use " a href={ "/vote/" (base) } { "Count the votes from the list archive" } " on the vote page." }
            } @else {
                p { "Counted from the server's archive of the vote's list: the vote mail and the replies to it." }
            }
            (tally_table(&tab.tally))
            p role="status" { strong {
                @match outcome {
                    Outcome::StillOpen { remaining_secs, would_pass } => {
                        "The vote is still open for " (remaining_secs / 3600) " hours, but it would "
                        (if would_pass { "pass" } else { "fail" }) " if closed now."
                    }
                    Outcome::Passed => "The vote passed.",
                    Outcome::Failed => "The vote failed.",
                }
            } }
            h2 { "Counted votes" }
            table {
                thead { tr { th { "Voter" } th { "Vote" } th { "Binding" } th { "Quotation" } } }
                tbody { @for vote in &tab.votes {
                    tr { td { (vote.address) } td { (vote.choice.as_str()) @if vote.updated { " (changed)" } }
                         td { (if vote.binding { "yes" } else { "no" }) } td { (vote.quotation) } }
                } }
            }
            @if !tab.skipped.is_empty() {
                h2 { "Mails not counted" }
                ul { @for s in &tab.skipped { li { (s.from) ": " (s.reason) } } }
            }
            @if !preview {
            h2 { "Resolve" }
            form method="post" action={ "/vote/resolve/" (base) } {
                (chrome.csrf_field())
                p {
                    @for (value, label) in [("passed", "Passed"), ("failed", "Failed"), ("cancelled", "Cancelled")] {
                        label { input type="radio" name="resolution" value=(value) required checked[(value == "passed") == passed && value != "cancelled"]; " " (label) } " "
                    }
                }
                p { label for="body" { "Result mail" } br;
                    textarea id="body" name="body" rows="16" cols="80" { (tab.result_body(passed, &name, None)) } }
                p { button type="submit" { "Resolve the vote" } }
            }
            }
            p { a href={ "/vote/" (base) } { "Back to the vote" } }
        },
    )
}

/// The finish page of a preview: its files, a move form, RC tag removal and the announce form.
pub(crate) fn finish(chrome: &Chrome<'_>, v: &VoteView, can_finish: bool, announce_to: &[String]) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let latest = v.state.latest_revision.map(|n| n.to_string()).unwrap_or_default();
    let title = format!("Finish {} {}", v.state.project.project_name, r.version_key);
    let default_suffix = if r.project_key.as_str() == v.state.project.committee_key.as_str() {
        String::new()
    } else {
        r.key().to_string()
    };
    layout(
        chrome,
        &title,
        html! {
            h1 { (title) }
            p { "Phase: " strong { (r.phase.label()) } " · revision " strong { (latest) } " · "
                a href={ "/revisions/" (base) } { "Revisions" } }
            @if r.phase != ReleasePhase::Preview {
                p role="alert" { "Only a release whose vote passed can be finished." }
            } @else {
                @if v.state.checks.ongoing > 0 {
                    p role="status" { (v.state.checks.ongoing) " checks of this revision are still running." }
                }
                h2 { "Files" }
                table {
                    thead { tr { th { "File" } @if can_finish { th { "Move into directory" } } } }
                    tbody { @for f in &v.state.files {
                        tr {
                            td { code { (f) } }
                            @if can_finish { td {
                                form method="post" action={ "/finish/move/" (base) } class="inline" {
                                    (chrome.csrf_field())
                                    input type="hidden" name="revision" value=(latest);
                                    input type="hidden" name="path" value=(f.as_str());
                                    input name="directory" placeholder="directory, empty for the top" aria-label={ "Directory for " (f) };
                                    button type="submit" { "Move" }
                                }
                            } }
                        }
                    } }
                }
                p { "Signatures and checksums (.asc, .sha256, .sha512) move with their file." }
                @if can_finish {
                    form method="post" action={ "/finish/rc-tags/" (base) } {
                        (chrome.csrf_field())
                        input type="hidden" name="revision" value=(latest);
                        button type="submit" { "Remove RC tags from file names" }
                    }
                    h2 { "Announce" }
                    form method="post" action={ "/announce/" (base) } {
                        (chrome.csrf_field())
                        input type="hidden" name="revision" value=(latest);
                        fieldset {
                            legend { "Send the announcement to" }
                            @for (i, to) in announce_to.iter().enumerate() {
                                p { label { input type="radio" name="email_to" value=(to) checked[i == 0]; " " (to) } }
                            }
                        }
                        p { label for="path_suffix" { "Download directory below the committee's" } br;
                            input id="path_suffix" name="path_suffix" value=(default_suffix); }
                        p { "Announcing publishes revision " (latest) " for good: its files are hard-linked into the downloads with the committee's KEYS file." }
                        p { button type="submit" { "Announce and publish" } }
                    }
                }
            }
        },
    )
}
