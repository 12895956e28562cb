//! `src/zset.rs` against a model that is trivially right: a `Vec` of (score, name) kept in
//! order, beside std's `HashMap` from name to score. Seeded random sequences of adds, updates,
//! removals, lookups and seeks with offsets, with the invariants checked after every step and
//! the seed printed when anything differs.

mod common;

use std::cmp::Ordering;
use std::collections::HashMap;

use common::Rng;
use redis_lite::zset::ZSet;

/// The set's order, written independently of `src/zset.rs`: scores compared as numbers (so
/// -0.0 and 0.0 are equal, as in Redis, with no rewriting), then names.
fn order(member: &(f64, Vec<u8>), score: f64, name: &[u8]) -> Ordering {
    let by_score = member.0.partial_cmp(&score).expect("no NaN in the tests");
    by_score.then_with(|| member.1.as_slice().cmp(name))
}

/// Scores with ties (so names break them), both zeros, infinities and extremes.
fn a_score(rng: &mut Rng) -> f64 {
    const SCORES: [f64; 10] =
        [f64::NEG_INFINITY, -1e300, -2.5, -0.0, 0.0, 5e-324, 1.0, 3.5, 1e300, f64::INFINITY];
    match rng.below(2) {
        0 => SCORES[rng.below(SCORES.len() as u64) as usize],
        _ => (rng.below(40) as f64 - 20.0) / 4.0,
    }
}

/// Runs `steps` random operations on names drawn from `names` of them, against the model,
/// checking the invariants and the whole order after every step, on `zset` (empty).
fn against_the_model(mut zset: ZSet, seed: u64, steps: usize, names: u64) {
    let mut rng = Rng::new(seed);
    let mut sorted: Vec<(f64, Vec<u8>)> = Vec::new();
    let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
    let fail = |step: usize, what: String| -> ! {
        panic!("seed {seed:#x}, step {step}: {what}");
    };
    for step in 0..steps {
        let name = format!("m{}", rng.below(names)).into_bytes();
        let at = |sorted: &[(f64, Vec<u8>)], score, name: &[u8]| {
            sorted.partition_point(|m| order(m, score, name) == Ordering::Less)
        };
        match rng.below(10) {
            0..=3 => {
                let score = a_score(&mut rng);
                let (added, old) = (zset.add(&name, score), scores.insert(name.clone(), score));
                if let Some(old) = old {
                    sorted.remove(at(&sorted, old, &name));
                }
                sorted.insert(at(&sorted, score, &name), (score, name.clone()));
                if added != old.is_none() {
                    fail(step, format!("add returned {added}, and the model had {old:?}"));
                }
            }
            4..=5 => {
                let (got, want) = (zset.remove(&name), scores.remove(&name));
                if let Some(score) = want {
                    sorted.remove(at(&sorted, score, &name));
                }
                if got != want.is_some() {
                    fail(step, format!("remove returned {got}, the model {want:?}"));
                }
            }
            6 => {
                let (got, want) = (zset.score(&name), scores.get(&name).copied());
                // `==`: the model keeps -0.0 where the set keeps 0.0, and they are equal.
                if got != want || got.is_some_and(|s| s.to_bits() == (-0.0f64).to_bits()) {
                    fail(step, format!("score returned {got:?}, the model {want:?}"));
                }
                let rank = zset.find(&name).map(|id| zset.rank(id));
                if rank != want.map(|score| at(&sorted, score, &name)) {
                    fail(step, format!("rank {rank:?} differs from the model's"));
                }
            }
            _ => {
                // A probe name that may or may not be a member's, just before or after one.
                let probe = [&name[..], &name[..name.len() - 1], &[&name[..], b"x"].concat()]
                    [rng.below(3) as usize]
                    .to_vec();
                let score = a_score(&mut rng);
                let i = at(&sorted, score, &probe);
                let found = zset.seek_ge(score, &probe);
                let got = found.map(|id| zset.get(id));
                let want = sorted.get(i).map(|(s, n)| (*s, n.as_slice()));
                if got != want {
                    fail(step, format!("seek_ge({score}, {probe:?}): {got:?}, not {want:?}"));
                }
                let Some(id) = found else { continue };
                if zset.rank(id) != i {
                    fail(step, format!("the seek's rank is {}, not {i}", zset.rank(id)));
                }
                let n = sorted.len() as i64;
                let k = rng.below(2 * n as u64 + 5) as i64 - (n + 2);
                let got = zset.offset(id, k).map(|id| zset.get(id));
                let want = usize::try_from(i as i64 + k).ok().and_then(|j| sorted.get(j));
                if got != want.map(|(s, n)| (*s, n.as_slice())) {
                    fail(step, format!("offset {k} from rank {i}: {got:?}, not {want:?}"));
                }
                let next: Vec<(f64, &[u8])> = zset.iter_from(id).take(5).collect();
                let want: Vec<(f64, &[u8])> =
                    sorted[i..].iter().take(5).map(|(s, n)| (*s, n.as_slice())).collect();
                if next != want {
                    fail(step, format!("iter_from rank {i}: {next:?}, not {want:?}"));
                }
            }
        }
        if zset.len() != sorted.len() {
            fail(step, format!("len {} against the model's {}", zset.len(), sorted.len()));
        }
        if let Err(e) = zset.check_invariants() {
            fail(step, e);
        }
        if !zset.iter().eq(sorted.iter().map(|(s, n)| (*s, n.as_slice()))) {
            fail(step, "the set's order differs from the model's".into());
        }
    }
}

