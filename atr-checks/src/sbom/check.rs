//! The SBOM checks of a revision: every `*.cdx.json` is valid CycloneDX for its declared version,
//! describes an artifact that is in the revision with matching hashes, is scored against the NTIA
//! minimum elements, and has its licence bill drawn up; every source archive has an SBOM beside it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde_json::{Value, json};
use sha2::Digest;

use super::licences::{category_rule, declared_category};
use super::ntia;
use super::schema::{self, SchemaError};
use crate::CheckContext;
use crate::licence::Category;

/// Largest SBOM read (the SBOMs of the largest Java projects are a few MiB).
pub const MAX_SBOM_BYTES: u64 = 64 << 20;
/// Licence-bill results listed per SBOM before only the count is given.
const MAX_BILL_RESULTS: usize = 100;
/// The checker of every SBOM result.
const CHECKER: CheckerId = CheckerId::SBOM;

pub use atr_core::plan::sbom_subject;

fn result(rel: &RelPath, status: CheckStatus, message: String) -> CheckResult {
    CheckResult::new(CHECKER, status, Some(rel.clone()), message)
}

fn file_path(root: &Path, rel: &RelPath) -> std::path::PathBuf {
    let mut p = root.to_path_buf();
    p.extend(rel.segments());
    p
}

/// Checks the SBOM `rel` of the release directory `root`.
pub fn check_sbom_file(root: &Path, rel: &RelPath, _ctx: &CheckContext) -> Vec<CheckResult> {
    let path = file_path(root, rel);
    let bytes = match read_capped(&path, MAX_SBOM_BYTES) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return vec![result(
                rel,
                CheckStatus::Concern,
                format!(
                    "`{rel}` is larger than {} MiB and was not checked; an SBOM of a source release is rarely over a few MiB, so check that it is the right file",
                    MAX_SBOM_BYTES >> 20
                ),
            )];
        }
        Err(e) => return vec![result(rel, CheckStatus::Exception, format!("Cannot read `{rel}`: {e}"))],
    };
    check_sbom_bytes(root, rel, &bytes)
}

fn read_capped(path: &Path, cap: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut v = Vec::new();
    File::open(path)?.take(cap + 1).read_to_end(&mut v)?;
    Ok((v.len() as u64 <= cap).then_some(v))
}

/// Checks SBOM content `bytes` known as `rel`, whose artifact is looked up under `root`.
pub fn check_sbom_bytes(root: &Path, rel: &RelPath, bytes: &[u8]) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let doc: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            out.push(
                result(
                    rel,
                    CheckStatus::Blocker,
                    format!(
                        "`{rel}` is not valid JSON ({e}); a CycloneDX JSON SBOM must parse. Regenerate it or delete it"
                    ),
                )
                .with_data(json!({ "error_kind": "invalid_json", "line": e.line(), "column": e.column() })),
            );
            return out;
        }
    };
    if doc.get("bomFormat").and_then(|f| f.as_str()) != Some("CycloneDX") {
        out.push(
            result(
                rel,
                CheckStatus::Blocker,
                format!("`{rel}` is not a CycloneDX SBOM: its `bomFormat` is not \"CycloneDX\". Only CycloneDX JSON files may be named `*.cdx.json`"),
            )
            .with_data(json!({ "error_kind": "not_cyclonedx" })),
        );
        return out;
    }
    let version = doc.get("specVersion").and_then(|v| v.as_str()).unwrap_or("").to_owned();
    if let Some(s) = doc.get("$schema").and_then(|s| s.as_str())
        && !version.is_empty()
        && s.starts_with("http")
        && !s.ends_with(&format!("bom-{version}.schema.json"))
    {
        out.push(
            result(
                rel,
                CheckStatus::Blocker,
                format!(
                    "`{rel}` declares `specVersion` {version} but its `$schema` is `{s}`; the two must name the same CycloneDX version. Regenerate the SBOM"
                ),
            )
            .with_data(json!({ "error_kind": "spec_version_mismatch", "specVersion": version, "$schema": s })),
        );
    }
    match schema::validate(&doc) {
        Ok(()) => out.push(
            result(rel, CheckStatus::Note, format!("`{rel}` is valid CycloneDX {version} JSON"))
                .with_data(json!({ "specVersion": version })),
        ),
        Err(e) => {
            let (kind, violations) = match &e {
                SchemaError::NoSpecVersion => ("no_spec_version", Vec::new()),
                SchemaError::UnsupportedVersion(_) => ("unsupported_spec_version", Vec::new()),
                SchemaError::Invalid { violations, .. } => ("schema_invalid", violations.clone()),
            };
            out.push(
                result(
                    rel,
                    CheckStatus::Blocker,
                    format!(
                        "`{rel}` is not valid CycloneDX: {}. Regenerate it with a conforming tool",
                        e.summary()
                    ),
                )
                .with_data(json!({ "error_kind": kind, "specVersion": version, "violations": violations })),
            );
        }
    }
    artifact_results(root, rel, &doc, &mut out);
    let score = ntia::score(&doc);
    let missing: Vec<String> = score
        .missing()
        .map(|e| format!("{} ({})", e.name, e.missing.as_deref().unwrap_or("incomplete")))
        .collect();
    let (status, message) = if missing.is_empty() {
        (
            CheckStatus::Note,
            format!("NTIA minimum elements: score {}/100, all seven elements present", score.score),
        )
    } else {
        (
            CheckStatus::Suggestion,
            format!("NTIA minimum elements: score {}/100; missing: {}", score.score, missing.join("; ")),
        )
    };
    out.push(result(rel, status, message).with_data(json!({ "ntia": score })));
    licence_bill(rel, &doc, &mut out);
    out
}

