//! The v0.2 server: an accept loop, and inside it a request loop over framed messages.
//!
//! Compared with v0.1 (`diff stages/v0_1/server.rs stages/v0_2/server.rs`): requests are
//! frames read with `read_full`, replies are frames written with `write_all`, and a connection
//! stays open until the client closes it or breaks the protocol.
//!
//! Blocking I/O, one client at a time, as in the original: simple to read, and the reason v0.3
//! exists. A real server would also time out idle clients; this one waits for them forever.

use std::io;
use std::net::TcpStream;
use std::thread;

use crate::cli::ServerOpts;
use crate::frame::{FRAME_BUF_LEN, FrameBuf, read_frame, write_frame};
use crate::net::{ACCEPT_BACKOFF, accept_should_back_off, lingering_close, listen};
use crate::{errln, outln};

const REPLY: &[u8] = b"world";

// ANCHOR: serve
/// The accept phase: takes connections one after another, serving each until it ends.
pub fn serve(opts: &ServerOpts) -> io::Result<()> {
    let listener = listen(opts.addr)?;
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => serve_client(stream, opts),
            Err(e) => {
                errln!("accept failed: {e}");
                // Out of file descriptors, say: trying again at once would fail again at once.
                if accept_should_back_off(&e) {
                    thread::sleep(ACCEPT_BACKOFF);
                }
            }
        }
    }
    Ok(())
}
// ANCHOR_END: serve

// ANCHOR: serve_client
/// The request phase: answers requests on one connection until it ends, then says why in one
/// line on stderr. Whatever the client did, only this connection is lost, and every reply
/// already written reaches it.
fn serve_client(mut stream: TcpStream, opts: &ServerOpts) {
    let peer = stream.peer_addr().map_or("unknown peer".into(), |addr| addr.to_string());
    if let Err(e) = set_up(&stream, opts) {
        errln!("{peer}: cannot set up the connection: {e}");
        return;
    }
    // One buffer per connection, on the stack, big enough for the largest frame.
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    loop {
        match one_request(&mut stream, &mut buf, opts.quiet) {
            Ok(true) => {}
            Ok(false) => {
                errln!("{peer}: EOF, client closed the connection");
                // Everything the client sent has been read: dropping `stream` closes cleanly.
                return;
            }
            Err(e) => {
                errln!("{peer}: closing the connection: {e}");
                // The client may have sent more that we will never read; a plain close would
                // then reset the connection and could destroy replies already written.
                return lingering_close(stream);
            }
        }
    }
}
// ANCHOR_END: serve_client

// ANCHOR: set_up
fn set_up(stream: &TcpStream, opts: &ServerOpts) -> io::Result<()> {
    // Send each reply at once. Without this, Nagle's algorithm holds a small reply back while
    // an earlier one is unacknowledged, the client's delayed ACK waits ~40 ms for more data,
    // and a pipelining client stalls for that long per batch. (`--nagle` skips it, to show.)
    stream.set_nodelay(!opts.nagle)
}
// ANCHOR_END: set_up

// ANCHOR: one_request
/// Reads one request frame and writes the reply frame. `Ok(false)` means the client closed
/// the connection cleanly, between requests.
fn one_request(stream: &mut TcpStream, buf: &mut FrameBuf, quiet: bool) -> io::Result<bool> {
    let Some(body) = read_frame(stream, buf)? else {
        return Ok(false);
    };
    if !quiet {
        outln!("client says: {}", String::from_utf8_lossy(body));
    }
    write_frame(stream, buf, REPLY)?;
    Ok(true)
}
// ANCHOR_END: one_request
