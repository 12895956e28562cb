// src/tlv.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Typed replies, from v1.2 on: every value in a reply is tag-length-value (TLV), byte for
//! byte as the C++ original serializes it, so that its clients can read our replies.
//!
//! ```text
//! NIL  00                                   nothing: no such key
//! ERR  01  code: u32  len: u32  message     an error the client can tell from a value
//! STR  02  len: u32  bytes                  a string, any bytes
//! INT  03  i64                              a number, not its digits
//! DBL  04  f64                              a number with a fraction
//! ARR  05  count: u32  value...             that many values, each of them any of these
//! ```
//!
//! All integers are little-endian; a reply frame's body is exactly one value (which may be an
//! array of values). A value says what it is before it says how long it is, so a reader never
//! guesses: `(int) 1` and `(str) 1` are different replies.
//!
//! The encoder appends to the connection's reply buffer and allocates nothing of its own
//! (except the message of an `ERR 2`, which is rare and small). An
//! array whose length is not known when it begins (the keys of a table, counted while they
//! are written) gets a placeholder count that is patched when it ends; so does the reply
//! frame's length. The decoder walks a reply without recursion and without copying, so that a
//! hostile reply (nested a million deep, or promising more than it holds) is an error, never
//! a crash or an allocation it asked for.
//!
//! What it cannot do: send a reply bigger than a frame. A reply is built whole, in one buffer,
//! before any of it is sent, and its length comes first, so the largest reply is the frame
//! limit (a reply over it becomes `ERR 2` instead). Redis builds a reply whole too, but as a
//! list of 16 KiB blocks with no limit on their number, and RESP (v3.0), also a TLV format
//! with the lengths written as text, has no frame around a reply to limit it.

use std::fmt;
use std::io;

use crate::frame::HEADER_LEN;

// ANCHOR: tags
pub const TAG_NIL: u8 = 0;
pub const TAG_ERR: u8 = 1;
pub const TAG_STR: u8 = 2;
pub const TAG_INT: u8 = 3;
pub const TAG_DBL: u8 = 4;
pub const TAG_ARR: u8 = 5;

/// An unknown command.
pub const ERR_UNKNOWN: u32 = 1;
/// The reply would not fit in a frame.
pub const ERR_TOO_BIG: u32 = 2;
/// A command on a key holding the wrong kind of value (v1.3).
pub const ERR_TYPE: u32 = 3;
/// A wrong number of arguments, or an argument that does not parse.
pub const ERR_ARG: u32 = 4;
// ANCHOR_END: tags

// ANCHOR: encode
pub fn out_nil(out: &mut Vec<u8>) {
    out.push(TAG_NIL);
}

pub fn out_err(out: &mut Vec<u8>, code: u32, msg: &str) {
    out.push(TAG_ERR);
    out.extend_from_slice(&code.to_le_bytes());
    out_len(out, msg.len());
    out.extend_from_slice(msg.as_bytes());
}

pub fn out_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(TAG_STR);
    out_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

pub fn out_int(out: &mut Vec<u8>, n: i64) {
    out.push(TAG_INT);
    out.extend_from_slice(&n.to_le_bytes());
}

pub fn out_dbl(out: &mut Vec<u8>, x: f64) {
    out.push(TAG_DBL);
    out.extend_from_slice(&x.to_le_bytes());
}

/// Begins an array of `count` values; the caller appends them next.
pub fn out_arr(out: &mut Vec<u8>, count: u32) {
    out.push(TAG_ARR);
    out.extend_from_slice(&count.to_le_bytes());
}

/// A length as the wire has it. Whatever is being sent came in a frame or goes out in one, so
/// it is under 4 GiB; a length that is not would be a bug, and would be cut short silently.
fn out_len(out: &mut Vec<u8>, len: usize) {
    debug_assert!(len <= u32::MAX as usize);
    out.extend_from_slice(&(len as u32).to_le_bytes());
}
// ANCHOR_END: encode

