//! Time, measured: what v2.0's timers cost the clients of a one-thread server, against Redis
//! doing the same work in the same run (Redis's rows say "not measured" when `redis-server`
//! is not installed).
//!
//! - Mass expiry. Each server, alone, is loaded with 1,000,000 keys of 16 bytes with 16-byte
//!   values (64 `set`s per write, every reply read), and every key is then given the same
//!   deadline, a few seconds ahead. Redis is told it exactly: `PEXPIREAT key unix_ms`. v2.0
//!   knows only `pexpire key ms`, counted from the moment the command arrives, so the bench
//!   works out ms = deadline − now (to the nearest millisecond) for each write of 64, and
//!   reports how far from the intended deadline the ones set can be: each lies between the
//!   moment its batch was built and the moment the batch's replies were in, plus its ms.
//!   A second client sends `get` of another key, which has no deadline, ping-pong (one
//!   request, then its reply), every round trip timed, from 0.5 s before the deadline to 3 s
//!   after it: its median, p99, p99.9 and worst are what the expiry cost a client (the worst
//!   before the deadline is the machine's own noise). At 2 s after the deadline a new client
//!   connects and finds 1,000 of the keys, spread over all of them, gone: a server gets new
//!   clients all the time, and in v2.0 the first one after a mass expiry is not cheap (its
//!   buffer is the first big allocation since the frees, and glibc's malloc then merges every
//!   small block freed since: `malloc_consolidate`), so the worst is given both until the new
//!   client and with it. For Redis a third client asks `DBSIZE` every 10 ms, which says when
//!   Redis had actually deleted them all: a key past its deadline reads as gone at once, but
//!   Redis frees it only when its sampling finds it.
//! - `del` of a sorted set of 1,000,000 members (64 `zadd`s per write), while a second client
//!   sends `get`s ping-pong: the `del`'s own round trip; the longest round trip the second
//!   client sees from the moment the `del` is sent until 1 s after its reply, which covers the
//!   freeing that v2.0 does on its `lazyfree` thread; then, as above, a new client connects
//!   and sends one `get`, and the longest round trip until 1 s after that; and, for the
//!   machine's noise, the longest in the 1 s before the `del`. Redis: `DEL`, which frees the
//!   set before it replies, and `UNLINK`, which frees it on a thread as v2.0's `del` does (the
//!   set is loaded again for it).
//! - What the timers cost the path that does not use them: `get` of keys that have no
//!   deadline, 64 per write and ping-pong, v2.0 against v1.3 (the same server without time),
//!   as criterion groups and as paired ratios (alternating bursts, as `kv.rs` measures them).
//!
//! The servers of the first two run one at a time, so that each shares the two cores only with
//! its clients (and its freeing thread). The latencies are single events on a shared machine:
//! a worst case is one moment, and a busy neighbour can make it; compare it with the worst
//! before the deadline or the `del`, and run again when that is high.
//!
//! `cargo bench --bench expiry` takes about a minute and a half on a 2-core machine; it writes
//! the tables to `target/criterion/expiry-targets.md`, and a chart of the second client's
//! round trips across the mass expiry (the longest under way in each 10 ms) to
//! `target/criterion/expiry-latency.svg`.
//! `cargo bench --bench expiry -- --test` does it all with 20,000 keys and members and shorter
//! windows, in a few seconds, judges only what does not need the full size, and writes no
//! file.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bench_util::{
    Client, Redis, Series, criterion_dir, key16, nanos_u32, percentile, show_nanos, thousands,
    verdict,
};
use common::{Server, Stage, command, resp_command};
use criterion::{Criterion, Throughput};

/// Every value: 16 bytes, as in `kv.rs`.
const VALUE: &[u8; 16] = b"0123456789abcdef";

/// The key the second client reads: 16 bytes, as the others, and never given a deadline.
const PROBE: &[u8; 16] = b"probe:0000000000";

/// The sorted set that is deleted.
const ZKEY: &[u8] = b"zbig";

/// Commands per write when loading, as in the other benches.
const BATCH: usize = 64;

/// Keys the new client samples after the mass expiry, each of which must read as gone.
const SAMPLES: usize = 1000;

/// The chart's resolution: the worst round trip per this much time.
const CHART_BUCKET: Duration = Duration::from_millis(10);

/// Which protocol a server speaks: v1.3's and v2.0's, or Redis's.
#[derive(Clone, Copy, PartialEq)]
enum Proto {
    Ours,
    Redis,
}

