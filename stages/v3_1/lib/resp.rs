// src/resp.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! RESP2, Redis's own protocol, from v3.0 on: what lets `redis-cli`, `redis-benchmark` and
//! every Redis client library talk to redis-lite. Like the protocol of v1.0 to v2.0 it is
//! tag-length-value, but the tags are characters and the lengths are decimal text:
//!
//! ```text
//! request  *3\r\n$3\r\nset\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n   an array of bulk strings
//!
//! replies  +OK\r\n                    a simple string: a status
//!          -ERR unknown command\r\n   an error; its first word is its code
//!          :42\r\n                    an integer
//!          $5\r\nhello\r\n            a bulk string: any bytes
//!          $-1\r\n                    no value (nil)
//!          *2\r\n:1\r\n$1\r\na\r\n      an array of any of these
//!          *-1\r\n                    no array
//! ```
//!
//! A request may also be *inline*: one line of words, as a person types it into `telnet`
//! (`set greeting hello\r\n`). Redis accepts both, and so do we.
//!
//! What this module teaches:
//! - **Parsing without copying, and once.** A multibulk request is checked exactly and then
//!   handed out as slices of the connection's buffer, as [`crate::request`] does with the
//!   binary protocol. A [`Parser`] per connection remembers how far it has read, so a request
//!   that arrives in a thousand pieces costs what it costs in one.
//! - **Big strings in place.** A string of [`K_BIG_STRING`] bytes or more is read straight into
//!   a buffer reserved at its length, which becomes the value it is stored as: never copied,
//!   never grown, and resident only as far as its bytes have arrived.
//! - **Limits before memory.** Every count and length is compared with a limit as soon as it is
//!   read, and a length that promises more bytes than have arrived means only "wait for more":
//!   nothing is ever allocated because a client *said* it would send something.
//! - **Walking a tree without recursion.** The reply decoder keeps its own stack, so a hostile
//!   reply cannot exhaust the thread's, and refuses nesting deeper than [`K_MAX_DEPTH`], so
//!   that the tree it builds can be dropped and printed by ordinary recursive code.
//!
//! The limits are Redis's, and refuse with Redis's words (its `networking.c`):
//!
//! | limit          | value      | refused with (after `Protocol error: `) |
//! |----------------|------------|------------------------------------------|
//! | [`K_MAX_ARGS`] | 2^31 - 1 strings  | `invalid multibulk length`        |
//! | [`K_MAX_BULK`] | 512 MiB a string  | `invalid bulk length`             |
//! | [`K_MAX_LINE`] | 64 KiB a line     | `too big mbulk count string`, `too big bulk count string`, `too big inline request` |
//!
//! What it cannot do: RESP3 (`HELLO 3`: maps, doubles and booleans as types of their own);
//! Redis speaks RESP2 unless a client asks, and every client falls back to it.

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::cli::split_words;
use crate::event_loop::Outgoing;
use crate::request::Escaped;

// ANCHOR: limits
/// The most strings one request may carry: Redis 7's, `INT_MAX` (Redis 6 and before allowed
/// 1,048,576). What a request may announce costs nothing until its strings arrive: the reader
/// records each string as it comes, and reserves nothing for the count.
pub const K_MAX_ARGS: usize = i32::MAX as usize;

/// The longest string a request may carry: Redis's default `proto-max-bulk-len`, 512 MiB.
/// It is also the most a client can make the server buffer for one string, so a server that
/// wants less memory per client lowers this (Redis: `client-query-buffer-limit`).
pub const K_MAX_BULK: usize = 512 * 1024 * 1024;

/// The longest line: an inline request, or a `*count` / `$len` header still waiting for its
/// CRLF (Redis's `PROTO_INLINE_MAX_SIZE`). Without it, a client sending bytes that never end
/// a line would make the server buffer them forever; with it, memory grows only with bytes
/// that could still be a request. A valid header is 21 bytes at most (`*-9223372036854775808`);
/// 64 KiB is for inline lines, typed or pasted by people.
pub const K_MAX_LINE: usize = 64 * 1024;
// ANCHOR_END: limits

