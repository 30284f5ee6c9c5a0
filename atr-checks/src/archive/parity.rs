//! Parity across formats: the same release tree shipped as, say, `-src.tar.gz` and `-src.zip`
//! must hold the same files with the same content.

use std::collections::BTreeMap;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde_json::json;

use super::ArchiveReport;
use super::format::ArchiveFormat;
use super::structure::list;
use super::walk::MemberKind;

/// Members listed in a parity message before only the count is given.
const SHOWN: usize = 10;

/// Compares the trees of archives that share a name but not a format.
///
/// Archives are grouped by their path without the archive extension; every group of two or more is
/// compared against its first member. A match is a note; a difference is a concern listing the
/// members that differ; an archive that could not be read to its end gives an exception.
pub fn parity(reports: &[(&RelPath, &ArchiveReport)]) -> Vec<CheckResult> {
    let mut groups: BTreeMap<String, Vec<(&RelPath, &ArchiveReport)>> = BTreeMap::new();
    for (rel, report) in reports {
        let name = rel.as_str();
        if let Some((_, stem)) = ArchiveFormat::from_name(name) {
            groups.entry(stem.to_owned()).or_default().push((rel, report));
        }
    }
    let mut out = Vec::new();
    for group in groups.values().filter(|g| g.len() > 1) {
        let (first_rel, first) = group[0];
        for (rel, report) in &group[1..] {
            out.push(compare(first_rel, first, rel, report));
        }
    }
    out
}

fn files(report: &ArchiveReport) -> BTreeMap<&str, String> {
    report
        .listing
        .iter()
        .filter_map(|m| match m.kind {
            MemberKind::File => m.blake3.map(|h| (m.path.as_str(), super::walk::hex(&h))),
            MemberKind::Symlink => {
                Some((m.path.as_str(), format!("-> {}", m.link_target.as_deref().unwrap_or(""))))
            }
            _ => None,
        })
        .collect()
}

fn compare(a_rel: &RelPath, a: &ArchiveReport, b_rel: &RelPath, b: &ArchiveReport) -> CheckResult {
    let checker = CheckerId::PARITY;
    let (Some(ha), Some(hb)) = (a.tree_hash, b.tree_hash) else {
        let unread = if a.tree_hash.is_none() { a_rel } else { b_rel };
        return CheckResult::new(
            checker,
            CheckStatus::Exception,
            Some(b_rel.clone()),
            format!(
                "Cannot compare `{a_rel}` with `{b_rel}`: `{unread}` could not be read to its end (see its integrity results)"
            ),
        );
    };
    let fa = files(a);
    let fb = files(b);
    if ha == hb {
        return CheckResult::new(
            checker,
            CheckStatus::Note,
            Some(b_rel.clone()),
            format!("`{a_rel}` and `{b_rel}` contain identical trees ({} files)", fa.len()),
        )
        .with_data(json!({"tree_hash": super::walk::hex(&ha), "files": fa.len()}));
    }
    let mut differ = Vec::new();
    let mut detail = Vec::new();
    for (path, h) in &fa {
        match fb.get(path) {
            None => {
                differ.push(format!("{path} (only in {a_rel})"));
                detail.push(json!({"member": path, "only_in": a_rel}));
            }
            Some(other) if other != h => {
                differ.push(format!("{path} (content differs)"));
                detail.push(json!({"member": path, "differs": true}));
            }
            Some(_) => {}
        }
    }
    for path in fb.keys().filter(|p| !fa.contains_key(*p)) {
        differ.push(format!("{path} (only in {b_rel})"));
        detail.push(json!({"member": path, "only_in": b_rel}));
    }
    detail.truncate(1000);
    CheckResult::new(checker, CheckStatus::Concern, Some(b_rel.clone()), format!(
        "`{a_rel}` and `{b_rel}` should hold the same tree but {} members differ: {}; rebuild both archives from the same source tree",
        differ.len(),
        list(&differ, SHOWN)
    ))
    .with_data(json!({"differences": detail, "tree_hashes": [super::walk::hex(&ha), super::walk::hex(&hb)]}))
}
