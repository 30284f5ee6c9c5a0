//! Generating a CycloneDX 1.6 JSON SBOM for a source archive, from the same single pass as the
//! archive checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use atr_core::path::RelPath;
use atr_core::time::Timestamp;
use serde_json::{Value, json};

use super::collect::{ArtifactHashes, Collector, HashState, HashingReader};
use super::manifest::{self, ASF, Declared, Package, Scope};
use super::schema;
use crate::archive::{ArchiveCheckContext, ArchiveReport, check_archive_reader_with};

/// The spec version generated SBOMs declare.
pub const SPEC_VERSION: &str = "1.6";

/// What the SBOM says about the release besides what the archive holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomRequest {
    /// The release's name (the project key, such as `commons-compress`).
    pub name: String,
    /// The release's version.
    pub version: String,
    /// The SBOM's timestamp (passed in: checks never read the clock).
    pub timestamp: Timestamp,
    /// The supplier of the release (default: The Apache Software Foundation).
    pub supplier: String,
    /// Who asked for the SBOM (recorded as an author next to the tool), if known.
    pub requested_by: Option<String>,
    /// The artifact's SHA-512 (hex) when the caller already has it, for example from the checksum
    /// check of the same file. The caller vouches for it; the check of the SBOM verifies it
    /// against the file.
    pub known_sha512: Option<String>,
    /// The artifact's SHA-256 (hex) when the caller already has it. With either digest supplied
    /// the pass hashes nothing; with neither it computes the SHA-256.
    pub known_sha256: Option<String>,
}

impl SbomRequest {
    /// A request for an ASF release.
    pub fn new(name: impl Into<String>, version: impl Into<String>, timestamp: Timestamp) -> Self {
        SbomRequest {
            name: name.into(),
            version: version.into(),
            timestamp,
            supplier: ASF.to_owned(),
            requested_by: None,
            known_sha512: None,
            known_sha256: None,
        }
    }

    /// Supplies the artifact's SHA-512 (hex), so the pass hashes nothing.
    pub fn with_known_sha512(mut self, hex: impl Into<String>) -> Self {
        self.known_sha512 = Some(hex.into());
        self
    }

    /// Supplies the artifact's SHA-256 (hex), so the pass hashes nothing.
    pub fn with_known_sha256(mut self, hex: impl Into<String>) -> Self {
        self.known_sha256 = Some(hex.into());
        self
    }
}

/// `hex` in lower case if it is `len` hexadecimal digits.
fn digest_hex(hex: &str, len: usize) -> Option<String> {
    (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hex.to_ascii_lowercase())
}

/// The result of [`generate`]: the archive checks' report from the same pass, and the SBOM.
#[derive(Debug, Clone)]
pub struct GeneratedSbom {
    /// Every archive check's results (the pass is the archive checks' own).
    pub report: ArchiveReport,
    /// Digests of the artifact.
    pub hashes: ArtifactHashes,
    /// The CycloneDX document.
    pub bom: Value,
    /// Manifests read: (member path, kind, components declared).
    pub manifests: Vec<(String, manifest::ManifestKind, usize)>,
    /// Manifests that could not be used: (member path, why).
    pub problems: Vec<(String, String)>,
}

impl GeneratedSbom {
    /// The SBOM as pretty-printed JSON with a final newline (what is saved as `<artifact>.cdx.json`).
    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(&self.bom).expect("a JSON value serialises");
        v.push(b'\n');
        v
    }
}

/// Why an SBOM could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The artifact could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The artifact.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The archive could not be read to its end (the archive checks say why).
    #[error(
        "`{0}` could not be read to its end, so its contents are unknown; its archive check report says why"
    )]
    Incomplete(String),
    /// A digest the caller supplied is not the hex of one.
    #[error("the supplied {alg} `{value}` is not {len} hexadecimal digits")]
    KnownDigest {
        /// `SHA-512` or `SHA-256`.
        alg: &'static str,
        /// What was supplied (escaped, shortened).
        value: String,
        /// Digits expected.
        len: usize,
    },
    /// The generated document failed its own schema (a bug).
    #[error("the generated SBOM is not valid CycloneDX {SPEC_VERSION}: {0}")]
    Invalid(String),
}

/// The name of the SBOM of `artifact`: `<artifact>.cdx.json`.
pub fn sbom_path(artifact: &RelPath) -> RelPath {
    artifact.with_appended(".cdx.json").expect("appending a plain suffix keeps the path valid")
}

