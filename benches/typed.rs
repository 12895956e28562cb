//! Typed replies, measured: v1.2 (TLV replies) against v1.1 (a status and a blob), the same
//! `set` and `get` requests to the same table through the same client, ping-pong and
//! pipelined 64 deep; then the targets as paired ratios (alternating bursts, as `kv.rs`
//! measures them); then `keys` on a million keys: how long the reply takes, how big it is,
//! and what memory the server needs to build it, beside Redis's `KEYS *` on the same keys.
//! Redis's rows say "not measured" when `redis-server` is not installed.
//!
//! `cargo bench --bench typed`; `cargo bench --bench typed -- --test` runs each once, briefly,
//! with 10,000 keys for `keys`. The table is also written to `target/criterion/typed-targets.md`
//! (not with `--test`).

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bench_util::{Client, Redis, criterion_dir, key16, row, thousands};
use common::{Server, Stage, command, resp_command};
use criterion::{Criterion, Throughput};

/// Every value is this long, so every reply to a batch has a length known in advance.
const VALUE: &[u8; 16] = b"0123456789abcdef";

/// How many times `keys` is timed on the same keys: enough for a median and a worst.
const KEYS_RUNS: usize = 5;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Set,
    Get,
}

/// The exact reply frame `stage` gives to `op` on a key that holds [`VALUE`]: v1.1 a length,
/// status 0 and the data; v1.2 a length and one TLV value, NIL for `set`, STR for `get`.
fn reply(stage: Stage, op: Op) -> Vec<u8> {
    let body = match (stage, op) {
        (Stage::V1_1, Op::Set) => 0u32.to_le_bytes().to_vec(),
        (Stage::V1_1, Op::Get) => [&0u32.to_le_bytes()[..], VALUE].concat(),
        (Stage::V1_2, Op::Set) => vec![0], // NIL
        (Stage::V1_2, Op::Get) => [&[2][..], &16u32.to_le_bytes(), VALUE].concat(), // STR
        _ => unreachable!("only v1.1 and v1.2 are compared here"),
    };
    common::frame(&body)
}

/// A client that sends `depth` commands (`set` or `get` of keys 0 to depth-1) per round trip
/// to `stage`'s server, and reads exactly their replies.
fn client(addr: SocketAddr, stage: Stage, op: Op, depth: usize) -> Client {
    let mut batch = Vec::new();
    for i in 0..depth {
        let k = key16(i);
        batch.extend(match op {
            Op::Set => command(&[b"set", &k, VALUE]),
            Op::Get => command(&[b"get", &k]),
        });
    }
    Client::persistent(addr, batch, depth, reply(stage, op).len())
}

struct Servers {
    v1_1: Server,
    v1_2: Server,
}

impl Servers {
    /// Both servers, with keys 0 to 63 already set, so that every `get` finds its value; and
    /// every reply checked once, byte for byte, so that the clients, which only count bytes,
    /// are known to read whole replies of the right kind.
    fn start() -> Servers {
        let servers = Servers {
            v1_1: Server::start_with(Stage::V1_1, &["--quiet"]),
            v1_2: Server::start_with(Stage::V1_2, &["--quiet"]),
        };
        for server in [&servers.v1_1, &servers.v1_2] {
            for op in [Op::Set, Op::Get] {
                let mut client = client(server.addr, server.stage, op, 64);
                client.round_trip();
                let want = reply(server.stage, op).repeat(64);
                assert!(client.reply == want, "{}: unexpected replies", server.name);
            }
        }
        servers
    }

