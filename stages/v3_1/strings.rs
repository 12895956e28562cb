//! v3.0's string and key commands, with Redis's replies and error texts: `GET`, `SET` (with
//! `EX`/`PX` and `NX`/`XX`), `DEL` and `UNLINK`, `EXISTS`, `INCR`/`DECR`/`INCRBY`, `KEYS`
//! (with a glob pattern), `DBSIZE`, `FLUSHALL` and `FLUSHDB`, and the deadlines: `EXPIRE`, `PEXPIRE`,
//! `TTL`, `PTTL`, `PERSIST`. Each runs on v2.0's store.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::glob;
use crate::resp::{self, Arg};

use crate::server::{Flow, is_option};
use crate::store::{LAZYFREE_STRING_ABOVE, Store, Str, Value};

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// An integer argument, as Redis reads one: the whole argument, decimal, in range, with no `+`
/// and no leading zeros.
pub fn integer(arg: &[u8]) -> Option<i64> {
    resp::decimal(arg)
}

// ANCHOR: deadline
/// The deadline `ms` milliseconds from now, or `None` where Redis refuses it as an invalid
/// expire time: when now, as Unix milliseconds, plus `ms` would not fit an `i64` (the form
/// Redis stores a deadline in). Anything closer fits an `Instant` too.
fn deadline_in(ms: i64) -> Option<Instant> {
    let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let unix_ms = i64::try_from(unix_ms).ok()?;
    unix_ms.checked_add(ms)?;
    Instant::now().checked_add(Duration::from_millis(u64::try_from(ms).ok()?))
}
// ANCHOR_END: deadline

// ANCHOR: get
/// `GET key`: the string, or a null bulk string. A big string is shared with the connection,
/// not copied (see `Outgoing` in `event_loop.rs`).
pub fn get(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match store.value_mut(&argv[1]) {
        Some(Value::Str(value)) if value.len() > LAZYFREE_STRING_ABOVE => {
            return Flow::Shared(value.share());
        }
        Some(Value::Str(value)) => resp::out_bulk(out, value),
        Some(Value::ZSet(_)) => resp::out_error(out, WRONGTYPE),
        None => resp::out_null(out),
    }
    Flow::Go
}
// ANCHOR_END: get

// ANCHOR: set
/// `SET key value [EX seconds | PX milliseconds] [NX | XX]`: `+OK`, or a null reply when `NX`
/// or `XX` says not to. (`KEEPTTL`, `GET` and the rest of Redis's options are syntax errors
/// here.) The options are read as Redis 7 reads them (`parseExtendedStringArgumentsOrReply`):
/// all of them first, so that a bad option is a syntax error whatever came before it; an
/// option may come again, and the last one counts (`EX 10 EX 20` is 20 seconds), but `EX`
/// with `PX`, or `NX` with `XX`, is a syntax error. Only then is the deadline's number read,
/// and only then the key looked at: nothing changes unless every argument is good.
pub fn set(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let [_, key, value, options @ ..] = argv else { return error(out, SYNTAX) };
    let (mut nx, mut xx) = (false, false);
    // The deadline's argument, and its unit in milliseconds: 1000 for `EX`, 1 for `PX`.
    let mut expire: Option<(&[u8], i64)> = None;
    let mut j = 0;
    while j < options.len() {
        let is = |name: &str| is_option(&options[j], name);
        let next = options.get(j + 1).map(|n| &**n);
        let unit = expire.map(|(_, unit)| unit);
        match next {
            _ if is("nx") && !xx => nx = true,
            _ if is("xx") && !nx => xx = true,
            Some(n) if is("ex") && unit != Some(1) => (expire, j) = (Some((n, 1000)), j + 1),
            Some(n) if is("px") && unit != Some(1000) => (expire, j) = (Some((n, 1)), j + 1),
            _ => return error(out, SYNTAX),
        }
        j += 1;
    }
    let mut ttl = None;
    if let Some((n, unit)) = expire {
        let Some(n) = integer(n) else { return error(out, NOT_AN_INTEGER) };
        match n.checked_mul(unit).filter(|&ms| ms > 0).and_then(deadline_in) {
            Some(deadline) => ttl = Some(deadline),
            None => return error(out, "ERR invalid expire time in 'set' command"),
        }
    }
    let exists = store.value_mut(key).is_some();
    if (nx && exists) || (xx && !exists) {
        resp::out_null(out);
        return Flow::Go;
    }
    // A big value arrived in a buffer of its own: that buffer becomes the value, uncopied.
    match std::mem::take(value) {
        Arg::Owned(value) => store.insert(key, Value::Str(Str::Own(value))),
        Arg::Borrowed(value) => store.set(key, value),
    }
    if ttl.is_some() {
        store.set_deadline(key, ttl);
    }
    resp::out_simple(out, "OK");
    Flow::Go
}
// ANCHOR_END: set

/// `DEL key [key ...]` and `UNLINK key [key ...]`: how many were there. Both free a big
/// value off the loop, as Redis's `UNLINK` does (and its `DEL` with `lazyfree-lazy-user-del`).
pub fn del(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let deleted = argv[1..].iter().filter(|key| store.remove(key)).count();
    resp::out_int(out, deleted as i64);
    Flow::Go
}

/// `EXISTS key [key ...]`: how many of them exist (a key named twice counts twice).
pub fn exists(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let found = argv[1..].iter().filter(|key| store.value_mut(key).is_some()).count();
    resp::out_int(out, found as i64);
    Flow::Go
}

pub fn incr(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    incr_by(store, &argv[1], 1, out)
}

pub fn decr(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    incr_by(store, &argv[1], -1, out)
}

pub fn incrby(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match integer(&argv[2]) {
        Some(delta) => incr_by(store, &argv[1], delta, out),
        None => error(out, NOT_AN_INTEGER),
    }
}