impl Proto {
    /// The command `name` (lower case; Redis's in upper case) with `args`.
    fn encode(self, name: &str, args: &[&[u8]]) -> Vec<u8> {
        let upper = name.to_ascii_uppercase();
        let name = match self {
            Proto::Ours => name.as_bytes(),
            Proto::Redis => upper.as_bytes(),
        };
        let words: Vec<&[u8]> = std::iter::once(name).chain(args.iter().copied()).collect();
        match self {
            Proto::Ours => command(&words),
            Proto::Redis => resp_command(&words),
        }
    }

    /// The reply to `set`: NIL, or `+OK`.
    fn ok(self) -> Vec<u8> {
        match self {
            Proto::Ours => common::frame(&[0]),
            Proto::Redis => b"+OK\r\n".to_vec(),
        }
    }

    /// The reply to a `get` of a key that is not there: NIL, or a null bulk string.
    fn nil(self) -> Vec<u8> {
        match self {
            Proto::Ours => common::frame(&[0]),
            Proto::Redis => b"$-1\r\n".to_vec(),
        }
    }

    /// The reply to a `get` of a key holding [`VALUE`]: a STR, or a bulk string.
    fn value(self) -> Vec<u8> {
        match self {
            Proto::Ours => common::frame(&[&[2u8][..], &16u32.to_le_bytes(), VALUE].concat()),
            Proto::Redis => [&b"$16\r\n"[..], VALUE, b"\r\n"].concat(),
        }
    }

    /// The reply to a `pexpire`, `zadd` or `del` that did what it was asked: INT 1, or `:1`.
    fn one(self) -> Vec<u8> {
        match self {
            Proto::Ours => common::frame(&[&[3u8][..], &1i64.to_le_bytes()].concat()),
            Proto::Redis => b":1\r\n".to_vec(),
        }
    }
}

/// Sends commands `0..n`, [`BATCH`] per write, `build` appending a batch's commands for the
/// range it is given, and checks that each reply is `want`. Returns when each batch's replies
/// were all in: the deadlines' spread needs them.
fn pipelined(
    stream: &mut TcpStream,
    n: usize,
    want: &[u8],
    mut build: impl FnMut(Range<usize>, &mut Vec<u8>),
) -> Vec<Instant> {
    let mut batch = Vec::new();
    let mut replies = vec![0u8; BATCH * want.len()];
    let mut replied = Vec::with_capacity(n.div_ceil(BATCH));
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        batch.clear();
        build(start..end, &mut batch);
        let replies = &mut replies[..(end - start) * want.len()];
        stream.write_all(&batch).expect("send the batch");
        stream.read_exact(replies).expect("every reply");
        replied.push(Instant::now());
        assert!(replies.chunks(want.len()).all(|r| r == want), "an unexpected reply");
    }
    replied
}

/// Sends one command and checks its reply.
fn one(stream: &mut TcpStream, request: &[u8], want: &[u8]) {
    pipelined(stream, 1, want, |_, batch| batch.extend_from_slice(request));
}

/// Sets [`PROBE`], then keys 0 to `keys`-1, every value [`VALUE`].
fn load_keys(stream: &mut TcpStream, proto: Proto, keys: usize) {
    one(stream, &proto.encode("set", &[PROBE, VALUE]), &proto.ok());
    pipelined(stream, keys, &proto.ok(), |range, batch| {
        for i in range {
            batch.extend(proto.encode("set", &[&key16(i), VALUE]));
        }
    });
}

/// Redis's `DBSIZE`: the keys it holds, those past their deadlines but not yet deleted too.
fn redis_dbsize(reader: &mut BufReader<TcpStream>) -> usize {
    reader.get_mut().write_all(&resp_command(&[b"DBSIZE"])).expect("send DBSIZE");
    let mut line = String::new();
    reader.read_line(&mut line).expect("DBSIZE's reply");
    line.trim_start_matches(':').trim().parse().expect("an integer reply")
}

/// Round trips of a client sending `get` of [`PROBE`] ping-pong: when each was sent, in
/// nanoseconds since the client began, and how long it took.
type Gets = Vec<(u64, u32)>;

/// The CPUs the server's loop and the measuring client are kept on.
const LOOP_CPU: &str = "0";
const CLIENT_CPU: &str = "1";

/// Keeps a server's loop (its process's first thread; the `lazyfree` thread and Redis's
/// background threads go where the scheduler puts them) on one CPU, and the ping-pong client
/// on the other: every round trip crosses CPUs, as a client on another core's would, on
/// every run and for both servers alike (see `bench_util::pin`).
fn pin_loop(pid: u32) {
    bench_util::pin(pid, LOOP_CPU, false);
}

