//! Opening the two ends of a connection, with errors that say what went wrong and where.
//!
//! Every stage listens and connects the same way, so this lives once, here. The server's
//! first line of output, `listening on ADDR`, is part of the contract: it names the port the
//! kernel picked when asked for port 0, and tests and benchmarks read it to find the server.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

// ANCHOR: listen
/// Binds a listening socket on `addr` and announces it with `listening on ADDR` on stdout.
///
/// `TcpListener::bind` is four syscalls: `socket`, `setsockopt(SO_REUSEADDR)` (so a restarted
/// server can bind while old connections linger in TIME_WAIT), `bind` and `listen`.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).map_err(|e| context(e, "cannot listen on", addr))?;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", listener.local_addr()?)?;
    // Whoever reads our output may be waiting for this line before it connects.
    out.flush()?;
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
