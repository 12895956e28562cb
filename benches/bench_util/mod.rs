//! What the benchmarks share: a client that sends a batch of requests and reads exactly its
//! replies, a Redis server to compare with, paired ratios, and the table rows they fill; for
//! the latency benches, 16-byte keys, percentiles, and an SVG line chart with a log-scale y
//! axis. Each bench file is about one idea (`roundtrip.rs`: framing and event loops; `kv.rs`:
//! the store; `hashtable.rs` and `resize_latency.rs`: what a resize costs) and takes what it
//! needs from here through `#[path]`.

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
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

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
    let a = || {
        a.round_trip();
        a.depth
    };
    let b = || {
        b.round_trip();
        b.depth
    };
    paired_rates(a, b, rounds, burst)
}

/// [`paired_ratio`] for any work: `a` and `b` each do a little of it and say how many
/// operations that was (enough of them that reading the clock between calls costs little).
pub fn paired_rates(
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
    rounds: usize,
    burst: Duration,
) -> f64 {
    let rate = |work: &mut dyn FnMut() -> usize| {
        let start = Instant::now();
        let mut done = 0;
        while start.elapsed() < burst {
            done += work();
        }
        done as f64 / start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..rounds).map(|_| rate(&mut a) / rate(&mut b)).collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Where criterion keeps its results, as criterion itself decides: under the target directory.
pub fn criterion_dir() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string());
    format!("{target}/criterion")
}

/// Prints a bench's table of results and, in a real run (not `--test`), writes it to
/// `target/criterion/{name}-targets.md`, where the book's figures are copied from.
pub fn report(table: &str, name: &str, test_mode: bool) {
    println!("\n{table}\n");
    if !test_mode {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/{name}-targets.md"), format!("{table}\n"));
    }
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
    ratio_row(what, ratio, target)
}

/// A Markdown table row for a ratio already measured, against an optional target it must
/// reach (at least).
pub fn ratio_row(what: &str, ratio: f64, target: Option<f64>) -> String {
    let verdict = match target {
        Some(t) if ratio >= t => format!("≥ {t}×: met"),
        Some(t) => format!("≥ {t}×: **missed**"),
        None => "shown".to_string(),
    };
    format!("| {what} | {} | {verdict} |", show_ratio(ratio))
}

/// A ratio far below 1 reads better upside down: 1/200 rather than 0.005.
pub fn show_ratio(ratio: f64) -> String {
    if ratio < 0.1 { format!("1/{:.0}", 1.0 / ratio) } else { format!("{ratio:.2}×") }
}

/// "met" or "**missed**", for a table's target column.
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**missed**" }
}

/// Criterion set up the same way for every bench (short warm-ups and measurements: the
/// servers are steady), and whether this is a `--test` run, which runs everything once,
/// briefly, so that none of it can rot.
pub fn criterion() -> (Criterion, bool) {
    let test_mode = test_mode();
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

/// Whether this is a `--test` run (`cargo bench --bench NAME -- --test`): everything once,
/// briefly, and no files written.
pub fn test_mode() -> bool {
    std::env::args().any(|arg| arg == "--test")
}

// ANCHOR: latency
/// Key `i` as `format!("key:{i:012}")` spells it, 16 bytes, made without allocating: the
/// latency benches make one per measured operation, and must not time an allocator's work
/// that is not the operation's.
pub fn key16(i: usize) -> [u8; 16] {
    let mut key = *b"key:000000000000";
    let mut rest = i;
    for digit in key[4..].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    key
}

/// A duration in whole nanoseconds, as the latency benches store them: 4 bytes each, so
/// millions fit in a buffer made before measuring. Anything over 4.29 s reads as 4.29 s.
pub fn nanos_u32(elapsed: Duration) -> u32 {
    u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX)
}

/// The `p`th percentile (0 to 100) of `sorted`, which must be sorted and not empty: the
/// smallest value with at least p% of them at or below it (the nearest-rank definition, so
/// it is always one of the values measured, never an interpolation).
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    assert!(!sorted.is_empty(), "the percentile of no values");
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The largest of each run of `bucket` values, with the index just past the run: a chart of
/// millions of latencies, small enough to draw, that still shows every spike.
pub fn max_per_bucket(values: &[u32], bucket: usize) -> Vec<(usize, u32)> {
    values
        .chunks(bucket)
        .enumerate()
        .map(|(i, run)| (i * bucket + run.len(), run.iter().copied().max().unwrap_or(0)))
        .collect()
}

