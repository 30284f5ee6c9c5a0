//! ASF licensing categories of declared licences (SPDX identifiers, SPDX expressions, and the
//! free-text names build manifests use), after <https://www.apache.org/legal/resolved.html>.
//!
//! Category A may be included, Category B only in binary form (with care), Category X not at all.
//! A licence that is not recognised gets no category: the bill lists it as unknown rather than guess.

use crate::licence::Category;

/// SPDX identifiers (upper case) that are Category A.
const CATEGORY_A: &[&str] = &[
    "APACHE-2.0",
    "APACHE-1.1",
    "MIT",
    "MIT-0",
    "X11",
    "BSD-2-CLAUSE",
    "BSD-3-CLAUSE",
    "BSD-3-CLAUSE-CLEAR",
    "0BSD",
    "ISC",
    "ZLIB",
    "LIBPNG",
    "UNLICENSE",
    "CC0-1.0",
    "CC-BY-2.5",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "PSF-2.0",
    "PYTHON-2.0",
    "BSL-1.0",
    "W3C",
    "UNICODE-DFS-2016",
    "UNICODE-3.0",
    "POSTGRESQL",
    "NCSA",
    "WTFPL",
    "EDL-1.0",
    "BSD-2-CLAUSE-PATENT",
    "MS-PL",
    "UPL-1.0",
    "OFL-1.1",
    "BLUEOAK-1.0.0",
];

/// SPDX identifier prefixes (upper case) that are Category B.
const CATEGORY_B_PREFIXES: &[&str] =
    &["MPL-", "EPL-", "CDDL-", "CPL-", "IPL-", "ERLPL-", "SPL-", "OSL-3.0", "CC-BY-SA-", "RUBY", "MS-RL"];

/// SPDX identifier prefixes (upper case) that are Category X.
const CATEGORY_X_PREFIXES: &[&str] = &[
    "GPL-",
    "LGPL-",
    "AGPL-",
    "SSPL-",
    "BUSL-",
    "BSD-4-CLAUSE",
    "CC-BY-NC",
    "CC-BY-ND",
    "JSON",
    "QPL-",
    "SLEEPYCAT",
    "CPAL-",
    "ELASTIC-",
    "COMMONS-CLAUSE",
];

/// The category of one SPDX identifier, `None` when unknown.
pub fn spdx_id_category(id: &str) -> Option<Category> {
    let up = id.trim().trim_end_matches('+').to_ascii_uppercase();
    if up.is_empty() {
        return None;
    }
    if CATEGORY_X_PREFIXES.iter().any(|p| up.starts_with(p)) {
        return Some(Category::X);
    }
    if CATEGORY_B_PREFIXES.iter().any(|p| up.starts_with(p)) {
        return Some(Category::B);
    }
    if CATEGORY_A.contains(&up.as_str()) {
        return Some(Category::A);
    }
    None
}

/// Maps a free-text licence name (as in `<licenses><license><name>` of a pom.xml) to an SPDX
/// identifier, when it is one of the common spellings.
pub fn name_to_spdx(name: &str) -> Option<&'static str> {
    let n: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { ' ' })
        .collect();
    let n = n.split_whitespace().collect::<Vec<_>>().join(" ");
    let has = |s: &str| n.contains(s);
    let v2 = has("2.0") || has(" 2 ") || n.ends_with(" 2") || has("v2");
    let v3 = has("3.0") || n.ends_with(" 3") || has("v3");
    let id = if has("apache") {
        if has("1.1") { "Apache-1.1" } else { "Apache-2.0" }
    } else if has("common development and distribution") || has("cddl") {
        // Often dual-licensed with the GPL ("CDDL + GPLv2 with classpath exception"): CDDL may be chosen.
        if has("1.1") { "CDDL-1.1" } else { "CDDL-1.0" }
    } else if has("affero") || has("agpl") {
        "AGPL-3.0-only"
    } else if has("lesser general public") || has("library general public") || has("lgpl") {
        if v3 {
            "LGPL-3.0-only"
        } else if has("2.1") {
            "LGPL-2.1-only"
        } else {
            "LGPL-2.0-only"
        }
    } else if has("general public license") || n.split(' ').any(|w| w.starts_with("gpl")) {
        if v3 { "GPL-3.0-only" } else { "GPL-2.0-only" }
    } else if has("mozilla") || n.split(' ').any(|w| w == "mpl") {
        if has("1.1") { "MPL-1.1" } else { "MPL-2.0" }
    } else if has("eclipse distribution") || n.split(' ').any(|w| w == "edl") {
        "BSD-3-Clause"
    } else if has("eclipse public") || n.split(' ').any(|w| w == "epl") {
        if v2 { "EPL-2.0" } else { "EPL-1.0" }
    } else if has("common public license") {
        "CPL-1.0"
    } else if has("server side public") || has("sspl") {
        "SSPL-1.0"
    } else if has("business source") {
        "BUSL-1.1"
    } else if n.split(' ').any(|w| w == "mit") {
        "MIT"
    } else if has("bsd") {
        if has("4 clause") || has("original") || has("advertising") {
            "BSD-4-Clause"
        } else if has("2 clause") || has("simplified") || has("freebsd") {
            "BSD-2-Clause"
        } else {
            "BSD-3-Clause"
        }
    } else if n.split(' ').any(|w| w == "isc") {
        "ISC"
    } else if has("unlicense") {
        "Unlicense"
    } else if has("cc0") || has("public domain") {
        "CC0-1.0"
    } else if has("zlib") {
        "Zlib"
    } else if has("python software foundation") || has("psf") {
        "PSF-2.0"
    } else if has("boost software") {
        "BSL-1.0"
    } else if has("json license") || n == "json" {
        "JSON"
    } else {
        return None;
    };
    Some(id)
}

