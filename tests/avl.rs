//! `src/avl.rs` against a model that is trivially right: a `Vec` of (value, id) pairs kept in
//! order. Seeded random sequences of inserts, removals, updates and every kind of query, with
//! the invariants checked and every live id looked up after every step, and the seed printed
//! when anything differs, so that a failure can be replayed.

mod common;

use common::Rng;
use redis_lite::avl::{Avl, NodeId};

/// The tree's contents, as the model holds them: (value, id) in order, and equal values in the
/// order they arrived, as the tree keeps them.
fn contents(tree: &Avl<u64>) -> Vec<(u64, NodeId)> {
    tree.iter().map(|(id, &value)| (value, id)).collect()
}

/// Where `value` goes in the model: after every value not above it, as the tree puts it.
fn slot_for(model: &[(u64, NodeId)], value: u64) -> usize {
    model.partition_point(|&(v, _)| v <= value)
}

/// Runs `steps` random operations on values drawn from `0..values`, against the model,
/// checking everything after every step, or every `check_every` steps for long runs.
fn against_the_model(seed: u64, steps: usize, values: u64, check_every: usize) {
    let mut rng = Rng::new(seed);
    let mut tree: Avl<u64> = Avl::new();
    let mut model: Vec<(u64, NodeId)> = Vec::new();
    let fail = |step: usize, what: String| -> ! {
        panic!("seed {seed:#x}, step {step}: {what}");
    };
    for step in 0..steps {
        let n = model.len();
        // A random member (any index, when there are none: it is only used when n > 0).
        let i = rng.below(n.max(1) as u64) as usize;
        match rng.below(10) {
            // Inserts outnumber removals, so the tree grows through the run.
            0..=2 => {
                let value = rng.below(values);
                let id = tree.insert(value);
                let at = slot_for(&model, value);
                model.insert(at, (value, id));
                if tree.rank(id) != at {
                    fail(step, format!("inserted {value} at rank {}, not {at}", tree.rank(id)));
                }
            }
            3..=4 if n > 0 => {
                let (value, id) = model.remove(i);
                let got = tree.remove(id);
                if got != value {
                    fail(step, format!("removing {id:?} gave {got}, not {value}"));
                }
            }
            5 if n > 0 => {
                // In place if it still fits between its neighbours, else moved after its equals.
                let (new, id) = (rng.below(values), model[i].1);
                tree.update(id, |value| *value = new);
                let fits = (i == 0 || model[i - 1].0 <= new)
                    && model.get(i + 1).is_none_or(|&(v, _)| new <= v);
                match fits {
                    true => model[i].0 = new,
                    false => {
                        model.remove(i);
                        model.insert(slot_for(&model, new), (new, id));
                    }
                }
            }
            6..=7 if n > 0 => {
                // Offsets of every size, past both ends too.
                let k = rng.below(2 * n as u64 + 5) as i64 - (n as i64 + 2);
                let want = usize::try_from(i as i64 + k).ok().and_then(|j| model.get(j));
                let got = tree.offset(model[i].1, k);
                if got != want.map(|&(_, id)| id) {
                    fail(step, format!("offset {k} from rank {i}: {got:?}, not {want:?}"));
                }
                if tree.rank(model[i].1) != i {
                    fail(step, format!("rank {} where the model has {i}", tree.rank(model[i].1)));
                }
            }
            8 => {
                let probe = rng.below(values + 2);
                let want = model.get(model.partition_point(|&(v, _)| v < probe)).map(|&(_, id)| id);
                let got = tree.lower_bound_by(|value| value.cmp(&probe));
                if got != want {
                    fail(step, format!("lower bound of {probe}: {got:?}, not {want:?}"));
                }
                let k = rng.below(n as u64 + 2) as usize;
                if tree.nth(k) != model.get(k).map(|&(_, id)| id) {
                    fail(step, format!("nth({k}) is {:?}", tree.nth(k)));
                }
            }
            _ if n > 0 => {
                let id = model[i].1;
                let (before, after) =
                    (i.checked_sub(1).map(|j| model[j].1), model.get(i + 1).map(|m| m.1));
                if tree.predecessor(id) != before || tree.successor(id) != after {
                    fail(step, format!("the neighbours of rank {i} differ from the model's"));
                }
                if tree.first() != model.first().map(|m| m.1)
                    || tree.last() != model.last().map(|m| m.1)
                {
                    fail(step, "first or last differs from the model's".into());
                }
            }
            _ => {}
        }
        if tree.len() != model.len() {
            fail(step, format!("len {} against the model's {}", tree.len(), model.len()));
        }
        if step.is_multiple_of(check_every) {
            if let Err(e) = tree.check_invariants() {
                fail(step, e);
            }
            // Ids are stable: every id the model holds still names its value, and the tree
            // holds the same pairs in the same order.
            if let Some(&(value, id)) = model.iter().find(|&&(v, id)| *tree.get(id) != v) {
                fail(step, format!("{id:?} names {}, not {value}", tree.get(id)));
            }
            if contents(&tree) != model {
                fail(step, "the tree's contents differ from the model's".into());
            }
        }
    }
}

