//! Round trips through real servers on loopback, in requests per second, all in one run:
//!
//! - v0.1, a new connection per request;
//! - v0.2 on one connection: ping-pong, and pipelined 16 and 64 deep (and 16 deep with
//!   `--nagle`, to show the stall TCP_NODELAY prevents);
//! - v0.3 the same ways, and with 100 clients at once, one request each per round trip (the
//!   floor and Redis too; v0.2 serves one client at a time, so it cannot take part);
//! - the *floor*: a minimal server of the same protocol inside this bench (one read of
//!   whatever has arrived, every complete frame answered in one write, TCP_NODELAY), the best
//!   this protocol allows on this machine;
//! - real Redis answering `PING`, when `redis-server` is installed.
//!
//! After criterion's measurements it measures the v0.2 server's peak memory over 100,000
//! requests, the targets (see the book's Measurements chapter) as paired ratios, alternating
//! bursts so that they hold even on a noisy machine, each server's CPU per request, and, when
//! `strace` is installed, system calls per request. It prints them as Markdown tables, also
//! written to `target/criterion/roundtrip-targets.md`, and draws criterion's figures as a
//! chart, `target/criterion/roundtrip-chart.svg` (neither file with `--test`).
//!
//! `cargo bench --bench roundtrip`; `cargo bench --bench roundtrip -- --test` runs each once.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::thread;
use std::time::Duration;

use bench_util::{Client, Conn, Redis, criterion_dir, row};
use common::{Server, Stage, frame};
use criterion::{Criterion, Throughput};
use redis_lite::frame::parse_frame;

const HELLO_REPLY_LEN: usize = 9; // 05 00 00 00 "world"
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";

/// The round-trip clients: one per kind of server this bench measures.
impl Client {
    fn v0_1(addr: SocketAddr) -> Client {
        let reply = b"world".to_vec();
        Client { conn: Conn::PerRequest(addr), depth: 1, batch: b"hello".to_vec(), reply }
    }

    fn framed(addr: SocketAddr, depth: usize) -> Client {
        Client::persistent(addr, frame(b"hello").repeat(depth), depth, HELLO_REPLY_LEN)
    }

    fn redis(addr: SocketAddr, depth: usize) -> Client {
        Client::persistent(addr, PING.repeat(depth), depth, PONG.len())
    }

    /// `clients` connections, each sending one framed request (or PING) per round trip.
    fn crowd(addr: SocketAddr, clients: usize, redis: bool) -> Client {
        let streams = (0..clients).map(|_| connect(addr)).collect();
        let (batch, reply) =
            if redis { (PING.to_vec(), PONG.len()) } else { (frame(b"hello"), HELLO_REPLY_LEN) };
        Client { conn: Conn::Crowd(streams), depth: clients, batch, reply: vec![0; reply] }
    }

