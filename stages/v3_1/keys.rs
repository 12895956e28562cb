//! v3.1's key commands: `SCAN`, which walks the keys a few buckets per call, so that a
//! client can list millions of them without holding the server, and `TYPE`; `RENAME`,
//! `RENAMENX` and `TOUCH`; and deadlines as Redis 7 gives them, at a Unix time (`EXPIREAT`,
//! `PEXPIREAT`, `EXPIRETIME`, `PEXPIRETIME`) and on conditions (`NX | XX | GT | LT`). The walk is
//! `HashTable::scan` (`lib/hashtable.rs`), through `Store::scan`, which leaves out the keys
//! whose deadline has passed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::glob;
use crate::resp::{self, Arg};

use crate::server::{Flow, is_option, shown};
use crate::store::{Store, Value};
use crate::strings::{NOT_AN_INTEGER, integer};

const SYNTAX: &str = "ERR syntax error";

/// Past this many buckets in one `SCAN` (a `COUNT` in the thousands), the other clients come
/// first before this client's next request, as after a `KEYS`.
const WALKED_ABOVE: usize = 1000;

/// The name `TYPE` and `SCAN ... TYPE` give a value's kind, as Redis names it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Str(_) => "string",
        Value::ZSet(_) => "zset",
    }
}

/// `TYPE key`: `string`, `zset`, or `none` for a missing key.
pub fn type_of(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let name = store.value_mut(&argv[1]).map_or("none", |value| type_name(value));
    resp::out_simple(out, name);
    Flow::Go
}

// ANCHOR: scan
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`: the cursor to go on from (`0` when
/// the walk is over) and some keys. As Redis does (`scanGenericCommand`), it walks buckets
/// until it has found `COUNT` keys (10 unless told) or walked ten times as many buckets, then
/// leaves out the keys that do not match the pattern or the type: a call can return fewer
/// keys than `COUNT`, or none, with the walk not over. Options are read in order, and the
/// first bad one is the error.
pub fn scan(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let Some(mut cursor) = scan_cursor(&argv[1]) else {
        resp::out_error(out, "ERR invalid cursor");
        return Flow::Go;
    };
    let (mut pattern, mut count, mut kind): (Option<&[u8]>, usize, Option<&[u8]>) =
        (None, 10, None);
    let mut options = argv[2..].chunks(2);
    for option in options.by_ref() {
        let [name, value] = option else { return error(out, SYNTAX) };
        if is_option(name, "count") {
            match integer(value) {
                None => return error(out, NOT_AN_INTEGER),
                Some(n) if n < 1 => return error(out, SYNTAX),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if is_option(name, "match") {
            pattern = Some(value);
        } else if is_option(name, "type") {
            kind = Some(value);
        } else {
            return error(out, SYNTAX);
        }
    }
    // `*` matches every key, the empty one too, which the matcher does not: Redis does not
    // ask it either.
    let pattern = pattern.filter(|pattern| *pattern != b"*");
    let wanted = |key: &[u8], value: &Value| {
        pattern.is_none_or(|pattern| glob::glob_match(pattern, key))
            && kind.is_none_or(|kind| is_option(kind, type_name(value)))
    };
    let (mut keys, mut found, mut buckets) = (Vec::new(), 0, 0);
    loop {
        cursor = store.scan(cursor, |key, value| {
            found += 1;
            if wanted(key, value) {
                keys.push(key.to_vec());
            }
        });
        buckets += 1;
        if cursor == 0 || found >= count || buckets > count.saturating_mul(10) {
            break;
        }
    }
    store.walked |= buckets > WALKED_ABOVE;
    resp::out_array(out, 2);
    resp::out_bulk(out, cursor.to_string().as_bytes());
    resp::out_array(out, keys.len());
    keys.iter().for_each(|key| resp::out_bulk(out, key));
    Flow::Go
}

/// A cursor as Redis reads one, with C's `strtoul`: decimal digits after an optional sign, up
/// to the end of the argument or a NUL byte (where a C string ends), below 2^64; a minus sign
/// wraps round, as C's does (`-1` is 2^64 - 1); and an empty argument is 0. It stops at the
/// first byte that is not a digit, so a long argument costs only its digits.
fn scan_cursor(arg: &[u8]) -> Option<u64> {
    let (negative, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, arg),
    };
    let (mut n, mut read): (u64, usize) = (0, 0);
    for &byte in digits {
        match byte {
            b'0'..=b'9' => n = n.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?,
            0 => break,
            _ => return None,
        }
        read += 1;
    }
    if read == 0 && digits.len() < arg.len() {
        return None; // a sign and no digits
    }
    Some(if negative { n.wrapping_neg() } else { n })
}
// ANCHOR_END: scan

fn error(out: &mut Vec<u8>, msg: &str) -> Flow {
    resp::out_error(out, msg);
    Flow::Go
}

// ANCHOR: expire
/// `EXPIRE key seconds [NX | XX | GT | LT]`.
pub fn expire(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_generic(store, argv, (1000, false, "expire"), out)
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`.
pub fn pexpire(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_generic(store, argv, (1, false, "pexpire"), out)
}

/// `EXPIREAT key unix-seconds [NX | XX | GT | LT]`.
pub fn expireat(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_generic(store, argv, (1000, true, "expireat"), out)
}

/// `PEXPIREAT key unix-milliseconds [NX | XX | GT | LT]`.
pub fn pexpireat(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    expire_generic(store, argv, (1, true, "pexpireat"), out)
}

