//! SBOMs end to end with real worker processes: a source archive without an SBOM is flagged;
//! a generation request (storage's `request_sbom_generation`, as the web and the API call it)
//! makes a new revision with `<artifact>.cdx.json`, whose own checks find it valid and matching.

use std::time::Duration;

use atr_checks::archive::ArchiveFormat;
use atr_checks::sbom::schema;
use atr_checks::testing::archive::ArchiveBuilder;
use atr_core::check::{CheckStatus, CheckerId};
use atr_core::model::{AuditAction, MissingSbom, TaskType};
use atr_core::path::RelPath;
use atr_core::plan::SbomRefusal;

use crate::support::*;

const PACKAGE_JSON: &str = r#"{ "name": "apache-test-ui", "version": "0.2.0", "license": "Apache-2.0", "dependencies": { "gpl-lib": "1.0.0" } }"#;
const PACKAGE_LOCK: &str = r#"{ "lockfileVersion": 3, "packages": {
  "": { "name": "apache-test-ui", "version": "0.2.0" },
  "node_modules/gpl-lib": { "version": "1.0.0", "license": "GPL-2.0-only" } } }"#;

#[test]
fn generation_makes_a_revision_whose_sbom_checks_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let name = "apache-test-0.2-src.tar.gz";
    let archive = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-test-0.2-src")
        .file("apache-test-0.2-src/ui/package.json", PACKAGE_JSON)
        .file("apache-test-0.2-src/ui/package-lock.json", PACKAGE_LOCK)
        .build();
    let rel = RelPath::new(name).unwrap();
    let (rev1, (), _) = s.create_draft_revision(&new_rev("upload"), |d| d.write(&rel, &archive)).unwrap();
    let r1 = rev1.number;

    // Refusals come from the core's rule, before anything is queued.
    let ask = |p: &str| {
        s.request_sbom_generation(
            &project_key(),
            &version_key(),
            &RelPath::new(p).unwrap(),
            &uid(),
            false,
            now(),
        )
    };
    assert_eq!(
        ask("nothing.tar.gz").unwrap(),
        Err(SbomRefusal::NoSuchFile(RelPath::new("nothing.tar.gz").unwrap()))
    );
    let task = ask(name).unwrap().unwrap();
    let audit = s.read(|tx| tx.audit_events_for("test-0.2")).unwrap();
    assert!(
        audit.iter().any(|e| e.action == AuditAction::SbomGenerate && e.details["artifact"] == name),
        "{audit:?}"
    );

    let m = manager(dir.path(), 2, Duration::from_secs(120), &[]);
    let (_, failed) = drain(&s, Duration::from_secs(120));
    m.shutdown().unwrap();
    assert_eq!(failed, 0);

    // Revision 1: the archive has no SBOM beside it.
    let results1 = s.read(|tx| tx.check_results(&project_key(), &version_key(), r1)).unwrap();
    let presence: Vec<_> = results1.iter().filter(|r| r.result.checker == CheckerId::SBOM).collect();
    assert_eq!(presence.len(), 1, "{results1:#?}");
    // The project keeps the default policy (ATR's): a missing SBOM is a suggestion.
    assert_eq!(presence[0].result.status, CheckStatus::Suggestion);
    assert_eq!(presence[0].result.data["error_kind"], "missing_sbom");
    assert!(presence[0].result.message.contains("makes that a suggestion"), "{presence:#?}");

    // The generation task made revision 2 with the SBOM.
    let done = s.read(|tx| tx.task(task)).unwrap().unwrap();
    let value = done.result.clone().unwrap();
    assert_eq!(value["status"], "completed", "{value}");
    let r2 = s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap().unwrap();
    assert!(r2 > r1);
    assert_eq!(value["revision"], r2.to_string());
    let sbom_rel = RelPath::new(format!("{name}.cdx.json")).unwrap();
    let files = s.revision_files(&project_key(), &version_key(), r2).unwrap();
    assert_eq!(files, [rel.clone(), sbom_rel.clone()]);
    let text = std::fs::read(s.layout().revision(&project_key(), &version_key(), r2).join(sbom_rel.as_str()))
        .unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(schema::validate(&bom), Ok(()));
    // No checksum file: the pass computed the SHA-256.
    assert_eq!(bom["metadata"]["component"]["hashes"][0]["alg"], "SHA-256");
    assert_eq!(value["digests_supplied"], false);
    assert!(bom["metadata"]["authors"].as_array().unwrap().iter().any(|a| a["name"] == uid().as_str()));

    // Revision 2's checks: the SBOM is valid and matches, the archive has its SBOM, the GPL
    // dependency is on the licence bill.
    let results2 = s.read(|tx| tx.check_results(&project_key(), &version_key(), r2)).unwrap();
    let sbom_results: Vec<_> =
        results2.iter().filter(|r| r.result.checker == CheckerId::SBOM).map(|r| &r.result).collect();
    assert!(
        sbom_results.iter().all(|r| r.status != CheckStatus::Blocker && r.status != CheckStatus::Exception),
        "{sbom_results:#?}"
    );
    assert!(sbom_results.iter().any(|r| r.message.contains("is valid CycloneDX 1.6")));
    assert!(sbom_results.iter().any(|r| r.message.contains("matches")));
    assert!(
        sbom_results
            .iter()
            .any(|r| r.primary_rel_path.as_ref() == Some(&rel) && r.status == CheckStatus::Note)
    );
    let bill: Vec<_> = sbom_results.iter().filter(|r| r.status == CheckStatus::Concern).collect();
    assert_eq!(bill.len(), 1, "{sbom_results:#?}");
    assert_eq!(bill[0].data["component"], "gpl-lib@1.0.0");
    assert_eq!(bill[0].data["category"], "X");
    assert!(sbom_results.iter().any(|r| r.data.get("ntia").is_some()));
    let tasks2 = s.read(|tx| tx.tasks_for_revision(&project_key(), &version_key(), r2)).unwrap();
    assert!(
        tasks2.iter().any(|t| t.spec.task_type == TaskType::SbomCheck
            && t.spec.primary_rel_path.as_ref() == Some(&sbom_rel))
    );

    // A second request is refused: the SBOM exists now.
    assert_eq!(ask(name).unwrap(), Err(SbomRefusal::Exists(sbom_rel)));
}