// ANCHOR: protocol_error
/// Why the bytes at the front of a connection's buffer are not a request. The server replies
/// `-ERR {error}\r\n` and closes the connection, as Redis does: after a malformed request
/// there is no telling where the next one begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// `*` not followed by a decimal count up to [`K_MAX_ARGS`] and CRLF.
    InvalidMultibulkLength,
    /// `$` not followed by a decimal length from 0 to [`K_MAX_BULK`] and CRLF.
    InvalidBulkLength,
    /// An array element that is not a bulk string: the byte it starts with.
    ExpectedDollar(u8),
    /// A bulk string not followed by CRLF. Redis skips the two bytes unchecked; we refuse them,
    /// since a client that got the length wrong has lost track of where its strings end.
    NoCrlfAfterBulk,
    /// A `*count` line of more than [`K_MAX_LINE`] bytes with no CR.
    TooBigMbulkCount,
    /// A `$len` line of more than [`K_MAX_LINE`] bytes with no CR.
    TooBigBulkCount,
    /// An inline request of more than [`K_MAX_LINE`] bytes with no LF. Redis looks for the
    /// end of a line in whatever has arrived, so it takes a longer line that came in one read;
    /// we look no further than the limit, so what is refused does not depend on how the bytes
    /// were cut into reads, and a search costs at most 64 KiB.
    TooBigInline,
    /// An inline request that does not split into words: a quote not closed (or a stray `\`).
    UnbalancedQuotes,
    /// A big string whose buffer the system would not reserve: its length. Redis, whose
    /// allocator aborts when it runs out, has no such error.
    CannotReserve(usize),
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            // Escaped, so that a CR or LF cannot end the error line early: `got '\r'`.
            ProtocolError::ExpectedDollar(byte) => {
                return write!(f, "Protocol error: expected '$', got '{}'", Escaped(&[*byte]));
            }
            ProtocolError::NoCrlfAfterBulk => "expected CRLF after bulk data",
            ProtocolError::TooBigMbulkCount => "too big mbulk count string",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::TooBigInline => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::CannotReserve(len) => {
                return write!(f, "out of memory: no room for a string of {len} bytes");
            }
        };
        write!(f, "Protocol error: {what}")
    }
}

impl ProtocolError {
    /// What the client is told after `-ERR `: the `Display` text, but with the byte that is not
    /// a `$` as it came, as Redis sends it (the reply encoder makes a CR or LF a space). The
    /// `Display` form escapes it, for the server's log.
    pub fn to_client(self) -> Vec<u8> {
        match self {
            ProtocolError::ExpectedDollar(byte) => {
                [&b"Protocol error: expected '$', got '"[..], &[byte], b"'"].concat()
            }
            other => other.to_string().into_bytes(),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProtocolError> for io::Error {
    fn from(e: ProtocolError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}
// ANCHOR_END: protocol_error

// ANCHOR: request
/// One request: the command's name and its arguments, each either a slice of the connection's
/// buffer (`'a`) or, for a big string that arrived in a buffer of its own, that buffer.
#[derive(Debug)]
pub struct Request<'a> {
    buf: &'a [u8],
    spans: &'a [Span],
    /// The big strings (and an inline request's words), in the order their spans name them.
    owned: &'a mut [Vec<u8>],
}

/// Where one string of a request is. A span is 12 bytes, for at least 6 bytes on the wire
/// (`$0\r\n\r\n`): what a request's strings cost to remember grows with what arrived.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// In the connection's buffer, counted from the request's first byte. (`u32`: a request's
    /// bytes in the buffer are bounded by the stage's largest request, under 4 GiB.)
    Here { start: u32, len: u32 },
    /// The next of the request's owned strings.
    Owned,
}

/// An argument as a command gets it: borrowed from the connection's buffer, or owned, so that a
/// command that keeps it (`SET`'s value) can take it without a copy (`Cow::into_owned`).
pub type Arg<'a> = std::borrow::Cow<'a, [u8]>;

impl<'a> Request<'a> {
    /// How many strings the request carries. 0 for an empty request (`*0`, `*-1`, an empty
    /// line), which the server skips without a reply, as Redis does.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The strings, in order, as slices.
    pub fn args(&self) -> impl Iterator<Item = &[u8]> {
        let mut owned = self.owned.iter();
        self.spans.iter().map(move |span| match *span {
            Span::Here { start, len } => &self.buf[start as usize..][..len as usize],
            Span::Owned => owned.next().map_or(&[][..], Vec::as_slice),
        })
    }

    /// The strings handed over as [`Arg`]s, laid out in `slots` if they fit (allocating
    /// nothing), in `spill` if not: a slice a command's shape can be matched against
    /// (`[name, key]`). An owned string is moved, not copied.
    pub fn into_args_in<'s>(
        self,
        slots: &'s mut [Arg<'a>],
        spill: &'s mut Vec<Arg<'a>>,
    ) -> &'s mut [Arg<'a>] {
        let (len, buf, mut owned) = (self.len(), self.buf, self.owned.iter_mut());
        let args = self.spans.iter().map(move |span| match *span {
            Span::Here { start, len } => Arg::Borrowed(&buf[start as usize..][..len as usize]),
            Span::Owned => Arg::Owned(owned.next().map(std::mem::take).unwrap_or_default()),
        });
        match slots.get_mut(..len) {
            Some(slots) => {
                for (slot, arg) in slots.iter_mut().zip(args) {
                    *slot = arg;
                }
                slots
            }
            None => {
                spill.extend(args);
                spill
            }
        }
    }
}
// ANCHOR_END: request