/// The ping-pong client itself: `get`s of [`PROBE`], each checked, until `done` says stop;
/// returns when it began, and its round trips. Its buffers are made before it starts, so that
/// nothing but the round trips is timed.
fn ping_pong(addr: SocketAddr, proto: Proto, done: impl Fn(Instant) -> bool) -> (Instant, Gets) {
    // On the CPU the server's loop is not on: see `pin_loop`.
    bench_util::pin(bench_util::this_thread(), CLIENT_CPU, false);
    let mut stream = bench_util::connect(addr);
    let request = proto.encode("get", &[PROBE]);
    let want = proto.value();
    let mut reply = vec![0u8; want.len()];
    // About 30 µs a round trip: this is room for 30 s of them, more than any window here.
    let mut gets = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    loop {
        let sent = Instant::now();
        if done(sent) {
            break;
        }
        stream.write_all(&request).expect("send a get");
        stream.read_exact(&mut reply).expect("its reply");
        let round_trip = nanos_u32(sent.elapsed());
        gets.push((u64::try_from((sent - start).as_nanos()).unwrap_or(u64::MAX), round_trip));
        assert!(reply == want, "the probe key's value, unchanged");
    }
    (start, gets)
}

// ANCHOR: mass_expiry
/// One server's mass expiry: the second client's round trips, and what was checked.
struct Expiry {
    name: String,
    gets: Gets,
    /// Where the deadline falls among `gets`' send times, in nanoseconds.
    deadline_at: u64,
    /// How the deadlines actually set lie around the one intended: the earliest possible and
    /// the latest possible, in milliseconds from it. None for Redis, which was told it exactly.
    spread: Option<(f64, f64)>,
    /// When Redis's `DBSIZE` first said only the probe key was left, since the deadline; and
    /// what it said last. None for v2.0, which has no such count.
    deleted: Option<(Option<Duration>, usize)>,
    /// When a new client connected, among `gets`' send times, in nanoseconds; and how long it
    /// took to connect and find [`SAMPLES`] keys gone.
    check_at: u64,
    checked: Duration,
    /// The ping-pong client could not start `pre` before the deadline: loading was too slow.
    late: bool,
}