/// Generates the SBOM of the archive at `path` (known in the revision as `rel`), running every
/// archive check in the same pass; the archive is decompressed once and read from disk once.
pub fn generate(
    path: &Path,
    rel: &RelPath,
    ctx: &ArchiveCheckContext,
    req: &SbomRequest,
) -> Result<GeneratedSbom, GenerateError> {
    let io = |source| GenerateError::Io { path: path.display().to_string(), source };
    let known = |value: &Option<String>, alg: &'static str, len: usize| match value {
        None => Ok(None),
        Some(v) => digest_hex(v, len).map(Some).ok_or_else(|| GenerateError::KnownDigest {
            alg,
            value: v.chars().take(140).collect::<String>().escape_debug().to_string(),
            len,
        }),
    };
    let sha512 = known(&req.known_sha512, "SHA-512", 128)?;
    let known_sha256 = known(&req.known_sha256, "SHA-256", 64)?;
    let file = File::open(path).map_err(io)?;
    let mut collector = Collector::default();
    let (report, sha256, size) = if sha512.is_some() || known_sha256.is_some() {
        // Nothing to hash: the walk reads the file directly.
        let size = file.metadata().map_err(io)?.len();
        let reader = BufReader::with_capacity(64 * 1024, file);
        (check_archive_reader_with(reader, rel, ctx, Some(&mut collector)), known_sha256, size)
    } else {
        let mut state = HashState::default();
        let report = {
            let reader = BufReader::with_capacity(64 * 1024, HashingReader::new(file, &mut state));
            check_archive_reader_with(reader, rel, ctx, Some(&mut collector))
        };
        let (sha256, size) = state.finish(File::open(path).map_err(io)?).map_err(io)?;
        (report, Some(sha256), size)
    };
    let hashes = ArtifactHashes { sha512, sha256, size };
    if !report.complete {
        return Err(GenerateError::Incomplete(rel.to_string()));
    }
    let generated = build(rel, req, report, hashes, collector);
    let errors = schema::validate(&generated.bom);
    match errors {
        Ok(()) => Ok(generated),
        Err(e) => Err(GenerateError::Invalid(e.summary())),
    }
}

/// One component of the SBOM under construction.
struct Entry {
    pkg: Package,
    /// Member paths of the manifests that declare it.
    sources: BTreeSet<String>,
}