/// Nanoseconds as a person reads them: microseconds below a millisecond, else milliseconds.
pub fn show_nanos(nanos: u32) -> String {
    match nanos {
        0..1_000_000 => format!("{:.1} µs", f64::from(nanos) / 1e3),
        _ => format!("{:.2} ms", f64::from(nanos) / 1e6),
    }
}
/// A count as a person reads it: 10000000 as "10,000,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
// ANCHOR_END: latency

// ANCHOR: line_chart
/// One line of a [`line_chart`]: its name in the legend, its colour, its points (x, y).
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// An SVG line chart, drawn with plain string formatting as `roundtrip.rs` draws its bars: x
/// on a linear scale from 0, y on a log scale of whole decades (latencies span several), a
/// grid line per decade, and a legend. `y_unit` follows each y tick's number ("ms").
pub fn line_chart(title: &str, x_label: &str, y_unit: &str, series: &[Series]) -> String {
    let (width, height) = (860.0, 460.0);
    // Room above the plot for the title and the legend, so that neither covers a line.
    let (left, right, top, bottom) = (80.0, 20.0, 66.0, 52.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let points = || series.iter().flat_map(|s| s.points.iter());
    let x_max = points().map(|p| p.0).fold(0.0, f64::max);
    let (y_min, y_max) = points()
        .map(|p| p.1)
        .filter(|y| *y > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), y| (lo.min(y), hi.max(y)));
    // Whole decades around the data, at least one.
    let lo = if y_min <= y_max { y_min.log10().floor() as i32 } else { 0 };
    let hi = if y_min <= y_max { (y_max.log10().ceil() as i32).max(lo + 1) } else { 1 };
    let (x_step, decimals) = nice_step(x_max / 6.0);
    let x_end = (x_max / x_step).ceil().max(1.0) * x_step;
    let x = |v: f64| left + plot_w * v / x_end;
    let y = |v: f64| {
        let decade = v.max(10f64.powi(lo)).log10();
        top + plot_h * (1.0 - (decade - f64::from(lo)) / f64::from(hi - lo))
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">\n\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>\n",
        width / 2.0
    );
    for decade in lo..=hi {
        let (gy, value) = (y(10f64.powi(decade)), 10f64.powi(decade));
        // 0.001, 0.01, 0.1, 1, 10, 100: as many decimals as the decade needs, no more.
        let label = format!("{value:.*}", (-decade).max(0) as usize);
        svg += &format!(
            "<line x1=\"{left}\" y1=\"{gy}\" x2=\"{}\" y2=\"{gy}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#666\">{label} {y_unit}</text>\n",
            left + plot_w,
            left - 6.0,
            gy + 4.0
        );
    }
    let mut tick = 0.0;
    while tick <= x_end + x_step / 2.0 {
        let gx = x(tick);
        svg += &format!(
            "<line x1=\"{gx}\" y1=\"{top}\" x2=\"{gx}\" y2=\"{}\" stroke=\"#eee\"/>\
             <text x=\"{gx}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666\">{tick:.decimals$}</text>\n",
            top + plot_h,
            top + plot_h + 18.0
        );
        tick += x_step;
    }
    svg += &format!(
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" \
         stroke=\"#999\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n",
        left + plot_w / 2.0,
        height - 14.0
    );
    for (i, s) in series.iter().enumerate() {
        let line: Vec<String> =
            s.points.iter().map(|&(px, py)| format!("{:.1},{:.1}", x(px), y(py))).collect();
        let (lx, ly) = (left + 240.0 * i as f64, 50.0);
        svg += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\n\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"3\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>\n",
            line.join(" "),
            lx,
            ly - 4.0,
            lx + 24.0,
            ly - 4.0,
            lx + 30.0,
            ly,
            s.name,
            colour = s.colour,
        );
    }
    svg + "</svg>\n"
}

