//! A chained hash table that resizes a little at a time, so that no single operation waits
//! for a whole resize (introduced in v1.1; later stages use it unchanged).
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
//! - `older`'s bucket array is emptied from its end and shortened as it goes, its memory given
//!   back in steps, so that even freeing it is spread out.
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
//! not, so it is left as an exercise. The hash is FNV-1a, quick and simple,
//! but not keyed: a client that knows it can choose keys that all share a bucket, and make
//! each lookup walk a long chain. Redis uses SipHash, keyed at start-up, for that reason.

use std::fmt;

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
/// long empty stretch (build-your-own.org has none; Redis visits at most ten per node moved).
pub const REHASH_EMPTY_BUCKETS: usize = 1024;

/// Bucket slots given back at once while `older`'s array is emptied.
const SHRINK_STEP: usize = 1 << 14;
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

/// One array of buckets and the chains hanging from it.
struct Table<V> {
    buckets: Vec<Link<V>>,
    /// `buckets.len() - 1` when the table has buckets: `hash & mask` is a bucket's index.
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
    hash: fn(&[u8]) -> u64,
}
// ANCHOR_END: hashtable

impl<V> Table<V> {
    fn empty() -> Table<V> {
        Table { buckets: Vec::new(), mask: 0, len: 0 }
    }

    /// `slots` must be a power of two. `vec![None; n]` asks the allocator for zeroed memory,
    /// which the kernel hands out lazily: a huge new array costs nothing until it is written.
    fn with_buckets(slots: usize) -> Table<V> {
        let mut buckets = Vec::new();
        buckets.resize_with(slots, || None);
        Table { buckets, mask: slots - 1, len: 0 }
    }

    fn push(&mut self, mut node: Box<Node<V>>) {
        // `mask` < buckets.len() <= usize::MAX, so the truncated hash indexes in range.
        let slot = &mut self.buckets[node.hash as usize & self.mask];
        node.next = slot.take();
        *slot = Some(node);
        self.len += 1;
    }

    /// The link that holds `key`'s node, if the table has it. (`older`'s array shrinks as it
    /// is emptied, so a bucket past its end has been emptied already.)
    fn find(&mut self, hash: u64, key: &[u8]) -> Option<&mut Link<V>> {
        let mut link = self.buckets.get_mut(hash as usize & self.mask)?;
        while link.as_ref().is_some_and(|node| node.hash != hash || *node.key != *key) {
            link = &mut link.as_mut()?.next;
        }
        link.is_some().then_some(link)
    }

