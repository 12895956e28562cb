//! One client against everyone else, measured: what three attacks cost the other clients of
//! v3.0 and of Redis, each server alone in the same run, its one thread pinned to CPU 0 and
//! every client (this process) to CPU 1 (see `bench_util::pin`).
//!
//! - A trickled request: the header of a `DEL` of 1,000,000 keys, 999,999 of them, and the
//!   header of a 100 MB last one (7 MB in all, sent at once), then one byte of it every 10 ms.
//!   The server's CPU time over the trickle, and the round trips of a second client's `PING`s,
//!   one every 5 ms, before it (the machine's noise) and during it.
//! - Half-sent values: 100 clients each announce a 512 MB value and send 4 MiB + 4 KiB of it.
//!   The server's resident memory grown, against the bytes sent.
//! - A big value: one `SET` of 400 MiB, sent as fast as loopback takes it, while the second
//!   client's `PING`s, one after another, are timed, from the first byte to the `+OK`.
//!
//! `cargo bench --bench one_client` takes about half a minute and writes its table to
//! `target/criterion/one_client-targets.md`. `cargo bench --bench one_client -- --test` runs it
//! all small (a 0.2 s trickle, 10 clients of 256 KiB, an 8 MiB value), judges nothing, and
//! writes no file.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bench_util::{Redis, connect, percentile, show_nanos, verdict};
use common::{Server, Stage, cpu_ticks, rss_kib};

/// The sizes of one run: full, or small for `--test`.
struct Sizes {
    trickle: Duration,
    clients: usize,
    sent_each: usize,
    big_value: usize,
}

/// A second client sending `PING`s, each round trip timed, until stopped: one after another,
/// or one every `pause` (so that the prober's own cost does not hide what is measured).
struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(Instant, u32)>>,
}

impl Prober {
    fn start(addr: SocketAddr, pause: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let mut stream = connect(addr);
            let (mut times, mut pong) = (Vec::new(), [0u8; 7]);
            while !stopped.load(Ordering::Relaxed) {
                let sent = Instant::now();
                stream.write_all(b"*1\r\n$4\r\nPING\r\n").expect("send a PING");
                stream.read_exact(&mut pong).expect("its PONG");
                times.push((sent, bench_util::nanos_u32(sent.elapsed())));
                thread::sleep(pause);
            }
            times
        });
        Prober { stop, thread }
    }

    fn stop(self) -> Vec<(Instant, u32)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the prober")
    }
}

/// Median, p99 and worst of the round trips sent from `from` on, before `until`.
fn spread(times: &[(Instant, u32)], from: Instant, until: Instant) -> [u32; 3] {
    let mut window: Vec<u32> =
        times.iter().filter(|(at, _)| *at >= from && *at < until).map(|&(_, t)| t).collect();
    window.sort_unstable();
    if window.is_empty() {
        return [0; 3];
    }
    [percentile(&window, 0.5), percentile(&window, 0.99), *window.last().unwrap_or(&0)]
}

/// What the trickle cost: CPU as a share of one core, and the prober's round trips before
/// and during it.
struct Trickle {
    cpu: f64,
    before: [u32; 3],
    during: [u32; 3],
}

fn trickle(addr: SocketAddr, pid: u32, sizes: &Sizes) -> Trickle {
    let prober = Prober::start(addr, Duration::from_millis(5));
    let mut slow = connect(addr);
    let count = 1_000_000;
    let mut head = format!("*{count}\r\n$3\r\nDEL\r\n").into_bytes();
    head.extend(b"$1\r\na\r\n".repeat(count - 2));
    head.extend(b"$100000000\r\n");
    let quiet = Instant::now();
    thread::sleep(sizes.trickle / 2);
    slow.write_all(&head).expect("send the head");
    common::wait_until_read(&slow);
    let busy = || cpu_ticks(pid).iter().sum::<u64>();
    let (began, ticks) = (Instant::now(), busy());
    while began.elapsed() < sizes.trickle {
        slow.write_all(b"x").expect("a byte");
        thread::sleep(Duration::from_millis(10));
    }
    let (cpu, ended) =
        ((busy() - ticks) as f64 / 100.0 / began.elapsed().as_secs_f64(), Instant::now());
    let times = prober.stop();
    let before = spread(&times, quiet, quiet + sizes.trickle / 2);
    Trickle { cpu, before, during: spread(&times, began, ended) }
}

/// Resident memory grown, in KiB, against KiB sent, with the clients still connected.
fn half_sent(addr: SocketAddr, pid: u32, sizes: &Sizes) -> (u64, u64) {
    let mut head = common::resp_command(&[b"SET", b"k"]);
    head[1] = b'3';
    head.extend(format!("${}\r\n", 512 << 20).into_bytes());
    let part = vec![b'v'; sizes.sent_each];
    let before = rss_kib(pid);
    let streams: Vec<TcpStream> = (0..sizes.clients)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(&head).expect("the header");
            c.write_all(&part).expect("part of the value");
            c
        })
        .collect();
    streams.iter().for_each(common::wait_until_read);
    let grown = rss_kib(pid).saturating_sub(before);
    let sent = (sizes.clients * (head.len() + part.len())) as u64 / 1024;
    (grown, sent)
}