// ANCHOR: model
/// Many seeds, few names (so members are updated and removed often) and more (so the set
/// grows), everything checked after every step.
#[test]
fn random_operations_agree_with_a_sorted_vec_and_a_hash_map() {
    for seed in 1..=12u64 {
        let names = [20, 200, 2_000][seed as usize % 3];
        against_the_model(ZSet::new(), seed * 0x9e37_79b9, 2_000, names);
    }
}
// ANCHOR_END: model

/// The same on sets whose names are hashed under a secret (v3.0's).
#[test]
fn keyed_sets_agree_with_the_model_too() {
    for seed in 1..=6u64 {
        let names = [20, 200, 2_000][seed as usize % 3];
        against_the_model(ZSet::keyed(), seed * 0x2545_f491, 2_000, names);
    }
}

/// -0.0 and 0.0 are one score: stored as 0.0, and sought as 0.0, whichever is asked for.
#[test]
fn negative_zero_is_zero() {
    let mut zset = ZSet::new();
    zset.add(b"a", -0.0);
    zset.add(b"b", 0.0);
    assert_eq!(zset.score(b"a").map(f64::to_bits), Some(0.0f64.to_bits()));
    let first = zset.seek_ge(-0.0, b"").unwrap();
    assert_eq!(zset.get(first), (0.0, &b"a"[..]));
    let b = zset.seek_ge(-0.0, b"b").unwrap();
    assert_eq!(zset.get(b), (0.0, &b"b"[..]));
    zset.check_invariants().unwrap();
}

// ANCHOR: update
/// Changing a member's score keeps its node, whether it stays put or moves across the set:
/// the hash table's ids never go stale.
#[test]
fn an_update_keeps_the_members_node() {
    let mut zset = ZSet::new();
    for (i, name) in [b"a", b"b", b"c", b"d"].into_iter().enumerate() {
        assert!(zset.add(name, i as f64));
    }
    let id = zset.find(b"b").unwrap();
    assert!(!zset.add(b"b", 1.5), "an update, not an add"); // still between a and c
    assert!(!zset.add(b"b", 10.0)); // now after d
    assert_eq!(zset.find(b"b"), Some(id));
    assert_eq!((zset.rank(id), zset.get(id)), (3, (10.0, &b"b"[..])));
    zset.check_invariants().unwrap();
}
// ANCHOR_END: update
