// src/request.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! The request protocol from v1.0 on: a command is a list of byte strings, and a request
//! frame's body carries one command, byte for byte as the C++ original lays it out:
//!
//! ```text
//! +-----------+-----------+----------+-----------+----------+-----+
//! | nstr: u32 | len1: u32 | str1 ... | len2: u32 | str2 ... | ... |   all little-endian
//! +-----------+-----------+----------+-----------+----------+-----+
//!   03 00 00 00  03 00 00 00  "set"   08 00 00 00  "greeting"  05 00 00 00  "hello"
//! ```
//!
//! A body that does not parse *exactly* is a protocol violation: more than [`K_MAX_ARGS`]
//! strings, a length that runs past the end of the body, or bytes left over after the last
//! string. Nothing is guessed and nothing is skipped.
//!
//! Parsing copies nothing and allocates nothing. A [`Request`] borrows the connection's buffer,
//! and its strings are slices of that buffer, handed out one at a time by an iterator; the
//! compiler makes sure no string outlives the buffer it points into.

use std::fmt;
use std::io;

use crate::frame::HEADER_LEN;

// ANCHOR: limits
/// The most strings one request may carry (the original's `k_max_args`). It bounds the work
/// a single request can ask for before anything is executed.
pub const K_MAX_ARGS: usize = 200_000;
// ANCHOR_END: limits

// ANCHOR: request
/// A request whose body has been checked: `nstr` strings, every length within the body, and
/// nothing after the last one. It borrows the body it was parsed from (`'a`).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Everything after `nstr`: the length-prefixed strings.
    strings: &'a [u8],
    nstr: usize,
}

impl<'a> Request<'a> {
    /// Checks `body` from end to end, so that nothing later can find it malformed.
    pub fn parse(body: &'a [u8]) -> io::Result<Request<'a>> {
        let (nstr, strings) = take_u32(body).ok_or_else(|| bad("no string count"))?;
        if nstr > K_MAX_ARGS {
            return Err(bad(&format!("too many strings: {nstr} > {K_MAX_ARGS}")));
        }
        let mut rest = strings;
        for i in 0..nstr {
            let Some((len, after)) = take_u32(rest) else {
                return Err(bad(&format!("the body ends inside the length of string {i}")));
            };
            rest = after.get(len..).ok_or_else(|| {
                bad(&format!("string {i} is {len} bytes, but {} are left", after.len()))
            })?;
        }
        if !rest.is_empty() {
            return Err(bad(&format!("trailing bytes after the last string: {}", rest.len())));
        }
        Ok(Request { strings, nstr })
    }

    /// How many strings the request carries: the command's name and its arguments.
    pub fn len(&self) -> usize {
        self.nstr
    }

    /// The strings, in order, each a slice of the body: no copy, no allocation.
    pub fn args(&self) -> Args<'a> {
        Args { rest: self.strings }
    }
}
// ANCHOR_END: request

// ANCHOR: args
/// The strings of a [`Request`], one at a time.
#[derive(Debug, Clone)]
pub struct Args<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // `Request::parse` checked every length, so nothing here can run past the end.
        let (len, after) = take_u32(self.rest)?;
        let (string, rest) = after.split_at(len);
        self.rest = rest;
        Some(string)
    }
}
// ANCHOR_END: args

/// A request as a person would type it, for logs: its strings, escaped, separated by spaces,
/// and cut short. A log line must not cost what the request cost: a 32 MiB value would take a
/// 32 MiB line (four times that once escaped) and a long stall to build it.
impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show_words(f, self.args(), self.nstr)
    }
}

/// `count` strings, `words`, as a log line shows them: escaped, separated by spaces, at most
/// 8 strings of 64 bytes.
pub fn show_words<'a>(
    f: &mut fmt::Formatter<'_>,
    words: impl Iterator<Item = &'a [u8]>,
    count: usize,
) -> fmt::Result {
    const STRINGS: usize = 8;
    const BYTES: usize = 64;
    for (i, arg) in words.take(STRINGS).enumerate() {
        let space = if i == 0 { "" } else { " " };
        match arg.get(..BYTES) {
            Some(head) if arg.len() > BYTES => {
                write!(f, "{space}{}...({} bytes)", Escaped(head), arg.len())?
            }
            _ => write!(f, "{space}{}", Escaped(arg))?,
        }
    }
    if count > STRINGS {
        write!(f, " ...({} more)", count - STRINGS)?;
    }
    Ok(())
}

// ANCHOR: escaped
/// Bytes shown as text: valid UTF-8 as it is, any other byte as `\xNN`, so that a binary key
/// or value prints as what it is, never as mojibake or replacement characters. (Control
/// characters and backslashes are escaped too, so that what is shown is unambiguous.)
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\\' => f.write_str("\\\\")?,
                    '\n' => f.write_str("\\n")?,
                    '\t' => f.write_str("\\t")?,
                    '\r' => f.write_str("\\r")?,
                    c if c.is_ascii_control() => write!(f, "\\x{:02x}", c as u32)?,
                    // Controls, and the marks that reorder text on a terminal (bidi overrides).
                    c if c.is_control() || is_bidi(c) => write!(f, "{}", c.escape_unicode())?,
                    c => write!(f, "{c}")?,
                }
            }
            for byte in chunk.invalid() {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}
// ANCHOR_END: escaped

/// The invisible characters that change the direction text is displayed in.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first four bytes of `bytes` as a little-endian length, and the bytes after them.
fn take_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    // u32 -> usize cannot lose bits on any target std's networking runs on.
    Some((u32::from_le_bytes(*len) as usize, rest))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad request: {what}"))
}

// ANCHOR: encode
/// Appends a whole request frame (the frame's length, then the body) carrying `args` to `out`.
/// Refuses, with `InvalidInput` and nothing appended, a request the server would refuse: more
/// than [`K_MAX_ARGS`] strings, or a body over `max_msg` bytes.
pub fn append_request<S: AsRef<[u8]>>(
    out: &mut Vec<u8>,
    args: &[S],
    max_msg: usize,
) -> io::Result<()> {
    let body_len: usize = 4 + args.iter().map(|arg| 4 + arg.as_ref().len()).sum::<usize>();
    if args.len() > K_MAX_ARGS {
        let msg = format!("too many strings: {} > {K_MAX_ARGS}", args.len());
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    if body_len > max_msg {
        let msg = format!("message too long: {body_len} > {max_msg}");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    out.reserve(HEADER_LEN + body_len);
    // Both fit a u32: body_len <= max_msg, which is a u32 frame length.
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&(args.len() as u32).to_le_bytes());
    for arg in args {
        out.extend_from_slice(&(arg.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(arg.as_ref());
    }
    Ok(())
}
// ANCHOR_END: encode
