//! Validation against the real CycloneDX JSON schemas (1.2 to 1.7), shipped in
//! `atr-checks/schemas/cyclonedx/` and compiled into the library: no network, no file system.
//! Each version's validator is built once per process, on first use.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde_json::Value;

const SPDX: &str = include_str!("../../schemas/cyclonedx/spdx.schema.json");
const JSF: &str = include_str!("../../schemas/cyclonedx/jsf-0.82.schema.json");
const CRYPTO: &str = include_str!("../../schemas/cyclonedx/cryptography-defs.schema.json");

/// The CycloneDX spec versions with a JSON schema, oldest first, with their schema text.
const SCHEMAS: [(&str, &str); 6] = [
    ("1.2", include_str!("../../schemas/cyclonedx/bom-1.2.schema.json")),
    ("1.3", include_str!("../../schemas/cyclonedx/bom-1.3.schema.json")),
    ("1.4", include_str!("../../schemas/cyclonedx/bom-1.4.schema.json")),
    ("1.5", include_str!("../../schemas/cyclonedx/bom-1.5.schema.json")),
    ("1.6", include_str!("../../schemas/cyclonedx/bom-1.6.schema.json")),
    ("1.7", include_str!("../../schemas/cyclonedx/bom-1.7.schema.json")),
];

/// The spec versions that can be validated.
pub fn supported_versions() -> Vec<&'static str> {
    SCHEMAS.iter().map(|(v, _)| *v).collect()
}

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// JSON pointer to the offending value (`/components/3/hashes/0/alg`); empty for the document.
    pub instance_path: String,
    /// What is wrong, as the validator says it.
    pub message: String,
}

/// Why a document is not valid CycloneDX JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// `specVersion` is missing or not a string.
    NoSpecVersion,
    /// `specVersion` names a version without a JSON schema.
    UnsupportedVersion(String),
    /// The document breaks its version's schema.
    Invalid {
        /// The declared spec version.
        version: String,
        /// The violations (at most [`MAX_VIOLATIONS`]).
        violations: Vec<Violation>,
        /// Whether there were more.
        more: bool,
    },
}

/// Violations kept per document.
pub const MAX_VIOLATIONS: usize = 20;

impl SchemaError {
    /// A one-line summary naming the first violations.
    pub fn summary(&self) -> String {
        match self {
            SchemaError::NoSpecVersion => "it has no `specVersion` string".into(),
            SchemaError::UnsupportedVersion(v) => format!(
                "it declares `specVersion` {v:?}, which has no CycloneDX JSON schema (known: {})",
                supported_versions().join(", ")
            ),
            SchemaError::Invalid { version, violations, more } => {
                let shown: Vec<String> = violations
                    .iter()
                    .take(3)
                    .map(|v| {
                        let at = if v.instance_path.is_empty() { "/" } else { &v.instance_path };
                        format!("at `{at}`: {}", v.message)
                    })
                    .collect();
                let rest = violations.len().saturating_sub(3);
                let tail = if rest > 0 || *more {
                    format!(" (and {}{rest} more)", if *more { "over " } else { "" })
                } else {
                    String::new()
                };
                format!("it breaks the CycloneDX {version} schema {}{tail}", shown.join("; "))
            }
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("shipped schemas are valid JSON")
}

fn build(schema_text: &str) -> jsonschema::Validator {
    let base = "http://cyclonedx.org/schema/";
    let mut resources = Vec::new();
    for (names, text) in [
        (["spdx.schema.json", "spdx.SNAPSHOT.schema.json"], SPDX),
        (["jsf-0.82.schema.json", "jsf-0.82.SNAPSHOT.schema.json"], JSF),
        (["cryptography-defs.schema.json", "cryptography-defs.SNAPSHOT.schema.json"], CRYPTO),
    ] {
        for n in names {
            resources.push((format!("{base}{n}"), parse(text)));
        }
    }
    let mut registry = jsonschema::Registry::new();
    for (uri, doc) in resources {
        registry = registry.add(uri, doc).expect("shipped schema URIs are valid");
    }
    let registry = registry.prepare().expect("shipped schemas resolve");
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .with_registry(&registry)
        .offline()
        .build(&parse(schema_text))
        .expect("shipped CycloneDX schemas compile")
}

fn validator(version: &str) -> Option<&'static jsonschema::Validator> {
    static CELLS: [OnceLock<jsonschema::Validator>; 6] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let i = SCHEMAS.iter().position(|(v, _)| *v == version)?;
    Some(CELLS[i].get_or_init(|| build(SCHEMAS[i].1)))
}

/// Validates a CycloneDX JSON document against the schema of the `specVersion` it declares.
pub fn validate(doc: &Value) -> Result<(), SchemaError> {
    let version = doc.get("specVersion").and_then(|v| v.as_str()).ok_or(SchemaError::NoSpecVersion)?;
    let v = validator(version).ok_or_else(|| SchemaError::UnsupportedVersion(version.to_owned()))?;
    let mut violations = Vec::new();
    let mut more = false;
    for e in v.iter_errors(doc) {
        if violations.len() == MAX_VIOLATIONS {
            more = true;
            break;
        }
        let message = e.to_string();
        let message = if message.len() > 300 {
            format!("{}…", &message[..message.floor_char_boundary(300)])
        } else {
            message
        };
        violations.push(Violation { instance_path: e.instance_path().to_string(), message });
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Invalid { version: version.to_owned(), violations, more })
    }
}

/// Whether `id` is an SPDX licence identifier known to the shipped schema (case-sensitive, as the
/// schema's `enum` is).
pub fn is_spdx_id(id: &str) -> bool {
    static IDS: OnceLock<HashSet<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        parse(SPDX)
            .get("enum")
            .and_then(|e| e.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    })
    .contains(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_shipped_schema_compiles_and_judges() {
        for v in supported_versions() {
            let ok = json!({ "bomFormat": "CycloneDX", "specVersion": v, "version": 1, "components": [] });
            assert_eq!(validate(&ok), Ok(()), "{v}");
            let bad = json!({ "bomFormat": "SPDX", "specVersion": v, "version": 1 });
            assert!(matches!(validate(&bad), Err(SchemaError::Invalid { .. })), "{v}");
        }
    }

    #[test]
    fn referenced_spdx_schema_is_used() {
        let doc = |id: &str| {
            json!({ "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
                    "components": [{ "type": "library", "name": "x", "licenses": [{ "license": { "id": id } }] }] })
        };
        assert_eq!(validate(&doc("Apache-2.0")), Ok(()));
        let Err(SchemaError::Invalid { violations, .. }) = validate(&doc("Not-A-Licence")) else {
            panic!("an unknown SPDX id must fail");
        };
        assert!(
            violations.iter().any(|v| v.instance_path.starts_with("/components/0/licenses")),
            "{violations:?}"
        );
        assert!(is_spdx_id("MIT") && !is_spdx_id("mit"));
    }

    #[test]
    fn unknown_versions_are_named() {
        let e = validate(&json!({ "bomFormat": "CycloneDX", "specVersion": "2.5" })).unwrap_err();
        assert_eq!(e, SchemaError::UnsupportedVersion("2.5".into()));
        assert!(e.summary().contains("1.6"));
        assert_eq!(validate(&json!({})), Err(SchemaError::NoSpecVersion));
    }
}
