//! The paths policy over a whole revision: which files must accompany which, what may not be there.
//!
//! Rules (ATR's paths check, `atr-features.md` §5.11, with ASF release-distribution policy):
//! - every artifact (source or binary) needs `X.asc` and `X.sha256` or `X.sha512`: **blocker**;
//! - podling artifacts must have `incubating` in their name: **blocker**;
//! - the release must hold at least one source artifact: **blocker** naming each artifact's class;
//! - hidden files (`.htaccess`, …): **blocker**; junk such as `.DS_Store`, `Thumbs.db`,
//!   `desktop.ini`, `__MACOSX/`: **concern**;
//! - a `KEYS` file (it belongs on the Keys page): **concern**;
//! - other metadata (`.prov`, `.asc.sha512`, …) whose artifact is missing: **concern**;
//! - uncommon metadata suffixes (`.mds`, `.prov`, `.sha512sum`, …): **suggestion**;
//! - unknown files at the top level: **suggestion**;
//! - everything else: a **note** stating the class the file was given and why.
//!
//! `.asc`, `.sig`, `.sha512`, `.sha256`, `.md5`, `.sha1` and `.sha` files are judged by the signature
//! and hashing checkers (which also report a missing artifact as a blocker), not here.
//!
//! ```
//! use atr_checks::{paths::check_paths, CheckContext};
//! use atr_core::{check::CheckStatus, path::RelPath};
//! let files: Vec<RelPath> = ["foo-1.0-src.tar.gz", "foo-1.0-src.tar.gz.asc", "foo-1.0-src.tar.gz.sha512"]
//!     .into_iter().map(|f| RelPath::new(f).unwrap()).collect();
//! let ctx = CheckContext::new(std::time::SystemTime::UNIX_EPOCH);
//! let results = check_paths(&files, &ctx);
//! assert!(results.iter().all(|r| r.status == CheckStatus::Note));
//! ```

use std::collections::BTreeSet;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::classify::{ArtifactClass, Classification, classify, split_metadata};
use atr_core::path::{RelPath, RelPathError};
use serde_json::json;

use crate::context::CheckContext;

const CHECKER: CheckerId = CheckerId::PATHS;

/// Metadata suffixes ASF policy names; others get a suggestion.
const STANDARD_METADATA: &[&str] = &[".asc", ".sha256", ".sha512", ".cdx.json", ".cdx.xml"];
/// Judged by the hashing or signature checker (including a missing artifact).
const JUDGED_ELSEWHERE: &[&str] = &[".md5", ".MD5", ".sha1", ".sha", ".sig", ".asc", ".sha256", ".sha512"];
/// Files operating systems leave behind.
const JUNK_NAMES: &[&str] =
    &[".DS_Store", "Thumbs.db", "desktop.ini", "ehthumbs.db", ".Spotlight-V100", ".Trashes"];

/// Checks the paths policy over the files of a revision (all valid [`RelPath`]s).
pub fn check_paths(files: &[RelPath], ctx: &CheckContext) -> Vec<CheckResult> {
    let names: Vec<String> = files.iter().map(|f| f.as_str().to_owned()).collect();
    check_listing(&names, ctx)
}

/// Checks the paths policy over a raw listing (relative `/`-separated names as found on disk),
/// which may include names a [`RelPath`] refuses, such as hidden files. Such files get results
/// with no `primary_rel_path` and the name in `data.path`.
pub fn check_listing(files: &[String], ctx: &CheckContext) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mut valid: Vec<RelPath> = Vec::new();
    for raw in files {
        match RelPath::new(raw.as_str()) {
            Ok(p) => {
                if let Some(r) = junk(raw, Some(&p)) {
                    out.push(r);
                } else {
                    valid.push(p);
                }
            }
            Err(e) => out.push(invalid_name(raw, &e)),
        }
    }
    let present: BTreeSet<&str> = valid.iter().map(RelPath::as_str).collect();
    let mut artifacts: Vec<(RelPath, Classification)> = Vec::new();
    for path in &valid {
        let c = classify(path, &ctx.policy);
        check_one(path, &c, &present, ctx, &mut out);
        if c.class.is_artifact() {
            artifacts.push((path.clone(), c));
        }
    }
    source_rule(&artifacts, &mut out);
    out
}

fn class_data(c: &Classification) -> serde_json::Value {
    json!({ "class": c.class.as_str(), "basis": c.basis, "reason": c.reason })
}

