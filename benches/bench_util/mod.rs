//! What the benchmarks share: a client that sends a batch of requests and reads exactly its
//! replies, a Redis server to compare with, paired ratios, and the table rows they fill.
//! Each bench file is about one idea (`roundtrip.rs`: framing and event loops; `kv.rs`: the
//! store) and takes what it needs from here through `#[path]`.

#![allow(dead_code)] // Each bench uses a different part.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::Criterion;

use crate::common::{self, TIMEOUT};

/// A client of one of the servers: the bytes of a batch of requests, and room for exactly
/// the replies that batch gets back.
pub struct Client {
    pub conn: Conn,
    pub depth: usize,
    pub batch: Vec<u8>,
    pub reply: Vec<u8>,
}

pub enum Conn {
    /// One connection for every batch (v0.2, the floor, Redis).
    Persistent(TcpStream),
    /// A new connection for every request, which the server closes after its reply (v0.1).
    PerRequest(SocketAddr),
    /// Many connections at once, one request on each per round trip (event-loop servers).
    Crowd(Vec<TcpStream>),
}

impl Client {
    pub fn persistent(addr: SocketAddr, batch: Vec<u8>, depth: usize, reply_len: usize) -> Client {
        let conn = Conn::Persistent(connect(addr));
        Client { conn, depth, batch, reply: vec![0; depth * reply_len] }
    }

    /// One batch out in one write, all its replies back.
    pub fn round_trip(&mut self) {
        let mut fresh;
        let stream = match &mut self.conn {
            Conn::Persistent(stream) => stream,
            Conn::PerRequest(addr) => {
                fresh = connect(*addr);
                &mut fresh
            }
            Conn::Crowd(streams) => {
                for stream in streams.iter_mut() {
                    stream.write_all(&self.batch).expect("send a request");
                }
                for stream in streams.iter_mut() {
                    stream.read_exact(&mut self.reply).expect("its reply");
                }
                return;
            }
        };
        stream.write_all(&self.batch).expect("send the batch");
        stream.read_exact(&mut self.reply).expect("every reply");
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect to the server under test");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    stream.set_read_timeout(Some(TIMEOUT)).expect("read timeout");
    stream
}

/// A `redis-server` on a free loopback port, without persistence, stopped on drop.
pub struct Redis {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Redis {
    /// `None`, after one line saying so, when `redis-server` is not installed.
    pub fn start() -> Option<Redis> {
        let redis = Redis::start_under(&[]);
        if redis.is_none() {
            println!(
                "redis: skipped, redis-server is not installed (apt-get install redis-server)"
            );
        }
        redis
    }

    /// Starts `redis-server` as the last words of `prefix` (a tracer, or nothing).
    pub fn start_under(prefix: &[&str]) -> Option<Redis> {
        let addr = common::unused_addr();
        let mut words = prefix.to_vec();
        words.push("redis-server");
        let spawned = Command::new(words[0])
            .args(&words[1..])
            .args(["--bind", "127.0.0.1", "--port", &addr.port().to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = spawned.ok()?;
        // Wait for Redis to say it is ready, as an event, within the timeout.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, is_ready) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        let redis = Redis { child, addr };
        if is_ready.recv_timeout(TIMEOUT).is_err() {
            return None;
        }
        Some(redis)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request rate measured against another in the same moments: bursts of round trips on
/// `a` and `b`, alternating, `rounds` times; the median of the per-round ratios of
/// requests per second. Interleaving cancels most of the drift a shared machine has over
/// seconds, which separate criterion runs of each cannot.
pub fn paired_ratio(a: &mut Client, b: &mut Client, rounds: usize, burst: Duration) -> f64 {
    let rate = |client: &mut Client| {
        let start = Instant::now();
        let mut requests = 0;
        while start.elapsed() < burst {
            client.round_trip();
            requests += client.depth;
        }
        requests as f64 / start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..rounds).map(|_| rate(a) / rate(b)).collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Where criterion keeps its results, as criterion itself decides: under the target directory.
pub fn criterion_dir() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    format!("{target}/criterion")
}

/// Compares `a` with `b` as a paired ratio and returns a Markdown table row saying how it
/// measures up to `target`. `b` is `None` when its server (Redis) is not installed.
pub fn row(
    what: &str,
    mut a: Client,
    b: Option<Client>,
    target: Option<f64>,
    timing: (usize, Duration),
) -> String {
    let Some(mut b) = b else {
        return format!("| {what} | not measured: no redis-server | |");
    };
    let ratio = paired_ratio(&mut a, &mut b, timing.0, timing.1);
    // A ratio far below 1 reads better upside down: 1/200 rather than 0.005.
    let shown = if ratio < 0.1 { format!("1/{:.0}", 1.0 / ratio) } else { format!("{ratio:.2}×") };
    let verdict = match target {
        Some(t) if ratio >= t => format!("≥ {t}×: met"),
        Some(t) => format!("≥ {t}×: **missed**"),
        None => "shown".to_string(),
    };
    format!("| {what} | {shown} | {verdict} |")
}

/// Criterion set up the same way for every bench (short warm-ups and measurements: the
/// servers are steady), and whether this is a `--test` run, which runs everything once,
/// briefly, so that none of it can rot.
pub fn criterion() -> (Criterion, bool) {
    let test_mode = std::env::args().any(|arg| arg == "--test");
    let c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args();
    (c, test_mode)
}

/// How paired ratios are measured: 15 rounds of two 60 ms bursts; in a `--test` run, one
/// round of 1 ms, whose figures mean nothing.
pub fn paired_timing(test_mode: bool) -> (usize, Duration) {
    match test_mode {
        true => (1, Duration::from_millis(1)),
        false => (15, Duration::from_millis(60)),
    }
}
