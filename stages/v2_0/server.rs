//! The v2.0 server: v1.3's, with time. A key may have a deadline (`pexpire`, `pttl`); an
//! expired key is never returned, whether or not the loop has got round to deleting it; and a
//! big sorted set is freed on another thread.
//!
//! Compared with v1.3 (`diff stages/v1_3/server.rs stages/v2_0/server.rs`): each key's entry
//! holds its value and its timer, if any; the store has the deadlines' heap and the freeing
//! thread; `value_mut`, `insert` and `remove` expire and clear deadlines, so that the sorted-set
//! commands need no change; and the store has timed work of its own for the loop to run.

use std::io;
use std::time::{Duration, Instant};

use redis_lite::cli::{Help, ServerOpts};
use redis_lite::event_loop::{self, Service};
use redis_lite::hashtable::HashTable;
use redis_lite::lazyfree::LazyFree;
use redis_lite::outln;
use redis_lite::request::Request;
use redis_lite::tlv::{self, ERR_ARG, ERR_TYPE, ERR_UNKNOWN};
use redis_lite::ttl::{TimerId, TtlHeap};
use redis_lite::zset::ZSet;

use crate::sorted;

pub const HELP: Help = Help {
    serves: "listen and answer get, set, del, keys, zadd, zrem, zscore, zquery, pexpire and pttl",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: redis_lite::cli::DEFAULT_ADDR,
};

/// The largest request or reply body, as in v1.0: 32 MiB.
pub const K_MAX_MSG: usize = 32 << 20;

// ANCHOR: limits
/// The most keys the loop expires in one turn (the original's `k_max_works`): a million keys
/// that expire together are deleted over 500 turns, with every ready client served between
/// two of them, not in one pause.
pub const MAX_EXPIRE_PER_TURN: usize = 2000;

/// Sorted sets with more members than this are freed on the `lazyfree` thread; smaller values
/// are freed inline, where it costs less than handing them over. (Redis's threshold is 64
/// allocations; a member here costs four.)
pub const LAZYFREE_ABOVE: usize = 64;
// ANCHOR_END: limits

/// What a key holds.
pub enum Value {
    Str(Vec<u8>),
    /// Boxed: a sorted set is two structures (about 200 bytes), a string's `Vec` 24 bytes,
    /// and every value in the table is as big as the biggest kind.
    ZSet(Box<ZSet>),
}

// ANCHOR: store
/// A key's value and, if it has one, its deadline's place in the heap.
struct Entry {
    value: Value,
    timer: Option<TimerId>,
}

/// The store: keys are bytes, values strings or sorted sets, each with a deadline or none.
pub struct Store {
    keys: HashTable<Entry>,
    /// Every deadline, earliest first; each names its key.
    ttls: TtlHeap,
    lazyfree: LazyFree<Box<ZSet>>,
    quiet: bool,
    /// Set by a command that walked the whole table, for `should_yield`.
    walked: bool,
}
// ANCHOR_END: store

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let (keys, ttls, lazyfree) = (HashTable::new(), TtlHeap::new(), LazyFree::start()?);
    let mut store = Store { keys, ttls, lazyfree, quiet: opts.quiet, walked: false };
    event_loop::serve(opts, &mut store)
}

// ANCHOR: service
impl Service for Store {
    const MAX_MSG: usize = K_MAX_MSG;

    /// Parses the request in place, then writes the reply frame straight into the connection's
    /// buffer: a placeholder for the length, the value, then the length patched in.
    fn answer(&mut self, body: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let request = Request::parse(body)?;
        if !self.quiet {
            outln!("client says: {request}");
        }
        let reply = tlv::begin_reply(out);
        self.run(request, out);
        tlv::end_reply(out, reply, K_MAX_MSG);
        Ok(())
    }

    /// After a `keys`, the other clients come first: see `event_loop::Service`.
    fn should_yield(&mut self) -> bool {
        std::mem::take(&mut self.walked)
    }

    /// The earliest deadline of any key: the loop's `poll` wakes for it.
    fn next_deadline(&mut self) -> Option<Instant> {
        self.ttls.peek().map(|(deadline, _)| deadline)
    }

    /// Deletes the keys whose deadlines have passed, at most `MAX_EXPIRE_PER_TURN` of them.
    fn on_timers(&mut self, now: Instant) {
        for _ in 0..MAX_EXPIRE_PER_TURN {
            let Some(key) = self.ttls.pop_due(now) else { break };
            // The heap has let go of the timer already: only the entry is left to delete.
            if let Some(entry) = self.keys.remove(&key) {
                self.free(entry.value);
            }
        }
    }
}
// ANCHOR_END: service

/// Every command this stage knows.
const COMMANDS: [&str; 10] =
    ["get", "set", "del", "keys", "zadd", "zrem", "zscore", "zquery", "pexpire", "pttl"];

