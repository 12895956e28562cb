//! A chained hash table that resizes a little at a time, so that no single operation waits
//! for a whole resize (introduced in v1.1).
//!
//! std's `HashMap` grows all at once: the insert that crosses its load limit allocates a table
//! twice the size and moves every entry before it returns. With millions of keys that one
//! insert takes hundreds of milliseconds, and in a server every client waits for it. This
//! table grows *progressively*, as Redis's does:
//!
//! - Entries live in chains hanging from a power-of-two array of buckets; a key's bucket is
//!   `hash & mask`. Each node keeps its key's full hash, so moving it never hashes again.
//! - When the table holds more entries than buckets (a load factor of 1), a table twice the
//!   size becomes `newer` and the full one becomes `older`. Nothing moves yet.
//! - Every lookup, insert and removal first moves a bounded amount of work from `older` to
//!   `newer`: at most [`REHASH_NODES`] nodes, and at most [`REHASH_EMPTY_BUCKETS`] empty
//!   buckets visited, so a sparse stretch of `older` cannot make one step long.
//! - Meanwhile a key may be in either table: lookups search `newer`, then `older`. New keys
//!   always go into `newer`. No second resize starts while one is in progress.
//! - Buckets come in pages of [`PAGE`] slots, allocated when a node first lands in one; `older`
//!   is emptied from its last bucket down, and each page is freed once empty. So neither
//!   starting a resize (a new array for millions of buckets) nor ending one (freeing the old)
//!   happens at once: a plain `Vec` of buckets would have to be filled, and later freed, whole.
//!
//! Invariants, checked by [`HashTable::check_invariants`] after every step of the tests:
//! every node is in the bucket its hash names in its table, and its stored hash is its key's;
//! each table's count is the number of nodes in it; no key is in the table twice; `newer`'s
//! size is a power of two; with no resize in progress, `older` is empty and `newer` is within
//! its load limit.
//!
//! Safe Rust only: chains are `Option<Box<Node>>`, owned links that move between tables with
//! `take()`. Nodes are never shared, so no `Rc`, no `RefCell`, no raw pointers; and the chains
//! are dropped with a loop, not recursion, so a long chain cannot overflow the stack.
//!
//! What it does not do: shrink. A table that has grown keeps its buckets when its keys are
//! deleted (8 bytes each); Redis shrinks below 10% full. Shrinking is the same progressive
//! move in the other direction, plus a gap between the grow and shrink thresholds so that a
//! table near one of them does not flip back and forth; it teaches nothing the growing does
//! not, so it is left as an exercise.
//!
//! The hash is FNV-1a, quick and simple, but not keyed: a client that knows it can choose
//! keys that all share a bucket, and make each insert walk one chain that holds them all
//! (measured by `benches/hash_flood.rs`: 16,384 such keys took 88 times as long to insert as
//! ordinary ones, and the cost grows as the square of their number).
//@ ..v3_0: //! Keying the hash against that is v3.0's, the stage that faces any client.
//@ v3_0.. {
//! [`HashTable::keyed`] hashes instead with SipHash under a secret drawn when the table is
//! made (std's `RandomState`), which a client cannot see and so cannot aim at, as Redis keys
//! its SipHash at start-up with `dictSetHashFunctionSeed`.
//@ }

use std::fmt;
use std::hash::{BuildHasher, RandomState}; //@ v3_0..

// ANCHOR: constants
/// Entries per bucket at which the table grows: 1, as in Redis. Chains stay short (one node on
/// average at the limit, half that after the table doubles), so a lookup touches one or two
/// nodes. build-your-own.org uses 8, for fewer buckets and longer chains.
pub const MAX_LOAD_FACTOR: usize = 1;

/// Nodes moved from `older` to `newer` per operation while a resize is in progress.
/// build-your-own.org's `k_rehashing_work`. A resize of n entries is done after n/128
/// operations, long before `newer` fills up.
pub const REHASH_NODES: usize = 128;