fn build(
    rel: &RelPath,
    req: &SbomRequest,
    report: ArchiveReport,
    hashes: ArtifactHashes,
    collector: Collector,
) -> GeneratedSbom {
    let mut problems: Vec<(String, String)> = collector.skipped.clone();
    let mut manifests = Vec::new();
    // Components by purl; edges by purl.
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut modules: Vec<String> = Vec::new();
    let add = |entries: &mut BTreeMap<String, Entry>, pkg: Package, source: &str| -> String {
        let purl = pkg.purl();
        let e = entries
            .entry(purl.clone())
            .or_insert_with(|| Entry { pkg: pkg.clone(), sources: BTreeSet::new() });
        e.sources.insert(source.to_owned());
        // The most widely used scope wins; fill in what a later manifest knows.
        e.pkg.scope = e.pkg.scope.min(pkg.scope);
        if e.pkg.licences.is_empty() {
            e.pkg.licences = pkg.licences;
        }
        if e.pkg.supplier.is_none() {
            e.pkg.supplier = pkg.supplier;
        }
        if e.pkg.requirement.is_none() {
            e.pkg.requirement = pkg.requirement;
        }
        purl
    };
    for kept in &collector.manifests {
        match manifest::parse(kept.kind, &kept.content) {
            Ok(Declared { module, dependencies, locked }) => {
                let count = usize::from(module.is_some()) + dependencies.len() + locked.len();
                manifests.push((kept.path.clone(), kept.kind, count));
                let module_purl = module.map(|m| add(&mut entries, m, &kept.path));
                let mut direct = BTreeSet::new();
                for d in dependencies {
                    direct.insert(add(&mut entries, d, &kept.path));
                }
                for (p, deps) in locked {
                    let from = add(&mut entries, p, &kept.path);
                    edges.entry(from).or_default().extend(deps);
                }
                if let Some(m) = module_purl {
                    edges.entry(m.clone()).or_default().extend(direct);
                    modules.push(m);
                } else {
                    // A requirements file: its packages hang off the root.
                    modules.extend(direct);
                }
            }
            Err(why) => problems.push((kept.path.clone(), why)),
        }
    }
    // A package named both with and without a version (manifest and lock file) is one component.
    let versioned: BTreeMap<_, String> = entries
        .iter()
        .filter(|(_, e)| e.pkg.version.is_some())
        .map(|(purl, e)| (e.pkg.key(), purl.clone()))
        .collect();
    let mut redirect: BTreeMap<String, String> = BTreeMap::new();
    for (purl, e) in &entries {
        if e.pkg.version.is_none()
            && let Some(target) = versioned.get(&e.pkg.key())
        {
            redirect.insert(purl.clone(), target.clone());
        }
    }
    for (from, to) in &redirect {
        if let Some(e) = entries.remove(from)
            && let Some(t) = entries.get_mut(to)
        {
            t.sources.extend(e.sources);
            t.pkg.scope = t.pkg.scope.min(e.pkg.scope);
            if t.pkg.licences.is_empty() {
                t.pkg.licences = e.pkg.licences;
            }
        }
    }
    let fix = |p: &String| redirect.get(p).cloned().unwrap_or_else(|| p.clone());
    let edges: BTreeMap<String, BTreeSet<String>> = edges
        .into_iter()
        .map(|(from, to)| {
            (fix(&from), to.iter().map(fix).filter(|t| entries.contains_key(t)).collect::<BTreeSet<String>>())
        })
        .filter(|(from, _)| entries.contains_key(from))
        .fold(BTreeMap::new(), |mut acc: BTreeMap<String, BTreeSet<String>>, (f, t)| {
            acc.entry(f).or_default().extend(t);
            acc
        });
    let modules: BTreeSet<String> = modules.iter().map(fix).filter(|m| entries.contains_key(m)).collect();

    let root_ref = format!("root:{}", rel.file_name());
    let root = root_component(rel, req, &report, &hashes, &collector, &root_ref);
    let components: Vec<Value> = entries.iter().map(|(purl, e)| component(purl, e)).collect();
    let mut dependencies = vec![json!({ "ref": root_ref, "dependsOn": modules })];
    for purl in entries.keys() {
        let on: Vec<&String> = edges.get(purl).map(|s| s.iter().collect()).unwrap_or_default();
        dependencies.push(json!({ "ref": purl, "dependsOn": on }));
    }
    let mut authors = vec![json!({ "name": "Apache Trusted Releases (atr-checks)" })];
    if let Some(who) = &req.requested_by {
        authors.push(json!({ "name": who }));
    }
    let bom = json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": serial_number(&hashes, req),
        "version": 1,
        "metadata": {
            "timestamp": req.timestamp.to_string(),
            "lifecycles": [{ "phase": "pre-build" }],
            "tools": { "components": [{
                "type": "application",
                "name": "atr-checks",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Apache Trusted Releases: SBOM generated natively from one pass over the source archive",
                "supplier": { "name": ASF, "url": ["https://www.apache.org/"] }
            }] },
            "authors": authors,
            "supplier": supplier(&req.supplier),
            "component": root,
        },
        "components": components,
        "dependencies": dependencies,
    });
    GeneratedSbom { report, hashes, bom, manifests, problems }
}

fn supplier(name: &str) -> Value {
    if name == ASF {
        json!({ "name": ASF, "url": ["https://www.apache.org/"] })
    } else {
        json!({ "name": name })
    }
}

