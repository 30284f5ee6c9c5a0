//! The distribution records of a release: where else it is published (npm, PyPI, Maven Central,
//! Docker Hub, Artifact Hub), with the form to record one and a delete button per record.

use atr_core::ids::{ProjectKey, VersionKey};
use atr_core::model::{Distribution, DistributionPlatform, ReleasePhase};
use maud::{Markup, html};

use super::{Chrome, layout};

/// The distributions page of `project` `version` in `phase`; `can_edit` shows the forms.
pub(crate) fn page(
    chrome: &Chrome<'_>,
    project: &ProjectKey,
    version: &VersionKey,
    phase: ReleasePhase,
    records: &[Distribution],
    can_edit: bool,
) -> Markup {
    let title = format!("Distributions of {project} {version}");
    let action = format!("/distribution/record/{project}/{version}");
    let delete = format!("/distribution/delete/{project}/{version}");
    let refresh = format!("/distribution/refresh/{project}/{version}");
    let staging_phase = matches!(phase, ReleasePhase::Draft | ReleasePhase::Candidate);
    layout(
        chrome,
        &title,
        html! {
            h1 { (title) }
            p { "Phase: " strong { (phase.label()) } ". Staging records are taken while the release is composed or voted on; published ones at any time." }
            @if records.is_empty() {
                p { "No distribution is recorded." }
            } @else {
                table {
                    thead { tr { th { "Platform" } th { "Package" } th { "Version" } th { "Staging" } th { "Status" } th { "Links" } @if can_edit { th {} } } }
                    tbody { @for d in records {
                        tr {
                            td { (d.platform.display_name()) }
                            td { code { @if !d.owner_namespace.is_empty() { (d.owner_namespace) "/" } (d.package) } }
                            td { (d.version) }
                            td { @if d.staging { "yes" } @else { "no" } }
                            td {
                                @if d.pending {
                                    strong { "pending" }
                                    @if let Some(reason) = &d.pending_reason {
                                        ": " (reason)
                                    } @else {
                                        ": the registry has not answered yet, so the upload date is unknown"
                                    }
                                    @if let Some(at) = d.checked_at { " (asked " (at.to_string()) ")" }
                                } @else if let Some(at) = d.upload_date {
                                    "uploaded " (at.to_string())
                                    @if let Some(checked) = d.checked_at { " (registry asked " (checked.to_string()) ")" }
                                } @else { "recorded" }
                            }
                            td {
                                a href=(d.api_url) { "registry API" }
                                @if let Some(web) = &d.web_url { " · " a href=(web) { "web page" } }
                            }
                            @if can_edit {
                                @let key = [
                                    ("platform", d.platform.as_str()),
                                    ("owner_namespace", d.owner_namespace.as_str()),
                                    ("package", d.package.as_str()),
                                    ("version", d.version.as_str()),
                                ];
                                td {
                                    (chrome.button_form(&refresh, "Refresh metadata", &key))
                                    (chrome.button_form(&delete, "Delete", &key))
                                }
                            }
                        }
                    } }
                }
            }
            @if can_edit {
                h2 { "Record a distribution" }
                form method="post" action=(action) {
                    (chrome.csrf_field())
                    label { "Platform " select name="platform" {
                        @for p in DistributionPlatform::ALL { option value=(p.as_str()) { (p.display_name()) } }
                    } }
                    br;
                    label { "Owner namespace (organisation, group id or scope) " input type="text" name="owner_namespace"; }
                    br;
                    label { "Package " input type="text" name="package" required; }
                    br;
                    label { "Version " input type="text" name="version" required value=(version); }
                    br;
                    label { input type="checkbox" name="staging" value="1" checked[staging_phase]; " Staging registry (Artifact Hub and PyPI only)" }
                    br;
                    button type="submit" { "Record" }
                }
            }
        },
    )
}
