//! Crash safety: a child process is killed with SIGKILL at each step of revision creation;
//! on reopen the state is the old one or the new one, rows and directories agree, and tmp/ is clean.

use atr_core::ids::RevisionNumber;
use atr_storage::{RevisionStep, Storage};

use crate::support::*;

const CHILD_ENV: &str = "ATR_STORAGE_TEST_CRASH_AT";

fn n(x: u32) -> RevisionNumber {
    RevisionNumber::new(x).unwrap()
}

/// The child: open the state directory and create revision 2, killing itself with SIGKILL right
/// after `step`.
fn child(dir: &str, step: &str) {
    let s = Storage::open(dir).unwrap();
    let step = RevisionStep::ALL.into_iter().find(|s| s.as_str() == step).unwrap();
    let _ = s.create_revision_with(
        &new_rev("two"),
        |d| {
            d.write(&rel("a.txt"), b"new a")?;
            d.write(&rel("dir/c.txt"), b"c")
        },
        |_, _| Ok(()),
        &mut |at| {
            if at == step {
                kill_self();
            }
        },
    );
    panic!("the child should have been killed at {step:?}");
}

#[test]
fn sigkill_at_each_step_leaves_the_old_or_the_new_state() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (dir, step) = spec.split_once('|').unwrap();
        child(dir, step);
    }
    for step in RevisionStep::ALL {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = seeded(dir.path());
            s.create_revision(&new_rev("one"), |d| {
                d.write(&rel("a.txt"), b"old a")?;
                d.write(&rel("b.txt"), b"b")
            })
            .unwrap();
        }
        run_child_until_killed(
            "crash::sigkill_at_each_step_leaves_the_old_or_the_new_state",
            CHILD_ENV,
            dir.path(),
            step.as_str(),
        );

        let s = Storage::open(dir.path()).unwrap();
        let revisions = s.read(|tx| tx.revisions(&project_key(), &version_key())).unwrap();
        let numbers: Vec<u32> = revisions.iter().map(|r| r.number.get()).collect();
        let d1 = s.layout().revision(&project_key(), &version_key(), n(1));
        let d2 = s.layout().revision(&project_key(), &version_key(), n(2));
        // Revision 1 is always intact.
        assert_eq!(tree(&d1), [("a.txt".into(), "old a".into()), ("b.txt".into(), "b".into())], "{step:?}");
        if step == RevisionStep::Committed {
            assert_eq!(numbers, [1, 2], "{step:?}");
            assert_eq!(
                tree(&d2),
                [
                    ("a.txt".into(), "new a".into()),
                    ("b.txt".into(), "b".into()),
                    ("dir/c.txt".into(), "c".into())
                ]
            );
            assert_eq!(s.read(|tx| tx.audit_events_for("foo-1.0.0 00002")).unwrap().len(), 1);
        } else {
            assert_eq!(numbers, [1], "{step:?}");
            assert!(!d2.exists(), "{step:?}: a partial revision is visible");
            assert!(s.read(|tx| tx.audit_events_for("foo-1.0.0 00002")).unwrap().is_empty());
        }
        let renamed = matches!(step, RevisionStep::Renamed | RevisionStep::Inserted);
        assert_eq!(
            s.reconciled().removed_revisions == [d2.clone()],
            renamed,
            "{step:?}: {:?}",
            s.reconciled()
        );
        assert!(s.reconciled().missing_revisions.is_empty(), "{step:?}");
        // The dead child's session (and its interim directory) is gone; only ours is left, and it is empty.
        assert_eq!(s.reconciled().removed_tmp.len(), 1, "{step:?}: {:?}", s.reconciled());
        assert_eq!(std::fs::read_dir(s.layout().tmp()).unwrap().count(), 1, "{step:?}");
        assert_eq!(tmp_leftovers(&s), Vec::<String>::new(), "{step:?}");
        // And the release still works: the next revision is the next number.
        let (next, ()) = s.create_revision(&new_rev("after"), |d| d.write(&rel("z.txt"), b"z")).unwrap();
        assert_eq!(next.number.get(), numbers.len() as u32 + 1, "{step:?}");
    }
}
