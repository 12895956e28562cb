//! Sorted sets, measured: v1.3's `zadd` and `zquery` against Redis's `ZADD` and
//! `ZRANGEBYSCORE`, through the same client; and what a member costs each server in memory.
//! Redis's rows say "not measured" when `redis-server` is not installed.
//!
//! - `zadd`, ping-pong and pipelined 64 per write, as criterion groups and as paired ratios
//!   (alternating bursts, as `kv.rs` measures them). Every `zadd` adds a new member: member
//!   `m:{i:012}` with score `(i * 0x9E3779B97F4A7C15) mod 2^39`, which is i shuffled (a
//!   multiplicative hash, so each insert lands somewhere new in the tree, not always at its
//!   right end). So that both servers hold sets of the same sizes whatever their speeds,
//!   each client adds to a key of its own that it leaves for a fresh one every 65,536
//!   members: a set grows from empty to 65,536, then the next one does, on both sides alike.
//! - `zquery` 10 members (limit 20 items) from offsets 0, 1,000, 100,000, 500,000 and 900,000
//!   into one set of 1,000,000 members (scores 0 to 999,999), against Redis's
//!   `ZRANGEBYSCORE key -inf +inf LIMIT offset 10` on the same members: one query per round
//!   trip, a criterion group per offset; then, for the table and the chart, the median round
//!   trip at each offset on each server, all ten taking turns in 10 ms slices for 10 s. Our
//!   reply carries the scores too (289 bytes against Redis's 215, which has no `WITHSCORES`).
//!   Redis walks its skip list one member at a time to the offset; our tree counts its way
//!   there in O(log n).
//! - Memory: both servers start fresh and load the 1,000,000 members into one set, 64 `zadd`s
//!   per write, every reply read; then the resident memory each grew by, per member, and
//!   Redis's own `used_memory` delta per member.
//!
//! `cargo bench --bench zset` takes about two minutes on a 2-core machine;
//! `cargo bench --bench zset -- --test` runs each once, briefly, on a set of 10,000 members
//! with the offsets scaled down a hundredfold (0, 10, 1,000, 5,000, 9,000), and writes no
//! file. The table is also written to `target/criterion/zset-targets.md`, and the chart of
//! time per query against offset to `target/criterion/zset-offsets.svg` (not with `--test`).

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bench_util::{Client, Redis, Series, criterion_dir, percentile, thousands};
use common::{Server, Stage, command, resp_command};
use criterion::{Criterion, SamplingMode, Throughput};

/// The sorted set `zquery` reads, loaded once at the start.
const KEY: &[u8] = b"zq";

/// Members each `zadd` client adds to one key before it moves on to a fresh one.
const CAP: usize = 1 << 16;

/// Members per `zquery` reply: 10, as Redis's `LIMIT offset 10`; our limit counts items, a
/// name and a score each.
const MEMBERS: usize = 10;

/// Member `i`: 14 bytes.
fn member(i: usize) -> Vec<u8> {
    format!("m:{i:012}").into_bytes()
}

/// Writes `n` in decimal into all of `digits`, zero-padded: numbers are rewritten in place in
/// a batch of requests, so that the client allocates nothing per request.
fn put_digits(digits: &mut [u8], mut n: u64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// The score of the `zadd` bench's member `i`: i shuffled, distinct for every i below 2^39
/// (an odd multiplier is a bijection modulo a power of two), and at most 12 digits.
fn shuffled(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) & ((1 << 39) - 1)
}

/// The reply to a `zadd` that added its member: INT 1 (a frame of 4 + 9 bytes), or `:1`.
fn added(redis: bool) -> Vec<u8> {
    match redis {
        true => b":1\r\n".to_vec(),
        false => common::frame(&[&[3u8][..], &1i64.to_le_bytes()].concat()),
    }
}

// ANCHOR: zadd_client
/// A client that adds `depth` new members per round trip, to v1.3 or to Redis, and checks
/// that each was added. Its keys are its own (`z{id}:{generation}`), so that it starts with a
/// fresh set and never re-adds a member another client added.
struct Zadd {
    stream: TcpStream,
    depth: usize,
    batch: Vec<u8>,
    /// Where, in `batch`, each command's generation, score and member digits are.
    at: Vec<[usize; 3]>,
    want: Vec<u8>,
    reply: Vec<u8>,
    /// The next member to add.
    next: usize,
}

