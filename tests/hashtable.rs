//! `src/hashtable.rs` against a model that is trivially right, std's `HashMap`: seeded random
//! sequences of inserts, lookups and removals, with every invariant checked after every step,
//! and the seed printed when anything differs, so that a failure can be replayed.

mod common;

use std::collections::{HashMap, HashSet};

use common::Rng;
use redis_lite::hashtable::HashTable;

/// Runs `steps` random operations on keys drawn from `0..keys`, against the model, checking
/// the invariants after every step (or every `check_every` steps, for long runs).
fn against_the_model(
    seed: u64,
    steps: usize,
    keys: u64,
    hash: fn(&[u8]) -> u64,
    check_every: usize,
) {
    run_against_the_model(HashTable::with_hash(hash), seed, steps, keys, check_every);
}

/// [`against_the_model`] on a table made by the caller (a keyed one, say).
fn run_against_the_model(
    mut table: HashTable<u64>,
    seed: u64,
    steps: usize,
    keys: u64,
    check_every: usize,
) {
    let mut rng = Rng::new(seed);
    let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
    let fail = |step: usize, what: String| -> ! {
        panic!("seed {seed:#x}, step {step}: {what}");
    };
    for step in 0..steps {
        let key = format!("key:{}", rng.below(keys)).into_bytes();
        match rng.below(10) {
            0..=4 => {
                let value = rng.next();
                let (got, want) = (table.insert(&key, value), model.insert(key.clone(), value));
                if got != want {
                    fail(step, format!("insert returned {got:?}, the model {want:?}"));
                }
            }
            5..=7 => {
                let (got, want) = (table.get(&key).copied(), model.get(&key).copied());
                if got != want {
                    fail(step, format!("get returned {got:?}, the model {want:?}"));
                }
            }
            8 => {
                if let (Some(got), Some(want)) = (table.get_mut(&key), model.get_mut(&key)) {
                    *got += 1;
                    *want += 1;
                }
            }
            _ => {
                let (got, want) = (table.remove(&key), model.remove(&key));
                if got != want {
                    fail(step, format!("remove returned {got:?}, the model {want:?}"));
                }
            }
        }
        if table.len() != model.len() {
            fail(step, format!("len {} against the model's {}", table.len(), model.len()));
        }
        if step % check_every == 0
            && let Err(e) = table.check_invariants()
        {
            fail(step, e);
        }
    }
    let mut all: Vec<(Vec<u8>, u64)> = table.iter().map(|(k, v)| (k.to_vec(), *v)).collect();
    let mut want: Vec<(Vec<u8>, u64)> = model.into_iter().collect();
    all.sort();
    want.sort();
    assert!(all == want, "seed {seed:#x}: iter() differs from the model");
}

// ANCHOR: model
/// Many seeds, small key spaces (so keys are overwritten and removed often) and large ones
/// (so the table grows through many resizes), every invariant checked after every step.
#[test]
fn random_operations_agree_with_std() {
    for seed in 1..=24u64 {
        let keys = [16, 500, 5_000][seed as usize % 3];
        against_the_model(seed * 0x9e37_79b9, 10_000, keys, redis_lite::hashtable::fnv1a, 1);
    }
}
// ANCHOR_END: model

/// The same, on tables keyed with a secret of their own (v3.0's): every invariant holds, the
/// stored hashes being the keyed hash's.
#[test]
fn random_operations_on_keyed_tables_agree_with_std() {
    for seed in 1..=3u64 {
        let keys = [16, 500, 5_000][seed as usize % 3];
        run_against_the_model(HashTable::keyed(), seed * 0x2545_f491, 10_000, keys, 1);
    }
}

/// Every key hashes the same: one chain holds everything, through resizes. Slow, and right.
#[test]
fn keys_that_collide_in_every_bucket() {
    against_the_model(0xc0111de, 3_000, 300, |_| 42, 1);
}

/// A long run, checked less often: hundreds of thousands of entries through many resizes.
#[test]
fn a_long_run_through_many_resizes() {
    against_the_model(0x5eed, 600_000, 400_000, redis_lite::hashtable::fnv1a, 10_007);
}

// ANCHOR: mid_resize
/// Removing and re-inserting while a resize is in flight: every key is found exactly once,
/// whichever table it is in, and the resize still finishes.
#[test]
fn remove_and_reinsert_during_a_resize() {
    let mut table: HashTable<usize> = HashTable::new();
    let key = |i: usize| format!("k{i}").into_bytes();
    let mut i = 0;
    // Grow until a resize begins, with enough entries that it lasts many operations.
    while !(table.is_resizing() && table.len() > 10_000) {
        table.insert(&key(i), i);
        i += 1;
    }
    let n = i;
    for j in (0..n).step_by(3) {
        assert_eq!(table.remove(&key(j)), Some(j), "remove {j} mid-resize");
        assert_eq!(table.insert(&key(j), j + 1), None, "re-insert {j} mid-resize");
        table.check_invariants().unwrap();
    }
    for j in 0..n {
        let want = if j % 3 == 0 { j + 1 } else { j };
        assert_eq!(table.get(&key(j)), Some(&want), "key {j}");
    }
    assert!(!table.is_resizing(), "the resize finished along the way");
    table.check_invariants().unwrap();
    assert_eq!(table.len(), n);
}
// ANCHOR_END: mid_resize

