//! Stage v0.3 on its own: many clients at once, a client that floods without reading, the
//! connection limit, and the pipelining client. (Every v0.2 scenario also runs against v0.3,
//! in `tests/v0_2.rs`; the idle-client comparison is in `tests/compare.rs`.)

mod common;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, Stage, TIMEOUT, cpu_ticks, frame, read_reply_frame, request, world};
use redis_lite::event_loop::SHUTDOWN_GRACE;

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
/// once 1 MiB of replies wait (its writes then stall), its memory stays near where it started,
/// and another client is served meanwhile. When the flooding client does read, reading
/// resumes, and it gets a reply for every request it sent.
#[test]
fn a_client_that_never_reads_is_held_back() {
    let server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut flood = server.connect();
    let batch = frame(b"hello").repeat(1000);
    // 90 MB of requests is far more than socket buffers hold: without backpressure the server
    // would read them all and queue 90 MB of replies.
    let limit = 90_000_000;
    let sent = common::write_until_stalled(&mut flood, &batch, limit, Duration::from_secs(1));
    assert!(sent < limit, "the server read all {sent} bytes of requests: no backpressure");

    // The flood is still connected, its replies unread; someone else is served at once.
    let mut other = server.connect();
    assert_eq!(request(Stage::V0_3, &mut other, b"me too"), world());

    let peak = common::peak_rss_kib(server.pid());
    assert!(peak < 8 * 1024, "peak memory {peak} KiB after {sent} bytes, 1 MiB of them queued");

    // Now the flood reads: the server must read it again, and answer every whole request.
    common::expect_worlds(&mut flood, sent / frame(b"hello").len());
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

/// Out of file descriptors: run under `prlimit --nofile=9` (stdin, stdout, stderr, the
/// listener, the two ends of the socket pair signals arrive on, and room for three clients), a fourth client makes `accept` fail with EMFILE.
/// The server logs it once, stops asking about the listener instead of spinning on it, goes on
/// serving the three, and accepts the fourth as soon as one of them leaves.
#[test]
fn out_of_file_descriptors() {
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=9", "--", Stage::V0_3.bin(), "--addr", "127.0.0.1:0"]);
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

/// Five clients each pipeline requests without reading until the server stops reading them
/// (over 1 MiB of replies waits for each), then read every reply and go idle: the server gives
/// the reply buffers' memory back instead of keeping each at its peak for as long as the
/// client stays.
#[test]
fn idle_clients_do_not_keep_a_burst_of_memory() {
    let server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let baseline = common::rss_kib(server.pid());
    let batch = frame(b"hello").repeat(1000);
    let mut clients: Vec<(TcpStream, usize)> = Vec::new();
    for _ in 0..5 {
        let mut client = server.connect();
        let sent =
            common::write_until_stalled(&mut client, &batch, 50 << 20, Duration::from_millis(200));
        clients.push((client, sent / batch.len() * 1000 + sent % batch.len() / 9));
    }
    let peak = common::rss_kib(server.pid());
    for (client, requests) in &mut clients {
        common::expect_worlds(client, *requests);
    }
    // Everyone is idle and connected, and nothing is owed: what does the server hold now?
    assert_eq!(request(Stage::V0_3, &mut server.connect(), b"sync"), world());
    let idle = common::rss_kib(server.pid());
    eprintln!("baseline {baseline} KiB, at the peak {peak} KiB, idle {idle} KiB");
    assert!(idle < baseline + 2 * 1024, "idle at {idle} KiB (peak {peak}, baseline {baseline})");
}

/// A child process killed when the test is done with it, even when the test panicked.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ANCHOR: pipeline_deadlock
/// `--pipeline` reads replies while it still sends. The server here, a stand-in written for
/// the test, answers the first request and reads no further until the client has printed that
/// answer, as v0.3 reads no further from a client whose replies pile up unread. A client that
/// sent everything before reading anything would wait forever: 5.6 MB of requests is more than
/// the socket buffers hold while nobody reads (about 4 MB on loopback here).
#[test]
fn client_pipeline_reads_while_it_sends() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (count, message) = (1400, "x".repeat(4000));
    // A command line may hold a quarter of the stack limit, up to 6 MiB: 2 MiB by default.
    // The limit that counts is the one of the process that starts the program: this one.
    let pid = std::process::id().to_string();
    let raised = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--stack=33554432:"])
        .status()
        .unwrap();
    assert!(raised.success(), "prlimit could not raise the stack limit");
    let mut cmd = std::process::Command::new(Stage::V0_3.bin());
    cmd.args(["client", "--addr", &addr, "--pipeline"]).args(std::iter::repeat_n(&message, count));
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let mut client = KillOnDrop(cmd.spawn().unwrap());
    let printed = common::lines_of(client.0.stdout.take().unwrap());

    let (first_printed, go_on) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut body = vec![0u8; 4000];
        let mut answer = |stream: &mut TcpStream, reply: &[u8]| {
            std::io::Read::read_exact(stream, &mut [0u8; 4]).unwrap();
            std::io::Read::read_exact(stream, &mut body).unwrap();
            stream.write_all(&frame(reply)).unwrap();
        };
        answer(&mut stream, b"first");
        if go_on.recv_timeout(TIMEOUT).is_ok() {
            for _ in 1..count {
                answer(&mut stream, b"world");
            }
        }
    });
    let first = printed.recv_timeout(TIMEOUT).expect("the first reply printed while sending");
    assert_eq!(first, "server says: first");
    first_printed.send(()).unwrap();
    for i in 1..count {
        let line = printed.recv_timeout(TIMEOUT).unwrap_or_else(|e| panic!("reply {i}: {e}"));
        assert_eq!(line, "server says: world");
    }
    server.join().unwrap();
    common::wait_for_exit(&mut client.0, "v0_3 client");
    assert!(client.0.wait().unwrap().success());
}
// ANCHOR_END: pipeline_deadlock

