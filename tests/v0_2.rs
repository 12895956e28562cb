//! Stage v0.2's protocol in depth, against every stage that speaks it (v0.2 and v0.3):
//! pipelining, partial I/O, the length limit, broken clients, and the client binaries. Every
//! bad client costs only its own connection: each scenario ends by checking that the server
//! still serves the next client.

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use redis_lite::net::LINGER_TIME;

use common::{
    Output, Server, Stage, assert_closed_without_reply, assert_still_serves, frame,
    pipeline_until_close, world,
};

/// The stages whose protocol is v0.2's length-prefixed frames.
const FRAMED: [Stage; 2] = [Stage::V0_2, Stage::V0_3];

// ANCHOR: pipelined
/// 100 frames in one write get 100 replies, and the server takes the requests in the order
/// they were sent (its log says so). The replies' own order cannot be seen here: every reply
/// is `world`. What this pins is that no request is lost, merged or reordered on the way in;
/// `pipelined_commands_are_answered_in_order` in `tests/v1_0.rs`, where replies differ, pins
/// the order of the replies.
#[test]
fn pipelined_frames_are_all_answered_and_taken_in_order() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        let batch: Vec<u8> = (0..100).flat_map(|i| frame(format!("msg{i}").as_bytes())).collect();
        stream.write_all(&batch).unwrap();
        for _ in 0..100 {
            assert_eq!(common::read_reply_frame(&mut stream), world());
        }
        for i in 0..100 {
            server.expect_says(&format!("msg{i}"));
        }
    }
}
// ANCHOR_END: pipelined

/// A frame dribbled one byte per write is read whole. (The body is long enough that a server
/// taking one `read` for the body would almost surely see only part of it.)
#[test]
fn a_frame_dribbled_one_byte_at_a_time() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        let body = "dribble ".repeat(40);
        for byte in frame(body.as_bytes()) {
            stream.write_all(&[byte]).unwrap();
        }
        assert_eq!(common::read_reply_frame(&mut stream), world());
        server.expect_says(&body);
    }
}

/// A header and its body in separate writes make one request.
#[test]
fn a_header_split_from_its_body() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        let wire = frame(b"split");
        stream.write_all(&wire[..4]).unwrap();
        stream.write_all(&wire[4..]).unwrap();
        assert_eq!(common::read_reply_frame(&mut stream), world());
        server.expect_says("split");
    }
}

/// Bodies of 0 and exactly 4096 bytes are within the limit and answered.
#[test]
fn bodies_at_the_limits_are_answered() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        assert_eq!(common::request(stage, &mut stream, b""), world());
        server.expect_says("");
        let largest = vec![b'x'; 4096];
        assert_eq!(common::request(stage, &mut stream, &largest), world());
        server.expect_says(&"x".repeat(4096));
    }
}

// ANCHOR: too_long
/// Lengths of 4097 and 0xFFFFFFFF close that connection with no reply and one log line naming
/// the length and the limit; the next client is served.
#[test]
fn lengths_over_the_limit_close_only_that_connection() {
    for stage in FRAMED {
        let mut server = Server::start(stage);
        for len in [4097u32, u32::MAX] {
            let mut stream = server.connect();
            stream.write_all(&len.to_le_bytes()).unwrap();
            assert_closed_without_reply(&mut stream);
            server.expect_log(&format!("message too long: {len} > 4096"));
            assert_still_serves(&mut server);
        }
    }
}
// ANCHOR_END: too_long

// ANCHOR: eof_inside_a_frame
/// The stream ends inside a header, then inside a body: each is logged as what it is, and the
/// next client is served.
#[test]
fn end_of_stream_inside_a_frame() {
    for stage in FRAMED {
        let mut server = Server::start(stage);
        let cases: [(&[u8], &str); 2] = [
            (b"\x05\0", "stream ended inside a frame header, after 2 of 4 bytes"),
            (b"\x05\0\0\0hel", "stream ended after 3 of 5 bytes"),
        ];
        for (partial, log) in cases {
            let mut stream = server.connect();
            stream.write_all(partial).unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            assert_closed_without_reply(&mut stream);
            server.expect_log(log);
            assert_still_serves(&mut server);
        }
    }
}
// ANCHOR_END: eof_inside_a_frame