impl Zadd {
    fn new(addr: SocketAddr, depth: usize, redis: bool) -> Zadd {
        static CLIENTS: AtomicUsize = AtomicUsize::new(0);
        let id = CLIENTS.fetch_add(1, Ordering::Relaxed);
        // Placeholders, found in the encoded command and then overwritten with digits.
        let key = format!("z{id:03}:GGGGGG").into_bytes();
        let words: [&[u8]; 4] =
            [if redis { b"ZADD" } else { b"zadd" }, &key, b"SSSSSSSSSSSS", b"m:MMMMMMMMMMMM"];
        let one = if redis { resp_command(&words) } else { command(&words) };
        let find = |run: &[u8]| one.windows(run.len()).position(|w| w == run).expect("a field");
        let fields = [find(b"GGGGGG"), find(b"SSSSSSSSSSSS"), find(b"MMMMMMMMMMMM")];
        let at = (0..depth).map(|j| fields.map(|f| f + j * one.len())).collect();
        let want = added(redis).repeat(depth);
        let reply = vec![0; want.len()];
        let stream = bench_util::connect(addr);
        Zadd { stream, depth, batch: one.repeat(depth), at, want, reply, next: 0 }
    }

    /// One batch of new members out in one write, all their replies back.
    fn round_trip(&mut self) -> usize {
        for (j, [generation, score, member]) in self.at.iter().copied().enumerate() {
            let i = self.next + j;
            put_digits(&mut self.batch[generation..generation + 6], (i / CAP) as u64);
            put_digits(&mut self.batch[score..score + 12], shuffled(i));
            put_digits(&mut self.batch[member..member + 12], i as u64);
        }
        self.next += self.depth;
        self.stream.write_all(&self.batch).expect("send the batch");
        self.stream.read_exact(&mut self.reply).expect("every reply");
        assert!(self.reply == self.want, "a zadd that did not add its member");
        self.depth
    }
}
// ANCHOR_END: zadd_client

// ANCHOR: zquery_client
/// The exact reply to the query from `offset` in a set of members 0 to n-1 with scores 0 to
/// n-1 (n > offset + 9): ARR of name, score, name, score...; from Redis, an array of names.
fn zquery_reply(offset: usize, redis: bool) -> Vec<u8> {
    let members = offset..offset + MEMBERS;
    if redis {
        let mut out = format!("*{MEMBERS}\r\n").into_bytes();
        for i in members {
            out.extend_from_slice(b"$14\r\n");
            out.extend(member(i));
            out.extend_from_slice(b"\r\n");
        }
        return out;
    }
    let mut body = vec![5];
    body.extend_from_slice(&(2 * MEMBERS as u32).to_le_bytes());
    for i in members {
        body.push(2);
        body.extend_from_slice(&14u32.to_le_bytes());
        body.extend(member(i));
        body.push(4);
        body.extend_from_slice(&(i as f64).to_le_bytes());
    }
    common::frame(&body)
}

/// A client that asks for the 10 members from `offset` on, one query per round trip, and
/// reads exactly the reply. Its first reply is checked byte for byte.
fn zquery(addr: SocketAddr, offset: usize, redis: bool) -> Client {
    let offset_arg = offset.to_string().into_bytes();
    let batch = match redis {
        true => {
            resp_command(&[b"ZRANGEBYSCORE", KEY, b"-inf", b"+inf", b"LIMIT", &offset_arg, b"10"])
        }
        false => {
            let limit = (2 * MEMBERS).to_string().into_bytes();
            command(&[b"zquery", KEY, b"-inf", b"", &offset_arg, &limit])
        }
    };
    let want = zquery_reply(offset, redis);
    let mut client = Client::persistent(addr, batch, 1, want.len());
    client.round_trip();
    let server = if redis { "redis" } else { "v1_3" };
    assert!(client.reply == want, "{server}: unexpected reply to the query from {offset}");
    client
}
// ANCHOR_END: zquery_client

/// Resident memory (KiB) before and after a load, and the peak; Redis's `used_memory`
/// (bytes) before and after.
struct Memory {
    rss: [u64; 2],
    peak: u64,
    used: Option<[u64; 2]>,
}

struct Servers {
    v1_3: Server,
    redis: Option<Redis>,
    /// What loading the set cost each.
    v1_3_memory: Memory,
    redis_memory: Option<Memory>,
}

