//! Build manifests found inside a source archive, and what each declares: the module itself and
//! its dependencies, with versions and licences where the manifest gives them.
//!
//! Readers: Maven `pom.xml`, Cargo `Cargo.toml` / `Cargo.lock`, npm `package.json` /
//! `package-lock.json` (and `npm-shrinkwrap.json`), Python `pyproject.toml` / `requirements*.txt`,
//! Go `go.mod`. Each is a pure function over the file's bytes; a file that cannot be parsed gives a
//! problem naming it, never a panic.

use std::collections::BTreeMap;

use serde::Serialize;

/// The kind of a build manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ManifestKind {
    /// Maven `pom.xml`.
    Pom,
    /// `Cargo.toml`.
    CargoToml,
    /// `Cargo.lock`.
    CargoLock,
    /// `package.json`.
    PackageJson,
    /// `package-lock.json` or `npm-shrinkwrap.json`.
    PackageLock,
    /// `pyproject.toml`.
    Pyproject,
    /// `requirements*.txt`.
    Requirements,
    /// `go.mod`.
    GoMod,
}

/// Directory names whose manifests are test data, not part of the release's build.
const SKIPPED_DIRS: &[&str] =
    &["test", "tests", "testdata", "test-data", "fixtures", "node_modules", "vendor", "third_party"];

impl ManifestKind {
    /// The kind of the archive member at `path`, or `None` when it is not a manifest the SBOM reads
    /// (including manifests under test-data, `node_modules` and `vendor` directories).
    pub fn of_member(path: &str) -> Option<ManifestKind> {
        let mut segments: Vec<&str> = path.split('/').collect();
        let name = segments.pop()?;
        if segments.iter().any(|s| SKIPPED_DIRS.contains(s) || s.starts_with('.')) {
            return None;
        }
        match name {
            "pom.xml" => Some(ManifestKind::Pom),
            "Cargo.toml" => Some(ManifestKind::CargoToml),
            "Cargo.lock" => Some(ManifestKind::CargoLock),
            "package.json" => Some(ManifestKind::PackageJson),
            "package-lock.json" | "npm-shrinkwrap.json" => Some(ManifestKind::PackageLock),
            "pyproject.toml" => Some(ManifestKind::Pyproject),
            "go.mod" => Some(ManifestKind::GoMod),
            n if n.starts_with("requirements") && n.ends_with(".txt") => Some(ManifestKind::Requirements),
            _ => None,
        }
    }

    /// The package ecosystem.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            ManifestKind::Pom => Ecosystem::Maven,
            ManifestKind::CargoToml | ManifestKind::CargoLock => Ecosystem::Cargo,
            ManifestKind::PackageJson | ManifestKind::PackageLock => Ecosystem::Npm,
            ManifestKind::Pyproject | ManifestKind::Requirements => Ecosystem::Pypi,
            ManifestKind::GoMod => Ecosystem::Golang,
        }
    }
}

/// A package ecosystem (the purl type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// Maven (`pkg:maven`).
    Maven,
    /// crates.io (`pkg:cargo`).
    Cargo,
    /// npm (`pkg:npm`).
    Npm,
    /// PyPI (`pkg:pypi`).
    Pypi,
    /// Go modules (`pkg:golang`).
    Golang,
}

impl Ecosystem {
    /// The purl type.
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Maven => "maven",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Golang => "golang",
        }
    }
}

/// How a dependency is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Needed at run time.
    #[default]
    Required,
    /// Optional or provided by the environment.
    Optional,
    /// Only for tests or development; not distributed.
    Excluded,
}

/// A package named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Package {
    /// The ecosystem.
    pub ecosystem: Ecosystem,
    /// Maven groupId, npm scope (with its `@`), Go module path without its last segment.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The exact version, when the manifest pins one.
    pub version: Option<String>,
    /// The version requirement as written, when it is not an exact version.
    pub requirement: Option<String>,
    /// Declared licences (SPDX expressions or names), in manifest order.
    pub licences: Vec<String>,
    /// How it is used.
    pub scope: Scope,
    /// Who supplies it, when the manifest says (author, organisation).
    pub supplier: Option<String>,
    /// Free-text description from the manifest.
    pub description: Option<String>,
}