// ANCHOR: parser
/// The strings a parser keeps room to record once a request is answered: a request of more
/// grows the list, and the next one starts with a list this short again (12 KiB).
pub const K_SPANS_KEPT: usize = 1024;

/// The strings of 32 KiB and more are read into a buffer of their own, reserved at their
/// length (Redis's `PROTO_MBULK_BIG_ARG`): see [`Parsed::BigString`].
pub const K_BIG_STRING: usize = 32 * 1024;

/// What [`Parser::parse`] found at the front of a connection's unread bytes.
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A whole request, made of the first `used` bytes.
    Request(Request<'a>, usize),
    /// Not a whole request yet: call again when more bytes have arrived.
    Wait,
    /// Not a whole request yet, and the bytes from `at` on are the start of a big string,
    /// whose buffer [`Parser::big_string`] now gives: move them there, and read what follows
    /// into it until it is full; then call again.
    BigString { at: usize },
}

/// How far one connection's request has been read, kept between reads, as Redis keeps it in
/// each client (`multibulklen`, `bulklen`, the `argv` so far): every byte of a request is
/// looked at once however the request is cut into reads, so a request costs O(its length).
/// Offsets count from the request's first byte, so the caller may move its unread bytes.
#[derive(Debug, Default)]
pub struct Parser {
    /// How far the bytes are understood: everything before `at` is recorded in `spans`.
    at: usize,
    /// How far the search for the end of the line at `at` has looked already.
    scanned: usize,
    /// What comes at `at`.
    next: Next,
    spans: Vec<Span>,
    owned: Vec<Vec<u8>>,
    /// The last request was handed out: start over on the next call.
    done: bool,
    /// Bytes looked at since the parser was made: what the tests hold to O(length).
    #[cfg(test)]
    looked_at: usize,
}

#[derive(Debug, Default, Clone, Copy)]
enum Next {
    /// A request's first byte.
    #[default]
    Request,
    /// `$len\r\n`, with this many strings still to come (this one included).
    Header { left: usize },
    /// A string of `len` bytes and its CRLF, in the buffer.
    Data { left: usize, len: usize },
    /// A big string: its own buffer, the last in `owned`, fills up to `len` bytes and CRLF.
    Big { left: usize, len: usize },
}

// ANCHOR_END: parser

// ANCHOR: read_on
impl Parser {
    /// Reads on from where the last call stopped, in `buf`: the connection's unread bytes,
    /// beginning with the request's first (the same bytes as before, and maybe more).
    ///
    /// `Err`: not a request, ever. The caller replies `-ERR {e}` and closes.
    pub fn parse<'a>(&'a mut self, buf: &'a [u8]) -> Result<Parsed<'a>, ProtocolError> {
        if std::mem::take(&mut self.done) {
            self.start_over();
        }
        Ok(match self.read_on(buf)? {
            Step::Done => {
                self.done = true;
                let request = Request { buf, spans: &self.spans, owned: &mut self.owned };
                Parsed::Request(request, self.at)
            }
            Step::Wait => Parsed::Wait,
            Step::BigString => Parsed::BigString { at: self.at },
        })
    }

    /// The buffer a big string is being read into, and how many more bytes it wants.
    pub fn big_string(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        let Next::Big { len, .. } = self.next else { return None };
        let big = self.owned.last_mut()?;
        let wanted = (len + 2).saturating_sub(big.len());
        (wanted > 0).then_some((big, wanted))
    }

