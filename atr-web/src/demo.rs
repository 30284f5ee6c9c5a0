//! Demo data made on first start: committee `test` (member alice, committer bob) and its project
//! `test-client`, matching the demo accounts of the local identity provider.

use atr_core::ids::{CommitteeKey, ProjectKey, Uid};
use atr_core::model::{Committee, Project, ProjectStatus, ReleasePolicy};
use atr_core::time::Timestamp;
use atr_storage::{Storage, StorageError};

/// A committee with these members and committers.
pub(crate) fn committee(key: &str, members: &[&str], committers: &[&str]) -> anyhow::Result<Committee> {
    let uids = |list: &[&str]| list.iter().map(|u| Uid::new(*u)).collect::<Result<Vec<_>, _>>();
    Ok(Committee {
        key: CommitteeKey::new(key)?,
        full_name: None,
        is_podling: false,
        parent: None,
        members: uids(members)?,
        committers: uids(committers)?,
        release_managers: Vec::new(),
    })
}

/// An active project of `committee`.
pub(crate) fn project(key: &str, committee: &str, name: &str, now: Timestamp) -> anyhow::Result<Project> {
    Ok(Project {
        key: ProjectKey::new(key)?,
        committee_key: CommitteeKey::new(committee)?,
        name: name.to_owned(),
        status: ProjectStatus::Active,
        super_project: None,
        description: format!("{name}, made as demo data on first start."),
        category: Vec::new(),
        programming_languages: Vec::new(),
        created: now,
        created_by: Uid::new("admin")?,
        policy: ReleasePolicy::default(),
    })
}

/// Creates committee `test` (alice a member, bob a committer) and project `test-client` unless
/// the project exists already; people already in a roster made by `atr-web user add` keep their
/// roles. Returns whether anything was made.
pub(crate) fn seed(storage: &Storage, now: Timestamp) -> anyhow::Result<bool> {
    let test = committee("test", &["alice"], &["bob"])?;
    let client = project("test-client", "test", "Apache Test Client", now)?;
    let made = storage.write(|tx| {
        if tx.project(&client.key)?.is_some() {
            return Ok::<_, StorageError>(false);
        }
        let mut test = test;
        if let Some(existing) = tx.committee(&test.key)? {
            for (have, seed) in
                [(&existing.members, &mut test.members), (&existing.committers, &mut test.committers)]
            {
                seed.retain(|u| !existing.members.contains(u) && !existing.committers.contains(u));
                seed.extend(have.iter().cloned());
            }
            test.release_managers = existing.release_managers;
        }
        tx.upsert_committee(&test)?;
        tx.insert_project(&client)?;
        Ok(true)
    })?;
    Ok(made)
}