/// Empty buckets of `older` visited per operation, at most: without a cap, a step could scan a
/// long empty stretch (build-your-own.org has none; Redis's `dictRehash(d, n)` moves n buckets,
/// each with its whole chain, and visits at most `n*10` empty ones).
pub const REHASH_EMPTY_BUCKETS: usize = 1024;

/// Bucket slots per page: 512 slots of 8 bytes, one 4 KiB page of memory. A table's buckets are
/// allocated a page at a time, when the first node lands in the page, and `older`'s are freed
/// a page at a time as a resize empties them: neither starting a resize nor finishing one
/// touches the whole array at once. Small, because early in a resize nearly every node moved
/// lands in a page nobody has touched yet: a step of 128 nodes can allocate 128 pages, and
/// each costs writing it (with bigger pages, 4,096 slots, such steps took a millisecond).
pub const PAGE: usize = 512;
// ANCHOR_END: constants

// ANCHOR: fnv
/// FNV-1a, 64 bits: for each byte, xor it in, then multiply by a prime. Two multiplications
/// per eight bytes would be faster; one per byte is easy to read and good enough for keys.
pub fn fnv1a(key: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
// ANCHOR_END: fnv

// ANCHOR: node
type Link<V> = Option<Box<Node<V>>>;

struct Node<V> {
    next: Link<V>,
    /// The key's full hash: a node moves to its new bucket without hashing its key again.
    hash: u64,
    key: Box<[u8]>,
    value: V,
}

/// One array of buckets, in pages, and the chains hanging from them.
struct Table<V> {
    /// For each page of buckets, where it is in `pages`, plus one; 0 for a page no node has
    /// landed in yet (or, in `older`, one already emptied). Numbers, not pointers, because
    /// `vec![0; n]` of numbers is asked for already zeroed, which costs nothing until written:
    /// a table of millions of buckets starts with this list, and must start at once.
    page_of: Vec<u32>,
    /// The pages, in the order they were allocated; `None` once freed.
    pages: Vec<Option<Box<[Link<V>]>>>,
    /// How many buckets: a power of two, or 0.
    slots: usize,
    /// `slots - 1`: `hash & mask` is a bucket's index.
    mask: usize,
    len: usize,
}
// ANCHOR_END: node

// ANCHOR: hashtable
/// A map from byte-string keys to values of type `V`.
pub struct HashTable<V> {
    newer: Table<V>,
    /// The table being emptied into `newer` while a resize is in progress; empty otherwise.
    older: Table<V>,
    /// Buckets of `older` not yet emptied: `older` is emptied from its last bucket down.
    older_left: usize,
    hash: Hashing,
}
// ANCHOR_END: hashtable

// ANCHOR: hash
/// How a table hashes its keys.
enum Hashing {
    /// A fixed function, the same in every run: [`fnv1a`], or a test's.
    Plain(fn(&[u8]) -> u64),
    //@ v3_0.. {
    /// SipHash-1-3 under 128 secret bits: std's `RandomState`, which its `HashMap` uses for
    /// the same reason. std draws the bits from the system's randomness once per thread, and
    /// varies them for every `RandomState` made.
    Keyed(RandomState),
    //@ }
}

impl Hashing {
    fn of(&self, key: &[u8]) -> u64 {
        match self {
            Hashing::Plain(hash) => hash(key),
            Hashing::Keyed(secret) => secret.hash_one(key), //@ v3_0..
        }
    }
}
// ANCHOR_END: hash

impl<V> Table<V> {
    fn empty() -> Table<V> {
        Table { page_of: Vec::new(), pages: Vec::new(), slots: 0, mask: 0, len: 0 }
    }

    /// `slots` must be a power of two. Only the list of pages is made now, zeroed; a page is
    /// allocated when a node first lands in it.
    fn with_buckets(slots: usize) -> Table<V> {
        let page_of = vec![0; slots.div_ceil(PAGE)];
        Table { page_of, pages: Vec::new(), slots, mask: slots - 1, len: 0 }
    }

    /// Where page `page` is in `pages`, if it is allocated.
    fn page(&self, page: usize) -> Option<usize> {
        let place = *self.page_of.get(page)?;
        (place > 0).then(|| place as usize - 1)
    }

    fn slot(&self, index: usize) -> Option<&Link<V>> {
        let place = self.page(index / PAGE)?;
        self.pages[place].as_deref()?.get(index % PAGE)
    }

    fn slot_mut(&mut self, index: usize) -> Option<&mut Link<V>> {
        let place = self.page(index / PAGE)?;
        self.pages[place].as_deref_mut()?.get_mut(index % PAGE)
    }

    /// Frees page `page` (all of whose buckets are empty).
    fn free_page(&mut self, page: usize) {
        if let Some(place) = self.page(page) {
            self.page_of[page] = 0;
            self.pages[place] = None;
        }
    }

    fn push(&mut self, mut node: Box<Node<V>>) {
        // `mask` < slots, so the truncated hash indexes a page that exists.
        let index = node.hash as usize & self.mask;
        let place = match self.page(index / PAGE) {
            Some(place) => place,
            None => {
                // 4 KiB written, once per page. (u32: a table has far fewer than 2^32 pages.)
                self.pages.push(Some((0..self.slots.min(PAGE)).map(|_| None).collect()));
                self.page_of[index / PAGE] = self.pages.len() as u32;
                self.pages.len() - 1
            }
        };
        let page = self.pages[place].as_deref_mut().expect("a page in use is allocated");
        let slot = &mut page[index % PAGE];
        node.next = slot.take();
        *slot = Some(node);
        self.len += 1;
    }

    /// The link that holds `key`'s node, if the table has it.
    fn find(&mut self, hash: u64, key: &[u8]) -> Option<&mut Link<V>> {
        let mut link = self.slot_mut(hash as usize & self.mask)?;
        while link.as_ref().is_some_and(|node| node.hash != hash || *node.key != *key) {
            link = &mut link.as_mut()?.next;
        }
        link.is_some().then_some(link)
    }

    fn get(&self, hash: u64, key: &[u8]) -> Option<&Node<V>> {
        let mut link = self.slot(hash as usize & self.mask)?;
        while let Some(node) = link {
            if node.hash == hash && *node.key == *key {
                return Some(node);
            }
            link = &node.next;
        }
        None
    }

    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Box<Node<V>>> {
        let link = self.find(hash, key)?;
        let mut node = link.take()?;
        *link = node.next.take();
        self.len -= 1;
        Some(node)
    }

    /// Every bucket that has a page, with its index.
    fn buckets(&self) -> impl Iterator<Item = (usize, &Link<V>)> {
        let pages = (0..self.page_of.len()).filter_map(|p| Some((p, self.page(p)?)));
        let in_pages = pages.filter_map(|(p, place)| Some((p, self.pages[place].as_deref()?)));
        in_pages.flat_map(|(p, page)| page.iter().enumerate().map(move |(i, l)| (p * PAGE + i, l)))
    }
}

impl<V> Drop for Table<V> {
    /// Unlinks every chain node by node: the default drop of a `Box` chain recurses once per
    /// node, and a long chain would overflow the stack.
    fn drop(&mut self) {
        for page in self.pages.iter_mut().flatten() {
            for bucket in page.iter_mut() {
                let mut link = bucket.take();
                while let Some(mut node) = link {
                    link = node.next.take();
                }
            }
        }
    }
}

impl<V> Default for HashTable<V> {
    fn default() -> Self {
        HashTable::new()
    }
}

impl<V> HashTable<V> {
    /// An empty table that hashes with [`fnv1a`]. It allocates nothing until the first insert.
    pub fn new() -> HashTable<V> {
        HashTable::with_hash(fnv1a)
    }

    /// An empty table with a hash function of the caller's: tests use one that sends every key
    /// to the same bucket.
    pub fn with_hash(hash: fn(&[u8]) -> u64) -> HashTable<V> {
        HashTable::hashing(Hashing::Plain(hash))
    }

    // ANCHOR: keyed
    //@ v3_0.. {
    /// An empty table that hashes with SipHash under a secret of its own, drawn now: which
    /// keys share a bucket differs from table to table and from run to run, so a client
    /// cannot choose keys that pile up in one.
    pub fn keyed() -> HashTable<V> {
        HashTable::hashing(Hashing::Keyed(RandomState::new()))
    }
    //@ }
    // ANCHOR_END: keyed

    fn hashing(hash: Hashing) -> HashTable<V> {
        HashTable { newer: Table::empty(), older: Table::empty(), older_left: 0, hash }
    }

    //@ v3_0.. {
    pub fn len(&self) -> usize {
        self.newer.len + self.older.len
    }
    //@ }

    //@ lib {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    //@ }

    /// Whether a resize is in progress (entries are still in `older`).
    pub fn is_resizing(&self) -> bool {
        self.older_left > 0
    }

    // ANCHOR: lookup
    /// The value for `key`. Takes `&mut self` because every operation, lookups included, does
    /// its share of a resize in progress.
    pub fn get(&mut self, key: &[u8]) -> Option<&V> {
        self.help_resize();
        let hash = self.hash.of(key);
        let node = self.newer.get(hash, key).or_else(|| self.older.get(hash, key))?;
        Some(&node.value)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.help_resize();
        let hash = self.hash.of(key);
        let link = match self.newer.get(hash, key).is_some() {
            true => self.newer.find(hash, key),
            false => self.older.find(hash, key),
        }?;
        link.as_mut().map(|node| &mut node.value)
    }
    // ANCHOR_END: lookup

    // ANCHOR: insert
    /// Sets `key` to `value`, and returns the value it had, if any.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        self.help_resize();
        let hash = self.hash.of(key);
        for table in [&mut self.newer, &mut self.older] {
            if let Some(Some(node)) = table.find(hash, key) {
                return Some(std::mem::replace(&mut node.value, value));
            }
        }
        if self.newer.len >= self.newer.slots * MAX_LOAD_FACTOR && !self.is_resizing() {
            self.start_resize();
        }
        let key = key.into();
        self.newer.push(Box::new(Node { next: None, hash, key, value }));
        None
    }
    // ANCHOR_END: insert

    /// Removes `key`, and returns its value, if it was there.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.help_resize();
        let hash = self.hash.of(key);
        let node = self.newer.remove(hash, key).or_else(|| self.older.remove(hash, key))?;
        Some(node.value)
    }

    // ANCHOR: resize
    /// The full table becomes `older`, and an empty one twice its size `newer`. Nothing moves
    /// yet, and nothing big is allocated: `newer`'s pages come as nodes land in them.
    fn start_resize(&mut self) {
        let slots = (self.newer.slots * 2).max(4);
        self.older = std::mem::replace(&mut self.newer, Table::with_buckets(slots));
        self.older_left = self.older.slots;
    }

    /// Moves a bounded amount of work from `older` to `newer`: at most `REHASH_NODES` nodes
    /// and `REHASH_EMPTY_BUCKETS` empty buckets (a page never allocated counts as one). Buckets
    /// are emptied from the last one down, and each page is freed as soon as it is empty.
    fn help_resize(&mut self) {
        let (mut moved, mut empty) = (0, 0);
        while self.older_left > 0 && moved < REHASH_NODES && empty < REHASH_EMPTY_BUCKETS {
            let index = self.older_left - 1;
            let Some(slot) = self.older.slot_mut(index) else {
                // A page nothing ever landed in: skip all of it.
                self.older_left = index / PAGE * PAGE;
                empty += 1;
                continue;
            };
            match slot.take() {
                Some(mut node) => {
                    *slot = node.next.take();
                    self.older.len -= 1;
                    self.newer.push(node);
                    moved += 1;
                }
                None => {
                    self.older_left = index;
                    empty += 1;
                    if index.is_multiple_of(PAGE) {
                        self.older.free_page(index / PAGE); // emptied: give it back
                    }
                }
            }
        }
        if self.older_left == 0 && self.older.slots > 0 {
            self.older = Table::empty(); // Only the list of (freed) pages is left to free.
        }
    }
    // ANCHOR_END: resize

    /// Every key and value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        let buckets = self.newer.buckets().chain(self.older.buckets());
        buckets.flat_map(|(_, bucket)| {
            std::iter::successors(bucket.as_deref(), |node| node.next.as_deref())
                .map(|node| (&*node.key, &node.value))
        })
    }

    // ANCHOR: scan
    //@ v3_1.. {
    /// One step of a scan (`SCAN cursor`): calls `found` for every entry in the buckets that
    /// `cursor` names, and returns the cursor to go on from, 0 when the scan is done. A scan
    /// that starts at 0 and goes on until 0 is handed every key that was in the table from its
    /// first step to its last, however the table grew in between: at least once, as Redis's
    /// `dictScan` promises, and here exactly once, because this table never shrinks (a table
    /// that shrinks merges buckets the scan has passed with some it has not). A key that came
    /// or went meanwhile may or may not be handed.
    ///
    /// The cursor counts with its bits read backwards: it adds one at the bucket index's
    /// *highest* bit and carries downwards, so 8 buckets go 0, 4, 2, 6, 1, 5, 3, 7. When the
    /// table doubles, bucket `b` of 8 becomes buckets `b` and `b + 8` of 16, and in the 16's
    /// order those two come one after the other, where the 8's order had `b` alone: the buckets
    /// a scan has passed become buckets it has passed, and none it has not passed is skipped.
    /// While a resize is under way, a step visits the smaller table's bucket and every bucket
    /// of the larger one that it splits into.
    pub fn scan(&self, cursor: u64, mut found: impl FnMut(&[u8], &V)) -> u64 {
        if self.newer.len + self.older.len == 0 {
            return 0;
        }
        let mut visit = |table: &Table<V>, index: u64| {
            let mut link = table.slot(index as usize);
            while let Some(Some(node)) = link {
                found(&node.key, &node.value);
                link = Some(&node.next);
            }
        };
        let mut cursor = cursor;
        if !self.is_resizing() {
            visit(&self.newer, cursor & self.newer.mask as u64);
            return next_in_reverse(cursor, self.newer.mask as u64);
        }
        // A resize only grows: `older` is the smaller table.
        let (small, large) = (self.older.mask as u64, self.newer.mask as u64);
        visit(&self.older, cursor & small);
        loop {
            visit(&self.newer, cursor & large);
            cursor = next_in_reverse(cursor, large);
            // Every bucket of the larger table that the smaller one's splits into is visited
            // once the bits between the two masks have come round to 0 again.
            if cursor & (small ^ large) == 0 {
                return cursor;
            }
        }
    }
    //@ }
    // ANCHOR_END: scan

    // ANCHOR: into_entries
    //@ v3_0.. {
    /// The table taken apart: every key and value, in no particular order, each node freed
    /// as the iterator reaches it and each page of buckets as soon as it is empty. What is not
    /// reached is freed, loop-free, when the iterator is dropped. For `lazyfree`, which frees
    /// a whole keyspace a slice at a time.
    pub fn into_entries(self) -> IntoEntries<V> {
        let HashTable { newer, older, .. } = self;
        IntoEntries { tables: [newer, older], table: 0, page: 0, slot: 0 }
    }
    //@ }
    // ANCHOR_END: into_entries

    //@ lib {
    /// The most nodes in any one bucket: what the slowest lookup walks. For tests and benches
    /// of how keys spread; it visits every bucket.
    pub fn longest_chain(&self) -> usize {
        let buckets = self.newer.buckets().chain(self.older.buckets());
        let chain_len = |(_, link): (usize, &Link<V>)| {
            std::iter::successors(link.as_deref(), |node| node.next.as_deref()).count()
        };
        buckets.map(chain_len).max().unwrap_or(0)
    }
    //@ }

    // ANCHOR: check_invariants
    //@ lib {
    /// Checks every invariant the table relies on, and says which one failed. For tests: it
    /// visits every node.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (name, table) in [("newer", &self.newer), ("older", &self.older)] {
            let slots = table.slots;
            if slots > 0 && (!slots.is_power_of_two() || table.mask != slots - 1) {
                return Err(format!("{name}: {slots} buckets and mask {:#x}", table.mask));
            }
            if table.page_of.len() != slots.div_ceil(PAGE) {
                return Err(format!("{name}: {} pages for {slots} buckets", table.page_of.len()));
            }
            // A resize doubles, and `newer` never fills up while one is in progress: a resize
            // of n entries ends within n / REHASH_NODES operations, long before n more arrive.
            if self.is_resizing() && (name == "newer") && table.slots != 2 * self.older.slots {
                return Err(format!("newer: {slots} buckets, older {}", self.older.slots));
            }
            if table.len > slots * MAX_LOAD_FACTOR && (name == "newer" || !self.is_resizing()) {
                return Err(format!("{name}: {} entries in {slots} buckets", table.len));
            }
            let mut count = 0;
            for (index, bucket) in table.buckets() {
                if name == "older" && index >= self.older_left && bucket.is_some() {
                    return Err(format!("older: bucket {index} is past the emptied mark"));
                }
                let mut link = bucket;
                while let Some(node) = link {
                    if node.hash as usize & table.mask != index {
                        return Err(format!("{name}: a node in bucket {index} belongs elsewhere"));
                    }
                    if node.hash != self.hash.of(&node.key) {
                        return Err(format!("{name}: a node's hash is not its key's"));
                    }
                    // A key twice would be in one chain (same hash, same bucket), or in both tables.
                    let again = std::iter::successors(node.next.as_deref(), |n| n.next.as_deref())
                        .any(|later| later.key == node.key);
                    let in_newer =
                        name == "older" && self.newer.get(node.hash, &node.key).is_some();
                    if again || in_newer {
                        return Err(format!("{name}: key {:?} is in the table twice", node.key));
                    }
                    count += 1;
                    link = &node.next;
                }
            }
            if count != table.len {
                return Err(format!("{name}: counts {} but holds {count}", table.len));
            }
        }
        if !self.is_resizing() && (self.older.len > 0 || self.older.slots > 0) {
            return Err("older is not empty with no resize in progress".into());
        }
        if !self.is_resizing() && self.newer.len > self.newer.slots * MAX_LOAD_FACTOR {
            return Err(format!(
                "over the load limit with no resize in progress: {} entries, {} buckets",
                self.newer.len, self.newer.slots
            ));
        }
        Ok(())
    }
    //@ }
    // ANCHOR_END: check_invariants
}

