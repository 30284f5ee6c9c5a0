//! The compose page of a draft and its upload form.

use atr_storage::quarantine::Quarantined;
use maud::{Markup, PreEscaped, html};

use super::{Chrome, layout, refreshing, time};
use crate::views::{ComposeView, Counts, FileActionsView, FileRow};

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

/// Which part of the file list the compose page shows: files with a blocker, files with a
/// concern, or all; a page of [`FILES_PER_PAGE`] at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listing {
    /// `all`, `blockers` or `concerns`.
    pub(crate) filter: &'static str,
    /// 1-based page number.
    pub(crate) page: usize,
}

/// Files in one page of the compose page's file list (a release of 1,000 files is ten pages,
/// each a small download; the summary above counts every file).
pub(crate) const FILES_PER_PAGE: usize = 100;

impl Listing {
    /// The listing a query string asks for (`?show=blockers&page=2`); anything unknown is the
    /// first page of all files.
    pub(crate) fn from_query(show: Option<&str>, page: Option<&str>) -> Listing {
        let filter = match show {
            Some("blockers") => "blockers",
            Some("concerns") => "concerns",
            _ => "all",
        };
        let page = page.and_then(|p| p.trim().parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
        Listing { filter, page }
    }

    fn keeps(&self, f: &FileRow) -> bool {
        match self.filter {
            "blockers" => f.counts.blocks(),
            "concerns" => f.counts.concerns > 0,
            _ => true,
        }
    }

    fn url(&self, base: &str, filter: &str, page: usize) -> String {
        match (filter, page) {
            ("all", 1) => format!("/compose/{base}"),
            ("all", n) => format!("/compose/{base}?page={n}"),
            (f, 1) => format!("/compose/{base}?show={f}"),
            (f, n) => format!("/compose/{base}?show={f}&page={n}"),
        }
    }
}

/// "1 file has" or "N files have".
fn files(n: usize) -> String {
    if n == 1 { "1 file has".to_owned() } else { format!("{n} files have") }
}

/// Links to the pages of the file list (the current one as plain text).
fn pager(listing: &Listing, base: &str, pages: usize) -> Markup {
    html! {
        @if pages > 1 {
            nav aria-label="File list pages" {
                "Page: "
                @for n in 1..=pages {
                    @if n == listing.page { strong aria-current="page" { (n) } } @else { a href=(listing.url(base, listing.filter, n)) { (n) } }
                    " "
                }
            }
        }
    }
}

/// The release-specific body of the compose page: the same for every viewer with the same right
/// to edit, so it is cached (see `cache.rs`) and carries no session data (no CSRF token: actions
/// on a file are on its own page).
pub(crate) fn compose_body(v: &ComposeView, q: &Quarantine<'_>, can_edit: bool, listing: &Listing) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let title = format!("{} {}", v.project.name, r.version_key);
    let t = &v.totals;
    let shown: Vec<&FileRow> = v.files.iter().filter(|f| listing.keeps(f)).collect();
    let pages = shown.len().div_ceil(FILES_PER_PAGE).max(1);
    let page = listing.page.min(pages);
    let listing = Listing { page, ..*listing };
    let first = (page - 1) * FILES_PER_PAGE;
    let rows = shown.iter().skip(first).take(FILES_PER_PAGE);
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
        @if !v.files.is_empty() {
            h2 { "Summary" }
            table {
                thead { tr { th { "Files" } th { "Blockers" } th { "Concerns" } th { "Suggestions" } th { "Ignored" } } }
                tbody { tr { td { (v.files.len()) } (count_cells(t)) } }
            }
            p {
                @if v.files_with_blockers > 0 {
                    strong class="blocker" { (files(v.files_with_blockers)) " blockers" }
                    " (a vote cannot start until they are fixed): " a href=(listing.url(&base, "blockers", 1)) { "show them" } ". "
                } @else {
                    "No file has a blocker. "
                }
                @if v.files_with_concerns > 0 {
                    (files(v.files_with_concerns)) " concerns: " a href=(listing.url(&base, "concerns", 1)) { "show them" } "."
                }
            }
        }
        h2 { "Files" }
        @if v.files.is_empty() {
            p { "The draft has no files yet." }
        } @else {
            p {
                @for (filter, label, n) in [("all", "All files", v.files.len()), ("blockers", "With blockers", v.files_with_blockers), ("concerns", "With concerns", v.files_with_concerns)] {
                    @if filter != "all" { " · " }
                    @if filter == listing.filter { strong { (label) " (" (n) ")" } } @else { a href=(listing.url(&base, filter, 1)) { (label) " (" (n) ")" } }
                }
            }
            @if shown.is_empty() {
                p { "No file matches." }
            } @else {
                p { "Files " (first + 1) "–" ((first + FILES_PER_PAGE).min(shown.len())) " of " (shown.len()) "; the name opens the file's check report." }
                (pager(&listing, &base, pages))
                table {
                    thead { tr { th { "File" } th { "Class" } th { "Blockers" } th { "Concerns" } th { "Suggestions" } th { "Ignored" } th { "Links" } } }
                    tbody {
                        @for f in rows {
                            tr {
                                td { a href={ "/report/" (base) "/" (f.path) } { code { (f.path) } } }
                                td { (f.class) }
                                (count_cells(&f.counts))
                                td {
                                    a href={ "/file/" (base) "/" (f.path) } { "View" }
                                    @if can_edit {
                                        " · " a href={ "/draft/file/" (base) "/" (f.path) } { "Actions" }
                                        @if f.sbom_missing { " · " a href={ "/draft/file/" (base) "/" (f.path) "#sbom" } { "Generate SBOM" } }
                                    }
                                }
                            }
                        }
                    }
                }
                (pager(&listing, &base, pages))
            }
        }
        @let rc = &v.revision_counts;
        @if rc.blockers + rc.exceptions + rc.concerns + rc.suggestions + rc.ignored > 0 {
            p { "Results about the whole revision: " (rc.blockers + rc.exceptions) " blockers, " (rc.concerns) " concerns, " (rc.suggestions) " suggestions." }
        }
        p { (v.ignores) " ignore rules · " a href={ "/ignores/" (r.project_key) } { "Ignored checks" } }
    }
}

