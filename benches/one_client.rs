//! One client against everyone else, measured: what four attacks cost the other clients of
//! v3.0 and of Redis, each server alone in the same run, its one thread pinned to CPU 0 and
//! every client (this process) to CPU 1 (see `bench_util::pin`).
//!
//! - A trickled request: the header of a `DEL` of 1,000,000 keys, 999,999 of them, and the
//!   header of a 100 MB last one (7 MB in all, sent at once), then one byte of it every 10 ms.
//!   The round trips of a second client's `PING`s, one every 5 ms, before the attack (the
//!   machine's noise) and during the trickle; then, with the prober stopped, the server's CPU
//!   time over as long again of trickle, as a share of one core.
//! - Half-sent values: 100 clients each announce a 512 MB value and send 4 MiB + 4 KiB of the
//!   request; then 100 more each send as much of a `DEL` of 100,000 keys of 30,000 bytes,
//!   strings just under the size read into a buffer of their own. The server's resident
//!   memory grown, against the bytes sent.
//! - A big value: a `SET` of 64 MiB, then three of 400 MiB, each sent as fast as loopback
//!   takes it, while the second client's `PING`s, one after another, are timed, from the first
//!   byte to the `+OK` (the prober real-time, so that the sender never holds it off its CPU);
//!   then a `GET` of it, read as fast as this process reads, and its `DEL`, and the `PING`s for
//!   200 ms after it, while the value is freed.
//! - Idle connections: a second client's `PING`s, one after another, alone, then beside 990
//!   connections that send nothing: what a descriptor that is not ready costs, per turn.
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
use std::process::Command;
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
    /// The big values, one round each.
    big_values: &'static [usize],
    idle: usize,
    idle_for: Duration,
}

/// A second client sending `PING`s, each round trip timed, until stopped: one after another,
/// or one every `pause` (so that the prober's own cost does not hide what is measured). It
/// runs real-time (`chrt --fifo`), so that a `PONG` arriving wakes it at once: at an ordinary
/// priority it shares CPU 1 with the other clients, and waited behind a sender of 400 MiB for
/// up to 10 ms (the worst round trip during a big `SET`, v3.0's and Redis's alike, in a run
/// without it), which measured this process, not the server.
struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(Instant, u32)>>,
}

