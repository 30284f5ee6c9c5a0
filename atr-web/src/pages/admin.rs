//! Admin pages: every release, and the task queue.

use atr_core::model::{Release, Task};
use maud::{Markup, html};

use super::{Chrome, layout, release_url, time};

/// Every release, by phase.
pub(crate) fn releases(chrome: &Chrome<'_>, releases: &[Release]) -> Markup {
    layout(
        chrome,
        "All releases",
        html! {
            h1 { "All releases" } p { a href="/admin/tasks" { "Tasks" } }
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
