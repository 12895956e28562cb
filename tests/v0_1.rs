//! Stage v0.1 on its own: the exchange, its client binary, and the limits that are its lesson.

mod common;

use std::io::{ErrorKind, Read, Write};

use common::{Server, Stage};

// ANCHOR: two_pieces
/// A message sent in two pieces: v0.1's one read takes the first piece as the whole message,
/// replies, and closes; the second piece is never seen.
#[test]
fn a_message_in_two_pieces_is_seen_in_part() {
    let server = Server::start(Stage::V0_1);
    let mut stream = server.connect();
    stream.write_all(b"hel").unwrap();
    // The server has now read "hel" and taken it for the message.
    server.expect_says("hel");
    let _ = stream.write_all(b"lo");
    assert_eq!(common::read_reply_until_close(&mut stream), common::Reply::Got(b"world".to_vec()));
    drop(stream);
    // The next thing the server prints is the next client's message, never "lo".
    let mut next = server.connect();
    next.write_all(b"next").unwrap();
    server.expect_says("next");
}
// ANCHOR_END: two_pieces

// ANCHOR: long_request_reset
/// A request longer than the one read: v0.1 closes with bytes left unread, and the kernel
/// answers that with a reset (RST) instead of a clean close (FIN). The reply arrives first.
#[test]
fn a_long_request_ends_in_a_reset() {
    let server = Server::start(Stage::V0_1);
    let mut stream = server.connect();
    stream.write_all(&[b'x'; 100]).unwrap();
    let mut reply = [0u8; 5];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"world");
    let err = stream.read(&mut [0u8; 1]).expect_err("a reset, not a clean end of stream");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}
// ANCHOR_END: long_request_reset

/// The client sends `hello` and prints the reply.
#[test]
fn client_default_message() {
    let server = Server::start(Stage::V0_1);
    Stage::V0_1.client(server.addr, &[]).success().stdout("server says: world\n");
    server.expect_says("hello");
}

/// Given several messages, the client uses a connection for each (v0.1 serves one request per
/// connection) and prints each reply.
#[test]
fn client_given_messages() {
    let server = Server::start(Stage::V0_1);
    let out = "server says: world\nserver says: world\n";
    Stage::V0_1.client(server.addr, &["ping", "pong"]).success().stdout(out);
    server.expect_says("ping");
    server.expect_says("pong");
}