/// Loads `keys` keys into the server at `addr`, gives them all one deadline, and times `get`s
/// of another key from `pre` before it to `post` after.
fn mass_expiry(
    name: String,
    (addr, pid): (SocketAddr, u32),
    proto: Proto,
    keys: usize,
    (pre, check, post): (Duration, Duration, Duration),
) -> Expiry {
    pin_loop(pid);
    let mut stream = bench_util::connect(addr);
    let loading = Instant::now();
    load_keys(&mut stream, proto, keys);
    // The deadlines go out about as fast as the values did: room for that twice over (a busy
    // machine slows some moments down), and a second more, before the ping-pong client starts.
    let lead = pre + loading.elapsed().mul_f64(2.0) + Duration::from_secs(1);
    // The deadline as Redis reads it, whole Unix milliseconds, and the same moment on the
    // monotonic clock that the ping-pong client and v2.0 use: both clocks read once, together.
    let (now, unix_now) = (Instant::now(), SystemTime::now().duration_since(UNIX_EPOCH).unwrap());
    let unix_ms = (unix_now + lead).as_millis() as u64 + 1;
    let deadline = now + (Duration::from_millis(unix_ms) - unix_now);

    let spread = match proto {
        Proto::Redis => {
            let at = unix_ms.to_string().into_bytes();
            pipelined(&mut stream, keys, &proto.one(), |range, batch| {
                for i in range {
                    batch.extend(proto.encode("pexpireat", &[&key16(i), &at]));
                }
            });
            None
        }
        Proto::Ours => {
            // For each batch: when it was built, and the ms it asked for.
            let mut asked = Vec::with_capacity(keys.div_ceil(BATCH));
            let replied = pipelined(&mut stream, keys, &proto.one(), |range, batch| {
                let built = Instant::now();
                let left = deadline.saturating_duration_since(built);
                let ms = (left.as_micros() as u64 + 500) / 1000;
                asked.push((built, ms));
                let ms = ms.to_string().into_bytes();
                for i in range {
                    batch.extend(proto.encode("pexpire", &[&key16(i), &ms]));
                }
            });
            // The server read its clock for each key after the batch was built and before
            // its reply came back: the deadline it set lies between these two, plus ms.
            let from_deadline = |at: Instant| match at.checked_duration_since(deadline) {
                Some(after) => after.as_secs_f64() * 1e3,
                None => -(deadline - at).as_secs_f64() * 1e3,
            };
            let (mut earliest, mut latest) = (f64::MAX, f64::MIN);
            for (&(built, ms), &replied) in asked.iter().zip(&replied) {
                let ms = Duration::from_millis(ms);
                earliest = earliest.min(from_deadline(built + ms));
                latest = latest.max(from_deadline(replied + ms));
            }
            Some((earliest, latest))
        }
    };
    drop(stream);

    // Redis's count of the keys it holds, every 10 ms, on a connection of its own.
    let stop = Arc::new(AtomicBool::new(false));
    let counter = (proto == Proto::Redis).then(|| {
        let stop = Arc::clone(&stop);
        let mut reader = BufReader::new(bench_util::connect(addr));
        thread::spawn(move || {
            let mut deleted = None;
            let mut last = usize::MAX;
            while !stop.load(Ordering::Relaxed) {
                last = redis_dbsize(&mut reader);
                let now = Instant::now();
                if last <= 1 && deleted.is_none() && now >= deadline {
                    deleted = Some(now - deadline);
                }
                thread::sleep(Duration::from_millis(10));
            }
            (deleted, last)
        })
    });

    let begin = deadline.checked_sub(pre).expect("a deadline after the clock's start");
    let late = Instant::now() > begin;
    thread::sleep(begin.saturating_duration_since(Instant::now()));
    let getter = thread::spawn(move || ping_pong(addr, proto, |now| now >= deadline + post));
    // A new client, `check` after the deadline, while the other still times its gets: every
    // sampled key must be gone, whether or not the server has deleted it yet. A new client is
    // also what a server gets now and then, and what that costs the other is measured too.
    thread::sleep((deadline + check).saturating_duration_since(Instant::now()));
    let checking = Instant::now();
    let mut stream = bench_util::connect(addr);
    let samples = SAMPLES.min(keys);
    pipelined(&mut stream, samples, &proto.nil(), |range, batch| {
        for j in range {
            batch.extend(proto.encode("get", &[&key16(j * keys / samples)]));
        }
    });
    let checked = checking.elapsed();
    let (first, gets) = getter.join().expect("the ping-pong client");
    let ns = |at: Instant| u64::try_from(at.saturating_duration_since(first).as_nanos()).unwrap();
    let (deadline_at, check_at) = (ns(deadline), ns(checking));
    stop.store(true, Ordering::Relaxed);
    let deleted = counter.map(|thread| thread.join().expect("the DBSIZE client"));
    Expiry { name, gets, deadline_at, spread, deleted, check_at, checked, late }
}
// ANCHOR_END: mass_expiry

/// What a mass expiry came to: the percentiles that are judged, and the rest as a table row.
struct ExpirySummary {
    p99: u32,
    /// The worst round trip before the new client came.
    alone: u32,
    worst: u32,
    row: String,
}

fn summarise_expiry(expiry: &Expiry) -> ExpirySummary {
    let mut sorted: Vec<u32> = expiry.gets.iter().map(|g| g.1).collect();
    sorted.sort_unstable();
    let (p99, worst) = (percentile(&sorted, 99.0), *sorted.last().expect("some gets"));
    // The worst of the round trips that ended before `until`, in the client's nanoseconds.
    let worst_until = |until: u64| {
        let ended = expiry.gets.iter().filter(|g| g.0 + u64::from(g.1) <= until);
        ended.map(|g| g.1).max().unwrap_or(0)
    };
    // The machine's own noise, for comparison: the worst before anything expired.
    let before = match expiry.deadline_at {
        0 => "none".to_string(),
        at => show_nanos(worst_until(at)),
    };
    // A round trip under way when the new client came counts as its, not as the expiry's.
    let alone = worst_until(expiry.check_at);
    let deadlines = match expiry.spread {
        Some((earliest, latest)) => format!("{earliest:+.2} ms to {latest:+.2} ms"),
        None => "exact (`PEXPIREAT`)".to_string(),
    };
    let deleted = match expiry.deleted {
        Some((Some(after), _)) => format!("all, {:.2} s after the deadline", after.as_secs_f64()),
        Some((None, left)) => format!("**{} keys left** at the end", thousands(left)),
        None => "no count to ask".to_string(),
    };
    let late = if expiry.late { " (**started late**)" } else { "" };
    let row = format!(
        "| {}{late} | {} | {} | {} | {} | {} | {} | {} | {} | {deadlines} | {deleted} |",
        expiry.name,
        thousands(sorted.len()),
        show_nanos(percentile(&sorted, 50.0)),
        show_nanos(p99),
        show_nanos(percentile(&sorted, 99.9)),
        before,
        show_nanos(alone),
        show_nanos(nanos_u32(expiry.checked)),
        show_nanos(worst),
    );
    ExpirySummary { p99, alone, worst, row }
}