/// A step of 1, 2 or 5 times a power of ten, at least `raw`, and the decimals its multiples
/// need: axis ticks a person can read.
fn nice_step(raw: f64) -> (f64, usize) {
    if raw <= 0.0 || !raw.is_finite() {
        return (1.0, 0);
    }
    let power = raw.log10().floor() as i32;
    let magnitude = 10f64.powi(power);
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw);
    (step.unwrap_or(10.0 * magnitude), (-power).max(0) as usize)
}
// ANCHOR_END: line_chart

/// A field of Redis's `INFO section`, as text.
pub fn redis_info(addr: SocketAddr, section: &str, field: &str) -> String {
    let mut stream: TcpStream = connect(addr);
    stream
        .write_all(&crate::common::resp_command(&[b"INFO", section.as_bytes()]))
        .expect("send INFO");
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).expect("a bulk string header");
    let len: usize = header.trim_start_matches('$').trim().parse().expect("a bulk length");
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).expect("the INFO text");
    let text = String::from_utf8_lossy(&body);
    let prefix = format!("{field}:");
    let line = text.lines().find(|l| l.starts_with(&prefix)).expect("the field in INFO");
    line[prefix.len()..].trim().to_string()
}

/// Times `client`'s round trips, one after another, for `slice` (at least one), into `times`
/// (nanoseconds): one client's turn when several take turns on a shared machine.
pub fn timed_slice(client: &mut Client, times: &mut Vec<u32>, slice: Duration) {
    let began = Instant::now();
    loop {
        let sent = Instant::now();
        client.round_trip();
        times.push(nanos_u32(sent.elapsed()));
        if began.elapsed() >= slice {
            break;
        }
    }
}

/// Sends `count` commands, `command(i)` for i in 0..count, 64 per write, reading each batch's
/// replies (`reply_len` bytes each) before the next: a loader, not a measurement.
pub fn load_pipelined(
    addr: SocketAddr,
    count: usize,
    mut command: impl FnMut(usize) -> Vec<u8>,
    reply_len: usize,
) {
    let mut stream = connect(addr);
    let mut replies = vec![0u8; 64 * reply_len];
    for start in (0..count).step_by(64) {
        let end = (start + 64).min(count);
        let batch: Vec<u8> = (start..end).flat_map(&mut command).collect();
        stream.write_all(&batch).expect("send the batch");
        stream.read_exact(&mut replies[..(end - start) * reply_len]).expect("every reply");
    }
}

/// Sets keys `key16(0)` to `key16(count - 1)` to `value`, 64 per write, reading every reply
/// (`reply_len` bytes: the server's answer to a set): in Redis's protocol when `redis`, else
/// v1.0's request frames.
pub fn load_sets(addr: SocketAddr, count: usize, value: &[u8], redis: bool, reply_len: usize) {
    let set = |i: usize| {
        let k = key16(i);
        match redis {
            true => common::resp_command(&[b"SET", &k, value]),
            false => common::command(&[b"set", &k, value]),
        }
    };
    load_pipelined(addr, count, set, reply_len);
}

// ANCHOR: pin
/// Keeps thread `tid` (or, with `all_threads`, every thread of process `tid`) on the CPUs
/// listed in `cpus` ("0", "1", "0-1"), through `taskset` from util-linux; false, after one line
/// saying why, if that cannot be done, and the bench goes on unpinned.
///
/// Why pin at all: on this virtual machine a wake-up that crosses CPUs costs some 25 µs each
/// way, against 5 µs of work in a small request. Where the scheduler happens to put a client
/// and a server decides whether a ping-pong round trip takes 7 or 55 µs, and it decides
/// afresh for every run: two servers measured one after the other may be measured on two
/// different machines, in effect. Pinned, both are measured on the same one.
pub fn pin(tid: u32, cpus: &str, all_threads: bool) -> bool {
    let flags = if all_threads { "-apc" } else { "-pc" };
    let out = Command::new("taskset").args([flags, cpus, &tid.to_string()]).output();
    match out {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            println!("not pinned to CPU {cpus}: taskset: {}", why.trim());
            false
        }
        Err(e) => {
            println!("not pinned to CPU {cpus}: taskset: {e} (it is in util-linux)");
            false
        }
    }
}

/// The calling thread's id, to [`pin`] it: `/proc/thread-self` links to `PID/task/TID`.
pub fn this_thread() -> u32 {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    let tid = link.file_name().and_then(|name| name.to_str()?.parse().ok());
    tid.expect("a thread id")
}
// ANCHOR_END: pin
