//! The compose page of a draft and its upload form.

use atr_storage::quarantine::Quarantined;
use maud::{Markup, html};

use super::{Chrome, layout, refreshing, time};
use crate::views::{ComposeView, Counts};

/// Counts as table cells: blockers (with exceptions), concerns, suggestions, ignored.
pub(crate) fn count_cells(c: &Counts) -> Markup {
    html! {
        td class=[(c.blockers + c.exceptions > 0).then_some("blocker")] { (c.blockers + c.exceptions) }
        td class=[(c.concerns > 0).then_some("concern")] { (c.concerns) }
        td class=[(c.suggestions > 0).then_some("suggestion")] { (c.suggestions) }
        td { (c.ignored) }
    }
}

/// The quarantined uploads of the release the compose page shows.
#[derive(Debug)]
pub(crate) struct Quarantine<'a> {
    /// Uploads whose archives are being validated.
    pub(crate) pending: &'a [Quarantined],
    /// The latest refused uploads, with the explanation for the uploader.
    pub(crate) refused: &'a [Quarantined],
}

fn file_list(q: &Quarantined) -> Markup {
    html! {
        @for (i, f) in q.files.iter().enumerate() {
            @if i > 0 { ", " }
            code { (f.path) }
        }
    }
}

/// Pending uploads ("validating …") and refused ones with their explanation.
fn quarantine_section(q: &Quarantine<'_>) -> Markup {
    html! {
        @if !q.pending.is_empty() {
            h2 { "Uploads being validated" }
            ul role="status" {
                @for p in q.pending {
                    li { "Validating " (file_list(p)) " (uploaded by " (p.requested_by) " at " (time(p.created)) "): the files join a new revision when the archives pass." }
                }
            }
        }
        @if !q.refused.is_empty() {
            h2 { "Refused uploads" }
            ul {
                @for r in q.refused {
                    li class="blocker" {
                        "Refused " (file_list(r)) " (uploaded by " (r.requested_by) " at " (time(r.created)) "): "
                        (r.error.as_deref().unwrap_or("no explanation was recorded"))
                    }
                }
            }
        }
    }
}

/// The compose page.
pub(crate) fn compose(chrome: &Chrome<'_>, v: &ComposeView, q: &Quarantine<'_>, can_edit: bool) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let title = format!("{} {}", v.project.name, r.version_key);
    refreshing(
        chrome,
        &title,
        !v.ongoing.is_empty() || !q.pending.is_empty(),
        html! {
            h1 { (title) }
            p {
                "Phase: " strong { (r.phase.label()) } " (Compose → Vote → Finish)"
                " · " a href={ "/vote/" (base) } { "Vote" }
                " · " a href={ "/finish/" (base) } { "Finish" }
            }
            @match &v.latest {
                Some(rev) => p {
                    "Latest revision " strong { (rev.number) } " by " (rev.asfuid) " at " (time(rev.created)) ": " (rev.description)
                    " · " a href={ "/revisions/" (base) } { "Revisions" }
                },
                None => p { "No revision yet." },
            }
            @if v.ongoing.is_empty() {
                p { "All checks of this revision are done." }
            } @else {
                p role="status" { strong { (v.ongoing.len()) } " checks are running; this page refreshes by itself." }
            }
            @if can_edit {
                p { a href={ "/upload/" (base) } { "Upload files to this draft" } " · " a href={ "/draft/svn/" (base) } { "Import from SVN" } }
            }
            (quarantine_section(q))
            h2 { "Files" }
            @if v.files.is_empty() {
                p { "The draft has no files yet." }
            } @else {
                table {
                    thead { tr { th { "File" } th { "Class" } th { "Blockers" } th { "Concerns" } th { "Suggestions" } th { "Ignored" } th { "Actions" } } }
                    tbody {
                        @for f in &v.files {
                            tr {
                                td { code { (f.path) } }
                                td { (f.class) }
                                (count_cells(&f.counts))
                                td {
                                    a href={ "/report/" (base) "/" (f.path) } { "Report" } " · "
                                    a href={ "/file/" (base) "/" (f.path) } { "View" }
                                    @if can_edit {
                                        " · " (chrome.button_form(&format!("/draft/delete-file/{base}"), "Delete", &[("path", f.path.as_str())]))
                                        @if f.class.is_artifact() {
                                            " " (chrome.button_form(&format!("/draft/hashgen/{base}"), "Generate .sha512", &[("path", f.path.as_str()), ("hash_type", "sha512")]))
                                            " " (chrome.button_form(&format!("/draft/hashgen/{base}"), "Generate .sha256", &[("path", f.path.as_str()), ("hash_type", "sha256")]))
                                        }
                                        @if f.sbom_missing {
                                            " " (chrome.button_form(&format!("/draft/sbom/{base}"), "Generate SBOM", &[("path", f.path.as_str())]))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @let rc = &v.revision_counts;
            @if rc.blockers + rc.exceptions + rc.concerns + rc.suggestions + rc.ignored > 0 {
                p { "Results about the whole revision: " (rc.blockers + rc.exceptions) " blockers, " (rc.concerns) " concerns, " (rc.suggestions) " suggestions." }
            }
            p { (v.ignores) " ignore rules · " a href={ "/ignores/" (r.project_key) } { "Ignored checks" } }
            @if can_edit {
                h2 { "Delete this draft" }
                (chrome.button_form(&format!("/draft/delete/{base}"), "Delete this draft", &[]))
            }
        },
    )
}

/// The upload form: many files at once; the token travels in the URL so it is checked before the body is read.
pub(crate) fn upload(chrome: &Chrome<'_>, project: &str, version: &str, limit: usize) -> Markup {
    let action = format!("/upload/{project}/{version}?csrf_token={}", chrome.csrf());
    layout(
        chrome,
        "Upload",
        html! {
            h1 { "Upload files to " (project) " " (version) }
            form method="post" action=(action) enctype="multipart/form-data" {
                p { label for="files" { "Files" } br; input id="files" name="files" type="file" multiple required; }
                p { label for="directory" { "Into directory (optional, such as " code { "binaries" } ")" } br; input id="directory" name="directory"; }
                p { "At most " (limit / (1024 * 1024)) " MiB in one upload. All files become one new revision; when they include an archive, the revision appears once the archives have been validated." }
                p { button type="submit" { "Upload" } }
            }
            p { a href={ "/compose/" (project) "/" (version) } { "Back to the draft" } }
        },
    )
}
