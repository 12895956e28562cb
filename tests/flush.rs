//! v3.0's `FLUSHALL` and `FLUSHDB`: Redis's modes and error texts, and `ASYNC` handing the old
//! keyspace to the `lazyfree` thread, seen from outside: the keyspace is empty at once, and
//! that thread, asleep until then, wakes to free it a slice at a time.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{Reply, Server, Stage, TIMEOUT, read_resp_reply, resp_command};

/// Sends one command and returns its reply as text.
fn ask(stream: &mut TcpStream, words: &[&[u8]]) -> String {
    stream.write_all(&resp_command(words)).unwrap();
    match read_resp_reply(stream) {
        Reply::Got(reply) => String::from_utf8(reply).unwrap(),
        Reply::Closed => panic!("closed instead of answering {:?}", words[0].escape_ascii()),
    }
}

/// Each form, with the reply redis-server 7.0.15 gives it.
#[test]
fn flushall_and_flushdb_take_redis_modes() {
    let server = Server::start(Stage::V3_0);
    let mut stream = server.connect();
    let syntax = "-ERR syntax error\r\n";
    for name in ["FLUSHALL", "FLUSHDB", "flushdb"] {
        let name = name.as_bytes();
        for (mode, want) in [
            (&[][..], "+OK\r\n"),
            (&[&b"async"[..]][..], "+OK\r\n"),
            (&[&b"SYNC"[..]][..], "+OK\r\n"),
            (&[&b"foo"[..]][..], syntax),
            (&[&b"async"[..], &b"sync"[..]][..], syntax),
            (&[&b"ASYNC"[..], &b"ASYNC"[..]][..], syntax),
        ] {
            assert_eq!(ask(&mut stream, &[&[name][..], mode].concat()), want, "{mode:?}");
        }
    }
}

// ANCHOR: flush_async
/// `FLUSHALL ASYNC` replies with the keyspace already empty (`DBSIZE` 0, a new `SET` works,
/// the old keys gone) and the freeing handed over: the `lazyfree` thread, asleep while there
/// is nothing to free, frees 10,000 strings with deadlines and a sorted set of 131,072 members
/// in slices of 2,048 parts, about seventy, and waits for the loop's merge after each: so it
/// blocks (waiting for merges, and for the allocator's lock), and is counted blocking at least
/// once, where it blocked 0 times when the loop freed the keyspace itself. How many times
/// depends on how busy the machine is, as slices grow while garbage waits (`tests/lazyfree.rs`
/// checks that): 140 on a quiet machine, 4 while another program kept both cores busy.
#[test]
fn flushall_async_empties_at_once_and_frees_off_the_loop() {
    let server = Server::start_with(Stage::V3_0, &["--quiet"]);
    let mut stream = server.connect();
    for i in 0..10_000 {
        let key = format!("key:{i}");
        let set = resp_command(&[b"SET", key.as_bytes(), b"v", b"EX", b"1000"]);
        stream.write_all(&set).unwrap();
    }
    for _ in 0..10_000 {
        assert_eq!(read_resp_reply(&mut stream), Reply::Got(b"+OK\r\n".to_vec()));
    }
    for chunk in 0..128 {
        let members: Vec<String> = (0..1024).map(|i| format!("m{}", chunk * 1024 + i)).collect();
        let mut zadd: Vec<&[u8]> = vec![b"ZADD", b"z"];
        members.iter().for_each(|m| zadd.extend([&b"1"[..], m.as_bytes()]));
        assert_eq!(ask(&mut stream, &zadd), ":1024\r\n");
    }
    let (pid, tid) = (server.pid(), common::lazyfree_thread(server.pid()));
    let before = common::times_blocked(pid, &tid);

    assert_eq!(ask(&mut stream, &[b"FLUSHALL", b"ASYNC"]), "+OK\r\n");
    assert_eq!(ask(&mut stream, &[b"DBSIZE"]), ":0\r\n");
    assert_eq!(ask(&mut stream, &[b"GET", b"key:1"]), "$-1\r\n");
    assert_eq!(ask(&mut stream, &[b"ZCARD", b"z"]), ":0\r\n");
    assert_eq!(ask(&mut stream, &[b"SET", b"new", b"v"]), "+OK\r\n");
    assert_eq!(ask(&mut stream, &[b"DBSIZE"]), ":1\r\n");

    let deadline = Instant::now() + TIMEOUT;
    while common::times_blocked(pid, &tid) < before + 1 {
        let blocked = common::times_blocked(pid, &tid) - before;
        assert!(Instant::now() < deadline, "the lazyfree thread blocked {blocked} times");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(ask(&mut stream, &[b"GET", b"new"]), "$1\r\nv\r\n");
}
// ANCHOR_END: flush_async
