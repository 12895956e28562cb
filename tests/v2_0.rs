//! Stage v2.0: time. Keys that expire (`pexpire`, `pttl`) with Redis's semantics, checked on
//! access as well as by the loop; idle clients closed, active ones kept; a client stuck in the
//! middle of a frame closed at the idle timeout; big sorted sets freed on a thread of their
//! own. (The heap of deadlines is tested against a model in `tests/ttl.rs`; the commands v2.0
//! keeps from earlier stages are run against it by `tests/v1_0.rs` and `tests/compare.rs`.)
//!
//! Waiting for a deadline to pass is the one kind of sleep these tests use, and each is
//! followed by checking a condition, never by assuming one.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::tlv::{int, run, str};
use common::{Reply, Server, Stage, TIMEOUT, command, read_reply_frame, rss_kib};

const NIL: [u8; 1] = [0];

/// The milliseconds `pttl` answers.
fn pttl(stream: &mut TcpStream, key: &[u8]) -> i64 {
    let reply = run(stream, &[b"pttl", key]);
    assert_eq!(reply[0], 3, "an integer");
    i64::from_le_bytes(reply[1..9].try_into().unwrap())
}

/// Asks `get key` until it answers nil, within the harness's timeout.
fn until_gone(stream: &mut TcpStream, key: &[u8]) {
    let give_up = Instant::now() + TIMEOUT;
    while run(stream, &[b"get", key]) != NIL {
        assert!(Instant::now() < give_up, "{key:?} still there after {TIMEOUT:?}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn server() -> Server {
    Server::start_with(Stage::V2_0, &["--quiet"])
}

// ANCHOR: ttl
/// `pexpire` and `pttl`, as Redis has them: -2 for no key, -1 for no deadline; a deadline counts
/// down and the key goes; a negative `pexpire` removes the deadline; `set` forgets it; `del`
/// takes it away with the key, so a new key of the same name has none.
#[test]
fn deadlines_as_redis_has_them() {
    let server = server();
    let mut c = server.connect();
    assert_eq!(pttl(&mut c, b"k"), -2);
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"100"]), int(0), "no such key");
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), NIL);
    assert_eq!(pttl(&mut c, b"k"), -1);
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"60000"]), int(1));
    let left = pttl(&mut c, b"k");
    assert!((59_000..=60_000).contains(&left), "{left} ms left");
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"-1"]), int(1), "negative: no deadline");
    assert_eq!(pttl(&mut c, b"k"), -1);
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"60000"]), int(1));
    assert_eq!(run(&mut c, &[b"set", b"k", b"w"]), NIL);
    assert_eq!(pttl(&mut c, b"k"), -1, "set forgets the deadline");
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"60000"]), int(1));
    assert_eq!(run(&mut c, &[b"del", b"k"]), int(1));
    assert_eq!(run(&mut c, &[b"set", b"k", b"again"]), NIL);
    assert_eq!(pttl(&mut c, b"k"), -1, "del took the deadline with the key");
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"50"]), int(1));
    until_gone(&mut c, b"k");
    assert_eq!(pttl(&mut c, b"k"), -2);
    assert_eq!(run(&mut c, &[b"keys"]), [5, 0, 0, 0, 0]);
}
// ANCHOR_END: ttl

/// Bad numbers are ERR 4; a deadline a billion years away is still a deadline.
#[test]
fn pexpire_numbers() {
    let server = server();
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), NIL);
    for bad in ["x", "1.5", "", "99999999999999999999"] {
        let reply = run(&mut c, &[b"pexpire", b"k", bad.as_bytes()]);
        assert_eq!(&reply[..5], b"\x01\x04\0\0\0", "{bad:?}");
    }
    assert_eq!(run(&mut c, &[b"pexpire", b"k", b"31536000000000000"]), int(1));
    assert!(pttl(&mut c, b"k") > 31_000_000_000_000_000);
}

