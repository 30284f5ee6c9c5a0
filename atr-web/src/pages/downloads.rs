//! The downloads area's directory listings and the public page of an announced release.

use atr_core::model::{Project, Release};
use atr_core::path::RelPath;
use maud::{Markup, html};

use super::{Chrome, layout, time};

/// One entry of a download directory.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) is_dir: bool,
    pub(crate) size: u64,
}

/// A directory of the downloads area (`dir` is empty for the top).
pub(crate) fn listing(chrome: &Chrome<'_>, dir: &str, entries: &[Entry]) -> Markup {
    let prefix = if dir.is_empty() { "/downloads/".to_owned() } else { format!("/downloads/{dir}/") };
    let title = format!("Index of {prefix}");
    layout(
        chrome,
        &title,
        html! {
            h1 { (title) }
            @if !dir.is_empty() {
                @let parent = dir.rsplit_once('/').map_or("", |(p, _)| p);
                p { a href={ "/downloads/" (parent) } { "Parent directory" } }
            }
            @if entries.is_empty() {
                p { "Nothing is published here yet." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Size" } } }
                    tbody { @for e in entries {
                        tr {
                            td { a href={ (prefix) (e.name) @if e.is_dir { "/" } } { (e.name) @if e.is_dir { "/" } } }
                            td { @if e.is_dir { "-" } @else { (e.size) } }
                        }
                    } }
                }
            }
        },
    )
}

/// A released file with its digest and the keys that signed it.
#[derive(Debug)]
pub(crate) struct ReleaseFile {
    pub(crate) path: RelPath,
    pub(crate) sha512: String,
    pub(crate) signers: Vec<String>,
}

/// What the public page of a release shows.
#[derive(Debug)]
pub(crate) struct ReleasePage {
    pub(crate) release: Release,
    pub(crate) project: Project,
    pub(crate) files: Vec<ReleaseFile>,
    /// The vote's resolution as recorded.
    pub(crate) vote: Option<String>,
}

/// The public page of an announced release.
pub(crate) fn release(chrome: &Chrome<'_>, page: &ReleasePage) -> Markup {
    let r = &page.release;
    let title = format!("{} {}", page.project.name, r.version_key);
    layout(
        chrome,
        &title,
        html! {
            h1 { (title) }
            p { "Announced " @if let Some(t) = r.released { (time(t)) } "." }
            p { "Vote: " @match &page.vote { Some(v) => strong { (v) }, None => "no vote record" } }
            h2 { "Files" }
            table {
                thead { tr { th { "File" } th { "SHA-512" } th { "Signed by" } } }
                tbody { @for f in &page.files {
                    tr {
                        td { code { (f.path) } }
                        td { code class="digest" { (f.sha512) } }
                        td { @for s in &f.signers { (s) br; } }
                    }
                } }
            }
            p { a href={ "/downloads/" (page.project.committee_key) "/" } { "Downloads of the " (page.project.committee_key) " committee" } }
        },
    )
}
