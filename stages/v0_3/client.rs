//! The v0.3 client: v0.2's, plus `--pipeline`: every request in one write, then every reply.

use std::io;
use std::net::TcpStream;

use redis_lite::cli::ClientOpts;
use redis_lite::frame::{FRAME_BUF_LEN, FrameBuf, append_frame, read_frame, write_frame};
use redis_lite::io_util::write_all;
use redis_lite::net::connect;

// ANCHOR: run
/// Connects once, then sends each message and prints each reply: one at a time, or with
/// `--pipeline` all requests first, in one write, and then all replies.
pub fn run(opts: &ClientOpts) -> io::Result<()> {
    let defaults = ["hello1", "hello2", "hello3"].map(String::from);
    let messages = if opts.messages.is_empty() { &defaults[..] } else { &opts.messages[..] };
    let mut stream = connect(opts.addr)?;
    stream.set_nodelay(true)?;
    let mut buf: FrameBuf = [0; FRAME_BUF_LEN];
    if opts.pipeline {
        write_all(&mut stream, &encode_all(messages)?)?;
        for _ in messages {
            print_reply(&mut stream, &mut buf)?;
        }
    } else {
        for msg in messages {
            write_frame(&mut stream, &mut buf, msg.as_bytes())?;
            print_reply(&mut stream, &mut buf)?;
        }
    }
    Ok(())
}
// ANCHOR_END: run

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
    println!("server says: {}", String::from_utf8_lossy(reply));
    Ok(())
}
