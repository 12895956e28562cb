// src/store.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The store of v2.0 and later: keys, their values and their deadlines, and everything that
//! must happen when a key goes (its deadline out of the heap, its value freed, off the loop if
//! it is big).
//! v2.0's commands worked on it; from v3.0 on, Redis's do, in Redis's protocol.
//!
//! Every way in to a key checks its deadline first (`value_mut`, `insert`, `remove`, and
//! what is built on them), so that no command can see an expired key, however far behind
//! the loop's own sweep is.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hashtable::HashTable;
use crate::lazyfree::{self, LazyFree, Waiting};
use crate::ttl::{TimerId, TtlHeap};
use crate::zset::ZSet;

// ANCHOR: limits
/// The most keys the loop expires in one turn: a million keys that expire together are
/// deleted over 2,000 turns, with every ready client served between two of them, not in one
/// pause. A key costs about 0.9 µs to expire here (mostly cache misses in the table and the
/// heap), so a turn is about 0.45 ms, and a client that arrives during a mass expiry waits
/// about that long. The original expires 2,000 a turn; measured here, its 1.8 ms turns gave
/// a p99 worse than Redis's, whose quick expiry cycles stop after 1 ms.
pub const MAX_EXPIRE_PER_TURN: usize = 500;

/// Sorted sets with more members than this are freed on the `lazyfree` thread; smaller values
/// are freed inline, where it costs less than handing them over. (Redis's threshold is 64
/// allocations; a member here costs three.)
pub const LAZYFREE_ABOVE: usize = 64;

/// Strings of more bytes than this are freed on the `lazyfree` thread too: giving 400 MiB back
/// to the kernel (`munmap`) took the loop 35 to 41 ms, a turn every client waited through.
/// Redis frees a string inline whatever its size, with `DEL` and `UNLINK` alike (one
/// allocation, so its "free effort" is 1), and a `DEL` of 400 MiB stalls its clients as long.
pub const LAZYFREE_STRING_ABOVE: usize = 1 << 20;
// ANCHOR_END: limits

/// What a key holds.
pub enum Value {
    Str(Str),
    /// Boxed: a sorted set is two structures (about 200 bytes), a string's `Vec` 24 bytes,
    /// and every value in the table is as big as the biggest kind.
    ZSet(Box<ZSet>),
}

// ANCHOR: str
/// A string's bytes: the store's own, or shared with the connections sending them, once a
/// `GET` has sent them uncopied. Only strings of more than [`LAZYFREE_STRING_ABOVE`] bytes
/// are shared: a smaller one costs less to copy into a reply than to share. Whoever lets go
/// of a shared string last frees it, on the `lazyfree` thread (see [`Store::release`]).
pub enum Str {
    Own(Vec<u8>),
    Shared(Arc<Vec<u8>>),
}

impl Str {
    /// The bytes, to change in place: copied first if a connection is still sending them, so
    /// that it sends the value it was asked for, not what the value became.
    pub fn to_mut(&mut self) -> &mut Vec<u8> {
        match self {
            Str::Own(bytes) => bytes,
            Str::Shared(shared) => Arc::make_mut(shared),
        }
    }

    /// The bytes, shared, for a reply that sends them without a copy: an `Arc` moves them
    /// off the store's own `Vec` (no copy), and the store keeps one.
    pub fn share(&mut self) -> Arc<Vec<u8>> {
        let shared = match std::mem::take(self) {
            Str::Own(bytes) => Arc::new(bytes),
            Str::Shared(shared) => shared,
        };
        *self = Str::Shared(Arc::clone(&shared));
        shared
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::Own(Vec::new())
    }
}

impl std::ops::Deref for Str {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        match self {
            Str::Own(bytes) => bytes,
            Str::Shared(shared) => shared,
        }
    }
}
// ANCHOR_END: str

// ANCHOR: store
/// A key's value and, if it has one, its deadline's place in the heap.
pub struct Entry {
    value: Value,
    timer: Option<TimerId>,
}