/// The longest round trip under way in each [`CHART_BUCKET`] of each server's window, in
/// milliseconds on a log scale, and a vertical line at the deadline.
fn chart(
    expiries: &[&Expiry],
    keys: usize,
    (pre, check, _): (Duration, Duration, Duration),
) -> String {
    let colours = ["#2563eb", "#dc2626"];
    let bucket = CHART_BUCKET.as_nanos() as u64;
    let mut series: Vec<Series> = expiries
        .iter()
        .zip(colours)
        .map(|(expiry, colour)| {
            // Times since `pre` before the deadline, so that every server's deadline is at
            // the same x even if its client started late. Each bucket shows the longest round
            // trip under way at any moment in it, so that a long pause is a plateau as long as
            // itself, not one point followed by a line across the time it took.
            let shift = pre.as_nanos() as i64 - expiry.deadline_at as i64;
            let mut worst: Vec<u32> = Vec::new();
            for &(sent, round_trip) in &expiry.gets {
                let from = (sent as i64 + shift).max(0) as u64;
                let (first, last) = (from / bucket, (from + u64::from(round_trip)) / bucket);
                if worst.len() <= last as usize {
                    worst.resize(last as usize + 1, 0);
                }
                for slot in &mut worst[first as usize..=last as usize] {
                    *slot = (*slot).max(round_trip);
                }
            }
            let points = worst.iter().enumerate().filter(|(_, ns)| **ns > 0);
            let to_point = |(i, ns): (usize, &u32)| {
                ((i as u64 * bucket + bucket) as f64 / 1e9, f64::from(*ns) / 1e6)
            };
            let points = points.map(to_point).collect();
            // The name without its note in brackets: the legend has room for three short ones.
            let name = expiry.name.split(" (").next().unwrap_or_default();
            Series { name, colour, points }
        })
        .collect();
    let all = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (low, high) = (all().fold(f64::MAX, f64::min), all().fold(0.0, f64::max));
    let x = pre.as_secs_f64();
    series.push(Series { name: "deadline", colour: "#9ca3af", points: vec![(x, low), (x, high)] });
    bench_util::line_chart(
        &format!(
            "get ping-pong while {} keys expire at once: longest round trip per 10 ms (log scale)",
            thousands(keys)
        ),
        &format!(
            "seconds, from {} s before the deadline (a new client connects at {} s)",
            pre.as_secs_f64(),
            (pre + check).as_secs_f64()
        ),
        "ms",
        &series,
    )
}

// ANCHOR: del_pause
/// One big delete: its own round trip, the second client's longest round trips, and what a
/// third client that connects afterwards sees.
struct DelPause {
    del: u32,
    /// From the moment the delete was sent until the third client connects.
    around: u32,
    /// The third client's connect and first `get`.
    newcomer: u32,
    /// From the delete until the end, the third client's moment included.
    overall: u32,
    /// In the `before` until the delete was sent.
    before: u32,
    /// Round trips over 1 ms in the `before` until the delete, and in as long from it: a
    /// delete that stalled the loop adds to the second count, where the longest round trip
    /// alone cannot tell it from the machine's own hiccups.
    over_1ms: (usize, usize),
}

