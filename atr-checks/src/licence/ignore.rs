//! Ignore rules in gitignore syntax (`.rat-excludes`, `rat-excludes.txt`, `.atr/license-headers-ignore`).
//!
//! Supported: `#` comments, blank lines, `!` negation, a leading `/` or an inner `/` anchoring the
//! pattern to the base, a trailing `/` for directories only, `*`, `?`, `[...]` classes and `**`.
//! As in git, a file inside an ignored directory stays ignored.

/// A parsed list of ignore rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    pattern: Vec<u8>,
    negate: bool,
    dir_only: bool,
    anchored: bool,
}

impl IgnoreRules {
    /// Parses rules from the text of an ignore file.
    pub fn parse(text: &str) -> Self {
        let mut rules = IgnoreRules::default();
        rules.extend(text);
        rules
    }

    /// Adds the rules of another ignore file (later rules win).
    pub fn extend(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            let line = if line.ends_with("\\ ") { line } else { line.trim_end() };
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negate, line) = match line.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, line.strip_prefix('\\').unwrap_or(line)),
            };
            let (dir_only, line) = match line.strip_suffix('/') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let anchored = line.trim_start_matches("**/").contains('/') || line.starts_with('/');
            let pattern = line.strip_prefix('/').unwrap_or(line);
            if pattern.is_empty() {
                continue;
            }
            self.rules.push(Rule { pattern: pattern.as_bytes().to_vec(), negate, dir_only, anchored });
        }
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `path` (relative to the base, `/`-separated) is ignored. `is_dir` says whether the
    /// path itself is a directory.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let path = path.trim_matches('/');
        for (i, _) in path.match_indices('/') {
            if self.decide(&path[..i], true) == Some(true) {
                return true;
            }
        }
        self.decide(path, is_dir) == Some(true)
    }

    /// The verdict of the last matching rule for one candidate path.
    fn decide(&self, candidate: &str, is_dir: bool) -> Option<bool> {
        let base = candidate.rsplit('/').next().unwrap_or(candidate);
        self.rules.iter().rev().find_map(|r| {
            if r.dir_only && !is_dir {
                return None;
            }
            let hit = if r.anchored {
                glob(&r.pattern, candidate.as_bytes())
            } else {
                glob(&r.pattern, base.as_bytes())
            };
            hit.then_some(!r.negate)
        })
    }
}

/// Matches a gitignore glob against a whole path.
fn glob(p: &[u8], t: &[u8]) -> bool {
    if p.is_empty() {
        return t.is_empty();
    }
    if p.starts_with(b"**") {
        let rest = &p[2..];
        if let Some(after) = rest.strip_prefix(b"/") {
            // `**/` matches zero or more whole directories.
            if glob(after, t) {
                return true;
            }
            return t.iter().enumerate().any(|(i, c)| *c == b'/' && glob(after, &t[i + 1..]));
        }
        return (0..=t.len()).any(|i| glob(rest, &t[i..]));
    }
    match p[0] {
        b'*' => (0..=t.len()).take_while(|i| *i == 0 || t[i - 1] != b'/').any(|i| glob(&p[1..], &t[i..])),
        b'?' => !t.is_empty() && t[0] != b'/' && glob(&p[1..], &t[1..]),
        b'[' => match class(p, t.first().copied()) {
            Some((true, used)) => glob(&p[used..], &t[1..]),
            Some((false, _)) => false,
            None => !t.is_empty() && t[0] == b'[' && glob(&p[1..], &t[1..]),
        },
        b'\\' if p.len() > 1 => !t.is_empty() && t[0] == p[1] && glob(&p[2..], &t[1..]),
        c => !t.is_empty() && t[0] == c && glob(&p[1..], &t[1..]),
    }
}

/// Matches a `[...]` class at the start of `p` against `c`; returns (matched, pattern bytes used),
/// or `None` when the class is not closed.
fn class(p: &[u8], c: Option<u8>) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let start = i;
    let mut hit = false;
    while i < p.len() {
        if p[i] == b']' && i > start {
            let c = c?;
            return Some((hit != negate && c != b'/', i + 1));
        }
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if let Some(c) = c {
                hit |= (lo..=p[i + 2]).contains(&c);
            }
            i += 3;
        } else {
            if c == Some(lo) {
                hit = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_semantics() {
        let r = IgnoreRules::parse(
            "# comment\n*.md\n/build/\nsrc/test/resources/**\n!keep.md\ndocs/*.html\n[Tt]mp?\n",
        );
        assert!(r.is_ignored("README.md", false));
        assert!(r.is_ignored("a/b/notes.md", false));
        assert!(!r.is_ignored("a/keep.md", false));
        assert!(r.is_ignored("build/x.c", false));
        assert!(!r.is_ignored("src/build/x.c", false));
        assert!(r.is_ignored("src/test/resources/a/b.bin", false));
        assert!(!r.is_ignored("src/test/java/A.java", false));
        assert!(r.is_ignored("docs/a.html", false));
        assert!(!r.is_ignored("docs/sub/a.html", false));
        assert!(r.is_ignored("x/Tmp1", false));
        assert!(!r.is_ignored("x/tmp", false));
        let d = IgnoreRules::parse("**/generated/**\nfoo/**/bar.c\n");
        assert!(d.is_ignored("a/generated/b/c.java", false));
        assert!(d.is_ignored("foo/bar.c", false));
        assert!(d.is_ignored("foo/a/b/bar.c", false));
        assert!(IgnoreRules::parse("").is_empty());
    }
}