/// The store: keys are bytes, values strings or sorted sets, each with a deadline or none.
pub struct Store {
    keys: HashTable<Entry>,
    /// Every deadline, earliest first; each names its key.
    ttls: TtlHeap,
    lazyfree: LazyFree,
    /// Leave out the log line per request.
    pub quiet: bool,
    /// Set by a command that took long (walked the whole table, or listed many members), for
    /// `should_yield`.
    pub walked: bool,
}
// ANCHOR_END: store

impl Store {
    // ANCHOR: keyed
    /// A store whose keys are hashed under a secret drawn at start-up, so that no client can
    /// choose keys that share a bucket (see `src/hashtable.rs`).
    pub fn keyed(quiet: bool) -> io::Result<Store> {
        let (keys, ttls) = (HashTable::keyed(), TtlHeap::new());
        Ok(Store { keys, ttls, lazyfree: LazyFree::start()?, quiet, walked: false })
    }
    // ANCHOR_END: keyed

    // ANCHOR: set
    /// Overwrites a string in place, as v1.0 does, and forgets its deadline, as Redis's `SET`
    /// does. Whatever else the key held, a sorted set included, is replaced.
    pub fn set(&mut self, key: &[u8], value: &[u8]) {
        self.expire_if_due(key);
        match self.keys.get_mut(key) {
            // Shrunk in place, a big string would give its memory back here, on the loop:
            // replaced instead, it is freed on the `lazyfree` thread, as if deleted.
            // (A shared string is a big one.)
            Some(Entry { value: Value::Str(old), .. })
                if old.capacity() > LAZYFREE_STRING_ABOVE =>
            {
                self.insert(key, Value::Str(Str::Own(value.to_vec())));
            }
            Some(Entry { value: Value::Str(Str::Own(old)), timer }) => {
                old.clear();
                old.extend_from_slice(value);
                old.shrink_to(2 * value.len());
                if let Some(timer) = timer.take() {
                    self.ttls.remove(timer);
                }
            }
            _ => self.insert(key, Value::Str(Str::Own(value.to_vec()))),
        }
    }
    // ANCHOR_END: set