impl Package {
    /// A required package with only a name.
    pub fn new(ecosystem: Ecosystem, namespace: Option<String>, name: impl Into<String>) -> Package {
        Package {
            ecosystem,
            namespace,
            name: name.into(),
            version: None,
            requirement: None,
            licences: Vec::new(),
            scope: Scope::Required,
            supplier: None,
            description: None,
        }
    }

    fn with_version(mut self, v: Option<String>) -> Package {
        self.version = v.filter(|v| !v.trim().is_empty());
        self
    }

    /// The package URL (<https://github.com/package-url/purl-spec>), with the version when known.
    pub fn purl(&self) -> String {
        let mut s = format!("pkg:{}/", self.ecosystem.purl_type());
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/') {
                s.push_str(&purl_encode(seg));
                s.push('/');
            }
        }
        s.push_str(&purl_encode(&self.name));
        if let Some(v) = &self.version {
            s.push('@');
            s.push_str(&purl_encode(v));
        }
        s
    }

    /// The identity without the version (ecosystem, namespace, name).
    pub fn key(&self) -> (Ecosystem, Option<String>, String) {
        (self.ecosystem, self.namespace.clone(), self.name.clone())
    }
}

/// Percent-encodes a purl segment: everything but ASCII letters, digits and `.-_~`.
pub fn purl_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What one manifest declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Declared {
    /// The module the manifest builds (absent for lock and requirements files).
    pub module: Option<Package>,
    /// Its direct dependencies.
    pub dependencies: Vec<Package>,
    /// Further packages a lock file resolves (transitive), with the purls each depends on.
    pub locked: Vec<(Package, Vec<String>)>,
}

/// Reads one manifest. Errors name the problem (the caller names the file).
pub fn parse(kind: ManifestKind, bytes: &[u8]) -> Result<Declared, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match kind {
        ManifestKind::Pom => pom(text),
        ManifestKind::CargoToml => cargo_toml(text),
        ManifestKind::CargoLock => cargo_lock(text),
        ManifestKind::PackageJson => package_json(text),
        ManifestKind::PackageLock => package_lock(text),
        ManifestKind::Pyproject => pyproject(text),
        ManifestKind::Requirements => Ok(requirements(text)),
        ManifestKind::GoMod => Ok(go_mod(text)),
    }
}

// ---- Maven ----

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).and_then(|c| c.text()).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Replaces `${name}` with the pom's properties (and `project.version`, `project.groupId`).
fn interpolate(s: &str, props: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = s;
    let mut depth = 0;
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}')? + start;
        out.push_str(&rest[..start]);
        let key = &rest[start + 2..end];
        let value = props.get(key)?;
        depth += 1;
        if depth > 32 {
            return None;
        }
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    // A property may itself refer to another.
    if out.contains("${") && out != s { interpolate(&out, props) } else { Some(out) }
}