/// A client whose connection is reset in the middle of a frame: logged, and the next client
/// is served.
#[test]
fn a_reset_in_the_middle_of_a_frame() {
    for stage in FRAMED {
        let mut server = Server::start(stage);
        let mut stream = server.connect();
        stream.write_all(&frame(b"first")).unwrap();
        // Wait until the reply is here but leave it unread: closing a socket with unread data
        // makes the kernel send a reset instead of a clean close.
        let mut peeked = [0u8; 9];
        assert_eq!(stream.peek(&mut peeked).unwrap(), 9, "the whole reply, in one segment");
        server.expect_says("first");
        stream.write_all(b"\x05\0\0\0he").unwrap();
        drop(stream);
        server.expect_log("Connection reset by peer");
        assert_still_serves(&mut server);
    }
}

/// A client that connects and leaves without a byte: a clean end of stream, logged as such.
#[test]
fn a_client_that_connects_and_leaves() {
    for stage in FRAMED {
        let mut server = Server::start(stage);
        drop(server.connect());
        server.expect_log("EOF, client closed the connection");
        assert_still_serves(&mut server);
    }
}

/// Bytes that are not UTF-8 are still a message; the server prints them lossily.
#[test]
fn a_message_that_is_not_utf8() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        assert_eq!(common::request(stage, &mut stream, b"caf\xe9"), world());
        server.expect_says("caf\u{fffd}");
    }
}

/// The client's default conversation is the original's: hello1, hello2, hello3 on one
/// connection, with a reply each.
#[test]
fn client_default_messages() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let out = "server says: world\n".repeat(3);
        stage.client(server.addr, &[]).success().stdout(out);
        for msg in ["hello1", "hello2", "hello3"] {
            server.expect_says(msg);
        }
        // One connection for all three: the server logs its end once.
        server.expect_log("EOF, client closed the connection");
    }
}

/// Given messages, the client sends those, on one connection.
#[test]
fn client_given_messages() {
    for stage in FRAMED {
        let server = Server::start(stage);
        stage
            .client(server.addr, &["ping", "--", "-x"])
            .success()
            .stdout("server says: world\n".repeat(2));
        server.expect_says("ping");
        server.expect_says("-x");
    }
}

/// The client refuses a message over the limit with one clear line, before sending anything.
#[test]
fn client_refuses_a_message_over_the_limit() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let long = "x".repeat(4097);
        let out = stage.client(server.addr, &[&long]).code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr, format!("{} client: message too long: 4097 > 4096\n", stage.name()));
    }
}

/// Reading past a reply finds nothing more: one reply per request, no stray bytes.
#[test]
fn one_reply_per_request() {
    for stage in FRAMED {
        let server = Server::start(stage);
        let mut stream = server.connect();
        assert_eq!(common::request(stage, &mut stream, b"once"), world());
        stream.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty(), "stray bytes after the reply: {rest:?}");
    }
}

// ANCHOR: drain_then_close
/// A client sends 1,000,000 requests, shuts down its sending side, and reads: every reply
/// arrives, then a clean end of stream. The same when its stream ends inside a frame: the
/// frames before were answered, and those replies are owed. (v0.3 once closed at the end of
/// stream with replies still queued, and lost a tenth of them.)
#[test]
fn a_half_closed_client_gets_every_reply() {
    for stage in FRAMED {
        for (tail, log) in [(&b""[..], "EOF"), (b"\x05\0\0\0hel", "stream ended after 3 of 5")] {
            let server = Server::start_with(stage, &["--quiet"]);
            let stream = server.connect();
            let (got, end) = pipeline_until_close(&stream, 1_000_000, tail, true);
            assert_eq!(got, 1_000_000, "{}: replies before the close", stage.name());
            end.unwrap_or_else(|e| panic!("{}: not a clean close: {e}", stage.name()));
            server.expect_log(log);
        }
    }
}

/// A client sends 1,000,000 good requests, then a header over the limit and some junk: it gets
/// all 1,000,000 replies, then a clean end of stream, never a reset that would destroy them.
#[test]
fn a_protocol_error_after_many_requests_loses_no_reply() {
    for stage in FRAMED {
        let server = Server::start_with(stage, &["--quiet"]);
        let stream = server.connect();
        let mut tail = 4097u32.to_le_bytes().to_vec();
        tail.extend_from_slice(b"0123456789");
        let (got, end) = pipeline_until_close(&stream, 1_000_000, &tail, false);
        assert_eq!(got, 1_000_000, "{}: replies before the close", stage.name());
        end.unwrap_or_else(|e| panic!("{}: not a clean close: {e}", stage.name()));
        server.expect_log("message too long: 4097 > 4096");
        drop(stream);
        assert_eq!(common::request(stage, &mut server.connect(), b"next"), world());
    }
}