/// The compose page: the per-request chrome around the cached `body`, and the one form that
/// needs the session's token (deleting the draft).
pub(crate) fn compose(
    chrome: &Chrome<'_>,
    v: &ComposeView,
    refresh: bool,
    body: &str,
    can_edit: bool,
) -> Markup {
    let r = &v.release;
    let title = format!("{} {}", v.project.name, r.version_key);
    refreshing(
        chrome,
        &title,
        refresh,
        html! {
            (PreEscaped(body))
            @if can_edit {
                h2 { "Delete this draft" }
                (chrome.button_form(&format!("/draft/delete/{}/{}", r.project_key, r.version_key), "Delete this draft", &[]))
            }
        },
    )
}

/// The actions on one file of a draft: each a form with the session's token.
pub(crate) fn file_actions(chrome: &Chrome<'_>, v: &FileActionsView, can_edit: bool) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    let path = v.path.as_str();
    layout(
        chrome,
        &format!("Actions: {path}"),
        html! {
            h1 { "Actions on " code { (path) } }
            p {
                (r.key()) " revision " (v.revision) " · class " (v.class)
                " · " a href={ "/report/" (base) "/" (path) } { "Check report" }
                " · " a href={ "/file/" (base) "/" (path) } { "View" }
                " · " a href={ "/compose/" (base) } { "Back to the draft" }
            }
            @if !can_edit {
                p role="alert" { "The release is in the " (r.phase.label()) " phase: its files change only while it is a draft." }
            } @else {
                @if v.class.is_artifact() {
                    h2 { "Checksums" }
                    p { "Writes " code { (path) ".sha512" } " or " code { (path) ".sha256" } " beside the file, in a new revision." }
                    p {
                        (chrome.button_form(&format!("/draft/hashgen/{base}"), "Generate .sha512", &[("path", path), ("hash_type", "sha512")]))
                        " "
                        (chrome.button_form(&format!("/draft/hashgen/{base}"), "Generate .sha256", &[("path", path), ("hash_type", "sha256")]))
                    }
                }
                @if v.sbom_missing {
                    h2 id="sbom" { "SBOM" }
                    p { "Generates a CycloneDX SBOM of this source archive as " code { (path) ".cdx.json" } ", in a new revision, in the background." }
                    p { (chrome.button_form(&format!("/draft/sbom/{base}"), "Generate SBOM", &[("path", path)])) }
                }
                h2 { "Delete" }
                p { "Deletes " code { (path) } " and its " code { ".asc" } ", " code { ".sha256" } " and " code { ".sha512" } " files, in a new revision." }
                p { (chrome.button_form(&format!("/draft/delete-file/{base}"), "Delete", &[("path", path)])) }
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
