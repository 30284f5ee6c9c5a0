//! The release policy's missing-SBOM severity: migration V5 (old policies read as `concern`,
//! triggers refuse other values), and the planner carrying the project's setting into the SBOM
//! presence task of a new draft revision.

use atr_core::model::{MissingSbom, TaskType};
use atr_storage::Storage;

use crate::support::*;

fn conn(s: &Storage) -> rusqlite::Connection {
    rusqlite::Connection::open(s.layout().database()).unwrap()
}

fn stored_setting(s: &Storage) -> Option<String> {
    conn(s)
        .query_row(
            "SELECT json_extract(release_policy, '$.missing_sbom_status') FROM projects WHERE key = ?1",
            [project_key().as_str()],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn migration_v5_gives_old_policies_the_default_and_refuses_other_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    assert_eq!(
        stored_setting(&s).as_deref(),
        Some("suggestion"),
        "a new policy stores the setting (the default, as ATR)"
    );
    // Make the row as it was before V5 (no triggers, a policy without the setting), then run
    // V5's own SQL on it (later migrations are already applied, so refinery cannot re-run it).
    {
        let c = conn(&s);
        c.execute_batch(
            "DROP TRIGGER projects_missing_sbom_status_insert;
             DROP TRIGGER projects_missing_sbom_status_update;
             UPDATE projects SET release_policy = json_remove(release_policy, '$.missing_sbom_status');",
        )
        .unwrap();
        assert_eq!(stored_setting(&s), None);
        let old: atr_core::model::Project = s.read(|tx| tx.project(&project_key())).unwrap().unwrap();
        assert_eq!(
            old.policy.missing_sbom_status,
            MissingSbom::Suggestion,
            "an old policy reads as today's default"
        );
        c.execute_batch(include_str!("../../migrations/V5__missing_sbom_status.sql")).unwrap();
    }
    assert_eq!(stored_setting(&s).as_deref(), Some("concern"), "V5 filled in the default of its time");
    let applied: i64 = conn(&s)
        .query_row("SELECT count(*) FROM refinery_schema_history WHERE version = 5", [], |r| r.get(0))
        .unwrap();
    assert_eq!(applied, 1, "Storage::open applies V5");

    // Only the three settings are stored, whatever writes the row.
    let c = conn(&s);
    for bad in ["'note'", "'exception'", "NULL"] {
        let err = c
            .execute(
                &format!(
                    "UPDATE projects SET release_policy = json_set(release_policy, '$.missing_sbom_status', {bad})"
                ),
                [],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be suggestion, concern or blocker"), "{bad}: {err}");
    }
    let err = c
        .execute(
            "INSERT INTO projects (key, committee_key, name, created_at, created_by, release_policy)
             VALUES ('bar', 'tooling', 'Bar', 0, 'alice', '{\"missing_sbom_status\": \"warning\"}')",
            [],
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("must be suggestion, concern or blocker"), "{err}");
    assert_eq!(stored_setting(&s).as_deref(), Some("concern"), "refused updates changed nothing");
}

#[test]
fn each_setting_is_stored_and_planned_into_the_presence_check() {
    let dir = tempfile::tempdir().unwrap();
    let s = seeded(dir.path());
    for (i, setting) in MissingSbom::ALL.iter().copied().enumerate() {
        s.write(|tx| {
            let mut p = tx.project(&project_key())?.unwrap();
            p.policy.missing_sbom_status = setting;
            tx.set_release_policy(&project_key(), &p.policy)
        })
        .unwrap();
        assert_eq!(stored_setting(&s).as_deref(), Some(setting.as_str()));
        let read = s.read(|tx| tx.project(&project_key())).unwrap().unwrap();
        assert_eq!(read.policy.missing_sbom_status, setting);

        // A new revision with a source archive (a different one each time, so nothing is cached).
        let archive = rel(&format!("foo-1.0.{i}-src.tar.gz"));
        let (_, (), plan) = s
            .create_draft_revision(&new_rev("upload"), |d| {
                d.write(&archive, format!("archive {i}").as_bytes())
            })
            .unwrap();
        let tasks: Vec<_> = plan
            .enqueued
            .iter()
            .map(|id| s.read(|tx| tx.task(*id)).unwrap().unwrap())
            .filter(|t| t.spec.task_type == TaskType::SbomCheck)
            .filter(|t| t.spec.primary_rel_path.as_ref() == Some(&archive))
            .collect();
        assert_eq!(tasks.len(), 1, "one presence check for {archive}");
        let args = &tasks[0].spec.task_args;
        assert_eq!(args["presence"], true);
        assert_eq!(args["sbom_present"], false);
        assert_eq!(args["missing_status"], setting.status().as_str(), "{setting}");
    }
}
