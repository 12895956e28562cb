//! Typed replies (v1.2 on), built by hand, so that a bug in `src/tlv.rs` cannot hide in the
//! tests of the stages that send them; and one command sent and its reply's body read.

use std::io::Write;
use std::net::TcpStream;

use super::{Reply, command, read_reply_frame};

pub fn nil() -> Vec<u8> {
    vec![0]
}

pub fn err(code: u32, msg: &str) -> Vec<u8> {
    let len = (msg.len() as u32).to_le_bytes();
    [&[1][..], &code.to_le_bytes(), &len, msg.as_bytes()].concat()
}

pub fn str(bytes: &[u8]) -> Vec<u8> {
    [&[2][..], &(bytes.len() as u32).to_le_bytes(), bytes].concat()
}

pub fn int(n: i64) -> Vec<u8> {
    [&[3][..], &n.to_le_bytes()].concat()
}

pub fn dbl(x: f64) -> Vec<u8> {
    [&[4][..], &x.to_le_bytes()].concat()
}

pub fn arr(values: &[Vec<u8>]) -> Vec<u8> {
    [&[5][..], &(values.len() as u32).to_le_bytes(), &values.concat()].concat()
}

/// Sends one command (a v1.0 request frame) and returns its reply's body.
pub fn run(stream: &mut TcpStream, words: &[&[u8]]) -> Vec<u8> {
    stream.write_all(&command(words)).unwrap();
    match read_reply_frame(stream) {
        Reply::Got(body) => body,
        Reply::Closed => panic!("closed instead of answering {words:?}"),
    }
}
