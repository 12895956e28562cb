// src/frame.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
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

use std::io::{self, Read, Write};

use crate::io_util::{read_full, read_up_to, write_all};

// ANCHOR: limits
/// The largest body a frame may carry, in bytes (the original's `k_max_msg`).
///
/// Small on purpose: it bounds what one client can make the server hold. Real Redis allows
/// bulk strings of 512 MiB and pays for it with more careful buffer management.
pub const K_MAX_MSG: usize = 4096;

/// The length prefix: a `u32`, little-endian.
pub const HEADER_LEN: usize = 4;

/// Room for the largest frame, header included.
pub const FRAME_BUF_LEN: usize = HEADER_LEN + K_MAX_MSG;

/// One connection's buffer, reused for every frame it reads or writes.
pub type FrameBuf = [u8; FRAME_BUF_LEN];
// ANCHOR_END: limits

// ANCHOR: body_len
/// Reads the body length out of a header, refusing lengths over [`K_MAX_MSG`].
///
/// The error is [`io::ErrorKind::InvalidData`] and names the length and the limit:
/// `message too long: 4097 > 4096`.
pub fn body_len(header: [u8; HEADER_LEN]) -> io::Result<usize> {
    body_len_up_to(header, K_MAX_MSG)
}

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
// ANCHOR_END: write_frame

// ANCHOR: encode_frame
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
// ANCHOR_END: encode_frame

// ANCHOR: append_frame
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
// ANCHOR_END: append_frame

// ANCHOR: parse_frame

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
// ANCHOR_END: parse_frame
