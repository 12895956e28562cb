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
use std::io; //@ ..v3_0

use crate::frame::HEADER_LEN; //@ ..v3_0

// ANCHOR: limits
//@ ..v3_0 {
/// The most strings one request may carry (the original's `k_max_args`). It bounds the work
/// a single request can ask for before anything is executed.
pub const K_MAX_ARGS: usize = 200_000;
//@ }
// ANCHOR_END: limits

// ANCHOR: request
//@ ..v3_0 {
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

    //@ ..v1_2 {
    /// How many strings the request carries: the command's name and its arguments.
    pub fn len(&self) -> usize {
        self.nstr
    }
    //@ }

    //@ lib {
    pub fn is_empty(&self) -> bool {
        self.nstr == 0
    }
    //@ }

    /// The strings, in order, each a slice of the body: no copy, no allocation.
    pub fn args(&self) -> Args<'a> {
        Args { rest: self.strings }
    }
}
//@ }
// ANCHOR_END: request

// ANCHOR: args
//@ ..v3_0 {
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
//@ }
// ANCHOR_END: args

// ANCHOR: args_in
//@ v1_2..v3_0 {
impl<'a> Request<'a> {
    /// The strings laid out in `slots`, as a slice whose shape a command can be matched
    /// against (`[name, key]`), or `None` when there are more strings than slots. Used from
    /// v1.2 on, where commands take up to six arguments; nothing is allocated.
    pub fn args_in<'s>(&self, slots: &'s mut [&'a [u8]]) -> Option<&'s [&'a [u8]]> {
        let slots = slots.get_mut(..self.nstr)?;
        for (slot, arg) in slots.iter_mut().zip(self.args()) {
            *slot = arg;
        }
        Some(slots)
    }
}
//@ }
// ANCHOR_END: args_in

//@ ..v3_0 {
/// A request as a person would type it, for logs: its strings, escaped, separated by spaces,
/// and cut short. A log line must not cost what the request cost: a 32 MiB value would take a
/// 32 MiB line (four times that once escaped) and a long stall to build it.
impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        show_words(f, self.args(), self.nstr)
    }
}
//@ }

/// `count` strings, `words`, as a log line shows them: escaped, separated by spaces, at most
/// 8 strings of 64 bytes.
//@ v3_0..: /// (Redis's requests are shown the same way.)
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

//@ ..v3_0 {
/// The first four bytes of `bytes` as a little-endian length, and the bytes after them.
fn take_u32(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    // u32 -> usize cannot lose bits on any target std's networking runs on.
    Some((u32::from_le_bytes(*len) as usize, rest))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad request: {what}"))
}
//@ }

// ANCHOR: encode
//@ ..v3_0 {
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
//@ }
// ANCHOR_END: encode

//@ lib {
#[cfg(test)]
mod tests {
    use super::*;

    /// The body of a request carrying `args`, built by hand.
    fn body(args: &[&[u8]]) -> Vec<u8> {
        let mut body = (args.len() as u32).to_le_bytes().to_vec();
        for arg in args {
            body.extend_from_slice(&(arg.len() as u32).to_le_bytes());
            body.extend_from_slice(arg);
        }
        body
    }

    fn strings(body: &[u8]) -> io::Result<Vec<Vec<u8>>> {
        Ok(Request::parse(body)?.args().map(<[u8]>::to_vec).collect())
    }

    // ANCHOR: set_on_the_wire
    /// `set greeting hello` is these bytes, and parses back to its three strings.
    #[test]
    fn set_on_the_wire() {
        let mut frame = Vec::new();
        append_request(&mut frame, &["set", "greeting", "hello"], 4096).unwrap();
        let mut want = vec![32, 0, 0, 0, 3, 0, 0, 0];
        want.extend_from_slice(b"\x03\0\0\0set\x08\0\0\0greeting\x05\0\0\0hello");
        assert_eq!(frame, want);
        let parsed = strings(&frame[HEADER_LEN..]).unwrap();
        assert_eq!(parsed, [&b"set"[..], b"greeting", b"hello"]);
    }
    // ANCHOR_END: set_on_the_wire

