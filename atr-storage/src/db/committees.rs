//! Committees (with their members, committers and release managers) and projects.

use std::collections::BTreeSet;

use atr_core::ids::{CommitteeKey, ProjectKey, Uid};
use atr_core::model::{Committee, Project, ReleasePolicy};
use rusqlite::{OptionalExtension, params};

use super::{Tx, json_col, parse_col, parse_opt, to_json, ts};
use crate::error::{DbContext, StorageError, insert_error};

const ROLES: [&str; 3] = ["member", "committer", "release_manager"];

/// A person's committee roles, as the rosters record them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRoles {
    /// Committees whose member the person is (binding votes, member permissions).
    pub member_of: BTreeSet<CommitteeKey>,
    /// Committees the person takes part in as a committer or release manager.
    pub participant_of: BTreeSet<CommitteeKey>,
}

const PROJECT_COLUMNS: &str = "key, committee_key, name, status, super_project_key, description, category, \
     programming_languages, created_at, created_by, release_policy";

fn project_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        key: parse_col(r, 0)?,
        committee_key: parse_col(r, 1)?,
        name: r.get(2)?,
        status: parse_col(r, 3)?,
        super_project: parse_opt(r, 4)?,
        description: r.get(5)?,
        category: json_col(r, 6)?,
        programming_languages: json_col(r, 7)?,
        created: ts(r, 8)?,
        created_by: parse_col(r, 9)?,
        policy: json_col(r, 10)?,
    })
}