    /// Each step takes what it needs from `buf` at `at`, or says to wait for more.
    fn read_on(&mut self, buf: &[u8]) -> Result<Step, ProtocolError> {
        use ProtocolError::*;
        loop {
            match self.next {
                Next::Request => match buf.first() {
                    None => return Ok(Step::Wait),
                    Some(b'*') => {
                        let Some(count) =
                            self.number_line(buf, TooBigMbulkCount, InvalidMultibulkLength)?
                        else {
                            return Ok(Step::Wait);
                        };
                        // `*0`, `*-1`, any count <= 0: an empty request, as in Redis.
                        match usize::try_from(count) {
                            Err(_) | Ok(0) => return Ok(Step::Done),
                            Ok(left) if left > K_MAX_ARGS => return Err(InvalidMultibulkLength),
                            Ok(left) => self.next = Next::Header { left },
                        }
                    }
                    Some(_) => return self.inline(buf),
                },
                Next::Header { left } => {
                    match buf.get(self.at) {
                        None => return Ok(Step::Wait),
                        Some(b'$') => {}
                        Some(&other) => return Err(ExpectedDollar(other)),
                    }
                    let Some(len) = self.number_line(buf, TooBigBulkCount, InvalidBulkLength)?
                    else {
                        return Ok(Step::Wait);
                    };
                    let len = usize::try_from(len).ok().filter(|&len| len <= K_MAX_BULK);
                    let len = len.ok_or(InvalidBulkLength)?;
                    if len >= K_BIG_STRING && buf.len() < self.at + len + 2 {
                        return self.big(len, left);
                    }
                    self.next = Next::Data { left, len };
                }
                Next::Data { left, len } => {
                    let end = self.at + len;
                    // Refuse a wrong byte as soon as it arrives; wait while the CRLF is partly in.
                    match (buf.get(end), buf.get(end + 1)) {
                        (Some(b'\r'), Some(b'\n')) => {}
                        (None, _) | (Some(b'\r'), None) => return Ok(Step::Wait),
                        _ => return Err(NoCrlfAfterBulk),
                    }
                    // Both fit a `u32`: `end` is within the buffer, whose size the stage bounds.
                    self.spans.push(Span::Here { start: self.at as u32, len: len as u32 });
                    self.at = end + 2;
                    self.string_done(left);
                }
                Next::Big { left, len } => {
                    let big = self.owned.last_mut().ok_or(NoCrlfAfterBulk)?;
                    if big.len() < len + 2 {
                        return Ok(Step::Wait);
                    }
                    if !big.ends_with(b"\r\n") {
                        return Err(NoCrlfAfterBulk);
                    }
                    big.truncate(len);
                    self.spans.push(Span::Owned);
                    self.string_done(left);
                }
            }
            if let Next::Request = self.next {
                return Ok(Step::Done);
            }
        }
    }

    // ANCHOR_END: read_on
    // ANCHOR: big
    /// A big string's own buffer, reserved whole now, fallibly: a reservation the system refuses
    /// is this client's error, not the end of the server. The reservation is address space,
    /// not memory: a page becomes resident when the bytes written to it arrive.
    fn big(&mut self, len: usize, left: usize) -> Result<Step, ProtocolError> {
        let mut big = Vec::new();
        big.try_reserve_exact(len + 2).map_err(|_| ProtocolError::CannotReserve(len))?;
        self.owned.push(big);
        self.next = Next::Big { left, len };
        Ok(Step::BigString)
    }

    /// One string read, of `left` still to come before it.
    fn string_done(&mut self, left: usize) {
        self.next = match left - 1 {
            0 => Next::Request,
            left => Next::Header { left },
        };
    }

    fn start_over(&mut self) {
        (self.at, self.scanned, self.next) = (0, 0, Next::Request);
        self.spans.clear();
        self.spans.shrink_to(K_SPANS_KEPT);
        self.owned.clear();
        self.owned.shrink_to(K_SPANS_KEPT);
    }

    // ANCHOR_END: big
    // ANCHOR: lines
    /// The number on the `*count` or `$len` line at `at`, as Redis's `string2ll` reads one,
    /// once the line's CRLF is in; `at` moves past the line.
    fn number_line(
        &mut self,
        buf: &[u8],
        too_big: ProtocolError,
        invalid: ProtocolError,
    ) -> Result<Option<i64>, ProtocolError> {
        let Some(cr) = self.line_end(buf, b'\r', too_big)? else { return Ok(None) };
        match buf.get(cr + 1) {
            None => Ok(None),
            Some(b'\n') => {
                let number = decimal(&buf[self.at + 1..cr]).ok_or(invalid)?;
                (self.at, self.scanned) = (cr + 2, 0);
                Ok(Some(number))
            }
            Some(_) => Err(invalid),
        }
    }

    /// Where the first `end` byte of the line at `at` is, after at most [`K_MAX_LINE`] bytes
    /// of line, searching never twice over the same bytes.
    fn line_end(
        &mut self,
        buf: &[u8],
        end: u8,
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        let line = &buf[self.at..];
        let searched = &line[..line.len().min(K_MAX_LINE + 1)];
        let from = self.scanned.min(searched.len());
        let found = searched[from..].iter().position(|&b| b == end);
        #[cfg(test)]
        {
            self.looked_at += found.map_or(searched.len() - from, |i| i + 1);
        }
        match found {
            Some(i) => {
                self.scanned = from + i;
                Ok(Some(self.at + from + i))
            }
            None if line.len() > K_MAX_LINE => Err(too_big),
            None => {
                self.scanned = searched.len();
                Ok(None)
            }
        }
    }