fn check_one(
    path: &RelPath,
    c: &Classification,
    present: &BTreeSet<&str>,
    ctx: &CheckContext,
    out: &mut Vec<CheckResult>,
) {
    let name = path.file_name();
    let data = class_data(c);
    let mut push = |status, msg: String| {
        out.push(CheckResult::new(CHECKER, status, Some(path.clone()), msg).with_data(data.clone()));
    };
    match c.class {
        ArtifactClass::Keys => push(
            CheckStatus::Concern,
            format!(
                "`{path}` is a KEYS file, which does not belong in a release; delete it and add the keys on the Keys page (the committee's KEYS file is published from there)."
            ),
        ),
        ArtifactClass::Source | ArtifactClass::Binary => {
            let mut ok = true;
            let sibling = |suffix: &str| format!("{}{suffix}", path.as_str());
            if !present.contains(sibling(".asc").as_str()) {
                ok = false;
                push(
                    CheckStatus::Blocker,
                    format!(
                        "`{path}` has no signature `{name}.asc`; sign it with `gpg --armor --detach-sign {name}` and upload the `.asc`."
                    ),
                );
            }
            if !present.contains(sibling(".sha512").as_str())
                && !present.contains(sibling(".sha256").as_str())
            {
                ok = false;
                push(
                    CheckStatus::Blocker,
                    format!(
                        "`{path}` has no checksum `{name}.sha512` or `{name}.sha256`; create one with `sha512sum {name} > {name}.sha512` and upload it."
                    ),
                );
            }
            if ctx.podling && !name.contains("incubating") {
                ok = false;
                push(
                    CheckStatus::Blocker,
                    format!(
                        "`{path}` belongs to a podling but its name lacks `incubating`; rename it (for example `apache-foo-1.0-incubating-src.tar.gz`) and re-sign."
                    ),
                );
            }
            if ok {
                push(
                    CheckStatus::Note,
                    format!(
                        "`{path}` is a {} artifact ({}) with a signature and a checksum.",
                        c.class, c.reason
                    ),
                );
            }
        }
        ArtifactClass::Signature | ArtifactClass::Hash | ArtifactClass::Sbom | ArtifactClass::Metadata => {
            let Some((subject, suffix)) = split_metadata(name) else {
                push(CheckStatus::Note, format!("`{path}` is metadata ({}).", c.reason));
                return;
            };
            if JUDGED_ELSEWHERE.contains(&suffix) || suffix.ends_with(".md5") || suffix.ends_with(".sha1") {
                return;
            }
            let subject_rel = match path.parent() {
                Some(dir) => format!("{dir}/{subject}"),
                None => subject.to_owned(),
            };
            let is_sbom = c.class == ArtifactClass::Sbom;
            if !is_sbom && !present.contains(subject_rel.as_str()) {
                push(
                    CheckStatus::Concern,
                    format!(
                        "`{path}` is {} for `{subject_rel}`, which is not in the release; upload `{subject_rel}` or delete `{name}`.",
                        describe(c.class)
                    ),
                );
            } else if !STANDARD_METADATA.contains(&suffix) {
                push(
                    CheckStatus::Suggestion,
                    format!(
                        "`{path}` uses the uncommon suffix `{suffix}`; ASF policy asks for `.asc` signatures and `.sha512` or `.sha256` checksums, so consider replacing it."
                    ),
                );
            } else {
                push(CheckStatus::Note, format!("`{path}` is {} ({}).", describe(c.class), c.reason));
            }
        }
        ArtifactClass::Documentation => {
            push(CheckStatus::Note, format!("`{path}` is release documentation."))
        }
        _ if path.depth() == 1 => push(
            CheckStatus::Suggestion,
            format!(
                "`{path}` is an unknown top-level file (not an artifact, signature, checksum, SBOM, README, LICENSE, NOTICE or CHANGES); delete it or, if it is an artifact, add a pattern for it to the project's release policy."
            ),
        ),
        _ => push(
            CheckStatus::Note,
            format!("`{path}` is an auxiliary file in a subdirectory ({}).", c.reason),
        ),
    }
}

fn describe(class: ArtifactClass) -> &'static str {
    match class {
        ArtifactClass::Signature => "a signature",
        ArtifactClass::Hash => "a checksum",
        ArtifactClass::Sbom => "an SBOM",
        _ => "metadata",
    }
}

fn junk(raw: &str, path: Option<&RelPath>) -> Option<CheckResult> {
    let seg = raw.split('/').find(|s| *s == "__MACOSX" || JUNK_NAMES.contains(s) || s.starts_with("._"))?;
    let data = json!({ "path": raw });
    Some(
        CheckResult::new(
            CHECKER,
            CheckStatus::Concern,
            path.cloned(),
            format!(
                "`{raw}` is junk left by an operating system or archiver (`{seg}`); delete it from the release (on macOS, set `COPYFILE_DISABLE=1` when creating archives)."
            ),
        )
        .with_data(data),
    )
}

fn invalid_name(raw: &str, e: &RelPathError) -> CheckResult {
    if let Some(r) = junk(raw, None) {
        return r;
    }
    let msg = match e {
        RelPathError::DotFile(_) => format!(
            "`{}` is a hidden file, which is forbidden in a release (only `.atr/` may hold them); delete it.",
            raw.escape_debug()
        ),
        other => format!("`{}` cannot be part of a release: {other}.", raw.escape_debug()),
    };
    CheckResult::new(CHECKER, CheckStatus::Blocker, None, msg).with_data(json!({ "path": raw }))
}

fn source_rule(artifacts: &[(RelPath, Classification)], out: &mut Vec<CheckResult>) {
    if artifacts.iter().any(|(_, c)| c.class == ArtifactClass::Source) {
        return;
    }
    let listing: Vec<serde_json::Value> = artifacts
        .iter()
        .map(|(p, c)| json!({ "path": p.as_str(), "class": c.class.as_str(), "basis": c.basis, "reason": c.reason }))
        .collect();
    let msg = if artifacts.is_empty() {
        "The release holds no artifact at all, but ASF policy requires at least one source package; upload the source archive (such as `apache-foo-1.0-src.tar.gz`) with its `.asc` and `.sha512`.".to_owned()
    } else {
        let each: Vec<String> = artifacts
            .iter()
            .map(|(p, c)| format!("`{p}` was classified {} because {}", c.class, c.reason))
            .collect();
        format!(
            "No artifact is classified as a source package, which ASF policy requires: {}; if one of them is the source release, add a source artifact pattern matching it to the project's release policy, otherwise upload the source archive.",
            each.join("; ")
        )
    };
    out.push(
        CheckResult::new(CHECKER, CheckStatus::Blocker, None, msg).with_data(json!({ "artifacts": listing })),
    );
}
