//! `atr-web import committees FILE…`: committee and project data from the ASF public JSON formats.
//!
//! - Whimsy's `committee-info.json` (`{"committees": {"<key>": {"display_name", "roster": {uid: …},
//!   "pmc": bool, …}}}`): PMCs become committees, their roster the members. Committers are kept.
//! - projects.apache.org's `projects.json` (`{"<key>": {"name", "pmc", "description",
//!   "shortdesc", "category", "programming-language", …}}`): projects of known committees;
//!   attic projects are retired, `(Dormant)` ones dormant, standing committees' projects standing.
//!
//! Nothing is deleted; existing projects keep their release policy. Entries that do not fit
//! (unknown committee, invalid key) are skipped and reported, never half-written.

use std::collections::BTreeMap;

use anyhow::Context as _;
use atr_core::ids::{CommitteeKey, ProjectKey, Uid};
use atr_core::model::{Committee, Project, ProjectStatus, ReleasePolicy};
use atr_core::time::Timestamp;
use atr_storage::{Storage, StorageError};
use serde::Deserialize;

/// Committees that are not PMCs making releases (ATR's list).
const STANDING: [&str; 7] = ["attic", "comdev", "gump", "incubator", "logodev", "petri", "whimsy"];

#[derive(Debug, Deserialize)]
struct CommitteeInfo {
    committees: BTreeMap<String, CommitteeEntry>,
}

#[derive(Debug, Deserialize)]
struct CommitteeEntry {
    display_name: Option<String>,
    #[serde(default)]
    roster: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pmc: bool,
}

#[derive(Debug, Deserialize)]
struct ProjectEntry {
    name: Option<String>,
    pmc: Option<String>,
    description: Option<String>,
    shortdesc: Option<String>,
    category: Option<String>,
    #[serde(rename = "programming-language")]
    programming_language: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) committees_added: usize,
    pub(crate) committees_updated: usize,
    pub(crate) projects_added: usize,
    pub(crate) projects_updated: usize,
    pub(crate) skipped: Vec<String>,
}

fn list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default().split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

