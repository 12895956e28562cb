//! v3.0's sorted-set commands, Redis's: `ZADD` (any number of pairs), `ZREM`, `ZSCORE`,
//! `ZCARD`, `ZRANK`, `ZRANGE` by rank and `ZRANGEBYSCORE` by score, with `(` for an exclusive
//! bound, `-inf` and `+inf`, and `LIMIT offset count`, whose offset is reached through the
//! tree's subtree sizes in O(log n) rather than one member at a time. Scores and bounds are
//! read as Redis reads them (`float.rs`), and each command's options before its values.
//!
//! The options Redis added later (`ZADD NX|XX|GT|LT|CH|INCR`, `ZRANGE ... BYSCORE|REV`) are
//! left out: each is a few lines on what is here, and exercises in the book.

use crate::avl::NodeId;
use crate::resp::{self, Arg};
use crate::zset::ZSet;

use crate::float::{bound, score};
use crate::server::{Flow, is_option};
use crate::store::{Store, Value};
use crate::strings::{NOT_AN_INTEGER, WRONGTYPE, error, integer};

const NOT_A_FLOAT: &str = "ERR value is not a valid float";

/// The sorted set at `key`: `Ok(None)` if there is no key, `Err(())` if it holds a string.
fn zset_at<'s>(store: &'s mut Store, key: &[u8]) -> Result<Option<&'s mut ZSet>, ()> {
    match store.value_mut(key) {
        Some(Value::ZSet(zset)) => Ok(Some(zset)),
        Some(Value::Str(_)) => Err(()),
        None => Ok(None),
    }
}

// ANCHOR: zadd
/// `ZADD key score member [score member ...]`: how many members were new. Every score is
/// checked before anything is added.
pub fn zadd(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let pairs = &argv[2..];
    if !pairs.len().is_multiple_of(2) {
        return error(out, "ERR syntax error");
    }
    if pairs.chunks(2).any(|pair| score(&pair[0]).is_none()) {
        return error(out, NOT_A_FLOAT);
    }
    let added = match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => add_pairs(zset, pairs),
        Ok(None) => {
            let mut zset = Box::new(ZSet::keyed());
            let added = add_pairs(&mut zset, pairs);
            store.insert(&argv[1], Value::ZSet(zset));
            added
        }
        Err(()) => return error(out, WRONGTYPE),
    };
    resp::out_int(out, added as i64);
    Flow::Go
}

/// Adds each (score, member) pair, already checked: how many members were new.
fn add_pairs(zset: &mut ZSet, pairs: &[Arg<'_>]) -> usize {
    let added = pairs.chunks(2).filter_map(|pair| Some(zset.add(&pair[1], score(&pair[0])?)));
    added.filter(|&new| new).count()
}
// ANCHOR_END: zadd

/// `ZREM key member [member ...]`: how many were there. A set left empty is deleted.
pub fn zrem(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let (removed, empty) = match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => {
            let removed = argv[2..].iter().filter(|member| zset.remove(member)).count();
            (removed, zset.is_empty())
        }
        Ok(None) => (0, false),
        Err(()) => return error(out, WRONGTYPE),
    };
    if empty {
        store.remove(&argv[1]);
    }
    resp::out_int(out, removed as i64);
    Flow::Go
}

/// `ZSCORE key member`: the score, as a bulk string, or null.
pub fn zscore(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => match zset.score(&argv[2]) {
            Some(score) => resp::out_double(out, score),
            None => resp::out_null(out),
        },
        Ok(None) => resp::out_null(out),
        Err(()) => resp::out_error(out, WRONGTYPE),
    }
    Flow::Go
}

/// `ZCARD key`: how many members.
pub fn zcard(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match zset_at(store, &argv[1]) {
        Ok(zset) => resp::out_int(out, zset.map_or(0, |zset| zset.len()) as i64),
        Err(()) => resp::out_error(out, WRONGTYPE),
    }
    Flow::Go
}

/// `ZRANK key member`: how many members come before it, in O(log n); null if it is not there.
pub fn zrank(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => match zset.find(&argv[2]) {
            Some(id) => resp::out_int(out, zset.rank(id) as i64),
            None => resp::out_null(out),
        },
        Ok(None) => resp::out_null(out),
        Err(()) => resp::out_error(out, WRONGTYPE),
    }
    Flow::Go
}

/// `ZRANGE key start stop [WITHSCORES]`: the members with ranks from `start` to `stop`, both
/// included; negative ranks count from the end (-1 is the last). As in Redis, the options
/// are read before the ranks, and the ranks before the key is looked at. (Redis 6.2 added
/// `BYSCORE`, `BYLEX`, `REV` and `LIMIT` to `ZRANGE`; v3.0 reads `LIMIT` only to refuse it
/// in Redis's words, as Redis does without `BYSCORE` or `BYLEX`, and the rest are syntax
/// errors here.)
pub fn zrange(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let (with_scores, limit) = match range_options(&argv[4..]) {
        Ok(options) => options,
        Err(msg) => return error(out, msg),
    };
    if limit.is_some_and(|(_, count)| count != -1) {
        let msg = "ERR syntax error, LIMIT is only supported in combination with either \
                   BYSCORE or BYLEX";
        return error(out, msg);
    }
    let (Some(start), Some(stop)) = (integer(&argv[2]), integer(&argv[3])) else {
        return error(out, NOT_AN_INTEGER);
    };
    let zset = match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => zset,
        Ok(None) => return empty(out),
        Err(()) => return error(out, WRONGTYPE),
    };
    let len = zset.len() as i64;
    let from_end = |rank: i64| if rank < 0 { rank + len } else { rank };
    let (start, stop) = (from_end(start).max(0), from_end(stop).min(len - 1));
    if start > stop {
        return empty(out);
    }
    let first = zset.first().and_then(|id| zset.offset(id, start));
    let count = usize::try_from(stop - start + 1).unwrap_or(0);
    list(zset, first, count, with_scores, |_| true, out);
    Flow::Go
}