    /// Another client on this one's connection, sending `depth` frames per batch: for
    /// comparing depths on one server that serves one connection at a time.
    fn same_connection(&self, depth: usize) -> Client {
        let Conn::Persistent(stream) = &self.conn else {
            panic!("only a persistent connection can be shared");
        };
        let stream = stream.try_clone().expect("a second handle on the connection");
        let batch = frame(b"hello").repeat(depth);
        Client {
            conn: Conn::Persistent(stream),
            depth,
            batch,
            reply: vec![0; depth * HELLO_REPLY_LEN],
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    bench_util::connect(addr)
}

// ANCHOR: floor
/// Set in the environment of this bench binary when it is started again as the floor server.
const FLOOR_ENV: &str = "REDIS_LITE_BENCH_FLOOR";

/// Starts the floor server: this same binary, in a process of its own like every other server
/// here, so that none of them shares a process, or a scheduler's favours, with the client.
fn start_floor() -> Server {
    let mut cmd = Command::new(std::env::current_exe().expect("the bench binary's path"));
    cmd.env(FLOOR_ENV, "1");
    Server::start_stand_in("floor", Stage::V0_2, cmd)
}

/// The floor: the least a server of this protocol can do per request. One `read` of whatever
/// has arrived, every complete frame in it answered, all the replies in one `write`.
fn floor_server() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", listener.local_addr()?);
    for stream in listener.incoming().flatten() {
        thread::spawn(move || floor_connection(stream));
    }
    Ok(())
}

fn floor_connection(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let reply = frame(b"world");
    let (mut incoming, mut filled, mut out) = (vec![0u8; 64 * 1024], 0, Vec::new());
    loop {
        let n = stream.read(&mut incoming[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut at = 0;
        while let Some((_body, used)) = parse_frame(&incoming[at..filled])? {
            out.extend_from_slice(&reply);
            at += used;
        }
        incoming.copy_within(at..filled, 0);
        filled -= at;
        stream.write_all(&out)?;
        out.clear();
    }
}
// ANCHOR_END: floor

/// Every server under test, each in its own process.
struct Servers {
    v0_1: Server,
    v0_2: Server,
    v0_2_nagle: Server,
    v0_3: Server,
    floor: Server,
    redis: Option<Redis>,
}

impl Servers {
    fn start() -> Servers {
        Servers {
            v0_1: Server::start_with(Stage::V0_1, &["--quiet"]),
            v0_2: Server::start_with(Stage::V0_2, &["--quiet"]),
            v0_2_nagle: Server::start_with(Stage::V0_2, &["--quiet", "--nagle"]),
            v0_3: Server::start_with(Stage::V0_3, &["--quiet"]),
            floor: start_floor(),
            redis: Redis::start(),
        }
    }

    /// A client for each server that takes `depth` requests per round trip, by name.
    fn clients(&self, depth: usize) -> Vec<(&'static str, Client)> {
        let mut clients = Vec::new();
        if depth == 1 {
            clients.push(("v0_1_new_connection", Client::v0_1(self.v0_1.addr)));
        }
        clients.push(("v0_2", Client::framed(self.v0_2.addr, depth)));
        if depth == 16 {
            clients.push(("v0_2_nagle", Client::framed(self.v0_2_nagle.addr, depth)));
        }
        clients.push(("v0_3", Client::framed(self.v0_3.addr, depth)));
        clients.push(("floor", Client::framed(self.floor.addr, depth)));
        if let Some(redis) = &self.redis {
            clients.push(("redis", Client::redis(redis.addr, depth)));
        }
        clients
    }

    /// A crowd of `clients` connections for each server that can serve them all at once.
    fn crowds(&self, clients: usize) -> Vec<(&'static str, Client)> {
        let mut crowds = vec![
            ("v0_3", Client::crowd(self.v0_3.addr, clients, false)),
            ("floor", Client::crowd(self.floor.addr, clients, false)),
        ];
        if let Some(redis) = &self.redis {
            crowds.push(("redis", Client::crowd(redis.addr, clients, true)));
        }
        crowds
    }
}

/// Criterion's measurements: one group per depth, so each plot compares like with like.
fn measure(c: &mut Criterion, servers: &Servers) {
    for (group_name, depth) in [("pingpong", 1), ("pipelined_16", 16), ("pipelined_64", 64)] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(depth as u64));
        for (name, mut client) in servers.clients(depth) {
            if name == "v0_2_nagle" {
                // Each round trip waits tens of milliseconds: few samples, or this alone
                // would take minutes.
                group.sample_size(10);
            }
            group.bench_function(name, |b| b.iter(|| client.round_trip()));
        }
        group.finish();
    }
    // 100 clients at once, one request each per round trip: only servers that serve many
    // clients at once can take part (v0.2 would serve the first and never the second).
    let mut group = c.benchmark_group("concurrent_100");
    group.throughput(Throughput::Elements(100));
    for (name, mut client) in servers.crowds(100) {
        group.bench_function(name, |b| b.iter(|| client.round_trip()));
    }
    group.finish();
}

/// The v0.2 server's peak resident memory (VmHWM) after `requests` requests, in KiB.
fn peak_rss_kib(requests: usize) -> u64 {
    let server = Server::start_with(Stage::V0_2, &["--quiet"]);
    let mut client = Client::framed(server.addr, 64);
    for _ in 0..requests.div_ceil(64) {
        client.round_trip();
    }
    common::peak_rss_kib(server.pid())
}

/// Requests per second in criterion's estimate for one benchmark, if it has run.
fn criterion_rate(group: &str, bench: &str, depth: usize) -> Option<f64> {
    let path = format!("{}/{group}/{bench}/new/estimates.json", criterion_dir());
    let json = std::fs::read_to_string(path).ok()?;
    // {"mean":{...,"point_estimate":12345.6,...},"slope":{...},...}, read without a JSON
    // crate. criterion reports the slope when it has one (linear sampling), else the mean.
    let at = json.find("\"slope\":{").or_else(|| json.find("\"mean\":{"))?;
    let estimate = &json[at..];
    let key = "\"point_estimate\":";
    let value = &estimate[estimate.find(key)? + key.len()..];
    let nanos: f64 = value[..value.find([',', '}'])?].parse().ok()?;
    Some(depth as f64 * 1e9 / nanos)
}

// ANCHOR: chart
/// Draws criterion's figures as a bar chart, requests per second, one bar per server and
/// depth: `target/criterion/roundtrip-chart.svg` (the book's copy is in assets/).
fn chart() -> String {
    let groups =
        [("pingpong", 1), ("pipelined_16", 16), ("pipelined_64", 64), ("concurrent_100", 100)];
    let benches = ["v0_1_new_connection", "v0_2", "v0_2_nagle", "v0_3", "floor", "redis"];
    let bars: Vec<(String, f64)> = groups
        .iter()
        .flat_map(|&(group, depth)| {
            benches.iter().filter_map(move |bench| {
                criterion_rate(group, bench, depth).map(|rate| (format!("{group} / {bench}"), rate))
            })
        })
        .collect();
    chart_svg(&bars)
}

/// The chart itself. The axis is linear from zero, so that a bar 26 times as long as another
/// is 26 times the rate: a log axis would draw 26× as a small step, and a log axis has no
/// zero to start from. Small rates get short bars; the figure beside each bar says what it is.
fn chart_svg(bars: &[(String, f64)]) -> String {
    let (left, width, row) = (250.0, 440.0, 26.0);
    let most = bars.iter().map(|&(_, rate)| rate).fold(1.0, f64::max);
    let step = round_step(most / 5.0);
    let top = (most / step).ceil() * step;
    let x = |rate: f64| left + width * rate.max(0.0) / top;
    let height = 70.0 + row * bars.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{height}\" \
         font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">\n\
         <rect width=\"760\" height=\"{height}\" fill=\"#fff\"/>\n\
         <text x=\"380\" y=\"22\" text-anchor=\"middle\" font-weight=\"bold\">\
         Requests per second on loopback (linear scale from 0; more is better)</text>\n"
    );
    let ticks = (top / step).round() as usize;
    for i in 0..=ticks {
        let gx = x(step * i as f64);
        svg += &format!(
            "<line x1=\"{gx}\" y1=\"40\" x2=\"{gx}\" y2=\"{}\" stroke=\"#ddd\"/>\
             <text x=\"{gx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{}</text>\n",
            height - 20.0,
            height - 6.0,
            short_number(step * i as f64)
        );
    }
    for (i, (name, rate)) in bars.iter().enumerate() {
        let y = 45.0 + row * i as f64;
        let colour = if name.contains("v0_") { "#2563eb" } else { "#9ca3af" };
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"/>\
             <text x=\"{}\" y=\"{}\">{rate:.0}</text>\n",
            left - 8.0,
            y + 14.0,
            x(*rate) - left,
            row - 8.0,
            x(*rate) + 5.0,
            y + 14.0
        );
    }
    svg + "</svg>\n"
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `raw`: grid lines a
/// reader can add up.
fn round_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|&s| s >= raw).unwrap_or(raw)
}

