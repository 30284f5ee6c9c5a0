//! SBOMs: generation from real archives holding every manifest type (and the dev corpus's
//! commons-compress), validation against the shipped CycloneDX schemas, NTIA scores, the licence
//! bill, and tampered SBOMs (wrong hash, invalid JSON, wrong spec version).

use std::path::{Path, PathBuf};

use atr_checks::CheckContext;
use atr_checks::archive::{ArchiveCheckContext, ArchiveFormat, ArchiveRole, check_archive};
use atr_checks::sbom::{
    GenerateError, SbomRequest, check_sbom_bytes, check_sbom_file, check_sbom_presence, generate, ntia,
    sbom_path, schema,
};
use atr_checks::testing::archive::{ArchiveBuilder, truncated};
use atr_checks::{CheckResult, CheckStatus, CheckerId};
use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use serde_json::{Value, json};
use sha2::Digest;

const AT: Timestamp = Timestamp::from_unix(1_767_225_600);

const CARGO_TOML: &str = r#"[package]
name = "foo-core"
version = "1.0.0"
license = "Apache-2.0"
authors = ["Apache Foo <dev@foo.apache.org>"]

[dependencies]
serde = "1"
local = { path = "../local" }
exact = "=0.3.1"

[dev-dependencies]
proptest = "1.4"
"#;

const CARGO_LOCK: &str = r#"version = 4

[[package]]
name = "exact"
version = "0.3.1"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "foo-core"
version = "1.0.0"
dependencies = ["exact", "serde"]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

const PACKAGE_JSON: &str = r#"{
  "name": "@apache/foo-ui",
  "version": "1.0.0",
  "license": "Apache-2.0",
  "author": "Apache Foo",
  "dependencies": { "left-pad": "^1.3.0", "gpl-thing": "2.0.0" },
  "devDependencies": { "mocha": "10.0.0" }
}"#;

const PACKAGE_LOCK: &str = r#"{
  "name": "@apache/foo-ui",
  "lockfileVersion": 3,
  "packages": {
    "": { "name": "@apache/foo-ui", "version": "1.0.0", "dependencies": { "left-pad": "^1.3.0" } },
    "node_modules/left-pad": { "version": "1.3.0", "license": "WTFPL" },
    "node_modules/gpl-thing": { "version": "2.0.0", "license": "GPL-3.0-only", "dependencies": { "mpl-thing": "1" } },
    "node_modules/mpl-thing": { "version": "1.1.0", "license": "MPL-2.0" },
    "node_modules/mocha": { "version": "10.0.0", "license": "MIT", "dev": true }
  }
}"#;

const PYPROJECT: &str = r#"[project]
name = "Apache_Foo.Client"
version = "1.0.0"
license = "Apache-2.0"
dependencies = ["requests==2.31.0", "urllib3>=2"]

[project.optional-dependencies]
fast = ["orjson==3.9.0"]
"#;

const REQUIREMENTS: &str = "# pinned for the docs\nsphinx==7.2.6\nfuro ; python_version >= '3.8'\n";

const GO_MOD: &str = "module github.com/apache/foo-go\n\ngo 1.21\n\nrequire (\n\tgithub.com/google/uuid v1.6.0\n\tgolang.org/x/sys v0.18.0 // indirect\n)\n";

const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.apache</groupId><artifactId>apache</artifactId><version>31</version></parent>
  <groupId>org.apache.foo</groupId>
  <artifactId>foo-java</artifactId>
  <version>1.0.0</version>
  <licenses><license><name>Apache License, Version 2.0</name></license></licenses>
  <properties><commons.io.version>2.15.1</commons.io.version></properties>
  <dependencies>
    <dependency><groupId>commons-io</groupId><artifactId>commons-io</artifactId><version>${commons.io.version}</version></dependency>
    <dependency><groupId>org.apache.commons</groupId><artifactId>commons-lang3</artifactId><version>3.14.0</version></dependency>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>5.10.1</version><scope>test</scope></dependency>
  </dependencies>
</project>"#;