impl Servers {
    /// Both servers, fresh, each with `members` members in [`KEY`], and what that cost them.
    fn start(members: usize) -> Servers {
        let v1_3 = Server::start_with(Stage::V1_3, &["--quiet"]);
        let v1_3_memory = load_measured(v1_3.pid(), v1_3.addr, members, false);
        let redis = Redis::start();
        let redis_memory =
            redis.as_ref().map(|r| load_measured(r.child.id(), r.addr, members, true));
        Servers { v1_3, redis, v1_3_memory, redis_memory }
    }

    fn zquery_clients(&self, offset: usize) -> Vec<(&'static str, Client)> {
        let mut clients = vec![("v1_3", zquery(self.v1_3.addr, offset, false))];
        if let Some(redis) = &self.redis {
            clients.push(("redis", zquery(redis.addr, offset, true)));
        }
        clients
    }
}

/// Loads members 0 to `members`-1 with scores 0 to `members`-1 into [`KEY`], 64 per write,
/// checking every reply, and measures the memory around it.
fn load_measured(pid: u32, addr: SocketAddr, members: usize, redis: bool) -> Memory {
    let used_before = redis.then(|| bench_util::redis_info(addr, "memory", "used_memory"));
    let rss_before = common::rss_kib(pid);
    let mut stream = bench_util::connect(addr);
    let want = added(redis).repeat(64);
    let mut replies = vec![0u8; want.len()];
    let mut batch = Vec::new();
    for start in (0..members).step_by(64) {
        let end = (start + 64).min(members);
        batch.clear();
        for i in start..end {
            let (score, name) = (i.to_string().into_bytes(), member(i));
            batch.extend(match redis {
                true => resp_command(&[b"ZADD", KEY, &score, &name]),
                false => command(&[b"zadd", KEY, &score, &name]),
            });
        }
        let replies = &mut replies[..(end - start) * want.len() / 64];
        stream.write_all(&batch).expect("send the batch");
        stream.read_exact(replies).expect("every reply");
        assert!(want.starts_with(replies), "a zadd that did not add its member");
    }
    let used_after = redis.then(|| bench_util::redis_info(addr, "memory", "used_memory"));
    let used = used_before
        .zip(used_after)
        .map(|(before, after)| [before, after].map(|v| v.parse().expect("used_memory in bytes")));
    Memory { rss: [rss_before, common::rss_kib(pid)], peak: common::peak_rss_kib(pid), used }
}

/// Criterion's measurements: a group per `zquery` offset, then a group per `zadd` depth.
fn measure(c: &mut Criterion, servers: &Servers, offsets: &[usize]) {
    for &offset in offsets {
        let mut group = c.benchmark_group(format!("zset_zquery_offset_{offset}"));
        // Redis takes milliseconds a query far into the set: few samples, each of a few.
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        for (server, mut client) in servers.zquery_clients(offset) {
            group.bench_function(server, |b| b.iter(|| client.round_trip()));
        }
        group.finish();
    }
    for (depth_name, depth) in [("pingpong", 1), ("pipelined_64", 64)] {
        let mut group = c.benchmark_group(format!("zset_zadd_{depth_name}"));
        group.throughput(Throughput::Elements(depth as u64));
        let mut clients = vec![("v1_3", Zadd::new(servers.v1_3.addr, depth, false))];
        if let Some(redis) = &servers.redis {
            clients.push(("redis", Zadd::new(redis.addr, depth, true)));
        }
        for (server, mut client) in clients {
            group.bench_function(server, |b| b.iter(|| client.round_trip()));
        }
        group.finish();
    }
}

/// `zadd` throughput as paired ratios of v1.3 against Redis, measured now.
fn zadd_rows(servers: &Servers, timing: (usize, Duration)) -> Vec<String> {
    let mut rows = Vec::new();
    for (depth, how) in [(1, "ping-pong"), (64, "64 per write")] {
        let what = format!("v1.3 zadd / Redis ZADD, new members, {how}");
        let Some(redis) = &servers.redis else {
            rows.push(format!("| {what} | not measured: no redis-server | |"));
            continue;
        };
        let mut a = Zadd::new(servers.v1_3.addr, depth, false);
        let mut b = Zadd::new(redis.addr, depth, true);
        let ratio =
            bench_util::paired_rates(|| a.round_trip(), || b.round_trip(), timing.0, timing.1);
        rows.push(bench_util::ratio_row(&what, ratio, Some(1.0)));
    }
    rows
}

