//! Release file naming rules used when finishing a release: removing release-candidate tags.
//!
//! Pure functions over [`RelPath`]s; the finish phase turns their answers into file moves.

use crate::lifecycle::FileMove;
use crate::path::RelPath;

/// `name` without release-candidate tags (`RC1`, `-rc2`, `candidate-3`): the part matching
/// `[-._]?(RC|Rc|rc|Candidate|candidate)[.-]?[0-9]+`, removed from each path segment; a segment
/// that is only a tag disappears. `None` when nothing changes.
pub fn without_rc_tags(path: &RelPath) -> Option<RelPath> {
    fn strip(seg: &str) -> String {
        let mut out = String::new();
        let mut rest = seg;
        'outer: while !rest.is_empty() {
            for tag in ["Candidate", "candidate", "RC", "Rc", "rc"] {
                if let Some(after) = rest.strip_prefix(tag) {
                    let after = after.strip_prefix(['.', '-']).unwrap_or(after);
                    let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    let boundary_before = out.is_empty() || out.ends_with(['-', '.', '_']);
                    if digits > 0 && boundary_before {
                        while out.ends_with(['-', '.', '_']) {
                            out.pop();
                        }
                        rest = &after[digits..];
                        continue 'outer;
                    }
                }
            }
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }
    let segments: Vec<String> = path.as_str().split('/').map(strip).filter(|s| !s.is_empty()).collect();
    let new = RelPath::new(segments.join("/").as_str()).ok()?;
    (new != *path).then_some(new)
}

/// The moves that remove release-candidate tags from `files` (ATR's "Remove RC tags"): one per
/// file whose name carries a tag. Empty when no name has one.
pub fn rc_tag_moves<'f>(files: impl IntoIterator<Item = &'f RelPath>) -> Vec<FileMove> {
    files.into_iter().filter_map(|f| without_rc_tags(f).map(|to| FileMove { from: f.clone(), to })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_tags_are_removed_from_names_and_directories() {
        let cases = [
            ("apache-foo-1.0-RC1.tar.gz", Some("apache-foo-1.0.tar.gz")),
            ("rc2/apache-foo-1.0.tar.gz", Some("apache-foo-1.0.tar.gz")),
            ("foo-1.0-rc.3-src.zip", Some("foo-1.0-src.zip")),
            ("candidate-4/foo.tar.gz", Some("foo.tar.gz")),
            ("source/apache-foo-1.0.tar.gz", None),
            ("sorcery-1.0.tar.gz", None),
        ];
        for (from, to) in cases {
            let got = without_rc_tags(&RelPath::new(from).unwrap());
            assert_eq!(got.as_ref().map(RelPath::as_str), to, "{from}");
        }
    }

    #[test]
    fn only_tagged_files_move() {
        let files = [RelPath::new("foo-1.0-RC1.tar.gz").unwrap(), RelPath::new("README.txt").unwrap()];
        let moves = rc_tag_moves(&files);
        assert_eq!(moves.len(), 1);
        assert_eq!((moves[0].from.as_str(), moves[0].to.as_str()), ("foo-1.0-RC1.tar.gz", "foo-1.0.tar.gz"));
    }
}