/// 2500000 as `2.5M`, 500000 as `500k`.
fn short_number(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}
// ANCHOR_END: chart

/// Microseconds of the server's own CPU per request, user and system, over `requests`
/// requests from `client`.
fn server_cpu_per_request(pid: u32, mut client: Client, requests: usize) -> [f64; 2] {
    let batches = requests.div_ceil(client.depth);
    let before = common::cpu_ticks(pid);
    for _ in 0..batches {
        client.round_trip();
    }
    let after = common::cpu_ticks(pid);
    // A tick is 1/100 s, 10,000 µs.
    let per_request =
        |i: usize| (after[i] - before[i]) as f64 * 10_000.0 / (batches * client.depth) as f64;
    [per_request(0), per_request(1)]
}

/// Where a round trip's time goes: the server's own CPU per request, in user space (its own
/// code) and in the kernel (system calls, and the TCP work they do), ping-pong and pipelined.
fn server_cpu(servers: &Servers, requests: usize) -> Vec<String> {
    let mut rows = vec![
        "| server CPU per request | ping-pong: user | system | pipelined 64: user | system |"
            .to_string(),
        "|------------------------|-----------------|--------|--------------------|--------|"
            .to_string(),
    ];
    let mut servers_by_name = vec![
        ("v0.2", servers.v0_2.pid(), servers.v0_2.addr, false),
        ("v0.3", servers.v0_3.pid(), servers.v0_3.addr, false),
        ("floor", servers.floor.pid(), servers.floor.addr, false),
    ];
    if let Some(redis) = &servers.redis {
        servers_by_name.push(("Redis", redis.child.id(), redis.addr, true));
    }
    for (name, pid, addr, is_redis) in servers_by_name {
        let client =
            |depth| if is_redis { Client::redis(addr, depth) } else { Client::framed(addr, depth) };
        let [user, system] = server_cpu_per_request(pid, client(1), requests);
        let [user_64, system_64] = server_cpu_per_request(pid, client(64), requests * 4);
        rows.push(format!(
            "| {name} | {user:.1} µs | {system:.1} µs | {user_64:.2} µs | {system_64:.2} µs |"
        ));
    }
    rows
}

