// src/io_util.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! `read_full` and `write_all`: moving an exact number of bytes through a kernel that may move
//! fewer than you asked for.
//!
//! A `read` on a socket returns whatever has arrived, which may be less than the caller wants;
//! a `write` may accept only part of the buffer when the socket's send buffer is nearly full;
//! and either call may be interrupted by a signal before it moves anything (`EINTR`, which std
//! reports as [`io::ErrorKind::Interrupted`]). A protocol that needs "exactly 4 bytes, then
//! exactly N bytes" must loop until it has them. These are those loops, written out because
//! the loop is the lesson (introduced in v0.2; see the book's chapter "read_full and
//! write_all").
//!
//! std has both already: [`Read::read_exact`] and [`Write::write_all`] behave the same way
//! (retry on `Interrupted`, `UnexpectedEof` and `WriteZero` on a short stream). A real program
//! would simply call them; the benchmarks compare ours with std's.
//!
//! What these cannot do yet: they block. An event-loop server (v0.3) cannot wait for "the rest
//! of the message" inside one call, and keeps per-connection buffers instead.

use std::io::{self, Read};

// ANCHOR: read_up_to
/// Reads until `buf` is full or the stream ends, and returns how many bytes were read:
/// `buf.len()`, unless the stream ended first.
///
/// This is the loop under [`read_full`]. It is public because a caller that must tell
/// "the stream ended cleanly before anything arrived" from "the stream ended halfway"
/// (a frame reader at a message boundary) needs the count.
pub fn read_up_to<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            // `read` returning 0 on a non-empty buffer is how end of stream looks.
            Ok(0) => break,
            Ok(n) => filled += n,
            // A signal arrived before any byte moved: nothing is wrong, ask again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
// ANCHOR_END: read_up_to
