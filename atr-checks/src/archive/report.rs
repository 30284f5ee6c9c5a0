//! Turns what the single pass found into check results: one function per rule.

use std::collections::BTreeMap;

use atr_core::check::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use serde_json::json;

use super::format::ArchiveFormat;
use super::pass::{CAPTURE_CAP, CaptureKind, Captured, Pass};
use super::structure::{self, Layout, list};
use super::walk::{MemberKind, MemberProblem, Problem, WalkOutcome};
use super::{ArchiveCheckContext, ArchiveReport, ArchiveRole};
use crate::licence::headers::{self, Category, MemberLicence};
use crate::licence::{IgnoreRules, NoticeIssue, check_licence_text, check_notice_text};

/// Per-member results listed per kind before only the count is given.
const MAX_MEMBER_RESULTS: usize = 100;

struct Ctx<'a> {
    rel: &'a RelPath,
    ctx: &'a ArchiveCheckContext,
    integrity: CheckerId,
    structure: CheckerId,
    results: Vec<CheckResult>,
}

impl Ctx<'_> {
    fn push(&mut self, checker: CheckerId, status: CheckStatus, message: String) -> &mut CheckResult {
        self.results.push(CheckResult::new(checker, status, Some(self.rel.clone()), message));
        self.results.last_mut().expect("just pushed")
    }
}

pub(crate) fn assemble(
    rel: &RelPath,
    ctx: &ArchiveCheckContext,
    format: ArchiveFormat,
    outcome: WalkOutcome,
    pass: Pass,
) -> ArchiveReport {
    let (integrity, structure) = if format.is_tar() {
        (CheckerId::TARGZ_INTEGRITY, CheckerId::TARGZ_STRUCTURE)
    } else {
        (CheckerId::ZIP_INTEGRITY, CheckerId::ZIP_STRUCTURE)
    };
    let mut c = Ctx { rel, ctx, integrity, structure, results: Vec::new() };
    integrity_results(&mut c, format, &outcome);
    let name = rel.file_name();
    let stem = ArchiveFormat::from_name(name).map_or(name, |(_, s)| s).to_owned();
    let zip_artifact = ArchiveFormat::is_zip_artifact_name(name);
    let layout = structure::layout(&outcome.listing);
    let package_json = pass.captured.iter().find(|c| c.kind == CaptureKind::PackageJson);
    if !zip_artifact {
        structure_results(&mut c, &stem, &layout, package_json);
    }
    let base = match &layout {
        Layout::SingleRoot { root, .. } | Layout::FilesBeside { root, .. } => Some(root.clone()),
        _ => None,
    };
    licence_file_results(&mut c, &pass.captured, base.as_deref(), &pass.capture_skipped, outcome.complete);
    let mut licences = Vec::new();
    let mut counts = BTreeMap::new();
    if ctx.role == ArchiveRole::Source {
        (licences, counts) = licence_analysis(&mut c, &pass, base.as_deref(), outcome.complete);
        compiled_results(&mut c, &pass.compiled);
    }
    let tree_hash = outcome.complete.then(|| tree_hash(&outcome.listing));
    ArchiveReport {
        format: Some(format),
        results: c.results,
        listing: outcome.listing,
        tree_hash,
        licences,
        licence_counts: counts,
        complete: outcome.complete,
        uncompressed_bytes: outcome.total_bytes,
    }
}