/// Hashes `path` with the algorithms CycloneDX names (those this crate implements).
fn digest(path: &Path, alg: &str) -> std::io::Result<Option<String>> {
    enum H {
        S256(sha2::Sha256),
        S384(sha2::Sha384),
        S512(sha2::Sha512),
        B3(Box<blake3::Hasher>),
    }
    let mut h = match alg {
        "SHA-256" => H::S256(sha2::Sha256::new()),
        "SHA-384" => H::S384(sha2::Sha384::new()),
        "SHA-512" => H::S512(sha2::Sha512::new()),
        "BLAKE3" => H::B3(Box::default()),
        _ => return Ok(None),
    };
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        match &mut h {
            H::S256(x) => x.update(chunk),
            H::S384(x) => x.update(chunk),
            H::S512(x) => x.update(chunk),
            H::B3(x) => {
                x.update(chunk);
            }
        }
    }
    Ok(Some(match h {
        H::S256(x) => super::collect::hex(&x.finalize()),
        H::S384(x) => super::collect::hex(&x.finalize()),
        H::S512(x) => super::collect::hex(&x.finalize()),
        H::B3(x) => x.finalize().to_hex().to_string(),
    }))
}

fn artifact_results(root: &Path, rel: &RelPath, doc: &Value, out: &mut Vec<CheckResult>) {
    let Some(subject) = sbom_subject(rel) else { return };
    let path = file_path(root, &subject);
    if !path.is_file() {
        out.push(
            result(
                rel,
                CheckStatus::Concern,
                format!(
                    "`{rel}` describes `{subject}`, which is not in the revision; upload the artifact, or delete or rename the SBOM to `<artifact>.cdx.json`"
                ),
            )
            .with_data(json!({ "error_kind": "missing_artifact", "artifact": subject.as_str() })),
        );
        return;
    }
    let hashes: Vec<(String, String)> = doc
        .pointer("/metadata/component/hashes")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((h.get("alg")?.as_str()?.to_owned(), h.get("content")?.as_str()?.to_ascii_lowercase()))
        })
        .collect();
    let mut checked = Vec::new();
    let mut unverifiable = Vec::new();
    for (alg, expected) in &hashes {
        match digest(&path, alg) {
            Ok(Some(actual)) if &actual == expected => checked.push(alg.clone()),
            Ok(Some(actual)) => {
                out.push(
                    result(
                        rel,
                        CheckStatus::Blocker,
                        format!(
                            "`{rel}` gives the {alg} of `{subject}` as {expected}, but the file's {alg} is {actual}: the SBOM does not describe this artifact. Regenerate the SBOM from the artifact being released"
                        ),
                    )
                    .with_data(json!({ "error_kind": "hash_mismatch", "alg": alg, "expected": expected, "actual": actual })),
                );
                return;
            }
            Ok(None) => unverifiable.push(alg.clone()),
            Err(e) => {
                out.push(result(
                    rel,
                    CheckStatus::Exception,
                    format!("Cannot read `{subject}` to hash it: {e}"),
                ));
                return;
            }
        }
    }
    if checked.is_empty() {
        let why = if unverifiable.is_empty() {
            "gives no hash of it (`metadata.component.hashes`)".to_owned()
        } else {
            format!("gives only {} hashes, which this check cannot compute", unverifiable.join(", "))
        };
        out.push(
            result(
                rel,
                CheckStatus::Concern,
                format!("`{rel}` describes `{subject}` but {why}, so nothing ties the SBOM to the artifact; add a SHA-256 or SHA-512 of the artifact"),
            )
            .with_data(json!({ "error_kind": "no_artifact_hash", "artifact": subject.as_str() })),
        );
    } else {
        out.push(
            result(rel, CheckStatus::Note, format!("`{rel}` matches `{subject}` ({})", checked.join(", ")))
                .with_data(json!({ "artifact": subject.as_str(), "verified": checked })),
        );
    }
}