// ANCHOR: zrangebyscore
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`: the members with scores
/// between `min` and `max` (`(` before a bound excludes it), in order; with `LIMIT`, `count`
/// of them (all, if negative) from the `offset`th. Seeking to `min` and moving `offset` places
/// are both O(log n): `LIMIT 500000 10` costs what `LIMIT 0 10` does.
pub fn zrangebyscore(store: &mut Store, argv: &mut [Arg<'_>], out: &mut Vec<u8>) -> Flow {
    let (with_scores, limit) = match range_options(&argv[4..]) {
        Ok(options) => options,
        Err(msg) => return error(out, msg),
    };
    let (offset, count) = limit.unwrap_or((0, -1));
    let (Some(min), Some(max)) = (Bound::parse(&argv[2]), Bound::parse(&argv[3])) else {
        return error(out, "ERR min or max is not a float");
    };
    let zset = match zset_at(store, &argv[1]) {
        Ok(Some(zset)) => zset,
        Ok(None) => return empty(out),
        Err(()) => return error(out, WRONGTYPE),
    };
    if offset < 0 {
        return empty(out);
    }
    let first = min.first_in(zset).and_then(|id| zset.offset(id, offset));
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    list(zset, first, count, with_scores, |score| max.admits_below(score), out);
    Flow::Go
}
// ANCHOR_END: zrangebyscore

// ANCHOR: range_options
/// `WITHSCORES` or not, and `LIMIT`'s offset and count, if given.
type RangeOptions = (bool, Option<(i64, i64)>);

/// The options after a range, `WITHSCORES` and `LIMIT offset count`, read as Redis's
/// `zrangeGenericCommand` reads them, before the range itself: so `ZRANGE z a 1 foo` is a
/// syntax error, not a bad rank. Either may come again; the last `LIMIT` counts. `LIMIT`'s
/// numbers are read as it is met, and `LIMIT` with fewer than two arguments after it is
/// not an option at all: a syntax error.
fn range_options(options: &[Arg<'_>]) -> Result<RangeOptions, &'static str> {
    let (mut with_scores, mut limit) = (false, None);
    let mut j = 0;
    while j < options.len() {
        if is_option(&options[j], "withscores") {
            with_scores = true;
        } else if is_option(&options[j], "limit") && options.len() - j > 2 {
            let (Some(offset), Some(count)) = (integer(&options[j + 1]), integer(&options[j + 2]))
            else {
                return Err(NOT_AN_INTEGER);
            };
            limit = Some((offset, count));
            j += 2;
        } else {
            return Err("ERR syntax error");
        }
        j += 1;
    }
    Ok((with_scores, limit))
}
// ANCHOR_END: range_options

/// A score bound of `ZRANGEBYSCORE`: a number, `-inf`/`+inf`, `(` first for exclusive. The
/// number is read as Redis reads a bound, which is not how it reads a score: see
/// [`bound`].
#[derive(Clone, Copy)]
struct Bound {
    score: f64,
    exclusive: bool,
}

impl Bound {
    fn parse(arg: &[u8]) -> Option<Bound> {
        match arg.strip_prefix(b"(") {
            Some(rest) => Some(Bound { score: bound(rest)?, exclusive: true }),
            None => Some(Bound { score: bound(arg)?, exclusive: false }),
        }
    }

    /// The first member at or above this lower bound, found in O(log n).
    fn first_in(self, zset: &ZSet) -> Option<NodeId> {
        let id = zset.seek_ge(self.score, b"")?;
        match self.exclusive && zset.get(id).0 == self.score {
            // Past every member with exactly this score: the next score up, from any name.
            true => zset.seek_ge(self.score.next_up(), b"").filter(|_| self.score < f64::INFINITY),
            false => Some(id),
        }
    }

    /// Whether `score` is within this upper bound.
    fn admits_below(self, score: f64) -> bool {
        if self.exclusive { score < self.score } else { score <= self.score }
    }
}

/// Lists up to `count` members from `first` on, while `within` their score: names, and
/// scores too if asked. The array's length is known only at the end.
fn list(
    zset: &ZSet,
    first: Option<NodeId>,
    count: usize,
    with_scores: bool,
    within: impl Fn(f64) -> bool,
    out: &mut Vec<u8>,
) {
    let array = resp::begin_array(out);
    let mut items = 0;
    let members = first.map(|id| zset.iter_from(id)).into_iter().flatten();
    for (score, name) in members.take_while(|&(score, _)| within(score)).take(count) {
        resp::out_bulk(out, name);
        items += 1;
        if with_scores {
            resp::out_double(out, score);
            items += 1;
        }
    }
    resp::end_array(out, array, items);
}

fn empty(out: &mut Vec<u8>) -> Flow {
    resp::out_array(out, 0);
    Flow::Go
}