fn every_manifest(format: ArchiveFormat) -> Vec<u8> {
    let root = "apache-foo-1.0";
    ArchiveBuilder::source_release(format, root)
        .file(&format!("{root}/pom.xml"), POM)
        .file(&format!("{root}/rust/Cargo.toml"), CARGO_TOML)
        .file(&format!("{root}/rust/Cargo.lock"), CARGO_LOCK)
        .file(&format!("{root}/ui/package.json"), PACKAGE_JSON)
        .file(&format!("{root}/ui/package-lock.json"), PACKAGE_LOCK)
        .file(&format!("{root}/python/pyproject.toml"), PYPROJECT)
        .file(&format!("{root}/docs/requirements.txt"), REQUIREMENTS)
        .file(&format!("{root}/go/go.mod"), GO_MOD)
        // Test data is not part of the build.
        .file(
            &format!("{root}/src/test/resources/pom.xml"),
            "<project><artifactId>ignored</artifactId></project>",
        )
        .build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn release(dir: &Path, name: &str, bytes: &[u8]) -> RelPath {
    std::fs::write(dir.join(name), bytes).unwrap();
    RelPath::new(name).unwrap()
}

fn components(bom: &Value) -> Vec<&Value> {
    bom["components"].as_array().unwrap().iter().collect()
}

fn purls(bom: &Value) -> Vec<String> {
    components(bom).iter().map(|c| c["purl"].as_str().unwrap().to_owned()).collect()
}

fn component<'a>(bom: &'a Value, purl: &str) -> &'a Value {
    components(bom)
        .into_iter()
        .find(|c| c["purl"] == purl)
        .unwrap_or_else(|| panic!("{purl} in {:?}", purls(bom)))
}

