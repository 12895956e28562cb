// src/ttl.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Key expiry: a binary min-heap of deadlines in which every entry knows where it is
//! (introduced in v2.0; later stages use it unchanged).
//!
//! A key with a TTL must go when its deadline passes, and the event loop has two questions:
//! how long may poll(2) sleep before the next deadline, and which keys are due now. A binary
//! min-heap answers both. It is a complete binary tree laid out in a `Vec` (the children of
//! index i are at 2i + 1 and 2i + 2), in which no deadline is earlier than its parent's. So
//! the earliest deadline is always at index 0, O(1) to read; an insert or a removal moves one
//! entry up or down a path of log2(n) levels. An insert usually moves less: a new deadline,
//! now plus a TTL, tends to be later than most, and stays near the bottom where it starts.
//!
//! # Why each entry knows its position
//!
//! Expiry is not only insert and pop. EXPIRE on a key that has a TTL changes its deadline,
//! PERSIST and DEL remove it: an entry anywhere in the heap must be found, then moved or taken
//! out. std's `BinaryHeap` cannot do that: it offers only the top, and finding an entry in it
//! means looking at all n. The usual way round is *lazy deletion*: leave the old entry where
//! it is, push a new one, and discard entries found stale when they reach the top. But then
//! the heap grows with every change, not with the keys: a session key refreshed every second
//! with a one-hour TTL leaves 3,600 dead entries behind it. Here each entry's slot records the
//! entry's index in the heap, and every move updates it, so finding an entry is O(1) and
//! changing or removing it O(log n). (std's `BTreeMap` keyed by (deadline, id) could do the
//! same without back-indexes, finding an entry by its deadline; but the heap is one `Vec`
//! with no nodes to allocate, and its earliest entry is at index 0, not down a tree.)
//!
//! # Why an arena of slots
//!
//! The C original keeps the position in the hash table's entry and a pointer to it in the heap,
//! so that a move writes through the pointer. Safe Rust has no such pointer into another
//! structure. Keeping the position in the store's entry and finding it by key would cost a hash
//! table lookup, hashing the key, for every entry every sift moves. So the positions live here,
//! in an arena (`Vec<Slot>`, as in [`crate::avl`]): the heap holds (deadline, slot index)
//! pairs, a slot holds its entry's position, and a move is two plain writes, both in `place`. A
//! [`TimerId`] is a slot's index: it names its timer while the timer exists, whatever moves
//! around it, and the store keeps it beside each value that has a TTL. A slot also holds its
//! key, because when a deadline passes the server must know which key to delete. A removed
//! timer's slot goes on a free list, and the next insert takes it. As in [`crate::avl`],
//! nothing detects a stale id: using one after its timer is removed panics, until the slot is
//! reused and the id quietly names the new timer.
//!
//! Deadlines are [`Instant`]s, read from the monotonic clock, which setting the time of day
//! cannot move: a key cannot expire early because an administrator set the clock forward. A
//! command that gives a Unix time (EXPIREAT) would convert it once, on arrival.
//!
//! Invariants, checked by [`TtlHeap::check_invariants`] after every step of the tests: no
//! entry's deadline is earlier than its parent's; each entry's slot records that entry's
//! position; free slots record none, and appear on the free list once; every slot is either
//! named by an entry or free, so `len` is the number of live slots.
//!
//! # What it costs
//!
//! Per key: a heap entry, 24 bytes (a 16-byte `Instant`, a 4-byte slot index, 4 of padding);
//! a slot, 24 bytes (a 4-byte position, 4 of padding, a 16-byte `Box<[u8]>`); the key's
//! copy, an allocation of its length (glibc rounds it up: 32 bytes for keys up to 24); and the
//! 4-byte `TimerId` in the store. About 80 bytes for a short key, more while the `Vec`s hold
//! spare capacity (up to half, just after they double). Deadlines kept as milliseconds since
//! start-up in a `u64` would make an entry 16 bytes; sharing the store's copy of the key, as
//! Redis does by pointer, would save the copy (an `Rc<[u8]>` in both places: an exercise).
//!
//! # What it cannot do
//!
//! Insert in O(1). A timer wheel does: an array of buckets, one per tick, each a list of the
//! timers due in it; an insert or a removal is a list operation, and the cost is a fixed
//! resolution and a cascade between wheels for deadlines far away. Redis orders nothing at all:
//! the keys with a TTL sit in a second hash table, key to deadline, so setting a TTL is O(1),
//! and ten times a second it samples 20 of them, deletes those expired, and samples again while
//! more than a tenth were. An expired key nobody reads may linger until a sample finds it, and
//! every read checks the deadline first. Here every key goes at its deadline, or a few turns of
//! the loop later when more fall due at once than the server pops in one turn (a fixed number,
//! so that its clients are not kept waiting); so a read must still check the deadline. Nor does
//! it give memory back: freed slots are reused, not returned, and neither `Vec` shrinks.