/// Gives a key a deadline, as Redis's `expireGenericCommand` does: the options first (`NX`,
/// only if it has none; `XX`, only if it has one; `GT` and `LT`, only if later or earlier
/// than the one it has, no deadline counting as later than any), then the time, in `unit`
/// milliseconds from now, or from the Unix epoch if `absolute`. `1` if the deadline was set,
/// `0` if there is no key or an option said no; a time already past deletes the key.
fn expire_generic(
    store: &mut Store,
    argv: &mut [Arg<'_>],
    (unit, absolute, name): (i64, bool, &str),
    out: &mut Vec<u8>,
) -> Flow {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in &argv[3..] {
        match () {
            _ if is_option(option, "nx") => nx = true,
            _ if is_option(option, "xx") => xx = true,
            _ if is_option(option, "gt") => gt = true,
            _ if is_option(option, "lt") => lt = true,
            _ => {
                let msg = [&b"ERR Unsupported option "[..], shown(option, option.len())].concat();
                resp::out_error_bytes(out, &msg);
                return Flow::Go;
            }
        }
    }
    if nx && (xx || gt || lt) {
        return error(out, "ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return error(out, "ERR GT and LT options at the same time are not compatible");
    }
    let Some(n) = integer(&argv[2]) else { return error(out, NOT_AN_INTEGER) };
    let base = if absolute { 0 } else { unix_ms_now() };
    let Some(when) = n.checked_mul(unit).and_then(|ms| ms.checked_add(base)) else {
        return error(out, &format!("ERR invalid expire time in '{name}' command"));
    };
    let key = &argv[1];
    if store.value_mut(key).is_none() {
        resp::out_int(out, 0);
        return Flow::Go;
    }
    let had = store.deadline(key).map(unix_ms_of);
    let allowed = match had {
        Some(had) => !nx && (!gt || when > had) && (!lt || when < had),
        None => !xx && !gt, // no deadline is later than any: `LT` may set one
    };
    if allowed {
        match deadline_at(when) {
            Some(at) => _ = store.set_deadline(key, Some(at)),
            None => _ = store.remove(key), // already past
        }
    }
    resp::out_int(out, i64::from(allowed));
    Flow::Go
}

/// `EXPIRETIME key`: the Unix time, in seconds, at which the key expires, rounded to the
/// nearest as Redis's `ttlGenericCommand` rounds it (and `TTL`); -1 if it has no deadline, -2
/// if there is no key.
pub fn expiretime(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let when = expire_time(store, &argv[1]);
    resp::out_int(out, if when < 0 { when } else { when.saturating_add(500) / 1000 });
    Flow::Go
}

/// `PEXPIRETIME key`: the same, in milliseconds.
pub fn pexpiretime(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_int(out, expire_time(store, &argv[1]));
    Flow::Go
}

fn expire_time(store: &mut Store, key: &[u8]) -> i64 {
    match store.value_mut(key) {
        None => -2,
        Some(_) => store.deadline(key).map_or(-1, unix_ms_of),
    }
}

/// Now, in milliseconds since the Unix epoch.
fn unix_ms_now() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// The Unix time, in milliseconds, of a deadline: the store keeps deadlines on the monotonic
/// clock, which wall-clock changes cannot move, and Redis's commands speak wall-clock time.
fn unix_ms_of(deadline: Instant) -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let ahead = deadline.saturating_duration_since(Instant::now());
    i64::try_from((now + ahead).as_millis()).unwrap_or(i64::MAX)
}

/// The deadline at Unix time `unix_ms`, or `None` if that time has passed (for `SET ...
/// EXAT` too).
pub fn deadline_at(unix_ms: i64) -> Option<Instant> {
    let ahead = u64::try_from(unix_ms.saturating_sub(unix_ms_now())).ok().filter(|&ms| ms > 0)?;
    Some(Instant::now().checked_add(Duration::from_millis(ahead)).unwrap_or(far_off()))
}

/// A deadline further off than any `Instant` can say precisely: a hundred years.
fn far_off() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
// ANCHOR_END: expire

// ANCHOR: rename
/// `RENAME key newkey`: the value and its deadline move to `newkey`, replacing whatever it
/// held; `ERR no such key` if there is no `key`.
pub fn rename(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match move_key(store, &argv[1], &argv[2], false) {
        Some(_) => resp::out_simple(out, "OK"),
        None => resp::out_error(out, "ERR no such key"),
    }
    Flow::Go
}

/// `RENAMENX key newkey`: the same, only if `newkey` does not exist: `1` if it moved, `0` if
/// not (a key renamed to itself included).
pub fn renamenx(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match move_key(store, &argv[1], &argv[2], true) {
        Some(moved) => resp::out_int(out, i64::from(moved)),
        None => resp::out_error(out, "ERR no such key"),
    }
    Flow::Go
}

/// Moves `from` to `to`: `None` if there is no `from`, else whether it moved (not onto
/// itself, nor, if `keep`, onto a key that exists).
fn move_key(store: &mut Store, from: &[u8], to: &[u8], keep: bool) -> Option<bool> {
    store.value_mut(from)?;
    if from == to || (keep && store.value_mut(to).is_some()) {
        return Some(false);
    }
    let (value, deadline) = store.take(from)?;
    store.insert(to, value);
    if deadline.is_some() {
        store.set_deadline(to, deadline);
    }
    Some(true)
}
// ANCHOR_END: rename

/// `TOUCH key [key ...]`: how many of them exist (a key named twice counts twice). Redis
/// also marks each as just used, for eviction, which v3.1 does not do.
pub fn touch(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let found = argv[1..].iter().filter(|key| store.value_mut(key).is_some()).count();
    resp::out_int(out, found as i64);
    Flow::Go
}