fn depends_on(bom: &Value, r: &str) -> Vec<String> {
    let d = bom["dependencies"].as_array().unwrap().iter().find(|d| d["ref"] == r).unwrap();
    d["dependsOn"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

fn of_status(results: &[CheckResult], status: CheckStatus) -> Vec<&CheckResult> {
    results.iter().filter(|r| r.status == status).collect()
}

fn write_sbom(dir: &Path, artifact: &RelPath, bom: &Value) -> RelPath {
    let rel = sbom_path(artifact);
    std::fs::write(dir.join(rel.as_str()), serde_json::to_vec_pretty(bom).unwrap()).unwrap();
    rel
}

#[test]
fn every_manifest_type_becomes_components_with_purls_licences_and_relationships() {
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip, ArchiveFormat::TarXz] {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("apache-foo-1.0-src.{}", format.extension());
        let bytes = every_manifest(format);
        let rel = release(dir.path(), &name, &bytes);
        let ctx = ArchiveCheckContext::new(ArchiveRole::Source);
        let g = generate(&dir.path().join(&name), &rel, &ctx, &SbomRequest::new("foo", "1.0", AT)).unwrap();
        let bom = &g.bom;
        assert_eq!(schema::validate(bom), Ok(()), "{format}");
        assert_eq!(bom["specVersion"], "1.6");
        assert_eq!(bom["metadata"]["timestamp"], "2026-01-01T00:00:00Z");

        // The archive checks ran in the same pass and found what they find alone.
        let alone = check_archive(&dir.path().join(&name), &rel, &ctx);
        assert_eq!(g.report.results, alone.results, "{format}");
        assert_eq!(g.report.tree_hash, alone.tree_hash);

        // The release itself: hashes of the artifact, licence from the analysis, purl.
        let root = &bom["metadata"]["component"];
        assert_eq!(root["name"], "foo");
        assert_eq!(root["version"], "1.0");
        // One strong digest, computed in the pass as nothing was supplied: the SHA-256.
        let sha256 = hex(&sha2::Sha256::digest(&bytes));
        assert_eq!(root["hashes"], json!([{ "alg": "SHA-256", "content": sha256 }]), "{format}");
        assert_eq!((g.hashes.sha256.as_deref(), g.hashes.sha512.as_deref()), (Some(sha256.as_str()), None));
        assert_eq!(g.hashes.size, bytes.len() as u64);
        assert_eq!(root["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(root["purl"], format!("pkg:generic/apache/foo@1.0?file_name={name}"));

        let got = purls(bom);
        for want in [
            "pkg:maven/org.apache.foo/foo-java@1.0.0",
            "pkg:maven/commons-io/commons-io@2.15.1",
            "pkg:maven/org.apache.commons/commons-lang3@3.14.0",
            "pkg:maven/org.junit.jupiter/junit-jupiter@5.10.1",
            "pkg:cargo/foo-core@1.0.0",
            "pkg:cargo/serde@1.0.200",
            "pkg:cargo/exact@0.3.1",
            "pkg:cargo/proptest",
            "pkg:npm/%40apache/foo-ui@1.0.0",
            "pkg:npm/left-pad@1.3.0",
            "pkg:npm/gpl-thing@2.0.0",
            "pkg:npm/mpl-thing@1.1.0",
            "pkg:npm/mocha@10.0.0",
            "pkg:pypi/apache-foo-client@1.0.0",
            "pkg:pypi/requests@2.31.0",
            "pkg:pypi/urllib3",
            "pkg:pypi/orjson@3.9.0",
            "pkg:pypi/sphinx@7.2.6",
            "pkg:pypi/furo",
            "pkg:golang/github.com/apache/foo-go",
            "pkg:golang/github.com/google/uuid@v1.6.0",
            "pkg:golang/golang.org/x/sys@v0.18.0",
        ] {
            assert!(got.iter().any(|p| p == want), "{format}: {want} missing from {got:?}");
        }
        // `serde = "1"` in Cargo.toml is the locked serde 1.0.200, once; path dependencies are not packages.
        assert_eq!(got.iter().filter(|p| p.starts_with("pkg:cargo/serde")).count(), 1);
        assert!(!got.iter().any(|p| p.contains("local") || p.contains("ignored")), "{got:?}");

        // Declared licences: SPDX ids, pom names.
        assert_eq!(component(bom, "pkg:cargo/foo-core@1.0.0")["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(component(bom, "pkg:npm/gpl-thing@2.0.0")["licenses"][0]["license"]["id"], "GPL-3.0-only");
        assert_eq!(
            component(bom, "pkg:maven/org.apache.foo/foo-java@1.0.0")["licenses"][0]["license"]["name"],
            "Apache License, Version 2.0"
        );
        assert_eq!(component(bom, "pkg:maven/org.junit.jupiter/junit-jupiter@5.10.1")["scope"], "excluded");
        assert_eq!(component(bom, "pkg:npm/mocha@10.0.0")["scope"], "excluded");
        assert_eq!(
            component(bom, "pkg:maven/org.apache.commons/commons-lang3@3.14.0")["supplier"]["name"],
            "The Apache Software Foundation"
        );

        // Relationships: the release → each module → its dependencies; lock files give transitive edges.
        let root_ref = root["bom-ref"].as_str().unwrap();
        let top = depends_on(bom, root_ref);
        for m in [
            "pkg:maven/org.apache.foo/foo-java@1.0.0",
            "pkg:cargo/foo-core@1.0.0",
            "pkg:golang/github.com/apache/foo-go",
            "pkg:pypi/sphinx@7.2.6",
        ] {
            assert!(top.iter().any(|t| t == m), "{m} not in {top:?}");
        }
        assert!(depends_on(bom, "pkg:cargo/foo-core@1.0.0").contains(&"pkg:cargo/serde@1.0.200".to_owned()));
        assert_eq!(depends_on(bom, "pkg:npm/gpl-thing@2.0.0"), ["pkg:npm/mpl-thing@1.1.0"]);
        assert_eq!(g.manifests.len(), 8, "{:?}", g.manifests);
        assert!(g.problems.is_empty(), "{:?}", g.problems);

        // The generated SBOM passes its own check, with a score and a licence bill.
        let sbom = write_sbom(dir.path(), &rel, bom);
        let results =
            check_sbom_file(dir.path(), &sbom, &CheckContext::new(std::time::SystemTime::UNIX_EPOCH));
        assert!(of_status(&results, CheckStatus::Blocker).is_empty(), "{results:#?}");
        assert!(results.iter().any(|r| r.message.contains("is valid CycloneDX 1.6")));
        assert!(results.iter().any(|r| r.message.contains("matches") && r.message.contains("(SHA-256)")));
        let concerns = of_status(&results, CheckStatus::Concern);
        let bill: Vec<(&str, &str)> = concerns
            .iter()
            .map(|r| (r.data["component"].as_str().unwrap(), r.data["category"].as_str().unwrap()))
            .collect();
        assert_eq!(bill, [("gpl-thing@2.0.0", "X"), ("mpl-thing@1.1.0", "B")], "{format}");
        assert!(concerns[0].message.contains("GPL-3.0-only") && concerns[0].message.contains("Category X"));
        let score = ntia::score(bom);
        let ntia_result = results.iter().find(|r| r.data.get("ntia").is_some()).unwrap();
        assert_eq!(ntia_result.data["ntia"]["score"], score.score);
        assert!(ntia_result.message.contains(&format!("score {}/100", score.score)));
        // Third-party suppliers are mostly unknown, and ranges (`urllib3>=2`) are not versions:
        // the score says so rather than invent them.
        assert!(score.score < 100 && score.score >= 80, "{score:?}");
        assert_eq!(score.missing().map(|e| e.name).collect::<Vec<_>>(), ["supplier", "version"]);
        assert!(ntia_result.message.contains("missing: supplier"));
    }
}

fn generated(dir: &Path) -> (RelPath, Value) {
    let name = "apache-foo-1.0-src.tar.gz";
    let rel = release(dir, name, &every_manifest(ArchiveFormat::TarGz));
    let g = generate(
        &dir.join(name),
        &rel,
        &ArchiveCheckContext::new(ArchiveRole::Source),
        &SbomRequest::new("foo", "1.0", AT),
    )
    .unwrap();
    (rel, g.bom)
}

fn check(dir: &Path, sbom: &RelPath) -> Vec<CheckResult> {
    check_sbom_file(dir, sbom, &CheckContext::new(std::time::SystemTime::UNIX_EPOCH))
}

fn blocker_kinds(results: &[CheckResult]) -> Vec<String> {
    of_status(results, CheckStatus::Blocker)
        .iter()
        .map(|r| r.data["error_kind"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn a_wrong_hash_is_a_blocker() {
    let dir = tempfile::tempdir().unwrap();
    let (rel, mut bom) = generated(dir.path());
    bom["metadata"]["component"]["hashes"][0]["content"] = json!("00".repeat(64));
    let sbom = write_sbom(dir.path(), &rel, &bom);
    let results = check(dir.path(), &sbom);
    assert_eq!(blocker_kinds(&results), ["hash_mismatch"], "{results:#?}");
    let r = of_status(&results, CheckStatus::Blocker)[0];
    assert_eq!(r.data["alg"], "SHA-256");
    assert!(r.message.contains("does not describe this artifact"));
    assert_eq!(r.checker, CheckerId::SBOM);
}

#[test]
fn invalid_json_is_a_blocker() {
    let dir = tempfile::tempdir().unwrap();
    let (rel, bom) = generated(dir.path());
    let sbom = sbom_path(&rel);
    let mut text = serde_json::to_string_pretty(&bom).unwrap();
    text.truncate(text.len() / 2);
    std::fs::write(dir.path().join(sbom.as_str()), text).unwrap();
    let results = check(dir.path(), &sbom);
    assert_eq!(blocker_kinds(&results), ["invalid_json"]);
    assert_eq!(results.len(), 1);
    assert!(results[0].data["line"].as_u64().unwrap() > 1);
}

#[test]
fn a_wrong_spec_version_fails_that_versions_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (rel, bom) = generated(dir.path());
    // Declares 1.4 but uses 1.5/1.6 fields (lifecycles, tools.components, licence acknowledgement).
    let mut older = bom.clone();
    older["specVersion"] = json!("1.4");
    older.as_object_mut().unwrap().remove("$schema");
    let sbom = write_sbom(dir.path(), &rel, &older);
    let results = check(dir.path(), &sbom);
    assert_eq!(blocker_kinds(&results), ["schema_invalid"], "{results:#?}");
    let r = of_status(&results, CheckStatus::Blocker)[0];
    assert!(r.message.contains("CycloneDX 1.4 schema"), "{}", r.message);
    assert!(!r.data["violations"].as_array().unwrap().is_empty());
    // The hash still ties it to the artifact, and it is still scored.
    assert!(results.iter().any(|r| r.message.contains("matches")));
    // A version with no schema at all, and `$schema` disagreeing with `specVersion`.
    let mut unknown = bom.clone();
    unknown["specVersion"] = json!("9.9");
    let results = check_sbom_bytes(dir.path(), &sbom, &serde_json::to_vec(&unknown).unwrap());
    assert_eq!(blocker_kinds(&results), ["spec_version_mismatch", "unsupported_spec_version"]);
    assert!(results.iter().any(|r| r.message.contains("no CycloneDX JSON schema")));
    // An older SBOM that is valid for its version passes.
    let v14 = json!({ "bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
        "metadata": { "component": { "type": "application", "name": "foo", "hashes": [{ "alg": "SHA-256",
            "content": hex(&sha2::Sha256::digest(std::fs::read(dir.path().join(rel.as_str())).unwrap())) }] } } });
    let results = check_sbom_bytes(dir.path(), &sbom, &serde_json::to_vec(&v14).unwrap());
    assert!(of_status(&results, CheckStatus::Blocker).is_empty(), "{results:#?}");
    assert!(results.iter().any(|r| r.message.contains("valid CycloneDX 1.4")));
}

#[test]
fn a_missing_artifact_and_a_missing_hash_are_concerns() {
    let dir = tempfile::tempdir().unwrap();
    let (rel, mut bom) = generated(dir.path());
    let orphan = RelPath::new("apache-foo-1.0-bin.tar.gz").unwrap();
    let sbom = write_sbom(dir.path(), &orphan, &bom);
    let results = check(dir.path(), &sbom);
    assert!(
        results
            .iter()
            .any(|r| r.status == CheckStatus::Concern && r.data["error_kind"] == "missing_artifact")
    );
    bom["metadata"]["component"].as_object_mut().unwrap().remove("hashes");
    let sbom = write_sbom(dir.path(), &rel, &bom);
    let results = check(dir.path(), &sbom);
    assert!(
        results
            .iter()
            .any(|r| r.status == CheckStatus::Concern && r.data["error_kind"] == "no_artifact_hash")
    );
    // Not CycloneDX at all.
    let results = check_sbom_bytes(dir.path(), &sbom, br#"{"spdxVersion": "SPDX-2.3"}"#);
    assert_eq!(blocker_kinds(&results), ["not_cyclonedx"]);
}

#[test]
fn a_source_archive_without_an_sbom_is_flagged() {
    let a = RelPath::new("apache-foo-1.0-src.tar.gz").unwrap();
    for (status, meaning) in [
        (CheckStatus::Suggestion, "makes that a suggestion."),
        (CheckStatus::Concern, "makes that a concern: acknowledge it before the vote."),
        (CheckStatus::Blocker, "makes that a blocker: no vote until it has one."),
    ] {
        let missing = check_sbom_presence(&a, std::slice::from_ref(&a), status);
        assert_eq!(missing.len(), 1);
        let r = &missing[0];
        assert_eq!(r.status, status);
        assert_eq!(r.data["error_kind"], "missing_sbom");
        assert_eq!(r.data["status"], status.as_str());
        // The message says what it means and every way to fix it.
        for part in [
            "`apache-foo-1.0-src.tar.gz` has no SBOM beside it",
            meaning,
            "generate `apache-foo-1.0-src.tar.gz.cdx.json`",
            "upload one made by your build",
            "\"Missing SBOM\" setting of the project's release policy, which applies from the next revision",
            "--missing-sbom",
        ] {
            assert!(r.message.contains(part), "{part}: {}", r.message);
        }
    }
    let present = check_sbom_presence(&a, &[a.clone(), sbom_path(&a)], CheckStatus::Concern);
    assert_eq!(present[0].status, CheckStatus::Note);
}

#[test]
fn an_unreadable_archive_gives_no_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = truncated(&every_manifest(ArchiveFormat::TarGz), 400);
    let rel = release(dir.path(), "apache-foo-1.0-src.tar.gz", &bytes);
    let err = generate(
        &dir.path().join(rel.as_str()),
        &rel,
        &ArchiveCheckContext::new(ArchiveRole::Source),
        &SbomRequest::new("foo", "1.0", AT),
    )
    .unwrap_err();
    assert!(matches!(err, GenerateError::Incomplete(_)), "{err}");
}

fn corpus_archive() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/dev-corpus/commons-compress-1.22/release/commons-compress-1.22-src.tar.xz");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("SKIPPED dev-corpus SBOM test: {} is absent (run `make corpus`)", p.display());
        None
    }
}

#[test]
fn commons_compress_gets_a_valid_sbom_from_its_pom() {
    let Some(path) = corpus_archive() else { return };
    let rel = RelPath::new("commons-compress-1.22-src.tar.xz").unwrap();
    let g = generate(
        &path,
        &rel,
        &ArchiveCheckContext::new(ArchiveRole::Source),
        &SbomRequest::new("commons-compress", "1.22", AT),
    )
    .unwrap();
    assert_eq!(schema::validate(&g.bom), Ok(()));
    let got = purls(&g.bom);
    assert!(got.contains(&"pkg:maven/org.apache.commons/commons-compress@1.22".to_owned()), "{got:?}");
    // commons-compress 1.22 declares these in its pom.xml.
    for dep in
        ["pkg:maven/org.tukaani/xz@", "pkg:maven/com.github.luben/zstd-jni@", "pkg:maven/org.brotli/dec@"]
    {
        assert!(got.iter().any(|p| p.starts_with(dep)), "{dep} missing from {got:?}");
    }
    let module = component(&g.bom, "pkg:maven/org.apache.commons/commons-compress@1.22");
    assert_eq!(module["supplier"]["name"], "The Apache Software Foundation");
    assert_eq!(g.bom["metadata"]["component"]["licenses"][0]["license"]["id"], "Apache-2.0");
    let sha256 = hex(&sha2::Sha256::digest(std::fs::read(&path).unwrap()));
    assert_eq!(g.bom["metadata"]["component"]["hashes"][0]["content"], sha256);
    let score = ntia::score(&g.bom);
    assert!(score.score >= 80, "{score:?}");
    // And its check, against the real artifact.
    let dir = tempfile::tempdir().unwrap();
    std::fs::hard_link(&path, dir.path().join(rel.as_str()))
        .or_else(|_| std::fs::copy(&path, dir.path().join(rel.as_str())).map(|_| ()))
        .unwrap();
    let sbom = write_sbom(dir.path(), &rel, &g.bom);
    let results = check(dir.path(), &sbom);
    assert!(of_status(&results, CheckStatus::Blocker).is_empty(), "{results:#?}");
    assert!(results.iter().any(|r| r.message.contains("matches")));
}

/// Digests the caller already has (as the worker has from the checksum check of the same file)
/// are used instead of hashing in the pass; they must be digests; the check of the SBOM verifies
/// them against the artifact, so a wrong one cannot pass unnoticed.
#[test]
fn known_digests_are_used_and_verified_by_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let name = "apache-foo-1.0-src.tar.gz";
    let bytes = every_manifest(ArchiveFormat::TarGz);
    let rel = release(dir.path(), name, &bytes);
    let path = dir.path().join(name);
    let ctx = ArchiveCheckContext::new(ArchiveRole::Source);
    let req = SbomRequest::new("foo", "1.0", AT);
    let computed = generate(&path, &rel, &ctx, &req).unwrap();
    let sha512 = hex(&sha2::Sha512::digest(&bytes));
    let sha256 = hex(&sha2::Sha256::digest(&bytes));

    assert_eq!(computed.hashes.sha256.as_deref(), Some(sha256.as_str()));

    // Supplied (upper case is accepted and written in lower case): both given, in that order.
    let known = req.clone().with_known_sha512(sha512.to_uppercase()).with_known_sha256(&sha256);
    let g = generate(&path, &rel, &ctx, &known).unwrap();
    assert_eq!(g.report.results, computed.report.results);
    assert_eq!(g.hashes.sha512.as_deref(), Some(sha512.as_str()));
    assert_eq!(g.hashes.size, bytes.len() as u64);
    let root = &g.bom["metadata"]["component"];
    assert_eq!(
        root["hashes"],
        json!([{ "alg": "SHA-512", "content": sha512 }, { "alg": "SHA-256", "content": sha256 }])
    );
    // Only a SHA-512 supplied: that one alone (the pass computes nothing).
    let only = generate(&path, &rel, &ctx, &req.clone().with_known_sha512(&sha512)).unwrap();
    assert_eq!(only.bom["metadata"]["component"]["hashes"], json!([{ "alg": "SHA-512", "content": sha512 }]));
    assert_eq!(only.hashes.sha256, None);
    let sbom = write_sbom(dir.path(), &rel, &g.bom);
    let results = check_sbom_file(dir.path(), &sbom, &CheckContext::new(std::time::SystemTime::UNIX_EPOCH));
    assert!(
        results.iter().any(|r| r.message.contains("matches") && r.message.contains("(SHA-512, SHA-256)"))
    );

    // Not a digest: refused, naming it.
    let err = generate(&path, &rel, &ctx, &req.clone().with_known_sha512("abc")).unwrap_err();
    assert!(matches!(err, GenerateError::KnownDigest { alg: "SHA-512", len: 128, .. }), "{err}");
    assert!(err.to_string().contains("`abc` is not 128 hexadecimal digits"), "{err}");

    // A wrong digest is written as given, and the SBOM's check blocks it.
    let wrong = "0".repeat(128);
    let g = generate(&path, &rel, &ctx, &req.with_known_sha512(&wrong)).unwrap();
    let sbom = write_sbom(dir.path(), &rel, &g.bom);
    let results = check_sbom_file(dir.path(), &sbom, &CheckContext::new(std::time::SystemTime::UNIX_EPOCH));
    let blockers = of_status(&results, CheckStatus::Blocker);
    assert_eq!(blockers.len(), 1, "{results:#?}");
    assert_eq!(blockers[0].data["error_kind"], "hash_mismatch");
    assert_eq!(blockers[0].data["actual"], sha512.as_str());
}

/// Runs `atr-check` on `dir` with the KEYS of the test signing key and `extra` arguments.
fn atr_check(dir: &Path, keys: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_atr-check"))
        .arg(dir)
        .args(["--keys", keys.to_str().unwrap(), "--at", "1738281600"])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

/// `atr-check` (and `check_directory`) run the server's SBOM checks on a local release: every
/// `*.cdx.json` validated, matched to its artifact, scored and billed (score and bill shown in
/// text output), and each source archive's SBOM required with the `--missing-sbom` severity.
#[test]
fn atr_check_runs_the_sbom_checks() {
    use crate::support::{Release, asf_key};
    let key = asf_key();
    let r = Release::new();
    let foo = "apache-foo-1.0-src.tar.gz";
    r.signed(foo, &every_manifest(ArchiveFormat::TarGz), key);
    let g = generate(
        &r.path().join(foo),
        &RelPath::new(foo).unwrap(),
        &ArchiveCheckContext::new(ArchiveRole::Source),
        &SbomRequest::new("foo", "1.0", AT),
    )
    .unwrap();
    r.file(&format!("{foo}.cdx.json"), g.to_json());
    let bar = "apache-bar-1.0-src.zip";
    r.signed(bar, &ArchiveBuilder::source_release(ArchiveFormat::Zip, "apache-bar-1.0").build(), key);
    let keys_dir = tempfile::tempdir().unwrap();
    let keys = keys_dir.path().join("KEYS");
    std::fs::write(&keys, atr_checks::testing::keys_file(&[key])).unwrap();

    // JSON: the same results as the library with the same setting.
    let (code, json) = atr_check(r.path(), &keys, &["--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let ring = atr_checks::keys::Keyring::parse(atr_checks::testing::keys_file(&[key]).as_bytes());
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_738_281_600);
    let report = atr_checks::check_directory(r.path(), Some(&ring), &CheckContext::new(at)).unwrap();
    assert_eq!(v["summary"], serde_json::to_value(report.summary).unwrap());
    assert_eq!(code, Some(0), "concerns do not stop the command: {json}");
    let sbom_results: Vec<&CheckResult> =
        report.results.iter().filter(|x| x.checker == CheckerId::SBOM).collect();
    let on = |file: &str| -> Vec<&&CheckResult> {
        sbom_results
            .iter()
            .filter(|x| x.primary_rel_path.as_ref().map(|p| p.as_str()) == Some(file))
            .collect()
    };
    let sbom = format!("{foo}.cdx.json");
    let checked = on(&sbom);
    assert!(checked.iter().any(|x| x.message.contains("is valid CycloneDX 1.6")), "{checked:#?}");
    assert!(
        checked.iter().any(|x| x.message.contains("matches") && x.message.contains("(SHA-256)")),
        "{checked:#?}"
    );
    let score = ntia::score(&g.bom).score;
    assert!(checked.iter().any(|x| x.data["ntia"]["score"] == score), "{checked:#?}");
    let bill: Vec<&str> = checked
        .iter()
        .filter(|x| x.status == CheckStatus::Concern)
        .map(|x| x.data["component"].as_str().unwrap())
        .collect();
    assert_eq!(bill, ["gpl-thing@2.0.0", "mpl-thing@1.1.0"]);
    assert_eq!(on(foo).len(), 1);
    assert_eq!(on(foo)[0].status, CheckStatus::Note, "{foo} has its SBOM");
    assert_eq!(on(bar).len(), 1);
    assert_eq!(on(bar)[0].status, CheckStatus::Suggestion, "the server's default, as ATR's");
    assert_eq!(on(bar)[0].data["error_kind"], "missing_sbom");

    // Text: the score and the bill are shown without --verbose, with the missing SBOM and its fix.
    let (_, text) = atr_check(r.path(), &keys, &[]);
    for part in [
        &format!("NTIA minimum elements: score {score}/100"),
        "Licence bill: ",
        "`apache-bar-1.0-src.zip` has no SBOM beside it",
        "--missing-sbom",
        "concerns must be acknowledged before a vote",
    ] {
        assert!(text.contains(part), "{part}\n{text}");
    }

    // The severity flag: a blocker stops the vote (exit 1), a suggestion is only shown.
    for (flag, status, code) in
        [("blocker", "blocker", 1), ("suggestion", "suggestion", 0), ("concern", "concern", 0)]
    {
        let (got, json) = atr_check(r.path(), &keys, &["--format", "json", "--missing-sbom", flag]);
        let v: Value = serde_json::from_str(&json).unwrap();
        let presence: Vec<&Value> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["data"]["error_kind"] == "missing_sbom")
            .collect();
        assert_eq!(presence.len(), 1, "{flag}: {json}");
        assert_eq!(presence[0]["status"], status);
        assert_eq!(presence[0]["primary_rel_path"], bar);
        assert_eq!(got, Some(code), "{flag}");
    }
    let (got, _) = atr_check(r.path(), &keys, &["--missing-sbom", "note"]);
    assert_eq!(got, Some(2), "only the three settings are accepted");

    // A tampered SBOM (another artifact's hash) is a blocker.
    let mut bom = g.bom.clone();
    bom["metadata"]["component"]["hashes"][0]["content"] = json!("ab".repeat(32));
    r.file(&sbom, serde_json::to_vec_pretty(&bom).unwrap());
    let (got, text) = atr_check(r.path(), &keys, &["--missing-sbom", "suggestion"]);
    assert_eq!(got, Some(1), "{text}");
    assert!(text.contains("the SBOM does not describe this artifact"), "{text}");
}