// ANCHOR: model
/// Many seeds, small value ranges (many equal values, so updates and equal-value inserts are
/// exercised) and large ones, everything checked after every step.
#[test]
fn random_operations_agree_with_a_sorted_vec() {
    for seed in 1..=12u64 {
        let values = [8, 300, 1 << 40][seed as usize % 3];
        against_the_model(seed * 0x9e37_79b9, 2_500, values, 1);
    }
}
// ANCHOR_END: model

/// A long run, checked less often: tens of thousands of nodes, and offsets across all of them.
#[test]
fn a_long_run() {
    against_the_model(0x5eed, 200_000, 1 << 40, 5_003);
}

/// The AVL bound: with n nodes the height is at most 1.44 log2(n + 2).
fn assert_balanced(tree: &Avl<u64>, what: &str) {
    let n = tree.len();
    let bound = 1.44 * ((n + 2) as f64).log2();
    assert!(tree.height() as f64 <= bound, "{what}: height {} with {n} nodes", tree.height());
}

// ANCHOR: sequential
/// Values in ascending or descending order, the worst case for a tree that does not balance
/// (it would become a list), then removed from the smallest up: the height stays within AVL's
/// bound throughout.
#[test]
fn sequential_inserts_and_removals_stay_balanced() {
    for descending in [false, true] {
        let mut tree: Avl<u64> = Avl::new();
        for i in 0..20_000u64 {
            tree.insert(if descending { u64::MAX - i } else { i });
            assert_balanced(&tree, "inserting");
            if i.is_multiple_of(997) {
                tree.check_invariants().unwrap();
            }
        }
        while let Some(first) = tree.first() {
            tree.remove(first);
            assert_balanced(&tree, "removing");
            if tree.len().is_multiple_of(997) {
                tree.check_invariants().unwrap();
            }
        }
    }
}
// ANCHOR_END: sequential

// ANCHOR: stable_ids
/// Removing a node with two children (the root, here) moves its successor's node into its
/// place: every other id still names the value it was given.
#[test]
fn removing_a_node_with_two_children_keeps_every_other_id() {
    let mut tree: Avl<u64> = Avl::new();
    let ids: Vec<NodeId> = (0..15).map(|v| tree.insert(v)).collect();
    // 15 sequential inserts make a perfect tree (height 4), so its root is the middle value.
    assert_eq!(tree.height(), 4);
    let root = tree.nth(7).unwrap();
    assert_eq!(tree.remove(root), 7);
    tree.check_invariants().unwrap();
    for (value, &id) in ids.iter().enumerate().filter(|&(v, _)| v != 7) {
        assert_eq!(*tree.get(id), value as u64, "{id:?}");
    }
}
// ANCHOR_END: stable_ids

/// A removed node's slot is reused by the next insert, and the arena does not grow.
#[test]
fn the_free_list_reuses_slots() {
    let mut tree: Avl<u64> = Avl::new();
    let ids: Vec<NodeId> = (0..10).map(|v| tree.insert(v)).collect();
    tree.remove(ids[4]);
    assert!(!tree.contains(ids[4]));
    let again = tree.insert(100);
    assert_eq!(again, ids[4], "the freed slot is taken first");
    assert_eq!(tree.rank(again), 9);
    tree.check_invariants().unwrap();
}
