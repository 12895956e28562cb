//! `src/ttl.rs` against a model that is trivially right, a `Vec` of the live timers searched
//! end to end: seeded random sequences of inserts, deadline changes, removals and pops, with
//! every invariant checked after every step, and the seed printed when anything differs, so
//! that a failure can be replayed.
//!
//! Deadlines are whole milliseconds within a small range, so many are equal, and among equal
//! deadlines the heap may pop in any order. So the model does not predict which key comes
//! out: it checks that the key popped was live and due, and had the earliest deadline.

mod common;

use std::time::{Duration, Instant};

use common::Rng;
use redis_lite::ttl::{TimerId, TtlHeap};

/// A live timer, as the model keeps it.
struct Timer {
    id: TimerId,
    deadline: Instant,
    key: Vec<u8>,
}

/// Runs `steps` random operations, inserting on `grow` steps in 100, against the model. A
/// clock moves on 0 to 2 ms a step, and deadlines are up to `spread` ms from it: small, and
/// the heap stays small and mostly tied; large, and it grows to hundreds of timers before
/// they start falling due.
fn against_the_model(seed: u64, steps: usize, grow: u64, spread: u64) {
    let mut rng = Rng::new(seed);
    let base = Instant::now();
    let ms = |deadline: Instant| deadline.duration_since(base).as_millis();
    let mut heap = TtlHeap::new();
    let mut model: Vec<Timer> = Vec::new();
    let fail = |step: usize, what: String| -> ! {
        panic!("seed {seed:#x}, step {step}: {what}");
    };
    let mut now = base;
    for step in 0..steps {
        now += Duration::from_millis(rng.below(3));
        let deadline = now + Duration::from_millis(rng.below(spread));
        let i = rng.below(model.len().max(1) as u64) as usize;
        match rng.below(100) {
            r if r < grow || model.is_empty() => {
                // Keys are unique, so a popped key says which timer it was.
                let key = format!("key:{step}").into_bytes();
                let id = heap.insert(deadline, &key);
                if model.iter().any(|timer| timer.id == id) {
                    fail(step, format!("insert returned {id:?}, which names a live timer"));
                }
                model.push(Timer { id, deadline, key });
            }
            // The new deadline is random: earlier, later or the same as the old, by chance.
            r if r % 3 == 0 => {
                heap.set(model[i].id, deadline);
                model[i].deadline = deadline;
            }
            r if r % 3 == 1 => {
                let timer = model.swap_remove(i);
                let key = heap.remove(timer.id);
                if *key != *timer.key {
                    fail(step, format!("remove({:?}) returned another timer's key", timer.id));
                }
            }
            // A turn of the server's loop: pop what is due, at most 8. Among equal deadlines
            // any may come first, so what is checked is that the key popped was due earliest.
            _ => {
                for _ in 0..8 {
                    let due = model.iter().map(|timer| timer.deadline).min();
                    let due = due.filter(|&first| first <= now);
                    let popped = heap.pop_due(now);
                    let i = popped.as_ref().map(|key| model.iter().position(|t| *t.key == **key));
                    match (due, i) {
                        (None, None) => break,
                        (Some(due), Some(Some(i))) if model[i].deadline == due => {
                            model.swap_remove(i);
                        }
                        _ => {
                            let popped = popped.as_deref().map(String::from_utf8_lossy);
                            fail(step, format!("pop_due at {}: {popped:?}", ms(now)));
                        }
                    }
                }
            }
        }
        if heap.len() != model.len() {
            fail(step, format!("len {} against the model's {}", heap.len(), model.len()));
        }
        // peek gives the earliest deadline, and a timer that has it, both in milliseconds.
        let earliest = model.iter().map(|timer| timer.deadline).min().map(ms);
        let deadline_of = |id| model.iter().find(|timer| timer.id == id).map(|t| ms(t.deadline));
        let peeked = heap.peek().map(|(first, id)| (ms(first), deadline_of(id)));
        if peeked != earliest.map(|first| (first, Some(first))) {
            fail(step, format!("peek says {peeked:?}, the model {earliest:?}"));
        }
        if let Err(e) = heap.check_invariants() {
            fail(step, e);
        }
        // Every id still names its timer, whatever has moved or gone around it.
        if let Some(timer) = model.iter().find(|timer| heap.deadline(timer.id) != timer.deadline) {
            fail(step, format!("{:?} has lost its deadline", timer.id));
        }
    }
}

