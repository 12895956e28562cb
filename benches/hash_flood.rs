//! Hash flooding, measured: keys built to collide under FNV-1a (`tests/common/flood.rs`)
//! against ordinary keys of the same length, in the table itself and in v3.0 beside Redis, in
//! the same run (Redis's rows say "not measured" when `redis-server` is not installed).
//!
//! - The table: 16,384 colliding keys and 16,384 ordinary ones inserted into an empty
//!   `HashTable::new()` (FNV-1a, v1.1's to v2.0's) and into an empty `HashTable::keyed()`
//!   (SipHash under a secret, v3.0's); the best of three.
//! - The servers: 65,536 `SET key v` of the colliding keys, then of the ordinary ones, 64 per
//!   write and every reply read, each into an empty keyspace (a fresh v3.0; Redis after
//!   `FLUSHALL`); then 32,768 `ZADD z i member` into one set, the colliding names and then
//!   the ordinary ones. Each the best of three. Target: colliding at most twice ordinary on v3.0.
//! - What the secret costs every lookup: criterion's time to hash a 16-byte key with FNV-1a
//!   and with std's keyed SipHash.
//!
//! `cargo bench --bench hash_flood` takes about half a minute on a 2-core machine and writes
//! the table to `target/criterion/hash_flood-targets.md`; `-- --test` does it all with 1,024
//! keys, once, in a second or two, judges nothing, and writes no file.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::hash::{BuildHasher, RandomState};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bench_util::{Redis, load_pipelined, thousands, verdict};
use common::flood::{colliding_keys, ordinary_keys};
use common::{Server, Stage, resp_command};
use redis_lite::hashtable::{HashTable, fnv1a};

/// Runs of each measurement; the best is kept (the least disturbed by the rest of the machine).
const RUNS: usize = 3;

/// The best of [`RUNS`] timings of `work`, each on what `setup` made, untimed.
fn best<S>(mut setup: impl FnMut() -> S, mut work: impl FnMut(&S)) -> Duration {
    let mut times = (0..RUNS).map(|_| {
        let set_up = setup();
        let began = Instant::now();
        work(&set_up);
        began.elapsed()
    });
    let first = times.next().unwrap_or_default();
    times.fold(first, Duration::min)
}

/// Inserting `keys` into an empty table made by `empty`.
fn table_time(empty: fn() -> HashTable<usize>, keys: &[Vec<u8>]) -> Duration {
    best(
        || {},
        |()| {
            let mut table = empty();
            for (i, key) in keys.iter().enumerate() {
                table.insert(key, i);
            }
            black_box(&table);
        },
    )
}

/// `SET key v` for every key, 64 per write, every `+OK` read.
fn set_all(addr: SocketAddr, keys: &[Vec<u8>]) {
    load_pipelined(addr, keys.len(), |i| resp_command(&[b"SET", &keys[i], b"v"]), 5);
}

/// `ZADD z i name` for every name, 64 per write, every `:1` read.
fn zadd_all(addr: SocketAddr, names: &[Vec<u8>]) {
    let zadd = |i: usize| resp_command(&[b"ZADD", b"z", i.to_string().as_bytes(), &names[i]]);
    load_pipelined(addr, names.len(), zadd, 4);
}

/// The time of `load` into an empty keyspace of a fresh v3.0, the best of [`RUNS`].
fn v3_0_time(load: fn(SocketAddr, &[Vec<u8>]), keys: &[Vec<u8>]) -> Duration {
    best(|| Server::start_with(Stage::V3_0, &["--quiet"]), |server| load(server.addr, keys))
}

/// The time of `load` into Redis's keyspace emptied by `FLUSHALL`, the best of [`RUNS`].
fn redis_time(redis: &Redis, load: fn(SocketAddr, &[Vec<u8>]), keys: &[Vec<u8>]) -> Duration {
    let flush = || load_pipelined(redis.addr, 1, |_| resp_command(&[b"FLUSHALL"]), 5);
    best(flush, |()| load(redis.addr, keys))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A table row: what, colliding time, ordinary time, their ratio, and the verdict.
fn row(what: &str, colliding: Duration, ordinary: Duration, target: Option<f64>) -> String {
    let ratio = colliding.as_secs_f64() / ordinary.as_secs_f64();
    let judged = match target {
        Some(t) => format!("≤ {t}×: {}", verdict(ratio <= t)),
        None => "shown".to_string(),
    };
    format!("| {what} | {} | {} | {ratio:.2}× | {judged} |", ms(colliding), ms(ordinary))
}

fn main() {
    let (mut c, test_mode) = bench_util::criterion();
    let mut group = c.benchmark_group("hash a 16-byte key");
    let secret = RandomState::new();
    group.bench_function("FNV-1a", |b| b.iter(|| fnv1a(black_box(b"key:000000000042"))));
    group.bench_function("SipHash-1-3, keyed", |b| {
        b.iter(|| secret.hash_one(black_box(b"key:000000000042".as_slice())))
    });
    group.finish();
    c.final_summary();

    // 2^pairs keys for the servers, a quarter as many for the table (FNV-1a's time grows as
    // the square), half as many sorted-set members.
    let pairs = if test_mode { 10 } else { 16 };
    let (keys, len) = (colliding_keys(pairs), 4 * pairs as usize);
    let plain = ordinary_keys(keys.len(), len);
    let quarter = keys.len() / 4;
    let (table_keys, table_plain) = (&keys[..quarter], &plain[..quarter]);
    let (members, plain_members) = (&keys[..keys.len() / 2], &plain[..keys.len() / 2]);
    // Only the test's target is judged, and not in a `--test` run, whose sizes are too small.
    let target = (!test_mode).then_some(2.0);

    let mut table = vec![
        format!("| {len}-byte keys | colliding | ordinary | ratio | target |"),
        "|---|---|---|---|---|".to_string(),
    ];
    let n = thousands(quarter);
    let fnv = (table_time(HashTable::new, table_keys), table_time(HashTable::new, table_plain));
    table.push(row(&format!("{n} inserts, FNV-1a table"), fnv.0, fnv.1, None));
    let keyed =
        (table_time(HashTable::keyed, table_keys), table_time(HashTable::keyed, table_plain));
    table.push(row(&format!("{n} inserts, keyed table"), keyed.0, keyed.1, target));

    let (n, m) = (thousands(keys.len()), thousands(members.len()));
    let sets = (v3_0_time(set_all, &keys), v3_0_time(set_all, &plain));
    table.push(row(&format!("{n} SETs, v3.0"), sets.0, sets.1, target));
    let zadds = (v3_0_time(zadd_all, members), v3_0_time(zadd_all, plain_members));
    table.push(row(&format!("{m} ZADDs, v3.0"), zadds.0, zadds.1, target));
    match Redis::start() {
        Some(redis) => {
            let version = bench_util::redis_info(redis.addr, "server", "redis_version");
            let sets = (redis_time(&redis, set_all, &keys), redis_time(&redis, set_all, &plain));
            table.push(row(&format!("{n} SETs, Redis {version}"), sets.0, sets.1, None));
            let zadds = (
                redis_time(&redis, zadd_all, members),
                redis_time(&redis, zadd_all, plain_members),
            );
            table.push(row(&format!("{m} ZADDs, Redis {version}"), zadds.0, zadds.1, None));
        }
        None => table.push("| Redis | not measured: no redis-server | | | |".to_string()),
    }
    let table = table.join("\n");
    bench_util::report(&table, "hash_flood", test_mode);
}