// ANCHOR: lowered_limit
/// Someone lowers the server's file limit below the descriptors it has open (`prlimit` from
/// outside), so that `poll` refuses to watch them all in one call (EINVAL). The server polls
/// them in slices the limit allows, and says so once: clients are answered while the limit
/// is low, the last one connected as well as the first; one that leaves is noticed (its
/// descriptor is closed); a newcomer, which `accept` cannot take (EMFILE), waits without
/// the server spinning; and once the limit is raised the newcomer is served too.
#[test]
fn a_lowered_file_limit_still_serves_everyone() {
    if common::missing_tool("prlimit") {
        return;
    }
    let mut cmd = std::process::Command::new("prlimit");
    cmd.args(["--nofile=100:200", "--", Stage::V0_3.bin(), "--addr", "127.0.0.1:0", "--quiet"]);
    let mut server = Server::start_command(Stage::V0_3, cmd);
    let mut clients: Vec<TcpStream> = (0..60).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_eq!(request(Stage::V0_3, client, b"before"), world());
    }
    let set_limit = |soft| common::set_open_file_limit(server.pid(), soft, 200);
    set_limit(30);
    // The first `poll` after this one (already waiting, with the old limit) is refused.
    assert_eq!(request(Stage::V0_3, &mut clients[59], b"during"), world());
    server.expect_log("polling them 30 at a time");
    for i in [0, 29, 30, 59] {
        assert_eq!(request(Stage::V0_3, &mut clients[i], b"during"), world(), "client {i}");
    }

    let open = common::open_fds(server.pid());
    drop(clients.pop());
    server.expect_log("EOF, client closed the connection");
    common::wait_for_open_fds(server.pid(), open - 1);

    let mut newcomer = server.connect();
    newcomer.write_all(&frame(b"newcomer")).unwrap();
    server.expect_log("accept failed: Too many open files");
    let busy = || cpu_ticks(server.pid()).iter().sum::<u64>();
    let before = busy();
    newcomer.set_read_timeout(Some(common::QUIET_PERIOD)).unwrap();
    let err = std::io::Read::read(&mut newcomer, &mut [0u8; 1]).expect_err("no reply yet");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    let spent = busy() - before;
    assert!(spent < 10, "the server used {spent} ticks of CPU while it could not accept");

    set_limit(100);
    newcomer.set_read_timeout(Some(TIMEOUT)).unwrap();
    assert_eq!(read_reply_frame(&mut newcomer), world());
    server.expect_log_past("accept failed", "polling them all at once again");
    for client in &mut clients {
        assert_eq!(request(Stage::V0_3, client, b"after"), world());
    }
    assert!(server.is_running(), "the server exited");
}
// ANCHOR_END: lowered_limit

