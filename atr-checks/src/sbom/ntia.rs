//! Scoring an SBOM against the NTIA minimum elements (2021): supplier, component name, version,
//! unique identifiers, dependency relationships, author of the SBOM data, timestamp.
//!
//! Per-component elements count the share of components (the described release and every listed
//! component) that carry them; the score is the mean over the seven elements, in percent.

use serde::Serialize;
use serde_json::Value;

/// How well one element is met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Element {
    /// The element's name (`supplier`, `component name`, …).
    pub name: &'static str,
    /// Share met, 0.0 to 1.0.
    pub met: f64,
    /// What is missing, when not fully met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// The NTIA score of one SBOM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NtiaScore {
    /// Mean over the elements, in percent (0–100, rounded down).
    pub score: u32,
    /// Each element.
    pub elements: Vec<Element>,
    /// Components counted (the described release plus the listed components).
    pub components: usize,
}

impl NtiaScore {
    /// The elements not fully met.
    pub fn missing(&self) -> impl Iterator<Item = &Element> {
        self.elements.iter().filter(|e| e.met < 1.0)
    }
}

/// Named components of a per-component element that lack it, for messages.
const NAMES_SHOWN: usize = 5;

fn non_empty_str(v: Option<&Value>) -> bool {
    v.and_then(|v| v.as_str()).is_some_and(|s| !s.trim().is_empty())
}

fn has_supplier(c: &Value) -> bool {
    let entity =
        |e: Option<&Value>| e.is_some_and(|e| non_empty_str(e.get("name")) || e.get("url").is_some());
    entity(c.get("supplier")) || entity(c.get("manufacturer")) || non_empty_str(c.get("publisher"))
}

fn has_identifier(c: &Value) -> bool {
    non_empty_str(c.get("purl"))
        || non_empty_str(c.get("cpe"))
        || c.get("swid").is_some_and(|s| non_empty_str(s.get("tagId")))
        || non_empty_str(c.get("omniborId"))
        || c.get("omniborId").and_then(|o| o.as_array()).is_some_and(|a| !a.is_empty())
        || c.get("swhid").and_then(|o| o.as_array()).is_some_and(|a| !a.is_empty())
}

fn label(c: &Value) -> String {
    let name = c.get("name").and_then(|n| n.as_str()).unwrap_or("(unnamed)");
    match c.get("version").and_then(|v| v.as_str()) {
        Some(v) => format!("{name}@{v}"),
        None => name.to_owned(),
    }
}

/// Every component of the document, nested ones included, the described release first.
fn components(doc: &Value) -> Vec<&Value> {
    fn walk<'a>(list: Option<&'a Value>, out: &mut Vec<&'a Value>) {
        for c in list.and_then(|l| l.as_array()).into_iter().flatten() {
            out.push(c);
            walk(c.get("components"), out);
        }
    }
    let mut out = Vec::new();
    if let Some(root) = doc.get("metadata").and_then(|m| m.get("component")) {
        out.push(root);
    }
    walk(doc.get("components"), &mut out);
    out
}

fn per_component(name: &'static str, all: &[&Value], has: impl Fn(&Value) -> bool, what: &str) -> Element {
    if all.is_empty() {
        return Element { name, met: 0.0, missing: Some("the SBOM describes no component".into()) };
    }
    let lacking: Vec<&Value> = all.iter().copied().filter(|c| !has(c)).collect();
    let met = (all.len() - lacking.len()) as f64 / all.len() as f64;
    let missing = (!lacking.is_empty()).then(|| {
        let names: Vec<String> = lacking.iter().take(NAMES_SHOWN).map(|c| label(c)).collect();
        let more = if lacking.len() > NAMES_SHOWN { ", …".to_owned() } else { String::new() };
        format!("{} of {} components have no {what} ({}{more})", lacking.len(), all.len(), names.join(", "))
    });
    Element { name, met, missing }
}

fn whole(name: &'static str, ok: bool, missing: &str) -> Element {
    Element { name, met: if ok { 1.0 } else { 0.0 }, missing: (!ok).then(|| missing.to_owned()) }
}