impl Prober {
    fn start(addr: SocketAddr, pause: Duration) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            real_time();
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

/// Makes the calling thread real-time (SCHED_FIFO, priority 10), or says once why not: `chrt`
/// needs root, or `CAP_SYS_NICE`. The prober blocks on every `PONG`, so it never keeps CPU 1
/// from the rest for long, and the kernel keeps 5% of each second from real-time threads.
fn real_time() {
    static SAID: std::sync::Once = std::sync::Once::new();
    let tid = bench_util::this_thread().to_string();
    let why = match Command::new("chrt").args(["--fifo", "-p", "10", &tid]).output() {
        Ok(out) if out.status.success() => return,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    SAID.call_once(|| {
        println!("the prober is not real-time (chrt: {why}): its round trips include its waits");
    });
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
    let mut send_for = |time: Duration| {
        let began = Instant::now();
        while began.elapsed() < time {
            slow.write_all(b"x").expect("a byte");
            thread::sleep(Duration::from_millis(10));
        }
    };
    // The trickle with the prober, for round trips; then without it, for the CPU it costs.
    let began = Instant::now();
    send_for(sizes.trickle);
    let times = prober.stop();
    let busy = || cpu_ticks(pid).iter().sum::<u64>();
    let (alone, ticks) = (Instant::now(), busy());
    send_for(sizes.trickle);
    let cpu = (busy() - ticks) as f64 / 100.0 / alone.elapsed().as_secs_f64();
    let before = spread(&times, quiet, quiet + sizes.trickle / 2);
    Trickle { cpu, before, during: spread(&times, began, alone) }
}

/// Resident memory grown, in KiB, against KiB sent, with the clients still connected: each
/// client sends `sent_each` bytes of `wire` and stops.
fn half_sent(addr: SocketAddr, pid: u32, sizes: &Sizes, wire: &[u8]) -> (u64, u64) {
    let part = &wire[..sizes.sent_each.min(wire.len())];
    let before = rss_kib(pid);
    let streams: Vec<TcpStream> = (0..sizes.clients)
        .map(|_| {
            let mut c = connect(addr);
            c.write_all(part).expect("part of the request");
            c
        })
        .collect();
    streams.iter().for_each(common::wait_until_read);
    let grown = rss_kib(pid).saturating_sub(before);
    let sent = (sizes.clients * part.len()) as u64 / 1024;
    // Closed, and the server past the turn that saw them close, before the next baseline.
    drop(streams);
    Prober::start(addr, Duration::ZERO).stop();
    (grown, sent)
}

/// The start of a `SET` of a 512 MB value: its header, and `len` bytes of the value.
fn big_value_start(len: usize) -> Vec<u8> {
    let mut wire = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", 512 << 20).into_bytes();
    wire.resize(wire.len() + len, b'v');
    wire
}

/// The start of a `DEL` of 100,000 keys of 30,000 bytes each: strings just under the size
/// that is read into a buffer of its own, so they wait in the connection's buffer.
fn small_strings_start(len: usize) -> Vec<u8> {
    let one = [format!("${}\r\n", 30_000).into_bytes(), vec![b'x'; 30_000], b"\r\n".to_vec()];
    let mut wire = b"*100000\r\n$3\r\nDEL\r\n".to_vec();
    while wire.len() < len {
        wire.extend(one.concat());
    }
    wire
}

/// The prober's round trips while one `SET` of `len` bytes goes in, and the `SET`'s own
/// time; then while the key is deleted, the value freed. The sender runs at the lowest
/// priority (`renice 19`) too, which is not enough alone (see [`Prober`]) but is all a run
/// without root can do, and it writes the value [`SENDER_WRITE`] bytes at a time.
fn big_set(addr: SocketAddr, len: usize) -> Big {
    // Each round faults in fresh memory for the value, as the one before freed its own.
    let prober = Prober::start(addr, Duration::ZERO);
    thread::sleep(Duration::from_millis(100));
    let sender = thread::spawn(move || {
        let tid = bench_util::this_thread().to_string();
        let niced = Command::new("renice").args(["-n", "19", "-p", &tid]).output();
        if !niced.is_ok_and(|out| out.status.success()) {
            println!("the sender is not niced: renice failed");
        }
        let (value, mut c) = (vec![b'v'; len], connect(addr));
        let began = Instant::now();
        let header = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${len}\r\n");
        c.write_all(header.as_bytes()).expect("the header");
        for piece in value.chunks(SENDER_WRITE) {
            c.write_all(piece).expect("the value");
        }
        c.write_all(b"\r\n").expect("its CRLF");
        let mut ok = [0u8; 5];
        c.read_exact(&mut ok).expect("+OK");
        (c, began, began.elapsed(), Instant::now())
    });
    let stolen_before = stolen_from_cpu0();
    let (mut c, began, took, ended) = sender.join().expect("the sender");
    let stolen = stolen_from_cpu0().saturating_sub(stolen_before);
    let (asked, got) = big_get(&mut c, len);
    // Freeing 400 MiB is a pause of its own (`munmap`, tens of milliseconds) unless the server
    // frees it off its loop: measured apart, from the `DEL` until the freeing must be over.
    let deleted = Instant::now();
    c.write_all(b"*2\r\n$3\r\nDEL\r\n$3\r\nbig\r\n").expect("DEL");
    c.read_exact(&mut [0u8; 4]).expect(":1");
    thread::sleep(Duration::from_millis(200));
    let times = prober.stop();
    let set = spread(&times, began, ended);
    let during = times.iter().filter(|(at, _)| *at >= began && *at < ended);
    let slow = during.filter(|(_, t)| *t > 5_000_000).count();
    let del = spread(&times, deleted, Instant::now());
    let (get, get_took) = (spread(&times, asked, got), got - asked);
    Big { set, took, slow, stolen, get, get_took, del }
}

/// A `GET` of the big value, read as fast as this process reads: when it was asked for, and
/// when the reply's last byte came (the reply built, then sent a turn's share at a time).
fn big_get(c: &mut TcpStream, len: usize) -> (Instant, Instant) {
    let asked = Instant::now();
    c.write_all(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n").expect("GET");
    let (mut left, mut buf) = (len + format!("${len}\r\n").len() + 2, vec![0; 1 << 20]);
    while left > 0 {
        match c.read(&mut buf[..left.min(1 << 20)]) {
            Ok(0) | Err(_) => panic!("the GET's reply ended {left} bytes short"),
            Ok(n) => left -= n,
        }
    }
    (asked, Instant::now())
}

/// How long, in all, the hypervisor has kept CPU 0 from this virtual machine since it booted
/// (`steal` in `/proc/stat`, in ticks of 10 ms): time in which the server pinned there could
/// not run, whatever it had to do. 0 on a machine that is not virtual.
fn stolen_from_cpu0() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu0 = stat.lines().find(|line| line.starts_with("cpu0 "));
    // user nice system idle iowait irq softirq steal: the eighth number.
    let ticks = cpu0.and_then(|line| line.split_whitespace().nth(8)?.parse().ok());
    Duration::from_millis(10 * ticks.unwrap_or(0))
}

/// How much of a big value the sender hands the kernel per `write`. This kernel does not
/// preempt a task inside a system call (`PREEMPT_NONE`, a server's usual choice): one `write`
/// of 400 MiB copies megabytes, and hands them to the loopback's receiving side, in one stretch
/// of up to 8 ms on CPU 1 each time the send buffer has room, and the prober, real-time or not,
/// waits for the stretch to end. Measured with a script that sent the same 400 MiB `SET` to
/// v3.0 on 2026-12-08: one `write`, 33 to 38 of the prober's round trips over 2 ms, up to
/// 16.7 ms, while `perf sched` showed the server idle, waiting for bytes, through them; 64 KiB
/// writes, none over 2 ms, and the `SET` as fast. A client on another machine costs the
/// server's machine nothing of the kind.
const SENDER_WRITE: usize = 64 << 10;

/// One round of the big value: the others' round trips while it went in, how long that took,
/// and the others' round trips while it was deleted.
struct Big {
    set: [u32; 3],
    took: Duration,
    /// How many of the round trips during the `SET` took more than 5 ms.
    slow: usize,
    /// CPU 0's time taken by the hypervisor during the `SET`.
    stolen: Duration,
    /// The others' round trips during a `GET` of the value, and how long it took.
    get: [u32; 3],
    get_took: Duration,
    del: [u32; 3],
}

/// The prober's round trips, one after another for `idle_for`: with no other client, then with
/// `idle` connections open that send nothing. poll(2) looks at every descriptor on every call,
/// so each idle connection is work on every turn of the loop (v2.0 and before); epoll(7),
/// which v3.0 and Redis use, remembers them between calls.
fn idle(addr: SocketAddr, sizes: &Sizes) -> ([u32; 3], [u32; 3]) {
    let alone = Prober::start(addr, Duration::ZERO);
    thread::sleep(sizes.idle_for);
    let times = alone.stop();
    let alone = spread(&times, times[0].0, Instant::now());
    let silent: Vec<TcpStream> = (0..sizes.idle).map(|_| connect(addr)).collect();
    let crowd = Prober::start(addr, Duration::ZERO);
    thread::sleep(sizes.idle_for);
    let times = crowd.stop();
    drop(silent);
    (alone, spread(&times, times[0].0, Instant::now()))
}

/// Every measure, for one server.
struct Costs {
    name: String,
    trickle: Trickle,
    memory: (u64, u64),
    small_strings: (u64, u64),
    /// Each round of the big value.
    big: Vec<Big>,
    /// Round trips with no other client, and with `idle` silent ones.
    idle: ([u32; 3], [u32; 3]),
}

fn measure(name: String, addr: SocketAddr, pid: u32, sizes: &Sizes) -> Costs {
    bench_util::pin(pid, "0", true);
    // First, on a server that has freed nothing yet: memory an allocator keeps after a free
    // (both do) would be reused by what comes next, and hide what it costs. (The values
    // below are each a mapping of their own, made and unmapped whole.)
    let small_strings = half_sent(addr, pid, sizes, &small_strings_start(sizes.sent_each));
    let trickle = trickle(addr, pid, sizes);
    let memory = half_sent(addr, pid, sizes, &big_value_start(sizes.sent_each));
    let big = sizes.big_values.iter().map(|&len| big_set(addr, len)).collect();
    let idle = idle(addr, sizes);
    Costs { name, trickle, memory, small_strings, big, idle }
}

/// How one server's figure for a measure is shown.
type Cell<'a> = dyn Fn(&Costs) -> String + 'a;

/// One row a measure, one column a server.
fn rows(all: &[&Costs], sizes: &Sizes) -> Vec<String> {
    let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let mut rows = vec![format!("| measure | {} |", names.join(" | "))];
    rows.push(format!("|---|{}", "---|".repeat(all.len())));
    let three = |t: [u32; 3]| t.map(show_nanos).join(" / ");
    let memory = |(grown, sent): (u64, u64)| {
        let ratio = grown as f64 / sent.max(1) as f64;
        format!("{} MiB / {} MiB ({ratio:.2}×)", grown / 1024, sent / 1024)
    };
    let clients = sizes.clients;
    let idle = sizes.idle;
    let mib: Vec<String> = sizes.big_values.iter().map(|len| (len >> 20).to_string()).collect();
    let big = format!("a big SET ({} MiB)", mib.join(", "));
    let measures: [(String, &Cell<'_>); 13] = [
        ("trickle: the server's CPU".into(), &|c| format!("{:.1}%", 100.0 * c.trickle.cpu)),
        ("others' PING before it: median / p99 / worst".into(), &|c| three(c.trickle.before)),
        ("others' PING during it".into(), &|c| three(c.trickle.during)),
        (format!("{clients} half-sent 512 MB values: resident / sent"), &|c| memory(c.memory)),
        (format!("{clients} half-sent DELs of 30,000-byte keys"), &|c| memory(c.small_strings)),
        (format!("others' PING during {big}: median / p99 / worst, each"), &|c| {
            c.big.iter().map(|b| three(b.set)).collect::<Vec<_>>().join("; ")
        }),
        ("of those, over 5 ms / CPU 0 taken by the hypervisor meanwhile".into(), &|c| {
            let each = c.big.iter().map(|b| format!("{} / {} ms", b.slow, b.stolen.as_millis()));
            each.collect::<Vec<_>>().join("; ")
        }),
        ("the big SET took, each round".into(), &|c| {
            c.big
                .iter()
                .map(|b| format!("{} ms", b.took.as_millis()))
                .collect::<Vec<_>>()
                .join(", ")
        }),
        ("others' PING during a GET of it: median / p99 / worst, each round".into(), &|c| {
            c.big.iter().map(|b| three(b.get)).collect::<Vec<_>>().join("; ")
        }),
        ("the GET took, each round".into(), &|c| {
            let each = c.big.iter().map(|b| format!("{} ms", b.get_took.as_millis()));
            each.collect::<Vec<_>>().join(", ")
        }),
        ("others' PING during its DEL: median / p99 / worst, each round".into(), &|c| {
            c.big.iter().map(|b| three(b.del)).collect::<Vec<_>>().join("; ")
        }),
        ("a PING alone: median / p99 / worst".into(), &|c| three(c.idle.0)),
        (format!("a PING beside {idle} idle connections"), &|c| three(c.idle.1)),
    ];
    for (what, show) in measures {
        let cells: Vec<String> = all.iter().map(|c| show(c)).collect();
        rows.push(format!("| {what} | {} |", cells.join(" | ")));
    }
    rows
}

fn targets(ours: &Costs) -> Vec<String> {
    let mut rows = vec![
        String::new(),
        "| target | this run | verdict |".to_string(),
        "|---|---|---|".to_string(),
    ];
    let cpu = ours.trickle.cpu * 100.0;
    rows.push(format!("| trickle: CPU ≤ 2% | {cpu:.1}% | {} |", verdict(cpu <= 2.0)));
    let (p99, noise) = (ours.trickle.during[1], ours.trickle.before[1]);
    rows.push(format!(
        "| trickle: others' p99 PING ≤ 1.1× its p99 before | {} (before: {}; worst {}) | {} |",
        show_nanos(p99),
        show_nanos(noise),
        show_nanos(ours.trickle.during[2]),
        verdict(p99 as f64 <= 1.1 * noise as f64),
    ));
    for (what, (grown, sent)) in [("values", ours.memory), ("small strings", ours.small_strings)] {
        let ratio = grown as f64 / sent.max(1) as f64;
        rows.push(format!(
            "| half-sent {what}: resident ≤ 1.1× sent | {ratio:.2}× | {} |",
            verdict(ratio <= 1.1)
        ));
    }
    let worst = ours.big.iter().map(|b| b.set[2]).max().unwrap_or(0);
    let met = ours.big.iter().filter(|b| b.set[2] <= 5_000_000).count();
    rows.push(format!(
        "| big SET: others' worst PING ≤ 5 ms | {} at worst; {met} of {} rounds within | {} |",
        show_nanos(worst),
        ours.big.len(),
        verdict(met == ours.big.len())
    ));
    let worst = ours.big.iter().map(|b| b.get[2]).max().unwrap_or(0);
    let met = ours.big.iter().filter(|b| b.get[2] <= 5_000_000).count();
    rows.push(format!(
        "| big GET: others' worst PING ≤ 5 ms | {} at worst; {met} of {} rounds within | {} |",
        show_nanos(worst),
        ours.big.len(),
        verdict(met == ours.big.len())
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
            big_values: &[8 << 20],
            idle: 20,
            idle_for: Duration::from_millis(100),
        },
        false => Sizes {
            trickle: Duration::from_secs(5),
            clients: 100,
            sent_each: (4 << 20) + 4096,
            big_values: &[64 << 20, 400 << 20, 400 << 20, 400 << 20],
            // Within v3.0's default `--max-conns` of 1,000, with the prober.
            idle: 990,
            idle_for: Duration::from_secs(1),
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
    let mut table = rows(&all, &sizes);
    if !test_mode {
        table.extend(targets(&ours));
    }
    let table = table.join("\n");
    bench_util::report(&table, "one_client", test_mode);
}