/// The checker itself fails on what it should: a table whose counts were wrong would pass
/// every lookup test, so the check must be able to see it. Here, a key inserted under a hash
/// function that changes (state the table cannot know about) is found out.
#[test]
fn the_checker_sees_a_node_in_the_wrong_bucket() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SALT: AtomicU64 = AtomicU64::new(0);
    fn shifting(key: &[u8]) -> u64 {
        redis_lite::hashtable::fnv1a(key) ^ SALT.load(Ordering::Relaxed)
    }
    let mut table: HashTable<u8> = HashTable::with_hash(shifting);
    for i in 0..100u8 {
        table.insert(&[i], i);
    }
    table.check_invariants().unwrap();
    SALT.store(0x5a5a, Ordering::Relaxed);
    assert!(table.check_invariants().is_err());
}

/// A table taken apart yields every entry once, from both arrays mid-resize, and what is left
/// unreached is freed when the iterator is dropped (a chain of thousands, without recursion).
#[test]
fn a_table_taken_apart_yields_every_entry() {
    let mut table: HashTable<usize> = HashTable::new();
    let mut i = 0;
    while !(table.is_resizing() && table.len() > 5_000) {
        table.insert(format!("k{i}").as_bytes(), i);
        i += 1;
    }
    let mut got: Vec<(Vec<u8>, usize)> = table.into_entries().map(|(k, v)| (k.into(), v)).collect();
    got.sort_by_key(|&(_, v)| v);
    assert_eq!(got.len(), i);
    assert!(got.iter().enumerate().all(|(j, (k, v))| *v == j && *k == format!("k{j}").as_bytes()));

    let mut chain: HashTable<usize> = HashTable::with_hash(|_| 7);
    for j in 0..3_000 {
        chain.insert(format!("k{j}").as_bytes(), j);
    }
    let mut entries = chain.into_entries();
    assert!(entries.by_ref().take(10).count() == 10);
    drop(entries);
}

// ANCHOR: scan_model
/// Scans that start at 0 and go on until 0, while random inserts and removals between their
/// steps make the table grow through resizes: every key that was in the table for the whole
/// of a scan is handed to it exactly once (at least once is Redis's promise; a table that
/// only grows keeps the better one, which a cursor counting upwards would not), and nothing
/// is handed to it that was never in the table meanwhile. Eight seeds, each starting over
/// with an empty table every fourth scan, so that scans meet resizes of every size; the
/// invariants are checked every 64 steps (each check walks the whole table).
#[test]
fn a_scan_sees_every_key_that_stays_through_resizes() {
    for seed in 0..8u64 {
        let mut rng = Rng::new(seed);
        let mut table: HashTable<u64> = HashTable::new();
        let mut model: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut resizing_seen = 0;
        for scan in 0..20 {
            if scan % 4 == 0 {
                (table, model) = (HashTable::new(), HashMap::new());
            }
            for _ in 0..rng.below(500) {
                let key = format!("key:{}", rng.below(5_000)).into_bytes();
                table.insert(&key, 1);
                model.insert(key, 1);
            }
            let stayed: Vec<Vec<u8>> = model.keys().cloned().collect();
            let mut ever: HashSet<Vec<u8>> = stayed.iter().cloned().collect();
            let (mut seen, mut gone) = (HashMap::new(), HashSet::new());
            let mut cursor = 0;
            for step in 0..100_000 {
                cursor = table.scan(cursor, |key, _| *seen.entry(key.to_vec()).or_insert(0) += 1);
                if cursor == 0 {
                    break;
                }
                assert!(step < 99_999, "seed {seed}, scan {scan}: no end after 100,000 steps");
                // Mostly inserts, so the table grows while it is scanned.
                for _ in 0..rng.below(8) {
                    let key = format!("key:{}", rng.below(5_000)).into_bytes();
                    if rng.below(4) == 0 {
                        table.remove(&key);
                        model.remove(&key);
                        gone.insert(key);
                    } else {
                        table.insert(&key, 1);
                        model.insert(key.clone(), 1);
                        ever.insert(key);
                    }
                }
                if step % 64 == 0
                    && let Err(e) = table.check_invariants()
                {
                    panic!("seed {seed}, scan {scan}: {e}");
                }
                resizing_seen += usize::from(table.is_resizing());
            }
            let stayed = stayed.iter().filter(|key| !gone.contains(*key));
            let times = |key: &Vec<u8>| seen.get(key).copied().unwrap_or(0);
            let (missed, twice): (Vec<_>, Vec<_>) =
                stayed.filter(|key| times(key) != 1).partition(|key| times(key) == 0);
            assert!(
                missed.is_empty(),
                "seed {seed}, scan {scan}: {} that stayed missed",
                missed.len()
            );
            assert!(
                twice.is_empty(),
                "seed {seed}, scan {scan}: {} that stayed seen twice",
                twice.len()
            );
            assert!(
                seen.keys().all(|key| ever.contains(key)),
                "seed {seed}, scan {scan}: a key that never was"
            );
        }
        assert!(resizing_seen > 0, "seed {seed}: no scan step met a resize");
    }
}
// ANCHOR_END: scan_model