fn tree_hash(listing: &[super::MemberInfo]) -> [u8; 32] {
    let mut entries: Vec<(&str, u8, &[u8])> = listing
        .iter()
        .filter_map(|m| match m.kind {
            MemberKind::File => m.blake3.as_ref().map(|h| (m.path.as_str(), b'f', &h[..])),
            MemberKind::Symlink => {
                Some((m.path.as_str(), b'l', m.link_target.as_deref().unwrap_or("").as_bytes()))
            }
            _ => None,
        })
        .collect();
    entries.sort();
    let mut h = blake3::Hasher::new();
    for (path, kind, content) in entries {
        h.update(&(path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update(&[kind]);
        h.update(&(content.len() as u64).to_le_bytes());
        h.update(content);
    }
    *h.finalize().as_bytes()
}

fn member_problem_message(member: &str, p: &MemberProblem, limits: &super::ArchiveLimits) -> String {
    match p {
        MemberProblem::NonUtf8Name => {
            format!("Member `{member}` has a name that is not valid UTF-8; rename it using UTF-8")
        }
        MemberProblem::ControlCharacter => format!(
            "Member `{}` has a control character (such as a newline) in its name; rename it",
            member.escape_debug()
        ),
        MemberProblem::AbsolutePath => {
            format!(
                "Member `{member}` has an absolute path; archive members must be relative to the archive root"
            )
        }
        MemberProblem::ParentTraversal => format!(
            "Member `{member}` contains `..` and would be written outside the extraction directory (path traversal); re-create the archive from a clean directory"
        ),
        MemberProblem::TooDeep(d) => format!(
            "Member `{member}` is {d} levels deep, beyond the {}; if the archive is legitimate, raise `max_depth` in the release policy's archive limits",
            super::LimitKind::Depth.describe(limits)
        ),
        MemberProblem::LinkOutOfTree(t) => format!(
            "Member `{member}` is a symbolic link to `{t}`, which points outside the archive; release archives must not link out of their tree"
        ),
        MemberProblem::HardLink(t) => format!(
            "Member `{member}` is a hard link to `{t}`; hard links are not allowed in release archives, store the file itself"
        ),
        MemberProblem::Special(kind) => format!(
            "Member `{member}` is a {kind}; release archives may hold only files, directories and symbolic links"
        ),
        MemberProblem::Duplicate => format!(
            "Member `{member}` appears more than once; which copy is extracted depends on the tool, so re-create the archive with each path once"
        ),
        MemberProblem::Unreadable(why) => format!(
            "Member `{member}` cannot be read: {why}; re-create the archive without encryption or exotic compression"
        ),
    }
}

fn integrity_results(c: &mut Ctx<'_>, format: ArchiveFormat, outcome: &WalkOutcome) {
    let limits = c.ctx.limits;
    let checker = c.integrity;
    for p in &outcome.problems {
        match p {
            Problem::Member { member, problem } => {
                let msg = member_problem_message(member, problem, &limits);
                c.push(checker, CheckStatus::Blocker, msg).member_rel_path = Some(member.clone());
            }
            Problem::Limit { member, kind } => {
                let at = member.as_ref().map_or(String::new(), |m| format!(" at member `{m}`"));
                let msg = format!(
                    "Stopped reading{at}: the archive exceeds the {}. If the archive is legitimate, raise `{}` (currently {}) in the release policy's archive limits",
                    kind.describe(&limits),
                    kind.field(),
                    kind.value(&limits)
                );
                let data = json!({"limit": kind.field(), "value": kind.value(&limits), "uncompressed_bytes_read": outcome.total_bytes});
                let r = c.push(checker, CheckStatus::Blocker, msg).clone().with_data(data);
                let r = match member {
                    Some(m) => r.with_member(m.clone()),
                    None => r,
                };
                *c.results.last_mut().expect("pushed") = r;
            }
            Problem::Corrupt { member, detail } => {
                let at = member.as_ref().map_or(String::new(), |m| format!(" while reading member `{m}`"));
                let msg = format!(
                    "The {format} archive is truncated or corrupt: reading failed{at}: {detail}. Re-create the archive and upload it again"
                );
                let r = c.push(checker, CheckStatus::Blocker, msg);
                r.member_rel_path = member.clone();
                r.data = json!({"error": detail});
            }
        }
    }
    if outcome.complete {
        let files = outcome.listing.iter().filter(|m| m.kind == MemberKind::File).count();
        let crc = if format.is_tar() { "" } else { " and CRC-checked" };
        let msg = format!(
            "Read all {} members ({files} files, {} bytes uncompressed) of the {format} archive to their end{crc}",
            outcome.listing.len(),
            outcome.total_bytes
        );
        let data = json!({"members": outcome.listing.len(), "files": files, "uncompressed_bytes": outcome.total_bytes});
        c.push(checker, CheckStatus::Note, msg).data = data;
    }
}

fn structure_results(c: &mut Ctx<'_>, stem: &str, layout: &Layout, package_json: Option<&Captured>) {
    let accepted = structure::accepted_roots(stem);
    let expected = &accepted[0];
    let alternatives = if accepted.len() > 1 { format!(" (or `{}`)", accepted[1]) } else { String::new() };
    let checker = c.structure;
    match layout {
        Layout::Empty => {
            c.push(
                checker,
                CheckStatus::Concern,
                "The archive is empty; a release archive holds one root directory with the release in it"
                    .into(),
            );
        }
        Layout::SingleRoot { root, symlink: true } => {
            c.push(checker, CheckStatus::Concern, format!("The root directory `{root}` is a symbolic link; the root must be a real directory named `{expected}`{alternatives}"))
                .member_rel_path = Some(root.clone());
        }
        Layout::SingleRoot { root, symlink: false } => {
            if accepted.contains(root) {
                c.push(
                    checker,
                    CheckStatus::Note,
                    format!("Archive contains exactly one root directory, `{root}`, matching its name"),
                );
            } else if root == "package"
                && package_json.is_some_and(|p| structure::npm_matches(stem, &p.content))
            {
                c.push(checker, CheckStatus::Note, "npm package archive: root `package/` holds a package.json whose name and version match the file name".into());
            } else {
                let npm = if root == "package" {
                    " (an npm archive's package.json must have the name and version of the file name)"
                } else {
                    ""
                };
                c.push(checker, CheckStatus::Concern, format!(
                    "Root directory `{root}` does not match the expected name `{expected}`{alternatives}{npm}; rename the root directory or the archive"
                ))
                .data = json!({"root": root, "expected": accepted});
            }
        }
        Layout::Several { dirs, files } => {
            let beside =
                if files.is_empty() { String::new() } else { format!(", and files {}", list(files, 10)) };
            c.push(checker, CheckStatus::Concern, format!(
                "Multiple root directories found: {}{beside}; a release archive must have exactly one root directory, `{expected}`",
                list(dirs, 10)
            ))
            .data = json!({"directories": dirs, "files": files});
        }
        Layout::FilesBeside { root, files } => {
            c.push(checker, CheckStatus::Concern, format!(
                "Files found directly in the archive root beside the root directory `{root}`: {}; move them into `{root}/`",
                list(files, 10)
            ))
            .data = json!({"root": root, "files": files});
        }
        Layout::NoRoot { files } => {
            c.push(checker, CheckStatus::Concern, format!(
                "No root directory: {} files sit directly at the top of the archive ({}); put everything under one directory named `{expected}`",
                files.len(),
                list(files, 5)
            ))
            .data = json!({"files": files});
        }
    }
}

/// Where a LICENSE/NOTICE/DISCLAIMER counts for this role.
fn in_place(path: &str, base: Option<&str>, role: ArchiveRole) -> bool {
    let parent = path.rsplit_once('/').map(|(p, _)| p);
    let at_root = match base {
        Some(b) => parent == Some(b),
        None => parent.is_none(),
    };
    match role {
        ArchiveRole::Source => at_root,
        ArchiveRole::Binary => {
            at_root
                || parent.is_none()
                || parent.is_some_and(|p| p == "META-INF" || p.ends_with("/META-INF"))
                || path.contains(".dist-info/")
        }
    }
}

fn licence_file_results(
    c: &mut Ctx<'_>,
    captured: &[Captured],
    base: Option<&str>,
    skipped: &[String],
    complete: bool,
) {
    let role = c.ctx.role;
    let checker = CheckerId::LICENSE_FILES;
    let (severe, place) = match (role, base) {
        (ArchiveRole::Source, Some(b)) => (CheckStatus::Blocker, format!("in the root directory `{b}/`")),
        (ArchiveRole::Source, None) => (CheckStatus::Blocker, "at the top of the archive".to_owned()),
        (ArchiveRole::Binary, _) => (
            CheckStatus::Concern,
            "in the customary place for this binary (`META-INF/` in jars, `*.dist-info/` in wheels, the root directory otherwise)".to_owned(),
        ),
    };
    if !skipped.is_empty() {
        c.push(
            checker,
            CheckStatus::Exception,
            format!("Too many licence-like files to keep in memory; not checked: {}", list(skipped, 5)),
        );
    }
    for (kind, label) in [(CaptureKind::Licence, "LICENSE"), (CaptureKind::Notice, "NOTICE")] {
        let found: Vec<&Captured> =
            captured.iter().filter(|f| f.kind == kind && in_place(&f.path, base, role)).collect();
        if found.is_empty() && !complete {
            c.push(checker, CheckStatus::Exception, format!(
                "No {label} file found in the part of the archive that could be read; fix the integrity problem first"
            ));
            continue;
        }
        if found.is_empty() {
            c.push(
                checker,
                severe,
                format!("No {label} file found {place}; every release package must contain {label}"),
            );
            continue;
        }
        let exact: Vec<&&Captured> =
            found.iter().filter(|f| f.path.rsplit('/').next() == Some(label)).collect();
        if found.len() > 1 && role == ArchiveRole::Source {
            let names: Vec<String> = found.iter().map(|f| f.path.clone()).collect();
            c.push(
                checker,
                CheckStatus::Concern,
                format!("Multiple {label} files found: {}; keep exactly one", list(&names, 5)),
            )
            .data = json!({"files": names});
        }
        let file = exact.first().map_or(found[0], |f| **f);
        let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
        if file_name != label && role == ArchiveRole::Source {
            c.push(
                checker,
                CheckStatus::Suggestion,
                format!(
                    "`{}` is accepted as the {label} file; the conventional name is `{label}`",
                    file.path
                ),
            )
            .member_rel_path = Some(file.path.clone());
        }
        let truncated = file.content.len() >= CAPTURE_CAP;
        match kind {
            CaptureKind::Licence => match check_licence_text(&file.content) {
                Ok(()) => {
                    c.push(
                        checker,
                        CheckStatus::Note,
                        format!("`{}` starts with the full Apache License 2.0 text", file.path),
                    )
                    .member_rel_path = Some(file.path.clone());
                }
                Err(m) => {
                    let shown: Vec<&str> = m.diff.iter().take(6).map(String::as_str).collect();
                    let r = c.push(checker, severe, format!(
                        "`{}` does not start with the full Apache License 2.0 text; first difference at line {} (ignoring blank lines and spacing): {}. Put the unmodified Apache License 2.0 first and append other licences after it",
                        file.path, m.first_difference, shown.join(" | ")
                    ));
                    r.member_rel_path = Some(file.path.clone());
                    r.data = json!({"first_difference": m.first_difference, "diff": m.diff, "truncated": truncated});
                }
            },
            _ => {
                let issues = check_notice_text(&file.content);
                if issues.is_empty() {
                    c.push(
                        checker,
                        CheckStatus::Note,
                        format!(
                            "`{}` has the product line, the ASF copyright line and the ASF attribution",
                            file.path
                        ),
                    )
                    .member_rel_path = Some(file.path.clone());
                } else {
                    let status = if issues.iter().any(|i| *i != NoticeIssue::ProductLine) {
                        severe
                    } else {
                        CheckStatus::Concern
                    };
                    let preamble: Vec<String> =
                        String::from_utf8_lossy(&file.content).lines().take(3).map(str::to_owned).collect();
                    let described: Vec<&str> = issues.iter().map(|i| i.describe()).collect();
                    let r = c.push(
                        checker,
                        status,
                        format!("`{}` is incomplete: {}", file.path, described.join("; ")),
                    );
                    r.member_rel_path = Some(file.path.clone());
                    r.data = json!({"issues": issues, "preamble": preamble});
                }
            }
        }
    }
    if c.ctx.podling {
        let found =
            captured.iter().find(|f| f.kind == CaptureKind::Disclaimer && in_place(&f.path, base, role));
        match found {
            Some(f) => {
                c.push(checker, CheckStatus::Note, format!("Podling disclaimer `{}` is present", f.path))
                    .member_rel_path = Some(f.path.clone());
            }
            None => {
                c.push(checker, severe, format!(
                    "No DISCLAIMER or DISCLAIMER-WIP file found {place}; podling releases must carry the incubator disclaimer"
                ));
            }
        }
    }
}

/// Excludes: the archive's `.rat-excludes`/`rat-excludes.txt` (rooted at the root directory) and
/// the revision's `.atr/license-headers-ignore`.
fn exclusion_rules(c: &Ctx<'_>, pass: &Pass) -> (IgnoreRules, Vec<String>) {
    let mut rules = IgnoreRules::default();
    let mut sources = Vec::new();
    for f in pass.captured.iter().filter(|f| f.kind == CaptureKind::RatExcludes) {
        rules.extend(&String::from_utf8_lossy(&f.content));
        sources.push(f.path.clone());
    }
    if let Some(text) = &c.ctx.header_ignore {
        rules.extend(text);
        sources.push(".atr/license-headers-ignore".into());
    }
    (rules, sources)
}

fn licence_analysis(
    c: &mut Ctx<'_>,
    pass: &Pass,
    base: Option<&str>,
    complete: bool,
) -> (Vec<(String, MemberLicence)>, BTreeMap<String, u64>) {
    let (rules, sources) = exclusion_rules(c, pass);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut spdx: BTreeMap<String, u64> = BTreeMap::new();
    let (mut unknown, mut cat_b, mut cat_x, mut cat_x_exc, mut missing_headers) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut source_files, mut apache_headers, mut spdx_headers, mut generated, mut other_headers) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut excluded = 0u64;
    let mut analysed = Vec::with_capacity(pass.verdicts.len());
    for (path, verdict) in &pass.verdicts {
        let below_root = match base {
            Some(b) => path.strip_prefix(b).and_then(|p| p.strip_prefix('/')).unwrap_or(path),
            None => path,
        };
        // Like RAT, files inside hidden directories (`.github/`, `.mvn/`, …) are not analysed.
        if below_root.rsplit_once('/').is_some_and(|(dir, _)| dir.split('/').any(|seg| seg.starts_with('.')))
        {
            *counts.entry("hidden directory".into()).or_default() += 1;
            excluded += 1;
            continue;
        }
        if !rules.is_empty()
            && (rules.is_ignored(below_root, false)
                || rules.is_ignored(path, false)
                || rules.is_ignored(&format!("{}/{path}", c.rel.file_name()), false))
        {
            excluded += 1;
            continue;
        }
        analysed.push((path.clone(), verdict.clone()));
        *counts.entry(verdict.family()).or_default() += 1;
        if let MemberLicence::Apache { spdx: true } = verdict {
            *spdx.entry("Apache-2.0".into()).or_default() += 1;
        }
        let source = headers::is_source_file(path);
        if source {
            source_files += 1;
            match verdict {
                MemberLicence::Apache { spdx: false } => apache_headers += 1,
                MemberLicence::Apache { spdx: true } => spdx_headers += 1,
                MemberLicence::Generated => generated += 1,
                MemberLicence::Unknown => missing_headers.push(path.clone()),
                _ => other_headers += 1,
            }
        }
        match verdict {
            MemberLicence::Unknown if !source => unknown.push(path.clone()),
            MemberLicence::Other { licence, category, exception, spdx: from_spdx } => {
                if *from_spdx {
                    *spdx.entry(licence.clone()).or_default() += 1;
                }
                match (category, exception) {
                    (Category::B, _) => cat_b.push((path.clone(), licence.clone())),
                    (Category::X, false) => cat_x.push((path.clone(), licence.clone())),
                    (Category::X, true) => cat_x_exc.push((path.clone(), licence.clone())),
                    (Category::A, _) => {}
                }
            }
            _ => {}
        }
    }
    let hidden = counts.get("hidden directory").copied().unwrap_or(0);
    if excluded > hidden {
        counts.insert("excluded".into(), excluded - hidden);
    }
    let rat = CheckerId::RAT;
    let heads = CheckerId::LICENSE_HEADERS;
    for p in missing_headers.iter().take(MAX_MEMBER_RESULTS) {
        c.push(heads, CheckStatus::Concern, format!(
            "`{p}` has no Apache licence header and no other recognised licence; add the ASF source header, or list the file in `.rat-excludes` or `.atr/license-headers-ignore` if it cannot carry one"
        ))
        .member_rel_path = Some(p.clone());
    }
    let header_summary = format!(
        "Checked {source_files} source files: {apache_headers} with the Apache header, {spdx_headers} with `SPDX-License-Identifier: Apache-2.0`, {other_headers} under another recognised licence, {generated} generated, {} without a licence header{}",
        missing_headers.len(),
        if missing_headers.len() > MAX_MEMBER_RESULTS {
            format!(" (the first {MAX_MEMBER_RESULTS} are listed)")
        } else {
            String::new()
        }
    );
    let status = if missing_headers.is_empty() { CheckStatus::Note } else { CheckStatus::Concern };
    c.push(heads, status, header_summary).data = json!({
        "source_files": source_files, "apache": apache_headers, "spdx_apache": spdx_headers,
        "other_licence": other_headers, "generated": generated, "missing": missing_headers.len(),
    });
    for p in unknown.iter().take(MAX_MEMBER_RESULTS) {
        c.push(rat, CheckStatus::Concern, format!(
            "`{p}` has no recognised licence; add the ASF header if the file is ours, or exclude it in `.rat-excludes` if it cannot carry one"
        ))
        .member_rel_path = Some(p.clone());
    }
    for (p, l) in cat_b.iter().take(MAX_MEMBER_RESULTS) {
        c.push(rat, CheckStatus::Concern, format!(
            "`{p}` is under {l}, an ASF Category B licence: such code may ship in binary form only (or as unmodified, clearly labelled source); check it belongs here and is listed in LICENSE"
        ))
        .member_rel_path = Some(p.clone());
    }
    for (p, l) in cat_x.iter().take(MAX_MEMBER_RESULTS) {
        let r = c.push(rat, CheckStatus::Blocker, format!(
            "`{p}` is under {l}, an ASF Category X licence that must not be included in an Apache release; remove the file or replace it"
        ));
        r.member_rel_path = Some(p.clone());
        r.data = json!({"licence": l});
    }
    for (p, l) in cat_x_exc.iter().take(MAX_MEMBER_RESULTS) {
        c.push(rat, CheckStatus::Concern, format!(
            "`{p}` is under {l} with a special exception (as build tools such as autoconf and libtool grant); confirm the exception allows distribution in an Apache release"
        ))
        .member_rel_path = Some(p.clone());
    }
    let total: u64 = counts.values().sum::<u64>() - excluded;
    let families: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let flagged_unknown = unknown.len() + missing_headers.len();
    let data = json!({
        "files": total, "counts": counts, "spdx": spdx, "excluded": excluded, "exclude_files": sources,
        "unknown": flagged_unknown, "category_b": cat_b.len(), "category_x": cat_x.len(), "category_x_with_exception": cat_x_exc.len(),
    });
    let partial = if complete { "" } else { " (only the part of the archive that could be read)" };
    let summary = format!("Licence analysis of {total} files{partial}: {}", families.join(", "));
    let status = if !cat_x.is_empty() {
        CheckStatus::Blocker
    } else if flagged_unknown + cat_b.len() + cat_x_exc.len() > 0 {
        CheckStatus::Concern
    } else {
        CheckStatus::Note
    };
    let message = if status == CheckStatus::Note {
        format!("{summary}; all files have approved licences")
    } else {
        format!(
            "{summary}; found {flagged_unknown} files with unknown licences ({} of them source files, reported by the header check), {} under Category B and {} under Category X ({} with exceptions)",
            missing_headers.len(),
            cat_b.len(),
            cat_x.len() + cat_x_exc.len(),
            cat_x_exc.len()
        )
    };
    c.push(rat, status, message).data = data;
    (analysed, counts)
}

fn compiled_results(c: &mut Ctx<'_>, compiled: &[(String, &'static str)]) {
    if compiled.is_empty() {
        return;
    }
    let names: Vec<String> = compiled.iter().map(|(p, _)| p.clone()).collect();
    let data: Vec<serde_json::Value> =
        compiled.iter().take(1000).map(|(p, k)| json!({"member": p, "kind": k})).collect();
    let checker = c.structure;
    c.push(checker, CheckStatus::Concern, format!(
        "The source archive contains {} compiled files ({}); a source release should not contain compiled code, so remove them or explain why they are needed",
        compiled.len(),
        list(&names, 10)
    ))
    .data = json!({"compiled": data});
}
