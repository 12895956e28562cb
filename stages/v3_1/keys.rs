//! v3.1's commands over the keyspace as a whole: `SCAN`, which walks the keys a few buckets
//! per call, so that a client can list millions of them without holding the server, and
//! `TYPE`. The walk is `HashTable::scan` (`src/hashtable.rs`), through `Store::scan`, which
//! leaves out the keys whose deadline has passed.

use crate::glob;
use crate::resp::{self, Arg};

use crate::server::{Flow, is_option};
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
