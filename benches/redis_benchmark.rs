//! Redis's own benchmark tool, `redis-benchmark`, against v3.0 and against `redis-server` in
//! the same run; then one query that v3.0's tree answers and Redis's skip list walks to.
//!
//! - Throughput: `redis-benchmark -r 100000 --csv` with each of the tests of `-t
//!   ping,set,get,incr,zadd` (`PING_INLINE`, `PING_MBULK`, `SET`, `GET`, `INCR`, `ZADD`), at
//!   three configurations: one client, one request at a time (`-c 1 -P 1`, `-n 20000`); one
//!   client, 16 requests per write (`-c 1 -P 16`, `-n 200000`); 50 clients, 16 per write (`-c
//!   50 -P 16`, `-n 200000`). Each `-n` makes one round of every test on one server take 1 to
//!   2 s on a 2-core machine. `-r 100000` makes every `SET`, `GET` and `INCR` pick one of
//!   100,000 keys at random, and every `ZADD` a random score and one of 100,000 members of one
//!   set, so neither server answers the same key over and over.
//!
//!   One `redis-benchmark` run per test (`-t ping_inline`, `-t set`...), the servers taking
//!   turns test by test (v3.0's `SET`, then Redis's, then v3.0's `GET`...; the other one first
//!   on every other round), and each configuration 11 rounds: short runs, many of them,
//!   interleaved, because this machine is shared, and what else runs on it comes and goes over
//!   seconds (a `-c 1 -P 1` run is one round trip at a time, and its rate halves whenever
//!   something else takes a core). At `-c 1 -P 1`, `redis-benchmark` and both servers are
//!   kept on CPU 0 (`taskset`; see `on_its_cpu` for why). The table shows the median requests per second of each
//!   server, the ratio of the medians, and the target: at least Redis's rate; at least 1.1×
//!   for `SET` and `GET` at `-c 50 -P 16`. With `-c 50`, `redis-benchmark` (one thread) and the
//!   server compete for the two cores. Beside them, what each server's process spent per
//!   request over all its rounds, user and system CPU time from `/proc/PID/stat` (in ticks of
//!   10 ms, so only a total over many runs means anything): a machine busy elsewhere makes a
//!   server wait longer for a core, which changes its rate much more than its CPU time.
//!
//!   Every run against v3.0 must succeed: a non-zero exit, or "ERR" or "error" anywhere in its
//!   output, fails the bench (`redis-benchmark` 7 exits at the first error reply, saying
//!   "Error from server").
//! - `ZRANGEBYSCORE zq -inf +inf LIMIT 500000 10` on a set of 1,000,000 members (member
//!   `m:{i:012}` with score i, loaded 64 `ZADD`s per write, every reply checked): the median
//!   round trip on each server, both taking turns in 10 ms slices for 6 s, one query per round
//!   trip, each reply checked byte for byte against the other's. Redis steps through its skip
//!   list one member at a time to reach the offset; v3.0's order-statistic tree counts its way
//!   there in O(log n). Target: v3.0 at least 100× faster.
//!
//! Redis's columns say "not measured" when `redis-server` is not installed; without
//! `redis-benchmark` the throughput part prints one line and is skipped.
//!
//! `cargo bench --bench redis_benchmark` takes about four minutes, and writes the tables to
//! `target/criterion/redis-benchmark-targets.md`. `cargo bench --bench redis_benchmark --
//! --test` (CI) runs everything once with `-n 1024` and a set of 10,000 members (offset
//! 5,000), in about a second, judges no target, and writes no file; it still fails if
//! `redis-benchmark` reports any error against v3.0.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use bench_util::{Client, Redis, percentile, show_nanos, thousands};
use common::{Server, Stage, resp_command};

/// Each test: what `-t` is given for it, and the name `--csv` reports it under. Together,
/// what `-t ping,set,get,incr,zadd` runs (`ping` is both pings).
const TESTS: [(&str, &str); 6] = [
    ("ping_inline", "PING_INLINE"),
    ("ping_mbulk", "PING_MBULK"),
    ("set", "SET"),
    ("get", "GET"),
    ("incr", "INCR"),
    ("zadd", "ZADD"),
];

