//! The v1.3 server: v1.2's, with a key's value now a string or a sorted set, and the sorted-set
//! commands (`sorted.rs`) beside the string ones.
//!
//! Compared with v1.2 (`diff stages/v1_2/server.rs stages/v1_3/server.rs`): the table holds a
//! `Value`, every command checks the kind of value it finds (`ERR 3` when it is the wrong one),
//! and `run` has four more arms.

use std::io;

use crate::cli::{Help, ServerOpts};
use crate::event_loop::{self, Service};
use crate::hashtable::HashTable;
use crate::outln;
use crate::request::Request;
use crate::tlv::{self, ERR_ARG, ERR_TYPE, ERR_UNKNOWN};
use crate::zset::ZSet;

use crate::sorted;

pub const HELP: Help = Help {
    serves: "listen and answer get, set, del, keys, zadd, zrem, zscore and zquery",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: crate::cli::DEFAULT_ADDR,
};

/// The largest request or reply body, as in v1.0: 32 MiB.
pub const K_MAX_MSG: usize = 32 << 20;

// ANCHOR: value
/// What a key holds.
pub enum Value {
    Str(Vec<u8>),
    /// Boxed: a sorted set is two structures (about 200 bytes), a string's `Vec` 24 bytes,
    /// and every value in the table is as big as the biggest kind.
    ZSet(Box<ZSet>),
}
// ANCHOR_END: value

/// The store: keys are bytes, values strings or sorted sets, in v1.1's table.
pub struct Store {
    keys: HashTable<Value>,
    quiet: bool,
    /// Set by a command that took long (walked the whole table, or listed many members), for
    /// `should_yield`.
    pub walked: bool,
}

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let mut store = Store { keys: HashTable::new(), quiet: opts.quiet, walked: false };
    event_loop::serve(opts, &mut store)
}

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
}

/// Every command this stage knows.
const COMMANDS: [&str; 8] = ["get", "set", "del", "keys", "zadd", "zrem", "zscore", "zquery"];

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
            _ => misused(request, &COMMANDS, out),
        }
    }
    // ANCHOR_END: run

    /// Every key, as an array of strings, in the table's order. The count is patched in at the
    /// end. A key that would take the reply past the frame limit makes it `ERR 2` at once:
    /// building the rest would only cost memory. Walking the table takes a while when it is
    /// big, so the loop is asked to serve the other clients before this one's next request.
    fn keys(&mut self, out: &mut Vec<u8>) {
        self.walked = true;
        let start = out.len();
        let array = tlv::out_begin_arr(out);
        let mut count = 0;
        for (key, _) in self.keys.iter() {
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
    /// Overwrites a string in place, as v1.0 does. Whatever else the key held, a sorted set
    /// included, is replaced, as Redis's `SET` replaces any value.
    fn set(&mut self, key: &[u8], value: &[u8]) {
        match self.keys.get_mut(key) {
            Some(Value::Str(old)) => {
                old.clear();
                old.extend_from_slice(value);
                old.shrink_to(2 * value.len());
            }
            _ => _ = self.keys.insert(key, Value::Str(value.to_vec())),
        }
    }
    // ANCHOR_END: set

    // ANCHOR: access
    /// The value of `key`, to read or change in place. The sorted-set commands reach the keys
    /// through these three alone.
    pub fn value_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.keys.get_mut(key)
    }

    /// Gives `key` the value `value`, replacing any it had.
    pub fn insert(&mut self, key: &[u8], value: Value) {
        self.keys.insert(key, value);
    }

    /// Deletes `key`: true if it was there.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.keys.remove(key).is_some()
    }
    // ANCHOR_END: access
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