fn pom(text: &str) -> Result<Declared, String> {
    let opts = roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    let doc =
        roxmltree::Document::parse_with_options(text, opts).map_err(|e| format!("not valid XML: {e}"))?;
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        return Err("the root element is not <project>".into());
    }
    let parent = child(project, "parent");
    let group = child_text(project, "groupId").or_else(|| parent.and_then(|p| child_text(p, "groupId")));
    let version = child_text(project, "version").or_else(|| parent.and_then(|p| child_text(p, "version")));
    let mut props = BTreeMap::new();
    if let Some(p) = child(project, "properties") {
        for c in p.children().filter(|c| c.is_element()) {
            props.insert(c.tag_name().name().to_owned(), c.text().unwrap_or("").trim().to_owned());
        }
    }
    if let Some(v) = &version {
        props.insert("project.version".into(), v.clone());
        props.insert("pom.version".into(), v.clone());
    }
    if let Some(g) = &group {
        props.insert("project.groupId".into(), g.clone());
    }
    if let Some(p) = parent.and_then(|p| child_text(p, "version")) {
        props.insert("project.parent.version".into(), p);
    }
    let resolve = |s: Option<String>| s.and_then(|s| interpolate(&s, &props));
    let artifact = child_text(project, "artifactId").ok_or("the <project> has no <artifactId>")?;
    let group = resolve(group);
    let mut module = Package::new(Ecosystem::Maven, group.clone(), artifact).with_version(resolve(version));
    module.description = child_text(project, "name").or_else(|| child_text(project, "description"));
    if let Some(ls) = child(project, "licenses") {
        for l in ls.children().filter(|c| c.is_element() && c.tag_name().name() == "license") {
            if let Some(n) = child_text(l, "name") {
                module.licences.push(n);
            }
        }
    }
    module.supplier = child(project, "organization").and_then(|o| child_text(o, "name"));
    if module.supplier.is_none()
        && group.as_deref().is_some_and(|g| g == "org.apache" || g.starts_with("org.apache."))
    {
        module.supplier = Some(ASF.to_owned());
    }
    let mut dependencies = Vec::new();
    if let Some(deps) = child(project, "dependencies") {
        for d in deps.children().filter(|c| c.is_element() && c.tag_name().name() == "dependency") {
            let (Some(g), Some(a)) =
                (resolve(child_text(d, "groupId")), resolve(child_text(d, "artifactId")))
            else {
                continue;
            };
            let raw_version = child_text(d, "version");
            let v = resolve(raw_version.clone());
            let mut p = Package::new(Ecosystem::Maven, Some(g), a);
            // A range (`[1.0,2.0)`) is a requirement, not a version.
            match v {
                Some(v) if v.starts_with('[') || v.starts_with('(') => p.requirement = Some(v),
                v => p = p.with_version(v),
            }
            p.scope = match child_text(d, "scope").as_deref() {
                Some("test") => Scope::Excluded,
                Some("provided") | Some("system") => Scope::Optional,
                _ if child_text(d, "optional").as_deref() == Some("true") => Scope::Optional,
                _ => Scope::Required,
            };
            p.supplier = maven_supplier(p.namespace.as_deref().unwrap_or(""));
            dependencies.push(p);
        }
    }
    Ok(Declared { module: Some(module), dependencies, locked: Vec::new() })
}

/// The Apache Software Foundation, as a supplier name.
pub const ASF: &str = "The Apache Software Foundation";

fn maven_supplier(group: &str) -> Option<String> {
    if group == "org.apache" || group.starts_with("org.apache.") {
        return Some(ASF.to_owned());
    }
    let mut parts = group.split('.');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("com" | "io"), Some("github"), Some(user)) => Some(format!("github.com/{user}")),
        _ => None,
    }
}

// ---- Cargo ----

fn toml_str(v: Option<&toml::Value>) -> Option<String> {
    v.and_then(|v| v.as_str()).map(str::to_owned)
}

fn cargo_toml(text: &str) -> Result<Declared, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let module = doc.get("package").and_then(|p| p.as_table()).and_then(|p| {
        let name = toml_str(p.get("name"))?;
        let mut m = Package::new(Ecosystem::Cargo, None, name).with_version(toml_str(p.get("version")));
        m.licences.extend(toml_str(p.get("license")));
        m.description = toml_str(p.get("description"));
        m.supplier = p
            .get("authors")
            .and_then(|a| a.as_array())
            .and_then(|a| a.first())
            .and_then(|a| a.as_str().map(|s| s.split('<').next().unwrap_or(s).trim().to_owned()));
        Some(m)
    });
    let mut dependencies = Vec::new();
    for (table, scope) in [
        ("dependencies", Scope::Required),
        ("build-dependencies", Scope::Excluded),
        ("dev-dependencies", Scope::Excluded),
    ] {
        let Some(deps) = doc.get(table).and_then(|d| d.as_table()) else { continue };
        for (name, spec) in deps {
            let (req, optional, path_only, renamed) = match spec {
                toml::Value::String(s) => (Some(s.clone()), false, false, None),
                toml::Value::Table(t) => (
                    toml_str(t.get("version")),
                    t.get("optional").and_then(|o| o.as_bool()).unwrap_or(false),
                    t.get("path").is_some() && t.get("version").is_none(),
                    toml_str(t.get("package")),
                ),
                _ => (None, false, false, None),
            };
            if path_only {
                // A crate of the same source tree: not a third-party package.
                continue;
            }
            let mut p = Package::new(Ecosystem::Cargo, None, renamed.unwrap_or_else(|| name.clone()));
            match req {
                Some(r) if r.starts_with('=') => {
                    p = p.with_version(Some(r.trim_start_matches('=').trim().to_owned()))
                }
                r => p.requirement = r,
            }
            p.scope = if optional && scope == Scope::Required { Scope::Optional } else { scope };
            dependencies.push(p);
        }
    }
    Ok(Declared { module, dependencies, locked: Vec::new() })
}

