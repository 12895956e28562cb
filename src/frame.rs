//! Length-prefixed framing: how v0.2 finds message boundaries in a TCP byte stream.
//!
//! TCP delivers bytes, not messages: one `write` of "hello" may arrive as "he" then "llo",
//! and two writes may arrive as one read. So every message carries its own length:
//!
//! ```text
//! +------------------------+---------------------+
//! | len: u32, little-endian | body: len bytes     |   len <= K_MAX_MSG (4096)
//! +------------------------+---------------------+
//!   05 00 00 00              68 65 6c 6c 6f        "hello"
//! ```
//!
//! The reader trusts nothing it has not checked: the length is compared with [`K_MAX_MSG`]
//! before another byte is read or anything is allocated, so a hostile header costs the server
//! four bytes and one connection, never 4 GiB. Each connection owns one [`FrameBuf`] big enough
//! for the largest frame and reuses it for every request, so the request path allocates
//! nothing.
//!
//! What this cannot do yet: [`read_frame`] blocks until a whole frame is in, so a server built
//! on it waits on one client at a time; it also makes two `read` calls per frame (header, then
//! body). The event loop of v0.3 reads whatever has arrived and cuts frames out of a buffer.

use std::io::{self, Read, Write}; //@ ..v1_0
//@ v1_0..v3_0: use std::io::{self, Read};
//@ v3_0..: use std::io;

use crate::io_util::{read_full, read_up_to, write_all}; //@ ..v1_0
//@ v1_0..v3_0: use crate::io_util::read_up_to;

// ANCHOR: limits
//@ ..v1_0 {
/// The largest body a frame may carry, in bytes (the original's `k_max_msg`).
///
/// Small on purpose: it bounds what one client can make the server hold. Real Redis allows
/// bulk strings of 512 MiB and pays for it with more careful buffer management.
pub const K_MAX_MSG: usize = 4096;
//@ }

/// The length prefix: a `u32`, little-endian.
pub const HEADER_LEN: usize = 4;

//@ ..v1_0 {
/// Room for the largest frame, header included.
pub const FRAME_BUF_LEN: usize = HEADER_LEN + K_MAX_MSG;

/// One connection's buffer, reused for every frame it reads or writes.
pub type FrameBuf = [u8; FRAME_BUF_LEN];
//@ }
// ANCHOR_END: limits

// ANCHOR: body_len
//@ ..v1_0 {
/// Reads the body length out of a header, refusing lengths over [`K_MAX_MSG`].
///
/// The error is [`io::ErrorKind::InvalidData`] and names the length and the limit:
/// `message too long: 4097 > 4096`.
pub fn body_len(header: [u8; HEADER_LEN]) -> io::Result<usize> {
    body_len_up_to(header, K_MAX_MSG)
}
//@ }

/// Reads the body length out of a header, refusing lengths over `max_msg`, the caller's limit.
pub fn body_len_up_to(header: [u8; HEADER_LEN], max_msg: usize) -> io::Result<usize> {
    // u32 -> usize cannot lose bits on any target std's networking runs on.
    let len = u32::from_le_bytes(header) as usize;
    if len > max_msg {
        return Err(too_long(io::ErrorKind::InvalidData, len, max_msg));
    }
    Ok(len)
}
// ANCHOR_END: body_len

fn too_long(kind: io::ErrorKind, len: usize, max_msg: usize) -> io::Error {
    io::Error::new(kind, format!("message too long: {len} > {max_msg}"))
}

// ANCHOR: read_frame
//@ ..v1_0 {
/// Reads one frame from `r` into `buf` and returns its body.
///
/// - `Ok(None)`: the stream ended cleanly, before the first byte of a header. This is how a
///   client that is done looks, so it is a value, not an error.
/// - `Err` of kind `InvalidData`: the header asked for more than [`K_MAX_MSG`] bytes. Nothing
///   after the header has been read.
/// - `Err` of kind `UnexpectedEof`: the stream ended inside a frame.
///
/// ```
/// use redis_lite::frame::{read_frame, FrameBuf, FRAME_BUF_LEN};
///
/// let mut stream: &[u8] = b"\x05\x00\x00\x00hello";
/// let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
/// assert_eq!(read_frame(&mut stream, &mut buf)?, Some(&b"hello"[..]));
/// assert_eq!(read_frame(&mut stream, &mut buf)?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_frame<'b, R: Read + ?Sized>(
    r: &mut R,
    buf: &'b mut FrameBuf,
) -> io::Result<Option<&'b [u8]>> {
    let (header, rest) = buf.split_at_mut(HEADER_LEN);
    match read_up_to(r, header)? {
        0 => return Ok(None),
        HEADER_LEN => {}
        got => return Err(ended_inside(&header[..got])),
    }
    let len = body_len([header[0], header[1], header[2], header[3]])?;
    let body = &mut rest[..len];
    read_full(r, body)?;
    Ok(Some(body))
}
//@ }
// ANCHOR_END: read_frame

