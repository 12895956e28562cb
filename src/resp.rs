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
//! - **Parsing without allocating.** A multibulk request is checked exactly and then handed out
//!   as slices of the connection's buffer, as [`crate::request`] does with the binary protocol.
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
//! | [`K_MAX_ARGS`] | 1,048,576 strings | `invalid multibulk length`        |
//! | [`K_MAX_BULK`] | 512 MiB a string  | `invalid bulk length`             |
//! | [`K_MAX_LINE`] | 64 KiB a line     | `too big mbulk count string`, `too big bulk count string`, `too big inline request` |
//!
//! What it cannot do: RESP3 (`HELLO 3`: maps, doubles and booleans as types of their own);
//! Redis speaks RESP2 unless a client asks, and every client falls back to it. And it keeps no
//! state between calls: a request that arrives in pieces is parsed again from its start each
//! time a piece arrives, and a line still arriving is searched again (up to 64 KiB) each time;
//! see [`parse_request`] for what that costs and what Redis does instead.

use std::fmt;
use std::io;

use crate::cli::split_words;
use crate::request::Escaped;

// ANCHOR: limits
/// The most strings one request may carry: Redis's limit for most of its life (recent versions
/// allow `INT_MAX`). A million arguments is more than any real command needs, and the limit
/// bounds the work one request can ask for.
pub const K_MAX_ARGS: usize = 1024 * 1024;

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
    /// A `*count` line with no CR in its first [`K_MAX_LINE`] bytes.
    TooBigMbulkCount,
    /// A `$len` line with no CR in its first [`K_MAX_LINE`] bytes.
    TooBigBulkCount,
    /// An inline request with no LF in its first [`K_MAX_LINE`] bytes. Redis looks for the
    /// end of a line in whatever has arrived, so it takes a longer line that came in one read;
    /// we look no further than the limit, so what is refused does not depend on how the bytes
    /// were cut into reads, and a search costs at most 64 KiB.
    TooBigInline,
    /// An inline request that does not split into words: a quote not closed (or a stray `\`).
    UnbalancedQuotes,
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
        };
        write!(f, "Protocol error: {what}")
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
/// One request: the command's name and its arguments. A multibulk request borrows the buffer
/// it was parsed from (`'a`); an inline one owns its words.
#[derive(Debug, Clone)]
pub struct Request<'a>(Form<'a>);

#[derive(Debug, Clone)]
enum Form<'a> {
    /// The elements after `*count\r\n`, every one of them checked: `$len\r\n<bytes>\r\n`.
    Multibulk { elements: &'a [u8], count: usize },
    /// The one path that allocates: split_words builds its words. Inline requests come from
    /// people at a telnet prompt and from `redis-benchmark`'s `PING_INLINE`, never from a
    /// client library, so they are not worth a borrowing splitter of their own.
    Inline(Vec<Vec<u8>>),
}

