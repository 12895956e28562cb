//! v3.1's string and key commands, with Redis's replies and error texts: v3.0's (`GET`,
//! `SET`, `DEL` and `UNLINK`, `EXISTS`, `INCR`/`DECR`/`INCRBY`, `KEYS`, `DBSIZE`, `FLUSHALL`
//! and `FLUSHDB`, `TTL`, `PTTL`, `PERSIST`; `EXPIRE` and `PEXPIRE` moved to `keys.rs`),
//! `SET`'s other options (`GET`, `KEEPTTL`, `EXAT`, `PXAT`), and the string commands
//! applications use besides: `MGET`, `MSET`, `MSETNX`, `SETNX`, `SETEX`, `PSETEX`, `GETSET`,
//! `GETDEL`, `APPEND`, `STRLEN`, `DECRBY`. Each runs on v2.0's store.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::glob;
use crate::keys;
use crate::resp::{self, Arg};

use crate::server::{Flow, is_option};
use crate::store::{LAZYFREE_STRING_ABOVE, Store, Str, Value};

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_AN_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// The longest string, as Redis's `proto-max-bulk-len` (512 MB) bounds it.
const MAX_STRING: usize = 512 << 20;

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
/// When a `SET` puts its key's deadline: in so many units from now (`EX`, `PX`), at a Unix
/// time in units (`EXAT`, `PXAT`), each unit so many milliseconds; or where it was
/// (`KEEPTTL`).
#[derive(Clone, Copy, PartialEq)]
enum Expiry {
    In(i64),
    At(i64),
    Keep,
}

/// `SET`'s options that give a deadline and take a number.
const TIMED: [(&str, Expiry); 4] = [
    ("ex", Expiry::In(1000)),
    ("px", Expiry::In(1)),
    ("exat", Expiry::At(1000)),
    ("pxat", Expiry::At(1)),
];

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-seconds |
/// PXAT unix-milliseconds | KEEPTTL]`: `+OK`, or a null reply when `NX` or `XX` says not to;
/// with `GET`, the value the key had instead (a null reply for none). The options are read as
/// Redis 7 reads them (`parseExtendedStringArgumentsOrReply`): all of them first, so that a
/// bad option is a syntax error whatever came before it; an option may come again, and the
/// last one counts (`EX 10 EX 20` is 20 seconds), but two ways of giving a deadline, or `NX`
/// with `XX`, are a syntax error. Only then is the deadline's number read, then the old value
/// (`GET` of a sorted set is `WRONGTYPE`, and sets nothing): nothing changes unless every
/// argument is good. A deadline at a time already past sets the key and deletes it.
pub fn set(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let [_, key, value, options @ ..] = argv else { return error(out, SYNTAX) };
    let (mut nx, mut xx, mut get) = (false, false, false);
    let mut expire: Option<(&[u8], Expiry)> = None;
    let mut j = 0;
    while j < options.len() {
        let is = |name: &str| is_option(&options[j], name);
        let next = options.get(j + 1).map(|n| &**n);
        let was = expire.map(|(_, kind)| kind);
        let may = |kind: Expiry| was.is_none_or(|was| was == kind);
        match next {
            _ if is("nx") && !xx => nx = true,
            _ if is("xx") && !nx => xx = true,
            _ if is("get") => get = true,
            _ if is("keepttl") && may(Expiry::Keep) => expire = Some((b"", Expiry::Keep)),
            Some(n) => match TIMED.iter().find(|&&(name, kind)| is(name) && may(kind)) {
                Some(&(_, kind)) => (expire, j) = (Some((n, kind)), j + 1),
                None => return error(out, SYNTAX),
            },
            None => return error(out, SYNTAX),
        }
        j += 1;
    }
    // `Some(None)`: a deadline already past.
    let mut deadline: Option<Option<Instant>> = None;
    if let Some((n, kind)) = expire.filter(|(_, kind)| *kind != Expiry::Keep) {
        let Some(n) = integer(n) else { return error(out, NOT_AN_INTEGER) };
        let unit = match kind {
            Expiry::In(unit) | Expiry::At(unit) => unit,
            Expiry::Keep => 1,
        };
        deadline = match (kind, n.checked_mul(unit).filter(|&ms| ms > 0)) {
            (Expiry::In(_), Some(ms)) => deadline_in(ms).map(Some),
            (_, Some(ms)) => Some(keys::deadline_at(ms)), // `Some(None)`: already past
            (_, None) => None,
        };
        if deadline.is_none() {
            return error(out, "ERR invalid expire time in 'set' command");
        }
    }
    let mut flow = Flow::Go;
    if get {
        match old_value(store, key, out) {
            Some(old) => flow = old,
            None => return Flow::Go, // WRONGTYPE, said
        }
    }
    let exists = store.value_mut(key).is_some();
    if (nx && exists) || (xx && !exists) {
        if !get {
            resp::out_null(out);
        }
        return flow;
    }
    let kept = match expire {
        Some((_, Expiry::Keep)) => store.deadline(key),
        _ => None,
    };
    // A big value arrived in a buffer of its own: that buffer becomes the value, uncopied.
    match std::mem::take(value) {
        Arg::Owned(value) => store.insert(key, Value::Str(Str::Own(value))),
        Arg::Borrowed(value) => store.set(key, value),
    }
    match deadline.unwrap_or(kept) {
        Some(at) => _ = store.set_deadline(key, Some(at)),
        None if deadline.is_some() => _ = store.remove(key), // already past
        None => {}
    }
    if !get {
        resp::out_simple(out, "OK");
    }
    flow
}
// ANCHOR_END: set

