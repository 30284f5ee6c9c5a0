//! Property test: random changes applied through `InterimDir` give exactly the tree a simple model
//! predicts, and no earlier revision ever changes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use atr_core::ids::RevisionNumber;
use atr_storage::StorageError;

use crate::support::*;

#[derive(Debug, Clone)]
enum Op {
    Write(String, u8),
    Remove(String),
    Rename(String, String),
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "g/h.txt"]).prop_map(str::to_owned)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (name(), any::<u8>()).prop_map(|(n, b)| Op::Write(n, b)),
        name().prop_map(Op::Remove),
        (name(), name()).prop_map(|(a, b)| Op::Rename(a, b)),
    ]
}

/// Applies `op` to the model the way `InterimDir` must: `Ok(true)` if it applies, `Ok(false)` if it
/// must be refused (missing file, or a file/directory clash).
fn apply_model(model: &mut BTreeMap<String, Vec<u8>>, op: &Op) -> bool {
    let clashes = |m: &BTreeMap<String, Vec<u8>>, path: &str| {
        // A file where a directory is needed, or a directory where the file would go.
        let mut prefix = String::new();
        for seg in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            prefix.push_str(seg);
            if m.contains_key(&prefix) {
                return true;
            }
            prefix.push('/');
        }
        m.keys().any(|k| k.starts_with(&format!("{path}/")))
    };
    match op {
        Op::Write(p, b) => {
            if clashes(model, p) {
                return false;
            }
            model.insert(p.clone(), vec![*b]);
            true
        }
        Op::Remove(p) => model.remove(p).is_some(),
        Op::Rename(a, b) => {
            let Some(content) = model.get(a).cloned() else { return false };
            let mut after = model.clone();
            after.remove(a);
            if a != b && clashes(&after, b) {
                return false;
            }
            after.insert(b.clone(), content);
            *model = after;
            true
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn interim_changes_match_the_model_and_old_revisions_never_change(
        batches in prop::collection::vec(prop::collection::vec(op(), 1..6), 1..5)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = seeded(dir.path());
        let mut model: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut expected_trees: Vec<Vec<(String, String)>> = Vec::new();
        for batch in &batches {
            let mut next = model.clone();
            let (rev, ()) = s
                .create_revision(&new_rev("change"), |d| {
                    for op in batch {
                        let accepted = apply_model(&mut next, op);
                        let outcome = match op {
                            Op::Write(p, b) => d.write(&rel(p), &[*b]),
                            Op::Remove(p) => d.remove(&rel(p)),
                            Op::Rename(a, b) => d.rename(&rel(a), &rel(b)),
                        };
                        assert_eq!(outcome.is_ok(), accepted, "{op:?}: {outcome:?}");
                    }
                    Ok::<_, StorageError>(())
                })
                .unwrap();
            model = next;
            let expected: Vec<(String, String)> = model
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
                .collect();
            let path = s.layout().revision(&project_key(), &version_key(), rev.number);
            prop_assert_eq!(tree(&path), expected.clone());
            expected_trees.push(expected);
            // Every earlier revision is still exactly what it was.
            for (i, t) in expected_trees.iter().enumerate() {
                let n = RevisionNumber::new(i as u32 + 1).unwrap();
                prop_assert_eq!(&tree(&s.layout().revision(&project_key(), &version_key(), n)), t);
            }
        }
    }
}