/// Imports one file (either format, recognised by its shape) in one transaction.
pub(crate) fn import(storage: &Storage, text: &str, now: Timestamp) -> anyhow::Result<Summary> {
    let value: serde_json::Value = serde_json::from_str(text).context("the file is not JSON")?;
    let mut summary = Summary::default();
    if value.get("committees").is_some() {
        let info: CommitteeInfo = serde_json::from_value(value)
            .context("the file looks like committee-info.json but does not fit its format")?;
        storage.write(|tx| {
            for (key, entry) in info.committees {
                let Ok(ck) = CommitteeKey::new(key.as_str()) else {
                    summary.skipped.push(format!("committee `{key}`: not a valid committee key"));
                    continue;
                };
                if !entry.pmc {
                    summary.skipped.push(format!("committee `{key}`: not a PMC"));
                    continue;
                }
                let members: Vec<Uid> =
                    entry.roster.keys().filter_map(|u| Uid::new(u.as_str()).ok()).collect();
                let existing = tx.committee(&ck)?;
                let committee = Committee {
                    key: ck,
                    full_name: entry.display_name,
                    is_podling: false,
                    parent: None,
                    members,
                    committers: existing.as_ref().map(|c| c.committers.clone()).unwrap_or_default(),
                    release_managers: existing
                        .as_ref()
                        .map(|c| c.release_managers.clone())
                        .unwrap_or_default(),
                };
                tx.upsert_committee(&committee)?;
                if existing.is_some() {
                    summary.committees_updated += 1
                } else {
                    summary.committees_added += 1
                }
            }
            Ok::<_, StorageError>(())
        })?;
    } else {
        let projects: BTreeMap<String, ProjectEntry> = serde_json::from_value(value)
            .context("the file is neither committee-info.json nor projects.json")?;
        let admin = Uid::new("admin")?;
        storage.write(|tx| {
            for (key, entry) in projects {
                let (Ok(pk), Some(pmc)) = (ProjectKey::new(key.as_str()), entry.pmc.as_deref()) else {
                    summary.skipped.push(format!("project `{key}`: invalid key or no PMC"));
                    continue;
                };
                let Some(committee) = CommitteeKey::new(pmc).ok().map(|c| tx.committee(&c)).transpose()?.flatten() else {
                    summary.skipped.push(format!("project `{key}`: its committee `{pmc}` is not known; import committee-info.json first"));
                    continue;
                };
                let name = entry.name.unwrap_or_else(|| key.clone());
                let status = if pmc == "attic" {
                    ProjectStatus::Retired
                } else if key.contains("_dormant_") || name.ends_with("(Dormant)") {
                    ProjectStatus::Dormant
                } else if STANDING.contains(&pmc) {
                    ProjectStatus::Standing
                } else {
                    ProjectStatus::Active
                };
                let existing = tx.project(&pk)?;
                let project = Project {
                    key: pk,
                    committee_key: committee.key,
                    name,
                    status,
                    super_project: None,
                    description: entry.shortdesc.or(entry.description).unwrap_or_default(),
                    category: list(entry.category.as_deref()),
                    programming_languages: list(entry.programming_language.as_deref()),
                    created: existing.as_ref().map_or(now, |p| p.created),
                    created_by: existing.as_ref().map_or_else(|| admin.clone(), |p| p.created_by.clone()),
                    policy: existing.as_ref().map_or_else(ReleasePolicy::default, |p| p.policy.clone()),
                };
                if existing.is_some() {
                    tx.update_project(&project)?;
                    summary.projects_updated += 1;
                } else {
                    tx.insert_project(&project)?;
                    summary.projects_added += 1;
                }
            }
            Ok::<_, StorageError>(())
        })?;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTEES: &str = r#"{"last_updated": "2026-01-01", "committee_count": 3, "pmc_count": 2,
      "committees": {
        "tooling": {"display_name": "Tooling", "site": null, "description": "x", "mail_list": "tooling",
                    "established": "2024-01", "report": [], "chair": {"wave": {"name": "W"}},
                    "roster_count": 2, "roster": {"wave": {"name": "W", "date": "2024-01-01"}, "sbp": {"name": "S"}}, "pmc": true},
        "attic": {"display_name": "Attic", "roster": {"hboutemy": {"name": "H"}}, "pmc": true},
        "legal": {"display_name": "Legal Affairs", "roster": {}, "pmc": false},
        "Bad Key": {"display_name": "?", "roster": {}, "pmc": true}
      }}"#;

    const PROJECTS: &str = r#"{
        "tooling-trusted-releases": {"name": "Apache Trusted Releases", "pmc": "tooling", "shortdesc": "Releases.",
                                     "category": "build-management, security", "programming-language": "Python", "homepage": "h"},
        "old-thing": {"name": "Apache Old Thing", "pmc": "attic", "homepage": "h"},
        "orphan": {"name": "Apache Orphan", "pmc": "nosuch", "homepage": "h"}
    }"#;

    #[test]
    fn committees_then_projects_are_imported_and_reimport_updates() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path()).unwrap();
        let now = Timestamp::from_unix(1_700_000_000);
        let c = import(&s, COMMITTEES, now).unwrap();
        assert_eq!((c.committees_added, c.committees_updated), (2, 0));
        assert_eq!(c.skipped.len(), 2, "{:?}", c.skipped);
        let tooling = s.read(|tx| tx.committee(&CommitteeKey::new("tooling").unwrap())).unwrap().unwrap();
        assert_eq!(tooling.display_name(), "Tooling");
        assert_eq!(tooling.members.len(), 2);

        let p = import(&s, PROJECTS, now).unwrap();
        assert_eq!((p.projects_added, p.projects_updated), (2, 0));
        assert!(p.skipped[0].contains("`nosuch` is not known"), "{:?}", p.skipped);
        let atr =
            s.read(|tx| tx.project(&ProjectKey::new("tooling-trusted-releases").unwrap())).unwrap().unwrap();
        assert_eq!(
            (atr.status, atr.category.len(), atr.description.as_str()),
            (ProjectStatus::Active, 2, "Releases.")
        );
        let old = s.read(|tx| tx.project(&ProjectKey::new("old-thing").unwrap())).unwrap().unwrap();
        assert_eq!(old.status, ProjectStatus::Retired);

        let again = import(&s, PROJECTS, now).unwrap();
        assert_eq!((again.projects_added, again.projects_updated), (0, 2));
        assert!(import(&s, "[1, 2]", now).is_err());
        assert!(import(&s, "not json", now).unwrap_err().to_string().contains("not JSON"));
    }
}
