//! One set of scenarios, run against every stage, with a table of what each stage is expected
//! to do. A stage's limitation is an expected outcome in the table, asserted like any other:
//! when a later stage lifts it, that stage's row says so and the same scenario proves it.
//!
//! To add a stage: add a row to `EXPECTED`. To add a scenario: add it to `tester::SCENARIOS`
//! too, run against any server or skipped with a reason.
//!
//! The scenarios that only need the wire are functions of a [`Transcript`], so that the
//! tester (`tester.rs`) runs them against a server someone else wrote, which
//! `REDIS_LITE_SERVER` names; the tests here run them against our stages and then check what
//! only our binaries do (the `client says` lines, the log).

mod common;
#[path = "compare/tester.rs"]
mod tester;

use std::io::{ErrorKind, Write};

use common::{QUIET_PERIOD, Server, Stage, TIMEOUT, cpu_ticks, request};
use tester::{Failure, Program, Transcript};

/// Runs scenario `name` against our binary for `expected`'s stage, then `check`, and fails
/// with the tester's report.
fn run_ours(name: &str, expected: &Expected, check: impl FnOnce(&mut Server)) {
    let program = Program::ours(expected.stage);
    if let Err(report) = tester::scenario(name).run_on(&program, expected, check) {
        panic!("\n{report}");
    }
}

/// `answer(stage)`'s bytes: the reply to [`common::encode_request`]'s request.
fn answer_bytes(stage: Stage) -> Vec<u8> {
    match common::answer(stage) {
        common::Reply::Got(bytes) => bytes,
        common::Reply::Closed => unreachable!("every stage answers"),
    }
}

// ANCHOR: expected
/// What one stage is expected to do in each scenario below.
struct Expected {
    stage: Stage,
    /// The hello request and its reply, byte for byte as they cross the wire.
    hello_on_the_wire: (&'static [u8], &'static [u8]),
    /// A second request on the same connection gets a reply.
    persistent_connection: bool,
    /// How many bytes of a 100-byte message, sent in one write, the server takes as the message.
    seen_of_a_100_byte_message: usize,
    /// A second client is served while the first is connected and idle.
    serves_a_second_client_while_the_first_idles: bool,
    /// The reply to `get greeting` after `set greeting hello` (each, before v1.0, a message).
    get_after_set: &'static [u8],
    /// The reply to `zscore board ada` after `zadd board 10 ada`: the first command that
    /// needs an order.
    zscore_after_zadd: &'static [u8],
    /// A client that connects and then says nothing is closed after a while.
    closes_an_idle_client: bool,
    /// What a client past `--max-conns` reads before its connection is closed; `None` for a
    /// stage without the option (it serves one client at a time, and the next waits).
    told_past_max_conns: Option<&'static [u8]>,
    /// SIGTERM makes the server close its clients and exit 0 (the event loop's shutdown);
    /// otherwise the signal kills it where it stands.
    exits_0_on_sigterm: bool,
}

/// v1.0's row, named, because v1.1's is the same, and v1.2's and v1.3's differ only in the
/// replies' encoding.
const V1_0: Expected = Expected {
    stage: Stage::V1_0,
    // `get hello`, and its answer: status 2, no such key.
    hello_on_the_wire: (
        b"\x14\0\0\0\x02\0\0\0\x03\0\0\0get\x05\0\0\0hello",
        b"\x04\0\0\0\x02\0\0\0",
    ),
    persistent_connection: true,
    seen_of_a_100_byte_message: 100,
    serves_a_second_client_while_the_first_idles: true,
    get_after_set: b"\0\0\0\0hello",
    zscore_after_zadd: b"\x01\0\0\0unknown command",
    closes_an_idle_client: false,
    told_past_max_conns: Some(b""),
    exits_0_on_sigterm: true,
};

/// v1.2's row: typed replies, nil for no such key, a string for a value.
const V1_2: Expected = Expected {
    stage: Stage::V1_2,
    hello_on_the_wire: (V1_0.hello_on_the_wire.0, b"\x01\0\0\0\x00"),
    get_after_set: b"\x02\x05\0\0\0hello",
    zscore_after_zadd: b"\x01\x01\0\0\0\x0f\0\0\0unknown command",
    ..V1_0
};