/// Median round trips (ns) of one query from one offset: v1.3's, and Redis's if it runs.
struct Medians {
    offset: usize,
    v1_3: u32,
    redis: Option<u32>,
}

// ANCHOR: medians
/// The median round trip of the query from each offset, on each server. Every round visits
/// each offset and each server in turn for a slice of `slice` (at least one query), each
/// round trip timed, until `budget` has passed: so every offset and both servers see the same
/// moments of a shared machine, and a busy second elsewhere lands on all of them alike.
fn medians(
    servers: &Servers,
    offsets: &[usize],
    budget: Duration,
    slice: Duration,
) -> Vec<Medians> {
    let timed = |client: &mut Client, times: &mut Vec<u32>| {
        bench_util::timed_slice(client, times, slice);
    };
    let median = |mut times: Vec<u32>| {
        times.sort_unstable();
        percentile(&times, 50.0)
    };
    // For each offset: v1.3's client and times, and Redis's.
    let mut clients: Vec<_> = offsets
        .iter()
        .map(|&offset| {
            let ours = (zquery(servers.v1_3.addr, offset, false), Vec::new());
            let redis = servers.redis.as_ref().map(|r| (zquery(r.addr, offset, true), Vec::new()));
            (ours, redis)
        })
        .collect();
    let start = Instant::now();
    while start.elapsed() < budget {
        for ((ours, ours_times), redis) in &mut clients {
            timed(ours, ours_times);
            if let Some((redis, redis_times)) = redis {
                timed(redis, redis_times);
            }
        }
    }
    let medians = clients.into_iter().zip(offsets).map(|(((_, ours), redis), &offset)| Medians {
        offset,
        v1_3: median(ours),
        redis: redis.map(|(_, times)| median(times)),
    });
    medians.collect()
}
// ANCHOR_END: medians

/// The `zquery` rows: how many times faster v1.3 answers than Redis at each offset (a target
/// at `target_offset`: 500,000, and none in a `--test` run, whose set is too small for it),
/// and how much slower v1.3 is far in than at the start.
fn zquery_rows(medians: &[Medians], target_offset: Option<usize>) -> Vec<String> {
    let mut rows = Vec::new();
    for m in medians {
        let what = format!(
            "Redis ZRANGEBYSCORE / v1.3 zquery, time per query, offset {}",
            thousands(m.offset)
        );
        let target = (Some(m.offset) == target_offset).then_some(100.0);
        rows.push(match m.redis {
            Some(redis) => {
                bench_util::ratio_row(&what, f64::from(redis) / f64::from(m.v1_3), target)
            }
            None => format!("| {what} | not measured: no redis-server | |"),
        });
    }
    let (first, last) = (&medians[0], &medians[medians.len() - 1]);
    let flat = f64::from(last.v1_3) / f64::from(first.v1_3);
    rows.push(format!(
        "| v1.3 zquery time per query, offset {} / offset {} | {} | ≤ 3×: {} |",
        thousands(last.offset),
        thousands(first.offset),
        bench_util::show_ratio(flat),
        bench_util::verdict(flat <= 3.0)
    ));
    rows
}

/// The medians themselves, a column per offset.
fn latency_rows(medians: &[Medians], members: usize) -> Vec<String> {
    let offsets: Vec<String> = medians.iter().map(|m| thousands(m.offset)).collect();
    let line = |what: &str, cells: Vec<String>| format!("| {what} | {} |", cells.join(" | "));
    let mut rows = vec![
        line(
            &format!("median round trip, 10 members from offset, {} members", thousands(members)),
            offsets,
        ),
        format!("|---{}|", "|---".repeat(medians.len())),
        line("v1.3 `zquery`", medians.iter().map(|m| bench_util::show_nanos(m.v1_3)).collect()),
    ];
    if medians.iter().all(|m| m.redis.is_some()) {
        let redis = medians.iter().filter_map(|m| m.redis).map(bench_util::show_nanos).collect();
        rows.push(line("Redis `ZRANGEBYSCORE ... LIMIT offset 10`", redis));
    }
    rows
}