/// The error for a stream that ended after `partial`, the first bytes of a frame: the same
/// words whether the frame was read from a stream (v0.2) or cut out of a buffer (v0.3).
pub fn ended_inside(partial: &[u8]) -> io::Error {
    let message = match partial.first_chunk::<HEADER_LEN>() {
        None => format!(
            "stream ended inside a frame header, after {} of {HEADER_LEN} bytes",
            partial.len()
        ),
        Some(header) => {
            let len = u32::from_le_bytes(*header);
            format!("stream ended after {} of {len} bytes", partial.len() - HEADER_LEN)
        }
    };
    io::Error::new(io::ErrorKind::UnexpectedEof, message)
}

// ANCHOR: write_frame
//@ ..v1_0 {
/// Writes `body` to `w` as one frame, header and body in a single buffer, so that a small
/// frame leaves in one `write` call and one TCP segment.
///
/// Refuses a body over [`K_MAX_MSG`] with `InvalidInput`: the peer would refuse it anyway.
pub fn write_frame<W: Write + ?Sized>(
    w: &mut W,
    buf: &mut FrameBuf,
    body: &[u8],
) -> io::Result<()> {
    let len = encode_frame(buf, body)?;
    write_all(w, &buf[..len])
}
//@ }
// ANCHOR_END: write_frame

// ANCHOR: encode_frame
//@ ..v1_0 {
/// Lays out `body` as a frame at the start of `buf` and returns the frame's length.
pub fn encode_frame(buf: &mut FrameBuf, body: &[u8]) -> io::Result<usize> {
    if body.len() > K_MAX_MSG {
        return Err(too_long(io::ErrorKind::InvalidInput, body.len(), K_MAX_MSG));
    }
    // body.len() <= 4096 was just checked, so it fits a u32.
    buf[..HEADER_LEN].copy_from_slice(&(body.len() as u32).to_le_bytes());
    buf[HEADER_LEN..HEADER_LEN + body.len()].copy_from_slice(body);
    Ok(HEADER_LEN + body.len())
}
//@ }
// ANCHOR_END: encode_frame

// ANCHOR: append_frame
//@ v0_3..v1_0 {
/// Appends `body` as a frame to `out`: for servers and clients that gather many frames into
/// one buffer and send them with one write (v0.3).
pub fn append_frame(out: &mut Vec<u8>, body: &[u8]) -> io::Result<()> {
    if body.len() > K_MAX_MSG {
        return Err(too_long(io::ErrorKind::InvalidInput, body.len(), K_MAX_MSG));
    }
    // body.len() <= 4096 was just checked, so it fits a u32.
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    Ok(())
}
//@ }
// ANCHOR_END: append_frame

// ANCHOR: parse_frame
//@ lib {
/// [`parse_frame_up_to`] with v0.2's limit, [`K_MAX_MSG`].
pub fn parse_frame(buf: &[u8]) -> io::Result<Option<(&[u8], usize)>> {
    parse_frame_up_to(buf, K_MAX_MSG)
}
//@ }

//@ v0_3.. {
/// Cuts the first frame out of `buf`, bytes as they arrived, if all of it is there, its body
/// no longer than `max_msg` (the service's limit).
///
/// Returns the body and the length of the whole frame, so the caller can step past it, or
/// `Ok(None)` when `buf` does not hold a whole frame yet. For servers that read whatever has
/// arrived and may find several frames, or half of one, in a single read.
pub fn parse_frame_up_to(buf: &[u8], max_msg: usize) -> io::Result<Option<(&[u8], usize)>> {
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Ok(None);
    };
    // Checked before waiting for the body: a lying header is refused at once.
    let len = body_len_up_to(*header, max_msg)?;
    Ok(buf.get(HEADER_LEN..HEADER_LEN + len).map(|body| (body, HEADER_LEN + len)))
}
//@ }
// ANCHOR_END: parse_frame

