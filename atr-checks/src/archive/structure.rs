//! The root-directory rule: exactly one root directory named like the archive.

use std::collections::BTreeMap;

use super::walk::{MemberInfo, MemberKind};

/// Suffixes an archive name may carry that its root directory lacks.
pub const ROOT_SUFFIXES: [&str; 4] = ["-source-release", "-source", "-src", "-bin"];

/// What the top level of an archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Layout {
    /// No members at all.
    Empty,
    /// One directory and nothing beside it.
    SingleRoot { root: String, symlink: bool },
    /// Several top-level directories (and maybe files).
    Several { dirs: Vec<String>, files: Vec<String> },
    /// One directory with files beside it.
    FilesBeside { root: String, files: Vec<String> },
    /// Only files at the top level.
    NoRoot { files: Vec<String> },
}

/// AppleDouble and macOS metadata are ignored, as ATR does.
fn is_metadata(path: &str) -> bool {
    path.split('/').any(|s| s.starts_with("._")) || path == "__MACOSX" || path.starts_with("__MACOSX/")
}

/// Works out the top-level layout from the member listing.
pub(crate) fn layout(listing: &[MemberInfo]) -> Layout {
    // name → (is a directory, is a symlink)
    let mut top: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for m in listing {
        if m.path.is_empty() || is_metadata(&m.path) {
            continue;
        }
        let (first, rest) = match m.path.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (m.path.as_str(), None),
        };
        let e = top.entry(first).or_insert((false, false));
        if rest.is_some() || m.kind == MemberKind::Directory {
            e.0 = true;
        }
        if rest.is_none() && m.kind == MemberKind::Symlink {
            e.1 = true;
        }
    }
    if top.is_empty() {
        return Layout::Empty;
    }
    let dirs: Vec<String> = top.iter().filter(|(_, (d, s))| *d || *s).map(|(n, _)| (*n).to_owned()).collect();
    let files: Vec<String> =
        top.iter().filter(|(_, (d, s))| !*d && !*s).map(|(n, _)| (*n).to_owned()).collect();
    match (dirs.len(), files.is_empty()) {
        (0, _) => Layout::NoRoot { files },
        (1, true) => {
            let root = dirs[0].clone();
            let symlink = top.get(root.as_str()).is_some_and(|(_, s)| *s);
            Layout::SingleRoot { root, symlink }
        }
        (1, false) => Layout::FilesBeside { root: dirs[0].clone(), files },
        _ => Layout::Several { dirs, files },
    }
}

/// The root directory names accepted for an archive whose name without extension is `stem`.
pub fn accepted_roots(stem: &str) -> Vec<String> {
    let mut names = vec![stem.to_owned()];
    for suffix in ROOT_SUFFIXES {
        if let Some(base) = stem.strip_suffix(suffix)
            && !base.is_empty()
        {
            names.push(base.to_owned());
        }
    }
    names
}

/// Whether an npm-pack `package.json` (name and version) matches the archive's name without extension.
pub fn npm_matches(stem: &str, package_json: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(package_json) else { return false };
    let (Some(name), Some(version)) = (v["name"].as_str(), v["version"].as_str()) else { return false };
    let flat = name.trim_start_matches('@').replace('/', "-");
    stem == format!("{flat}-{version}")
        || stem == format!("{}-{version}", name.rsplit('/').next().unwrap_or(name))
}

/// Lists at most `n` names, then "and K more".
pub(crate) fn list(names: &[String], n: usize) -> String {
    let mut s = names.iter().take(n).map(|x| format!("`{x}`")).collect::<Vec<_>>().join(", ");
    if names.len() > n {
        s.push_str(&format!(" and {} more", names.len() - n));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(path: &str, kind: MemberKind) -> MemberInfo {
        MemberInfo { path: path.into(), kind, size: 0, mode: 0, link_target: None, blake3: None }
    }

    #[test]
    fn layouts() {
        use MemberKind::*;
        assert_eq!(layout(&[]), Layout::Empty);
        assert_eq!(
            layout(&[m("r", Directory), m("r/a", File), m("._r", File)]),
            Layout::SingleRoot { root: "r".into(), symlink: false }
        );
        assert_eq!(
            layout(&[m("r/a", File), m("x", File)]),
            Layout::FilesBeside { root: "r".into(), files: vec!["x".into()] }
        );
        assert_eq!(
            layout(&[m("a/x", File), m("b/y", File)]),
            Layout::Several { dirs: vec!["a".into(), "b".into()], files: vec![] }
        );
        assert_eq!(layout(&[m("x", File)]), Layout::NoRoot { files: vec!["x".into()] });
        assert_eq!(layout(&[m("r", Symlink)]), Layout::SingleRoot { root: "r".into(), symlink: true });
    }

    #[test]
    fn names() {
        assert_eq!(accepted_roots("apache-foo-1.0-src"), vec!["apache-foo-1.0-src", "apache-foo-1.0"]);
        assert_eq!(accepted_roots("foo-1.0-source-release"), vec!["foo-1.0-source-release", "foo-1.0"]);
        assert!(npm_matches("foo-1.2.3", br#"{"name":"foo","version":"1.2.3"}"#));
        assert!(npm_matches("scope-foo-1.2.3", br#"{"name":"@scope/foo","version":"1.2.3"}"#));
        assert!(!npm_matches("foo-1.2.4", br#"{"name":"foo","version":"1.2.3"}"#));
        assert_eq!(list(&["a".into(), "b".into(), "c".into()], 2), "`a`, `b` and 1 more");
    }
}
