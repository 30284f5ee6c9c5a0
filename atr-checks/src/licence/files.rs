//! LICENSE, NOTICE and DISCLAIMER content rules.
//!
//! LICENSE must start with the full Apache License 2.0 terms (up to "END OF TERMS AND CONDITIONS";
//! the appendix and appended third-party licences are allowed). The comparison is word by word,
//! so re-indented or re-wrapped copies pass; a real difference is shown as a line diff.
//! NOTICE needs the product line, the ASF copyright line and the ASF attribution.

use serde::Serialize;

/// The Apache License 2.0 as published at <https://www.apache.org/licenses/LICENSE-2.0.txt>.
pub const APACHE_LICENSE_2_0: &str = include_str!("apache-2.0.txt");

/// The end of the licence terms; the appendix after it is optional in a LICENSE file.
const END_OF_TERMS: &str = "END OF TERMS AND CONDITIONS";

/// Longest diff shown, in lines.
const MAX_DIFF_LINES: usize = 40;

fn terms() -> &'static str {
    let end =
        APACHE_LICENSE_2_0.find(END_OF_TERMS).map_or(APACHE_LICENSE_2_0.len(), |i| i + END_OF_TERMS.len());
    &APACHE_LICENSE_2_0[..end]
}

/// Why a LICENSE file does not start with the Apache License 2.0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenceMismatch {
    /// The first line (1-based, counting non-blank lines) where the file departs from the licence.
    pub first_difference: usize,
    /// A line diff (`- expected`, `+ found`), trimmed to the differing region.
    pub diff: Vec<String>,
}

/// Checks that `content` starts with the Apache License 2.0 terms.
pub fn check_licence_text(content: &[u8]) -> Result<(), LicenceMismatch> {
    let text = String::from_utf8_lossy(content);
    // `http://` and `https://` URLs are the same licence.
    let same = |a: &str, b: &str| {
        a == b
            || matches!((a.strip_prefix("https://"), b.strip_prefix("http://")), (Some(x), Some(y)) if x == y)
    };
    let mut found = text.split_whitespace();
    if terms().split_whitespace().all(|w| found.next().is_some_and(|f| same(f, w))) {
        return Ok(());
    }
    let exp_lines: Vec<&str> = terms().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut got_lines: Vec<&str> =
        text.lines().map(str::trim).filter(|l| !l.is_empty()).take(exp_lines.len() + 20).collect();
    if let Some(end) = got_lines.iter().position(|l| *l == END_OF_TERMS) {
        got_lines.truncate(end + 1);
    }
    let got_lines: Vec<String> = got_lines.iter().map(|l| l.replace("https://", "http://")).collect();
    let got_lines: Vec<&str> = got_lines.iter().map(String::as_str).collect();
    let diff = line_diff(&exp_lines, &got_lines);
    let first_difference = exp_lines.iter().zip(&got_lines).take_while(|(a, b)| a == b).count() + 1;
    Err(LicenceMismatch { first_difference, diff })
}

/// A longest-common-subsequence line diff, listing only removed (`- `) and added (`+ `) lines.
fn line_diff(a: &[&str], b: &[&str]) -> Vec<String> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while (i < n || j < m) && out.len() < MAX_DIFF_LINES {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", b[j]));
            j += 1;
        } else {
            out.push(format!("- {}", a[i]));
            i += 1;
        }
    }
    out
}

/// A missing part of a NOTICE file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeIssue {
    /// The file is not UTF-8.
    NotUtf8,
    /// The first line does not name the product (`Apache Foo`).
    ProductLine,
    /// No `Copyright YYYY[-YYYY] The Apache Software Foundation` line.
    Copyright,
    /// No "This product includes software developed at The Apache Software Foundation" attribution.
    Attribution,
}