/// v1.3's row: v1.2's, and a score for `zscore`, a double (10.0).
const V1_3: Expected =
    Expected { stage: Stage::V1_3, zscore_after_zadd: b"\x04\0\0\0\0\0\0\x24\x40", ..V1_2 };

// Redis's own protocol: a null bulk string, a bulk string, a score as text.
const V3_0: Expected = Expected {
    stage: Stage::V3_0,
    hello_on_the_wire: (b"*2\r\n$3\r\nget\r\n$5\r\nhello\r\n", b"$-1\r\n"),
    get_after_set: b"$5\r\nhello\r\n",
    zscore_after_zadd: b"$2\r\n10\r\n",
    closes_an_idle_client: true,
    // Redis's words, and like Redis it closes straight after them.
    told_past_max_conns: Some(b"-ERR max number of clients reached\r\n"),
    ..V1_3
};

const EXPECTED: [Expected; 10] = [
    Expected {
        stage: Stage::V0_1,
        hello_on_the_wire: (b"hello", b"world"),
        persistent_connection: false,
        seen_of_a_100_byte_message: 64,
        serves_a_second_client_while_the_first_idles: false,
        get_after_set: b"world",
        zscore_after_zadd: b"world",
        closes_an_idle_client: false,
        told_past_max_conns: None,
        exits_0_on_sigterm: false,
    },
    Expected {
        stage: Stage::V0_2,
        hello_on_the_wire: (b"\x05\0\0\0hello", b"\x05\0\0\0world"),
        persistent_connection: true,
        seen_of_a_100_byte_message: 100,
        serves_a_second_client_while_the_first_idles: false,
        get_after_set: b"world",
        zscore_after_zadd: b"world",
        closes_an_idle_client: false,
        told_past_max_conns: None,
        exits_0_on_sigterm: false,
    },
    Expected {
        stage: Stage::V0_3,
        hello_on_the_wire: (b"\x05\0\0\0hello", b"\x05\0\0\0world"),
        persistent_connection: true,
        seen_of_a_100_byte_message: 100,
        serves_a_second_client_while_the_first_idles: true,
        get_after_set: b"world",
        zscore_after_zadd: b"world",
        closes_an_idle_client: false,
        told_past_max_conns: Some(b""),
        exits_0_on_sigterm: true,
    },
    V1_0,
    // v1.0's protocol and answers: only where the keys live has changed.
    Expected { stage: Stage::V1_1, ..V1_0 },
    // Typed replies: nil for no such key, a string for a value.
    V1_2,
    // Sorted sets.
    V1_3,
    // Time: an idle client is closed.
    Expected { stage: Stage::V2_0, closes_an_idle_client: true, ..V1_3 },
    V3_0,
    // The commands applications use: the same answers to these scenarios.
    Expected { stage: Stage::V3_1, ..V3_0 },
];
// ANCHOR_END: expected

/// The hello exchange: exactly these bytes out, exactly these bytes back, and the server
/// prints what it was told.
#[test]
fn hello_exchange_on_the_wire() {
    for expected in &EXPECTED {
        run_ours("hello_exchange_on_the_wire", expected, |server| server.expect_says("hello"));
    }
}

/// The hello request, and exactly the row's reply bytes back.
fn hello(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let mut conn = t.connect()?;
    let (request, reply) = expected.hello_on_the_wire;
    t.expect_wire(&mut conn, request, reply)
}

// ANCHOR: set_then_get
/// `set greeting hello`, then `get greeting`: the stages before v1.0 take each for a message
/// and answer `world`; v1.0 stores the value and gives it back.
#[test]
fn set_then_get() {
    for expected in &EXPECTED {
        run_ours("set_then_get", expected, |_| {});
    }
}