/// Writes the string `key` holds as a reply (a big one shared, not copied: the flow says
/// so), or a null reply; `None` after a `WRONGTYPE` reply for any other kind of value.
fn old_value(store: &mut Store, key: &[u8], out: &mut Vec<u8>) -> Option<Flow> {
    match store.value_mut(key) {
        Some(Value::Str(old)) if old.len() > LAZYFREE_STRING_ABOVE => {
            return Some(Flow::Shared(old.share()));
        }
        Some(Value::Str(old)) => resp::out_bulk(out, old),
        Some(Value::ZSet(_)) => {
            resp::out_error(out, WRONGTYPE);
            return None;
        }
        None => resp::out_null(out),
    }
    Some(Flow::Go)
}

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

// ANCHOR: more
/// `DECRBY key decrement`: `INCRBY` of its negation, which for the most negative integer
/// does not exist (Redis's words for that).
pub fn decrby(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match integer(&argv[2]).map(i64::checked_neg) {
        Some(Some(delta)) => incr_by(store, &argv[1], delta, out),
        Some(None) => error(out, "ERR decrement would overflow"),
        None => error(out, NOT_AN_INTEGER),
    }
}

/// `MGET key [key ...]`: each key's string, or a null reply for a missing key and for one
/// that holds another kind of value (no `WRONGTYPE` here, as in Redis).
pub fn mget(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    resp::out_array(out, argv.len() - 1);
    for key in &argv[1..] {
        match store.value_mut(key) {
            Some(Value::Str(value)) => resp::out_bulk(out, value),
            _ => resp::out_null(out),
        }
    }
    Flow::Go
}

/// `MSET key value [key value ...]`: sets them all, each as `SET` would (its deadline gone).
pub fn mset(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    if argv.len().is_multiple_of(2) {
        return error(out, "ERR wrong number of arguments for 'mset' command");
    }
    set_pairs(store, &mut argv[1..]);
    resp::out_simple(out, "OK");
    Flow::Go
}

/// `MSETNX key value [key value ...]`: sets them all if none of the keys exists, `1`; else
/// sets none, `0`.
pub fn msetnx(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    if argv.len().is_multiple_of(2) {
        return error(out, "ERR wrong number of arguments for 'msetnx' command");
    }
    let any = argv[1..].iter().step_by(2).any(|key| store.value_mut(key).is_some());
    if !any {
        set_pairs(store, &mut argv[1..]);
    }
    resp::out_int(out, i64::from(!any));
    Flow::Go
}

