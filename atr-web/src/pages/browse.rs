//! Pages to find things: home/dashboard, committees, projects (with the policy form), start release.

use atr_core::model::{Committee, MissingSbom, Project, Release, ReleasePhase, VoteMode};
use maud::{Markup, html};

use super::{Chrome, layout, release_url, time};
use crate::views::{CommitteeView, ProjectReleases, ProjectView};

fn releases_by_phase(releases: &[Release]) -> Markup {
    html! {
        @for phase in ReleasePhase::ALL {
            @let in_phase: Vec<&Release> = releases.iter().filter(|r| r.phase == *phase).collect();
            @if !in_phase.is_empty() {
                p {
                    strong { (phase.label()) ": " }
                    @for (i, r) in in_phase.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(release_url(r)) { (r.version_key) }
                    }
                }
            }
        }
    }
}

/// The home page: for a logged-in user, their projects with releases by phase.
pub(crate) fn home(chrome: &Chrome<'_>, mine: &[ProjectReleases]) -> Markup {
    layout(
        chrome,
        "Home",
        html! {
            h1 { "Trusted Releases" }
            @if chrome.actor.uid.is_none() {
                p { "Compose, check, vote on and publish releases. " a href="/login" { "Log in" } " to see your projects." }
            } @else if mine.is_empty() {
                p { "You are not a committer of any project yet. Browse the " a href="/committees" { "committees" } "." }
            } @else {
                h2 { "Your projects" }
                @for pr in mine {
                    section {
                        h3 { a href={ "/projects/" (pr.project.key) } { (pr.project.name) } }
                        @if pr.releases.is_empty() { p { "No releases yet." } }
                        (releases_by_phase(&pr.releases))
                        p { a href={ "/start/" (pr.project.key) } { "Start a release" } }
                    }
                }
            }
        },
    )
}

/// The committee directory.
pub(crate) fn committees(chrome: &Chrome<'_>, committees: &[Committee]) -> Markup {
    layout(
        chrome,
        "Committees",
        html! {
            h1 { "Committees" }
            ul {
                @for c in committees {
                    li { a href={ "/committees/" (c.key) } { (c.display_name()) } " (" (c.key) ")" }
                }
            }
        },
    )
}