// ANCHOR: incr
/// Adds `delta` to the number a string holds, in place (its deadline, if any, stays), or
/// makes the key with `delta` if it is missing. The number is kept as its digits, as the
/// client sent them: Redis keeps small integers as integers (`OBJ_ENCODING_INT`), a saving
/// this stage leaves out.
fn incr_by(store: &mut Store, key: &[u8], delta: i64, out: &mut Vec<u8>) -> Flow {
    match store.value_mut(key) {
        Some(Value::Str(digits)) => {
            let Some(n) = integer(digits) else { return error(out, NOT_AN_INTEGER) };
            let Some(n) = n.checked_add(delta) else {
                return error(out, "ERR increment or decrement would overflow");
            };
            let digits = digits.to_mut();
            digits.clear();
            let _ = write!(digits, "{n}"); // writing to a Vec cannot fail
            resp::out_int(out, n);
        }
        Some(Value::ZSet(_)) => resp::out_error(out, WRONGTYPE),
        None => {
            store.insert(key, Value::Str(Str::Own(delta.to_string().into_bytes())));
            resp::out_int(out, delta);
        }
    }
    Flow::Go
}
// ANCHOR_END: incr

/// `KEYS pattern`: every key that matches the glob pattern (`*`, `?`, `[a-z]`, `\`).
pub fn keys(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let pattern = &argv[1];
    let array = resp::begin_array(out);
    let mut count = 0;
    // `*` is every key, the empty one included, which the matcher (as Redis's) does not
    // match: Redis lists every key for `*` without asking it, and so does this.
    let every = **pattern == *b"*";
    for key in store.live_keys().filter(|key| every || glob::glob_match(pattern, key)) {
        resp::out_bulk(out, key);
        count += 1;
    }
    resp::end_array(out, array, count);
    Flow::Go
}

/// `DBSIZE`: how many keys (counting expired ones not yet deleted, as Redis does).
pub fn dbsize(store: &mut Store, _: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_int(out, store.len() as i64);
    Flow::Go
}

// ANCHOR: flushall
/// `FLUSHALL [ASYNC | SYNC]` and `FLUSHDB [ASYNC | SYNC]` (one database: the same thing):
/// deletes every key. `SYNC`, or no mode, frees everything before the reply, as Redis does
/// unless configured otherwise; `ASYNC` empties the keyspace at once and frees what it held
/// on the `lazyfree` thread, as Redis's does.
pub fn flushall(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match argv {
        [_] => store.clear(),
        [_, mode] if is_option(mode, "sync") => store.clear(),
        [_, mode] if is_option(mode, "async") => store.clear_async(),
        _ => return error(out, SYNTAX),
    }
    resp::out_simple(out, "OK");
    Flow::Go
}
// ANCHOR_END: flushall

// ANCHOR: expire
/// `EXPIRE key seconds`: see [`expire_in`].
pub fn expire(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_in(store, argv, 1000, out)
}

/// `PEXPIRE key milliseconds`: see [`expire_in`].
pub fn pexpire(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_in(store, argv, 1, out)
}

/// Gives a key a deadline `&argv[2]` units of `unit_ms` from now: `(integer) 1` if the key
/// exists, 0 if not. A deadline that is not in the future deletes the key at once, as in
/// Redis (v2.0, following the original, took a negative time to mean "no deadline"; Redis
/// has `PERSIST` for that).
fn expire_in(store: &mut Store, argv: &mut [Arg<'_>], unit_ms: i64, out: &mut Vec<u8>) -> Flow {
    let (key, name) = (&argv[1], if unit_ms == 1 { "pexpire" } else { "expire" });
    let Some(n) = integer(&argv[2]) else { return error(out, NOT_AN_INTEGER) };
    let Some(ms) = n.checked_mul(unit_ms) else {
        return error(out, &format!("ERR invalid expire time in '{name}' command"));
    };
    let found = match ms {
        ms if ms > 0 => match deadline_in(ms) {
            Some(deadline) => store.set_deadline(key, Some(deadline)),
            None => return error(out, &format!("ERR invalid expire time in '{name}' command")),
        },
        _ => store.remove(key),
    };
    resp::out_int(out, i64::from(found));
    Flow::Go
}
// ANCHOR_END: expire

/// `TTL key`: seconds left, rounded to the nearest, as Redis does; -1 without a deadline, -2
/// without a key.
pub fn ttl(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let left = time_left_ms(store, &argv[1]);
    resp::out_int(out, if left < 0 { left } else { left.saturating_add(500) / 1000 });
    Flow::Go
}

/// `PTTL key`: milliseconds left; -1 without a deadline, -2 without a key.
pub fn pttl(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let left = time_left_ms(store, &argv[1]);
    resp::out_int(out, left);
    Flow::Go
}

fn time_left_ms(store: &mut Store, key: &[u8]) -> i64 {
    match store.time_left(key) {
        None => -2,
        Some(None) => -1,
        // Rounded up, as Redis's whole-millisecond clock would count it: `PTTL` straight after
        // `PX 1500` is 1500, not 1499.
        Some(Some(left)) => i64::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i64::MAX),
    }
}

/// `PERSIST key`: removes its deadline: `(integer) 1` if it had one.
pub fn persist(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let had = matches!(store.time_left(&argv[1]), Some(Some(_)));
    if had {
        store.set_deadline(&argv[1], None);
    }
    resp::out_int(out, i64::from(had));
    Flow::Go
}

/// Writes an error reply; for `return error(out, ...)` in the middle of a command.
pub fn error(out: &mut Vec<u8>, msg: &str) -> Flow {
    resp::out_error(out, msg);
    Flow::Go
}
