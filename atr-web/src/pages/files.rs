//! Pages about files: the per-file check report, the file viewer, revisions and their diff.

use atr_core::ids::RevisionNumber;
use atr_core::model::{Release, Revision};
use maud::{Markup, html};

use super::{Chrome, layout, time};
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
    layout(
        chrome,
        &format!("Report: {}", v.path),
        html! {
            @if v.ongoing > 0 { meta http-equiv="refresh" content="5"; }
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

/// The file viewer.
pub(crate) fn file(chrome: &Chrome<'_>, v: &FileView) -> Markup {
    let r = &v.release;
    layout(
        chrome,
        v.path.as_str(),
        html! {
            h1 { code { (v.path) } }
            p { (r.key()) " revision " (v.revision) " · " (v.size) " bytes" @if (v.shown as u64) < v.size { " (first " (v.shown) " bytes shown)" } }
            @match &v.content {
                FileContent::Text(text) => pre { (text) },
                FileContent::Hex(lines) => pre class="hex" { @for l in lines { (l) "\n" } },
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
            }
        },
    )
}