// ANCHOR: patched
/// Where a value whose length is not yet known began: the place of its placeholder length.
/// Not `Copy`, and `#[must_use]`: each one is ended once, by the function that began it.
#[must_use = "a begun array must be ended, or its count stays a placeholder"]
pub struct Placeholder(usize);

/// Begins an array whose count is not known yet: the tag, then four bytes to patch later.
pub fn out_begin_arr(out: &mut Vec<u8>) -> Placeholder {
    out.push(TAG_ARR);
    out.extend_from_slice(&[0; 4]);
    Placeholder(out.len() - 4)
}

/// Ends the array begun at `start`, now that its `count` is known.
pub fn out_end_arr(out: &mut [u8], start: Placeholder, count: u32) {
    out[start.0..start.0 + 4].copy_from_slice(&count.to_le_bytes());
}
// ANCHOR_END: patched

// ANCHOR: reply_frame
/// Begins a reply frame: a placeholder for its length, patched by [`end_reply`] once the
/// reply's value is written after it.
pub fn begin_reply(out: &mut Vec<u8>) -> Placeholder {
    out.extend_from_slice(&[0; HEADER_LEN]);
    Placeholder(out.len() - HEADER_LEN)
}

/// Ends the reply begun at `start`. A reply over `max_msg` is replaced by `ERR 2`: the client
/// learns why, and the connection stays usable, where sending it would break the frame limit
/// the client relies on.
pub fn end_reply(out: &mut Vec<u8>, start: Placeholder, max_msg: usize) {
    let value = start.0 + HEADER_LEN;
    if out.len() - value > max_msg {
        out_too_big(out, value, max_msg);
    }
    let len = (out.len() - value) as u32; // <= max_msg, itself a u32 frame length
    out[start.0..value].copy_from_slice(&len.to_le_bytes());
}

/// Replaces the value written from `value` on with `ERR 2`. For a command whose reply grows
/// in a loop (`keys`), which calls it as soon as the next item would not fit, rather than
/// build a reply that [`end_reply`] would refuse anyway.
pub fn out_too_big(out: &mut Vec<u8>, value: usize, max_msg: usize) {
    out.truncate(value);
    out_err(out, ERR_TOO_BIG, &format!("reply too big: over {max_msg} bytes"));
}
// ANCHOR_END: reply_frame

// ANCHOR: item
/// One step through a reply: a value, or the end of an array. An array's values come after its
/// [`Item::Arr`] and before its [`Item::End`], so nested arrays need no nested types, and a
/// client can print a reply as it walks it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item<'a> {
    Nil,
    Err(u32, &'a [u8]),
    Str(&'a [u8]),
    Int(i64),
    Dbl(f64),
    /// An array begins, with this many values.
    Arr(u32),
    /// The innermost open array has had all its values.
    End,
}
// ANCHOR_END: item

// ANCHOR: decoder
/// Walks one reply body, item by item, checking it as it goes. A loop and a stack of counts,
/// not recursion: a reply nested a million arrays deep is no deeper for the decoder's stack
/// than a flat one, and the counts it keeps grow only with bytes that arrived (five per array).
pub struct Items<'a> {
    rest: &'a [u8],
    len: usize,
    /// Where the value being read began, for errors.
    value_at: usize,
    /// For each array still open, innermost last: how many of its values are still to come.
    open: Vec<u32>,
    started: bool,
    failed: bool,
}

/// The items of `reply`, a whole reply body. The last item is followed by `None`, or by one
/// error if the bytes do not hold exactly one value.
pub fn items(reply: &[u8]) -> Items<'_> {
    Items {
        rest: reply,
        len: reply.len(),
        value_at: 0,
        open: Vec::new(),
        started: false,
        failed: false,
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = io::Result<Item<'a>>;

    fn next(&mut self) -> Option<io::Result<Item<'a>>> {
        if self.failed {
            return None;
        }
        match self.open.last_mut() {
            Some(0) => {
                self.open.pop();
                return Some(Ok(Item::End));
            }
            Some(left) => *left -= 1,
            None if self.started && self.rest.is_empty() => return None,
            None if self.started => {
                self.value_at = self.len - self.rest.len();
                return Some(Err(self.bad("bytes after the reply's value")));
            }
            None => self.started = true,
        }
        let item = self.value();
        self.failed = item.is_err();
        Some(item)
    }
}
// ANCHOR_END: decoder