// ANCHOR: model
/// Many seeds: heaps of a dozen timers, mostly tied, and of a few hundred, mostly distinct;
/// every invariant checked after every step.
#[test]
fn random_operations_agree_with_the_model() {
    for seed in 1..=24u64 {
        let grow = [35, 50, 60][seed as usize % 3];
        let spread = [8, 1_000][seed as usize % 2];
        against_the_model(seed * 0x9e37_79b9, 3_000, grow, spread);
    }
}
// ANCHOR_END: model

/// Popped with everything due, the keys come out earliest first, each once: a heap sort.
#[test]
fn everything_due_pops_in_deadline_order() {
    let mut rng = Rng::new(0x5eed);
    let base = Instant::now();
    let mut heap = TtlHeap::new();
    for i in 0..2_000u64 {
        // The key is the deadline, in milliseconds; the index makes it unique.
        let ms = rng.below(500);
        heap.insert(base + Duration::from_millis(ms), format!("{ms:03}:{i}").as_bytes());
    }
    let mut popped = Vec::new();
    while let Some(key) = heap.pop_due(base + Duration::from_secs(1)) {
        popped.push(String::from_utf8(key.into_vec()).unwrap());
    }
    assert_eq!(popped.len(), 2_000);
    assert!(heap.is_empty() && heap.peek().is_none());
    assert!(popped.is_sorted_by_key(|key| key[..3].to_string()), "out of deadline order");
    popped.sort();
    popped.dedup();
    assert_eq!(popped.len(), 2_000, "a key popped twice");
}

/// A timer is due at its deadline, not a moment before: `pop_due` takes deadlines <= now.
#[test]
fn a_timer_is_due_at_its_deadline() {
    let base = Instant::now();
    let mut heap = TtlHeap::new();
    heap.insert(base + Duration::from_millis(10), b"k");
    assert_eq!(heap.pop_due(base + Duration::from_millis(9)), None);
    assert_eq!(heap.len(), 1);
    assert_eq!(heap.pop_due(base + Duration::from_millis(10)).as_deref(), Some(&b"k"[..]));
    assert_eq!(heap.pop_due(base + Duration::from_secs(60)), None);
}

/// Ids stay valid while others come and go: remove two timers in three, insert more (which
/// reuse the freed slots), move the rest; each original id still names its key and deadline.
#[test]
fn ids_survive_other_removals() {
    let base = Instant::now();
    let at = |ms: u64| base + Duration::from_millis(ms);
    let mut heap = TtlHeap::new();
    let ids: Vec<TimerId> =
        (0..300).map(|i| heap.insert(at(i * 7 % 300), &i.to_le_bytes())).collect();
    for i in (0..300u64).filter(|i| i % 3 != 0).rev() {
        assert_eq!(*heap.remove(ids[i as usize]), i.to_le_bytes());
    }
    for i in 300..500u64 {
        heap.insert(at(i % 50), &i.to_le_bytes());
    }
    for i in (0..300u64).step_by(3) {
        heap.set(ids[i as usize], at(1_000 - i));
    }
    heap.check_invariants().unwrap();
    for i in (0..300u64).step_by(3) {
        assert_eq!(heap.deadline(ids[i as usize]), at(1_000 - i), "timer {i}");
        assert_eq!(*heap.remove(ids[i as usize]), i.to_le_bytes(), "timer {i}");
    }
    assert_eq!(heap.len(), 200);
}

/// A removed timer's id is refused while its slot is free, rather than naming whatever sits
/// where the timer used to be.
#[test]
#[should_panic(expected = "is not in the heap")]
fn a_removed_timers_id_is_refused() {
    let mut heap = TtlHeap::new();
    let id = heap.insert(Instant::now(), b"gone");
    heap.insert(Instant::now(), b"still here");
    heap.remove(id);
    heap.deadline(id);
}
