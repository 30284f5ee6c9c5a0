//! Who owns a download folder: the rule announce applies before it writes a byte of the download area.
//!
//! Every announced release owns its published files. Announce must never replace them, so a later
//! release cannot swap the bytes of an earlier one under its users. Storage looks at the disk and
//! describes what it found as a [`Site`]; [`judge`] decides. The committee's own download folder
//! (suffix `/`) is shared by design — Apache projects keep every release side by side there — so
//! only collisions of file names count in it; any folder below it belongs to the releases whose files
//! it holds.
//!
//! ```
//! use atr_core::publish::{Occupant, Site, judge};
//! let site = Site {
//!     release: "foo-2.0".into(),
//!     folder: "foo-1.0".into(),
//!     enclosing: vec![],
//!     targets: vec![("foo-1.0/foo.tar.gz".into(), Occupant::Release("foo-1.0".into()))],
//! };
//! let refused = judge(&site, true).unwrap_err();
//! assert!(refused.to_string().contains("published file of foo-1.0"));
//! ```

/// What is at a path that announce would write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Occupant {
    /// Nothing: the path is free.
    Nothing,
    /// A directory.
    Directory,
    /// A published file of another announced release (named `<project>-<version>`).
    Release(String),
    /// A file no announced release owns (put there by other means, or left over).
    Unowned,
}

/// What storage found where a release would be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The release being announced, `<project>-<version>`.
    pub release: String,
    /// The target folder relative to the committee's download area; empty for the area itself.
    pub folder: String,
    /// Published files of other releases that lie in a folder above the target (below the area's
    /// root) or inside the target when it is not the root: `(path relative to the area, release)`.
    pub enclosing: Vec<(String, String)>,
    /// Each file announce would write (relative to the area) and what is there now.
    pub targets: Vec<(String, Occupant)>,
}

/// Why a release cannot be published where it was asked to go.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The target folder holds published files of another release (`inside` false), or lies in a
    /// folder that does (`inside` true).
    ForeignFolder {
        /// The release being announced.
        release: String,
        /// The target folder, `/…/`.
        folder: String,
        /// Whether the target lies inside the other release's folder (else it holds its files).
        inside: bool,
        /// The release that owns it.
        other: String,
        /// One of its files.
        path: String,
    },
    /// A target file is a published file of another release.
    ForeignFile {
        /// The release being announced.
        release: String,
        /// The file.
        path: String,
        /// Its owner.
        other: String,
    },
    /// A target file exists and belongs to no release, and the policy does not allow replacing it.
    Unowned {
        /// The file.
        path: String,
    },
    /// A directory stands where a file would go.
    Directory {
        /// The path.
        path: String,
    },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::ForeignFolder { release, folder, inside, other, path } => {
                let relation =
                    if *inside { "lies inside the folder of" } else { "holds the published files of" };
                write!(
                    f,
                    "the download folder `{folder}` {relation} {other} (`{path}`); each release owns its folder, so announce {release} into a folder of its own, such as `/{release}/`"
                )
            }
            Conflict::ForeignFile { release, path, other } => write!(
                f,
                "`{path}` in the download area is a published file of {other}, and announce never replaces another release's files; announce {release} into a folder of its own, such as `/{release}/`"
            ),
            Conflict::Unowned { path } => write!(
                f,
                "`{path}` is already in the download area and belongs to no announced release; remove it, choose another download folder, or allow replacing such files in the release policy"
            ),
            Conflict::Directory { path } => write!(
                f,
                "`{path}` is a directory in the download area, where the release has a file; remove it or choose another download folder"
            ),
        }
    }
}

impl std::error::Error for Conflict {}

/// Decides whether the release may be published at `site`. `replace_unowned` is the release
/// policy's `replace_download_files`: it lets announce replace files that belong to no announced
/// release, never another release's.
pub fn judge(site: &Site, replace_unowned: bool) -> Result<(), Conflict> {
    let held = |(path, _): &&(String, String)| path.starts_with(&format!("{}/", site.folder));
    if let Some((path, other)) = site.enclosing.iter().find(held).or(site.enclosing.first()) {
        return Err(Conflict::ForeignFolder {
            release: site.release.clone(),
            folder: format!("/{}/", site.folder),
            inside: !path.starts_with(&format!("{}/", site.folder)),
            other: other.clone(),
            path: path.clone(),
        });
    }
    for (path, occupant) in &site.targets {
        match occupant {
            Occupant::Nothing => {}
            Occupant::Directory => return Err(Conflict::Directory { path: path.clone() }),
            Occupant::Release(other) => {
                return Err(Conflict::ForeignFile {
                    release: site.release.clone(),
                    path: path.clone(),
                    other: other.clone(),
                });
            }
            Occupant::Unowned if replace_unowned => {}
            Occupant::Unowned => return Err(Conflict::Unowned { path: path.clone() }),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(folder: &str, enclosing: &[(&str, &str)], targets: &[(&str, Occupant)]) -> Site {
        Site {
            release: "foo-2.0".into(),
            folder: folder.into(),
            enclosing: enclosing.iter().map(|(p, r)| (p.to_string(), r.to_string())).collect(),
            targets: targets.iter().map(|(p, o)| (p.to_string(), o.clone())).collect(),
        }
    }

    #[test]
    fn a_free_folder_is_accepted() {
        assert_eq!(judge(&site("foo-2.0", &[], &[("foo-2.0/a.tar.gz", Occupant::Nothing)]), false), Ok(()));
    }

    #[test]
    fn another_releases_file_is_never_replaced() {
        for replace in [false, true] {
            let e = judge(&site("", &[], &[("a.tar.gz", Occupant::Release("foo-1.0".into()))]), replace)
                .unwrap_err();
            assert!(e.to_string().contains("published file of foo-1.0"), "{}", e.to_string());
            assert!(e.to_string().contains("`/foo-2.0/`"), "{}", e.to_string());
        }
    }

    #[test]
    fn unowned_files_are_replaced_only_when_the_policy_says_so() {
        let s = site("foo-2.0", &[], &[("foo-2.0/README", Occupant::Unowned)]);
        assert!(judge(&s, false).unwrap_err().to_string().contains("release policy"));
        assert_eq!(judge(&s, true), Ok(()));
    }

    #[test]
    fn folders_of_other_releases_are_refused_both_ways() {
        let holds = judge(&site("foo-1.0", &[("foo-1.0/x.tar.gz", "foo-1.0")], &[]), true).unwrap_err();
        assert!(
            holds.to_string().contains("`/foo-1.0/` holds the published files of foo-1.0"),
            "{}",
            holds.to_string()
        );
        let inside = judge(&site("foo-1.0/sub", &[("foo-1.0/x.tar.gz", "foo-1.0")], &[]), true).unwrap_err();
        assert!(inside.to_string().contains("`/foo-1.0/sub/` lies inside the folder of foo-1.0"), "{inside}");
    }

    #[test]
    fn a_directory_where_a_file_goes_is_refused() {
        let e = judge(&site("", &[], &[("a", Occupant::Directory)]), true).unwrap_err();
        assert!(e.to_string().contains("is a directory"));
    }
}