// ANCHOR: read_frame_growing
//@ v1_0..v3_0 {
/// Reads one frame of up to `max_msg` bytes from `r` into `body` (cleared first), for limits
/// too large for a [`FrameBuf`] on the stack (v1.0's clients). `Ok(false)` is a clean end of
/// stream before the frame began.
///
/// `body` grows with the bytes that arrive, never with what the header promises: a header
/// that claims 32 MiB and is followed by nothing costs nothing.
pub fn read_frame_growing<R: Read>(
    r: &mut R,
    max_msg: usize,
    body: &mut Vec<u8>,
) -> io::Result<bool> {
    body.clear();
    let mut header = [0u8; HEADER_LEN];
    match read_up_to(r, &mut header)? {
        0 => return Ok(false),
        HEADER_LEN => {}
        got => return Err(ended_inside(&header[..got])),
    }
    let len = body_len_up_to(header, max_msg)?;
    // `take` stops at `len` bytes; `read_to_end` grows `body` as they come.
    r.take(len as u64).read_to_end(body)?;
    if body.len() < len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("stream ended after {} of {len} bytes", body.len()),
        ));
    }
    Ok(true)
}
//@ }
// ANCHOR_END: read_frame_growing

//@ lib {
#[cfg(test)]
mod tests {
    use super::*;
    use crate::io_util::tests::Stingy;