    // ANCHOR_END: lines
    // ANCHOR: rest
    /// A line of words, up to `\n` (a `\r` before it is dropped), split as our own client
    /// splits a typed line. That is close to Redis's `sdssplitargs` but not the same: Redis
    /// also splits on `\r`, `\v` and `\f`, allows `\'` inside single quotes, takes `\`
    /// outside quotes as a plain byte, takes a `\x` not followed by two hex digits inside
    /// double quotes as a plain `x` (`"\x4g"` is `x4g`, where we refuse it), and refuses
    /// `"a"b` (a closing quote must end the word).
    /// The one path that copies: inline requests come from people at a telnet prompt and from
    /// `redis-benchmark`'s `PING_INLINE`, never from a client library.
    fn inline(&mut self, buf: &[u8]) -> Result<Step, ProtocolError> {
        let Some(lf) = self.line_end(buf, b'\n', ProtocolError::TooBigInline)? else {
            return Ok(Step::Wait);
        };
        let line = buf[..lf].strip_suffix(b"\r").unwrap_or(&buf[..lf]);
        // Every way split_words can fail is, to Redis, a line it cannot split: one error for all.
        self.owned = split_words(line).map_err(|_| ProtocolError::UnbalancedQuotes)?;
        self.spans = vec![Span::Owned; self.owned.len()];
        self.at = lf + 1;
        Ok(Step::Done)
    }
}

/// A connection's parser is its session in the event loop, which reads a big string into the
/// buffer the parser gives.
impl crate::event_loop::Session for Parser {
    fn big_string(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        Parser::big_string(self)
    }

    fn bytes_held(&self) -> usize {
        self.owned.iter().map(Vec::len).sum()
    }

    fn take_held(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.owned)
    }
}

/// What a step of [`Parser::read_on`] came to.
enum Step {
    Done,
    Wait,
    BigString,
}

/// An integer as Redis reads one (`string2ll`): decimal digits, a `-` allowed, nothing else:
/// no `+`, no leading zeros, no `-0`, no spaces, and within `i64`. Lengths in requests are
/// read with it, and so are v3.0's integer arguments.
pub fn decimal(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    match digits {
        [b'0'] if !negative => return Some(0),
        [b'1'..=b'9', ..] => {}
        _ => return None,
    }
    // Accumulated as a negative number, whose range reaches one further: i64::MIN parses.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if negative { Some(n) } else { n.checked_neg() }
}
// ANCHOR_END: rest

/// A request as a person would type it, for logs: its strings, escaped, separated by spaces,
/// and cut short (8 strings of 64 bytes), as [`crate::request::Request`] shows one: a log line
/// must not cost what the request cost.
impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::request::show_words(f, self.args(), self.len())
    }
}

// ANCHOR: encode
// The reply encoder. Each function appends one value to the connection's reply buffer and
// allocates nothing of its own (the buffer grows, as it must). Numbers become text on the
// stack (`header`), not through `format!`.

/// `+text\r\n`: a status such as `OK` or `PONG`.
pub fn out_simple(out: &mut Vec<u8>, text: &str) {
    out_line(out, b'+', text.as_bytes());
}

/// `-msg\r\n`: `msg` is everything after the `-`, its code first:
/// `ERR unknown command 'foo', with args beginning with: `, `WRONGTYPE Operation against a
/// key holding the wrong kind of value`. Clients show the code and may act on it.
pub fn out_error(out: &mut Vec<u8>, msg: &str) {
    out_line(out, b'-', msg.as_bytes());
}

/// `-msg\r\n`, for an error that quotes what the client sent as it sent it, bytes that are
/// not UTF-8 included, as Redis does.
pub fn out_error_bytes(out: &mut Vec<u8>, msg: &[u8]) {
    out_line(out, b'-', msg);
}

/// A one-line value. A CR or LF in it would end the line early and the client would read the
/// rest as the next reply, so each becomes a space, as Redis does with error messages (an
/// error may quote what the client sent).
fn out_line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend(text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
    out.extend_from_slice(b"\r\n");
}

/// `:n\r\n`.
pub fn out_int(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(header(b':', n, &mut [0; HEADER_MAX]));
}