/// 100 good frames, a bad header and ten junk bytes, all in one write, then read: 100 replies
/// and a clean end of stream. Closing a socket with the junk unread would reset the connection
/// instead, and the reset would destroy replies still queued on either side.
#[test]
fn junk_after_a_bad_header_does_not_reset_the_connection() {
    for stage in FRAMED {
        let server = Server::start_with(stage, &["--quiet"]);
        let mut stream = server.connect();
        let mut wire = frame(b"hello").repeat(100);
        wire.extend_from_slice(&4097u32.to_le_bytes());
        wire.extend_from_slice(b"0123456789");
        stream.write_all(&wire).unwrap();
        server.expect_log("message too long");
        let mut replies = Vec::new();
        let end = stream.read_to_end(&mut replies);
        assert_eq!(replies, frame(b"world").repeat(100), "{}", stage.name());
        end.unwrap_or_else(|e| panic!("{}: not a clean close: {e}", stage.name()));
    }
}

/// A FIN queued behind the replies is not a FIN delivered. After a protocol error, a client
/// that reads nothing for longer than the server lingers, then sends one more byte, then reads:
/// it gets every reply and a clean end of stream. (Closing while replies were still undelivered
/// let that byte provoke a reset that destroyed six replies in seven.)
#[test]
fn a_slow_reader_after_a_protocol_error_loses_no_reply() {
    for stage in FRAMED {
        let server = Server::start_with(stage, &["--quiet"]);
        let mut stream = server.connect();
        let mut wire = frame(b"hello").repeat(100_000);
        wire.extend_from_slice(&4097u32.to_le_bytes());
        let mut sender = stream.try_clone().unwrap();
        let sending = std::thread::spawn(move || sender.write_all(&wire));
        server.expect_log("message too long");
        // Not a wait for an event: this lets the server's lingering time run out.
        std::thread::sleep(LINGER_TIME + Duration::from_millis(500));
        stream.write_all(b"!").unwrap();
        common::expect_worlds(&mut stream, 100_000);
        assert_eq!(stream.read(&mut [0u8; 1]).unwrap(), 0, "{}: a clean end", stage.name());
        sending.join().unwrap().unwrap();
    }
}

/// A client that sends far more than the server will throw away after a protocol error (2 MiB
/// of junk against a budget of 1 MiB): the server stops reading it, but still waits for the
/// client to take delivery of every reply before it closes.
#[test]
fn junk_past_the_discard_budget_loses_no_reply() {
    for stage in FRAMED {
        let server = Server::start_with(stage, &["--quiet"]);
        let stream = server.connect();
        let mut tail = 4097u32.to_le_bytes().to_vec();
        tail.extend(std::iter::repeat_n(b'?', 2 << 20));
        let (got, _) = pipeline_until_close(&stream, 100_000, &tail, false);
        assert_eq!(got, 100_000, "{}: replies before the close", stage.name());
    }
}
// ANCHOR_END: drain_then_close

/// Whoever reads the server's output stops reading (its stdout is a pipe nobody empties):
/// the server's log lines are dropped, not waited for. 20,000 requests of 4 KiB that are not
/// UTF-8 (each logged line three times that, once the bytes are replaced) are all answered, and
/// the lines waiting to be written stay bounded in bytes, not just in number; then 100,000
/// more requests are all answered too.
#[test]
fn a_stdout_nobody_reads_does_not_stall_the_server() {
    for stage in FRAMED {
        let mut cmd = std::process::Command::new(stage.bin());
        cmd.args(["--addr", "127.0.0.1:0"]);
        let server = Server::start_with_stdout(stage, cmd, Output::Unread);
        let mut stream = server.connect();
        let mut sender = stream.try_clone().unwrap();
        let big = frame(&[0xff; 4096]);
        let sending =
            std::thread::spawn(move || (0..20_000).try_for_each(|_| sender.write_all(&big)));
        common::expect_worlds(&mut stream, 20_000);
        sending.join().unwrap().unwrap();
        let peak = common::peak_rss_kib(server.pid());
        assert!(peak < 16 * 1024, "{}: peak memory {peak} KiB", stage.name());
        drop(stream); // v0.2 serves the next connection only once this one is gone.

        let stream = server.connect();
        let (got, _) = pipeline_until_close(&stream, 100_000, b"", true);
        assert_eq!(got, 100_000, "{}", stage.name());
    }
}
