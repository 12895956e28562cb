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

use std::io;

// ANCHOR: limits

/// The length prefix: a `u32`, little-endian.
pub const HEADER_LEN: usize = 4;

// ANCHOR_END: limits

// ANCHOR: body_len

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
