//! Stage v0.3 on its own: many clients at once, a client that floods without reading, the
//! connection limit, and the pipelining client. (Every v0.2 scenario also runs against v0.3,
//! in `tests/v0_2.rs`; the idle-client comparison is in `tests/compare.rs`.)

mod common;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Server, Stage, TIMEOUT, cpu_ticks, frame, read_reply_frame, request, world};

// ANCHOR: many_clients
/// 500 clients connected at once, 20 requests each, taking turns: every request is answered.
#[test]
fn five_hundred_clients_at_once() {
    let server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut clients: Vec<TcpStream> = (0..500).map(|_| server.connect()).collect();
    for round in 0..20 {
        let request = frame(format!("round {round}").as_bytes());
        for client in &mut clients {
            client.write_all(&request).unwrap();
        }
        for client in &mut clients {
            assert_eq!(read_reply_frame(client), world(), "round {round}");
        }
    }
}
// ANCHOR_END: many_clients

// ANCHOR: flood
/// A client that pipelines requests and never reads a reply: the server stops reading from it
/// once 1 MiB of replies wait (its writes then block), its memory stays near where it started,
/// and another client is served meanwhile.
#[test]
fn a_client_that_never_reads_is_held_back() {
    let server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut flood = server.connect();
    flood.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    let batch = frame(b"hello").repeat(1000);
    let (started, mut sent) = (Instant::now(), 0);
    // 10 million requests (90 MB) is far more than socket buffers hold: without
    // backpressure the server would read them all and queue 90 MB of replies.
    while sent < 10_000_000 && started.elapsed() < 2 * TIMEOUT {
        match flood.write_all(&batch) {
            Ok(()) => sent += 1000,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("the flood's write failed: {e}"),
        }
    }
    assert!(sent < 10_000_000, "the server read all {sent} requests: no backpressure");

    // The flood is still connected, its replies unread; someone else is served at once.
    let mut other = server.connect();
    assert_eq!(request(Stage::V0_3, &mut other, b"me too"), world());

    let peak = common::peak_rss_kib(server.pid());
    assert!(peak < 8 * 1024, "peak memory {peak} KiB after {sent} requests, 1 MiB of them queued");
}
// ANCHOR_END: flood

/// With `--max-conns 2`, a third client is accepted and closed at once, with a log line; when
/// one of the two leaves, the next is served.
#[test]
fn connections_past_the_limit_are_refused() {
    let server = Server::start_with(Stage::V0_3, &["--max-conns", "2"]);
    let mut first = server.connect();
    let mut second = server.connect();
    for (client, msg) in [(&mut first, "one"), (&mut second, "two")] {
        assert_eq!(request(Stage::V0_3, client, msg.as_bytes()), world());
        server.expect_says(msg);
    }
    let mut third = server.connect();
    common::assert_closed_without_reply(&mut third);
    server.expect_log("refused: already serving 2 clients");

    drop(first);
    server.expect_log("EOF, client closed the connection");
    let mut fourth = server.connect();
    assert_eq!(request(Stage::V0_3, &mut fourth, b"four"), world());
    server.expect_says("four");
}

/// Out of file descriptors: run under `prlimit --nofile=7` (stdin, stdout, stderr, the
/// listener, and room for three clients), a fourth client makes `accept` fail with EMFILE.
/// The server logs it once, stops asking about the listener instead of spinning on it, goes on
/// serving the three, and accepts the fourth as soon as one of them leaves.
#[test]
fn out_of_file_descriptors() {
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=7", "--", Stage::V0_3.bin(), "--addr", "127.0.0.1:0"]);
    let server = Server::start_command(Stage::V0_3, cmd);
    let mut clients: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        assert_eq!(request(Stage::V0_3, client, format!("client {i}").as_bytes()), world());
        server.expect_says(&format!("client {i}"));
    }
    let mut fourth = server.connect();
    fourth.write_all(&frame(b"fourth")).unwrap();
    server.expect_log("accept failed: Too many open files");

    // While the fourth waits, the server must not spin: a quiet period costs it almost no CPU.
    let busy = || cpu_ticks(server.pid()).iter().sum::<u64>();
    let before = busy();
    fourth.set_read_timeout(Some(common::QUIET_PERIOD)).unwrap();
    let err = std::io::Read::read(&mut fourth, &mut [0u8; 1]).expect_err("no reply yet");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    let spent = busy() - before;
    assert!(spent < 10, "the server used {spent} ticks of CPU while waiting");
    assert_eq!(request(Stage::V0_3, &mut clients[1], b"still served"), world());
    server.expect_says("still served");

    drop(clients.remove(0));
    server.expect_log_past("accept failed", "EOF, client closed the connection");
    fourth.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(read_reply_frame(&mut fourth), world());
    server.expect_says("fourth");
}

/// `--pipeline` sends every message in one write, then prints every reply.
#[test]
fn client_pipeline() {
    let server = Server::start(Stage::V0_3);
    let out = "server says: world\n".repeat(3);
    Stage::V0_3.client(server.addr, &["--pipeline", "a", "b", "c"]).success().stdout(out);
    for msg in ["a", "b", "c"] {
        server.expect_says(msg);
    }
}