    fn get(&self, hash: u64, key: &[u8]) -> Option<&Node<V>> {
        let mut link = self.buckets.get(hash as usize & self.mask)?;
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
}

impl<V> Drop for Table<V> {
    /// Unlinks every chain node by node: the default drop of a `Box` chain recurses once per
    /// node, and a long chain would overflow the stack.
    fn drop(&mut self) {
        for bucket in &mut self.buckets {
            let mut link = bucket.take();
            while let Some(mut node) = link {
                link = node.next.take();
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
        HashTable { newer: Table::empty(), older: Table::empty(), hash }
    }

    pub fn len(&self) -> usize {
        self.newer.len + self.older.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a resize is in progress (entries are still in `older`).
    pub fn is_resizing(&self) -> bool {
        !self.older.buckets.is_empty()
    }

    // ANCHOR: lookup
    /// The value for `key`. Takes `&mut self` because every operation, lookups included, does
    /// its share of a resize in progress.
    pub fn get(&mut self, key: &[u8]) -> Option<&V> {
        self.help_resize();
        let hash = (self.hash)(key);
        let node = self.newer.get(hash, key).or_else(|| self.older.get(hash, key))?;
        Some(&node.value)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.help_resize();
        let hash = (self.hash)(key);
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
        let hash = (self.hash)(key);
        for table in [&mut self.newer, &mut self.older] {
            if let Some(Some(node)) = table.find(hash, key) {
                return Some(std::mem::replace(&mut node.value, value));
            }
        }
        if self.newer.len >= self.newer.buckets.len() * MAX_LOAD_FACTOR && !self.is_resizing() {
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
        let hash = (self.hash)(key);
        let node = self.newer.remove(hash, key).or_else(|| self.older.remove(hash, key))?;
        Some(node.value)
    }

    // ANCHOR: resize
    /// The full table becomes `older`, and an empty one twice its size `newer`. Nothing moves
    /// yet: that is `help_resize`'s job, a little per operation.
    fn start_resize(&mut self) {
        let slots = (self.newer.buckets.len() * 2).max(4);
        self.older = std::mem::replace(&mut self.newer, Table::with_buckets(slots));
    }

    /// Moves a bounded amount of work from `older` to `newer`: at most `REHASH_NODES` nodes
    /// and `REHASH_EMPTY_BUCKETS` empty buckets. Buckets are emptied from the end of `older`'s
    /// array, so that the array can shrink behind them, and is gone when the last one is.
    fn help_resize(&mut self) {
        let (mut moved, mut empty) = (0, 0);
        while moved < REHASH_NODES && empty < REHASH_EMPTY_BUCKETS {
            let Some(last) = self.older.buckets.last_mut() else { break };
            match last.take() {
                Some(mut node) => {
                    *last = node.next.take();
                    self.older.len -= 1;
                    self.newer.push(node);
                    moved += 1;
                }
                None => {
                    self.older.buckets.pop();
                    empty += 1;
                }
            }
        }
        self.give_back_older();
    }

    /// Returns `older`'s emptied slots to the allocator a step at a time, rather than all at
    /// once when the resize ends: freeing a large array costs time in proportion to its size.
    fn give_back_older(&mut self) {
        let buckets = &mut self.older.buckets;
        if buckets.is_empty() {
            if buckets.capacity() > 0 {
                self.older = Table::empty(); // The resize is over: free what is left.
            }
        } else if buckets.capacity() - buckets.len() >= SHRINK_STEP {
            buckets.shrink_to(buckets.len());
        }
    }
    // ANCHOR_END: resize

    /// Every key and value, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        let chains = self.newer.buckets.iter().chain(&self.older.buckets);
        chains.flat_map(|bucket| {
            std::iter::successors(bucket.as_deref(), |node| node.next.as_deref())
                .map(|node| (&*node.key, &node.value))
        })
    }

    // ANCHOR: check_invariants
    /// Checks every invariant the table relies on, and says which one failed. For tests: it
    /// visits every node.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (name, table) in [("newer", &self.newer), ("older", &self.older)] {
            // `older` shrinks as it is emptied; `newer`'s size is always a power of two.
            let slots = table.buckets.len();
            if name == "newer" && slots > 0 && (!slots.is_power_of_two() || table.mask != slots - 1)
            {
                return Err(format!("newer: {slots} buckets and mask {:#x}", table.mask));
            }
            let mut count = 0;
            for (index, bucket) in table.buckets.iter().enumerate() {
                let mut link = bucket;
                while let Some(node) = link {
                    if node.hash as usize & table.mask != index {
                        return Err(format!("{name}: a node in bucket {index} belongs elsewhere"));
                    }
                    if node.hash != (self.hash)(&node.key) {
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
        if !self.is_resizing() && self.older.len > 0 {
            return Err("older holds entries with no resize in progress".into());
        }
        if !self.is_resizing() && self.newer.len > self.newer.buckets.len() * MAX_LOAD_FACTOR {
            return Err(format!(
                "over the load limit with no resize in progress: {} entries, {} buckets",
                self.newer.len,
                self.newer.buckets.len()
            ));
        }
        Ok(())
    }
    // ANCHOR_END: check_invariants
}

impl<V: fmt::Debug> fmt::Debug for HashTable<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