impl<'a> Items<'a> {
    /// Reads one value's tag and whatever follows it (for an array, only its count).
    fn value(&mut self) -> io::Result<Item<'a>> {
        self.value_at = self.len - self.rest.len();
        let [tag] = self.take()?;
        Ok(match tag {
            TAG_NIL => Item::Nil,
            TAG_ERR => {
                let code = u32::from_le_bytes(self.take()?);
                Item::Err(code, self.take_bytes()?)
            }
            TAG_STR => Item::Str(self.take_bytes()?),
            TAG_INT => Item::Int(i64::from_le_bytes(self.take()?)),
            TAG_DBL => Item::Dbl(f64::from_le_bytes(self.take()?)),
            TAG_ARR => {
                let count = u32::from_le_bytes(self.take()?);
                self.open.push(count);
                Item::Arr(count)
            }
            _ => return Err(self.bad(&format!("unknown tag {tag}"))),
        })
    }

    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let (bytes, rest) = self.rest.split_first_chunk::<N>().ok_or_else(|| self.cut())?;
        self.rest = rest;
        Ok(*bytes)
    }

    /// A length, then that many bytes.
    fn take_bytes(&mut self) -> io::Result<&'a [u8]> {
        let len = u32::from_le_bytes(self.take()?) as usize;
        if len > self.rest.len() {
            return Err(self.cut());
        }
        let (bytes, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(bytes)
    }

    fn cut(&self) -> io::Error {
        self.bad("the reply ends inside a value")
    }

    /// An error that says where in the reply the value it concerns begins.
    fn bad(&self, what: &str) -> io::Error {
        let at = self.value_at;
        io::Error::new(io::ErrorKind::InvalidData, format!("bad reply at byte {at}: {what}"))
    }
}

// ANCHOR: printf_g
/// A number shown as C's `printf("%g")` shows it, as the original's client prints a `DBL`:
/// six significant digits, trailing zeros dropped, and an exponent (`1e+06`, `1.5e-05`) when
/// the number is below 1e-4 or would need more than six digits before the point.
pub struct PrintfG(pub f64);

impl fmt::Display for PrintfG {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if !x.is_finite() || x == 0.0 {
            // C's words for these, and its sign on zero: "inf", "-inf", "nan", "-0".
            let sign = if x.is_sign_negative() { "-" } else { "" };
            let what = if x.is_nan() {
                "nan"
            } else if x == 0.0 {
                "0"
            } else {
                "inf"
            };
            return write!(f, "{sign}{what}");
        }
        // Round to six significant digits first: the exponent is the rounded number's
        // (999999.5 is 1e+06, not 999999 or 1000000).
        let sci = format!("{x:.5e}");
        let (digits, exp) = sci.split_once('e').ok_or(fmt::Error)?;
        let exp: i32 = exp.parse().map_err(|_| fmt::Error)?;
        if (-4..6).contains(&exp) {
            let fixed = format!("{x:.*}", (5 - exp) as usize);
            f.write_str(without_trailing_zeros(&fixed))
        } else {
            let sign = if exp < 0 { '-' } else { '+' };
            write!(f, "{}e{sign}{:02}", without_trailing_zeros(digits), exp.abs())
        }
    }
}

fn without_trailing_zeros(number: &str) -> &str {
    match number.contains('.') {
        true => number.trim_end_matches('0').trim_end_matches('.'),
        false => number,
    }
}
// ANCHOR_END: printf_g
