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

use std::io::{self, Read, Write};

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

// ANCHOR: read_full
/// Fills `buf` completely from `r`, however many `read` calls that takes.
///
/// Retries reads interrupted by a signal. If the stream ends before `buf` is full, returns an
/// error of kind [`io::ErrorKind::UnexpectedEof`] that says how far it got. Behaves like std's
/// [`Read::read_exact`].
///
/// ```
/// use redis_lite::io_util::read_full;
///
/// let mut stream: &[u8] = b"\x05\x00\x00\x00hello";
/// let mut header = [0u8; 4];
/// read_full(&mut stream, &mut header)?;
/// assert_eq!(u32::from_le_bytes(header), 5);
///
/// // Asking for more than the stream holds is an error, not a short read.
/// let mut body = [0u8; 10];
/// let err = read_full(&mut stream, &mut body).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> io::Result<()> {
    let got = read_up_to(r, buf)?;
    if got < buf.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("stream ended after {got} of {} bytes", buf.len()),
        ));
    }
    Ok(())
}
// ANCHOR_END: read_full

// ANCHOR: write_all
/// Writes all of `buf` to `w`, however many `write` calls that takes.
///
/// Retries writes interrupted by a signal. A writer that accepts 0 bytes would make this loop
/// spin forever, so that is an error of kind [`io::ErrorKind::WriteZero`]. Behaves like std's
/// [`Write::write_all`].
///
/// ```
/// use redis_lite::io_util::write_all;
///
/// let mut sent = Vec::new();
/// write_all(&mut sent, b"\x05\x00\x00\x00world")?;
/// assert_eq!(sent, b"\x05\x00\x00\x00world");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_all<W: Write + ?Sized>(w: &mut W, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match w.write(buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("writer accepted 0 bytes with {} left to write", buf.len()),
                ));
            }
            // A short write: keep the part the kernel did not take and go round again.
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
// ANCHOR_END: write_all
