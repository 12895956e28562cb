// src/net.rs as this stage has it, cut by src/snapshots.rs: edit src/, then run
// `REDIS_LITE_SNAPSHOTS=write cargo test --lib snapshots`.
//! Opening the two ends of a connection, with errors that say what went wrong and where, and
//! the two things every server must do when something goes wrong: wait a little after a failed
//! `accept`, and close a connection without destroying the replies already written to it.
//!
//! Every stage listens and connects the same way, so this lives once, here. The server's
//! first line of output, `listening on ADDR`, is part of the contract: it names the port the
//! kernel picked when asked for port 0, and tests and benchmarks read it to find the server.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use crate::outln;
use crate::sys::unacknowledged;

// ANCHOR: listen
/// Binds a listening socket on `addr` and announces it with `listening on ADDR` on stdout.
///
/// `TcpListener::bind` is four syscalls: `socket`, `setsockopt(SO_REUSEADDR)` (so a restarted
/// server can bind while old connections linger in TIME_WAIT), `bind` and `listen`.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).map_err(|e| context(e, "cannot listen on", addr))?;
    // Through the log's queue, like every later line, so that it comes first and a closed
    // stdout cannot stop the server (see `log`).
    outln!("listening on {}", listener.local_addr()?);
    Ok(listener)
}
// ANCHOR_END: listen

/// Connects to a server at `addr`.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    TcpStream::connect(addr).map_err(|e| context(e, "cannot connect to", addr))
}

/// Keeps the error's kind, so callers can still match on it, and puts the address in front.
fn context(e: io::Error, what: &str, addr: SocketAddr) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {addr}: {e}"))
}

// ANCHOR: accept_backoff
/// How long a server waits before accepting again after `accept` failed for a reason of its
/// own. Short enough that nobody notices, long enough that a failing `accept` costs nothing.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Whether `accept` failed for a reason that is the server's, and will likely still be there
/// if it tries again at once: out of file descriptors (`EMFILE`, `ENFILE`), memory or buffers
/// (`ENOMEM`, `ENOBUFS`). The listener stays readable meanwhile, so a server that simply went
/// round again would spin a whole core, failing the same way hundreds of thousands of times a
/// second. Not so for a client that gave up before it was accepted (`ECONNABORTED`) or a
/// signal (`EINTR`): the next `accept` may well succeed.
pub fn accept_should_back_off(e: &io::Error) -> bool {
    !matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted)
}
// ANCHOR_END: accept_backoff

// ANCHOR: linger
/// How long a closing connection waits for the client: to close its side, or to take
/// delivery of more of its replies.
pub const LINGER_TIME: Duration = Duration::from_secs(1);

/// How much leftover input a closing connection reads and throws away, at most.
pub const LINGER_BYTES: usize = 1 << 20;

/// When a closing connection may give up on its client, and how far delivery had got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub deadline: Instant,
    unacknowledged: usize,
}

impl Delivery {
    pub fn new() -> Delivery {
        Delivery { deadline: Instant::now() + LINGER_TIME, unacknowledged: usize::MAX }
    }

    /// At the deadline: true if the connection may now be closed without destroying a reply
    /// the client still wants (all delivered, or nothing delivered since the last deadline:
    /// it stopped reading), false (with a later deadline) if it is still taking delivery.
    pub fn may_close(&mut self, stream: &TcpStream) -> bool {
        match unacknowledged(stream.as_fd()) {
            Ok(left) if left > 0 && left < self.unacknowledged => {
                *self = Delivery { deadline: Instant::now() + LINGER_TIME, unacknowledged: left };
                false
            }
            _ => true,
        }
    }
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery::new()
    }
}
// ANCHOR_END: linger
