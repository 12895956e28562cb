//! The v0.3 client: v0.2's, plus `--pipeline`: every request in one write, sent while the
//! replies are read.

use std::io::{self, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;

use crate::cli::ClientOpts;
use crate::frame::{FRAME_BUF_LEN, FrameBuf, append_frame, read_frame, write_frame};
use crate::io_util::write_all;
use crate::net::connect;

// ANCHOR: run
/// Connects once, then sends each message and prints each reply: one at a time, or with
/// `--pipeline` all requests in one write while the replies are read.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let defaults = ["hello1", "hello2", "hello3"].map(String::from);
    let messages = if opts.messages.is_empty() { &defaults[..] } else { &opts.messages[..] };
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    if opts.pipeline {
        return pipeline(&mut stream, messages, &mut buf);
    }
    for msg in messages {
        write_frame(&mut stream, &mut buf, msg.as_bytes())?;
        print_reply(&mut stream, &mut buf)?;
    }
    Ok(())
}
// ANCHOR_END: run

// ANCHOR: pipeline
/// Sends every message in one write, from a thread of its own, while this thread reads the
/// replies. Writing everything before reading anything would deadlock on a large batch: the
/// server stops reading from a client whose replies pile up unread (backpressure), the
/// client's write then blocks for good, and it never gets round to reading.
fn pipeline(stream: &mut TcpStream, messages: &[String], buf: &mut FrameBuf) -> io::Result<()> {
    let batch = encode_all(messages)?;
    let mut sender = stream.try_clone()?;
    thread::scope(|scope| {
        let sending = scope.spawn(move || write_all(&mut sender, &batch));
        let received = messages.iter().try_for_each(|_| print_reply(stream, buf));
        if received.is_err() {
            // Unblock the sender, which may wait for a server that is no longer reading.
            let _ = stream.shutdown(Shutdown::Both);
        }
        let sent = sending.join().unwrap_or_else(|_| Err(io::Error::other("sender panicked")));
        received.and(sent)
    })
}
// ANCHOR_END: pipeline

/// Every message as a frame, one after another in one buffer.
fn encode_all(messages: &[String]) -> io::Result<Vec<u8>> {
    let mut batch = Vec::new();
    for msg in messages {
        append_frame(&mut batch, msg.as_bytes())?;
    }
    Ok(batch)
}

fn print_reply(stream: &mut TcpStream, buf: &mut FrameBuf) -> io::Result<()> {
    let Some(reply) = read_frame(stream, buf)? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection without replying",
        ));
    };
    // `writeln!`, not `println!`: a closed stdout is an error to report, not a panic.
    writeln!(io::stdout(), "server says: {}", String::from_utf8_lossy(reply))?;
    Ok(())
}