/// `$len\r\n<bytes>\r\n`: any bytes.
pub fn out_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(HEADER_MAX + bytes.len() + 2); // one growth at most, for a big value
    out.extend_from_slice(header(b'$', len_i64(bytes.len()), &mut [0; HEADER_MAX]));
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\n<bytes>\r\n`, the bytes shared with whoever else holds them, and sent from there.
pub fn out_bulk_shared(out: &mut Outgoing, bytes: Arc<Vec<u8>>) {
    out.bytes().extend_from_slice(header(b'$', len_i64(bytes.len()), &mut [0; HEADER_MAX]));
    out.push_shared(bytes);
    out.bytes().extend_from_slice(b"\r\n");
}

/// `$-1\r\n`: no value, what `GET` says of a missing key; `redis-cli` shows `(nil)`.
pub fn out_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// `*count\r\n`: an array; the caller appends its `count` values next.
pub fn out_array(out: &mut Vec<u8>, count: usize) {
    out.extend_from_slice(header(b'*', len_i64(count), &mut [0; HEADER_MAX]));
}

/// The longest header: a kind byte, `-9223372036854775808`, CRLF.
const HEADER_MAX: usize = 1 + 20 + 2;

/// `kind`, `n` in decimal, CRLF, written from the end of `buf` backwards (the digits of a
/// number come out last first), and returned as the part of `buf` used.
fn header(kind: u8, n: i64, buf: &mut [u8; HEADER_MAX]) -> &[u8] {
    let mut at = HEADER_MAX - 2;
    buf[at..].copy_from_slice(b"\r\n");
    // unsigned_abs, because -i64::MIN does not fit an i64.
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    at -= 1;
    buf[at] = kind;
    &buf[at..]
}

/// A length as RESP writes it. Lossless: no slice or count is longer than isize::MAX.
fn len_i64(len: usize) -> i64 {
    len as i64
}
// ANCHOR_END: encode

// ANCHOR: deferred
/// Where an array whose count is not known yet begins (`KEYS`: the keys are counted as they
/// match). Not `Copy`, and `#[must_use]`: each is ended once, by the code that began it.
#[must_use = "a begun array must be ended, or it has no header"]
pub struct Placeholder(usize);

/// Begins an array of a count still unknown: its values come next, its header at the end.
pub fn begin_array(out: &[u8]) -> Placeholder {
    Placeholder(out.len())
}

/// Ends the array begun at `start` with its `count`, inserting `*count\r\n` before its values.
///
/// [`crate::tlv`] patches a placeholder in place, because its counts are four bytes whatever
/// their value. A RESP count is text as wide as the number, and `*0003` is not one (RESP has
/// no leading zeros), so no width can be reserved: the values move up to make room, one
/// memmove of the array's bytes. That is cheap beside producing them (a `KEYS` reply of a
/// million keys is some 20 MB, moved in a few milliseconds, after a hash-table walk and a
/// match per key). Redis avoids the move by building replies as a list of blocks: it adds an
/// empty node where the header goes and fills it in at the end (`addReplyDeferredLen`).
///
/// Panics if `out` was cut shorter than it was when the array began.
pub fn end_array(out: &mut Vec<u8>, start: Placeholder, count: usize) {
    let mut buf = [0; HEADER_MAX];
    let header = header(b'*', len_i64(count), &mut buf);
    let (start, end) = (start.0, out.len());
    out.extend_from_slice(header); // the room the header needs, at the end...
    out.copy_within(start..end, start + header.len()); // ...the values moved up into it...
    out[start..start + header.len()].copy_from_slice(header); // ...and the header before them
}
// ANCHOR_END: deferred

// ANCHOR: double
/// A double, as RESP2 sends one: a bulk string of its decimal text (`ZSCORE`, `ZINCRBY`).
///
/// The digits are the shortest that read back as the same double (Rust's `{:e}`), laid out as
/// Redis 7.2 and later lay them out (`fpconv_dtoa`: Grisu2, whose digits are the shortest in
/// all but rare cases; either way they read back exactly):
///
/// | value       | sent          | rule                                                     |
/// |-------------|---------------|----------------------------------------------------------|
/// | 2.0, 1e7    | `2`, `10000000` | an integer, when at most 7 zeros follow the digits     |
/// | 1e8, 1.5e9  | `1e+8`, `1.5e+9` | ...in exponent form when more would                  |
/// | 0.1, 1234.5 | `0.1`, `1234.5` | a fraction, with at most 6 decimals or in [0.001, 10^4) |
/// | 1.5e-7      | `1.5e-7`      | ...in exponent form otherwise                            |
/// | -0.0        | `-0`          | zero keeps its sign                                      |
/// | ±infinity   | `inf`, `-inf` | Redis's words (a score may be infinite); NaN is `nan`    |
///
/// Redis 7.0 printed `%.17g` instead: 17 significant digits, so 0.1 went out as
/// `0.10000000000000001` and 1e8 as `100000000`. Clients read either with `strtod`.
pub fn out_double(out: &mut Vec<u8>, x: f64) {
    let mut buf = [0; 32];
    out_bulk(out, double_text(x, &mut buf));
}

