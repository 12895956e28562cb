//! What serving a request allocates. Two ways of counting:
//!
//! - the library's request path (`read_frame`, `write_frame`) and a hostile length header,
//!   with a global allocator that counts, per thread, what this test allocates;
//! - the real server binaries, whole, run under valgrind, which counts every allocation the
//!   process makes from start to exit: run one with 100 requests and one with 1,100, and the
//!   difference is what 1,000 requests cost.

mod common;

use std::io::Cursor;
use std::process::Command;

use std::io::Write;

use common::{Reply, Server, Stage, request};

use redis_lite::frame::{FRAME_BUF_LEN, FrameBuf, read_frame, write_frame};
use redis_lite::sys::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` and returns how many allocations it made on this thread, and how many bytes.
fn allocations_in(f: impl FnOnce()) -> (usize, usize) {
    let before = Counting::made_here();
    f();
    let after = Counting::made_here();
    (after.0 - before.0, after.1 - before.1)
}

/// 1,000 requests read and answered through `read_frame` and `write_frame`: zero allocations.
#[test]
fn the_request_path_allocates_nothing() {
    let mut requests = Vec::new();
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    for i in 0..1000 {
        write_frame(&mut requests, &mut buf, format!("request {i}").as_bytes()).unwrap();
    }
    // Room for every reply up front, so that growing the sink is not counted.
    let mut replies = Cursor::new(vec![0u8; 1000 * 9]);
    let mut incoming = &requests[..];

    let (count, _) = allocations_in(|| {
        while let Some(body) = read_frame(&mut incoming, &mut buf).unwrap() {
            assert!(body.starts_with(b"request "));
            write_frame(&mut replies, &mut buf, b"world").unwrap();
        }
    });
    assert_eq!(count, 0);
    assert_eq!(replies.position(), 9000);
}

/// A header claiming 4 GiB: the error message is all that is allocated, a few dozen bytes.
#[test]
fn a_hostile_header_allocates_next_to_nothing() {
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    let hostile = u32::MAX.to_le_bytes();
    let (_, bytes) = allocations_in(|| {
        let err = read_frame(&mut &hostile[..], &mut buf).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    });
    assert!(bytes < 256, "{bytes} bytes allocated for a refused header");
}

/// Allocations a server makes from start to exit when it serves `requests` ping-pong requests
/// on one connection, as valgrind counts them: v0.x's hello, or from v1.0 on a `get` of a key
/// set first.
fn allocations_serving(stage: Stage, options: &[&str], requests: usize) -> u64 {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=memcheck", "--leak-check=no", stage.bin(), "--addr", "127.0.0.1:0"]);
    let mut server = Server::start_command(stage, {
        cmd.args(options);
        cmd
    });
    let mut stream = server.connect();
    let (set, answer) = match stage {
        Stage::V1_0 | Stage::V1_1 => (vec![0; 4], b"\0\0\0\0a value".to_vec()),
        // Typed: nil for the set; for the get, a string of 7 bytes.
        Stage::V1_2 | Stage::V1_3 | Stage::V2_0 => (vec![0], b"\x02\x07\0\0\0a value".to_vec()),
        Stage::V3_0 | Stage::V3_1 => (b"+OK\r\n".to_vec(), b"$7\r\na value\r\n".to_vec()),
        _ => (vec![], b"world".to_vec()),
    };
    if !set.is_empty() {
        let words: &[&[u8]] = &[b"set", b"hello", b"a value"];
        stream.write_all(&common::encode_command(stage, words)).unwrap();
        assert_eq!(common::read_reply(stage, &mut stream), Reply::Got(set));
    }
    let answer = Reply::Got(answer);
    for _ in 0..requests {
        assert_eq!(request(stage, &mut stream, b"hello"), answer);
    }
    drop(stream);
    // valgrind's own lines come first; then the server's, when the connection has ended.
    server.expect_log_past("==", "EOF, client closed the connection");
    // SIGTERM, not the harness's SIGKILL: valgrind writes its summary only when it can.
    let pid = server.pid().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    server.wait_for_exit();
    for _ in 0..100 {
        let line = server.next_log();
        // "==PID==   total heap usage: 44 allocs, 26 frees, 186,392 bytes allocated"
        if let Some(after) = line.split("total heap usage: ").nth(1) {
            let count = after.split(' ').next().unwrap().replace(',', "");
            return count.parse().expect("a count of allocations");
        }
    }
    panic!("{}: no heap summary from valgrind", stage.name());
}

/// How far two runs may be from the count they should differ by. On a busy machine, two runs
/// of the same binary differed by up to 4 allocations, quiet or logged, on a different stage
/// each time: something in the process depends on scheduling (its threads, its shutdown), and
/// it is not pinned down. Twice that is allowed; an allocation per request would be 1,000 off.
const SLACK: u64 = 8;

// ANCHOR: server_allocations
/// The servers themselves: with `--quiet`, v0.2 and v0.3 allocate nothing per request, nor
/// do v1.0 to v3.0 per `get`; with their log on, one allocation each, the `client says: ...` line.
#[test]
fn the_servers_allocate_nothing_per_request() {
    let valgrind = Command::new("valgrind").arg("--version").output();
    if valgrind.is_err() && std::env::var_os("CI").is_none() {
        // CI installs valgrind (.ci/run) and runs this; a reader's machine may not have it.
        eprintln!("skipped: valgrind is not installed (Debian: apt-get install valgrind)");
        return;
    }
    let stages = [Stage::V0_2, Stage::V0_3, Stage::V1_0, Stage::V1_1, Stage::V1_2, Stage::V1_3];
    for stage in stages.into_iter().chain([Stage::V2_0, Stage::V3_0, Stage::V3_1]) {
        let quiet_100 = allocations_serving(stage, &["--quiet"], 100);
        let quiet_1100 = allocations_serving(stage, &["--quiet"], 1100);
        let per_request = quiet_1100.abs_diff(quiet_100);
        assert!(
            per_request <= SLACK,
            "{}: {per_request} allocations for 1,000 requests",
            stage.name()
        );
        let logged_100 = allocations_serving(stage, &[], 100);
        let logged_1100 = allocations_serving(stage, &[], 1100);
        // One line each, give or take `SLACK`: see there.
        let per_line = logged_1100.abs_diff(logged_100 + 1000);
        assert!(
            per_line <= SLACK,
            "{}: {logged_1100} - {logged_100}: not one per logged request",
            stage.name()
        );
    }
}
// ANCHOR_END: server_allocations