use std::time::Instant;

// ANCHOR: heap
/// No position: what a free slot records, as no entry in the heap names it.
const NIL: u32 = u32::MAX;

/// A handle on a timer: its slot's index in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId(u32);

struct Slot {
    /// The index in `heap` of the entry naming this slot, updated by every move; `NIL` while
    /// the slot is free.
    pos: u32,
    /// The key to delete when the deadline passes. Empty, which allocates nothing, while free.
    key: Box<[u8]>,
}

/// Deadlines, earliest first, each with the key it expires.
pub struct TtlHeap {
    /// (deadline, slot) pairs: a binary min-heap ordered by deadline alone.
    heap: Vec<(Instant, u32)>,
    slots: Vec<Slot>,
    /// Slots of removed timers, reused last-freed first.
    free: Vec<u32>,
}
// ANCHOR_END: heap

impl Default for TtlHeap {
    fn default() -> Self {
        TtlHeap::new()
    }
}

impl TtlHeap {
    pub fn new() -> TtlHeap {
        TtlHeap { heap: Vec::new(), slots: Vec::new(), free: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    // ANCHOR: into_keys
    /// The heap taken apart: each timer's key, freed as the iterator reaches it (the heap's
    /// own array, one allocation, goes at once). For `lazyfree`, with the keyspace it served.
    pub fn into_keys(self) -> impl Iterator<Item = Box<[u8]>> + Send {
        self.slots.into_iter().filter(|slot| slot.pos != NIL).map(|slot| slot.key)
    }
    // ANCHOR_END: into_keys

    /// The earliest deadline and its timer: how long the event loop may sleep.
    pub fn peek(&self) -> Option<(Instant, TimerId)> {
        self.heap.first().map(|&(deadline, slot)| (deadline, TimerId(slot)))
    }

    /// `id`'s deadline.
    pub fn deadline(&self, id: TimerId) -> Instant {
        self.heap[self.pos(id)].0
    }

    // ANCHOR: insert
    /// Adds a timer for `key`, due at `deadline`, and returns its id.
    pub fn insert(&mut self, deadline: Instant, key: &[u8]) -> TimerId {
        let slot = Slot { pos: NIL, key: key.into() };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                let id = u32::try_from(self.slots.len()).ok().filter(|&id| id != NIL);
                let id = id.expect("a TtlHeap holds at most 2^32 - 1 timers");
                self.slots.push(slot);
                id
            }
        };
        // At the bottom, then up to where it belongs; sift_up records its position.
        self.heap.push((deadline, id));
        self.sift_up(self.heap.len() - 1);
        TimerId(id)
    }
    // ANCHOR_END: insert

    // ANCHOR: set
    /// Changes `id`'s deadline; `id` still names the timer. O(log n), and nothing moves if the
    /// new deadline still fits between the entry's parent and its children.
    pub fn set(&mut self, id: TimerId, deadline: Instant) {
        let at = self.pos(id);
        self.heap[at].0 = deadline;
        self.sift(at);
    }