/// `set greeting hello`, any reply, then `get greeting` and the row's `get_after_set`.
fn set_get(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let (set, get): (&[&[u8]], &[&[u8]]) =
        (&[b"set", b"greeting", b"hello"], &[b"get", b"greeting"]);
    one_then_another(t, expected, set, get, expected.get_after_set)
}

/// Sends `first` and reads its reply, then sends `second` (on a new connection if the stage
/// closes after each reply), and fails unless its reply is `want`.
fn one_then_another(
    t: &mut Transcript,
    expected: &Expected,
    first: &[&[u8]],
    second: &[&[u8]],
    want: &[u8],
) -> Result<(), Failure> {
    let stage = expected.stage;
    let mut conn = t.connect()?;
    t.expect_a_reply(&mut conn, &common::encode_command(stage, first))?;
    if !expected.persistent_connection {
        conn = t.connect()?;
    }
    t.expect(&mut conn, &common::encode_command(stage, second), want)
}
// ANCHOR_END: set_then_get

/// `zadd board 10 ada`, then `zscore board ada`: a score from v1.3 on, an unknown command
/// before (or, before v1.0, `world`).
#[test]
fn zadd_then_zscore() {
    for expected in &EXPECTED {
        run_ours("zadd_then_zscore", expected, |_| {});
    }
}

/// `zadd board 10 ada`, any reply, then `zscore board ada` and the row's `zscore_after_zadd`.
fn zadd_zscore(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let zadd: &[&[u8]] = &[b"zadd", b"board", b"10", b"ada"];
    let zscore: &[&[u8]] = &[b"zscore", b"board", b"ada"];
    one_then_another(t, expected, zadd, zscore, expected.zscore_after_zadd)
}

// ANCHOR: persistent_connection
/// A second request on the connection that carried the first: v0.1 has closed it, v0.2
/// answers.
#[test]
fn second_request_on_one_connection() {
    for expected in &EXPECTED {
        run_ours("second_request_on_one_connection", expected, |_| {});
    }
}

/// `first` and `second` on one connection: answered twice, or closed after the first.
fn second_request(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let (stage, mut conn) = (expected.stage, t.connect()?);
    t.expect(&mut conn, &common::encode_request(stage, b"first"), &answer_bytes(stage))?;
    let second = common::encode_request(stage, b"second");
    match expected.persistent_connection {
        true => t.expect(&mut conn, &second, &answer_bytes(stage)),
        false => t.expect_closed(&mut conn, &second),
    }
}
// ANCHOR_END: persistent_connection

// ANCHOR: long_message
/// A 100-byte message in one write: v0.1's single 64-byte read cuts it, v0.2 reads it whole.
#[test]
fn a_message_longer_than_one_read() {
    for expected in &EXPECTED {
        let seen = &hundred_bytes()[..expected.seen_of_a_100_byte_message];
        run_ours("a_message_longer_than_one_read", expected, |server| {
            server.expect_says(std::str::from_utf8(seen).unwrap())
        });
    }
}