/// Every component of the document with its declared licences (`id`, `name` or `expression`).
fn declared_licences(doc: &Value) -> Vec<(String, String, String)> {
    fn walk(list: Option<&Value>, out: &mut Vec<(String, String, String)>) {
        for c in list.and_then(|l| l.as_array()).into_iter().flatten() {
            let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("(unnamed)");
            let label = match c.get("version").and_then(|v| v.as_str()) {
                Some(v) => format!("{name}@{v}"),
                None => name.to_owned(),
            };
            let scope = c.get("scope").and_then(|s| s.as_str()).unwrap_or("required").to_owned();
            for l in c.get("licenses").and_then(|l| l.as_array()).into_iter().flatten() {
                let text = l
                    .get("expression")
                    .and_then(|e| e.as_str())
                    .or_else(|| l.pointer("/license/id").and_then(|i| i.as_str()))
                    .or_else(|| l.pointer("/license/name").and_then(|i| i.as_str()));
                if let Some(t) = text {
                    out.push((label.clone(), t.to_owned(), scope.clone()));
                }
            }
            walk(c.get("components"), out);
        }
    }
    let mut out = Vec::new();
    walk(doc.get("components"), &mut out);
    out
}

fn licence_bill(rel: &RelPath, doc: &Value, out: &mut Vec<CheckResult>) {
    let mut counts = [0usize; 4];
    let mut flagged = Vec::new();
    for (component, licence, scope) in declared_licences(doc) {
        match declared_category(&licence) {
            Some(Category::A) => counts[0] += 1,
            Some(c) => {
                counts[if c == Category::B { 1 } else { 2 }] += 1;
                flagged.push((component, licence, c, scope));
            }
            None => counts[3] += 1,
        }
    }
    let total = flagged.len();
    for (component, licence, category, scope) in flagged.into_iter().take(MAX_BILL_RESULTS) {
        let letter = if category == Category::B { "B" } else { "X" };
        let (status, note) = if scope == "excluded" {
            (
                CheckStatus::Suggestion,
                " It is marked as used only for tests or the build (scope `excluded`), so it is not distributed; check that this is so",
            )
        } else {
            (CheckStatus::Concern, "")
        };
        out.push(
            result(
                rel,
                status,
                format!(
                    "Component `{component}` is declared under `{licence}`: {}.{note}",
                    category_rule(category)
                ),
            )
            .with_member(component.clone())
            .with_data(
                json!({ "component": component, "licence": licence, "category": letter, "scope": scope }),
            ),
        );
    }
    if total > MAX_BILL_RESULTS {
        out.push(result(
            rel,
            CheckStatus::Concern,
            format!(
                "{} more components are declared under Category B or X licences; see the SBOM",
                total - MAX_BILL_RESULTS
            ),
        ));
    }
    out.push(
        result(
            rel,
            CheckStatus::Note,
            format!(
                "Licence bill: {} component licences in Category A, {} in Category B, {} in Category X, {} not recognised",
                counts[0], counts[1], counts[2], counts[3]
            ),
        )
        .with_data(json!({ "category_a": counts[0], "category_b": counts[1], "category_x": counts[2], "unrecognised": counts[3] })),
    );
}

/// Whether a source archive has its SBOM (`<archive>.cdx.json`) among `files`; when not, a result
/// of status `missing`: on the server the project's release policy sets it
/// ([`atr_core::model::MissingSbom`], default `suggestion`), in `atr-check` its `--missing-sbom` flag.
/// The message says how to fix it: generate the SBOM, upload one, or change the setting.
pub fn check_sbom_presence(archive: &RelPath, files: &[RelPath], missing: CheckStatus) -> Vec<CheckResult> {
    let sbom = super::sbom_path(archive);
    if files.contains(&sbom) {
        vec![
            result(archive, CheckStatus::Note, format!("`{archive}` has its SBOM `{sbom}`"))
                .with_data(json!({ "sbom": sbom.as_str() })),
        ]
    } else {
        let meaning = match missing {
            CheckStatus::Blocker => "a blocker: no vote until it has one",
            CheckStatus::Concern => "a concern: acknowledge it before the vote",
            CheckStatus::Suggestion => "a suggestion",
            CheckStatus::Exception | CheckStatus::Note => missing.as_str(),
        };
        vec![
            result(
                archive,
                missing,
                format!(
                    "Source archive `{archive}` has no SBOM beside it; the release policy makes that {meaning}. To fix it, generate `{sbom}` with \"Generate SBOM\" on the compose page (or `atr sbom generate`), or upload one made by your build; committee members can change the \"Missing SBOM\" setting of the project's release policy, which applies from the next revision (atr-check: --missing-sbom)"
                ),
            )
            .with_data(json!({ "error_kind": "missing_sbom", "sbom": sbom.as_str(), "policy": "missing_sbom_status", "status": missing.as_str() })),
        ]
    }
}
