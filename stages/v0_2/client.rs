//! The v0.2 client: one connection, one frame per message, one reply frame per request.

use std::io::{self, Write};

use crate::cli::ClientOpts;
use crate::frame::{FRAME_BUF_LEN, FrameBuf, read_frame, write_frame};
use crate::net::connect;

// ANCHOR: run
/// Connects once, then for each message sends a request and prints the reply.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let defaults = ["hello1", "hello2", "hello3"].map(String::from);
    let messages = if opts.messages.is_empty() { &defaults[..] } else { &opts.messages[..] };
    let mut stream = connect(opts.addr)?;
    // The same reason as the server's: don't let Nagle hold a request back.
    stream.set_nodelay(true)?;
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    for msg in messages {
        write_frame(&mut stream, &mut buf, msg.as_bytes())?;
        let Some(reply) = read_frame(&mut stream, &mut buf)? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection without replying",
            ));
        };
        // `writeln!`, not `println!`: a closed stdout is an error to report, not a panic.
        writeln!(io::stdout(), "server says: {}", String::from_utf8_lossy(reply))?;
    }
    Ok(())
}
// ANCHOR_END: run
