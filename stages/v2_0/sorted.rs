//! v1.3's sorted-set commands, as the C++ original has them: `zadd`, `zrem`, `zscore` and
//! `zquery`. Each finds the key's value, checks that it is a sorted set (`ERR 3` if it is
//! a string), and works on `src/zset.rs`. They reach the keys only through the store's
//! `value_mut`, `insert` and `remove`, so that v2.0, whose keys can expire, uses this file
//! unchanged.
//!
//! Scores are parsed strictly: the whole argument must be a number, and NaN is refused
//! (`ERR 4`), because a score that compares unequal to itself has no place in an order.

use crate::avl::NodeId;
use crate::tlv::{self, ERR_ARG, ERR_TYPE};
use crate::zset::ZSet;

use crate::server::{K_MAX_MSG, Store, Value};

// ANCHOR: zadd
/// `zadd key score member`: `(int) 1` if the member was added, 0 if its score was updated. A
/// missing key becomes a new sorted set.
pub fn zadd(store: &mut Store, key: &[u8], score: &[u8], member: &[u8], out: &mut Vec<u8>) {
    let Some(score) = parse_score(score) else {
        return tlv::out_err(out, ERR_ARG, "expect float");
    };
    let added = match store.value_mut(key) {
        Some(Value::ZSet(zset)) => zset.add(member, score),
        Some(Value::Str(_)) => return tlv::out_err(out, ERR_TYPE, "expect zset"),
        None => {
            let mut zset = Box::new(ZSet::new());
            zset.add(member, score);
            store.insert(key, Value::ZSet(zset));
            true
        }
    };
    tlv::out_int(out, i64::from(added));
}
// ANCHOR_END: zadd

/// `zrem key member`: `(int) 1` if the member was there. A set left empty is deleted, as
/// Redis deletes it (the original keeps it), so that an empty set and no set look the same
/// to every command, `keys` included.
pub fn zrem(store: &mut Store, key: &[u8], member: &[u8], out: &mut Vec<u8>) {
    let (removed, now_empty) = match store.value_mut(key) {
        Some(Value::ZSet(zset)) => (zset.remove(member), zset.is_empty()),
        Some(Value::Str(_)) => return tlv::out_err(out, ERR_TYPE, "expect zset"),
        None => (false, false),
    };
    if now_empty {
        store.remove(key);
    }
    tlv::out_int(out, i64::from(removed));
}

/// `zscore key member`: `(dbl) SCORE`, or `(nil)` if there is no such member (or set).
pub fn zscore(store: &mut Store, key: &[u8], member: &[u8], out: &mut Vec<u8>) {
    match store.value_mut(key) {
        Some(Value::ZSet(zset)) => match zset.score(member) {
            Some(score) => tlv::out_dbl(out, score),
            None => tlv::out_nil(out),
        },
        Some(Value::Str(_)) => tlv::out_err(out, ERR_TYPE, "expect zset"),
        None => tlv::out_nil(out),
    }
}

// ANCHOR: zquery
/// `zquery key score member offset limit`: seek to the first member at or after
/// (score, member), move `offset` places (back, if negative), then list members and scores,
/// name, score, name, score..., while fewer than `limit` *items* are listed: a member and its
/// score count as two, as in the original, so limit 1 lists one member, 3 two, 0 none. A
/// missing key is an empty set.
pub fn zquery(store: &mut Store, key: &[u8], args: [&[u8]; 4], out: &mut Vec<u8>) {
    let [score, member, offset, limit] = args;
    let Some(score) = parse_score(score) else {
        return tlv::out_err(out, ERR_ARG, "expect float");
    };
    let (Some(offset), Some(limit)) = (parse_int(offset), parse_int(limit)) else {
        return tlv::out_err(out, ERR_ARG, "expect int");
    };
    let zset = match store.value_mut(key) {
        Some(Value::ZSet(zset)) => zset,
        Some(Value::Str(_)) => return tlv::out_err(out, ERR_TYPE, "expect zset"),
        None => return tlv::out_arr(out, 0),
    };
    // O(log n) twice: down the tree to the seek, then up and down again to the offset.
    let first = zset.seek_ge(score, member).and_then(|id| zset.offset(id, offset));
    let listed = list(zset, first, limit, out);
    // A long listing, or one refused after building a frame's worth, took a while, and its
    // reply may be small: the other clients come before this one's next request.
    store.walked |= listed.is_none_or(|members| members > YIELD_AFTER);
}

/// Members past which a `zquery` counts as costly.
const YIELD_AFTER: usize = 1000;

/// Lists members from `first` on, name and score each, while fewer than `limit` items are
/// listed: how many members, or `None` if the reply passed the frame limit (it is `ERR 2`).
fn list(zset: &ZSet, first: Option<NodeId>, limit: i64, out: &mut Vec<u8>) -> Option<usize> {
    let (start, array) = (out.len(), tlv::out_begin_arr(out));
    let mut items = 0;
    for (score, name) in first.map(|id| zset.iter_from(id)).into_iter().flatten() {
        if items >= limit {
            break;
        }
        // A name as a string value (5 bytes more) and a score as a double (9): past the
        // frame limit, the reply is ERR 2 at once.
        if out.len() - start + 5 + name.len() + 9 > K_MAX_MSG {
            tlv::out_too_big(out, start, K_MAX_MSG);
            return None;
        }
        tlv::out_str(out, name);
        tlv::out_dbl(out, score);
        items += 2;
    }
    // Two items per member listed, and at most K_MAX_MSG / 14 members fit: a u32.
    tlv::out_end_arr(out, array, items as u32);
    Some(items as usize / 2)
}
// ANCHOR_END: zquery

// ANCHOR: parse
/// A score: the whole argument a number (`1`, `-2.5`, `1e3`, `inf`), and not NaN.
fn parse_score(arg: &[u8]) -> Option<f64> {
    let score: f64 = std::str::from_utf8(arg).ok()?.parse().ok()?;
    (!score.is_nan()).then_some(score)
}

/// An offset or a limit: the whole argument an integer.
fn parse_int(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}
// ANCHOR_END: parse
