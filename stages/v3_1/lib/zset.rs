// src/zset.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! A sorted set: members, each a byte string with a score, kept in order of score and then
//! name (introduced in v1.3).
//!
//! A sorted set is asked two kinds of question, and no one structure answers both quickly. By
//! name: what is this member's score, is it there already, remove it. A hash table answers
//! those in O(1). By order: the first member at or after a score, a member's rank, the ten
//! members from the 1,000th on. The order-statistic tree of [`crate::avl`] answers those in
//! O(log n). So a [`ZSet`] is both, over the same members: `by_name` maps each name to the
//! [`NodeId`] of its node in `by_order`, whose values are (score, name) pairs. Every change
//! goes through both, and [`ZSet::check_invariants`] checks that they agree. Redis does the
//! same with a dict beside a skip list (and keeps small sets in one packed array instead, a
//! saving this module skips).
//!
//! The order is scores by `f64::total_cmp`, ties broken by the names' bytes: a total order, as
//! a tree needs. NaN never comes in: the caller refuses it, and debug builds assert it. Under
//! `total_cmp`, -0.0 comes before 0.0; but they are the same number, and Redis treats them as
//! the same score, so `add` and `seek_ge` turn -0.0 into 0.0 first.
//!
//! The price of two indexes in safe Rust: each name is stored twice, as the hash table's key
//! and in the tree's node. A member with an n-byte name costs the table's node (40 bytes),
//! the tree's node (48 bytes), and two allocations of n bytes (glibc's malloc rounds each up:
//! at least 32 bytes for names of up to 24). Redis keeps one copy, pointed to from both
//! structures, with raw pointers. Safe Rust could share it as an `Rc<[u8]>` (a count per
//! name, and a hash table that takes one), or keep it only in the tree, with a hash table of
//! `NodeId`s that hashes and compares names by looking them up in the tree: an exercise.
//!
//! What it does not do, besides what [`crate::avl`] does not: range removals (ZREMRANGEBY*)
//! are one removal per member, and scores are checked by the caller, not here.

use std::cmp::Ordering;

use crate::avl::{Avl, NodeId};
use crate::hashtable::HashTable;

// ANCHOR: entry
/// A member as the tree holds it.
struct Entry {
    score: f64,
    name: Box<[u8]>,
}

impl Entry {
    /// How this entry compares with (score, name) in the set's order. Seeking compares with a
    /// score and a borrowed name, so that it need not build an `Entry`, which would copy the
    /// name.
    fn cmp_to(&self, score: f64, name: &[u8]) -> Ordering {
        self.score.total_cmp(&score).then_with(|| (*self.name).cmp(name))
    }
}

// The tree orders by `Ord`; f64 has no `Ord` of its own (NaN), so the order is written out.
impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        self.cmp_to(other.score, &other.name)
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Entry {}

/// -0.0 as 0.0: `total_cmp` would put them apart, but they are one number and one score.
fn normal(score: f64) -> f64 {
    debug_assert!(!score.is_nan(), "the caller refuses NaN scores");
    if score == 0.0 { 0.0 } else { score }
}
// ANCHOR_END: entry

// ANCHOR: zset
/// Members with scores, found by name or by order.
#[derive(Default)]
pub struct ZSet {
    /// Each member's node in `by_order`.
    by_name: HashTable<NodeId>,
    /// Every member, in (score, name) order.
    by_order: Avl<Entry>,
}
// ANCHOR_END: zset

impl ZSet {
    /// A set whose names are hashed under a secret of its own ([`HashTable::keyed`]): for a
    /// server, whose clients choose the names.
    pub fn keyed() -> ZSet {
        ZSet { by_name: HashTable::keyed(), by_order: Avl::new() }
    }

    pub fn len(&self) -> usize {
        self.by_order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_order.is_empty()
    }

    // ANCHOR: add
    /// Adds `name` with `score`, or gives it `score` if it is there already: true if added.
    pub fn add(&mut self, name: &[u8], score: f64) -> bool {
        let score = normal(score);
        if let Some(&id) = self.by_name.get(name) {
            // In place if the order allows, else relinked; either way the id, and so
            // `by_name`, stays as it is, and the name is not copied again.
            self.by_order.update(id, |entry| entry.score = score);
            return false;
        }
        let id = self.by_order.insert(Entry { score, name: name.into() });
        self.by_name.insert(name, id);
        true
    }
    // ANCHOR_END: add

    /// Removes `name`: true if it was there.
    pub fn remove(&mut self, name: &[u8]) -> bool {
        let Some(id) = self.by_name.remove(name) else { return false };
        self.by_order.remove(id);
        true
    }

    /// `name`'s node, to count or walk from. Takes `&mut self`, as every lookup in the hash
    /// table does its share of a resize in progress.
    pub fn find(&mut self, name: &[u8]) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    pub fn score(&mut self, name: &[u8]) -> Option<f64> {
        let id = self.find(name)?;
        Some(self.by_order.get(id).score)
    }

    // ANCHOR: seek
    /// The first member at or after (score, name) in the set's order. Allocates nothing.
    pub fn seek_ge(&self, score: f64, name: &[u8]) -> Option<NodeId> {
        let score = normal(score);
        self.by_order.lower_bound_by(|entry| entry.cmp_to(score, name))
    }
    // ANCHOR_END: seek

    /// The member `k` places after `id`'s (before, for negative `k`), in O(log n).
    pub fn offset(&self, id: NodeId, k: i64) -> Option<NodeId> {
        self.by_order.offset(id, k)
    }

    /// How many members come before `id`'s, in O(log n).
    pub fn rank(&self, id: NodeId) -> usize {
        self.by_order.rank(id)
    }

    /// The score and name of `id`'s member.
    pub fn get(&self, id: NodeId) -> (f64, &[u8]) {
        let entry = self.by_order.get(id);
        (entry.score, &entry.name)
    }

    pub fn first(&self) -> Option<NodeId> {
        self.by_order.first()
    }

    /// The members from `id`'s on, in order, as (score, name).
    pub fn iter_from(&self, id: NodeId) -> impl Iterator<Item = (f64, &[u8])> {
        self.by_order.iter_from(id).map(|(_, entry)| (entry.score, &*entry.name))
    }

    // ANCHOR: into_members
    /// The set taken apart: every member as (score, name), in no particular order, each one
    /// leaving both structures as the iterator reaches it. What is not reached is freed when
    /// the iterator is dropped. For `lazyfree`, which frees a big set a slice at a time.
    pub fn into_members(self) -> impl Iterator<Item = (f64, Box<[u8]>)> + Send {
        let ZSet { mut by_name, by_order } = self;
        by_order.into_values().map(move |Entry { score, name }| {
            by_name.remove(&name);
            (score, name)
        })
    }
    // ANCHOR_END: into_members
}