impl Request<'_> {
    /// How many strings the request carries. 0 for an empty request (`*0`, `*-1`, an empty
    /// line), which the server skips without a reply, as Redis does.
    pub fn len(&self) -> usize {
        match &self.0 {
            Form::Multibulk { count, .. } => *count,
            Form::Inline(words) => words.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The strings, in order, as slices: of the connection's buffer for a multibulk request
    /// (no copy), of the words for an inline one.
    pub fn args(&self) -> Args<'_> {
        Args(match &self.0 {
            Form::Multibulk { elements, .. } => ArgsForm::Multibulk(elements),
            Form::Inline(words) => ArgsForm::Inline(words.iter()),
        })
    }

    /// The strings laid out in `slots`, as a slice a command's shape can be matched against
    /// (`[name, key]`), or `None` when there are more strings than slots; as
    /// [`crate::request::Request::args_in`], and allocating nothing.
    pub fn args_in<'r, 's>(&'r self, slots: &'s mut [&'r [u8]]) -> Option<&'s [&'r [u8]]> {
        let slots = slots.get_mut(..self.len())?;
        for (slot, arg) in slots.iter_mut().zip(self.args()) {
            *slot = arg;
        }
        Some(slots)
    }
}
// ANCHOR_END: request

// ANCHOR: args
/// The strings of a [`Request`], one at a time.
#[derive(Debug, Clone)]
pub struct Args<'r>(ArgsForm<'r>);

#[derive(Debug, Clone)]
enum ArgsForm<'r> {
    /// The elements not handed out yet.
    Multibulk(&'r [u8]),
    Inline(std::slice::Iter<'r, Vec<u8>>),
}

impl<'r> Iterator for Args<'r> {
    type Item = &'r [u8];

    fn next(&mut self) -> Option<&'r [u8]> {
        let rest = match &mut self.0 {
            ArgsForm::Inline(words) => return words.next().map(Vec::as_slice),
            ArgsForm::Multibulk(rest) => rest,
        };
        // `$len\r\n<bytes>\r\n`, checked by `parse_request`: `len` is 1 to 9 digits, and the
        // bytes and their CRLF are there. `get` rather than indexing, so that even a broken
        // promise would end the iteration rather than panic.
        let cr = rest.iter().position(|&b| b == b'\r')?;
        let len = rest.get(1..cr)?.iter().fold(0, |len, &d| len * 10 + usize::from(d - b'0'));
        let string = rest.get(cr + 2..cr + 2 + len)?;
        *rest = rest.get(cr + 2 + len + 2..)?;
        Some(string)
    }
}
// ANCHOR_END: args

// ANCHOR: parse_request
/// Looks for one whole request at the front of `buf`, a connection's unread bytes.
///
/// - `Ok(None)`: not a whole request yet; call again with more bytes. Nothing is allocated
///   however much the request says is coming.
/// - `Ok(Some((request, used)))`: a request, made of the first `used` bytes. It may be empty
///   (`len() == 0`): skip it, with no reply.
/// - `Err`: not a request, ever. Reply `-ERR {e}` and close.
///
/// The caller keeps no state between calls, so a request that arrives in pieces is parsed
/// from its start on every call: each walks the headers of the strings already complete
/// (bulk data is stepped over by its length, never read), so it costs O(strings), not
/// O(bytes), plus up to [`K_MAX_LINE`] bytes of searching for the end of a line still
/// arriving. A 32 MiB value costs a few steps per piece; a million one-byte strings (7 MB),
/// read 16 KiB at a time, cost some 10^8 header steps in all. Redis instead keeps the parse
/// state in the client (`multibulklen`, `bulklen`, the `argv` built so far) and never walks
/// a finished string again, at the price of a state machine and of copying each string out.
pub fn parse_request(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, ProtocolError> {
    match buf.first() {
        None => Ok(None),
        Some(b'*') => multibulk(buf),
        Some(_) => inline(buf),
    }
}

/// `*count\r\n` then `count` times `$len\r\n<bytes>\r\n`.
fn multibulk(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, ProtocolError> {
    use ProtocolError::*;
    let Some((count, start)) = length_line(buf, TooBigMbulkCount, InvalidMultibulkLength)? else {
        return Ok(None);
    };
    let count = match usize::try_from(count) {
        Err(_) | Ok(0) => 0, // `*0`, `*-1`, any count <= 0: an empty request, as in Redis
        Ok(count) if count > K_MAX_ARGS => return Err(InvalidMultibulkLength),
        Ok(count) => count,
    };
    let mut at = start;
    for _ in 0..count {
        match buf.get(at) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(&other) => return Err(ExpectedDollar(other)),
        }
        let Some((len, data)) = length_line(&buf[at..], TooBigBulkCount, InvalidBulkLength)? else {
            return Ok(None);
        };
        let len = usize::try_from(len).ok().filter(|&len| len <= K_MAX_BULK);
        // Cannot overflow: `at + data` is within `buf`, and `len` is at most 512 MiB.
        let end = at + data + len.ok_or(InvalidBulkLength)?;
        // Refuse a wrong byte as soon as it arrives; wait while the CRLF is only partly here.
        match (buf.get(end), buf.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => at = end + 2,
            (None, _) | (Some(b'\r'), None) => return Ok(None),
            _ => return Err(NoCrlfAfterBulk),
        }
    }
    let request = Request(Form::Multibulk { elements: &buf[start..at], count });
    Ok(Some((request, at)))
}

/// A `*count\r\n` or `$len\r\n` line at the front of `line`: its number, and where the line
/// ends (after its LF). The number is decimal exactly as Redis's `string2ll` takes it.
fn length_line(
    line: &[u8],
    too_big: ProtocolError,
    invalid: ProtocolError,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let searched = &line[..line.len().min(K_MAX_LINE)];
    let Some(cr) = searched.iter().position(|&b| b == b'\r') else {
        return if line.len() >= K_MAX_LINE { Err(too_big) } else { Ok(None) };
    };
    match line.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((decimal(&line[1..cr]).ok_or(invalid)?, cr + 2))),
        Some(_) => Err(invalid),
    }
}