/// `abc...zabc...`, 100 bytes.
fn hundred_bytes() -> Vec<u8> {
    (0..100).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A 100-byte message in one write, and the answer.
fn long_message(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let (stage, mut conn) = (expected.stage, t.connect()?);
    t.expect(&mut conn, &common::encode_request(stage, &hundred_bytes()), &answer_bytes(stage))
}
// ANCHOR_END: long_message

// ANCHOR: idle_client
/// A client connects and says nothing; a second client sends a request. Neither v0.1 nor v0.2
/// answers the second client until the first leaves; then it is served, nothing lost. v0.3
/// answers it at once.
#[test]
fn an_idle_client_and_a_second_client() {
    for expected in &EXPECTED {
        run_ours("an_idle_client_and_a_second_client", expected, |server| {
            server.expect_says("hello")
        });
    }
}

/// A silent first connection, then `hello` on a second: answered at once, or only once the
/// first has left.
fn idle_and_second(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let stage = expected.stage;
    // The kernel queues connections in order, so the server takes this one first.
    let idle = t.connect()?;
    let mut second = t.connect()?;
    let hello = common::encode_request(stage, b"hello");
    if expected.serves_a_second_client_while_the_first_idles {
        return t.expect(&mut second, &hello, &answer_bytes(stage));
    }
    // Asserting absence needs a wait: no reply may come while the first client stays.
    t.expect_no_reply_yet(&mut second, &hello)?;
    drop(idle);
    t.expect_later(&mut second, &answer_bytes(stage))
}
// ANCHOR_END: idle_client

// ANCHOR: past_max_conns
/// With `--max-conns 1`, a second client while the first is served: closed, after the words
/// its protocol has for it (RESP, v3.0) or none (the stages before). v0.1 and v0.2 refuse
/// the option itself.
#[test]
fn a_client_past_max_conns() {
    for expected in &EXPECTED {
        let stage = expected.stage;
        let Some(told) = expected.told_past_max_conns else {
            stage.command().args(["--max-conns", "1"]).assert().code(2);
            continue;
        };
        let server = Server::start_with(stage, &["--max-conns", "1"]);
        let mut first = server.connect();
        assert_eq!(request(stage, &mut first, b"first"), common::answer(stage), "{stage:?}");
        let mut second = server.connect();
        let mut got = Vec::new();
        let end = std::io::Read::read_to_end(&mut second, &mut got);
        assert!(end.is_ok(), "{stage:?}: {end:?} after {got:?}, not a clean close");
        let (got, told) = (String::from_utf8_lossy(&got), String::from_utf8_lossy(told));
        assert_eq!(got, told, "{stage:?}");
        server.expect_log("refused: already serving 1 clients");
    }
}
// ANCHOR_END: past_max_conns

// ANCHOR: sigterm
/// SIGTERM, with a client connected and served: the stages that run the event loop close
/// the client (it reads a clean end of stream) and exit 0, saying so in one line; v0.1 and
/// v0.2, blocking servers that leave signals alone, are killed by it.
#[test]
fn sigterm_with_a_client_connected() {
    use std::os::unix::process::ExitStatusExt;
    for expected in &EXPECTED {
        let stage = expected.stage;
        let mut server = Server::start(stage);
        let mut client = server.connect();
        let reply = request(stage, &mut client, b"before");
        assert_eq!(reply, common::answer(stage), "{stage:?}");
        server.expect_says("before");
        server.signal("TERM");
        let status = server.exit_status();
        if expected.exits_0_on_sigterm {
            assert_eq!(status.code(), Some(0), "{stage:?}: {status}");
            let end = std::io::Read::read(&mut client, &mut [0u8; 1]);
            assert_eq!(end.ok(), Some(0), "{stage:?}: not a clean close");
            server.expect_log("SIGTERM: shut down in");
        } else {
            assert_eq!(status.signal(), Some(15), "{stage:?}: {status}");
        }
    }
}
// ANCHOR_END: sigterm

/// Every stage survives the same broken client (one that connects and leaves) and goes on.
#[test]
fn a_client_that_connects_and_leaves() {
    for expected in &EXPECTED {
        run_ours("a_client_that_connects_and_leaves", expected, |server| {
            assert!(server.is_running(), "{}: the server exited", server.name);
            server.expect_log("closed");
            server.expect_says("still there?");
            // v0.2 on log every connection's end, v0.1 only failures.
            if server.stage != Stage::V0_1 {
                server.expect_log("EOF, client closed the connection");
            }
        });
    }
}

/// A connection opened and closed, then a request on another, answered.
fn connects_and_leaves(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    drop(t.connect()?);
    let (stage, mut conn) = (expected.stage, t.connect()?);
    t.expect(&mut conn, &common::encode_request(stage, b"still there?"), &answer_bytes(stage))
}

/// With no server, each stage's client says what is wrong and what to do, in one line, and
/// exits with 1.
#[test]
fn client_without_a_server() {
    for expected in &EXPECTED {
        let stage = expected.stage.name();
        let addr = common::unused_addr();
        let out = expected.stage.client(addr, &[]).code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(
            stderr.starts_with(&format!("{stage} client: cannot connect to {addr}: ")),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("Start it first: cargo run --bin {stage}")), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

// ANCHOR: out_of_descriptors
/// Started with room for no client at all (`prlimit --nofile=4`: stdin, stdout, stderr and
/// the listener; 6 from v0.3, whose loop hears signals through a socket pair; 8 from v2.0,
/// whose `lazyfree` thread talks to the loop over another; 9 in v3.0, which waits with an
/// epoll instance),
/// every stage logs the failing `accept`, waits instead of spinning, and serves the waiting
/// client once descriptors are to be had again (the limit is raised while it runs), with
/// nobody having left in between.
#[test]
fn accept_failures_back_off_and_recover() {
    for expected in &EXPECTED {
        let stage = expected.stage;
        let own = match stage {
            Stage::V0_1 | Stage::V0_2 => 4,
            Stage::V2_0 => 8,
            Stage::V3_0 | Stage::V3_1 => 9,
            _ => 6,
        };
        let mut cmd = std::process::Command::new("prlimit");
        let nofile = format!("--nofile={own}:1024");
        cmd.args([&nofile, "--", stage.bin(), "--addr", "127.0.0.1:0"]);
        let server = Server::start_command(stage, cmd);
        let mut client = server.connect();
        client.write_all(&common::encode_request(stage, b"patience")).unwrap();
        server.expect_log("accept failed: Too many open files");

        // While it cannot accept, the server must not spin: a quiet period costs it almost no
        // CPU (spinning, v0.1 and v0.2 once logged 340,000 failures a second).
        let busy = || cpu_ticks(server.pid()).iter().sum::<u64>();
        let before = busy();
        client.set_read_timeout(Some(QUIET_PERIOD)).unwrap();
        let err = std::io::Read::read(&mut client, &mut [0u8; 1]).expect_err("no reply yet");
        assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
        let spent = busy() - before;
        assert!(spent < 10, "{stage:?}: {spent} ticks of CPU while unable to accept");

        common::set_open_file_limit(server.pid(), 64, 1024);
        client.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(common::read_reply(stage, &mut client), common::answer(stage), "{stage:?}");
        server.expect_says("patience");
    }
}
// ANCHOR_END: out_of_descriptors

/// The server's stdout is closed after its first line, as `vX_Y | head -1` does: the next
/// line it prints fails (EPIPE). Every stage shrugs that off and goes on serving; none panics.
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    for expected in &EXPECTED {
        run_ours("a_closed_stdout_does_not_stop_the_server", expected, |server| {
            assert!(server.is_running(), "{}: the server exited", server.name)
        });
    }
}

/// Two requests, each on a connection of its own, answered (the server's stdout is closed).
fn closed_stdout(t: &mut Transcript, expected: &Expected) -> Result<(), Failure> {
    let stage = expected.stage;
    for msg in ["first", "second"] {
        let mut conn = t.connect()?;
        t.expect(&mut conn, &common::encode_request(stage, msg.as_bytes()), &answer_bytes(stage))?;
    }
    Ok(())
}

// ANCHOR: idle_closed
/// A client that connects and says nothing. From v2.0 on it is closed once it has been silent
/// for the idle timeout (300 ms here); every stage before holds it for ever (here: for the
/// whole of a second).
#[test]
fn an_idle_client_is_eventually_closed() {
    for expected in &EXPECTED {
        let options: &[&str] = match expected.closes_an_idle_client {
            true => &["--idle-timeout", "300"],
            false => &[],
        };
        let server = Server::start_with(expected.stage, options);
        let mut idle = server.connect();
        idle.set_read_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
        // A signal the tester's harness catches may interrupt the read: read again.
        let closed = loop {
            match std::io::Read::read(&mut idle, &mut [0u8; 1]) {
                Ok(0) => break true,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break false;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => panic!("{:?}: {other:?}", expected.stage),
            }
        };
        assert_eq!(closed, expected.closes_an_idle_client, "{:?}", expected.stage);
        if closed {
            server.expect_log("closing the connection: idle for");
        }
    }
}
// ANCHOR_END: idle_closed
