//! `FLUSHALL ASYNC`, measured: what emptying a big keyspace costs the flushing client and
//! everyone else, v3.0 against Redis in the same run (Redis's row says "not measured" when
//! `redis-server` is not installed).
//!
//! Each server, alone, is loaded with 500,000 keys of 16 bytes with 16-byte values (64 `SET`s
//! per write, every reply read) and a sorted set of 300,000 members (1,000 per `ZADD`). A
//! second client sends `GET` of a key ping-pong, every round trip timed, from 1 s before the
//! flush until 1 s after its reply; the flushing client times its own `FLUSHALL ASYNC`. The
//! worst round trip before the flush is the machine's noise; the worst from the flush on is
//! what it cost the others. Then the same with `FLUSHALL SYNC`, for v3.0, to show what
//! `ASYNC` saves.
//!
//! `cargo bench --bench flush` takes about half a minute on a 2-core machine and writes the
//! table to `target/criterion/flush-targets.md`; `-- --test` loads 20,000 keys and members,
//! with 50 ms windows, and writes no file.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bench_util::{Redis, connect, key16, load_pipelined, load_sets};
use common::{Server, Stage, resp_command};

/// Members per `ZADD` when loading the set.
const PER_ZADD: usize = 1000;

/// What one flush cost: the flushing client's round trip, and the other client's worst
/// before the flush and from the flush on.
struct Flush {
    reply: Duration,
    worst_before: Duration,
    worst_after: Duration,
}

/// Loads `keys` strings and a set of `members`, then flushes with `mode`, timing everything.
fn flush(addr: SocketAddr, keys: usize, members: usize, mode: &[u8], window: Duration) -> Flush {
    load_sets(addr, keys, b"0123456789abcdef", true, 5);
    let zadd = |chunk: usize| {
        let names: Vec<String> =
            (0..PER_ZADD).map(|i| format!("m{}", chunk * PER_ZADD + i)).collect();
        let mut words: Vec<&[u8]> = vec![b"ZADD", b"z"];
        names.iter().for_each(|name| words.extend([&b"1"[..], name.as_bytes()]));
        resp_command(&words)
    };
    load_pipelined(addr, members / PER_ZADD, zadd, format!(":{PER_ZADD}\r\n").len());
    // The other client: a key of its own, which the flush deletes (a `GET` of it then
    // answers nil, a shorter reply: read either).
    let (stop, flushed_at) = (Arc::new(AtomicBool::new(false)), Instant::now() + window);
    let other = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut stream = connect(addr);
            let (mut before, mut after) = (Duration::ZERO, Duration::ZERO);
            let mut reply = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                stream.write_all(&resp_command(&[b"GET", &key16(0)])).expect("send a GET");
                let n = stream.read(&mut reply).expect("its reply");
                assert!(n > 0, "the server closed the connection");
                let took = sent.elapsed();
                let worst = if sent < flushed_at { &mut before } else { &mut after };
                *worst = (*worst).max(took);
            }
            (before, after)
        })
    };
    thread::sleep(flushed_at.saturating_duration_since(Instant::now()));
    let mut stream = connect(addr);
    let sent = Instant::now();
    stream.write_all(&resp_command(&[b"FLUSHALL", mode])).expect("send FLUSHALL");
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).expect("+OK");
    let reply = sent.elapsed();
    thread::sleep(window);
    stop.store(true, Ordering::Relaxed);
    let (worst_before, worst_after) = other.join().expect("the other client");
    Flush { reply, worst_before, worst_after }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn row(what: &str, f: &Flush) -> String {
    let (reply, before, after) = (ms(f.reply), ms(f.worst_before), ms(f.worst_after));
    format!("| {what} | {reply} | {after} | {before} |")
}

fn main() {
    let test_mode = bench_util::test_mode();
    let (keys, members, window) = match test_mode {
        true => (20_000, 20_000, Duration::from_millis(50)),
        false => (500_000, 300_000, Duration::from_secs(1)),
    };
    let mut table = vec![
        format!(
            "| {} keys + a set of {} members | flush's reply | others' worst after | worst before |",
            bench_util::thousands(keys),
            bench_util::thousands(members)
        ),
        "|---|---|---|---|".to_string(),
    ];
    for mode in ["ASYNC", "SYNC"] {
        let server = Server::start_with(Stage::V3_0, &["--quiet"]);
        let f = flush(server.addr, keys, members, mode.as_bytes(), window);
        table.push(row(&format!("v3.0, `FLUSHALL {mode}`"), &f));
    }
    match Redis::start() {
        Some(redis) => {
            let version = bench_util::redis_info(redis.addr, "server", "redis_version");
            let f = flush(redis.addr, keys, members, b"ASYNC", window);
            table.push(row(&format!("Redis {version}, `FLUSHALL ASYNC`"), &f));
        }
        None => table.push("| Redis | not measured: no redis-server | | |".to_string()),
    }
    let table = table.join("\n");
    bench_util::report(&table, "flush", test_mode);
}