/// One committee: its projects, members and signing keys.
pub(crate) fn committee(chrome: &Chrome<'_>, v: &CommitteeView) -> Markup {
    let c = &v.committee;
    layout(
        chrome,
        &c.display_name(),
        html! {
            h1 { (c.display_name()) }
            h2 { "Projects" }
            ul { @for p in &v.projects { li { a href={ "/projects/" (p.key) } { (p.name) } } } }
            h2 { "People" }
            p { "Members: " (c.members.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")) }
            p { "Committers: " (c.committers.iter().map(|u| u.as_str()).collect::<Vec<_>>().join(", ")) }
            h2 { "Signing keys" }
            @if v.keys.is_empty() { p { "No keys yet." } }
            ul { @for k in &v.keys { li { a href={ "/keys/details/" (k.fingerprint.as_str()) } { code { (k.fingerprint.to_uppercase()) } } " " (k.primary_declared_uid.as_deref().unwrap_or("")) } } }
            p { a href={ "/keys/export/" (c.key) } { "KEYS file" } }
        },
    )
}

/// The project directory.
pub(crate) fn projects(chrome: &Chrome<'_>, projects: &[Project]) -> Markup {
    layout(
        chrome,
        "Projects",
        html! {
            h1 { "Projects" }
            ul { @for p in projects { li { a href={ "/projects/" (p.key) } { (p.name) } " (" (p.status) ")" } } }
        },
    )
}

/// The vote modes as the policy form offers them.
const VOTE_MODES: [(VoteMode, &str); 3] = [
    (VoteMode::Trusted, "On the platform: members vote in the browser or with the API, tallied live"),
    (VoteMode::Email, "By mail: members reply to the vote thread on the mailing list"),
    (VoteMode::Manual, "Elsewhere: the release manager records the outcome and the thread links"),
];

/// A project: metadata, releases by phase, and the release policy form (for committee members).
pub(crate) fn project(chrome: &Chrome<'_>, v: &ProjectView, can_edit: bool) -> Markup {
    let p = &v.project;
    let pol = &p.policy;
    layout(
        chrome,
        &p.name,
        html! {
            h1 { (p.name) }
            p { (p.description) }
            table {
                tr { th { "Key" } td { (p.key) } }
                tr { th { "Committee" } td { a href={ "/committees/" (v.committee.key) } { (v.committee.display_name()) } } }
                tr { th { "Status" } td { (p.status) } }
                tr { th { "Created" } td { (time(p.created)) " by " (p.created_by) } }
            }
            h2 { "Releases" }
            @if v.releases.is_empty() { p { "No releases yet." } }
            (releases_by_phase(&v.releases))
            p { a href={ "/start/" (p.key) } { "Start a release" } " · " a href={ "/ignores/" (p.key) } { "Ignored check results" } }
            h2 { "Release policy" }
            @if can_edit {
                form method="post" action={ "/projects/" (p.key) "/policy" } {
                    (chrome.csrf_field())
                    p {
                        label {
                            "How the committee votes" br;
                            select name="vote_mode" {
                                @for (m, what) in VOTE_MODES {
                                    option value=(m.as_str()) selected[m == pol.vote_mode] { (what) }
                                }
                            }
                        }
                    }
                    p { label { "Vote mailing lists (one per line)" br; textarea name="mailto_addresses" rows="2" cols="60" { (pol.mailto_addresses.join("\n")) } } }
                    p { label { "Minimum vote duration in hours (0, or 72 to 144)" br; input name="min_hours" type="number" value=(pol.min_hours); } }
                    p { label { "Source artifact path patterns (one per line)" br; textarea name="source_artifact_paths" rows="2" cols="60" { (pol.source_artifact_paths.join("\n")) } } }
                    p { label { "Binary artifact path patterns (one per line)" br; textarea name="binary_artifact_paths" rows="2" cols="60" { (pol.binary_artifact_paths.join("\n")) } } }
                    p { label { input type="checkbox" name="strict_checking" value="on" checked[pol.strict_checking]; " Strict checking (no vote while any concern stands)" } }
                    p { label { input type="checkbox" name="replace_download_files" value="on" checked[pol.replace_download_files]; " Announce may replace files in the download folder that no announced release owns (another release's files are never replaced)" } }
                    p {
                        label {
                            "Missing SBOM (from the next revision on): a source archive without <archive>.cdx.json beside it is" br;
                            select name="missing_sbom_status" {
                                @for m in MissingSbom::ALL {
                                    option value=(m.as_str()) selected[*m == pol.missing_sbom_status] { (m.describe()) }
                                }
                            }
                        }
                    }
                    p { label { "Release checklist" br; textarea name="release_checklist" rows="4" cols="60" { (pol.release_checklist) } } }
                    p { button type="submit" { "Save the release policy" } }
                }
            } @else {
                table {
                    tr { th { "Vote mode" } td { (pol.vote_mode.as_str()) } }
                    tr { th { "Vote lists" } td { (pol.mailto_addresses.join(", ")) } }
                    tr { th { "Minimum vote hours" } td { (pol.min_hours) } }
                    tr { th { "Strict checking" } td { (pol.strict_checking) } }
                    tr { th { "Missing SBOM" } td { (pol.missing_sbom_status.describe()) } }
                }
                p { "Committee members can edit the policy." }
            }
        },
    )
}

/// The start-release form.
pub(crate) fn start(chrome: &Chrome<'_>, project: &Project) -> Markup {
    layout(
        chrome,
        "Start a release",
        html! {
            h1 { "Start a release of " (project.name) }
            form method="post" action={ "/start/" (project.key) } {
                (chrome.csrf_field())
                p { label for="version" { "Version" } br; input id="version" name="version" required placeholder="1.0.0"; }
                p { button type="submit" { "Start the release" } }
            }
        },
    )
}
