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
            let Some((value, used)) = decode(&self.0[at..]) else {
                return write!(f, "bytes {:?}", &self.0[at..]);
            };
            write!(f, "{value:?}")?;
            at += used;
        }
        Ok(())
    }
}

/// A typed value, decoded by hand (independent of `src/tlv.rs`), shown as the builders below
/// write it: `int(2)`, `err(1, "unknown command")`, `arr[str("a"), nil()]`.
#[derive(Clone, PartialEq)]
pub enum V {
    Nil,
    Err(u32, Vec<u8>),
    Str(Vec<u8>),
    Int(i64),
    Dbl(f64),
    Arr(Vec<V>),
}

impl fmt::Debug for V {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self {
            V::Nil => write!(f, "nil()"),
            V::Err(code, msg) => write!(f, "err({code}, {:?})", text(msg)),
            V::Str(bytes) => write!(f, "str({:?})", text(bytes)),
            V::Int(n) => write!(f, "int({n})"),
            V::Dbl(x) => write!(f, "dbl({x})"),
            V::Arr(values) => f.debug_list().entries(values).finish(),
        }
    }
}

/// Decodes the value at the front of `bytes`: the value and how many bytes it took, or `None`
/// if they are not a whole value.
pub fn decode(bytes: &[u8]) -> Option<(V, usize)> {
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let value = match *bytes.first()? {
        0 => (V::Nil, 1),
        1 => {
            let (code, len) = (u32_at(1)?, u32_at(5)? as usize);
            (V::Err(code, bytes.get(9..9 + len)?.to_vec()), 9 + len)
        }
        2 => {
            let len = u32_at(1)? as usize;
            (V::Str(bytes.get(5..5 + len)?.to_vec()), 5 + len)
        }
        3 => (V::Int(u64_at(1)? as i64), 9),
        4 => (V::Dbl(f64::from_bits(u64_at(1)?)), 9),
        5 => {
            let (count, mut at) = (u32_at(1)?, 5);
            let mut values = Vec::new();
            for _ in 0..count {
                let (value, used) = decode(bytes.get(at..)?)?;
                values.push(value);
                at += used;
            }
            (V::Arr(values), at)
        }
        _ => return None,
    };
    Some(value)
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

/// An array of members and their scores, as `zquery` lists them: name, score, name, score...
pub fn members(members: &[(&[u8], f64)]) -> Tlv {
    let items: Vec<Tlv> =
        members.iter().flat_map(|(name, score)| [str(name), dbl(*score)]).collect();
    arr(&items)
}

/// Sends one command (a v1.0 request frame) and returns its reply's body.
pub fn run(stream: &mut TcpStream, words: &[&[u8]]) -> Tlv {
    stream.write_all(&command(words)).unwrap();
    match read_reply_frame(stream) {
        Reply::Got(body) => Tlv(body),
        Reply::Closed => panic!("closed instead of answering {words:?}"),
    }
}