// ANCHOR: syscalls
/// System calls per request at `depth` requests per write, for v0.2, v0.3 and Redis, counted
/// by running each server under `strace -c -f` for `batches` batches on one connection. The
/// count includes the server's start-up, about a hundred calls, under 0.01 per request here.
fn syscalls_per_request(depth: usize, batches: usize) -> Vec<String> {
    if Command::new("strace").arg("-V").output().is_err() {
        return vec![
            "(system calls not counted: strace is not installed; apt-get install strace)".into(),
        ];
    }
    // strace writes its summaries here; in a fresh checkout nothing else has made it yet.
    std::fs::create_dir_all(criterion_dir()).expect("a directory for strace's summaries");
    let mut rows = vec![
        format!("| server system calls per request, {depth} per write | this run |"),
        "|---------------------------------------------|----------|".to_string(),
    ];
    for stage in [Stage::V0_2, Stage::V0_3] {
        let out = format!("{}/strace-{}.txt", criterion_dir(), stage.name());
        let mut cmd = Command::new("strace");
        cmd.args(["-c", "-f", "-o", &out, stage.bin(), "--quiet", "--addr", "127.0.0.1:0"]);
        let mut server = Server::start_command(stage, cmd);
        let mut client = Client::framed(server.addr, depth);
        (0..batches).for_each(|_| client.round_trip());
        stop_traced(server.pid());
        server.wait_for_exit();
        rows.push(format!(
            "| {} | {:.3} |",
            stage.name(),
            strace_total(&out) / (depth * batches) as f64
        ));
    }
    let out = &format!("{}/strace-redis.txt", criterion_dir());
    if let Some(mut redis) = Redis::start_under(&["strace", "-c", "-f", "-o", out]) {
        let mut client = Client::redis(redis.addr, depth);
        (0..batches).for_each(|_| client.round_trip());
        stop_traced(redis.child.id());
        common::wait_for_exit(&mut redis.child, "strace redis-server");
        rows.push(format!("| redis | {:.3} |", strace_total(out) / (depth * batches) as f64));
    }
    rows
}