/// Loads a sorted set of `members` members into the server at `addr`, then, while a second
/// client sends `get`s ping-pong, deletes it with `delete` (`del` or `unlink`); `after` its
/// reply a third client connects and sends one `get`, and the second goes on for as long again.
fn del_pause(
    (addr, pid): (SocketAddr, u32),
    proto: Proto,
    members: usize,
    delete: &str,
    (before, after): (Duration, Duration),
) -> DelPause {
    pin_loop(pid);
    let mut stream = bench_util::connect(addr);
    one(&mut stream, &proto.encode("set", &[PROBE, VALUE]), &proto.ok());
    pipelined(&mut stream, members, &proto.one(), |range, batch| {
        for i in range {
            let (score, member) = (i.to_string(), format!("m:{i:012}"));
            batch.extend(proto.encode("zadd", &[ZKEY, score.as_bytes(), member.as_bytes()]));
        }
    });
    let request = proto.encode(delete, &[ZKEY]);
    let mut reply = vec![0u8; proto.one().len()];

    let stop = Arc::new(AtomicBool::new(false));
    let getter = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || ping_pong(addr, proto, |_| stop.load(Ordering::Relaxed)))
    };
    thread::sleep(before);
    let sent = Instant::now();
    stream.write_all(&request).expect("send the delete");
    stream.read_exact(&mut reply).expect("its reply");
    let done = Instant::now();
    assert!(reply == proto.one(), "{delete} should have deleted the set");
    thread::sleep(after);
    let connecting = Instant::now();
    let mut newcomer = bench_util::connect(addr);
    one(&mut newcomer, &proto.encode("get", &[PROBE]), &proto.value());
    let connected = Instant::now();
    thread::sleep(after);
    stop.store(true, Ordering::Relaxed);
    let (start, gets) = getter.join().expect("the ping-pong client");

    // Moments as the client's times count them: nanoseconds since it began.
    let ns = |at: Instant| at.saturating_duration_since(start).as_nanos() as u64;
    let longest = |from: Instant, until: Option<Instant>| {
        let (from, until) = (ns(from), until.map_or(u64::MAX, ns));
        // Every round trip that was under way at some moment in the window.
        let during = gets.iter().filter(|&&(at, rt)| at < until && at + u64::from(rt) > from);
        during.map(|g| g.1).max().unwrap_or(0)
    };
    // The first round trips, on a fresh connection, wait for things the delete does not do.
    let warm = ns(start + before / 10);
    let quiet = gets.iter().filter(|&&(at, rt)| at >= warm && at + u64::from(rt) <= ns(sent));
    // Both windows as long as the quiet one, which leaves out the first tenth.
    let span = before - before / 10;
    let over_1ms = |from: Instant, until: Instant| {
        let (from, until) = (ns(from), ns(until));
        gets.iter().filter(|&&(at, rt)| at >= from && at < until && rt > 1_000_000).count()
    };
    DelPause {
        over_1ms: (over_1ms(sent - span, sent), over_1ms(sent, sent + span)),
        del: nanos_u32(done - sent),
        around: longest(sent, Some(connecting)),
        newcomer: nanos_u32(connected - connecting),
        overall: longest(sent, None),
        before: quiet.map(|g| g.1).max().expect("gets before the delete"),
    }
}
// ANCHOR_END: del_pause

/// A client that sends `get` of keys 0 to depth-1 per round trip to v1.3 or v2.0, which have
/// them all, and reads exactly the replies.
fn get_client(addr: SocketAddr, depth: usize) -> Client {
    let batch = (0..depth).flat_map(|i| command(&[b"get", &key16(i)])).collect();
    Client::persistent(addr, batch, depth, Proto::Ours.value().len())
}

/// v1.3 and v2.0, each with keys 0 to 63 and no deadlines.
struct Plain {
    v1_3: Server,
    v2_0: Server,
}

impl Plain {
    fn start() -> Plain {
        let plain = Plain {
            v1_3: Server::start_with(Stage::V1_3, &["--quiet"]),
            v2_0: Server::start_with(Stage::V2_0, &["--quiet"]),
        };
        for addr in [plain.v1_3.addr, plain.v2_0.addr] {
            load_keys(&mut bench_util::connect(addr), Proto::Ours, BATCH);
            // The replies are what the clients expect, byte for byte.
            let mut client = get_client(addr, BATCH);
            client.round_trip();
            assert!(client.reply == Proto::Ours.value().repeat(BATCH), "64 values");
        }
        plain
    }
}

/// Criterion's measurements: `get` without deadlines, ping-pong and 64 per write.
fn measure(c: &mut Criterion, plain: &Plain) {
    for (depth_name, depth) in [("pingpong", 1), ("pipelined_64", BATCH)] {
        let mut group = c.benchmark_group(format!("expiry_plain_get_{depth_name}"));
        group.throughput(Throughput::Elements(depth as u64));
        for (server, addr) in [("v1_3", plain.v1_3.addr), ("v2_0", plain.v2_0.addr)] {
            let mut client = get_client(addr, depth);
            group.bench_function(server, |b| b.iter(|| client.round_trip()));
        }
        group.finish();
    }
}