impl Store {
    // ANCHOR: run
    /// Runs one command, appending its reply value to `out`. Each arm is a command's name and
    /// shape; anything else is an unknown command, or a known one misused.
    fn run(&mut self, request: Request<'_>, out: &mut Vec<u8>) {
        let mut slots = [&[][..]; 6];
        match request.args_in(&mut slots) {
            Some([name, key]) if is(name, "get") => match self.value_mut(key) {
                Some(Value::Str(value)) => tlv::out_str(out, value),
                Some(Value::ZSet(_)) => tlv::out_err(out, ERR_TYPE, "not a string value"),
                None => tlv::out_nil(out),
            },
            Some([name, key, value]) if is(name, "set") => {
                self.set(key, value);
                tlv::out_nil(out);
            }
            Some([name, key]) if is(name, "del") => {
                let deleted = self.remove(key);
                tlv::out_int(out, i64::from(deleted));
            }
            Some([name]) if is(name, "keys") => self.keys(out),
            Some([name, key, score, member]) if is(name, "zadd") => {
                sorted::zadd(self, key, score, member, out);
            }
            Some([name, key, member]) if is(name, "zrem") => sorted::zrem(self, key, member, out),
            Some([name, key, member]) if is(name, "zscore") => {
                sorted::zscore(self, key, member, out);
            }
            Some([name, key, score, member, offset, limit]) if is(name, "zquery") => {
                sorted::zquery(self, key, [score, member, offset, limit], out);
            }
            Some([name, key, ms]) if is(name, "pexpire") => self.pexpire(key, ms, out),
            Some([name, key]) if is(name, "pttl") => self.pttl(key, out),
            _ => misused(request, &COMMANDS, out),
        }
    }
    // ANCHOR_END: run

    /// Every key not past its deadline, as an array of strings, in the table's order. A key
    /// that would take the reply past the frame limit makes it `ERR 2` at once. Walking the
    /// table takes a while when it is big, so the loop is asked to serve the other clients
    /// before this one's next request.
    fn keys(&mut self, out: &mut Vec<u8>) {
        self.walked = true;
        let now = Instant::now();
        let start = out.len();
        let array = tlv::out_begin_arr(out);
        let mut count = 0;
        for (key, entry) in self.keys.iter() {
            if entry.timer.is_some_and(|timer| self.ttls.deadline(timer) <= now) {
                continue;
            }
            // The reply so far, and this key as a string value: 1 byte of tag, 4 of length.
            if out.len() - start + 5 + key.len() > K_MAX_MSG {
                return tlv::out_too_big(out, start, K_MAX_MSG);
            }
            tlv::out_str(out, key);
            count += 1;
        }
        tlv::out_end_arr(out, array, count);
    }

    // ANCHOR: set
    /// Overwrites a string in place, as v1.0 does, and forgets its deadline, as Redis's `SET`
    /// does. Whatever else the key held, a sorted set included, is replaced.
    fn set(&mut self, key: &[u8], value: &[u8]) {
        self.expire_if_due(key);
        match self.keys.get_mut(key) {
            Some(Entry { value: Value::Str(old), timer }) => {
                old.clear();
                old.extend_from_slice(value);
                old.shrink_to(2 * value.len());
                if let Some(timer) = timer.take() {
                    self.ttls.remove(timer);
                }
            }
            _ => self.insert(key, Value::Str(value.to_vec())),
        }
    }
    // ANCHOR_END: set

    // ANCHOR: ttl_commands
    /// `pexpire key ms`: `(int) 1` if the key exists (its deadline is now `ms` from now; a
    /// negative `ms` removes it), 0 if not.
    fn pexpire(&mut self, key: &[u8], ms: &[u8], out: &mut Vec<u8>) {
        let Some(ms) = std::str::from_utf8(ms).ok().and_then(|ms| ms.parse::<i64>().ok()) else {
            return tlv::out_err(out, ERR_ARG, "expect int");
        };
        let deadline = match u64::try_from(ms) {
            Ok(ms) => match Instant::now().checked_add(Duration::from_millis(ms)) {
                Some(deadline) => Some(deadline),
                None => return tlv::out_err(out, ERR_ARG, "expire time out of range"),
            },
            Err(_) => None,
        };
        self.expire_if_due(key);
        let Some(entry) = self.keys.get_mut(key) else { return tlv::out_int(out, 0) };
        match (entry.timer, deadline) {
            (Some(timer), Some(deadline)) => self.ttls.set(timer, deadline),
            (None, Some(deadline)) => entry.timer = Some(self.ttls.insert(deadline, key)),
            (Some(timer), None) => {
                entry.timer = None;
                self.ttls.remove(timer);
            }
            (None, None) => {}
        }
        tlv::out_int(out, 1);
    }

    /// `pttl key`: the milliseconds left, rounded up (a key that has any time left has at
    /// least 1); -1 if the key has no deadline; -2 if there is no such key.
    fn pttl(&mut self, key: &[u8], out: &mut Vec<u8>) {
        self.expire_if_due(key);
        let ttl = match self.keys.get_mut(key) {
            None => -2,
            Some(Entry { timer: None, .. }) => -1,
            Some(Entry { timer: Some(timer), .. }) => {
                let left = self.ttls.deadline(*timer).saturating_duration_since(Instant::now());
                i64::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i64::MAX)
            }
        };
        tlv::out_int(out, ttl);
    }
    // ANCHOR_END: ttl_commands

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

    /// Frees a value that no key holds any more: a big sorted set on the `lazyfree` thread,
    /// anything else here and now.
    fn free(&self, value: Value) {
        match value {
            Value::ZSet(zset) if zset.len() > LAZYFREE_ABOVE => self.lazyfree.free(zset),
            value => drop(value),
        }
    }
    // ANCHOR_END: expire
}

/// Command names are ASCII, in any case.
fn is(word: &[u8], command: &str) -> bool {
    word.eq_ignore_ascii_case(command.as_bytes())
}

/// The reply to a request no arm took: a known command with the wrong arguments, or an
/// unknown one.
fn misused(request: Request<'_>, known: &[&str], out: &mut Vec<u8>) {
    let name = request.args().next().unwrap_or_default();
    match known.iter().any(|command| is(name, command)) {
        true => tlv::out_err(out, ERR_ARG, "wrong number of arguments"),
        false => tlv::out_err(out, ERR_UNKNOWN, "unknown command"),
    }
}