    // ANCHOR: deadlines
    /// Gives `key` a deadline, or takes its deadline away (`None`): false if there is no key.
    pub fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>) -> bool {
        self.expire_if_due(key);
        let Some(entry) = self.keys.get_mut(key) else { return false };
        match (entry.timer, deadline) {
            (Some(timer), Some(deadline)) => self.ttls.set(timer, deadline),
            (None, Some(deadline)) => entry.timer = Some(self.ttls.insert(deadline, key)),
            (Some(timer), None) => {
                entry.timer = None;
                self.ttls.remove(timer);
            }
            (None, None) => {}
        }
        true
    }

    /// Takes `key` out of the table with its deadline, freeing nothing: for `RENAME`, which
    /// puts them back under another name.
    pub fn take(&mut self, key: &[u8]) -> Option<(Value, Option<Instant>)> {
        self.expire_if_due(key);
        let entry = self.keys.remove(key)?;
        let deadline = entry.timer.map(|timer| self.ttls.deadline(timer));
        if let Some(timer) = entry.timer {
            self.ttls.remove(timer);
        }
        Some((entry.value, deadline))
    }

    /// `key`'s deadline, if it is there and has one (for `SET ... KEEPTTL`).
    pub fn deadline(&mut self, key: &[u8]) -> Option<Instant> {
        self.expire_if_due(key);
        let timer = self.keys.get_mut(key)?.timer?;
        Some(self.ttls.deadline(timer))
    }

    /// How long `key` has left: `None` if there is no such key, `Some(None)` if it has no
    /// deadline.
    pub fn time_left(&mut self, key: &[u8]) -> Option<Option<Duration>> {
        self.expire_if_due(key);
        let timer = self.keys.get_mut(key)?.timer;
        Some(timer.map(|timer| self.ttls.deadline(timer).saturating_duration_since(Instant::now())))
    }

    /// Every key not past its deadline, in the table's order. The caller is walking the whole
    /// table, so the loop is asked to serve the other clients before its next request.
    pub fn live_keys(&mut self) -> impl Iterator<Item = &[u8]> {
        self.walked = true;
        let now = Instant::now();
        let (keys, ttls) = (&self.keys, &self.ttls);
        keys.iter()
            .filter(move |(_, entry)| entry.timer.is_none_or(|t| ttls.deadline(t) > now))
            .map(|(key, _)| key)
    }

    // ANCHOR: scan
    /// One step of a `SCAN` (see `HashTable::scan`): the keys and values in the buckets
    /// `cursor` names, past those whose deadline has passed (the loop has yet to delete them,
    /// and no command may see them), and the cursor to go on from.
    pub fn scan(&self, cursor: u64, mut found: impl FnMut(&[u8], &Value)) -> u64 {
        let now = Instant::now();
        let (keys, ttls) = (&self.keys, &self.ttls);
        keys.scan(cursor, |key, entry| {
            if entry.timer.is_none_or(|timer| ttls.deadline(timer) > now) {
                found(key, &entry.value);
            }
        })
    }
    // ANCHOR_END: scan

    /// How many keys there are, counting those past their deadline that the loop has not
    /// deleted yet (as Redis's `DBSIZE` does).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Deletes every key (`FLUSHALL`). The old table is dropped here, all at once: Redis does
    /// the same unless told `ASYNC`.
    pub fn clear(&mut self) {
        (self.keys, self.ttls) = (HashTable::keyed(), TtlHeap::new());
    }
    // ANCHOR_END: deadlines

    // ANCHOR: clear_async
    /// Deletes every key now, and frees them on the `lazyfree` thread (`FLUSHALL ASYNC`): the
    /// keyspace is empty at once, and the old table, its values and the heap of deadlines go
    /// there as parts, a slice at a time, each node of the table one part, and each member of a
    /// big sorted set in it one more, as `DEL` would have sent it.
    pub fn clear_async(&mut self) {
        let keys = std::mem::replace(&mut self.keys, HashTable::keyed());
        let ttls = std::mem::take(&mut self.ttls);
        let len = keys.len() + ttls.len();
        let waiting = self.lazyfree.waiting();
        let entries = keys.into_entries().flat_map(move |(_, entry)| parts(entry.value, &waiting));
        self.lazyfree.free(len, entries.chain(ttls.into_keys().map(drop)));
    }
    // ANCHOR_END: clear_async

    // ANCHOR: timers
    /// The earliest deadline of any key: the loop's `poll` wakes for it.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.ttls.peek().map(|(deadline, _)| deadline)
    }

    /// Deletes the keys whose deadlines have passed, at most `MAX_EXPIRE_PER_TURN` of them.
    pub fn expire_due(&mut self, now: Instant) {
        let mut freed_any = false;
        for _ in 0..MAX_EXPIRE_PER_TURN {
            let Some(key) = self.ttls.pop_due(now) else { break };
            freed_any = true;
            // The heap has let go of the timer already: only the entry is left to delete.
            if let Some(entry) = self.keys.remove(&key) {
                self.free(entry.value);
            }
        }
        if freed_any {
            lazyfree::merge_freed_blocks();
        }
    }
    // ANCHOR_END: timers

    /// The `lazyfree` thread's socket, for the loop to poll.
    pub fn wake_fd(&self) -> Option<BorrowedFd<'_>> {
        self.lazyfree.wake_fd()
    }

    /// Merges what the `lazyfree` thread freed, if it asked, and lets it go on.
    pub fn on_wake(&mut self) {
        self.lazyfree.on_wake();
    }

    // ANCHOR: access
    /// The value of `key`, to read or change in place, unless its deadline has passed. The
    /// sorted-set commands reach the keys through these three alone.
    pub fn value_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_due(key);
        self.keys.get_mut(key).map(|entry| &mut entry.value)
    }

    /// Gives `key` the value `value`, replacing any it had, and with no deadline.
    pub fn insert(&mut self, key: &[u8], value: Value) {
        if let Some(old) = self.keys.insert(key, Entry { value, timer: None }) {
            self.forget(old);
        }
    }

    /// Deletes `key`, and its deadline: true if it was there (and not past its deadline).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.expire_if_due(key);
        let entry = self.keys.remove(key);
        let found = entry.is_some();
        if let Some(entry) = entry {
            self.forget(entry);
        }
        found
    }
    // ANCHOR_END: access

    // ANCHOR: expire
    /// Deletes `key` if its deadline has passed, so that no command ever sees an expired key,
    /// whether or not the loop has got round to it. When no key has a deadline at all, this
    /// costs one comparison: the plain path does not pay for TTLs it does not use.
    fn expire_if_due(&mut self, key: &[u8]) {
        if self.ttls.is_empty() {
            return;
        }
        let due = match self.keys.get(key) {
            Some(Entry { timer: Some(timer), .. }) => self.ttls.deadline(*timer) <= Instant::now(),
            _ => false,
        };
        if due && let Some(entry) = self.keys.remove(key) {
            self.forget(entry);
        }
    }

    /// An entry that has left the table: its deadline leaves the heap, its value is freed.
    fn forget(&mut self, entry: Entry) {
        if let Some(timer) = entry.timer {
            self.ttls.remove(timer);
        }
        self.free(entry.value);
    }

    // ANCHOR: free
    /// Frees a value that no key holds any more: a big sorted set or a big string on the
    /// `lazyfree` thread, anything else here and now.
    fn free(&self, value: Value) {
        match value {
            Value::ZSet(zset) if zset.len() > LAZYFREE_ABOVE => {
                self.lazyfree.free(zset.len(), zset.into_members());
            }
            Value::Str(Str::Shared(shared)) => self.release(shared),
            Value::Str(big) if big.capacity() > LAZYFREE_STRING_ABOVE => {
                self.lazyfree.free(1, std::iter::once(big));
            }
            value => drop(value),
        }
    }

    /// Lets go of a handle on a shared string: a key's, as the key goes, or a connection's,
    /// once it has sent it (`Service::take_back`). `Arc::into_inner` hands the bytes to exactly
    /// one of those who let go, the last, which frees them as any big string is freed: on the
    /// `lazyfree` thread, never here, whichever goes first. (The thread may be the last too,
    /// when the key went with a `FLUSHALL ASYNC`.)
    pub fn release(&self, shared: Arc<Vec<u8>>) {
        if let Some(bytes) = Arc::into_inner(shared) {
            self.discard(bytes);
        }
    }

    /// Frees bytes that no key holds, as a string is freed: a big argument that its command
    /// did not keep, say (an option, a value `SET ... NX` did not store).
    pub fn discard(&self, bytes: Vec<u8>) {
        self.free(Value::Str(Str::Own(bytes)));
    }
    // ANCHOR_END: free
    // ANCHOR_END: expire
}

