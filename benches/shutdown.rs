//! What a slow client gets when the server is stopped with SIGTERM, from v3.0 and from Redis:
//! the figures of the book's "Stopping well" chapter.
//!
//! The client SETs a 1 KiB value, pipelines 20,000 `GET`s of it in one write (from a thread of
//! its own, so that a server that stops reading cannot block the reads), and reads 16 KiB every
//! 2 ms. The server gets SIGTERM right after the client's first reply, or 200 ms later. The
//! client counts the whole replies it received (each `$1024\r\n`, the value, `\r\n`, checked
//! byte for byte) and the bytes of a last partial one, until the stream ends: a clean close
//! (EOF) or a reset (`ECONNRESET`). The table says, per server and case, over three runs with
//! a fresh server each: the replies, how the stream ended, the server's exit status, and the
//! time from the signal to its exit (looked for every millisecond). Each server runs on CPU 0,
//! the client on CPU 1 (see `bench_util::pin`).
//!
//! `cargo bench --bench shutdown` takes about ten seconds and writes its table to
//! `target/criterion/shutdown-targets.md`. `cargo bench --bench shutdown -- --test` runs one
//! small round (2,000 `GET`s, the signal right after the first reply), judges nothing, and
//! writes no file.

#[path = "bench_util/mod.rs"]
mod bench_util;
#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bench_util::{Redis, connect, thousands};
use common::{Server, Stage, TIMEOUT};

/// The value every `GET` returns, and the length of one whole reply to it.
const VALUE_LEN: usize = 1024;
const REPLY_LEN: usize = 7 + VALUE_LEN + 2;

/// How much the client reads at a time, and how long it waits between reads: a client
/// slower than the server, so that replies pile up in the server and the kernel.
const READ_SIZE: usize = 16 << 10;
const READ_PAUSE: Duration = Duration::from_millis(2);

/// A server under test, started afresh for every run: the signal ends it.
enum Running {
    Ours(Server),
    Redis(Redis),
}

impl Running {
    fn addr(&self) -> SocketAddr {
        match self {
            Running::Ours(server) => server.addr,
            Running::Redis(redis) => redis.addr,
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Running::Ours(server) => server.pid(),
            Running::Redis(redis) => redis.pid(),
        }
    }

    /// How the process ended, if it has.
    fn exited(&mut self) -> Option<ExitStatus> {
        match self {
            Running::Ours(server) => match server.is_running() {
                true => None,
                false => Some(server.exit_status()),
            },
            Running::Redis(redis) => redis.child.try_wait().expect("poll redis-server"),
        }
    }

    /// v3.0's last log line, which says what it left undelivered (Redis's log is not read).
    fn last_word(&self) -> Option<String> {
        let Running::Ours(server) = self else { return None };
        // The line comes before the exit, so it is in the channel; bounded, in case of noise.
        (0..100).map(|_| server.next_log()).find(|line| line.contains("shut down in"))
    }
}

/// How the client's stream ended.
#[derive(Clone, Debug, PartialEq)]
enum End {
    Close,
    Reset,
    Other(String),
}

/// What the client received: whole replies, then the bytes of a partial one.
struct Received {
    replies: usize,
    partial: usize,
    end: End,
}

/// One run: what the client got, how the server ended, how long after the signal.
struct Run {
    got: Received,
    status: ExitStatus,
    exit_after: Duration,
}

/// One reply's bytes, to check every byte the client reads against.
fn reply() -> Vec<u8> {
    let mut reply = format!("${VALUE_LEN}\r\n").into_bytes();
    reply.extend(std::iter::repeat_n(b'v', VALUE_LEN));
    reply.extend(b"\r\n");
    reply
}

/// Whether `chunk`, read at offset `at` of the stream, is what a run of replies holds there.
fn is_replies(chunk: &[u8], at: usize, reply: &[u8]) -> bool {
    chunk.iter().enumerate().all(|(i, b)| *b == reply[(at + i) % reply.len()])
}

/// Sends `gets` pipelined `GET`s in one write, from a thread: whether that write finishes
/// depends on the server reading, and the reads must go on regardless. An error (the server
/// gone) ends it; the reads say what happened.
fn pipeline(stream: &TcpStream, gets: usize) -> thread::JoinHandle<()> {
    let mut writer = stream.try_clone().expect("clone the client's socket");
    writer.set_write_timeout(Some(TIMEOUT)).expect("write timeout");
    let batch = common::resp_command(&[b"GET", b"key"]).repeat(gets);
    thread::spawn(move || {
        let _ = writer.write_all(&batch);
    })
}

/// The client: SET, pipeline, then read slowly until the stream ends, telling `first` when
/// its first whole reply is in.
fn client(addr: SocketAddr, gets: usize, first: mpsc::Sender<Instant>) -> Received {
    let mut stream = connect(addr);
    let value = vec![b'v'; VALUE_LEN];
    stream.write_all(&common::resp_command(&[b"SET", b"key", &value])).expect("send the SET");
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).expect("the SET's reply");
    assert_eq!(&ok, b"+OK\r\n", "the SET's reply");
    let writer = pipeline(&stream, gets);
    let (reply, mut buf, mut total, mut told) = (reply(), vec![0u8; READ_SIZE], 0, false);
    let started = Instant::now();
    let end = loop {
        if started.elapsed() > 3 * TIMEOUT {
            break End::Other(format!("no end within {:?}", 3 * TIMEOUT));
        }
        match stream.read(&mut buf) {
            Ok(0) => break End::Close,
            Ok(n) if !is_replies(&buf[..n], total, &reply) => {
                break End::Other(format!("wrong bytes after {total}"));
            }
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break End::Reset,
            Err(e) => break End::Other(e.to_string()),
        }
        if total >= REPLY_LEN && !told {
            told = true;
            let _ = first.send(Instant::now());
        }
        thread::sleep(READ_PAUSE);
    };
    // Unblock the writer, if the server left it blocked, so that it can be joined.
    let _ = stream.shutdown(Shutdown::Both);
    writer.join().expect("the writer");
    Received { replies: total / REPLY_LEN, partial: total % REPLY_LEN, end }
}