    fn clients(&self, op: Op, depth: usize) -> [(&'static str, Client); 2] {
        [
            ("v1_2", client(self.v1_2.addr, Stage::V1_2, op, depth)),
            ("v1_1", client(self.v1_1.addr, Stage::V1_1, op, depth)),
        ]
    }
}

/// Criterion's measurements: one group per command and depth.
fn measure(c: &mut Criterion, servers: &Servers) {
    for (op, name) in [(Op::Get, "get"), (Op::Set, "set")] {
        for (depth_name, depth) in [("pingpong", 1), ("pipelined_64", 64)] {
            let mut group = c.benchmark_group(format!("typed_{name}_{depth_name}"));
            group.throughput(Throughput::Elements(depth as u64));
            for (server, mut client) in servers.clients(op, depth) {
                group.bench_function(server, |b| b.iter(|| client.round_trip()));
            }
            group.finish();
        }
    }
}

// ANCHOR: targets
/// The targets, each a paired ratio of v1.2 against v1.1, measured now. Pipelined 64 deep is
/// where the server's own work per request is the largest share of a round trip, so that is
/// where a cost of the TLV encoding would show: it must stay within 5% of v1.1. Ping-pong is
/// shown without a target: a round trip there is tens of microseconds of system calls and
/// wake-ups, against nanoseconds of encoding, so a target would test the machine's noise.
fn targets(servers: &Servers, timing: (usize, Duration)) -> Vec<String> {
    let mut rows = Vec::new();
    for (op, name) in [(Op::Get, "get"), (Op::Set, "set")] {
        for (depth, target) in [(1, None), (64, Some(0.95))] {
            let what = format!("v1.2 {name} / v1.1 {name}, {depth} per write");
            let a = client(servers.v1_2.addr, Stage::V1_2, op, depth);
            let b = client(servers.v1_1.addr, Stage::V1_1, op, depth);
            rows.push(row(&what, a, Some(b), target, timing));
        }
    }
    rows
}
// ANCHOR_END: targets

// ANCHOR: keys
/// What `keys` (or Redis's `KEYS *`) cost on `keys` keys, [`KEYS_RUNS`] times on one
/// connection.
struct KeysCost {
    /// Each run: from sending the command to the last byte of the reply read.
    times: Vec<Duration>,
    reply_bytes: usize,
    /// The server's peak resident memory just before the first run and after the last. The
    /// peak is reset to the resident memory first, where the kernel allows, so that a peak
    /// left by the load (a table resizing) cannot hide the reply's.
    peak_before: u64,
    peak_after: u64,
    peak_reset: bool,
    /// The server's resident memory before the first run, and once the last reply is read.
    rss_before: u64,
    rss_after: u64,
}

/// A fresh v1.2 server loads `keys` keys, 64 `set`s per write, and answers `keys`.
fn v1_2_keys(keys: usize) -> KeysCost {
    let server = Server::start_with(Stage::V1_2, &["--quiet"]);
    load(server.addr, keys, false);
    // One frame: a length, then ARR, a count, and per key STR, a length and 16 bytes.
    let body_len = 1 + 4 + keys * (1 + 4 + 16);
    let mut want = (body_len as u32).to_le_bytes().to_vec();
    want.push(5);
    want.extend_from_slice(&(keys as u32).to_le_bytes());
    want.extend_from_slice(&[2, 16, 0, 0, 0]);
    let request = command(&[b"keys"]);
    time_keys(server.pid(), server.addr, &request, &want, 4 + body_len, false)
}

/// A fresh Redis loads the same keys, 64 `SET`s per write, and answers `KEYS *`.
fn redis_keys(keys: usize) -> Option<KeysCost> {
    let redis = Redis::start()?;
    load(redis.addr, keys, true);
    // An array header, then per key "$16\r\n", 16 bytes and "\r\n".
    let mut want = format!("*{keys}\r\n").into_bytes();
    let reply_len = want.len() + keys * (5 + 16 + 2);
    want.extend_from_slice(b"$16\r\n");
    let request = resp_command(&[b"KEYS", b"*"]);
    Some(time_keys(redis.child.id(), redis.addr, &request, &want, reply_len, true))
}

/// Sends `request` [`KEYS_RUNS`] times, timing each until its whole reply, `reply_len` bytes
/// beginning with `want`, has been read; with the server's memory around the runs.
fn time_keys(
    pid: u32,
    addr: SocketAddr,
    request: &[u8],
    want: &[u8],
    reply_len: usize,
    redis: bool,
) -> KeysCost {
    let mut stream = bench_util::connect(addr);
    let mut reply = vec![0u8; reply_len];
    // Touched once before timing, so that the first run does not pay for our pages.
    reply.fill(1);
    let peak_reset = reset_peak_rss(pid);
    let (peak_before, rss_before) = (common::peak_rss_kib(pid), common::rss_kib(pid));
    let mut times = Vec::new();
    for _ in 0..KEYS_RUNS {
        let start = Instant::now();
        stream.write_all(request).expect("send keys");
        stream.read_exact(&mut reply).expect("the whole reply");
        times.push(start.elapsed());
        assert!(reply.starts_with(want), "keys: a reply that is not every key");
    }
    let peak_after = common::peak_rss_kib(pid);
    // v1.2 gives its reply buffer back just after its last write, which can be a moment
    // after we have read the last byte; one more round trip on the same connection is
    // answered only once that is done.
    sync(&mut stream, redis);
    let rss_after = common::rss_kib(pid);
    KeysCost {
        times,
        reply_bytes: reply_len,
        peak_before,
        peak_after,
        peak_reset,
        rss_before,
        rss_after,
    }
}

/// Resets the peak resident memory of process `pid` (VmHWM) to its resident memory now, as
/// Linux allows since 4.0 by writing 5 to `/proc/PID/clear_refs`. False if it refused.
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// One `get` round trip: everything the server did before it is done.
fn sync(stream: &mut TcpStream, redis: bool) {
    let k = key16(0);
    let (request, reply_len) = match redis {
        true => (resp_command(&[b"GET", &k]), 5 + VALUE.len() + 2),
        false => (command(&[b"get", &k]), reply(Stage::V1_2, Op::Get).len()),
    };
    stream.write_all(&request).expect("send a get");
    stream.read_exact(&mut vec![0u8; reply_len]).expect("its reply");
}

/// The table's rows for `keys`: time, size, and the server's memory.
fn keys_rows(keys: usize) -> Vec<String> {
    let peak = |cost: &KeysCost| {
        let grew = mib(cost.peak_after.saturating_sub(cost.peak_before));
        let since = if cost.peak_reset { "reset before" } else { "not reset: since start" };
        format!(
            "+{grew:.1} MiB ({:.1} → {:.1} MiB, {since})",
            mib(cost.peak_before),
            mib(cost.peak_after)
        )
    };
    let line = |what: &str, cost: &KeysCost| {
        let mut times = cost.times.clone();
        times.sort();
        let rss = cost.rss_after as f64 - cost.rss_before as f64;
        format!(
            "| {what} | {:.1} ms | {:.1} ms | {:.1} MiB | {} | {:+.1} MiB |",
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3,
            cost.reply_bytes as f64 / (1 << 20) as f64,
            peak(cost),
            rss / 1024.0
        )
    };
    let mut rows = vec![
        format!(
            "| `keys` on {} keys of 16 B, {KEYS_RUNS} runs | median | worst | reply | \
             peak RSS (VmHWM) grew | RSS after the reply, vs before |",
            thousands(keys)
        ),
        "|------------------------------------|--------|-------|-------|\
         -----------------------|--------------------------------|"
            .to_string(),
    ];
    // One server after the other, each alone with the client on the machine's cores.
    rows.push(line("v1.2 `keys` (TLV, one frame)", &v1_2_keys(keys)));
    match redis_keys(keys) {
        Some(cost) => rows.push(line("Redis `KEYS *` (RESP)", &cost)),
        None => rows.push("| Redis `KEYS *` | not measured: no redis-server | | | | |".to_string()),
    }
    rows
}
// ANCHOR_END: keys

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Sets keys 0 to `keys`-1, 64 commands per write, reading every reply.
fn load(addr: SocketAddr, keys: usize, redis: bool) {
    bench_util::load_sets(
        addr,
        keys,
        VALUE,
        redis,
        if redis { 5 } else { reply(Stage::V1_2, Op::Set).len() },
    );
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
    // Idle, but not needed any more: the `keys` servers get the machine to themselves.
    drop(servers);
    table.push(String::new());
    table.extend(keys_rows(keys));
    let table = table.join("\n");
    println!("\n{table}\n");
    if !test_mode {
        let _ = std::fs::write(format!("{}/typed-targets.md", criterion_dir()), table + "\n");
    }
}