    /// Moves the entry at `at`, whose deadline may now be out of order either way, to where it
    /// belongs. Earlier than its parent, it goes up; otherwise it can only be later than a
    /// child, and goes down (or stays). Never both: the rest of the heap is in order, so an
    /// entry earlier than its parent is earlier than its parent's children too.
    fn sift(&mut self, at: usize) {
        if at > 0 && self.heap[at].0 < self.heap[(at - 1) / 2].0 {
            self.sift_up(at);
        } else {
            self.sift_down(at);
        }
    }
    // ANCHOR_END: set

    // ANCHOR: sift_up
    /// Moves the entry at `at` up while it is earlier than its parent. Rather than swap at
    /// every level, it is held aside: each parent it passes moves down into the hole, and it
    /// is written once, where it stops. Equal deadlines stop it: fewer moves, same order.
    fn sift_up(&mut self, mut at: usize) {
        let entry = self.heap[at];
        while at > 0 {
            let parent = (at - 1) / 2;
            if self.heap[parent].0 <= entry.0 {
                break;
            }
            self.place(at, self.heap[parent]);
            at = parent;
        }
        self.place(at, entry);
    }
    // ANCHOR_END: sift_up

    // ANCHOR: sift_down
    /// Moves the entry at `at` down while a child is earlier, by the same hole as `sift_up`.
    /// It trades places with the earlier child, the one that can go above the other.
    fn sift_down(&mut self, mut at: usize) {
        let entry = self.heap[at];
        let len = self.heap.len();
        loop {
            let mut child = 2 * at + 1;
            if child >= len {
                break;
            }
            if child + 1 < len && self.heap[child + 1].0 < self.heap[child].0 {
                child += 1;
            }
            if entry.0 <= self.heap[child].0 {
                break;
            }
            self.place(at, self.heap[child]);
            at = child;
        }
        self.place(at, entry);
    }

    /// Writes `entry` at `at` and records `at` in its slot: the one place the heap is written,
    /// so that an entry and its slot's record of where it is always change together.
    fn place(&mut self, at: usize, entry: (Instant, u32)) {
        self.heap[at] = entry;
        self.slots[entry.1 as usize].pos = at as u32; // at < len <= slots < NIL: no truncation
    }
    // ANCHOR_END: sift_down

    // ANCHOR: remove
    /// Removes `id`'s timer and returns its key. Every other id still names its timer.
    pub fn remove(&mut self, id: TimerId) -> Box<[u8]> {
        let at = self.pos(id);
        // The last entry fills the hole, so the tree stays complete. It comes from another
        // branch, so it may belong above the hole as well as below it: `sift`, not
        // `sift_down`, which is all that popping the top needs.
        let last = self.heap.pop().expect("a live timer's entry is in the heap");
        if at < self.heap.len() {
            self.place(at, last);
            self.sift(at);
        }
        self.free.push(id.0);
        let slot = &mut self.slots[id.0 as usize];
        slot.pos = NIL;
        std::mem::take(&mut slot.key)
    }
    // ANCHOR_END: remove

    // ANCHOR: pop_due
    /// Removes the earliest timer and returns its key, if its deadline is `now` or earlier.
    /// The server calls it in a loop each turn, at most a fixed number of times, and deletes
    /// each key it gets. The popped timer's id is then stale: the store drops it with the
    /// value, and does not remove it again.
    pub fn pop_due(&mut self, now: Instant) -> Option<Box<[u8]>> {
        let &(deadline, slot) = self.heap.first()?;
        if deadline > now {
            return None;
        }
        Some(self.remove(TimerId(slot)))
    }
    // ANCHOR_END: pop_due

    /// Where `id`'s entry is in the heap. A removed timer's id panics here, rather than
    /// naming whatever entry sits at a position that means nothing any more.
    fn pos(&self, id: TimerId) -> usize {
        let pos = self.slots[id.0 as usize].pos;
        assert!(pos != NIL, "{id:?} is not in the heap");
        pos as usize
    }
}