/// A decimal number as Redis's `string2ll` reads one: an optional `-`, then `0` alone or
/// digits without a leading zero, within an i64. No `+`, no spaces, no `-0`.
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

/// A line of words, up to `\n` (a `\r` before it is dropped), split as our own client splits
/// a typed line. That is close to Redis's `sdssplitargs` but not the same: Redis also splits
/// on `\r`, `\v` and `\f`, allows `\'` inside single quotes, takes `\` outside quotes as a
/// plain byte, and refuses `"a"b` (a closing quote must end the word).
fn inline(buf: &[u8]) -> Result<Option<(Request<'_>, usize)>, ProtocolError> {
    let searched = &buf[..buf.len().min(K_MAX_LINE)];
    let Some(lf) = searched.iter().position(|&b| b == b'\n') else {
        return if buf.len() >= K_MAX_LINE { Err(ProtocolError::TooBigInline) } else { Ok(None) };
    };
    let line = buf[..lf].strip_suffix(b"\r").unwrap_or(&buf[..lf]);
    // Every way split_words can fail is, to Redis, a line it cannot split: one error for all.
    let words = split_words(line).map_err(|_| ProtocolError::UnbalancedQuotes)?;
    Ok(Some((Request(Form::Inline(words)), lf + 1)))
}
// ANCHOR_END: parse_request

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