    fn new_buf() -> FrameBuf {
        [0; FRAME_BUF_LEN]
    }

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut wire = (body.len() as u32).to_le_bytes().to_vec();
        wire.extend_from_slice(body);
        wire
    }

    // ANCHOR: hello_on_the_wire
    /// "hello" is `05 00 00 00` then the five letters, on the wire and back.
    #[test]
    fn hello_on_the_wire() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &mut new_buf(), b"hello").unwrap();
        assert_eq!(wire, [0x05, 0, 0, 0, b'h', b'e', b'l', b'l', b'o']);
        let mut buf = new_buf();
        assert_eq!(read_frame(&mut &wire[..], &mut buf).unwrap(), Some(&b"hello"[..]));
    }
    // ANCHOR_END: hello_on_the_wire

    /// Empty bodies and bodies of exactly K_MAX_MSG bytes are both valid frames.
    #[test]
    fn limits_are_inclusive() {
        for len in [0, 1, K_MAX_MSG] {
            let body = vec![b'x'; len];
            let wire = framed(&body);
            let mut buf = new_buf();
            assert_eq!(read_frame(&mut &wire[..], &mut buf).unwrap(), Some(&body[..]));
        }
    }

    /// A header over the limit is refused before the body is touched.
    #[test]
    fn too_long_is_refused_before_reading_on() {
        for len in [K_MAX_MSG as u32 + 1, u32::MAX] {
            let mut wire = len.to_le_bytes().to_vec();
            wire.extend_from_slice(b"body bytes that must stay unread");
            let mut stream = &wire[..];
            let err = read_frame(&mut stream, &mut new_buf()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            assert_eq!(err.to_string(), format!("message too long: {len} > 4096"));
            assert_eq!(stream, b"body bytes that must stay unread");
        }
    }

    /// A body over the limit is refused by the writer too, and nothing is written.
    #[test]
    fn writer_refuses_oversized_bodies() {
        let mut wire = Vec::new();
        let err = write_frame(&mut wire, &mut new_buf(), &[0; K_MAX_MSG + 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(err.to_string(), "message too long: 4097 > 4096");
        assert!(wire.is_empty());
    }

    /// End of stream between frames is `None`; inside a header or body it is an error.
    #[test]
    fn end_of_stream_inside_and_between_frames() {
        let mut buf = new_buf();
        assert_eq!(read_frame(&mut &b""[..], &mut buf).unwrap(), None);

        let err = read_frame(&mut &b"\x05\x00"[..], &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "stream ended inside a frame header, after 2 of 4 bytes");

        let err = read_frame(&mut &b"\x05\x00\x00\x00hel"[..], &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "stream ended after 3 of 5 bytes");
    }

    /// A frame read one byte at a time, interrupted before every byte, comes out whole.
    #[test]
    fn one_byte_at_a_time_with_interrupts() {
        let wire = framed(b"hello");
        let mut r = Stingy::new(&wire, 1, true);
        let mut buf = new_buf();
        assert_eq!(read_frame(&mut r, &mut buf).unwrap(), Some(&b"hello"[..]));
    }

    /// `parse_frame` finds whole frames in a buffer, waits for partial ones, and refuses a
    /// lying header as soon as the header is in.
    #[test]
    fn parse_frame_cuts_frames_out_of_a_buffer() {
        let mut wire = framed(b"one");
        wire.extend(framed(b""));
        wire.extend(framed(b"three"));
        let mut at = 0;
        let mut bodies = Vec::new();
        while let Some((body, used)) = parse_frame(&wire[at..]).unwrap() {
            bodies.push(body.to_vec());
            at += used;
        }
        assert_eq!(bodies, [&b"one"[..], b"", b"three"]);
        assert_eq!(at, wire.len());
        for partial in [&b""[..], b"\x05\0\0", b"\x05\0\0\0hell"] {
            assert_eq!(parse_frame(partial).unwrap(), None);
        }
        let err = parse_frame(&4097u32.to_le_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "message too long: 4097 > 4096");
    }

    /// `append_frame` lays out exactly what `write_frame` sends, and refuses the same bodies.
    #[test]
    fn append_frame_matches_write_frame() {
        let mut appended = Vec::new();
        let mut written = Vec::new();
        for body in [&b""[..], b"hello", &[7; K_MAX_MSG]] {
            append_frame(&mut appended, body).unwrap();
            write_frame(&mut written, &mut new_buf(), body).unwrap();
        }
        assert_eq!(appended, written);
        let err = append_frame(&mut appended, &[0; K_MAX_MSG + 1]).unwrap_err();
        assert_eq!(err.to_string(), "message too long: 4097 > 4096");
        assert_eq!(appended, written, "nothing appended for a refused body");
    }

    /// A buffer that ends inside a frame gets the same words as a stream that does.
    #[test]
    fn ended_inside_speaks_like_read_frame() {
        for partial in [&b"\x05\0"[..], b"\x05\0\0\0hel"] {
            let from_stream = read_frame(&mut &partial[..], &mut new_buf()).unwrap_err();
            assert_eq!(ended_inside(partial).to_string(), from_stream.to_string());
        }
    }

    /// xorshift64: a PRNG small enough to write here, so the test needs no crate and runs the
    /// same cases every time.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// A reader that cuts its data at random points and sometimes reports `Interrupted`.
    struct Choppy<'a> {
        data: &'a [u8],
        rng: XorShift,
    }
    impl Read for Choppy<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.rng.below(4) == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = (1 + self.rng.below(40)).min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Frames cut at random points and interrupted at random come out exactly as they went
    /// in, then a clean end of stream.
    #[test]
    fn random_cuts_give_back_the_same_frames() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _round in 0..50 {
            let bodies: Vec<Vec<u8>> = (0..20)
                .map(|_| {
                    // Mostly small bodies, with the edges (0 and K_MAX_MSG) drawn often.
                    let len = match rng.below(8) {
                        0 => 0,
                        1 => K_MAX_MSG,
                        _ => rng.below(200),
                    };
                    (0..len).map(|_| rng.next() as u8).collect()
                })
                .collect();
            let mut wire = Vec::new();
            let mut wbuf = new_buf();
            for body in &bodies {
                write_frame(&mut wire, &mut wbuf, body).unwrap();
            }
            let seed = rng.next() | 1;
            let mut r = Choppy { data: &wire, rng: XorShift(seed) };
            let mut buf = new_buf();
            for body in &bodies {
                assert_eq!(read_frame(&mut r, &mut buf).unwrap(), Some(&body[..]));
            }
            assert_eq!(read_frame(&mut r, &mut buf).unwrap(), None);
        }
    }
}
//@ }