// ANCHOR: next_in_reverse
//@ v3_1.. {
/// The cursor after `cursor`, counting in reverse over the bits of `mask`: set every bit above
/// the mask, so that adding one carries out past them, reverse, add one, reverse back.
fn next_in_reverse(cursor: u64, mask: u64) -> u64 {
    ((cursor | !mask).reverse_bits().wrapping_add(1)).reverse_bits()
}
//@ }
// ANCHOR_END: next_in_reverse

//@ v3_0.. {
/// A table being taken apart: see [`HashTable::into_entries`].
pub struct IntoEntries<V> {
    tables: [Table<V>; 2],
    /// Where it is: which table, which of its pages (in `pages`' order), which slot.
    table: usize,
    page: usize,
    slot: usize,
}

impl<V> Iterator for IntoEntries<V> {
    type Item = (Box<[u8]>, V);

    /// The next node, unlinked from its chain. Empty slots are passed over, at most a page of
    /// them (512) per emptied page, and a page is freed when its last slot has been passed.
    fn next(&mut self) -> Option<(Box<[u8]>, V)> {
        while let Some(table) = self.tables.get_mut(self.table) {
            let Some(page) = table.pages.get_mut(self.page) else {
                (self.table, self.page, self.slot) = (self.table + 1, 0, 0);
                continue;
            };
            let link = page.as_deref_mut().and_then(|slots| slots.get_mut(self.slot));
            match link.map(|link| (link.take(), link)) {
                Some((Some(mut node), link)) => {
                    *link = node.next.take();
                    table.len -= 1;
                    let Node { key, value, .. } = *node;
                    return Some((key, value));
                }
                Some((None, _)) => self.slot += 1,
                None => {
                    *page = None; // emptied (or freed already): give it back
                    (self.page, self.slot) = (self.page + 1, 0);
                }
            }
        }
        None
    }
}
//@ }

impl<V: fmt::Debug> fmt::Debug for HashTable<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
