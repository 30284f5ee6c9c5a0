//! The SVN import page of a draft: the form, and each import with what it added and skipped.

use atr_core::model::TaskStatus;
use atr_storage::quarantine::QuarantineStatus;
use maud::{Markup, html};
use serde_json::Value;

use super::{Chrome, refreshing, time};
use crate::handlers::svn::{ImportView, SvnSettings};

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The outcome of one import.
fn outcome(base: &str, i: &ImportView) -> Markup {
    let t = &i.task;
    let r = t.result.as_ref();
    let field = |k: &str| r.and_then(|r| r.get(k));
    html! {
        @match t.status {
            TaskStatus::Queued => p { "Waiting for a worker." },
            TaskStatus::Active => p { "Exporting now." },
            TaskStatus::Failed => p role="alert" class="flash error" { "Failed: " (t.error.as_deref().unwrap_or("no reason was recorded")) },
            TaskStatus::Completed => {
                @if field("status").and_then(Value::as_str) == Some("failed") {
                    p role="alert" class="flash error" { "Failed: " (field("error").and_then(Value::as_str).unwrap_or("no reason was recorded")) }
                } @else {
                    p {
                        "Exported SVN revision " (field("svn_revision").map(Value::to_string).unwrap_or_default()) ": "
                        @match field("outcome").and_then(Value::as_str) {
                            Some("revision") => {
                                @let n = field("revision_number").and_then(Value::as_str).unwrap_or("?");
                                "the files are revision " a href={ "/compose/" (base) } { (n) } " of the draft, now being checked."
                            }
                            Some("quarantined") => @match &i.quarantined {
                                Some(q) if q.status == QuarantineStatus::Accepted => {
                                    "the archives passed validation; the files are revision "
                                    a href={ "/compose/" (base) } { (q.revision_number.map(|n| n.to_string()).unwrap_or_default()) } " of the draft."
                                }
                                Some(q) if q.status == QuarantineStatus::Failed => {
                                    span class="error" { "the archives failed validation, so nothing was added: " (q.error.as_deref().unwrap_or("")) }
                                }
                                _ => "the archives are being validated; the files join a new revision when they pass.",
                            },
                            _ => "nothing was added.",
                        }
                    }
                    @let added = strings(field("added"));
                    @let replaced = strings(field("replaced"));
                    @if !added.is_empty() {
                        p { "Added (" (added.len()) "):" }
                        ul { @for a in &added { li { code { (a) } } } }
                    }
                    @if !replaced.is_empty() {
                        p { "Replaced (" (replaced.len()) "):" }
                        ul { @for a in &replaced { li { code { (a) } } } }
                    }
                    @if let Some(skipped) = field("skipped").and_then(Value::as_array).filter(|s| !s.is_empty()) {
                        p { "Skipped (" (skipped.len()) "):" }
                        ul {
                            @for s in skipped {
                                li { code { (s.get("path").and_then(Value::as_str).unwrap_or("")) } ": " (s.get("reason").and_then(Value::as_str).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The import form and the release's imports, newest first (refreshing while one runs).
pub(crate) fn page(
    chrome: &Chrome<'_>,
    project: &str,
    version: &str,
    settings: &SvnSettings,
    imports: &[ImportView],
) -> Markup {
    let base = format!("{project}/{version}");
    let ongoing = imports.iter().any(|i| i.task.status.is_ongoing());
    let pending_validation =
        imports.iter().any(|i| i.quarantined.as_ref().is_some_and(|q| q.status == QuarantineStatus::Pending));
    refreshing(
        chrome,
        &format!("Import from SVN · {project} {version}"),
        ongoing || pending_validation,
        html! {
            h1 { "Import from SVN into " (project) " " (version) }
            p {
                "The files of an SVN directory become one new revision of the draft, checked like any upload. "
                "Allowed locations: "
                @for (n, prefix) in settings.policy.allowed_prefixes.iter().enumerate() {
                    @if n > 0 { ", " }
                    code { (prefix) }
                }
                @if settings.policy.allow_file_urls { " and, in test mode, " code { "file://" } " URLs" }
                ". At most " (settings.limits.max_bytes / (1024 * 1024)) " MiB and " (settings.limits.max_files) " files, exported within " (settings.limits.time_limit_secs) " seconds."
            }
            form method="post" action={ "/draft/svn/" (base) } {
                (chrome.csrf_field())
                p {
                    label for="url" { "SVN URL" } br;
                    input id="url" name="url" type="url" size="80" required placeholder="https://dist.apache.org/repos/dist/dev/<project>/<version>/";
                }
                p {
                    label for="revision" { "Revision" } br;
                    input id="revision" name="revision" value="HEAD" size="12";
                }
                p {
                    label for="target" { "Target directory in the draft (optional)" } br;
                    input id="target" name="target" size="40";
                }
                p {
                    input id="overwrite" name="overwrite" type="checkbox" value="on";
                    " " label for="overwrite" { "Overwrite existing files (otherwise files the draft has already are skipped)" }
                }
                p { button type="submit" { "Import" } }
            }
            h2 { "Imports" }
            @if imports.is_empty() {
                p { "No import yet." }
            }
            @for i in imports {
                section {
                    h3 {
                        "Task " (i.task.id) ": "
                        code { (i.task.spec.task_args.get("url").and_then(Value::as_str).unwrap_or("")) }
                        " at " (i.task.spec.task_args.get("revision").and_then(Value::as_str).unwrap_or("HEAD"))
                    }
                    p { "Requested by " (i.task.spec.asf_uid.as_ref().map(|u| u.as_str()).unwrap_or("the system")) " at " (time(i.task.added)) "." }
                    (outcome(&base, i))
                }
            }
            p { a href={ "/compose/" (base) } { "Back to the draft" } }
        },
    )
}