fn cargo_lock(text: &str) -> Result<Declared, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let packages = doc.get("package").and_then(|p| p.as_array()).cloned().unwrap_or_default();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut entries = Vec::new();
    for p in &packages {
        let (Some(name), Some(version)) = (toml_str(p.get("name")), toml_str(p.get("version"))) else {
            continue;
        };
        by_name.entry(name.clone()).or_default().push(version.clone());
        let deps: Vec<String> = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| d.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        // Packages without a `source` are the workspace's own crates.
        entries.push((name, version, p.get("source").is_some(), deps));
    }
    let mut locked = Vec::new();
    for (name, version, _, deps) in &entries {
        let pkg = Package::new(Ecosystem::Cargo, None, name.clone()).with_version(Some(version.clone()));
        let edges = deps
            .iter()
            .filter_map(|d| {
                let mut parts = d.split_whitespace();
                let dn = parts.next()?;
                let dv = parts.next().map(str::to_owned).or_else(|| by_name.get(dn)?.first().cloned());
                Some(Package::new(Ecosystem::Cargo, None, dn).with_version(dv).purl())
            })
            .collect();
        locked.push((pkg, edges));
    }
    Ok(Declared { module: None, dependencies: Vec::new(), locked })
}

// ---- npm ----

fn npm_package(name: &str) -> Package {
    match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
        Some((scope, n)) => Package::new(Ecosystem::Npm, Some(format!("@{scope}")), n),
        None => Package::new(Ecosystem::Npm, None, name),
    }
}

