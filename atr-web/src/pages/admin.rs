//! Admin pages: every release, and the task queue.

use atr_core::model::{Release, Task};
use maud::{Markup, html};

use crate::consistency::Report;

use super::{Chrome, layout, release_url, time};

/// Every release, by phase.
pub(crate) fn releases(chrome: &Chrome<'_>, releases: &[Release]) -> Markup {
    layout(
        chrome,
        "All releases",
        html! {
            h1 { "All releases" } p { a href="/admin/tasks" { "Tasks" } " · " a href="/admin/consistency" { "Consistency report" } }
            table {
                thead { tr { th { "Release" } th { "Phase" } th { "Created" } } }
                tbody { @for r in releases { tr { td { a href=(release_url(r)) { (r.key()) } } td { (r.phase.label()) } td { (time(r.created)) } } } }
            }
        },
    )
}

/// Recent tasks by status.
pub(crate) fn tasks(chrome: &Chrome<'_>, tasks: &[Task]) -> Markup {
    layout(
        chrome,
        "Tasks",
        html! {
            h1 { "Tasks" } p { a href="/admin/releases" { "All releases" } }
            table {
                thead { tr { th { "Id" } th { "Status" } th { "Type" } th { "Release" } th { "Revision" } th { "File" } th { "Added" } th { "Attempts" } th { "Error" } } }
                tbody {
                    @for t in tasks {
                        tr {
                            td { (t.id.0) } td { (t.status) } td { (t.spec.task_type) }
                            td { (t.spec.project_key.as_ref().map(|p| p.to_string()).unwrap_or_default()) "-" (t.spec.version_key.as_ref().map(|v| v.to_string()).unwrap_or_default()) }
                            td { (t.spec.revision_number.map(|n| n.to_string()).unwrap_or_default()) }
                            td { (t.spec.primary_rel_path.as_ref().map(|p| p.to_string()).unwrap_or_default()) }
                            td { (time(t.added)) } td { (t.attempts) } td { (t.error.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        },
    )
}

/// A list of problem names, or "none".
fn names(title: &str, explain: &str, items: &[String]) -> Markup {
    html! {
        h2 { (title) " (" (items.len()) ")" }
        @if items.is_empty() { p class="ok" { "None." } } @else {
            p { (explain) }
            ul { @for i in items { li { code { (i) } } } }
        }
    }
}

/// The consistency report.
pub(crate) fn consistency(chrome: &Chrome<'_>, r: &Report) -> Markup {
    layout(
        chrome,
        "Consistency report",
        html! {
            h1 { "Consistency report" }
            p { a href="/admin/releases" { "All releases" } " · " a href="/admin/tasks" { "Tasks" } }
            p role="status" {
                @if r.problems() == 0 { "No problems found; " } @else { strong { (r.problems()) " problems found; " } }
                (r.revisions_checked) " revisions of unannounced releases compared with their directories. This page only reads."
            }
            (names("Revision rows without a directory", "The database names these revisions, but unfinished/ lacks their directory: their files are lost; restore them from a backup or delete the draft.", &r.rows_without_dir))
            (names("Revision directories without a row", "These directories under unfinished/ belong to no revision row: the leftovers of an interrupted operation, safe to move away after a look.", &r.dirs_without_row))
            (names("Announced releases without files", "These releases are announced, but finished/ lacks their directory.", &r.finished_without_dir))
            h2 { "Tasks stuck active (" (r.stale_tasks.len()) ")" }
            @if r.stale_tasks.is_empty() { p class="ok" { "None." } } @else {
                p { "Their lease expired while still active: the worker died or hangs and no manager reclaimed the task. A running worker manager requeues them." }
                table {
                    thead { tr { th { "Id" } th { "Type" } th { "Release" } th { "Worker" } th { "Lease expired" } } }
                    tbody { @for t in &r.stale_tasks { tr {
                        td { (t.id) } td { (t.task_type) } td { (t.release.as_deref().unwrap_or("")) }
                        td { (t.worker.as_deref().unwrap_or("")) } td { (time(atr_core::time::Timestamp::from_unix(t.lease_expires_at))) }
                    } } }
                }
            }
            h2 { "Check results without a revision (" (r.orphan_results.len()) ")" }
            @if r.orphan_results.is_empty() { p class="ok" { "None." } } @else {
                table {
                    thead { tr { th { "Release" } th { "Missing revision" } th { "Results" } } }
                    tbody { @for o in &r.orphan_results { tr {
                        td { (o.project) "-" (o.version) } td { (format!("{:05}", o.revision)) } td { (o.count) }
                    } } }
                }
            }
            h2 { "Quarantine entries without files (" (r.quarantine_without_files.len()) ")" }
            @if r.quarantine_without_files.is_empty() { p class="ok" { "None." } } @else {
                p { "These uploads wait for validation, but quarantine/ lacks their files: validation will fail them." }
                ul { @for q in &r.quarantine_without_files { li { "quarantine/" (q.id) " (" (q.project) "-" (q.version) ", uploaded " (time(atr_core::time::Timestamp::from_unix(q.created_at))) ")" } } }
            }
            (names("Quarantine directories without an entry", "No pending entry names these directories under quarantine/ (an upload in progress shows here for a moment).", &r.quarantine_dirs_without_entry))
        },
    )
}