fn sigterm(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    assert!(status.expect("run kill").success(), "kill -TERM {pid} failed");
}

/// One run against a fresh server: the client starts, the server gets SIGTERM `delay` after
/// the client's first reply, and its exit is looked for every millisecond, within the timeout.
fn run(mut server: Running, gets: usize, delay: Duration) -> (Run, Option<String>) {
    let (first, first_at) = mpsc::channel();
    let addr = server.addr();
    let client = thread::spawn(move || client(addr, gets, first));
    let first_at = first_at.recv_timeout(TIMEOUT).expect("a first reply");
    thread::sleep(delay.saturating_sub(first_at.elapsed()));
    sigterm(server.pid());
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = server.exited() {
            break status;
        }
        assert!(signalled.elapsed() < TIMEOUT, "the server did not exit within {TIMEOUT:?}");
        thread::sleep(Duration::from_millis(1));
    };
    let exit_after = signalled.elapsed();
    let got = client.join().expect("the client");
    let said = if status.success() { server.last_word() } else { None };
    (Run { got, status, exit_after }, said)
}

fn show_status(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(15)) => "killed by SIGTERM".to_string(),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

fn show_end(end: &End) -> String {
    match end {
        End::Close => "a clean close".to_string(),
        End::Reset => "a reset".to_string(),
        End::Other(why) => format!("**{why}**"),
    }
}

/// "682" when every run agrees, else "680–684".
fn range(values: impl Iterator<Item = usize> + Clone, show: impl Fn(usize) -> String) -> String {
    let (lo, hi) = (values.clone().min().unwrap_or(0), values.max().unwrap_or(0));
    if lo == hi { show(lo) } else { format!("{}–{}", show(lo), show(hi)) }
}

/// The distinct values `show` makes of the runs, in order, joined: one when all agree.
fn distinct(runs: &[Run], show: impl Fn(&Run) -> String) -> String {
    let mut seen: Vec<String> = Vec::new();
    for shown in runs.iter().map(show) {
        if !seen.contains(&shown) {
            seen.push(shown);
        }
    }
    seen.join("; ")
}

/// A Markdown table row for one server and case.
fn row(server: &str, case: &str, runs: &[Run]) -> String {
    let replies = range(runs.iter().map(|r| r.got.replies), thousands);
    let partial = runs.iter().filter(|r| r.got.partial > 0).count();
    let part = match partial {
        0 => String::new(),
        n if n == runs.len() => " and part of one".to_string(),
        n => format!(" (and part of one in {n} of {} runs)", runs.len()),
    };
    let then = distinct(runs, |r| show_end(&r.got.end));
    let status = distinct(runs, |r| show_status(&r.status));
    let ms = range(runs.iter().map(|r| r.exit_after.as_millis() as usize), thousands);
    format!("| {server} | {case} | {replies}{part} | {then} | {status} | {ms} ms |")
}

/// A fresh v3.0, or Redis, pinned to CPU 0; `None` if Redis would not start.
fn start(redis: bool) -> Option<Running> {
    let server = match redis {
        false => Running::Ours(Server::start_with(Stage::V3_0, &["--quiet"])),
        true => Running::Redis(Redis::start_under(&[])?),
    };
    bench_util::pin(server.pid(), "0", true);
    Some(server)
}

fn main() {
    let test_mode = bench_util::test_mode();
    let (gets, rounds) = if test_mode { (2_000, 1) } else { (20_000, 3) };
    let mut cases = vec![("right after the first reply", Duration::ZERO)];
    if !test_mode {
        cases.push(("200 ms after it", Duration::from_millis(200)));
    }
    // The client on CPU 1, each server on CPU 0.
    bench_util::pin(std::process::id(), "1", true);
    let mut servers = vec![("v3.0".to_string(), false)];
    if let Some(redis) = Redis::start() {
        let version = bench_util::redis_info(redis.addr, "server", "redis_version");
        servers.push((format!("Redis {version}"), true));
    }
    let mut table = vec![
        "| server | SIGTERM | replies the client got | then | exit status | signal to exit |"
            .to_string(),
        "|---|---|---|---|---|---|".to_string(),
    ];
    for (name, redis) in &servers {
        for (case, delay) in &cases {
            let mut runs = Vec::new();
            for i in 1..=rounds {
                let Some(server) = start(*redis) else { break };
                let (run, said) = run(server, gets, *delay);
                let got = &run.got;
                println!(
                    "{name}, signal {case}, run {i}: {} replies + {} bytes, {}, exit {} after \
                     {:?}{}",
                    got.replies,
                    got.partial,
                    show_end(&got.end),
                    show_status(&run.status),
                    run.exit_after,
                    said.map(|line| format!("; it said: {line}")).unwrap_or_default()
                );
                runs.push(run);
            }
            if !runs.is_empty() {
                table.push(row(name, case, &runs));
            }
        }
    }
    let table = table.join("\n");
    bench_util::report(&table, "shutdown", test_mode);
}
