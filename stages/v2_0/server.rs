//! The v2.0 server: v1.3's commands, with time. A key may have a deadline (`pexpire`,
//! `pttl`); an expired key is never returned, whether or not the loop has got round to
//! deleting it; and a big sorted set is freed on another thread. The keys, values and
//! deadlines live in `src/store.rs`.
//!
//! Compared with v1.3 (`diff stages/v1_3/server.rs stages/v2_0/server.rs`): the store is a
//! module of its own, shared code in `src/store.rs`; the store has timed work for the loop to run; and
//! `run` has two more arms.

use std::io;
use std::time::{Duration, Instant};

use crate::cli::{Help, ServerOpts};
use crate::event_loop::{self, Service};
use crate::outln;
use crate::request::Request;
use crate::tlv::{self, ERR_ARG, ERR_TYPE, ERR_UNKNOWN};

use crate::sorted;
// Where v1.3's sorted-set commands, compiled into this stage, look for them.
use crate::store;
pub use crate::store::{Store, Value};

pub const HELP: Help = Help {
    serves: "listen and answer get, set, del, keys, zadd, zrem, zscore, zquery, pexpire and pttl",
    client_args: "[COMMAND...]",
    client_does: "connect, send the COMMAND (or each line of standard input), print each reply",
    addr: crate::cli::DEFAULT_ADDR,
    idle_timeout: Some(crate::cli::DEFAULT_IDLE_TIMEOUT),
};

/// The largest request or reply body, as in v1.0: 32 MiB.
pub const K_MAX_MSG: usize = 32 << 20;

pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    event_loop::serve(opts, &mut Store::new(opts.quiet)?)
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
        run(self, request, out);
        tlv::end_reply(out, reply, K_MAX_MSG);
        Ok(())
    }

    // The timers, the yielding after a `keys` and the `lazyfree` thread's asks: see `src/store.rs`.
    store::loop_hooks!();
}
// ANCHOR_END: service

/// Every command this stage knows.
const COMMANDS: [&str; 10] =
    ["get", "set", "del", "keys", "zadd", "zrem", "zscore", "zquery", "pexpire", "pttl"];

// ANCHOR: run
/// Runs one command, appending its reply value to `out`. Each arm is a command's name and
/// shape; anything else is an unknown command, or a known one misused.
fn run(store: &mut Store, request: Request<'_>, out: &mut Vec<u8>) {
    let mut slots = [&[][..]; 6];
    match request.args_in(&mut slots) {
        Some([name, key]) if is(name, "get") => match store.value_mut(key) {
            Some(Value::Str(value)) => tlv::out_str(out, value),
            Some(Value::ZSet(_)) => tlv::out_err(out, ERR_TYPE, "not a string value"),
            None => tlv::out_nil(out),
        },
        Some([name, key, value]) if is(name, "set") => {
            store.set(key, value);
            tlv::out_nil(out);
        }
        Some([name, key]) if is(name, "del") => {
            let deleted = store.remove(key);
            tlv::out_int(out, i64::from(deleted));
        }
        Some([name]) if is(name, "keys") => keys(store, out),
        Some([name, key, score, member]) if is(name, "zadd") => {
            sorted::zadd(store, key, score, member, out);
        }
        Some([name, key, member]) if is(name, "zrem") => sorted::zrem(store, key, member, out),
        Some([name, key, member]) if is(name, "zscore") => sorted::zscore(store, key, member, out),
        Some([name, key, score, member, offset, limit]) if is(name, "zquery") => {
            sorted::zquery(store, key, [score, member, offset, limit], out);
        }
        Some([name, key, ms]) if is(name, "pexpire") => pexpire(store, key, ms, out),
        Some([name, key]) if is(name, "pttl") => pttl(store, key, out),
        _ => misused(request, &COMMANDS, out),
    }
}
// ANCHOR_END: run

/// Every key not past its deadline, as an array of strings. A key that would take the reply
/// past the frame limit makes it `ERR 2` at once.
fn keys(store: &mut Store, out: &mut Vec<u8>) {
    let start = out.len();
    let array = tlv::out_begin_arr(out);
    let mut count = 0;
    for key in store.live_keys() {
        // The reply so far, and this key as a string value: 1 byte of tag, 4 of length.
        if out.len() - start + 5 + key.len() > K_MAX_MSG {
            return tlv::out_too_big(out, start, K_MAX_MSG);
        }
        tlv::out_str(out, key);
        count += 1;
    }
    tlv::out_end_arr(out, array, count);
}

// ANCHOR: ttl_commands
/// `pexpire key ms`: `(int) 1` if the key exists (its deadline is now `ms` from now; a
/// negative `ms` removes it), 0 if not.
fn pexpire(store: &mut Store, key: &[u8], ms: &[u8], out: &mut Vec<u8>) {
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
    let found = store.set_deadline(key, deadline);
    tlv::out_int(out, i64::from(found));
}

/// `pttl key`: the milliseconds left, rounded up (a key that has any time left has at
/// least 1); -1 if the key has no deadline; -2 if there is no such key.
fn pttl(store: &mut Store, key: &[u8], out: &mut Vec<u8>) {
    let ttl = match store.time_left(key) {
        None => -2,
        Some(None) => -1,
        Some(Some(left)) => i64::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i64::MAX),
    };
    tlv::out_int(out, ttl);
}
// ANCHOR_END: ttl_commands

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