/// The plain path's rows: v2.0 against v1.3, paired. A `--test` run's bursts are too short
/// to judge.
fn plain_rows(plain: &Plain, test_mode: bool) -> Vec<String> {
    let (rounds, burst) = bench_util::paired_timing(test_mode);
    // Both loops on one CPU, this client on the other, as for the expiry (see `pin_loop`);
    // this thread is let go again afterwards, so that what it starts next is not pinned.
    pin_loop(plain.v1_3.pid());
    pin_loop(plain.v2_0.pid());
    let me = bench_util::this_thread();
    bench_util::pin(me, CLIENT_CPU, false);
    let mut rows = Vec::new();
    for (depth, how, target) in [(BATCH, "64 per write", Some(0.95)), (1, "ping-pong", None)] {
        let what = format!("v2.0 get / v1.3 get, keys without deadlines, {how}");
        let mut a = get_client(plain.v2_0.addr, depth);
        let mut b = get_client(plain.v1_3.addr, depth);
        let ratio = bench_util::paired_ratio(&mut a, &mut b, rounds, burst);
        rows.push(match target {
            Some(t) if test_mode => format!(
                "| {what} | {} | ≥ {t}×: not judged in a `--test` run |",
                bench_util::show_ratio(ratio)
            ),
            _ => bench_util::ratio_row(&what, ratio, target),
        });
    }
    bench_util::pin(me, "0-1", false);
    rows
}

