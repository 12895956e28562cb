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

use std::io::{self, Read, Write}; //@ ..v1_0
//@ v1_0..: use std::io::{self, Read};

// ANCHOR: read_up_to
//@ ..v3_0 {
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
//@ }
// ANCHOR_END: read_up_to

// ANCHOR: read_full
//@ ..v1_0 {
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
//@ }
// ANCHOR_END: read_full

// ANCHOR: write_all
//@ ..v1_0 {
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
//@ }
// ANCHOR_END: write_all

//@ lib {
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader that hands out its data in the pieces it is told to, and fails with
    /// `Interrupted` before every piece when asked to: the worst a kernel may do.
    pub(crate) struct Stingy<'a> {
        pub data: &'a [u8],
        pub piece: usize,
        pub interrupt: bool,
        interrupted_last: bool,
    }

    impl<'a> Stingy<'a> {
        pub fn new(data: &'a [u8], piece: usize, interrupt: bool) -> Self {
            Stingy { data, piece, interrupt, interrupted_last: false }
        }
    }

    impl Read for Stingy<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.interrupt && !self.interrupted_last {
                self.interrupted_last = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.interrupted_last = false;
            let n = self.piece.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// A writer that takes at most `piece` bytes a call, optionally interrupting every other
    /// call, and stops taking anything once `capacity` bytes are in.
    struct StingyWriter {
        taken: Vec<u8>,
        piece: usize,
        capacity: usize,
        interrupt: bool,
        calls: usize,
    }

    impl Write for StingyWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.interrupt && self.calls % 2 == 1 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let room = self.capacity - self.taken.len();
            let n = self.piece.min(buf.len()).min(room);
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn writer(piece: usize, capacity: usize, interrupt: bool) -> StingyWriter {
        StingyWriter { taken: Vec::new(), piece, capacity, interrupt, calls: 0 }
    }

    /// A reader that moves one byte per call still fills the whole buffer.
    #[test]
    fn read_full_collects_one_byte_reads() {
        let mut r = Stingy::new(b"hello world", 1, false);
        let mut buf = [0u8; 11];
        read_full(&mut r, &mut buf).unwrap();
        assert_eq!(&buf, b"hello world");
    }

    /// `Interrupted` before every read is retried, not reported.
    #[test]
    fn read_full_retries_interrupted_reads() {
        let mut r = Stingy::new(b"hello", 2, true);
        let mut buf = [0u8; 5];
        read_full(&mut r, &mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    /// A stream that ends early is `UnexpectedEof`, with how far it got in the message.
    #[test]
    fn read_full_reports_early_end() {
        let mut r = Stingy::new(b"hel", 1, true);
        let mut buf = [0u8; 5];
        let err = read_full(&mut r, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(err.to_string(), "stream ended after 3 of 5 bytes");
    }

    /// `read_full` leaves the rest of the stream for the next call.
    #[test]
    fn read_full_reads_no_further_than_asked() {
        let mut r = Stingy::new(b"abcdef", 4, false);
        let mut first = [0u8; 2];
        read_full(&mut r, &mut first).unwrap();
        let mut rest = [0u8; 4];
        read_full(&mut r, &mut rest).unwrap();
        assert_eq!((&first, &rest), (b"ab", b"cdef"));
    }

    /// `read_up_to` tells a clean end (0 bytes) from a partial one (some bytes).
    #[test]
    fn read_up_to_counts_what_arrived() {
        let mut buf = [0u8; 4];
        assert_eq!(read_up_to(&mut Stingy::new(b"", 1, true), &mut buf).unwrap(), 0);
        assert_eq!(read_up_to(&mut Stingy::new(b"ab", 1, true), &mut buf).unwrap(), 2);
        assert_eq!(read_up_to(&mut Stingy::new(b"abcdef", 1, true), &mut buf).unwrap(), 4);
    }

    /// Errors other than `Interrupted` are passed up at once.
    #[test]
    fn read_full_passes_real_errors_up() {
        struct Reset;
        impl Read for Reset {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::ErrorKind::ConnectionReset.into())
            }
        }
        let err = read_full(&mut Reset, &mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }

    /// A writer that takes one byte per call, interrupted every other call, gets everything.
    #[test]
    fn write_all_survives_short_and_interrupted_writes() {
        let mut w = writer(1, usize::MAX, true);
        write_all(&mut w, b"hello world").unwrap();
        assert_eq!(w.taken, b"hello world");
        // 11 one-byte writes, each after one interrupted call.
        assert_eq!(w.calls, 22);
    }

    /// A writer that stops accepting bytes is `WriteZero`, not an endless loop.
    #[test]
    fn write_all_reports_a_writer_that_stops() {
        let mut w = writer(2, 3, false);
        let err = write_all(&mut w, b"hello").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
        assert_eq!(w.taken, b"hel");
    }

    /// Writing nothing makes no call at all.
    #[test]
    fn write_all_of_nothing_calls_nothing() {
        let mut w = writer(1, 0, false);
        write_all(&mut w, b"").unwrap();
        assert_eq!(w.calls, 0);
    }
}
//@ }