    /// Empty strings, zero bytes inside strings and an empty command all survive the trip.
    #[test]
    fn any_bytes_are_a_string() {
        for args in [&[][..], &[&b""[..]], &[b"set", b"\0k\0", b"\xff\0\xfe"]] {
            let parsed = strings(&body(args)).unwrap();
            assert_eq!(parsed, args);
        }
    }

    /// Every way a body can fail to parse exactly is refused, and says how.
    #[test]
    fn malformed_bodies_are_refused() {
        let too_many = (K_MAX_ARGS as u32 + 1).to_le_bytes().to_vec();
        let mut trailing = body(&[b"get", b"k"]);
        trailing.push(0);
        let mut past_end = body(&[b"get"]);
        past_end[4] = 9; // the length of "get" now says 9
        let cases: [(&[u8], &str); 6] = [
            (b"", "bad request: no string count"),
            (b"\x01\0\0", "bad request: no string count"),
            (&too_many, "bad request: too many strings: 200001 > 200000"),
            (b"\x01\0\0\0\x03\0", "bad request: the body ends inside the length of string 0"),
            (&past_end, "bad request: string 0 is 9 bytes, but 3 are left"),
            (&trailing, "bad request: trailing bytes after the last string: 1"),
        ];
        for (body, message) in cases {
            let err = Request::parse(body).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(err.to_string(), message);
        }
    }

    /// The most strings allowed parse; a count that promises strings the body lacks does not.
    #[test]
    fn the_string_count_is_checked_against_the_body() {
        let most: Vec<&[u8]> = vec![b""; K_MAX_ARGS];
        assert_eq!(Request::parse(&body(&most)).unwrap().len(), K_MAX_ARGS);
        let err = Request::parse(&(K_MAX_ARGS as u32).to_le_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "bad request: the body ends inside the length of string 0");
    }

    /// Text shows as text, anything else as escapes; a request shows as its words.
    #[test]
    fn escaped_bytes_are_unambiguous() {
        let shown = |bytes: &[u8]| Escaped(bytes).to_string();
        assert_eq!(shown(b"hello"), "hello");
        assert_eq!(shown("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(shown(b"caf\xe9"), "caf\\xe9");
        assert_eq!(shown(b"a\0b\n\\"), "a\\x00b\\n\\\\");
        assert_eq!(shown("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        let wire = body(&[b"set", b"k", b"\xff"]);
        assert_eq!(Request::parse(&wire).unwrap().to_string(), "set k \\xff");
        let big = vec![b'v'; 1000];
        let wire = body(&[b"set", b"k", &big]);
        let want = format!("set k {}...(1000 bytes)", "v".repeat(64));
        assert_eq!(Request::parse(&wire).unwrap().to_string(), want);
        let many: Vec<&[u8]> = vec![b"x"; 20];
        assert_eq!(
            Request::parse(&body(&many)).unwrap().to_string(),
            "x x x x x x x x ...(12 more)"
        );
    }

    /// `args_in` lays the strings out for matching, and refuses more strings than slots.
    #[test]
    fn args_in_fills_slots() {
        let wire = body(&[b"set", b"k", b"v"]);
        let request = Request::parse(&wire).unwrap();
        let mut slots = [&[][..]; 4];
        assert_eq!(request.args_in(&mut slots), Some(&[&b"set"[..], b"k", b"v"][..]));
        assert_eq!(request.args_in(&mut [&[][..]; 2]), None);
        let wire = body(&[]);
        let empty = Request::parse(&wire).unwrap();
        assert_eq!(empty.args_in(&mut []), Some(&[][..]));
    }

    /// The encoder refuses what the server would refuse, and appends nothing then.
    #[test]
    fn the_encoder_refuses_oversized_requests() {
        let mut out = Vec::new();
        let err = append_request(&mut out, &["set", "k", &"v".repeat(100)], 100).unwrap_err();
        assert_eq!(err.to_string(), "message too long: 120 > 100");
        assert!(out.is_empty());
    }
}
//@ }