/// A `urn:uuid:` made from the artifact's digest and the timestamp (name-based, version 5 layout).
fn serial_number(h: &ArtifactHashes, req: &SbomRequest) -> String {
    let digest = h.sha512.as_deref().or(h.sha256.as_deref()).unwrap_or_default();
    let d = blake3::hash(format!("{digest}\n{}\n{}", req.timestamp, req.name).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_bytes()[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = super::collect::hex(&b);
    format!("urn:uuid:{}-{}-{}-{}-{}", &x[..8], &x[8..12], &x[12..16], &x[16..20], &x[20..])
}

/// The licence of the release from the licence analysis: Apache-2.0 when the root LICENSE holds
/// the Apache License 2.0, and the licence families found among the files, as properties.
fn root_component(
    rel: &RelPath,
    req: &SbomRequest,
    report: &ArchiveReport,
    h: &ArtifactHashes,
    collector: &Collector,
    bom_ref: &str,
) -> Value {
    let file = rel.file_name();
    let mut licences = Vec::new();
    if let Some((_, text)) = &collector.root_licence
        && crate::licence::check_licence_text(text).is_ok()
    {
        licences.push(json!({ "license": { "id": "Apache-2.0", "acknowledgement": "concluded" } }));
    }
    let mut properties = vec![json!({ "name": "atr:artifact", "value": file })];
    if let Some(f) = report.format {
        properties.push(json!({ "name": "atr:archive-format", "value": f.to_string() }));
    }
    properties.push(json!({ "name": "atr:members", "value": report.listing.len().to_string() }));
    if let Some(t) = report.tree_hash_hex() {
        properties.push(json!({ "name": "atr:tree-blake3", "value": t }));
    }
    for (family, count) in &report.licence_counts {
        properties
            .push(json!({ "name": format!("atr:licence-analysis:{family}"), "value": count.to_string() }));
    }
    let mut hashes = Vec::new();
    if let Some(sha512) = &h.sha512 {
        hashes.push(json!({ "alg": "SHA-512", "content": sha512 }));
    }
    if let Some(sha256) = &h.sha256 {
        hashes.push(json!({ "alg": "SHA-256", "content": sha256 }));
    }
    let purl = format!(
        "pkg:generic/apache/{}@{}?file_name={}",
        manifest::purl_encode(&req.name),
        manifest::purl_encode(&req.version),
        manifest::purl_encode(file)
    );
    let mut c = json!({
        "type": "application",
        "bom-ref": bom_ref,
        "supplier": supplier(&req.supplier),
        "name": req.name,
        "version": req.version,
        "description": format!("Source release artifact {file}"),
        "hashes": hashes,
        "purl": purl,
        "properties": properties,
    });
    if !licences.is_empty() {
        c["licenses"] = Value::Array(licences);
    }
    c
}

fn component(purl: &str, e: &Entry) -> Value {
    let p = &e.pkg;
    let mut c = json!({
        "type": "library",
        "bom-ref": purl,
        "name": p.name,
        "purl": purl,
        "scope": match p.scope {
            Scope::Required => "required",
            Scope::Optional => "optional",
            Scope::Excluded => "excluded",
        },
    });
    if let Some(ns) = &p.namespace {
        c["group"] = json!(ns);
    }
    if let Some(v) = &p.version {
        c["version"] = json!(v);
    }
    if let Some(s) = &p.supplier {
        c["supplier"] = supplier(s);
    }
    if let Some(d) = &p.description {
        c["description"] = json!(d);
    }
    let licences = licence_choices(&p.licences);
    if !licences.is_empty() {
        c["licenses"] = Value::Array(licences);
    }
    let mut props: Vec<Value> =
        e.sources.iter().map(|s| json!({ "name": "atr:declared-in", "value": s })).collect();
    if let Some(r) = &p.requirement {
        props.push(json!({ "name": "atr:version-requirement", "value": r }));
    }
    c["properties"] = Value::Array(props);
    c
}

/// CycloneDX licence choices for declared licences: SPDX ids as `id`, a single compound SPDX
/// expression as `expression`, anything else as `name`.
fn licence_choices(declared: &[String]) -> Vec<Value> {
    let declared: Vec<&str> = declared.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if let [one] = declared.as_slice()
        && is_compound_expression(one)
    {
        return vec![json!({ "expression": one, "acknowledgement": "declared" })];
    }
    declared
        .iter()
        .map(|d| {
            if schema::is_spdx_id(d) {
                json!({ "license": { "id": d, "acknowledgement": "declared" } })
            } else {
                json!({ "license": { "name": d, "acknowledgement": "declared" } })
            }
        })
        .collect()
}

fn is_compound_expression(s: &str) -> bool {
    let tokens: Vec<&str> =
        s.split(|c: char| c.is_whitespace() || c == '(' || c == ')').filter(|t| !t.is_empty()).collect();
    tokens.iter().any(|t| matches!(*t, "AND" | "OR" | "WITH"))
        && tokens.iter().all(|t| {
            matches!(*t, "AND" | "OR" | "WITH")
                || schema::is_spdx_id(t.trim_end_matches('+'))
                || t.ends_with("exception-2.0")
                || t.contains("exception")
        })
}