/// The mass expiry's rows: one per server.
fn expiry_rows(
    summaries: &[Option<&ExpirySummary>],
    keys: usize,
    window: (Duration, Duration, Duration),
) -> Vec<String> {
    let (pre, check, post) = window;
    let mut rows = vec![
        format!(
            "| {} keys expire at once; `get` of another key, ping-pong, from {} s before the \
             deadline to {} s after; a new client at {} s after | gets | median | p99 | p99.9 | \
             worst before the deadline | worst until the new client | the new client's connect \
             and {} `get`s | worst | deadlines, from the one intended | expired keys \
             deleted |",
            thousands(keys),
            pre.as_secs_f64(),
            post.as_secs_f64(),
            check.as_secs_f64(),
            thousands(SAMPLES),
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|".to_string(),
    ];
    for summary in summaries {
        rows.push(match summary {
            Some(summary) => summary.row.clone(),
            None => "| Redis | not measured: no redis-server | | | | | | | | | |".to_string(),
        });
    }
    rows
}

/// The big delete's rows: v2.0's `del`, and Redis's `DEL` and `UNLINK`.
fn del_rows(
    ours: &DelPause,
    redis: Option<&(DelPause, DelPause)>,
    redis_version: &str,
    members: usize,
    (before, after): (Duration, Duration),
) -> Vec<String> {
    let row = |what: &str, d: &DelPause| {
        let cells = [d.del, d.around, d.newcomer, d.overall, d.before].map(show_nanos);
        let (quiet, after) = d.over_1ms;
        format!("| {what} | {} | {quiet} / {after} |", cells.join(" | "))
    };
    let mut rows = vec![
        format!(
            "| `del` of a sorted set of {} members; `get` of another key, ping-pong | the \
             delete's round trip | longest `get`, from the delete to {after} s after its reply | \
             then a new client: its connect and first `get` | longest `get`, from the delete to \
             {after} s after the new client | longest `get` in the {before} s before the delete | \
             `get`s over 1 ms, in the {span} s before the delete / the {span} s from it |",
            thousands(members),
            after = after.as_secs_f64(),
            before = before.as_secs_f64(),
            span = (before - before / 10).as_secs_f64(),
        ),
        "|---|---|---|---|---|---|---|".to_string(),
        row("v2.0 `del` (freed on the `lazyfree` thread)", ours),
    ];
    match redis {
        Some((del, unlink)) => {
            rows.push(row(&format!("Redis {redis_version} `DEL` (freed before it replies)"), del));
            rows.push(row(&format!("Redis {redis_version} `UNLINK` (freed on a thread)"), unlink));
        }
        None => rows.push("| Redis | not measured: no redis-server | | | | | |".to_string()),
    }
    rows
}

/// The targets that need the full size, judged only then: 20,000 keys say nothing about a
/// million.
fn target_rows(
    ours: &ExpirySummary,
    redis: Option<&ExpirySummary>,
    del: &DelPause,
    keys: usize,
    test_mode: bool,
) -> Vec<String> {
    let judge = |met: bool| match test_mode {
        true => "not judged in a `--test` run".to_string(),
        false => verdict(met).to_string(),
    };
    let within = |what: &str, nanos: u32, limit_ms: u32| {
        let met = judge(nanos <= limit_ms * 1_000_000);
        format!("| {what} | {} | ≤ {limit_ms} ms: {met} |", show_nanos(nanos))
    };
    let mut rows = vec![
        within(
            "v2.0 worst `get` round trip across the mass expiry, until a new client",
            ours.alone,
            10,
        ),
        within(
            "v2.0 worst `get` round trip across the mass expiry, new client included",
            ours.worst,
            10,
        ),
    ];
    for (what, ours, redis) in
        [("worst", ours.worst, redis.map(|s| s.worst)), ("p99", ours.p99, redis.map(|s| s.p99))]
    {
        let what = format!("v2.0 {what} `get` round trip / Redis's, across the mass expiry");
        rows.push(match redis {
            Some(redis) => {
                let ratio = f64::from(ours) / f64::from(redis);
                let shown = bench_util::show_ratio(ratio);
                format!("| {what} | {shown} | ≤ 1×: {} |", judge(ratio <= 1.0))
            }
            None => format!("| {what} | not measured: no redis-server | |"),
        });
    }
    let what =
        format!("v2.0 longest `get` round trip around a `del` of {} members", thousands(keys));
    rows.push(within(&format!("{what}, until a new client"), del.around, 1));
    rows.push(within(&format!("{what}, new client included"), del.overall, 1));
    let (quiet, after) = del.over_1ms;
    rows.push(format!(
        "| v2.0 `get` round trips over 1 ms, in the 0.9 s before the `del` / the 0.9 s from it \
         | {quiet} / {after} | shown: the machine's own, against any the delete adds |"
    ));
    rows
}

fn main() {
    let (mut c, test_mode) = bench_util::criterion();
    let n = if test_mode { 20_000 } else { 1_000_000 };
    // The mass expiry's timeline, from the deadline: the ping-pong client starts `pre` before
    // it, the new client connects `check` after it, the ping-pong client stops `post` after it.
    let window = match test_mode {
        true => {
            (Duration::from_millis(200), Duration::from_millis(300), Duration::from_millis(500))
        }
        false => (Duration::from_millis(500), Duration::from_secs(2), Duration::from_secs(3)),
    };
    // The big delete's: the ping-pong client's time before it, and after it twice.
    let del_window = match test_mode {
        true => (Duration::from_millis(100), Duration::from_millis(100)),
        false => (Duration::from_secs(1), Duration::from_secs(1)),
    };

    // 3 first: two small servers, gone before the big ones start.
    let plain = Plain::start();
    measure(&mut c, &plain);
    c.final_summary();
    let plain = plain_rows(&plain, test_mode);

    // 1: each server alone, one after the other.
    let ours = {
        let server = Server::start_with(Stage::V2_0, &["--quiet"]);
        let name = "v2.0 (500 keys a turn)".to_string();
        mass_expiry(name, (server.addr, server.pid()), Proto::Ours, n, window)
    };
    let (redis, redis_version) = match Redis::start() {
        Some(redis) => {
            let version = bench_util::redis_info(redis.addr, "server", "redis_version");
            let name = format!("Redis {version} (active expiry in its cron)");
            let redis = (redis.addr, redis.pid());
            (Some(mass_expiry(name, redis, Proto::Redis, n, window)), version)
        }
        None => (None, String::new()),
    };

    // 2: the same, for a big delete.
    let ours_del = {
        let server = Server::start_with(Stage::V2_0, &["--quiet"]);
        del_pause((server.addr, server.pid()), Proto::Ours, n, "del", del_window)
    };
    let redis_del = Redis::start().map(|redis| {
        let redis = (redis.addr, redis.pid());
        let del = del_pause(redis, Proto::Redis, n, "del", del_window);
        let unlink = del_pause(redis, Proto::Redis, n, "unlink", del_window);
        (del, unlink)
    });

    let ours_summary = summarise_expiry(&ours);
    let redis_summary = redis.as_ref().map(summarise_expiry);
    let mut table = expiry_rows(&[Some(&ours_summary), redis_summary.as_ref()], n, window);
    table.push(String::new());
    table.extend(del_rows(&ours_del, redis_del.as_ref(), &redis_version, n, del_window));
    table.push(String::new());
    table.push("| measure | this run | target |".to_string());
    table.push("|---------|----------|--------|".to_string());
    table.extend(target_rows(&ours_summary, redis_summary.as_ref(), &ours_del, n, test_mode));
    table.extend(plain);
    let table = table.join("\n");
    println!("\n{table}\n");

    // Drawn in a `--test` run too, so that the drawing cannot rot; written only in a real one.
    let expiries: Vec<&Expiry> = std::iter::once(&ours).chain(redis.as_ref()).collect();
    let svg = chart(&expiries, n, window);
    if !test_mode {
        let dir = criterion_dir();
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(format!("{dir}/expiry-targets.md"), table + "\n");
        let path = format!("{dir}/expiry-latency.svg");
        match std::fs::write(&path, svg) {
            Ok(()) => println!("chart: {path}"),
            Err(e) => println!("chart not written to {path}: {e}"),
        }
    }
}