/// `$-1\r\n`: no value, what `GET` says of a missing key; `redis-cli` shows `(nil)`.
pub fn out_null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// `*-1\r\n`: no array (a timed-out `BLPOP`, an aborted `EXEC`); also `(nil)` to a person.
pub fn out_null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A request's strings, copied out, and the bytes it used.
    type Parsed = Option<(Vec<Vec<u8>>, usize)>;

    /// The strings of the request at the front of `buf`, and the bytes it used.
    fn parsed(buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let found = parse_request(buf)?;
        Ok(found.map(|(request, used)| (request.args().map(<[u8]>::to_vec).collect(), used)))
    }

    /// `args` as the multibulk request a client library sends.
    fn wire(args: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        out_array(&mut out, args.len());
        for arg in args {
            out_bulk(&mut out, arg);
        }
        out
    }

    // ANCHOR: set_on_the_wire
    /// `set greeting hello` as redis-cli sends it: parsed into its three strings, all of it used.
    #[test]
    fn set_on_the_wire() {
        let set = b"*3\r\n$3\r\nset\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n";
        assert_eq!(wire(&[b"set", b"greeting", b"hello"]), set);
        let want = vec![b"set".to_vec(), b"greeting".to_vec(), b"hello".to_vec()];
        assert_eq!(parsed(set), Ok(Some((want, set.len()))));
    }
    // ANCHOR_END: set_on_the_wire

    // ANCHOR: in_pieces
    /// A request cut anywhere is "wait for more", never an error or a wrong request; whole,
    /// it is used exactly, and the request after it is left for the next call.
    #[test]
    fn a_request_in_pieces_waits_for_the_rest() {
        let one = wire(&[b"set", b"k\r\n", b"", b"\0\xff"]);
        for cut in 0..one.len() {
            assert_eq!(parse_request(&one[..cut]).map(|r| r.is_some()), Ok(false), "cut {cut}");
        }
        let two = [&one[..], &wire(&[b"get", b"k\r\n"])].concat();
        let (first, used) = parsed(&two).unwrap().unwrap();
        assert_eq!(first, [&b"set"[..], b"k\r\n", b"", b"\0\xff"]);
        assert_eq!(used, one.len());
        assert_eq!(
            parsed(&two[used..]).unwrap().unwrap(),
            (vec![b"get".to_vec(), b"k\r\n".to_vec()], two.len() - used)
        );
    }
    // ANCHOR_END: in_pieces

    // ANCHOR: malformed
    /// Every way a request can be malformed, with what the client is told (Redis's words).
    #[test]
    fn malformed_requests_are_refused() {
        let cases: &[(&[u8], &str)] = &[
            (b"*abc\r\n", "invalid multibulk length"),
            (b"*+1\r\n", "invalid multibulk length"),
            (b"* 1\r\n", "invalid multibulk length"),
            (b"*1 \r\n", "invalid multibulk length"),
            (b"*01\r\n", "invalid multibulk length"),
            (b"*-0\r\n", "invalid multibulk length"),
            (b"*\r\n", "invalid multibulk length"),
            (b"*99999999999999999999\r\n", "invalid multibulk length"),
            (b"*1048577\r\n", "invalid multibulk length"),
            (b"*1\rx", "invalid multibulk length"),
            (b"*1\r\n$-1\r\n", "invalid bulk length"),
            (b"*1\r\n$536870913\r\n", "invalid bulk length"),
            (b"*1\r\n$3x\r\n", "invalid bulk length"),
            (b"*1\r\n$03\r\n", "invalid bulk length"),
            (b"*1\r\n$3\r\r\n", "invalid bulk length"),
            (b"*1\r\n$3\rx", "invalid bulk length"),
            (b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "expected '$', got 'f'"),
            (b"*1\r\n\r\n", "expected '$', got '\\r'"),
            (b"*1\r\n:1\r\n", "expected '$', got ':'"),
            (b"*1\r\n$3\r\nfooXY", "expected CRLF after bulk data"),
            (b"*1\r\n$3\r\nfoo\rX", "expected CRLF after bulk data"),
            (b"*1\r\n$3\r\nfoo\n", "expected CRLF after bulk data"),
            (b"*1\r\n$3\r\nfoobar\r\n", "expected CRLF after bulk data"),
            (b"set k \"v\r\n", "unbalanced quotes in request"),
            (b"set 'k v\n", "unbalanced quotes in request"),
        ];
        for (buf, want) in cases {
            let got = parse_request(buf).map(|r| r.is_some()).unwrap_err().to_string();
            assert_eq!(got, format!("Protocol error: {want}"), "{}", Escaped(buf));
        }
        let as_io = io::Error::from(ProtocolError::InvalidBulkLength);
        assert_eq!(as_io.kind(), io::ErrorKind::InvalidData);
    }
    // ANCHOR_END: malformed

    /// The limits: what is at them is accepted (or awaited), what is over them refused.
    #[test]
    fn limits_are_redis_limits() {
        let need_more = |buf: &[u8]| parse_request(buf).map(|r| r.is_some()) == Ok(false);
        // The most strings and the longest string are promises we wait on, allocating nothing.
        assert!(need_more(format!("*{K_MAX_ARGS}\r\n").as_bytes()));
        assert!(need_more(format!("*1\r\n${K_MAX_BULK}\r\nabc").as_bytes()));
        let most = [format!("*{K_MAX_ARGS}\r\n").into_bytes(), b"$0\r\n\r\n".repeat(K_MAX_ARGS)];
        let most = most.concat();
        let (request, used) = parse_request(&most).unwrap().unwrap();
        assert_eq!(
            (request.len(), request.args().count(), used),
            (K_MAX_ARGS, K_MAX_ARGS, most.len())
        );
        // A line with no end in sight: waited on up to 64 KiB, refused at 64 KiB.
        let cases: [(&[u8], &[u8], ProtocolError); 3] = [
            (b"", b"*", ProtocolError::TooBigMbulkCount),
            (b"*1\r\n", b"$", ProtocolError::TooBigBulkCount),
            (b"", b"get ", ProtocolError::TooBigInline),
        ];
        for (before, line, error) in cases {
            let line_of = |len: usize| [before, line, &b"1".repeat(len - line.len())].concat();
            assert!(need_more(&line_of(K_MAX_LINE - 1)), "{error}");
            assert_eq!(parse_request(&line_of(K_MAX_LINE)).map(|r| r.is_some()), Err(error));
            // Over the limit is over it even when the line's end came in the same read.
            let ended = [line_of(K_MAX_LINE + 1), b"\r\n".to_vec()].concat();
            assert_eq!(parse_request(&ended).map(|r| r.is_some()), Err(error));
        }
        let longest = [&b"echo "[..], &b"x".repeat(K_MAX_LINE - 7), b"\r\n"].concat();
        assert_eq!(parse_request(&longest).unwrap().unwrap().0.len(), 2);
    }

    /// `*0`, any count below it, and a blank line are requests with no strings, used whole.
    #[test]
    fn empty_requests_are_used_and_empty() {
        for buf in [&b"*0\r\n"[..], b"*-1\r\n", b"*-10\r\n", b"\r\n", b"\n", b"  \t \r\n"] {
            assert_eq!(parsed(buf), Ok(Some((vec![], buf.len()))), "{}", Escaped(buf));
        }
    }

    /// Inline requests: words as a person types them, quotes understood.
    #[test]
    fn inline_requests_are_split_into_words() {
        let words = |line: &[u8]| parsed(line).unwrap().unwrap();
        assert_eq!(words(b"PING\r\n"), (vec![b"PING".to_vec()], 6));
        assert_eq!(words(b"PING\nPING\n"), (vec![b"PING".to_vec()], 5));
        let (got, _) = words(b"set  k \"a b\\r\\n\\x00\" 'c \"d'\r\n");
        assert_eq!(got, [&b"set"[..], b"k", b"a b\r\n\0", b"c \"d"]);
        assert_eq!(parse_request(b"set k v").map(|r| r.is_some()), Ok(false));
    }

    /// `args_in` lays the strings out for matching, for both forms; `Display` shows them short.
    #[test]
    fn args_in_and_display() {
        let set = wire(&[b"set", b"k", b"v"]);
        for buf in [&set[..], b"set k v\r\n"] {
            let (request, _) = parse_request(buf).unwrap().unwrap();
            let mut slots = [&[][..]; 4];
            assert_eq!(request.args_in(&mut slots), Some(&[&b"set"[..], b"k", b"v"][..]));
            assert_eq!(request.args_in(&mut [&[][..]; 2]), None);
            assert_eq!(request.to_string(), "set k v");
        }
        let big = vec![b'v'; 1000];
        let many: Vec<&[u8]> = [&[&b"mset"[..], b"\xff\r\n", &big], &[&b"x"[..]; 9][..]].concat();
        let buf = wire(&many);
        let (request, _) = parse_request(&buf).unwrap().unwrap();
        let want =
            format!("mset \\xff\\r\\n {}...(1000 bytes) x x x x x ...(4 more)", "v".repeat(64));
        assert_eq!(request.to_string(), want);
    }

    // ANCHOR: encoder_bytes
    /// Every kind of reply, byte for byte.
    #[test]
    fn the_encoder_writes_resp2() {
        let mut out = Vec::new();
        out_simple(&mut out, "OK");
        out_error(&mut out, "ERR bad\r\nthing");
        out_int(&mut out, 0);
        out_int(&mut out, -42);
        out_int(&mut out, i64::MIN);
        out_bulk(&mut out, b"");
        out_bulk(&mut out, b"\0\r\n");
        out_null(&mut out);
        out_null_array(&mut out);
        out_array(&mut out, 0);
        out_double(&mut out, 0.1);
        let want: &[u8] = b"+OK\r\n-ERR bad  thing\r\n:0\r\n:-42\r\n:-9223372036854775808\r\n\
            $0\r\n\r\n$3\r\n\0\r\n\r\n$-1\r\n*-1\r\n*0\r\n$3\r\n0.1\r\n";
        assert_eq!(Escaped(&out).to_string(), Escaped(want).to_string());
    }
    // ANCHOR_END: encoder_bytes

    /// An array ended after its values gets its header inserted before them, whatever its width.
    #[test]
    fn a_deferred_array_gets_its_header() {
        let mut out = b"+before\r\n".to_vec();
        let outer = begin_array(&out);
        for i in 0..12 {
            out_int(&mut out, i);
        }
        let inner = begin_array(&out);
        end_array(&mut out, inner, 0);
        end_array(&mut out, outer, 13);
        let mut want = b"+before\r\n*13\r\n".to_vec();
        for i in 0..12 {
            want.extend_from_slice(format!(":{i}\r\n").as_bytes());
        }
        want.extend_from_slice(b"*0\r\n");
        assert_eq!(out, want);
    }

    /// Doubles as Redis 7.2 sends them (see `out_double`).
    #[test]
    fn doubles_are_laid_out_as_redis_does() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (2.0, "2"),
            (-2.5, "-2.5"),
            (0.1, "0.1"),
            (1e7, "10000000"),
            (1e8, "1e+8"),
            (1.5e9, "1.5e+9"),
            (123456789.0, "123456789"),
            (1234.5, "1234.5"),
            (12345.678901, "12345.678901"),
            (12345.6789012, "1.23456789012e+4"),
            (0.000123, "0.000123"),
            (0.001234567, "0.001234567"),
            (1.5e-7, "1.5e-7"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            let mut buf = [0; 32];
            let got = double_text(x, &mut buf);
            assert_eq!(std::str::from_utf8(got), Ok(want), "{x:e}");
            if x.is_finite() {
                assert_eq!(want.parse::<f64>().map(f64::to_bits), Ok(x.to_bits()), "{want}");
            }
        }
    }

    /// A reply with every kind of value and nested arrays, written by the encoder.
    fn every_kind() -> (Vec<u8>, Reply) {
        let mut out = Vec::new();
        out_array(&mut out, 4);
        out_simple(&mut out, "OK");
        let inner = begin_array(&out);
        out_error(&mut out, "WRONGTYPE no");
        out_int(&mut out, -7);
        out_bulk(&mut out, b"\0\r\n");
        out_null(&mut out);
        out_null_array(&mut out);
        out_array(&mut out, 1);
        out_array(&mut out, 0);
        end_array(&mut out, inner, 6);
        out_double(&mut out, 2.5);
        out_array(&mut out, 0);
        use Reply::*;
        let nested = Array(vec![Array(vec![])]);
        let values = vec![Error(b"WRONGTYPE no".to_vec()), Int(-7), Bulk(b"\0\r\n".to_vec())];
        let inner = Array([values, vec![Null, NullArray, nested]].concat());
        (out, Array(vec![Simple(b"OK".to_vec()), inner, Bulk(b"2.5".to_vec()), Array(vec![])]))
    }

    // ANCHOR: round_trip
    /// What the encoder writes, the decoder reads back; cut anywhere, it waits for the rest.
    #[test]
    fn replies_round_trip() {
        let (out, want) = every_kind();
        assert_eq!(parse_reply(&out).unwrap(), Some((want.clone(), out.len())));
        for cut in 0..out.len() {
            assert!(parse_reply(&out[..cut]).unwrap().is_none(), "cut {cut}");
        }
        let two = [&out[..], b":1\r\n"].concat();
        assert_eq!(parse_reply(&two).unwrap(), Some((want, out.len())));
        assert_eq!(parse_reply(&two[out.len()..]).unwrap(), Some((Reply::Int(1), 4)));
    }
    // ANCHOR_END: round_trip

    // ANCHOR: hostile
    /// Replies that lie about their size cost what they send; malformed ones are errors.
    #[test]
    fn hostile_replies_cost_what_they_send() {
        for promise in
            [&b"*1000000000\r\n:1\r\n"[..], b"$9223372036854775807\r\nab", b"*2\r\n*3\r\n"]
        {
            assert!(parse_reply(promise).unwrap().is_none(), "{}", Escaped(promise));
        }
        let cases: &[(&[u8], &str)] = &[
            (b"?x\r\n", "at byte 0: unknown type '?'"),
            (b"*1\r\n\r\n", "at byte 4: unknown type '\\r'"),
            (b":1x\r\n", "at byte 0: not a decimal number"),
            (b":+1\r\n", "at byte 0: not a decimal number"),
            (b"$-2\r\n", "at byte 0: a negative length"),
            (b"*-2\r\n", "at byte 0: a negative count"),
            (b"$3\r\nabcde", "at byte 0: a bulk string not followed by CRLF"),
            (b"*1\r\n+OK\rX", "at byte 4: a line not ended by CRLF"),
        ];
        for (reply, want) in cases {
            let got = parse_reply(reply).unwrap_err();
            assert_eq!(got.kind(), io::ErrorKind::InvalidData);
            assert_eq!(got.to_string(), format!("bad reply {want}"), "{}", Escaped(reply));
        }
    }

    /// Nesting a million deep is refused at the 65th level, whole or not, with no recursion.
    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let deepest = [b"*1\r\n".repeat(K_MAX_DEPTH), b":1\r\n".to_vec()].concat();
        let (mut reply, _) = parse_reply(&deepest).unwrap().unwrap();
        for _ in 0..K_MAX_DEPTH {
            let Reply::Array(mut values) = reply else { panic!("not an array") };
            reply = values.pop().unwrap();
        }
        assert_eq!(reply, Reply::Int(1));
        let hostile = b"*1\r\n".repeat(1_000_000);
        let err = parse_reply(&hostile).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("bad reply at byte {}: arrays nested over 64 deep", 4 * K_MAX_DEPTH)
        );
    }
    // ANCHOR_END: hostile

    // ANCHOR: as_redis_cli
    /// Replies shown as redis-cli shows them.
    #[test]
    fn replies_show_as_redis_cli_shows_them() {
        let (_, every) = every_kind();
        let want = r#"1) OK
2) 1) (error) WRONGTYPE no
   2) (integer) -7
   3) "\x00\r\n"
   4) (nil)
   5) (nil)
   6) 1) (empty array)
3) "2.5"
4) (empty array)"#;
        assert_eq!(every.to_string(), want);
        let ten = Reply::Array((1..=10).map(|i| Reply::Array(vec![Reply::Int(i); 2])).collect());
        let shown = ten.to_string();
        assert!(shown.starts_with(" 1) 1) (integer) 1\n    2) (integer) 1\n 2) 1)"), "{shown}");
        assert!(shown.ends_with("\n10) 1) (integer) 10\n    2) (integer) 10"), "{shown}");
        let quoted = Reply::Bulk(b"a\"b\\c\t\x07\x08\x7f\xc3\xa9 ~".to_vec()).to_string();
        assert_eq!(quoted, r#""a\"b\\c\t\a\b\x7f\xc3\xa9 ~""#);
    }
    // ANCHOR_END: as_redis_cli
}