/// A value of a keyspace being freed, taken apart on the `lazyfree` thread: one part, which
/// frees it, or for a big sorted set one part and then one per member, counted as waiting
/// when the thread reaches the set (counting them on the loop would walk every value).
fn parts(value: Value, waiting: &Waiting) -> impl Iterator<Item = ()> + Send + use<> {
    let members = match value {
        Value::ZSet(zset) if zset.len() > LAZYFREE_ABOVE => {
            waiting.add(zset.len());
            Some((*zset).into_members())
        }
        _ => None, // small: freed here, as this part
    };
    std::iter::once(()).chain(members.into_iter().flatten().map(drop))
}

// ANCHOR: loop_hooks
/// The loop's hooks into the store, the same under every protocol: after a command
/// that walked every key the other clients come first (`should_yield`); `poll` wakes for the
/// earliest deadline; each turn expires a bounded number of keys; and the `lazyfree` thread's
/// socket is polled, its asks answered. A macro, because one trait's methods cannot be written
/// half in one `impl` and half in another: each stage's `impl Service for Store` writes its
/// protocol's methods, then `store::loop_hooks!()` writes these.
macro_rules! loop_hooks {
    () => {
        fn should_yield(&mut self) -> bool {
            std::mem::take(&mut self.walked)
        }

        fn next_deadline(&mut self) -> Option<std::time::Instant> {
            Store::next_deadline(self)
        }

        fn on_timers(&mut self, now: std::time::Instant) {
            self.expire_due(now);
        }

        fn wake_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
            Store::wake_fd(self)
        }

        fn on_wake(&mut self) {
            Store::on_wake(self);
        }

        fn take_back(&mut self, shared: std::sync::Arc<Vec<u8>>) {
            Store::release(self, shared);
        }
    };
}
pub(crate) use loop_hooks;
// ANCHOR_END: loop_hooks