/// The category of a declared licence: an SPDX expression (`OR` takes the best alternative,
/// `AND`/`WITH` the worst part), a single identifier, or a free-text name. `None` when any part
/// is not recognised.
pub fn declared_category(declared: &str) -> Option<Category> {
    let d = declared.trim();
    if d.is_empty() {
        return None;
    }
    if let Some(c) = expression_category(d) {
        return Some(c);
    }
    name_to_spdx(d).and_then(spdx_id_category)
}

fn expression_category(expr: &str) -> Option<Category> {
    let normal = expr.replace(['(', ')'], " ");
    let mut best: Option<Category> = None;
    for alt in split_keyword(&normal, "OR") {
        let mut worst = Category::A;
        let mut parts = 0;
        for part in split_keyword(&alt, "AND") {
            let mut tokens = part.split_whitespace();
            let id = tokens.next()?;
            // An exception (`WITH Classpath-exception-2.0`) keeps the category of the licence.
            match (tokens.next(), tokens.next(), tokens.next()) {
                (None, _, _) | (Some("WITH"), Some(_), None) => {}
                _ => return None,
            }
            worst = worst.max(spdx_id_category(id)?);
            parts += 1;
        }
        if parts == 0 {
            return None;
        }
        best = Some(best.map_or(worst, |b| b.min(worst)));
    }
    best
}

fn split_keyword(s: &str, word: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for token in s.split_whitespace() {
        if token.eq_ignore_ascii_case(word) {
            out.push(String::new());
        } else {
            let cur = out.last_mut().expect("one part at least");
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(token);
        }
    }
    out.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Why a category matters, for messages.
pub fn category_rule(c: Category) -> &'static str {
    match c {
        Category::A => "ASF Category A: may be included",
        Category::B => {
            "ASF Category B: may be included in binary form only, and must be named in LICENSE with a NOTICE entry if it asks for one"
        }
        Category::X => "ASF Category X: must not be included in an Apache release, in source or binary form",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spdx_ids_and_expressions() {
        assert_eq!(declared_category("Apache-2.0"), Some(Category::A));
        assert_eq!(declared_category("MIT OR Apache-2.0"), Some(Category::A));
        assert_eq!(declared_category("GPL-2.0-only"), Some(Category::X));
        assert_eq!(declared_category("GPL-2.0-or-later OR MIT"), Some(Category::A));
        assert_eq!(declared_category("MIT AND GPL-3.0-only"), Some(Category::X));
        assert_eq!(declared_category("(MPL-2.0 AND MIT)"), Some(Category::B));
        assert_eq!(declared_category("GPL-2.0-only WITH Classpath-exception-2.0"), Some(Category::X));
        assert_eq!(declared_category("EPL-2.0"), Some(Category::B));
        assert_eq!(declared_category("LicenseRef-Custom"), None);
        assert_eq!(declared_category(""), None);
    }

    #[test]
    fn names_used_in_poms() {
        assert_eq!(name_to_spdx("The Apache Software License, Version 2.0"), Some("Apache-2.0"));
        assert_eq!(name_to_spdx("Apache License, Version 2.0"), Some("Apache-2.0"));
        assert_eq!(name_to_spdx("The MIT License"), Some("MIT"));
        assert_eq!(name_to_spdx("Eclipse Public License - v 2.0"), Some("EPL-2.0"));
        assert_eq!(name_to_spdx("GNU Lesser General Public License v2.1"), Some("LGPL-2.1-only"));
        assert_eq!(name_to_spdx("GNU General Public License, version 3"), Some("GPL-3.0-only"));
        assert_eq!(name_to_spdx("CDDL + GPLv2 with classpath exception"), Some("CDDL-1.0"));
        assert_eq!(name_to_spdx("Eclipse Distribution License - v 1.0"), Some("BSD-3-Clause"));
        assert_eq!(name_to_spdx("Proprietary"), None);
        assert_eq!(declared_category("Mozilla Public License 2.0"), Some(Category::B));
    }
}