impl Tx<'_> {
    /// Inserts a committee, or replaces its fields and people if it exists (the membership sync).
    pub fn upsert_committee(&self, c: &Committee) -> Result<(), StorageError> {
        self.conn()
            .execute(
                "INSERT INTO committees (key, full_name, is_podling, parent_key) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET full_name = excluded.full_name, is_podling = excluded.is_podling,
                     parent_key = excluded.parent_key",
                params![c.key.as_str(), c.full_name, c.is_podling, c.parent.as_ref().map(|p| p.as_str())],
            )
            .map_err(insert_error("committee", &c.key))?;
        self.conn()
            .execute("DELETE FROM committee_people WHERE committee_key = ?1", [c.key.as_str()])
            .doing("replacing committee people")?;
        let mut stmt = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO committee_people (committee_key, uid, role) VALUES (?1, ?2, ?3)",
            )
            .doing("replacing committee people")?;
        for (role, people) in ROLES.iter().zip([&c.members, &c.committers, &c.release_managers]) {
            for uid in people {
                stmt.execute(params![c.key.as_str(), uid.as_str(), role])
                    .doing("replacing committee people")?;
            }
        }
        Ok(())
    }

    /// The committee `key`, with its people.
    pub fn committee(&self, key: &CommitteeKey) -> Result<Option<Committee>, StorageError> {
        let row = self
            .conn()
            .query_row(
                "SELECT full_name, is_podling, parent_key FROM committees WHERE key = ?1",
                [key.as_str()],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, bool>(1)?,
                        parse_opt::<CommitteeKey>(r, 2)?,
                    ))
                },
            )
            .optional()
            .doing("reading a committee")?;
        let Some((full_name, is_podling, parent)) = row else { return Ok(None) };
        let mut c = Committee {
            key: key.clone(),
            full_name,
            is_podling,
            parent,
            members: vec![],
            committers: vec![],
            release_managers: vec![],
        };
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT uid, role FROM committee_people WHERE committee_key = ?1 ORDER BY uid")
            .doing("reading committee people")?;
        let people = stmt
            .query_map([key.as_str()], |r| Ok((parse_col::<Uid>(r, 0)?, r.get::<_, String>(1)?)))
            .doing("reading committee people")?;
        for p in people {
            let (uid, role) = p.doing("reading committee people")?;
            match role.as_str() {
                "member" => c.members.push(uid),
                "committer" => c.committers.push(uid),
                _ => c.release_managers.push(uid),
            }
        }
        Ok(Some(c))
    }

    /// Every committee key, sorted.
    pub fn all_committee_keys(&self) -> Result<Vec<CommitteeKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT key FROM committees ORDER BY key")
            .doing("listing committees")?;
        stmt.query_map([], |r| parse_col(r, 0))
            .doing("listing committees")?
            .collect::<Result<_, _>>()
            .doing("listing committees")
    }

    /// The committees in which `uid` has any role, sorted.
    pub fn committees_of(&self, uid: &Uid) -> Result<Vec<CommitteeKey>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT committee_key FROM committee_people WHERE uid = ?1 ORDER BY committee_key",
            )
            .doing("listing committees of a person")?;
        stmt.query_map([uid.as_str()], |r| parse_col(r, 0))
            .doing("listing committees of a person")?
            .collect::<Result<_, _>>()
            .doing("listing committees of a person")
    }

    /// The roles of `uid` in the committee rosters: the one record of who is a member (binding
    /// votes, member permissions) and who takes part (committers and release managers). The
    /// committee import, `atr-web user add` and an identity provider's login all write it.
    pub fn roles_of(&self, uid: &Uid) -> Result<PersonRoles, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT committee_key, role FROM committee_people WHERE uid = ?1")
            .doing("reading the roles of a person")?;
        let rows = stmt
            .query_map([uid.as_str()], |r| Ok((parse_col::<CommitteeKey>(r, 0)?, r.get::<_, String>(1)?)))
            .doing("reading the roles of a person")?;
        let mut roles = PersonRoles::default();
        for row in rows {
            let (committee, role) = row.doing("reading the roles of a person")?;
            if role == "member" {
                roles.member_of.insert(committee);
            } else {
                roles.participant_of.insert(committee);
            }
        }
        Ok(roles)
    }

    /// Makes `uid` a member of exactly `member_of` and a committer of exactly `committer_of`
    /// (release-manager entries stay), adding a bare committee row for a key not known yet.
    /// Returns the committees that were added that way.
    pub fn set_roles(
        &self,
        uid: &Uid,
        member_of: &BTreeSet<CommitteeKey>,
        committer_of: &BTreeSet<CommitteeKey>,
    ) -> Result<Vec<CommitteeKey>, StorageError> {
        let doing = "changing the roles of a person";
        self.conn()
            .execute(
                "DELETE FROM committee_people WHERE uid = ?1 AND role IN ('member', 'committer')",
                [uid.as_str()],
            )
            .doing(doing)?;
        let mut added = Vec::new();
        for (role, keys) in [("member", member_of), ("committer", committer_of)] {
            for key in keys {
                let n = self
                    .conn()
                    .execute(
                        "INSERT OR IGNORE INTO committees (key, is_podling) VALUES (?1, 0)",
                        [key.as_str()],
                    )
                    .doing(doing)?;
                if n > 0 {
                    added.push(key.clone());
                }
                self.conn()
                    .execute(
                        "INSERT OR IGNORE INTO committee_people (committee_key, uid, role) VALUES (?1, ?2, ?3)",
                        params![key.as_str(), uid.as_str(), role],
                    )
                    .doing(doing)?;
            }
        }
        Ok(added)
    }

    /// Deletes a committee; refused while projects or child committees refer to it.
    pub fn delete_committee(&self, key: &CommitteeKey) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute("DELETE FROM committees WHERE key = ?1", [key.as_str()])
            .map_err(insert_error("committee", key))?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "committee", key: key.to_string() });
        }
        Ok(())
    }

    /// Inserts a project.
    pub fn insert_project(&self, p: &Project) -> Result<(), StorageError> {
        self.conn()
            .execute(
                &format!("INSERT INTO projects ({PROJECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    p.key.as_str(),
                    p.committee_key.as_str(),
                    p.name,
                    p.status.as_str(),
                    p.super_project.as_ref().map(|s| s.as_str()),
                    p.description,
                    to_json(&p.category),
                    to_json(&p.programming_languages),
                    p.created.unix(),
                    p.created_by.as_str(),
                    to_json(&p.policy),
                ],
            )
            .map_err(insert_error("project", &p.key))?;
        Ok(())
    }

    /// Replaces every field of an existing project except its key, creation time and creator.
    pub fn update_project(&self, p: &Project) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE projects SET committee_key = ?2, name = ?3, status = ?4, super_project_key = ?5,
                     description = ?6, category = ?7, programming_languages = ?8, release_policy = ?9
                 WHERE key = ?1",
                params![
                    p.key.as_str(),
                    p.committee_key.as_str(),
                    p.name,
                    p.status.as_str(),
                    p.super_project.as_ref().map(|s| s.as_str()),
                    p.description,
                    to_json(&p.category),
                    to_json(&p.programming_languages),
                    to_json(&p.policy),
                ],
            )
            .map_err(insert_error("project", &p.key))?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "project", key: p.key.to_string() });
        }
        Ok(())
    }

    /// Replaces the release policy of a project.
    pub fn set_release_policy(
        &self,
        project: &ProjectKey,
        policy: &ReleasePolicy,
    ) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute(
                "UPDATE projects SET release_policy = ?2 WHERE key = ?1",
                params![project.as_str(), to_json(policy)],
            )
            .doing("changing a release policy")?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "project", key: project.to_string() });
        }
        Ok(())
    }

    /// The project `key`.
    pub fn project(&self, key: &ProjectKey) -> Result<Option<Project>, StorageError> {
        self.conn()
            .query_row(
                &format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE key = ?1"),
                [key.as_str()],
                project_row,
            )
            .optional()
            .doing("reading a project")
    }

    /// The projects of a committee, sorted by key.
    pub fn projects_of_committee(&self, committee: &CommitteeKey) -> Result<Vec<Project>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {PROJECT_COLUMNS} FROM projects WHERE committee_key = ?1 ORDER BY key"
            ))
            .doing("listing projects")?;
        stmt.query_map([committee.as_str()], project_row)
            .doing("listing projects")?
            .collect::<Result<_, _>>()
            .doing("listing projects")
    }

    /// Every project, sorted by key.
    pub fn projects(&self) -> Result<Vec<Project>, StorageError> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT {PROJECT_COLUMNS} FROM projects ORDER BY key"))
            .doing("listing projects")?;
        stmt.query_map([], project_row)
            .doing("listing projects")?
            .collect::<Result<_, _>>()
            .doing("listing projects")
    }

    /// Deletes a project; refused while it has releases.
    pub fn delete_project(&self, key: &ProjectKey) -> Result<(), StorageError> {
        let n = self
            .conn()
            .execute("DELETE FROM projects WHERE key = ?1", [key.as_str()])
            .map_err(insert_error("project", key))?;
        if n == 0 {
            return Err(StorageError::NotFound { what: "project", key: key.to_string() });
        }
        Ok(())
    }
}