/// The text of `x`, in `buf`.
fn double_text(x: f64, buf: &mut [u8; 32]) -> &[u8] {
    if x.is_nan() {
        return b"nan";
    } else if x.is_infinite() {
        return if x > 0.0 { b"inf" } else { b"-inf" };
    }
    // `{:e}` writes the shortest round-trip digits as `d.ddde-x`, on the stack: at most 24
    // bytes ("1.7976931348623157e308"), so the write cannot run out of room.
    let mut sci = [0u8; 32];
    let mut room = &mut sci[..];
    let written = io::Write::write_fmt(&mut room, format_args!("{:e}", x.abs()));
    debug_assert!(written.is_ok());
    let sci_len = 32 - room.len();
    let sci = &sci[..sci_len];
    let (mantissa, exp) = sci.split_at(sci.iter().position(|&b| b == b'e').unwrap_or(sci_len));
    let mut digits = [0u8; 17]; // a shortest round-trip f64 has at most 17 digits
    let mut n = 0;
    for &d in mantissa.iter().filter(|d| d.is_ascii_digit()) {
        digits[n] = d;
        n += 1;
    }
    let digits = &digits[..n];
    // The number is digits × 10^k; `exp` is the power of ten of its first digit.
    let exp = exp.get(1..).and_then(decimal).unwrap_or(0) as i32;
    let k = exp - (n as i32 - 1);

    let mut len = 0;
    let mut push = |bytes: &[u8]| {
        buf[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    if x.is_sign_negative() {
        push(b"-");
    }
    if (0..=7).contains(&k) {
        push(digits);
        (0..k).for_each(|_| push(b"0"));
    } else if k < 0 && (k > -7 || exp.abs() < 4) {
        let point = n as i32 + k; // how many digits come before the point
        if point <= 0 {
            push(b"0.");
            (0..-point).for_each(|_| push(b"0"));
            push(digits);
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            push(whole);
            push(b".");
            push(fraction);
        }
    } else {
        push(&digits[..1]);
        if n > 1 {
            push(b".");
            push(&digits[1..]);
        }
        push(if exp < 0 { b"e-" } else { b"e+" });
        let e = exp.unsigned_abs(); // at most 324
        for (place, shown) in [(100, e >= 100), (10, e >= 10), (1, true)] {
            if shown {
                push(&[b'0' + (e / place % 10) as u8]);
            }
        }
    }
    &buf[..len]
}
// ANCHOR_END: double

// ANCHOR: reply
/// A reply as a client holds it: owned, whole. Strings are bytes, as on the wire: a status
/// or an error is text by convention only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`: no value.
    Null,
    Array(Vec<Reply>),
    /// `*-1`: no array.
    NullArray,
}

/// The deepest nesting of arrays [`parse_reply`] accepts. Redis's own replies nest a few
/// levels (`COMMAND DOCS`, `XREAD`); the limit is what lets the rest of the code be simple:
/// dropping, comparing or printing a [`Reply`] recurses, as derived code does, and a reply
/// nested a million deep would overflow the stack there even if the parser survived it.
pub const K_MAX_DEPTH: usize = 64;
// ANCHOR_END: reply

// ANCHOR: parse_reply
/// Looks for one whole reply at the front of `buf`: `Ok(None)` when more bytes are needed,
/// `Ok(Some((reply, used)))`, or an error (`InvalidData`) saying where the reply went wrong.
///
/// Two walks, each a loop with a stack of the arrays still open, never recursion. The first
/// only finds where the reply ends, allocating nothing but its stack (a count per open
/// array), so a big reply arriving in pieces costs a walk of its headers per piece, not a copy
/// of its bytes. The second, once the reply is whole, builds it. No count is trusted: an
/// array's `Vec` grows as its values are found, never by what its header says, so a reply that
/// promises a billion values costs what it sends, and waits for the rest.
pub fn parse_reply(buf: &[u8]) -> io::Result<Option<(Reply, usize)>> {
    // For each open array, innermost last: how many of its values are still to come.
    let mut open: Vec<usize> = Vec::new();
    let mut at = 0;
    'find_end: loop {
        let Some((head, next)) = head(buf, at)? else { return Ok(None) };
        if let Head::Array(count @ 1..) = head {
            if open.len() == K_MAX_DEPTH {
                return Err(bad_reply(at, &format!("arrays nested over {K_MAX_DEPTH} deep")));
            }
            open.push(count);
            at = next;
            continue;
        }
        at = next;
        // A whole value: it ends the arrays it completes, innermost first.
        while let Some(left) = open.last_mut() {
            *left -= 1;
            if *left > 0 {
                continue 'find_end;
            }
            open.pop();
        }
        break;
    }

    let mut open: Vec<(Vec<Reply>, usize)> = Vec::new();
    at = 0;
    loop {
        // The first walk found every head whole: `None` here cannot happen.
        let (head, next) = head(buf, at)?.ok_or_else(|| bad_reply(at, "cut short"))?;
        at = next;
        let mut value = match head {
            Head::Simple(text) => Reply::Simple(text.to_vec()),
            Head::Error(text) => Reply::Error(text.to_vec()),
            Head::Int(n) => Reply::Int(n),
            Head::Bulk(bytes) => Reply::Bulk(bytes.to_vec()),
            Head::Null => Reply::Null,
            Head::NullArray => Reply::NullArray,
            Head::Array(0) => Reply::Array(Vec::new()),
            Head::Array(count) => {
                open.push((Vec::new(), count));
                continue;
            }
        };
        // The value ends the arrays it completes, innermost first; the outermost is the reply.
        loop {
            let Some((values, left)) = open.last_mut() else { return Ok(Some((value, at))) };
            values.push(value);
            *left -= 1;
            if *left > 0 {
                break;
            }
            value = Reply::Array(std::mem::take(values));
            open.pop();
        }
    }
}