/// Stops the process that strace (`tracer`) runs, with SIGTERM, so that strace writes its
/// summary and exits; killing strace itself would lose the summary.
fn stop_traced(tracer: u32) {
    let children = std::fs::read_to_string(format!("/proc/{tracer}/task/{tracer}/children"))
        .expect("/proc/PID/task/PID/children");
    for pid in children.split_whitespace() {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
}

/// The number in the calls column of the `total` line of an `strace -c` summary.
fn strace_total(path: &str) -> f64 {
    let summary = std::fs::read_to_string(path).expect("strace's summary");
    let total = summary.lines().find(|l| l.trim_end().ends_with("total")).expect("a total line");
    total.split_whitespace().nth(3).and_then(|calls| calls.parse().ok()).expect("a call count")
}
// ANCHOR_END: syscalls

/// The targets, each a paired ratio measured now. v0.2 serves one connection at a time, so
/// each row's clients are made, used and dropped before the next row's.
fn targets(servers: &Servers, timing: (usize, Duration), peak_kib: u64) -> Vec<String> {
    let (v0_2, v0_3, floor) = (servers.v0_2.addr, servers.v0_3.addr, servers.floor.addr);
    let redis = |depth| servers.redis.as_ref().map(|r| Client::redis(r.addr, depth));
    let depth_16_against_1 = || {
        let a = Client::framed(v0_2, 16);
        let b = a.same_connection(1);
        row("v0.2 pipelined 16 / v0.2 ping-pong", a, Some(b), Some(1.5), timing)
    };
    let verdict = if peak_kib <= 4096 { "met" } else { "**missed**" };
    vec![
        row(
            "v0.2 ping-pong / floor ping-pong",
            Client::framed(v0_2, 1),
            Some(Client::framed(floor, 1)),
            Some(0.9),
            timing,
        ),
        row(
            "v0.2 ping-pong / Redis PING ping-pong",
            Client::framed(v0_2, 1),
            redis(1),
            Some(1.2),
            timing,
        ),
        depth_16_against_1(),
        row(
            "v0.1 (a connection per request) / v0.2 ping-pong",
            Client::v0_1(servers.v0_1.addr),
            Some(Client::framed(v0_2, 1)),
            None,
            timing,
        ),
        row(
            "v0.2 --nagle pipelined 16 / v0.2 pipelined 16",
            Client::framed(servers.v0_2_nagle.addr, 16),
            Some(Client::framed(v0_2, 16)),
            None,
            timing,
        ),
        row(
            "v0.2 pipelined 64 / floor pipelined 64",
            Client::framed(v0_2, 64),
            Some(Client::framed(floor, 64)),
            None,
            timing,
        ),
        row(
            "v0.2 pipelined 64 / Redis pipelined 64",
            Client::framed(v0_2, 64),
            redis(64),
            None,
            timing,
        ),
        format!(
            "| v0.2 server peak RSS after 100,000 requests | {peak_kib} KiB | ≤ 4096 KiB: {verdict} |"
        ),
        row(
            "v0.3 ping-pong / v0.2 ping-pong",
            Client::framed(v0_3, 1),
            Some(Client::framed(v0_2, 1)),
            Some(0.9),
            timing,
        ),
        row(
            "v0.3 pipelined 64 / floor pipelined 64",
            Client::framed(v0_3, 64),
            Some(Client::framed(floor, 64)),
            Some(0.8),
            timing,
        ),
        row(
            "v0.3 pipelined 64 / Redis pipelined 64",
            Client::framed(v0_3, 64),
            redis(64),
            Some(1.5),
            timing,
        ),
        row(
            "v0.3 pipelined 64 / v0.2 pipelined 64",
            Client::framed(v0_3, 64),
            Some(Client::framed(v0_2, 64)),
            None,
            timing,
        ),
        row(
            "v0.3, 100 clients at once / Redis, 100 clients at once",
            Client::crowd(v0_3, 100, false),
            servers.redis.as_ref().map(|r| Client::crowd(r.addr, 100, true)),
            None,
            timing,
        ),
    ]
}

fn main() {
    if std::env::var_os(FLOOR_ENV).is_some() {
        if let Err(e) = floor_server() {
            eprintln!("floor server: {e}");
        }
        return;
    }
    let (mut c, test_mode) = bench_util::criterion();
    let servers = Servers::start();
    measure(&mut c, &servers);
    c.final_summary();

    let (rounds, burst) = bench_util::paired_timing(test_mode);
    let requests = if test_mode { 1_000 } else { 100_000 };
    let peak_kib = peak_rss_kib(requests);
    let mut table = vec![
        "| measure (paired, interleaved) | this run | target |".to_string(),
        "|-------------------------------|----------|--------|".to_string(),
    ];
    table.extend(targets(&servers, (rounds, burst), peak_kib));
    table.push(String::new());
    table.extend(server_cpu(&servers, if test_mode { 100 } else { 50_000 }));
    table.push(String::new());
    table.extend(syscalls_per_request(16, if test_mode { 10 } else { 1_000 }));
    let table = table.join("\n");
    println!("\n{table}\n");
    if !test_mode {
        let _ = std::fs::write(format!("{}/roundtrip-targets.md", criterion_dir()), table + "\n");
        let _ = std::fs::write(format!("{}/roundtrip-chart.svg", criterion_dir()), chart());
    }
}
