//! The ignore rules of a project: list, add, edit, delete.

use atr_core::model::{CheckResultIgnore, Project};
use maud::{Markup, html};

use super::{Chrome, layout, time};

fn rule_fields(r: Option<&CheckResultIgnore>) -> Markup {
    let v = |f: fn(&CheckResultIgnore) -> Option<String>| r.and_then(f).unwrap_or_default();
    html! {
        label { "Checker " input name="checker_glob" value=(v(|r| r.checker_glob.clone())) placeholder="atr.tasks.checks.license.*"; } " "
        label { "File " input name="primary_rel_path_glob" value=(v(|r| r.primary_rel_path_glob.clone())) placeholder="*.tar.gz"; } " "
        label { "Member " input name="member_rel_path_glob" value=(v(|r| r.member_rel_path_glob.clone())); } " "
        label { "Message " input name="message_glob" value=(v(|r| r.message_glob.clone())); } " "
        label { "Status "
            select name="status" {
                @let current = r.and_then(|r| r.status).map(|s| s.as_str()).unwrap_or("");
                @for s in ["", "concern", "exception", "suggestion"] {
                    option value=(s) selected[s == current] { @if s.is_empty() { "any" } @else { (s) } }
                }
            }
        } " "
        label { "Expires (YYYY-MM-DD, optional) " input name="expires" value=(r.and_then(|r| r.expires).map(|t| t.to_string()[..10].to_owned()).unwrap_or_default()); } br;
        label { "Reason (required) " input name="reason" required size="60" value=(r.map(|r| r.reason.clone()).unwrap_or_default()); }
    }
}

/// The ignores page.
pub(crate) fn ignores(
    chrome: &Chrome<'_>,
    project: &Project,
    rules: &[CheckResultIgnore],
    can_edit: bool,
) -> Markup {
    let base = format!("/ignores/{}", project.key);
    layout(
        chrome,
        "Ignored check results",
        html! {
            h1 { "Ignored check results of " (project.name) }
            p { "Rules hide matching concern, exception and suggestion results (never blockers). Patterns are globs: " code { "*" } " any text, " code { "?" } " one character, a leading " code { "!" } " negates." }
            @if rules.is_empty() { p { "No rules." } }
            @for r in rules {
                @let id = r.id.unwrap_or_default().to_string();
                section {
                    h2 { "Rule " (id) }
                    p { "By " (r.asf_uid) " at " (time(r.created)) @if let Some(e) = r.expires { ", expires " (time(e)) } ": " em { (r.reason) } }
                    @if can_edit {
                        form method="post" action={ (base) "/update" } {
                            (chrome.csrf_field())
                            input type="hidden" name="id" value=(id);
                            (rule_fields(Some(r)))
                            " " button type="submit" { "Save" }
                        }
                        (chrome.button_form(&format!("{base}/delete"), "Delete", &[("id", &id)]))
                    } @else {
                        p { "Checker " code { (r.checker_glob.as_deref().unwrap_or("*")) } ", file " code { (r.primary_rel_path_glob.as_deref().unwrap_or("*")) } }
                    }
                }
            }
            @if can_edit {
                h2 { "Add a rule" }
                form method="post" action={ (base) "/add" } {
                    (chrome.csrf_field())
                    (rule_fields(None))
                    " " button type="submit" { "Add the rule" }
                }
            }
        },
    )
}