// ANCHOR: chart
/// Time per query against offset, both servers, milliseconds on a log scale.
fn chart(medians: &[Medians], members: usize, redis_version: Option<&str>) -> String {
    let points = |ns: &dyn Fn(&Medians) -> Option<u32>| {
        let ms = |m: &Medians| ns(m).map(|ns| (m.offset as f64 / 1e3, f64::from(ns) / 1e6));
        medians.iter().filter_map(ms).collect::<Vec<_>>()
    };
    let redis_name = format!("Redis {} ZRANGEBYSCORE (skip list)", redis_version.unwrap_or(""));
    let mut series = vec![Series {
        name: "v1.3 zquery (AVL tree)",
        colour: "#2563eb",
        points: points(&|m| Some(m.v1_3)),
    }];
    if redis_version.is_some() {
        series.push(Series { name: &redis_name, colour: "#dc2626", points: points(&|m| m.redis) });
    }
    bench_util::line_chart(
        &format!(
            "10 members from an offset into {} members: median round trip (log scale)",
            thousands(members)
        ),
        "offset (thousands of members)",
        "ms",
        &series,
    )
}
// ANCHOR_END: chart

/// The memory rows: per member, what each server's resident memory grew by, and Redis's own
/// count of what it allocated.
fn memory_rows(servers: &Servers, members: usize, redis_version: Option<&str>) -> Vec<String> {
    let per_member = |kib: u64| kib as f64 * 1024.0 / members as f64;
    let ours = &servers.v1_3_memory;
    let mut rows = vec![
        format!(
            "| memory, {} members of 14 B in one set | resident grown, per member | \
             peak resident or used_memory grown, per member |",
            thousands(members)
        ),
        "|---|---|---|".to_string(),
        format!(
            "| v1.3 (hash table + AVL arena) | {:.0} B ({:.1} MiB) | peak {:.1} MiB in all |",
            per_member(ours.rss[1].saturating_sub(ours.rss[0])),
            (ours.rss[1].saturating_sub(ours.rss[0])) as f64 / 1024.0,
            ours.peak as f64 / 1024.0,
        ),
    ];
    rows.push(match &servers.redis_memory {
        Some(Memory { rss, used: Some(used), .. }) => format!(
            "| Redis {} (dict + skip list) | {:.0} B ({:.1} MiB) | used_memory +{:.0} B |",
            redis_version.unwrap_or(""),
            per_member(rss[1].saturating_sub(rss[0])),
            (rss[1].saturating_sub(rss[0])) as f64 / 1024.0,
            used[1].saturating_sub(used[0]) as f64 / members as f64,
        ),
        _ => "| Redis | not measured: no redis-server | |".to_string(),
    });
    rows
}

fn main() {
    let (mut c, test_mode) = bench_util::criterion();
    let (members, scale) = if test_mode { (10_000, 100) } else { (1_000_000, 1) };
    let offsets: Vec<usize> =
        [0, 1_000, 100_000, 500_000, 900_000].iter().map(|o| o / scale).collect();
    let servers = Servers::start(members);
    let redis_version =
        servers.redis.as_ref().map(|r| bench_util::redis_info(r.addr, "server", "redis_version"));
    measure(&mut c, &servers, &offsets);
    c.final_summary();

    let timing = bench_util::paired_timing(test_mode);
    let (budget, slice) = match test_mode {
        true => (Duration::from_millis(5), Duration::from_millis(1)),
        false => (Duration::from_secs(10), Duration::from_millis(10)),
    };
    let medians = medians(&servers, &offsets, budget, slice);
    let mut table = vec![
        "| measure (paired, interleaved) | this run | target |".to_string(),
        "|-------------------------------|----------|--------|".to_string(),
    ];
    table.extend(zadd_rows(&servers, timing));
    table.extend(zquery_rows(&medians, (!test_mode).then_some(500_000)));
    table.push(String::new());
    table.extend(latency_rows(&medians, members));
    table.push(String::new());
    table.extend(memory_rows(&servers, members, redis_version.as_deref()));
    let table = table.join("\n");
    println!("\n{table}\n");
    // Drawn in a `--test` run too, so that the drawing cannot rot; written only in a real one.
    let svg = chart(&medians, members, redis_version.as_deref());
    if !test_mode {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/zset-targets.md"), table + "\n");
        let path = format!("{dir}/zset-offsets.svg");
        match std::fs::write(&path, svg) {
            Ok(()) => println!("chart: {path}"),
            Err(e) => println!("chart not written to {path}: {e}"),
        }
    }
}