/// The prober's round trips while one `SET` of `big_value` bytes goes in, and the `SET`'s own
/// time; then the key is deleted.
fn big_set(addr: SocketAddr, sizes: &Sizes) -> ([u32; 3], Duration) {
    let value = vec![b'v'; sizes.big_value];
    let prober = Prober::start(addr, Duration::ZERO);
    let mut c = connect(addr);
    thread::sleep(Duration::from_millis(100));
    let began = Instant::now();
    c.write_all(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len()).as_bytes())
        .expect("the header");
    c.write_all(&value).expect("the value");
    c.write_all(b"\r\n").expect("its CRLF");
    let mut ok = [0u8; 5];
    c.read_exact(&mut ok).expect("+OK");
    let (took, ended) = (began.elapsed(), Instant::now());
    let times = prober.stop();
    c.write_all(b"*2\r\n$3\r\nDEL\r\n$3\r\nbig\r\n").expect("DEL");
    c.read_exact(&mut [0u8; 4]).expect(":1");
    (spread(&times, began, ended), took)
}

/// Every measure, for one server.
struct Costs {
    name: String,
    trickle: Trickle,
    memory: (u64, u64),
    big: ([u32; 3], Duration),
}

fn measure(name: String, addr: SocketAddr, pid: u32, sizes: &Sizes) -> Costs {
    bench_util::pin(pid, "0", true);
    let trickle = trickle(addr, pid, sizes);
    let memory = half_sent(addr, pid, sizes);
    let big = big_set(addr, sizes);
    Costs { name, trickle, memory, big }
}

fn rows(all: &[&Costs]) -> Vec<String> {
    let mut rows = vec![
        "| server | trickle: CPU | PING before: median / p99 / max | during | half-sent: resident / sent | big SET: PING median / p99 / max | the SET took |".to_string(),
        "|---|---|---|---|---|---|---|".to_string(),
    ];
    let three = |t: [u32; 3]| t.map(show_nanos).join(" / ");
    for c in all {
        let (grown, sent) = c.memory;
        rows.push(format!(
            "| {} | {:.1}% | {} | {} | {} MiB / {} MiB ({:.2}×) | {} | {} ms |",
            c.name,
            100.0 * c.trickle.cpu,
            three(c.trickle.before),
            three(c.trickle.during),
            grown / 1024,
            sent / 1024,
            grown as f64 / sent.max(1) as f64,
            three(c.big.0),
            c.big.1.as_millis(),
        ));
    }
    rows
}

fn targets(ours: &Costs, redis: Option<&Costs>) -> Vec<String> {
    let mut rows = vec![
        String::new(),
        "| target | this run | verdict |".to_string(),
        "|---|---|---|".to_string(),
    ];
    let cpu = ours.trickle.cpu * 100.0;
    rows.push(format!("| trickle: CPU ≤ 2% | {cpu:.1}% | {} |", verdict(cpu <= 2.0)));
    let worst = ours.trickle.during[2];
    let redis_worst = redis.map_or(u32::MAX, |r| r.trickle.during[2].max(r.trickle.before[2]));
    let noise = ours.trickle.before[2];
    rows.push(format!(
        "| trickle: others' worst PING ≤ max(the noise before it, Redis's) | {} (noise {}, Redis {}) | {} |",
        show_nanos(worst),
        show_nanos(noise),
        redis.map_or("not measured".to_string(), |_| show_nanos(redis_worst)),
        verdict(worst <= noise.max(redis_worst)),
    ));
    let ratio = ours.memory.0 as f64 / ours.memory.1.max(1) as f64;
    rows.push(format!(
        "| half-sent: resident ≤ 1.1× sent | {ratio:.2}× | {} |",
        verdict(ratio <= 1.1)
    ));
    let big = ours.big.0[2];
    rows.push(format!(
        "| 400 MiB SET: others' worst PING ≤ 5 ms | {} | {} |",
        show_nanos(big),
        verdict(big <= 5_000_000)
    ));
    rows
}

fn main() {
    let test_mode = bench_util::test_mode();
    let sizes = match test_mode {
        true => Sizes {
            trickle: Duration::from_millis(200),
            clients: 10,
            sent_each: 256 << 10,
            big_value: 8 << 20,
        },
        false => Sizes {
            trickle: Duration::from_secs(5),
            clients: 100,
            sent_each: (4 << 20) + 4096,
            big_value: 400 << 20,
        },
    };
    // The clients on CPU 1, each server on CPU 0.
    bench_util::pin(std::process::id(), "1", true);
    let ours = {
        let server = Server::start_with(Stage::V3_0, &["--quiet"]);
        measure("v3.0".to_string(), server.addr, server.pid(), &sizes)
    };
    let redis = Redis::start().map(|redis| {
        let version = bench_util::redis_info(redis.addr, "server", "redis_version");
        measure(format!("Redis {version}"), redis.addr, redis.pid(), &sizes)
    });
    let all: Vec<&Costs> = std::iter::once(&ours).chain(redis.as_ref()).collect();
    let mut table = rows(&all);
    if !test_mode {
        table.extend(targets(&ours, redis.as_ref()));
    }
    let table = table.join("\n");
    println!("\n{table}\n");
    if !test_mode {
        let dir = bench_util::criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/one_client-targets.md"), table + "\n");
    }
}
