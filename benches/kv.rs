//! The store, measured: v1.0's `set` and `get` against Redis's `SET` and `GET`, through the
//! same client, ping-pong and pipelined 16 and 64 deep; then the targets as paired ratios
//! (alternating bursts, as `roundtrip.rs` measures them), and the memory that a million keys
//! of 16 bytes with 16-byte values cost each server. Redis's rows say "not measured" when
//! `redis-server` is not installed.
//!
//! `cargo bench --bench kv`; `cargo bench --bench kv -- --test` runs each once, briefly. The
//! table is also written to `target/criterion/kv-targets.md` (not with `--test`).

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bench_util::{Client, Redis, criterion_dir, row};
use common::{Server, Stage, command, resp_command};
use criterion::{Criterion, Throughput};

/// Every value is this long, so every reply to a batch has a length known in advance.
const VALUE: &[u8; 16] = b"0123456789abcdef";

/// Key `i`: 16 bytes, as in the memory measurement.
fn key(i: usize) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Set,
    Get,
}

/// A client that sends `depth` commands (`set` or `get` of keys 0 to depth-1) per round trip,
/// to v1.0 (`redis` false) or to Redis, and reads exactly their replies.
fn client(addr: std::net::SocketAddr, op: Op, depth: usize, redis: bool) -> Client {
    let mut batch = Vec::new();
    for i in 0..depth {
        let k = key(i);
        let words: Vec<&[u8]> = match op {
            Op::Set if redis => vec![b"SET", &k, VALUE],
            Op::Get if redis => vec![b"GET", &k],
            Op::Set => vec![b"set", &k, VALUE],
            Op::Get => vec![b"get", &k],
        };
        batch.extend(if redis { resp_command(&words) } else { command(&words) });
    }
    // v1.0: length, status (and the value); Redis: "+OK\r\n", or "$16\r\n" value "\r\n".
    let reply_len = match (op, redis) {
        (Op::Set, false) => 8,
        (Op::Get, false) => 8 + VALUE.len(),
        (Op::Set, true) => 5,
        (Op::Get, true) => 5 + VALUE.len() + 2,
    };
    Client::persistent(addr, batch, depth, reply_len)
}

struct Servers {
    v1_0: Server,
    redis: Option<Redis>,
}

impl Servers {
    /// Both servers, with keys 0 to 63 already set, so that every `get` finds its value.
    fn start() -> Servers {
        let servers =
            Servers { v1_0: Server::start_with(Stage::V1_0, &["--quiet"]), redis: Redis::start() };
        client(servers.v1_0.addr, Op::Set, 64, false).round_trip();
        if let Some(redis) = &servers.redis {
            client(redis.addr, Op::Set, 64, true).round_trip();
        }
        servers
    }

    fn clients(&self, op: Op, depth: usize) -> Vec<(&'static str, Client)> {
        let mut clients = vec![("v1_0", client(self.v1_0.addr, op, depth, false))];
        if let Some(redis) = &self.redis {
            clients.push(("redis", client(redis.addr, op, depth, true)));
        }
        clients
    }
}

/// Criterion's measurements: one group per command and depth.
fn measure(c: &mut Criterion, servers: &Servers) {
    for (op, name) in [(Op::Set, "set"), (Op::Get, "get")] {
        for (depth_name, depth) in [("pingpong", 1), ("pipelined_16", 16), ("pipelined_64", 64)] {
            let mut group = c.benchmark_group(format!("kv_{name}_{depth_name}"));
            group.throughput(Throughput::Elements(depth as u64));
            for (server, mut client) in servers.clients(op, depth) {
                group.bench_function(server, |b| b.iter(|| client.round_trip()));
            }
            group.finish();
        }
    }
}

/// The targets, each a paired ratio of v1.0 against Redis, measured now.
fn targets(servers: &Servers, timing: (usize, Duration)) -> Vec<String> {
    let mut rows = Vec::new();
    for (op, name) in [(Op::Set, "set"), (Op::Get, "get")] {
        for (depth, target) in [(1, Some(1.0)), (16, None), (64, Some(1.5))] {
            let what = format!("v1.0 {name} / Redis {}, {depth} per write", name.to_uppercase());
            let a = client(servers.v1_0.addr, op, depth, false);
            let b = servers.redis.as_ref().map(|r| client(r.addr, op, depth, true));
            rows.push(row(&what, a, b, target, timing));
        }
    }
    rows
}

// ANCHOR: memory
/// Fresh servers each load `keys` keys of 16 bytes with 16-byte values, 64 per write; what
/// does each hold then? v1.0: its resident memory, grown and at the peak (the OS's view, all
/// overheads included). Redis: its own `used_memory` (what its allocator handed out), and its
/// resident memory, for the same comparison.
fn memory(keys: usize) -> Vec<String> {
    let server = Server::start_with(Stage::V1_0, &["--quiet"]);
    let before = common::rss_kib(server.pid());
    load(server.addr, keys, false);
    let grown = common::rss_kib(server.pid()) - before;
    let peak = common::peak_rss_kib(server.pid());
    let mut rows = vec![
        format!(
            "| memory for {keys} keys of 16 B with 16 B values | grown | peak or used_memory |"
        ),
        "|---------------------------------------------|-------|---------------------|".to_string(),
        format!("| v1.0, resident | {:.1} MiB | peak {:.1} MiB |", mib(grown), mib(peak)),
    ];
    match Redis::start() {
        Some(redis) => {
            let used_before = bench_util::redis_info(redis.addr, "memory", "used_memory")
                .parse::<u64>()
                .expect("a byte count");
            let rss_before = common::rss_kib(redis.child.id());
            load(redis.addr, keys, true);
            let used = (bench_util::redis_info(redis.addr, "memory", "used_memory")
                .parse::<u64>()
                .expect("a byte count")
                - used_before)
                / 1024;
            let rss = common::rss_kib(redis.child.id()) - rss_before;
            rows.push(format!(
                "| Redis, resident / used_memory | {:.1} MiB | used_memory +{:.1} MiB |",
                mib(rss),
                mib(used)
            ));
        }
        None => rows.push("| Redis | not measured: no redis-server | |".to_string()),
    }
    rows
}
// ANCHOR_END: memory

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Sets keys 0 to `keys`-1, 64 commands per write, reading every reply.
fn load(addr: SocketAddr, keys: usize, redis: bool) {
    bench_util::load_sets(addr, keys, VALUE, redis, if redis { 5 } else { 8 });
}

fn main() {
    let (mut c, test_mode) = bench_util::criterion();
    let servers = Servers::start();
    measure(&mut c, &servers);
    c.final_summary();

    let timing = bench_util::paired_timing(test_mode);
    let keys = if test_mode { 10_000 } else { 1_000_000 };
    let mut table = vec![
        "| measure (paired, interleaved) | this run | target |".to_string(),
        "|-------------------------------|----------|--------|".to_string(),
    ];
    table.extend(targets(&servers, timing));
    table.push(String::new());
    table.extend(memory(keys));
    let table = table.join("\n");
    println!("\n{table}\n");
    if !test_mode {
        let _ = std::fs::write(format!("{}/kv-targets.md", criterion_dir()), table + "\n");
    }
}
