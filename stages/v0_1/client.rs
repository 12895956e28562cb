//! The v0.1 client: connect, send one message, read the reply, and let the connection close.
//!
//! v0.1 answers one request per connection, so several messages mean several connections,
//! and a handshake each.

use std::io::{self, Read, Write};

use crate::cli::ClientOpts;
use crate::net::connect;

// ANCHOR: run
/// Sends each message on a connection of its own and prints the reply.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let defaults = ["hello".to_string()];
    let messages = if opts.messages.is_empty() { &defaults[..] } else { &opts.messages[..] };
    for msg in messages {
        let mut stream = connect(opts.addr)?;
        stream.write_all(msg.as_bytes())?;
        // ONE read, like the server: a reply split in two would be seen in part.
        let mut rbuf = [0u8; 64];
        let n = stream.read(&mut rbuf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection without replying",
            ));
        }
        // `writeln!`, not `println!`: a closed stdout is an error to report, not a panic.
        writeln!(io::stdout(), "server says: {}", String::from_utf8_lossy(&rbuf[..n]))?;
    }
    Ok(())
}
// ANCHOR_END: run