/// A client that is owed replies and resets the connection (it closes with replies unread, so
/// its kernel answers with a reset) costs one log line: the reset. Nothing more is written to
/// the dead connection, so no second line (`Broken pipe`) follows it.
#[test]
fn a_reset_connection_is_logged_once() {
    let mut server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut client = server.connect();
    // As much as one write takes of 500,000 requests; once the server has read them all, it
    // owes more replies than the sockets between us hold.
    let sent = client.write(&frame(b"q").repeat(500_000)).unwrap();
    assert!(sent > 0);
    common::wait_until_read(&client);
    drop(client);
    server.expect_log("closing the connection: Connection reset by peer");
    server.signal("TERM");
    server.expect_log("SIGTERM: shut down in");
    assert!(server.exit_status().success());
}

// ANCHOR: slow_reader_shutdown
/// A client pipelines requests until the server stops reading them (its replies are held back,
/// unread), and the server is sent SIGTERM. It answers nothing more, but the client, reading
/// only now, gets every reply it was owed, whole, then a clean close (a FIN, not a reset); and
/// the server exits 0 with one line saying that every client had every reply.
#[test]
fn a_signal_lets_a_late_reader_take_its_replies() {
    let mut server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut reader = server.connect();
    let sent = common::write_until_stalled(
        &mut reader,
        &frame(b"hello").repeat(1000),
        90_000_000,
        Duration::from_secs(1),
    );
    server.signal("TERM");
    let mut got = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut reader, &mut got) {
        panic!("{e} after {} bytes of replies, not a clean close", got.len());
    }
    let reply = frame(b"world");
    let whole = got.len() / reply.len();
    assert!(whole > 0 && whole <= sent / frame(b"hello").len(), "{} bytes of replies", got.len());
    assert!(got == reply.repeat(whole), "{} bytes are not {whole} whole replies", got.len());
    let status = server.exit_status();
    assert!(status.success(), "{status}");
    server.expect_log("1 client, all had every reply");
}
// ANCHOR_END: slow_reader_shutdown

/// A client that floods requests and never reads its replies, and a signal (SIGTERM): the
/// server waits for it only for its grace period, then exits 0 with one line that says how
/// much of its replies was left undelivered.
#[test]
fn a_client_that_never_reads_cannot_hold_up_a_shutdown() {
    let mut server = Server::start_with(Stage::V0_3, &["--quiet"]);
    let mut flood = server.connect();
    let batch = frame(b"hello").repeat(1000);
    common::write_until_stalled(&mut flood, &batch, 90_000_000, Duration::from_secs(1));
    let started = std::time::Instant::now();
    server.signal("TERM");
    let status = server.exit_status();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    // The grace is a second; the rest is slack for a busy machine.
    assert!(took < Duration::from_secs(3), "exited {took:?} after the signal");
    server.expect_log("1 not done");
}

/// A second signal while the server waits for a client that never reads: it exits at once,
/// with status 1 (the wait for the client would have ended with 0) and one line saying so.
/// The second signal must come within the shutdown's grace of a second: on a machine so busy
/// that it came later (the server then exits 0 at the grace's end, as it should), the test
/// tries again, three times at most.
#[test]
fn a_second_signal_exits_at_once() {
    for attempt in 1..=3 {
        let mut server = Server::start_with(Stage::V0_3, &["--quiet"]);
        let mut flood = server.connect();
        let batch = frame(b"hello").repeat(1000);
        common::write_until_stalled(&mut flood, &batch, 90_000_000, Duration::from_secs(1));
        server.signal("TERM");
        let terminated = std::time::Instant::now();
        // Shutting down starts with closing the listener.
        server.wait_until_refused();
        server.signal("INT");
        let in_time = terminated.elapsed() < SHUTDOWN_GRACE;
        let status = server.exit_status();
        if !in_time && status.code() == Some(0) && attempt < 3 {
            continue;
        }
        assert_eq!(status.code(), Some(1), "{status}");
        server.expect_log("SIGINT while shutting down on SIGTERM: exiting at once");
        return;
    }
}