/// Scores a CycloneDX JSON document (any spec version).
pub fn score(doc: &Value) -> NtiaScore {
    let all = components(doc);
    let metadata = doc.get("metadata");
    let mut supplier = per_component("supplier", &all, has_supplier, "supplier");
    let bom_supplier = metadata.is_some_and(has_supplier);
    if !bom_supplier {
        supplier.met = supplier.met.min(0.5);
        let also = supplier.missing.take().map_or(String::new(), |m| format!("; {m}"));
        supplier.missing = Some(format!("the SBOM names no supplier (`metadata.supplier`){also}"));
    }
    let name = per_component("component name", &all, |c| non_empty_str(c.get("name")), "name");
    let version = per_component("version", &all, |c| non_empty_str(c.get("version")), "version");
    let ids = per_component("unique identifiers", &all, has_identifier, "purl, CPE or SWID");
    let deps = doc.get("dependencies").and_then(|d| d.as_array());
    let root_ref =
        metadata.and_then(|m| m.get("component")).and_then(|c| c.get("bom-ref")).and_then(|r| r.as_str());
    let relationships = match (deps, root_ref) {
        (Some(d), Some(r)) if d.iter().any(|e| e.get("ref").and_then(|x| x.as_str()) == Some(r)) => {
            whole("dependency relationships", true, "")
        }
        (Some(d), _) if !d.is_empty() => Element {
            name: "dependency relationships",
            met: 0.5,
            missing: Some(
                "`dependencies` does not say what the described component (`metadata.component`) depends on"
                    .into(),
            ),
        },
        _ => whole("dependency relationships", false, "no `dependencies` relationships"),
    };
    let author = metadata.is_some_and(|m| {
        m.get("authors").and_then(|a| a.as_array()).is_some_and(|a| !a.is_empty())
            || m.get("author").is_some()
            || match m.get("tools") {
                Some(Value::Array(a)) => !a.is_empty(),
                Some(Value::Object(o)) => o.values().any(|v| v.as_array().is_some_and(|a| !a.is_empty())),
                _ => false,
            }
    });
    let author =
        whole("author", author, "no author of the SBOM data (`metadata.authors` or `metadata.tools`)");
    let timestamp = whole(
        "timestamp",
        metadata.is_some_and(|m| non_empty_str(m.get("timestamp"))),
        "no `metadata.timestamp`",
    );
    let elements = vec![supplier, name, version, ids, relationships, author, timestamp];
    let mean = elements.iter().map(|e| e.met).sum::<f64>() / elements.len() as f64;
    NtiaScore { score: (mean * 100.0 + 1e-9).floor() as u32, elements, components: all.len() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn complete_sbom_scores_100() {
        let doc = json!({
            "metadata": {
                "timestamp": "2026-01-01T00:00:00Z",
                "authors": [{ "name": "x" }],
                "supplier": { "name": "ASF" },
                "component": { "bom-ref": "r", "name": "foo", "version": "1", "purl": "pkg:generic/foo@1", "supplier": { "name": "ASF" } }
            },
            "components": [{ "name": "a", "version": "2", "purl": "pkg:npm/a@2", "supplier": { "name": "A" } }],
            "dependencies": [{ "ref": "r", "dependsOn": ["pkg:npm/a@2"] }]
        });
        let s = score(&doc);
        assert_eq!(s.score, 100, "{s:?}");
        assert_eq!(s.missing().count(), 0);
        assert_eq!(s.components, 2);
    }

    #[test]
    fn missing_elements_are_named() {
        let doc = json!({
            "metadata": { "component": { "name": "foo", "version": "1" } },
            "components": [{ "name": "a" }, { "name": "b", "version": "1", "purl": "pkg:npm/b@1" }]
        });
        let s = score(&doc);
        let missing: Vec<&str> = s.missing().map(|e| e.name).collect();
        assert_eq!(
            missing,
            ["supplier", "version", "unique identifiers", "dependency relationships", "author", "timestamp"]
        );
        let version = s.elements.iter().find(|e| e.name == "version").unwrap();
        assert!(version.missing.as_deref().unwrap().contains("1 of 3 components have no version (a)"));
        // name 1, version 2/3, ids 1/3, the rest 0.
        assert_eq!(s.score, ((1.0 + 2.0 / 3.0 + 1.0 / 3.0) / 7.0 * 100.0) as u32);
    }
}
