//! The v0.1 server: accept, read once, reply `world`, close.
//!
//! This is the original's v0.1, limitations included, because they are the lesson: a single
//! `read` of up to 64 bytes is taken to be "the request", whether the client's message was
//! shorter (fine), longer (cut), or still on its way (seen in part). Nothing here knows where
//! a message ends; v0.2 adds a length prefix so that the server does.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;

use crate::cli::ServerOpts;
use crate::net::{ACCEPT_BACKOFF, accept_should_back_off, listen};
use crate::{errln, outln};

/// The whole reply, with no length and no terminator: the client is told the reply is over by
/// the connection closing.
const REPLY: &[u8] = b"world";

// ANCHOR: serve
/// Accepts connections one after another, forever, handling each to the end before the next.
pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let listener = listen(opts.addr)?;
    for conn in listener.incoming() {
        let mut stream = match conn {
            Ok(stream) => stream,
            Err(e) => {
                errln!("accept failed: {e}");
                // Out of file descriptors, say: trying again at once would fail again at once.
                if accept_should_back_off(&e) {
                    thread::sleep(ACCEPT_BACKOFF);
                }
                continue;
            }
        };
        if let Err(e) = do_something(&mut stream, opts.quiet) {
            errln!("connection failed: {e}");
        }
        // `stream` is dropped here, which closes the socket: one request per connection.
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: do_something
/// Serves one connection: one read, one reply. (The name is the original's.)
fn do_something(stream: &mut TcpStream, quiet: bool) -> io::Result<()> {
    // ONE read, of at most 64 bytes: whatever has arrived by now is taken as the message.
    // (A C server would read at most 63 and keep a byte for the NUL that ends a C string;
    // a Rust slice carries its length instead.)
    let mut rbuf = [0u8; 64];
    let n = stream.read(&mut rbuf)?;
    if n == 0 {
        errln!("client closed the connection without a request");
        return Ok(());
    }
    if !quiet {
        outln!("client says: {}", String::from_utf8_lossy(&rbuf[..n]));
    }
    // ONE write, like the original. A 5-byte reply into an empty send buffer is not split in
    // practice, but nothing promises it; v0.2's `write_all` stops relying on luck.
    let sent = stream.write(REPLY)?;
    if sent < REPLY.len() {
        errln!("short write: sent {sent} of {} bytes", REPLY.len());
    }
    Ok(())
}
// ANCHOR_END: do_something
