//! Pages about files: the per-file check report, the file viewer, revisions and their diff.

use atr_core::ids::RevisionNumber;
use atr_core::model::{Release, Revision};
use maud::{Markup, html};

use super::{Chrome, layout, refreshing, time};
use crate::views::{Diff, FileContent, FileView, ReportRow, ReportView};

fn result_rows(rows: &[ReportRow]) -> Markup {
    html! {
        table {
            thead { tr { th { "Status" } th { "Checker" } th { "Member" } th { "Message" } } }
            tbody {
                @for row in rows {
                    @let r = &row.result;
                    tr {
                        td class=(r.status.as_str()) { (r.status) }
                        td { code { (r.checker.name) } }
                        td { @if let Some(m) = &r.member_rel_path { code { (m) } } }
                        td {
                            (r.message)
                            @if !r.data.is_null() { details { summary { "Details" } pre { (serde_json::to_string_pretty(&r.data).unwrap_or_default()) } } }
                        }
                    }
                }
            }
        }
    }
}

/// The check report of one file.
pub(crate) fn report(chrome: &Chrome<'_>, v: &ReportView) -> Markup {
    let r = &v.release;
    let base = format!("{}/{}", r.project_key, r.version_key);
    refreshing(
        chrome,
        &format!("Report: {}", v.path),
        v.ongoing > 0,
        html! {
            h1 { "Check report: " code { (v.path) } }
            p { (r.key()) " revision " (v.revision) " · " (v.size) " bytes · class " (v.class) " · " a href={ "/compose/" (base) } { "Back to the draft" } }
            @if v.ongoing > 0 { p role="status" { (v.ongoing) " checks of this file are still running; this page refreshes by itself." } }
            h2 { "Results by checker" }
            @if v.by_checker.is_empty() { p { "No results about the file itself." } }
            @for (checker, rows) in &v.by_checker {
                h3 { code { (checker) } }
                (result_rows(rows))
            }
            h2 { "Results by archive member" }
            @if v.by_member.is_empty() { p { "No results about archive members." } }
            @for (member, rows) in &v.by_member {
                h3 { code { (member) } }
                (result_rows(rows))
            }
            h2 { "Ignored results" }
            @if v.ignored.is_empty() { p { "None." } } @else { (result_rows(&v.ignored)) }
        },
    )
}

/// The most archive members the viewer lists.
const MAX_MEMBERS: usize = 5000;

/// The file viewer.
pub(crate) fn file(chrome: &Chrome<'_>, v: &FileView) -> Markup {
    let r = &v.release;
    layout(
        chrome,
        v.path.as_str(),
        html! {
            h1 { code { (v.path) } }
            p { (r.key()) " revision " (v.revision) " · " (v.size) " bytes" @if (v.shown as u64) < v.size { " (first " (v.shown) " bytes shown)" } }
            @if let Some(listing) = &v.archive {
                h2 { "Archive members (" (listing.members.len()) ")" }
                @if !listing.complete { p class="concern" { "The archive could not be read to its end; the listing is partial. Its check report says why." } }
                table {
                    thead { tr { th { "Path" } th { "Kind" } th { "Size" } } }
                    tbody {
                        @for m in listing.members.iter().take(MAX_MEMBERS) {
                            tr { td { code { (m.path) } @if let Some(t) = &m.link_target { " → " code { (t) } } } td { (format!("{:?}", m.kind).to_lowercase()) } td { (m.size) } }
                        }
                    }
                }
                @if listing.members.len() > MAX_MEMBERS { p { "First " (MAX_MEMBERS) " members shown." } }
            } @else {
                @match &v.content {
                    FileContent::Text(text) => pre { (text) },
                    FileContent::Hex(lines) => pre class="hex" { @for l in lines { (l) "\n" } },
                }
            }
        },
    )
}

/// The revision history, with a form to compare two revisions and the diff if asked.
pub(crate) fn revisions(
    chrome: &Chrome<'_>,
    release: &Release,
    revisions: &[Revision],
    diff: Option<(RevisionNumber, RevisionNumber, &Diff)>,
) -> Markup {
    let base = format!("{}/{}", release.project_key, release.version_key);
    layout(
        chrome,
        &format!("Revisions of {}", release.key()),
        html! {
            h1 { "Revisions of " (release.key()) }
            p { a href={ "/compose/" (base) } { "Back to the draft" } }
            table {
                thead { tr { th { "Number" } th { "By" } th { "When" } th { "Phase" } th { "Description" } } }
                tbody {
                    @for r in revisions.iter().rev() {
                        tr { td { (r.number) } td { (r.asfuid) } td { (time(r.created)) } td { (r.phase.label()) } td { (r.description) } }
                    }
                }
            }
            h2 { "Compare two revisions" }
            form method="get" action={ "/revisions/" (base) } {
                label { "From " input name="from" size="6" value=[diff.map(|d| d.0.to_string())]; }
                " "
                label { "to " input name="to" size="6" value=[diff.map(|d| d.1.to_string())]; }
                " " button type="submit" { "Compare" }
            }
            @if let Some((a, b, d)) = diff {
                h3 { "From " (a) " to " (b) }
                p { (d.added.len()) " added, " (d.removed.len()) " removed, " (d.changed.len()) " changed, " (d.unchanged) " unchanged." }
                @for (label, list) in [("Added", &d.added), ("Removed", &d.removed), ("Changed", &d.changed)] {
                    @if !list.is_empty() {
                        h4 { (label) }
                        ul { @for p in list { li { code { (p) } } } }
                    }
                }
                @for (archive, m) in &d.members {
                    h4 { "Inside " code { (archive) } }
                    p { (m.added.len()) " members added, " (m.removed.len()) " removed, " (m.changed.len()) " changed." }
                    @for (label, list) in [("Added", &m.added), ("Removed", &m.removed), ("Changed", &m.changed)] {
                        @if !list.is_empty() { p { (label) ": " @for (i, p) in list.iter().enumerate() { @if i > 0 { ", " } code { (p) } } } }
                    }
                }
            }
        },
    )
}
