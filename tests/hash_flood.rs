//! Hash flooding: keys built to collide under FNV-1a (`tests/common/flood.rs`) pile up in one
//! bucket of a table that hashes with it, and spread over a keyed one; and v3.0's keyspace is
//! keyed afresh at every start, as Redis's is. Counted, never timed: the time it costs is
//! `benches/hash_flood.rs`'s to measure.

mod common;

use std::io::Write;

use common::flood::{colliding_keys, ordinary_keys};
use common::{Reply, Server, Stage, read_resp_reply, resp_command};
use redis_lite::hashtable::{HashTable, fnv1a};
use redis_lite::zset::ZSet;

/// 2^12 keys: enough to see the pile, quick to insert even into one chain.
const PAIRS: u32 = 12;

/// The builder's keys are distinct, and FNV-1a, the table's own, gives them all the same low
/// 32 bits.
#[test]
fn the_built_keys_share_the_low_bits_of_their_fnv1a_hash() {
    let keys = colliding_keys(PAIRS);
    assert_eq!(keys.len(), 1 << PAIRS);
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "distinct keys");
    let low = fnv1a(&keys[0]) as u32;
    assert!(keys.iter().all(|key| fnv1a(key) as u32 == low), "one low half for every key");
}

// ANCHOR: one_bucket
/// In an FNV-1a table every built key lands in the same bucket, however the table grows: one
/// chain holds them all, and every insert walks it.
#[test]
fn an_fnv1a_table_keeps_them_in_one_chain() {
    let mut table = HashTable::new();
    for (i, key) in colliding_keys(PAIRS).iter().enumerate() {
        table.insert(key, i);
    }
    assert_eq!(table.longest_chain(), 1 << PAIRS);
    table.check_invariants().unwrap();
}

/// A keyed table spreads the same keys as it would any others: no bucket holds more than a
/// handful (with 4,096 keys in 4,096 or more buckets, the longest chain of a random hash is
/// about 6; 16 would happen less than once in 10^9 tables).
#[test]
fn a_keyed_table_spreads_them() {
    let mut table = HashTable::keyed();
    for (i, key) in colliding_keys(PAIRS).iter().enumerate() {
        table.insert(key, i);
    }
    let longest = table.longest_chain();
    assert!(longest <= 16, "the longest chain holds {longest} keys");
    table.check_invariants().unwrap();
}
// ANCHOR_END: one_bucket

/// Two keyed tables, two secrets: the same keys share buckets differently in each, so what
/// collides in one run tells a client nothing about the next.
#[test]
fn two_keyed_tables_order_the_same_keys_differently() {
    let keys = ordinary_keys(1_000, 16);
    let order = |mut table: HashTable<()>| {
        for key in &keys {
            table.insert(key, ());
        }
        table.iter().map(|(key, _)| key.to_vec()).collect::<Vec<_>>()
    };
    assert_eq!(order(HashTable::new()), order(HashTable::new()), "FNV-1a: every time the same");
    assert_ne!(order(HashTable::keyed()), order(HashTable::keyed()));
}

/// A keyed sorted set takes the built names as any others, every invariant holding.
#[test]
fn a_keyed_sorted_set_holds_the_built_names() {
    let mut zset = ZSet::keyed();
    for (i, name) in colliding_keys(10).iter().enumerate() {
        assert!(zset.add(name, i as f64));
    }
    assert_eq!(zset.len(), 1 << 10);
    zset.check_invariants().unwrap();
}

/// The keys v3.0 lists for `KEYS *`, after setting `keys` in a fresh server.
fn keys_listed(keys: &[Vec<u8>]) -> Vec<u8> {
    let server = Server::start(Stage::V3_0);
    let mut stream = server.connect();
    for key in keys {
        stream.write_all(&resp_command(&[b"SET", key, b"v"])).unwrap();
        assert_eq!(read_resp_reply(&mut stream), Reply::Got(b"+OK\r\n".to_vec()));
    }
    stream.write_all(&resp_command(&[b"KEYS", b"*"])).unwrap();
    match read_resp_reply(&mut stream) {
        Reply::Got(listed) => listed,
        Reply::Closed => panic!("v3.0 closed the connection instead of answering KEYS"),
    }
}

// ANCHOR: per_run
/// v3.0 lists the same keys in a different order each time it starts, as Redis does: its
/// keyspace is hashed under a secret drawn at start-up, so no client can know in advance
/// which keys would share a bucket.
#[test]
fn v3_0_hashes_its_keys_under_a_secret_of_each_run() {
    let keys = ordinary_keys(300, 16);
    let (first, second) = (keys_listed(&keys), keys_listed(&keys));
    assert!(first.starts_with(b"*300\r\n"), "every key listed");
    assert_ne!(first, second, "the same order in two runs: an unkeyed hash");
}
// ANCHOR_END: per_run