/// Sets each key of `pairs` (key, value, key, value...) as `SET` does, a big value's own
/// buffer kept as it arrived.
fn set_pairs(store: &mut Store, pairs: &mut [Arg<'_>]) {
    for pair in pairs.chunks_mut(2) {
        if let [key, value] = pair {
            match std::mem::take(value) {
                Arg::Owned(value) => store.insert(key, Value::Str(Str::Own(value))),
                Arg::Borrowed(value) => store.set(key, value),
            }
        }
    }
}

/// `SETNX key value`: `SET key value NX`, answered `1` if it set the key, `0` if not.
pub fn setnx(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let set = store.value_mut(&argv[1]).is_none();
    if set {
        set_pairs(store, &mut argv[1..]);
    }
    resp::out_int(out, i64::from(set));
    Flow::Go
}

/// `SETEX key seconds value`: see [`set_expiring`].
pub fn setex(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    set_expiring(store, argv, 1000, out)
}

/// `PSETEX key milliseconds value`: see [`set_expiring`].
pub fn psetex(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    set_expiring(store, argv, 1, out)
}

/// `SET key value EX|PX n`, in the older form of its own, whose time comes before the value
/// and must be above 0.
fn set_expiring(store: &mut Store, argv: &mut [Arg<'_>], unit: i64, out: &mut Vec<u8>) -> Flow {
    let name = if unit == 1 { "psetex" } else { "setex" };
    let Some(n) = integer(&argv[2]) else { return error(out, NOT_AN_INTEGER) };
    let Some(deadline) = n.checked_mul(unit).filter(|&ms| ms > 0).and_then(deadline_in) else {
        return error(out, &format!("ERR invalid expire time in '{name}' command"));
    };
    argv.swap(2, 3); // key, value, time: the pair `set_pairs` takes
    set_pairs(store, &mut argv[1..3]);
    store.set_deadline(&argv[1], Some(deadline));
    resp::out_simple(out, "OK");
    Flow::Go
}

/// `GETSET key value`: `SET key value GET`.
pub fn getset(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let Some(flow) = old_value(store, &argv[1], out) else { return Flow::Go };
    set_pairs(store, &mut argv[1..]);
    flow
}

/// `GETDEL key`: the string, then the key deleted; a null reply for no key, and `WRONGTYPE`
/// (the key kept) for another kind of value.
pub fn getdel(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let flow = old_value(store, &argv[1], out);
    if flow.is_some() {
        store.remove(&argv[1]);
    }
    flow.unwrap_or(Flow::Go)
}

/// `APPEND key value`: the string's new length, the key made if it was missing. Appended in
/// place (copied first if a connection is still sending the old bytes: `Str::to_mut`).
pub fn append(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let (key, tail) = (&argv[1], &argv[2]);
    let len = match store.value_mut(key) {
        Some(Value::Str(value)) if value.len() + tail.len() > MAX_STRING => {
            return error(out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        }
        Some(Value::Str(value)) => {
            let value = value.to_mut();
            value.extend_from_slice(tail);
            value.len()
        }
        Some(Value::ZSet(_)) => return error(out, WRONGTYPE),
        None => {
            let len = tail.len();
            set_pairs(store, &mut argv[1..]);
            len
        }
    };
    resp::out_int(out, len as i64);
    Flow::Go
}

/// `STRLEN key`: the string's length in bytes, 0 for no key.
pub fn strlen(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match store.value_mut(&argv[1]) {
        Some(Value::Str(value)) => resp::out_int(out, value.len() as i64),
        Some(Value::ZSet(_)) => resp::out_error(out, WRONGTYPE),
        None => resp::out_int(out, 0),
    }
    Flow::Go
}
// ANCHOR_END: more

/// Writes an error reply; for `return error(out, ...)` in the middle of a command.
pub fn error(out: &mut Vec<u8>, msg: &str) -> Flow {
    resp::out_error(out, msg);
    Flow::Go
}