impl NoticeIssue {
    /// What is missing and how to fix it.
    pub fn describe(self) -> &'static str {
        match self {
            NoticeIssue::NotUtf8 => "the NOTICE file is not valid UTF-8; save it as UTF-8",
            NoticeIssue::ProductLine => "the first line must name the product, such as `Apache Foo`",
            NoticeIssue::Copyright => {
                "the copyright line `Copyright YYYY[-YYYY] The Apache Software Foundation` is missing or malformed"
            }
            NoticeIssue::Attribution => {
                "the attribution `This product includes software developed at The Apache Software Foundation (https://www.apache.org/).` is missing"
            }
        }
    }
}

/// The parts of the required NOTICE content that `content` lacks (empty when it is valid).
pub fn check_notice_text(content: &[u8]) -> Vec<NoticeIssue> {
    let mut issues = Vec::new();
    if std::str::from_utf8(content).is_err() {
        issues.push(NoticeIssue::NotUtf8);
    }
    let text = String::from_utf8_lossy(content);
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if !first.split(|c: char| !c.is_alphanumeric()).any(|w| w == "Apache") {
        issues.push(NoticeIssue::ProductLine);
    }
    let copyright = text.lines().any(|l| {
        let n = super::headers::normalise(l.as_bytes());
        let has_year = n.split(' ').any(|w| {
            w.len() == 4
                && (w.starts_with("19") || w.starts_with("20"))
                && w.bytes().all(|b| b.is_ascii_digit())
        });
        n.contains("copyright") && n.contains("the apache software foundation") && has_year
    });
    if !copyright {
        issues.push(NoticeIssue::Copyright);
    }
    let norm = super::headers::normalise(text.as_bytes());
    if !norm.contains("this product includes software developed at the apache software foundation") {
        issues.push(NoticeIssue::Attribution);
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_licence_itself_and_reflowed_copies_pass() {
        assert_eq!(check_licence_text(APACHE_LICENSE_2_0.as_bytes()), Ok(()));
        let crlf = APACHE_LICENSE_2_0.replace('\n', "\r\n").replace("http://", "https://");
        assert_eq!(check_licence_text(crlf.as_bytes()), Ok(()));
        let with_extra = format!("{}\n\nThis product bundles foo, MIT licensed.\n", terms());
        assert_eq!(check_licence_text(with_extra.as_bytes()), Ok(()));
    }

    #[test]
    fn other_licences_get_a_diff() {
        let mit = b"MIT License\n\nPermission is hereby granted, free of charge, to any person\n";
        let err = check_licence_text(mit).unwrap_err();
        assert_eq!(err.first_difference, 1);
        assert!(err.diff.iter().any(|l| l == "+ MIT License"), "{:?}", err.diff);
        assert!(err.diff.iter().any(|l| l == "- Apache License"), "{:?}", err.diff);
        let changed =
            APACHE_LICENSE_2_0.replacen("grants to You a perpetual,", "grants to You a temporary,", 1);
        let err = check_licence_text(changed.as_bytes()).unwrap_err();
        assert!(err.diff.iter().any(|l| l.starts_with("+ ") && l.contains("temporary")), "{:?}", err.diff);
        assert!(err.diff.len() <= 4, "{:?}", err.diff);
    }

    #[test]
    fn notice_parts() {
        let good = "Apache Foo\nCopyright 2020-2024 The Apache Software Foundation\n\nThis product includes software developed at\nThe Apache Software Foundation (https://www.apache.org/).\n";
        assert!(check_notice_text(good.as_bytes()).is_empty());
        let apr = "Apache Portable Runtime\nCopyright (c) 2000-2023 The Apache Software Foundation.\n\nThis product includes software developed at\nThe Apache Software Foundation (http://www.apache.org/).\n";
        assert!(check_notice_text(apr.as_bytes()).is_empty());
        assert_eq!(
            check_notice_text(b"Foo\nCopyright Bob\n"),
            vec![NoticeIssue::ProductLine, NoticeIssue::Copyright, NoticeIssue::Attribution]
        );
        assert_eq!(
            check_notice_text(b"Apache Foo\nCopyright 2020 The Apache Software Foundation\n\xff"),
            vec![NoticeIssue::NotUtf8, NoticeIssue::Attribution]
        );
    }
}
