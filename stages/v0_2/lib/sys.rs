// src/sys.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! What the server needs from Linux that std does not have, declared by
//! hand: the `SIOCOUTQ` ioctl, to learn how much of what we sent the client
//! has not yet acknowledged, so that closing a connection does not destroy
//! replies already written.
//!
//! Calling the C library from Rust takes the function's signature in an
//! `extern "C"` block, which the compiler cannot check against the C headers,
//! so calling it is `unsafe`. This module is the only place in the crate where
//! that happens, and it hands out a safe function instead. The declaration was
//! checked against Linux's headers, and nothing else.
//!
//! What it cannot do yet: wait for whichever of several sockets is ready
//! (poll(2), v0.3).

use std::ffi::{c_int, c_ulong};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

// ANCHOR: unacked
// `ioctl(2)`: one entry point for a thousand device-specific requests, which is why its third
// argument is variadic in C. `SIOCOUTQ` (0x5411 on Linux, `TIOCOUTQ` under another name) asks
// a TCP socket for the bytes it has sent, or still holds to send, that the peer has not yet
// acknowledged; the answer is written through an `int *`.
unsafe extern "C" {
    fn ioctl(fd: c_int, request: c_ulong, ...) -> c_int;
}
const SIOCOUTQ: c_ulong = 0x5411;

/// How many bytes written to `socket` its peer has not yet acknowledged: 0 once everything,
/// our FIN included, has arrived. Queuing bytes with `write` (or a FIN with `shutdown`) is
/// not delivering them; this is how a server can tell the difference.
pub fn unacknowledged(socket: BorrowedFd<'_>) -> io::Result<usize> {
    let mut unacked: c_int = 0;
    // SAFETY: `socket` is borrowed, so the descriptor is open for the whole call; SIOCOUTQ
    // writes one `int` through the pointer, which points at `unacked`, a live, writable
    // `c_int`, and the kernel keeps no pointer after it returns.
    let result = unsafe { ioctl(socket.as_raw_fd(), SIOCOUTQ, &mut unacked as *mut c_int) };
    if result < 0 {
        return Err(io::Error::last_os_error());
    }
    // Never negative for a socket; `try_from` says so without a cast that could wrap.
    Ok(usize::try_from(unacked).unwrap_or(0))
}
// ANCHOR_END: unacked
