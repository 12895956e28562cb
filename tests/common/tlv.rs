//! Typed replies (v1.2 on), built by hand, so that a bug in `src/tlv.rs` cannot hide in the
//! tests of the stages that send them; and one command sent and its reply's body read.

use std::borrow::Borrow;
use std::fmt;
use std::io::Write;
use std::net::TcpStream;
use std::ops::Deref;

use super::{Reply, command, read_reply_frame};

/// A reply's bytes, compared as bytes and shown as what they say (`int(2)`, `err(1,
/// "unknown command")`), so that a failing test reads as the reply it got.
#[derive(Clone, PartialEq, Eq)]
pub struct Tlv(pub Vec<u8>);

impl Deref for Tlv {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Tlv {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.0 == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Tlv {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Vec<u8>> for Tlv {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.0 == *other
    }
}

impl From<Tlv> for Vec<u8> {
    fn from(tlv: Tlv) -> Vec<u8> {
        tlv.0
    }
}

impl Borrow<[u8]> for Tlv {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Tlv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut at = 0;
        while at < self.0.len() {
            if at > 0 {
                write!(f, " then ")?;
            }
            match show(&self.0[at..], f) {
                Some(used) => at += used,
                None => return write!(f, "bytes {:?}", &self.0[at..]),
            }
        }
        Ok(())
    }
}

/// Writes the value at the start of `bytes` and returns how many bytes it took, or `None`
/// if they are not a whole value.
fn show(bytes: &[u8], f: &mut fmt::Formatter<'_>) -> Option<usize> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let ok = |r: fmt::Result| r.ok();
    match *bytes.first()? {
        0 => ok(write!(f, "nil()")).map(|_| 1),
        1 => {
            let (code, len) = (u32_at(1)?, u32_at(5)? as usize);
            ok(write!(f, "err({code}, {:?})", text(bytes.get(9..9 + len)?)))?;
            Some(9 + len)
        }
        2 => {
            let len = u32_at(1)? as usize;
            ok(write!(f, "str({:?})", text(bytes.get(5..5 + len)?)))?;
            Some(5 + len)
        }
        3 => ok(write!(f, "int({})", u64_at(1)? as i64)).map(|_| 9),
        4 => ok(write!(f, "dbl({})", f64::from_bits(u64_at(1)?))).map(|_| 9),
        5 => {
            let (count, mut at) = (u32_at(1)?, 5);
            ok(write!(f, "arr["))?;
            for i in 0..count {
                ok(write!(f, "{}", if i > 0 { ", " } else { "" }))?;
                at += show(bytes.get(at..)?, f)?;
            }
            ok(write!(f, "]")).map(|_| at)
        }
        _ => None,
    }
}

pub fn nil() -> Tlv {
    Tlv(vec![0])
}

pub fn err(code: u32, msg: &str) -> Tlv {
    let len = (msg.len() as u32).to_le_bytes();
    Tlv([&[1][..], &code.to_le_bytes(), &len, msg.as_bytes()].concat())
}

pub fn str(bytes: &[u8]) -> Tlv {
    Tlv([&[2][..], &(bytes.len() as u32).to_le_bytes(), bytes].concat())
}

pub fn int(n: i64) -> Tlv {
    Tlv([&[3][..], &n.to_le_bytes()].concat())
}

pub fn dbl(x: f64) -> Tlv {
    Tlv([&[4][..], &x.to_le_bytes()].concat())
}

pub fn arr(values: &[Tlv]) -> Tlv {
    Tlv([&[5][..], &(values.len() as u32).to_le_bytes(), &values.concat()].concat())
}

/// Sends one command (a v1.0 request frame) and returns its reply's body.
pub fn run(stream: &mut TcpStream, words: &[&[u8]]) -> Tlv {
    stream.write_all(&command(words)).unwrap();
    match read_reply_frame(stream) {
        Reply::Got(body) => Tlv(body),
        Reply::Closed => panic!("closed instead of answering {words:?}"),
    }
}