/// A sorted set expires like a string, and the sorted-set commands see it gone.
#[test]
fn a_sorted_set_expires() {
    let server = server();
    let mut c = server.connect();
    assert_eq!(run(&mut c, &[b"zadd", b"z", b"1", b"a"]), int(1));
    assert_eq!(run(&mut c, &[b"pexpire", b"z", b"50"]), int(1));
    let give_up = Instant::now() + TIMEOUT;
    while run(&mut c, &[b"zscore", b"z", b"a"]) != NIL {
        assert!(Instant::now() < give_up);
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(run(&mut c, &[b"zadd", b"z", b"2", b"b"]), int(1), "a new set");
    assert_eq!(pttl(&mut c, b"z"), -1);
}

// ANCHOR: lazy
/// A key whose deadline passes while the loop is busy is never returned, even before the loop
/// gets round to deleting it. In one write: a deadline 1 ms away, a `keys` over 200,000 keys
/// (several milliseconds), and a `get`. The loop serves other clients after a `keys`, so it
/// answers the `get` at the start of its next turn, before it looks for expired keys in that
/// turn: only the check every access makes can answer nil.
#[test]
fn an_expired_key_is_never_returned() {
    let server = server();
    let mut c = server.connect();
    let sets: Vec<u8> = (0..200_000)
        .flat_map(|i| command(&[b"set", format!("key:{i}").as_bytes(), b"v"]))
        .collect();
    let mut reader = c.try_clone().unwrap();
    let replies = thread::spawn(move || {
        let mut got = vec![0u8; 5 * 200_000];
        reader.read_exact(&mut got).unwrap();
        assert!(got.chunks(5).all(|reply| reply == common::frame(&NIL)), "a set failed");
    });
    c.write_all(&sets).unwrap();
    replies.join().unwrap();
    let words: [&[&[u8]]; 4] =
        [&[b"set", b"k", b"v"], &[b"pexpire", b"k", b"1"], &[b"keys"], &[b"get", b"k"]];
    c.write_all(&words.map(command).concat()).unwrap();
    assert_eq!(read_reply_frame(&mut c), Reply::Got(NIL.to_vec()));
    assert_eq!(read_reply_frame(&mut c), Reply::Got(int(1).into()));
    let keys = read_reply_frame(&mut c);
    assert!(matches!(&keys, Reply::Got(body) if body[0] == 5), "an array");
    assert_eq!(read_reply_frame(&mut c), Reply::Got(NIL.to_vec()), "k had expired");
}
// ANCHOR_END: lazy

// ANCHOR: idle
/// With `--idle-timeout 200`: a silent client is closed, with a line in the log; a client that
/// sends a request every 50 ms for a second is not.
#[test]
fn idle_clients_are_closed_and_active_ones_kept() {
    let server = Server::start_with(Stage::V2_0, &["--quiet", "--idle-timeout", "200"]);
    let mut idle = server.connect();
    idle.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut active = server.connect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        assert_eq!(run(&mut active, &[b"get", b"k"]), NIL);
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(idle.read(&mut [0u8; 1]).unwrap(), 0, "the idle client was closed");
    server.expect_log("closing the connection: idle for 2");
    assert_eq!(run(&mut active, &[b"get", b"k"]), NIL, "the active one was not");
}
// ANCHOR_END: idle

// ANCHOR: slow_reader
/// A client that takes a 20 MiB reply slowly, 256 KiB every 50 ms, is not idle while it reads,
/// even though for a second at a time `poll` has nothing to say about it (the kernel reports
/// room to write only when a big send buffer is half empty): it gets the whole reply.
#[test]
fn a_slow_reader_is_not_idle() {
    let server = Server::start_with(Stage::V2_0, &["--quiet", "--idle-timeout", "200"]);
    let mut c = server.connect();
    let value = vec![b'v'; 20 << 20];
    assert_eq!(run(&mut c, &[b"set", b"big", &value]), NIL);
    c.write_all(&command(&[b"get", b"big"])).unwrap();
    let (want, mut got) = (common::frame(&str(&value)), 0);
    let mut chunk = vec![0u8; 256 << 10];
    while got < want.len() {
        thread::sleep(Duration::from_millis(50));
        match c.read(&mut chunk).unwrap() {
            0 => panic!("closed after {got} of {} bytes", want.len()),
            n => got += n,
        }
    }
}
// ANCHOR_END: slow_reader

/// A connection already closing (here after a malformed request, kept open by its client) is
/// left to its own deadlines: one line in the log for it, not a second one saying it was idle.
#[test]
fn a_closing_connection_is_not_closed_again_as_idle() {
    let server = Server::start_with(Stage::V2_0, &["--idle-timeout", "100"]);
    let mut bad = server.connect();
    let mut wire = command(&[b"get", b"k"]);
    wire.extend(common::frame(&5u32.to_le_bytes()));
    bad.write_all(&wire).unwrap();
    assert_eq!(read_reply_frame(&mut bad), Reply::Got(NIL.to_vec()));
    server.expect_says("k");
    server.expect_log("closing the connection: bad request");
    thread::sleep(Duration::from_millis(300));
    drop(server.connect());
    server.expect_log("EOF, client closed the connection");
    drop(bad);
}

/// A client that sends half a frame and stops is closed at the idle timeout, like any silent
/// one; the server goes on serving.
#[test]
fn half_a_frame_then_silence_is_closed() {
    let mut server = Server::start_with(Stage::V2_0, &["--idle-timeout", "200"]);
    let mut half = server.connect();
    half.write_all(&command(&[b"get", b"k"])[..7]).unwrap();
    half.set_read_timeout(Some(TIMEOUT)).unwrap();
    match half.read(&mut [0u8; 1]) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected a close, got {other:?}"),
    }
    server.expect_log("closing the connection: idle for");
    common::assert_still_serves(&mut server);
}

/// The server has a thread of its own for freeing, named `lazyfree`, and deleting a sorted set
/// big enough to go to it leaves the server answering as usual. The thread frees a slice at a
/// time and waits for the loop between slices, so this also checks that the loop answers it
/// with nothing else to do: with no other request sent, the set is freed to the end (its
/// tree's arena, one mapping of 6 MiB, leaves the server's resident memory). What it saves
/// the other clients is measured, not tested: `cargo bench --bench expiry`.
#[test]
fn big_values_are_freed_on_their_own_thread() {
    let server = server();
    let mut c = server.connect();
    // 100,000 members, 10,000 a write, each batch's replies read before the next is sent.
    for batch in 0..10 {
        let zadds: Vec<u8> = (batch * 10_000..(batch + 1) * 10_000)
            .flat_map(|i| command(&[b"zadd", b"big", b"1", format!("m{i}").as_bytes()]))
            .collect();
        c.write_all(&zadds).unwrap();
        for _ in 0..10_000 {
            assert_eq!(read_reply_frame(&mut c), Reply::Got(int(1).into()));
        }
    }
    let loaded = rss_kib(server.pid());
    assert_eq!(run(&mut c, &[b"del", b"big"]), int(1));
    server.wait_for_resident_below(loaded - 4096, "the set was never freed");
    assert_eq!(run(&mut c, &[b"set", b"k", b"v"]), NIL);
    assert_eq!(run(&mut c, &[b"get", b"k"]), str(b"v"));
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.pid())).unwrap();
    let names: Vec<String> = tasks
        .map(|task| std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap())
        .collect();
    assert!(names.iter().any(|name| name.trim() == "lazyfree"), "threads: {names:?}");
}