/// The project's missing-SBOM setting decides the status the real worker records for a source
/// archive without an SBOM, and the message names every way to fix it.
#[test]
fn the_policy_decides_how_serious_a_missing_sbom_is() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let mut revisions = Vec::new();
    for (i, setting) in MissingSbom::ALL.iter().copied().enumerate() {
        s.write(|tx| {
            let mut p = tx.project(&project_key())?.unwrap();
            p.policy.missing_sbom_status = setting;
            tx.set_release_policy(&project_key(), &p.policy)
        })
        .unwrap();
        let root = format!("apache-test-0.{i}-src");
        let archive = ArchiveBuilder::source_release(ArchiveFormat::TarGz, &root).build();
        let rel = RelPath::new(format!("{root}.tar.gz")).unwrap();
        let (rev, (), _) = s.create_draft_revision(&new_rev("upload"), |d| d.write(&rel, &archive)).unwrap();
        revisions.push((setting, rev.number, rel));
    }
    let m = manager(dir.path(), 1, Duration::from_secs(120), &[]);
    let (_, failed) = drain(&s, Duration::from_secs(120));
    m.shutdown().unwrap();
    assert_eq!(failed, 0);
    for (setting, n, rel) in revisions {
        let results = s.read(|tx| tx.check_results(&project_key(), &version_key(), n)).unwrap();
        let missing: Vec<_> = results
            .iter()
            .map(|r| &r.result)
            .filter(|r| r.checker == CheckerId::SBOM && r.data["error_kind"] == "missing_sbom")
            .filter(|r| r.primary_rel_path.as_ref() == Some(&rel))
            .collect();
        assert_eq!(missing.len(), 1, "{setting}: {results:#?}");
        let r = missing[0];
        assert_eq!(r.status, setting.status(), "{setting}");
        assert_eq!(r.data["status"], setting.as_str());
        for fix in ["Generate SBOM", "upload one made by your build", "\"Missing SBOM\" setting"] {
            assert!(r.message.contains(fix), "{setting}: {}", r.message);
        }
    }
}

/// With a checksum file beside the archive, generation takes the SHA-512 the checksum check
/// computed from the same file instead of hashing it again; the new SBOM's check verifies it.
#[test]
fn generation_reuses_the_digest_of_the_checksum_check() {
    use atr_checks::hashes::{HashAlgorithm, hash_file};
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    let name = "apache-test-0.3-src.tar.gz";
    let archive = ArchiveBuilder::source_release(ArchiveFormat::TarGz, "apache-test-0.3-src").build();
    let copy = dir.path().join("archive-copy");
    std::fs::write(&copy, &archive).unwrap();
    let sha512 = hash_file(&copy, HashAlgorithm::Sha512).unwrap();
    let rel = RelPath::new(name).unwrap();
    let sums = RelPath::new(format!("{name}.sha512")).unwrap();
    s.create_draft_revision(&new_rev("upload"), |d| {
        d.write(&rel, &archive)?;
        d.write(&sums, format!("{sha512}  {name}\n").as_bytes())
    })
    .unwrap();
    let m = manager(dir.path(), 1, Duration::from_secs(120), &[]);
    let (_, failed) = drain(&s, Duration::from_secs(120));
    assert_eq!(failed, 0);
    let task = s
        .request_sbom_generation(&project_key(), &version_key(), &rel, &uid(), false, now())
        .unwrap()
        .unwrap();
    let (_, failed) = drain(&s, Duration::from_secs(120));
    m.shutdown().unwrap();
    assert_eq!(failed, 0);
    let value = s.read(|tx| tx.task(task)).unwrap().unwrap().result.unwrap();
    assert_eq!(value["status"], "completed", "{value}");
    assert_eq!(value["digests_supplied"], true, "{value}");
    assert_eq!(value["sha512"], sha512.as_str());
    let r2 = s.read(|tx| tx.latest_revision(&project_key(), &version_key())).unwrap().unwrap();
    let sbom_rel = RelPath::new(format!("{name}.cdx.json")).unwrap();
    let text = std::fs::read(s.layout().revision(&project_key(), &version_key(), r2).join(sbom_rel.as_str()))
        .unwrap();
    let bom: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(
        bom["metadata"]["component"]["hashes"],
        serde_json::json!([{ "alg": "SHA-512", "content": sha512 }])
    );
    let results = s.read(|tx| tx.check_results(&project_key(), &version_key(), r2)).unwrap();
    assert!(
        results.iter().any(|r| r.result.primary_rel_path.as_ref() == Some(&sbom_rel)
            && r.result.status == CheckStatus::Note
            && r.result.message.contains("matches")),
        "{results:#?}"
    );
}