/// `-r`: how many keys (and members, and scores) the random ones are drawn from.
const KEYSPACE: usize = 100_000;

/// Rounds of every configuration in a full run; the median of each server's rates is shown.
const ROUNDS: usize = 11;

/// Requests per test in a `--test` run, whatever the configuration: a multiple of every `-P`.
/// `redis-benchmark` counts every reply, so with `-n 1000 -P 16` it ends having counted 1,008;
/// and if its first progress tick, 1 ms in, comes as the last client leaves (a run that fast
/// is one of v3.0's PING runs), it finds the count is not `-n` and aborts: "All clients
/// disconnected... aborting." (It did, in one run of eight.)
const TEST_REQUESTS: usize = 1_024;

/// No single `redis-benchmark` run may take longer (one of a full run takes under a second).
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The sorted set the query reads.
const KEY: &[u8] = b"zq";

/// One way of running `redis-benchmark`: clients, requests per write, requests per test; and
/// the CPU that it and both servers are kept on, if any.
#[derive(Clone, Copy)]
struct Config {
    clients: usize,
    pipeline: usize,
    requests: usize,
    cpu: Option<&'static str>,
}

impl Config {
    fn name(self) -> String {
        format!("-c {} -P {}", self.clients, self.pipeline)
    }

    /// The lowest ratio of v3.0's rate to Redis's that `test` must reach here.
    fn target(self, test: &str) -> f64 {
        match (self.clients, self.pipeline, test) {
            (50, 16, "SET" | "GET") => 1.1,
            _ => 1.0,
        }
    }
}

/// The configurations of a full run, each `-n` chosen so that a round of every test on one
/// server takes 1 to 2 s.
const CONFIGS: [Config; 3] = [
    Config { clients: 1, pipeline: 1, requests: 20_000, cpu: Some("0") },
    Config { clients: 1, pipeline: 16, requests: 200_000, cpu: None },
    Config { clients: 50, pipeline: 16, requests: 200_000, cpu: None },
];

/// The version `redis-benchmark --version` reports, or `None` when it is not installed.
fn benchmark_version() -> Option<String> {
    let out = Command::new("redis-benchmark").arg("--version").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Runs `redis-benchmark -t test` against `addr` and returns the requests per second it
/// reports; or, if it failed (a non-zero exit, "ERR" or "error" in its output, no rate for the
/// test, or no end within [`RUN_LIMIT`]), everything it printed.
fn run(addr: SocketAddr, (test, name): (&str, &str), config: Config) -> Result<f64, String> {
    let numbers =
        [config.clients, config.pipeline, config.requests, KEYSPACE].map(|n| n.to_string());
    let mut command = match config.cpu {
        Some(cpu) => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", cpu, "redis-benchmark"]);
            taskset
        }
        None => Command::new("redis-benchmark"),
    };
    let mut child = command
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string(), "-t", test])
        .args(["-c", &numbers[0], "-P", &numbers[1], "-n", &numbers[2], "-r", &numbers[3]])
        .arg("--csv")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start redis-benchmark: {e}"))?;
    // Read on threads of their own, so that a chatty failure cannot fill a pipe and hang.
    let stdout = common::lines_of(child.stdout.take().expect("piped stdout"));
    let stderr = common::lines_of(child.stderr.take().expect("piped stderr"));
    // No event says a child has exited short of blocking in wait(), which could hang the
    // bench forever on a server that stopped answering: look every few milliseconds instead.
    let started = Instant::now();
    let status = loop {
        match child.try_wait().expect("poll redis-benchmark") {
            Some(status) => break Some(status),
            None if started.elapsed() > RUN_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(5)),
        }
    };
    // The reading threads end at end of file, now that the process has.
    let lines: Vec<String> = stdout.iter().chain(stderr.iter()).collect();
    let text = lines.join("\n");
    let failed = match status {
        None => Some(format!("no end within {RUN_LIMIT:?}")),
        Some(status) if !status.success() => Some(format!("exit status {status}")),
        Some(_) if text.contains("ERR") || text.to_lowercase().contains("error") => {
            Some("an error in its output".to_string())
        }
        Some(_) => None,
    };
    if let Some(why) = failed {
        return Err(format!("{why}:\n{text}"));
    }
    // `"SET","712250.88","0.067",...`: the test's name and its requests per second.
    let quoted = format!("\"{name}\",");
    let line = lines.iter().find(|l| l.starts_with(&quoted));
    let rate = line.and_then(|l| l.split(',').nth(1)?.trim_matches('"').parse::<f64>().ok());
    let rate =
        rate.filter(|r| *r > 0.0).ok_or_else(|| format!("no rate for {name} in:\n{text}"))?;
    // "inf": the run took under the millisecond redis-benchmark times in (a `--test` run's
    // tiny -n); it was at least that fast.
    Ok(rate.min(config.requests as f64 * 1000.0))
}