/// One value as the walks see it: whole, except an array, which is only its count.
enum Head<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Null,
    /// An array's count; its values follow. `*0` is an array already whole.
    Array(usize),
    NullArray,
}

/// The value (or array header) at `at`, and where it ends; `None` if it has not all arrived.
fn head(buf: &[u8], at: usize) -> io::Result<Option<(Head<'_>, usize)>> {
    let bad = |what: &str| bad_reply(at, what);
    let rest = &buf[at..];
    let Some(&kind) = rest.first() else { return Ok(None) };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(bad(&format!("unknown type '{}'", Escaped(&[kind]))));
    }
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else { return Ok(None) };
    match rest.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(bad("a line not ended by CRLF")),
    }
    let (line, next) = (&rest[1..cr], at + cr + 2);
    let number = || decimal(line).ok_or_else(|| bad("not a decimal number"));
    let head = match kind {
        b'+' => Head::Simple(line),
        b'-' => Head::Error(line),
        b':' => Head::Int(number()?),
        b'$' => match number()? {
            -1 => Head::Null,
            len => {
                let len = usize::try_from(len).map_err(|_| bad("a negative length"))?;
                let data = &buf[next..];
                // Compared without adding to `len`, which may be anything up to i64::MAX.
                if data.len() < len || data.len() - len < 2 {
                    return Ok(None);
                }
                if &data[len..len + 2] != b"\r\n" {
                    return Err(bad("a bulk string not followed by CRLF"));
                }
                return Ok(Some((Head::Bulk(&data[..len]), next + len + 2)));
            }
        },
        _ => match number()? {
            -1 => Head::NullArray,
            count => Head::Array(usize::try_from(count).map_err(|_| bad("a negative count"))?),
        },
    };
    Ok(Some((head, next)))
}

fn bad_reply(at: usize, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad reply at byte {at}: {what}"))
}
// ANCHOR_END: parse_reply

// ANCHOR: show_reply
/// A reply as `redis-cli` shows it to a person: `OK`, `(integer) 1`, `"hello"`, `(nil)`,
/// `(error) ERR ...`, `(empty array)`, and arrays numbered, nested ones indented:
///
/// ```text
/// 1) "a"
/// 2) 1) (integer) 1
///    2) (nil)
/// ```
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.show(f, 0)
    }
}

impl Reply {
    /// `indent`: the width of the numbers of the arrays around this value, for its lines
    /// after the first. Recursive, at most [`K_MAX_DEPTH`] deep.
    fn show(&self, f: &mut fmt::Formatter<'_>, indent: usize) -> fmt::Result {
        match self {
            Reply::Simple(text) => write!(f, "{}", Escaped(text)),
            Reply::Error(text) => write!(f, "(error) {}", Escaped(text)),
            Reply::Int(n) => write!(f, "(integer) {n}"),
            Reply::Bulk(bytes) => write!(f, "{}", Quoted(bytes)),
            Reply::Null | Reply::NullArray => f.write_str("(nil)"),
            Reply::Array(values) if values.is_empty() => f.write_str("(empty array)"),
            Reply::Array(values) => {
                // Numbers right-aligned to the widest: ` 9)`, `10)`.
                let width = values.len().ilog10() as usize + 1;
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        write!(f, "\n{:indent$}", "")?;
                    }
                    write!(f, "{:>width$}) ", i + 1)?;
                    value.show(f, indent + width + 2)?;
                }
                Ok(())
            }
        }
    }
}

/// Bytes in double quotes, as `redis-cli` quotes a bulk string (`sdscatrepr`): printable
/// ASCII as it is, `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, and any other byte as `\xNN`.
pub struct Quoted<'a>(pub &'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            match b {
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                0x07 => f.write_str("\\a")?,
                0x08 => f.write_str("\\b")?,
                b' '..=b'~' => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}
// ANCHOR_END: show_reply