fn npm_licences(v: &serde_json::Value) -> Vec<String> {
    match v.get("license") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Object(o)) => {
            o.get("type").and_then(|t| t.as_str()).map(str::to_owned).into_iter().collect()
        }
        _ => v
            .get("licenses")
            .and_then(|l| l.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.get("type").and_then(|t| t.as_str()).or(l.as_str()).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn npm_author(v: &serde_json::Value) -> Option<String> {
    match v.get("author")? {
        serde_json::Value::String(s) => Some(s.split('<').next().unwrap_or(s).trim().to_owned()),
        serde_json::Value::Object(o) => o.get("name").and_then(|n| n.as_str()).map(str::to_owned),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

fn exact_npm_version(req: &str) -> Option<String> {
    let r = req.trim().trim_start_matches('=').trim_start_matches('v');
    let exact = !r.is_empty()
        && r.chars().next().is_some_and(|c| c.is_ascii_digit())
        && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    exact.then(|| r.to_owned())
}

fn package_json(text: &str) -> Result<Declared, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let module = v.get("name").and_then(|n| n.as_str()).map(|name| {
        let mut m =
            npm_package(name).with_version(v.get("version").and_then(|x| x.as_str()).map(str::to_owned));
        m.licences = npm_licences(&v);
        m.supplier = npm_author(&v);
        m.description = v.get("description").and_then(|d| d.as_str()).map(str::to_owned);
        m
    });
    let mut dependencies = Vec::new();
    for (table, scope) in [
        ("dependencies", Scope::Required),
        ("optionalDependencies", Scope::Optional),
        ("peerDependencies", Scope::Optional),
        ("devDependencies", Scope::Excluded),
    ] {
        let Some(deps) = v.get(table).and_then(|d| d.as_object()) else { continue };
        for (name, req) in deps {
            let req = req.as_str().unwrap_or("");
            if req.starts_with("file:") || req.starts_with("link:") || req.starts_with("workspace:") {
                continue;
            }
            let mut p = npm_package(name);
            match exact_npm_version(req) {
                Some(exact) => p.version = Some(exact),
                None => p.requirement = Some(req.to_owned()).filter(|r| !r.is_empty()),
            }
            p.scope = scope;
            dependencies.push(p);
        }
    }
    Ok(Declared { module, dependencies, locked: Vec::new() })
}

fn package_lock(text: &str) -> Result<Declared, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut locked = Vec::new();
    if let Some(packages) = v.get("packages").and_then(|p| p.as_object()) {
        // lockfileVersion 2 and 3: keys are install paths (`node_modules/a/node_modules/b`).
        let name_of = |key: &str, entry: &serde_json::Value| -> Option<String> {
            entry
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_owned)
                .or_else(|| key.rsplit_once("node_modules/").map(|(_, n)| n.to_owned()))
        };
        let resolve = |from: &str, dep: &str| -> Option<&serde_json::Value> {
            let mut base = from.to_owned();
            loop {
                let key = if base.is_empty() {
                    format!("node_modules/{dep}")
                } else {
                    format!("{base}/node_modules/{dep}")
                };
                if let Some(e) = packages.get(&key) {
                    return Some(e);
                }
                if base.is_empty() {
                    return None;
                }
                base = match base.rfind("/node_modules/") {
                    Some(i) => base[..i].to_owned(),
                    None => String::new(),
                };
            }
        };
        for (key, entry) in packages {
            if key.is_empty() || entry.get("link").and_then(|l| l.as_bool()) == Some(true) {
                continue;
            }
            let Some(name) = name_of(key, entry) else { continue };
            let mut p = npm_package(&name)
                .with_version(entry.get("version").and_then(|x| x.as_str()).map(str::to_owned));
            p.licences = npm_licences(entry);
            if entry.get("dev").and_then(|d| d.as_bool()) == Some(true) {
                p.scope = Scope::Excluded;
            } else if entry.get("optional").and_then(|d| d.as_bool()) == Some(true) {
                p.scope = Scope::Optional;
            }
            let mut edges = Vec::new();
            for table in ["dependencies", "optionalDependencies", "peerDependencies"] {
                for dep in entry.get(table).and_then(|d| d.as_object()).into_iter().flatten().map(|(k, _)| k)
                {
                    if let Some(target) = resolve(key, dep) {
                        let v = target.get("version").and_then(|x| x.as_str()).map(str::to_owned);
                        edges.push(npm_package(dep).with_version(v).purl());
                    }
                }
            }
            locked.push((p, edges));
        }
    } else if let Some(deps) = v.get("dependencies").and_then(|d| d.as_object()) {
        // lockfileVersion 1: a nested `dependencies` tree.
        fn walk(deps: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<(Package, Vec<String>)>) {
            for (name, entry) in deps {
                let mut p = npm_package(name)
                    .with_version(entry.get("version").and_then(|x| x.as_str()).map(str::to_owned));
                if entry.get("dev").and_then(|d| d.as_bool()) == Some(true) {
                    p.scope = Scope::Excluded;
                }
                out.push((p, Vec::new()));
                if let Some(nested) = entry.get("dependencies").and_then(|d| d.as_object()) {
                    walk(nested, out);
                }
            }
        }
        walk(deps, &mut locked);
    } else {
        return Err("neither `packages` nor `dependencies` is present".into());
    }
    Ok(Declared { module: None, dependencies: Vec::new(), locked })
}

// ---- Python ----