/// A server under test: where it listens, and its process, whose CPU time is read.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    addr: SocketAddr,
    pid: u32,
}

/// What one server did in one test of one configuration, over every round.
#[derive(Default)]
struct Tally {
    /// Requests per second, one per round.
    rates: Vec<f64>,
    /// Its process's CPU time (user + system, in ticks of 10 ms) across those runs.
    ticks: u64,
    requests: usize,
}

impl Tally {
    fn median(&self) -> f64 {
        let mut sorted = self.rates.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    }

    /// Microseconds of CPU per request.
    fn cpu_micros(&self) -> f64 {
        self.ticks as f64 * 10_000.0 / self.requests as f64
    }
}

/// Per configuration (its index) and test: v3.0's tally, then Redis's if it runs.
type Tallies = BTreeMap<(usize, &'static str), Vec<Tally>>;

/// Every configuration, `rounds` times, the servers taking turns test by test. A failed run
/// against v3.0 fails the bench; so does one against Redis (something is wrong with the
/// machine, and the comparison would mean nothing).
fn throughput(servers: &[Target], configs: &[Config], rounds: usize) -> Tallies {
    let mut tallies = Tallies::new();
    for (c, &config) in configs.iter().enumerate() {
        let config = on_its_cpu(servers, config);
        for round in 0..rounds {
            let mut line =
                format!("{}, -n {}, round {}:", config.name(), config.requests, round + 1);
            for test in TESTS {
                let tally = tallies
                    .entry((c, test.1))
                    .or_insert_with(|| servers.iter().map(|_| Tally::default()).collect());
                let mut order: Vec<usize> = (0..servers.len()).collect();
                // Whoever went second goes first in the next round.
                if round % 2 == 1 {
                    order.reverse();
                }
                for i in order {
                    let server = servers[i];
                    let before = common::cpu_ticks(server.pid);
                    let rate = run(server.addr, test, config).unwrap_or_else(|e| {
                        let what = format!("-t {} {}", test.0, config.name());
                        panic!("redis-benchmark {what} against {}: {e}", server.name)
                    });
                    let after = common::cpu_ticks(server.pid);
                    let ticks = (after[0] + after[1]) - (before[0] + before[1]);
                    tally[i].rates.push(rate);
                    tally[i].ticks += ticks;
                    tally[i].requests += config.requests;
                }
                let rates: Vec<String> =
                    tally.iter().map(|t| format!("{:.0}k", t.rates[round] / 1e3)).collect();
                line += &format!(" {} {}", test.1, rates.join("/"));
            }
            println!("{line}");
        }
        if config.cpu.is_some() {
            for server in servers {
                bench_util::pin(server.pid, "0-1", true);
            }
        }
    }
    tallies
}

/// Keeps both servers (every thread of each) on `config`'s CPU, if it has one; `config`
/// without it if they cannot be kept there.
///
/// `-c 1 -P 1` is one round trip at a time, about 5 µs of work on either side. On this
/// virtual machine a wake-up that crosses CPUs costs some 25 µs each way, so where the
/// scheduler puts `redis-benchmark` and the server, which it decides afresh for every run,
/// sets the rate: 10,000 or 100,000 requests per second, for either server. On one CPU, the
/// time is the work each side does, and the two servers are compared on that.
fn on_its_cpu(servers: &[Target], config: Config) -> Config {
    let Some(cpu) = config.cpu else { return config };
    let pinned = servers.iter().all(|server| bench_util::pin(server.pid, cpu, true));
    Config { cpu: pinned.then_some(cpu), ..config }
}

/// The throughput table: a row per configuration and test.
fn throughput_rows(tallies: &Tallies, configs: &[Config], judge: bool) -> Vec<String> {
    let mut rows = vec![
        "| test | redis-benchmark | v3.0 req/s | Redis req/s | v3.0 / Redis | target | \
         CPU per request, v3.0 / Redis |"
            .to_string(),
        "|---|---|---|---|---|---|---|".to_string(),
    ];
    for (c, &config) in configs.iter().enumerate() {
        for (_, name) in TESTS {
            let tally = &tallies[&(c, name)];
            let ours = &tally[0];
            let start =
                format!("| {name} | {} | {} |", config.name(), thousands(ours.median() as usize));
            let Some(redis) = tally.get(1) else {
                let cpu = format!("{:.2} µs / -", ours.cpu_micros());
                rows.push(format!("{start} not measured: no redis-server | | | {cpu} |"));
                continue;
            };
            let ratio = ours.median() / redis.median();
            let target = config.target(name);
            let verdict = match judge {
                true => format!("≥ {target}×: {}", bench_util::verdict(ratio >= target)),
                false => format!("≥ {target}× (not judged: --test)"),
            };
            rows.push(format!(
                "{start} {} | {} | {verdict} | {:.2} / {:.2} µs |",
                thousands(redis.median() as usize),
                bench_util::show_ratio(ratio),
                ours.cpu_micros(),
                redis.cpu_micros()
            ));
        }
    }
    rows
}

// ANCHOR: zquery
/// Loads members 0 to `members`-1 (`m:{i:012}`, score i) into [`KEY`], 64 `ZADD`s per write,
/// checking that each was added.
fn load(addr: SocketAddr, members: usize) {
    let mut stream = bench_util::connect(addr);
    let want = b":1\r\n".repeat(64);
    let mut replies = vec![0u8; want.len()];
    let mut batch = Vec::new();
    for start in (0..members).step_by(64) {
        let end = (start + 64).min(members);
        batch.clear();
        for i in start..end {
            let (score, member) = (i.to_string(), format!("m:{i:012}"));
            batch.extend(resp_command(&[b"ZADD", KEY, score.as_bytes(), member.as_bytes()]));
        }
        let replies = &mut replies[..(end - start) * 4];
        stream.write_all(&batch).expect("send the batch");
        stream.read_exact(replies).expect("every reply");
        assert!(want.starts_with(replies), "a ZADD that did not add its member");
    }
}

/// A client that asks for the 10 members from `offset` on, one query per round trip, and
/// reads exactly Redis's reply: an array of 10 names. Its first reply is checked byte for
/// byte.
fn zquery(addr: SocketAddr, offset: usize, server: &str) -> Client {
    let offset_arg = offset.to_string();
    let query = [b"ZRANGEBYSCORE", KEY, b"-inf", b"+inf", b"LIMIT", offset_arg.as_bytes(), b"10"];
    let mut want = b"*10\r\n".to_vec();
    for i in offset..offset + 10 {
        want.extend(format!("$14\r\nm:{i:012}\r\n").into_bytes());
    }
    let mut client = Client::persistent(addr, resp_command(&query), 1, want.len());
    client.round_trip();
    assert!(client.reply == want, "{server}: unexpected reply to the query from {offset}");
    client
}

/// The median round trip (ns) of each client's query. The clients take turns in slices of
/// `slice` (at least one query each) until `budget` has passed, each round trip timed: so both
/// see the same moments of a shared machine.
fn medians(clients: &mut [Client], budget: Duration, slice: Duration) -> Vec<u32> {
    let mut times = vec![Vec::new(); clients.len()];
    let start = Instant::now();
    while start.elapsed() < budget {
        for (client, times) in clients.iter_mut().zip(&mut times) {
            bench_util::timed_slice(client, times, slice);
        }
    }
    times
        .into_iter()
        .map(|mut times| {
            times.sort_unstable();
            percentile(&times, 50.0)
        })
        .collect()
}
// ANCHOR_END: zquery

/// The query's table: each median round trip, and how many times faster v3.0 answers.
fn zquery_rows(
    ours: SocketAddr,
    redis: Option<SocketAddr>,
    members: usize,
    test_mode: bool,
) -> Vec<String> {
    let offset = members / 2;
    let (budget, slice) = match test_mode {
        true => (Duration::from_millis(5), Duration::from_millis(1)),
        false => (Duration::from_secs(6), Duration::from_millis(10)),
    };
    let mut clients = vec![zquery(ours, offset, "v3.0")];
    clients.extend(redis.map(|r| zquery(r, offset, "Redis")));
    let medians = medians(&mut clients, budget, slice);
    let what = format!(
        "ZRANGEBYSCORE {} -inf +inf LIMIT {offset} 10, {} members",
        String::from_utf8_lossy(KEY),
        thousands(members)
    );
    let mut rows = vec![
        "| query | v3.0 median round trip | Redis median round trip | Redis / v3.0 | target |"
            .to_string(),
        "|-------|------------------------|-------------------------|--------------|--------|"
            .to_string(),
    ];
    rows.push(match medians[..] {
        [ours, redis] => {
            let ratio = f64::from(redis) / f64::from(ours);
            let verdict = match test_mode {
                false => format!("≥ 100×: {}", bench_util::verdict(ratio >= 100.0)),
                true => "≥ 100× (not judged: --test)".to_string(),
            };
            format!(
                "| {what} | {} | {} | {} | {verdict} |",
                show_nanos(ours),
                show_nanos(redis),
                bench_util::show_ratio(ratio)
            )
        }
        _ => format!("| {what} | {} | not measured: no redis-server | | |", show_nanos(medians[0])),
    });
    rows
}

fn main() {
    let test_mode = bench_util::test_mode();
    let ours = Server::start_with(Stage::V3_0, &["--quiet"]);
    let redis = Redis::start();
    let redis_addr = redis.as_ref().map(|r| r.addr);
    let mut servers = vec![Target { name: "v3.0", addr: ours.addr, pid: ours.pid() }];
    servers.extend(redis.as_ref().map(|r| Target {
        name: "Redis",
        addr: r.addr,
        pid: r.child.id(),
    }));
    let server_version = redis.as_ref().and_then(|_| {
        let out = Command::new("redis-server").arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.split_whitespace().find_map(|w| w.strip_prefix("v=")).map(str::to_string)
    });

    let configs: Vec<Config> = match test_mode {
        true => CONFIGS.iter().map(|&c| Config { requests: TEST_REQUESTS, ..c }).collect(),
        false => CONFIGS.to_vec(),
    };
    let rounds = if test_mode { 1 } else { ROUNDS };
    let mut table = Vec::new();
    match benchmark_version() {
        None => println!(
            "redis-benchmark: skipped, redis-benchmark is not installed (apt-get install redis-tools)"
        ),
        Some(version) => {
            let tallies = throughput(&servers, &configs, rounds);
            let n: Vec<String> =
                configs.iter().map(|c| format!("{} at {}", c.requests, c.name())).collect();
            table.push(format!(
                "{version} against v3.0 and Redis {}, test by test in turn, one run per test: \
                 `-t ping,set,get,incr,zadd -r {KEYSPACE} --csv`, -n {}; median of {rounds} \
                 round(s). At -c 1 -P 1, redis-benchmark and both servers are kept on CPU 0; \
                 with -c 50, redis-benchmark and the server compete for 2 cores.",
                server_version.as_deref().unwrap_or("(not installed)"),
                n.join(", ")
            ));
            table.push(String::new());
            table.extend(throughput_rows(&tallies, &configs, !test_mode));
            table.push(String::new());
            println!("redis-benchmark ran every test against v3.0 without an error");
        }
    }

    let members = if test_mode { 10_000 } else { 1_000_000 };
    load(ours.addr, members);
    if let Some(redis) = redis_addr {
        load(redis, members);
    }
    table.extend(zquery_rows(ours.addr, redis_addr, members, test_mode));

    let table = table.join("\n");
    bench_util::report(&table, "redis-benchmark", test_mode);
}