/// PEP 503 normalised name (lower case, runs of `-_.` as one `-`).
pub fn pypi_normalise(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            dash = true;
        } else {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// One PEP 508 requirement (`name[extra] (==1.0) ; marker`), `None` for options and URLs.
fn pep508(line: &str, scope: Scope) -> Option<Package> {
    let line = line.split(" #").next().unwrap_or(line).trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line.contains("://") {
        return None;
    }
    let spec = line.split(';').next().unwrap_or(line).trim();
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = &spec[..end];
    if name.is_empty() {
        return None;
    }
    let mut rest = spec[end..].trim();
    if rest.starts_with('[') {
        rest = rest.find(']').map_or("", |i| rest[i + 1..].trim());
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    let mut p = Package::new(Ecosystem::Pypi, None, pypi_normalise(name));
    match rest.strip_prefix("===").or_else(|| rest.strip_prefix("==")) {
        Some(v) if !v.contains(',') && !v.contains('*') => p.version = Some(v.trim().to_owned()),
        _ => p.requirement = Some(rest.to_owned()).filter(|r| !r.is_empty()),
    }
    p.scope = scope;
    Some(p)
}

fn requirements(text: &str) -> Declared {
    let mut dependencies = Vec::new();
    let mut joined = String::new();
    for raw in text.lines() {
        if let Some(cont) = raw.strip_suffix('\\') {
            joined.push_str(cont);
            continue;
        }
        joined.push_str(raw);
        dependencies.extend(pep508(&joined, Scope::Required));
        joined.clear();
    }
    Declared { module: None, dependencies, locked: Vec::new() }
}

fn pyproject(text: &str) -> Result<Declared, String> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| format!("not valid TOML: {e}"))?;
    let mut dependencies = Vec::new();
    let project = doc.get("project").and_then(|p| p.as_table());
    let module = project.and_then(|p| {
        let name = toml_str(p.get("name"))?;
        let mut m = Package::new(Ecosystem::Pypi, None, pypi_normalise(&name))
            .with_version(toml_str(p.get("version")));
        match p.get("license") {
            Some(toml::Value::String(s)) => m.licences.push(s.clone()),
            Some(toml::Value::Table(t)) => {
                m.licences.extend(toml_str(t.get("text")).filter(|t| t.len() < 200))
            }
            _ => {}
        }
        m.description = toml_str(p.get("description"));
        m.supplier = p
            .get("authors")
            .and_then(|a| a.as_array())
            .and_then(|a| a.first())
            .and_then(|a| toml_str(a.get("name")));
        Some(m)
    });
    if let Some(p) = project {
        for d in p.get("dependencies").and_then(|d| d.as_array()).into_iter().flatten() {
            dependencies.extend(d.as_str().and_then(|s| pep508(s, Scope::Required)));
        }
        for (_, group) in p.get("optional-dependencies").and_then(|d| d.as_table()).into_iter().flatten() {
            for d in group.as_array().into_iter().flatten() {
                dependencies.extend(d.as_str().and_then(|s| pep508(s, Scope::Optional)));
            }
        }
    }
    // Poetry keeps its dependencies in its own table.
    let poetry = doc.get("tool").and_then(|t| t.get("poetry")).and_then(|p| p.as_table());
    let module = module.or_else(|| {
        let p = poetry?;
        let mut m = Package::new(Ecosystem::Pypi, None, pypi_normalise(&toml_str(p.get("name"))?))
            .with_version(toml_str(p.get("version")));
        m.licences.extend(toml_str(p.get("license")));
        Some(m)
    });
    if let Some(p) = poetry {
        for (table, scope) in [("dependencies", Scope::Required), ("dev-dependencies", Scope::Excluded)] {
            for (name, spec) in p.get(table).and_then(|d| d.as_table()).into_iter().flatten() {
                if name == "python" {
                    continue;
                }
                let mut pkg = Package::new(Ecosystem::Pypi, None, pypi_normalise(name));
                pkg.requirement = spec.as_str().map(str::to_owned).or_else(|| toml_str(spec.get("version")));
                pkg.scope = scope;
                dependencies.push(pkg);
            }
        }
    }
    Ok(Declared { module, dependencies, locked: Vec::new() })
}

// ---- Go ----

fn golang_package(path: &str, version: Option<String>) -> Package {
    let (ns, name) = match path.rsplit_once('/') {
        Some((ns, name)) => (Some(ns.to_owned()), name.to_owned()),
        None => (None, path.to_owned()),
    };
    let mut p = Package::new(Ecosystem::Golang, ns, name).with_version(version);
    if let Some(owner) = path.strip_prefix("github.com/").and_then(|r| r.split('/').next()) {
        p.supplier = Some(format!("github.com/{owner}"));
    }
    p
}

fn go_mod(text: &str) -> Declared {
    let mut module = None;
    let mut dependencies = Vec::new();
    let mut in_require = false;
    for raw in text.lines() {
        let line = raw.split("//").next().unwrap_or("").trim();
        let indirect = raw.contains("// indirect");
        if line.is_empty() {
            continue;
        }
        if in_require {
            if line == ")" {
                in_require = false;
                continue;
            }
        } else if let Some(m) = line.strip_prefix("module ") {
            module = Some(golang_package(m.trim().trim_matches('"'), None));
            continue;
        } else if line == "require (" || line == "require(" {
            in_require = true;
            continue;
        } else if let Some(r) = line.strip_prefix("require ") {
            let mut parts = r.split_whitespace();
            if let (Some(path), Some(v)) = (parts.next(), parts.next()) {
                let mut p = golang_package(path, Some(v.to_owned()));
                p.scope = if indirect { Scope::Optional } else { Scope::Required };
                dependencies.push(p);
            }
            continue;
        } else {
            continue;
        }
        let mut parts = line.split_whitespace();
        if let (Some(path), Some(v)) = (parts.next(), parts.next()) {
            let mut p = golang_package(path, Some(v.to_owned()));
            p.scope = if indirect { Scope::Optional } else { Scope::Required };
            dependencies.push(p);
        }
    }
    Declared { module, dependencies, locked: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_kinds() {
        assert_eq!(ManifestKind::of_member("foo-1.0/pom.xml"), Some(ManifestKind::Pom));
        assert_eq!(ManifestKind::of_member("foo-1.0/sub/Cargo.lock"), Some(ManifestKind::CargoLock));
        assert_eq!(ManifestKind::of_member("foo-1.0/requirements-dev.txt"), Some(ManifestKind::Requirements));
        assert_eq!(ManifestKind::of_member("foo-1.0/src/test/resources/pom.xml"), None);
        assert_eq!(ManifestKind::of_member("foo-1.0/node_modules/a/package.json"), None);
        assert_eq!(ManifestKind::of_member("foo-1.0/README"), None);
    }

    #[test]
    fn purls_are_encoded() {
        let mut p = npm_package("@babel/core");
        p.version = Some("7.0.0+build".into());
        assert_eq!(p.purl(), "pkg:npm/%40babel/core@7.0.0%2Bbuild");
        assert_eq!(
            golang_package("github.com/a/b", Some("v1.2.3".into())).purl(),
            "pkg:golang/github.com/a/b@v1.2.3"
        );
    }

    #[test]
    fn pom_properties_and_scopes() {
        let d = parse(
            ManifestKind::Pom,
            br#"<?xml version="1.0"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <parent><groupId>org.apache.commons</groupId><artifactId>commons-parent</artifactId><version>54</version></parent>
  <artifactId>commons-x</artifactId><version>1.2</version>
  <licenses><license><name>Apache License, Version 2.0</name></license></licenses>
  <properties><junit.version>5.9.1</junit.version></properties>
  <dependencies>
    <dependency><groupId>org.junit.jupiter</groupId><artifactId>junit-jupiter</artifactId><version>${junit.version}</version><scope>test</scope></dependency>
    <dependency><groupId>com.github.luben</groupId><artifactId>zstd-jni</artifactId><version>1.5.2-5</version><optional>true</optional></dependency>
  </dependencies>
</project>"#,
        )
        .unwrap();
        let m = d.module.unwrap();
        assert_eq!(m.purl(), "pkg:maven/org.apache.commons/commons-x@1.2");
        assert_eq!(m.supplier.as_deref(), Some(ASF));
        assert_eq!(d.dependencies[0].purl(), "pkg:maven/org.junit.jupiter/junit-jupiter@5.9.1");
        assert_eq!(d.dependencies[0].scope, Scope::Excluded);
        assert_eq!(d.dependencies[1].scope, Scope::Optional);
        assert_eq!(d.dependencies[1].supplier.as_deref(), Some("github.com/luben"));
        assert!(parse(ManifestKind::Pom, b"<project><oops></project>").unwrap_err().contains("XML"));
    }

    #[test]
    fn requirements_lines() {
        let d = requirements(
            "# c\nrequests==2.31.0\nDjango>=4 ; python_version>'3'\n-r other.txt\nfoo_bar[x] == 1.0  # pinned\n",
        );
        let got: Vec<String> = d.dependencies.iter().map(Package::purl).collect();
        assert_eq!(got, ["pkg:pypi/requests@2.31.0", "pkg:pypi/django", "pkg:pypi/foo-bar@1.0"]);
        assert_eq!(d.dependencies[1].requirement.as_deref(), Some(">=4"));
    }

    #[test]
    fn go_mod_blocks() {
        let d = go_mod(
            "module github.com/apache/foo\n\ngo 1.21\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgolang.org/x/sys v0.1.0 // indirect\n)\nrequire example.com/c v2.0.0\n",
        );
        assert_eq!(d.module.unwrap().purl(), "pkg:golang/github.com/apache/foo");
        assert_eq!(d.dependencies.len(), 3);
    }
}
